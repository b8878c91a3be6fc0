//! `tikcast replay FILE`: plays a recording. With `--listen` it serves it like a relay
//! (`/ws?uniqueId=…`: a `roomInfo` text, then the recorded frames, byte for byte, at the
//! recorded pace times `--speed`; no token needed); without, it prints one JSON line per
//! record (`roomInfo` text, or the events of a frame) as fast as it can, then a summary
//! line on stderr. A damaged recording header (docs/recording.md) is a warning, not a
//! refusal: the records are played all the same.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::recording::{self, Kind};

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The recording (written by `tikcast relay --record` or `tikcast record`).
    file: PathBuf,
    /// Serve the recording on this address instead of printing it.
    #[arg(long)]
    listen: Option<String>,
    /// Playback speed when serving (2 = twice as fast).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Start over when the recording ends (serving).
    #[arg(long = "loop")]
    looped: bool,
    /// Exit by itself after this many seconds (serving).
    #[arg(long)]
    max_seconds: Option<f64>,
    /// Print only the summary (records, duration, header damage, torn tail) as one JSON line.
    #[arg(long)]
    info: bool,
}

pub fn run(a: ReplayArgs) -> Result<(), String> {
    if let Some(listen) = a.listen {
        // The relay reads the file itself; only the header is read here, for the warning.
        if let (_, Some(e)) = recording::read_header(&a.file)? {
            warn_damaged(&a.file, &e);
        }
        return crate::relay::serve_replay(a.file, listen, a.speed, a.looped, a.max_seconds);
    }
    let rec = recording::read(&a.file)?;
    if let (Some(e), false) = (&rec.header_error, a.info) {
        warn_damaged(&a.file, e);
    }
    let frames = rec.records.iter().filter(|r| r.kind == Kind::Frame).count();
    let summary = serde_json::json!({
        "type": "recording",
        "version": rec.version,
        "meta": rec.meta,
        "headerError": rec.header_error.as_ref().map(|e| e.to_string()),
        "records": rec.records.len(),
        "frames": frames,
        "durationMs": rec.records.last().map(|r| r.t_ms).unwrap_or(0),
        "tornBytes": rec.torn_bytes,
        "tornReason": rec.torn_reason,
    });
    if a.info {
        println!("{summary}");
        return Ok(());
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let err = |e: std::io::Error| format!("cannot write standard output: {e}");
    let mut sink = tikcast_core::JsonSink::new();
    for r in &rec.records {
        match r.kind {
            Kind::Text => {
                let data = serde_json::from_slice::<serde_json::Value>(&r.body)
                    .unwrap_or_else(|_| String::from_utf8_lossy(&r.body).into_owned().into());
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"type": "roomInfo", "tMs": r.t_ms, "data": data})
                )
                .map_err(err)?;
            }
            Kind::Frame => {
                // Each event's canonical JSON, written straight from the frame's bytes.
                sink.clear();
                let opts = tikcast_core::DecodeOptions::default();
                match tikcast_core::write_frame(&r.body, &opts, |_, _| true, &mut sink) {
                    Ok(_) => {
                        for line in sink.texts() {
                            writeln!(out, "{line}").map_err(err)?;
                        }
                    }
                    Err(e) => eprintln!("replay: a frame at {} ms does not decode: {e}", r.t_ms),
                }
            }
        }
    }
    out.flush().map_err(err)?;
    eprintln!("{summary}");
    Ok(())
}

fn warn_damaged(file: &Path, e: &recording::HeaderError) {
    eprintln!(
        "replay: warning: {}: {e}; playing its records anyway (`tikcast replay FILE --info` shows what was read)",
        file.display()
    );
}
