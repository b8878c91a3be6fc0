//! `tikcast record URL --out FILE`: records a relay-style socket (a `tikcast relay`, a
//! `tikcast mock` `/ws`, or another relay sending raw push frames) into a recording
//! (format: docs/recording.md). It reconnects and resumes like the relay's upstream and
//! stops after `--max-seconds`, on Ctrl-C, or when the stream ends.

use std::path::PathBuf;

use bytes::Bytes;
use tikcast_core::session::GiveUpKind;
use tikcast_core::{Mode, Session};

use crate::driver::{drive, session_config, Credential, Dialer, Ended, Sink};
use crate::recording::{Kind, Writer};

// No `Debug`: the arguments hold a credential.
#[derive(clap::Args)]
pub struct RecordArgs {
    /// Relay-style socket URL, e.g. ws://127.0.0.1:8080/ws.
    url: String,
    /// The recording to create (must not exist).
    #[arg(long)]
    out: PathBuf,
    /// Creator handle (`uniqueId` query parameter).
    #[arg(long)]
    unique_id: String,
    /// Token for the relay (`jwtKey`), never printed.
    #[arg(long, env = "TIKCAST_JWT", hide_env_values = true)]
    jwt: Option<String>,
    /// Stop after this many seconds.
    #[arg(long)]
    max_seconds: Option<f64>,
}

struct FileSink {
    writer: Writer,
    frames: u64,
    error: Option<String>,
}

impl Sink for FileSink {
    fn info(&mut self, _info: serde_json::Map<String, serde_json::Value>, raw: &str) {
        if let Err(e) = self.writer.append(Kind::Text, raw.as_bytes()) {
            self.error.get_or_insert(e);
        }
    }

    fn frame(&mut self, bytes: Bytes, _cursor: &str) {
        self.frames += 1;
        if let Err(e) = self.writer.append(Kind::Frame, &bytes) {
            self.error.get_or_insert(e);
        }
    }
}

pub fn run(a: RecordArgs) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if !(a.url.starts_with("ws://") || a.url.starts_with("wss://")) {
        return Err("the url must start with ws:// or wss://".into());
    }
    let meta = serde_json::json!({
        "uniqueId": a.unique_id,
        "startedAtMs": crate::clock::now_ms(),
        "upstream": "record",
        "recorder": format!("tikcast {}", env!("CARGO_PKG_VERSION")),
    });
    let writer = Writer::create(&a.out, &meta)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let mut sink = FileSink {
        writer,
        frames: 0,
        error: None,
    };
    let ended = rt.block_on(async {
        let mut dialer = Dialer::Url {
            url: a.url.clone(),
            unique_id: Some(a.unique_id.clone()),
            credential: a.jwt.clone().map_or(Credential::None, Credential::Fixed),
            direct: false,
            timeout: std::time::Duration::from_secs(10),
        };
        let session = Session::new(session_config(Mode::Relay, 0, 30_000));
        let stop = async {
            let limit = async {
                match a.max_seconds {
                    Some(s) if s.is_finite() && s > 0.0 => {
                        tokio::time::sleep(std::time::Duration::from_secs_f64(s.min(1e9))).await
                    }
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = limit => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        };
        drive(session, &mut dialer, &mut sink, stop, &|| {}, "record").await
    });
    let frames = sink.frames;
    let error = sink.error.take();
    let bytes = sink.writer.finish()?;
    eprintln!(
        "record: {frames} frames, {bytes} bytes in {}",
        a.out.display()
    );
    if let Some(e) = error {
        return Err(e);
    }
    match ended {
        Ended::Stopped(_) => Ok(()),
        Ended::GaveUp(g, _) => match g.kind {
            GiveUpKind::StreamEnded | GiveUpKind::NotLive | GiveUpKind::Stopped => Ok(()),
            _ => Err(format!("{g} ({})", g.code())),
        },
    }
}
