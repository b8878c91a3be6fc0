//! `tikcast`: the native command line. `decode` (frames, batches and single payloads to
//! canonical event JSON), `watch` (a session over a real socket), `mock` (a local
//! upstream with fault injection), `demo-frame` and `demo-recording` (write the bundled
//! demo frame and the demo session recording, built by our own encoder), `relay` (a self-hostable JWT relay with fan-out and recording),
//! `token` (mint a relay token offline), `webhooks test` (send a signed test event),
//! `replay` and `record` (recordings, see docs/recording.md).

mod clock;
mod demo_recording;
mod driver;
mod event_text;
mod fixture;
mod frames;
mod http_head;
mod mock;
mod record;
mod recording;
mod relay;
mod replay;
mod script;
mod watch;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine;
use clap::{Parser, Subcommand};
use tikcast_core::{
    write_batch, write_frame, write_message, DecodeOptions, EnvelopeInfo, JsonSink,
};

#[derive(Parser)]
#[command(
    name = "tikcast",
    version,
    about = "TikTok LIVE Webcast decoder and tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode one push frame (or a bare batch, or one message payload) to event JSON lines.
    Decode {
        /// Input file, or - for standard input.
        #[arg(default_value = "-")]
        input: String,
        /// The input is one inner message payload of this method (e.g. WebcastChatMessage).
        #[arg(long, conflicts_with = "batch")]
        method: Option<String>,
        /// The input is a bare fetch result (no push frame around it, not gzipped).
        #[arg(long)]
        batch: bool,
        /// The input is base64 text rather than raw bytes.
        #[arg(long)]
        base64: bool,
        /// Print a summary line with the frame fields (cursor, need-ack, ...) before the events.
        #[arg(long)]
        frame_info: bool,
        /// Largest inflated payload, in bytes.
        #[arg(long, default_value_t = tikcast_core::gzip::DEFAULT_MAX_INFLATED)]
        max_inflated: usize,
    },
    /// Run a local upstream that speaks the Webcast protocol (TikTok-style and relay-style),
    /// with deterministic fault injection, for tests, benchmarks and the demo.
    Mock(mock::MockArgs),
    /// Connect to a Webcast socket (direct or relay), print every event as a JSON line.
    Watch(watch::WatchArgs),
    /// Run a self-hostable JWT relay: one upstream per room, fanned out to browsers.
    Relay(Box<relay::RelayArgs>),
    /// Mint a relay token offline with the relay's HS256 secret (prints it).
    Token(relay::mint::TokenArgs),
    /// Webhook tools (`webhooks test --url URL --secret-env VAR`).
    Webhooks {
        #[command(subcommand)]
        command: relay::webhook::WebhooksCommand,
    },
    /// Play a recording: serve it like a relay (--listen) or print its events.
    Replay(replay::ReplayArgs),
    /// Record a relay-style socket into a recording file (docs/recording.md).
    Record(record::RecordArgs),
    /// Write the demo session recording (our own encoder, invented data) that the demo
    /// relay replays: `tikcast demo-recording --script tests/fixtures/demo-session.jsonl
    /// --gifts tests/fixtures/demo-gifts.json tests/fixtures/demo-session.tkrec`.
    DemoRecording {
        /// The session script (JSON lines; the format is in docs/recording.md, "Session
        /// scripts", the same as `tikcast mock --script`).
        #[arg(long)]
        script: PathBuf,
        /// The gift catalog (`[{id, name, diamondCount, imageUrl}]`, as the relay's --gifts).
        #[arg(long)]
        gifts: PathBuf,
        /// Output file, or - for standard output.
        #[arg(default_value = "-")]
        output: String,
    },
    /// Write the bundled demo push frame (made by our own encoder, no real user data).
    DemoFrame {
        /// Output file, or - for standard output.
        #[arg(default_value = "-")]
        output: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode {
            input,
            method,
            batch,
            base64,
            frame_info,
            max_inflated,
        } => decode(
            &input,
            method.as_deref(),
            batch,
            base64,
            frame_info,
            max_inflated,
        ),
        Command::Mock(args) => mock::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Relay(args) => relay::run(*args),
        Command::Token(args) => relay::mint::run_token(args),
        Command::Webhooks { command } => relay::webhook::run_command(command),
        Command::Replay(args) => replay::run(args),
        Command::Record(args) => record::run(args),
        Command::DemoRecording {
            script,
            gifts,
            output,
        } => demo_recording::build(&script, &gifts).and_then(|b| write_output(&output, &b)),
        Command::DemoFrame { output } => write_output(&output, &fixture::demo_frame()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("tikcast: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// Reads `input` (a path, or `-` for standard input), refusing more than `cap` bytes
/// without reading past them.
fn read_input(input: &str, cap: usize) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    if input == "-" {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
    } else {
        std::fs::File::open(PathBuf::from(input))
            .and_then(|f| f.take(limit).read_to_end(&mut bytes))
            .map_err(|e| format!("cannot read {input}: {e}"))?;
    }
    if bytes.len() > cap {
        return Err(format!(
            "{input} is over the {cap}-byte cap for this input; a real frame, batch or \
             payload is far smaller (raise --max-inflated for a larger batch or payload)"
        ));
    }
    Ok(bytes)
}

fn write_output(output: &str, bytes: &[u8]) -> Result<(), String> {
    if output == "-" {
        std::io::stdout()
            .write_all(bytes)
            .map_err(|e| format!("cannot write standard output: {e}"))
    } else {
        std::fs::write(output, bytes).map_err(|e| format!("cannot write {output}: {e}"))
    }
}

fn decode(
    input: &str,
    method: Option<&str>,
    batch: bool,
    b64: bool,
    frame_info: bool,
    max_inflated: usize,
) -> Result<(), String> {
    let opts = DecodeOptions {
        max_inflated_bytes: max_inflated,
        ..DecodeOptions::default()
    };
    // A frame is capped before it is inflated; a batch or a payload is inflated data.
    let mut cap = if batch || method.is_some() {
        opts.max_inflated_bytes
    } else {
        opts.max_frame_bytes
    };
    if b64 {
        // Base64 text is 4/3 of its bytes, plus line breaks.
        cap = (cap / 3).saturating_mul(4).saturating_add(1 << 16);
    }
    let mut bytes = read_input(input, cap)?;
    if b64 {
        let text: String = String::from_utf8_lossy(&bytes).split_whitespace().collect();
        bytes = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| format!("input is not valid base64 ({e}); drop --base64 for raw bytes"))?;
    }
    // Decoder v2: the schema reader writes each event's canonical JSON straight from the
    // input (no typed events in between); tikcast-core's tests hold it to the typed
    // decoder's output.
    let mut sink = JsonSink::new();
    if let Some(method) = method {
        write_message(method, &bytes, EnvelopeInfo::default(), &mut sink);
    } else {
        let decoded = if batch {
            write_batch(&bytes, &opts, |_, _| true, &mut sink)
        } else {
            write_frame(&bytes, &opts, |_, _| true, &mut sink)
        };
        let decoded = decoded.map_err(|e| {
            let hint = if batch || e.code() != "protobuf" {
                ""
            } else {
                " (for a bare fetch result use --batch, for one payload --method NAME)"
            };
            format!("cannot decode input: {e}{hint}")
        })?;
        if frame_info {
            let info = serde_json::json!({
                "type": "frame",
                "payloadType": decoded.payload_type,
                "seqId": decoded.seq_id.to_string(),
                "logId": decoded.log_id.to_string(),
                "cursor": decoded.cursor,
                "needAck": decoded.need_ack,
                "fetchIntervalMs": decoded.fetch_interval_ms,
                "heartbeatDuration": decoded.heartbeat_duration,
                "nowMs": decoded.now_ms,
                "isFirst": decoded.is_first,
                "pushServer": decoded.push_server,
                "events": sink.events.len(),
            });
            println!("{info}");
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in sink.texts() {
        writeln!(out, "{line}").map_err(|e| format!("cannot write standard output: {e}"))?;
    }
    out.flush()
        .map_err(|e| format!("cannot write standard output: {e}"))
}
