//! `tikcast watch`: the native driver. It runs a [`Session`] over a real WebSocket
//! (tokio + tokio-tungstenite) and prints every event as canonical JSON, one per line,
//! with connection states as `{"type":"state",...}` lines.
//!
//! The socket, the clock and the connect attempts are the native driver shared with the
//! relay and `tikcast record` (`driver::drive`); this command only prints what it
//! delivers. Every protocol rule (heartbeats, acks, liveness, backoff, dedup, streaks)
//! lives in `tikcast_core::session`.
//!
//! Exit status: 0 when the watch stops on its own terms (`--max-seconds`,
//! `--until-idle`, Ctrl-C, or, with `--stop-when-offline`, the stream ending or the
//! creator not being live); 1 when the session gives up (a terminal close such as a bad
//! credential, or the attempt budget ran out), with the typed reason on stderr and in
//! the last state line.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tikcast_core::session::{
    GiveUpKind, Mode, ReconnectPolicy, Session, SessionConfig, SessionStats,
};
use tikcast_core::StateChange;

use crate::driver::{drive, Credential, Dialer, Ended, Sink};
use crate::event_text::EventText;

// No `Debug`: the arguments hold a credential.
#[derive(clap::Args)]
pub struct WatchArgs {
    /// Socket URL: a TikTok-style `ws(s)://host/webcast/im/...?room_id=...` or a relay
    /// such as `ws(s)://host/ws`.
    pub url: String,
    /// direct: send enter-room, heartbeats and acks; relay: only decode. Default: direct
    /// when the path contains /webcast/im/, else relay.
    #[arg(long, value_parser = ["direct", "relay"])]
    pub mode: Option<String>,
    /// Relay credential, sent as the `jwtKey` query parameter (never printed).
    #[arg(long, env = "TIKCAST_JWT", hide_env_values = true)]
    pub jwt: Option<String>,
    /// A shell command that prints a fresh credential; run before every attempt, since
    /// relay tokens are short-lived (e.g. `curl -s https://my.backend/tikcast-token`).
    #[arg(long, conflicts_with = "jwt")]
    pub jwt_command: Option<String>,
    /// Creator handle, sent as the `uniqueId` query parameter.
    #[arg(long)]
    pub unique_id: Option<String>,
    /// Room to enter in direct mode (default: the URL's `room_id`).
    #[arg(long)]
    pub room_id: Option<u64>,
    /// Stop (exit 0) after this many seconds.
    #[arg(long, value_parser = parse_seconds)]
    pub max_seconds: Option<f64>,
    /// Stop (exit 0) once no event has arrived for this many seconds.
    #[arg(long, value_parser = parse_seconds)]
    pub until_idle: Option<f64>,
    /// No frame for this long means the connection is dead.
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub liveness_timeout_ms: u64,
    /// Give up on a socket that has not opened after this long.
    #[arg(long, default_value_t = 15_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub connect_timeout_ms: u64,
    /// Consecutive failed attempts before giving up (0 = retry forever).
    #[arg(long, default_value_t = 10)]
    pub max_attempts: u32,
    /// Stop instead of waiting when the creator is offline or the stream ends.
    #[arg(long)]
    pub stop_when_offline: bool,
    /// Drop history messages replayed at connect instead of delivering them flagged.
    #[arg(long)]
    pub no_initial_data: bool,
    /// Close a gift streak whose end has not arrived after this long.
    #[arg(long, default_value_t = 10_000)]
    pub gift_streak_timeout_ms: u64,
    /// Merge each user's likes over this window into `likeAggregate` events.
    #[arg(long)]
    pub like_aggregate_ms: Option<u64>,
    /// Seed for backoff jitter (default: random).
    #[arg(long)]
    pub seed: Option<u64>,
}

pub fn run(args: WatchArgs) -> Result<(), String> {
    // wss:// needs a process-wide TLS crypto provider; ring is the one we build with.
    // An error only means one is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(watch(args))
}

fn mode_for(args: &WatchArgs) -> Mode {
    match args.mode.as_deref() {
        Some("direct") => Mode::Direct,
        Some("relay") => Mode::Relay,
        _ if args.url.contains("/webcast/im/") => Mode::Direct,
        _ => Mode::Relay,
    }
}

/// Prints events and states as JSON lines; remembers when the last event came.
struct PrintSink {
    out: std::io::BufWriter<std::io::Stdout>,
    start: Instant,
    last_event_ms: Arc<AtomicU64>,
    error: Option<String>,
}

impl PrintSink {
    fn line(&mut self, line: &str) {
        if self.error.is_none() {
            if let Err(e) = writeln!(self.out, "{line}").and_then(|_| self.out.flush()) {
                self.error = Some(format!("cannot write standard output: {e}"));
            }
        }
    }
}

impl Sink for PrintSink {
    fn info(&mut self, info: serde_json::Map<String, serde_json::Value>, raw: &str) {
        let data = if info.is_empty() {
            serde_json::Value::String(raw.to_string())
        } else {
            serde_json::Value::Object(info)
        };
        self.line(&serde_json::json!({"type": "roomInfo", "data": data}).to_string());
    }

    fn frame(&mut self, _bytes: Bytes, _cursor: &str) {}

    fn events(&mut self, events: &[EventText]) {
        self.last_event_ms
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
        for e in events {
            self.line(e.data());
        }
    }

    fn state(&mut self, state: &StateChange) {
        if let Ok(json) = serde_json::to_string(state) {
            // `{"state":...}` → `{"type":"state","state":...}`, keeping field order.
            let rest = json.strip_prefix('{').unwrap_or(&json);
            self.line(&format!("{{\"type\":\"state\",{rest}"));
        }
    }
}

async fn watch(args: WatchArgs) -> Result<(), String> {
    if !(args.url.starts_with("ws://") || args.url.starts_with("wss://")) {
        return Err("the url must start with ws:// or wss://".into());
    }
    let mode = mode_for(&args);
    let url_room = args
        .url
        .split_once('?')
        .and_then(|(_, q)| q.split('&').find_map(|p| p.strip_prefix("room_id=")))
        .and_then(|v| v.parse::<u64>().ok());
    let room_id = args.room_id.or(url_room).unwrap_or(0);
    if mode == Mode::Direct && room_id == 0 {
        return Err(
            "direct mode needs a room id: pass --room-id or put room_id=... in the url".into(),
        );
    }
    let url = if mode == Mode::Direct && url_room.is_none() {
        tikcast_core::client::with_query(&args.url, &[("room_id", &room_id.to_string())])
    } else {
        args.url.clone()
    };
    let session = Session::new(SessionConfig {
        mode,
        room_id,
        liveness_timeout_ms: args.liveness_timeout_ms,
        connect_timeout_ms: args.connect_timeout_ms,
        reconnect: ReconnectPolicy {
            stop_when_offline: args.stop_when_offline,
            max_attempts: (args.max_attempts > 0).then_some(args.max_attempts),
            ..Default::default()
        },
        process_initial_data: !args.no_initial_data,
        gift_streak_timeout_ms: args.gift_streak_timeout_ms,
        like_aggregate_ms: args.like_aggregate_ms,
        seed: args.seed.unwrap_or_else(crate::relay::random_seed),
        ..Default::default()
    });
    let credential = match (&args.jwt_command, &args.jwt) {
        (Some(cmd), _) => Credential::Command(cmd.clone()),
        (None, Some(jwt)) => Credential::Fixed(jwt.clone()),
        (None, None) => Credential::None,
    };
    let mut dialer = Dialer::Url {
        url,
        unique_id: args.unique_id.clone(),
        credential,
        direct: mode == Mode::Direct,
        timeout: Duration::from_millis(args.connect_timeout_ms),
    };

    let start = Instant::now();
    let last_event_ms = Arc::new(AtomicU64::new(0));
    let mut sink = PrintSink {
        out: std::io::BufWriter::new(std::io::stdout()),
        start,
        last_event_ms: Arc::clone(&last_event_ms),
        error: None,
    };
    let stop_at = args.max_seconds.map(|s| start + secs(s));
    let idle = args.until_idle.map(secs);
    let stop = async {
        let limit = async {
            match stop_at {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        let idle = async {
            let Some(idle) = idle else {
                return std::future::pending().await;
            };
            loop {
                let due =
                    start + Duration::from_millis(last_event_ms.load(Ordering::Relaxed)) + idle;
                if Instant::now() >= due {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
            }
        };
        tokio::select! {
            _ = limit => {}
            _ = idle => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    let ended = drive(session, &mut dialer, &mut sink, stop, &|| {}, "").await;
    let (code, close_code, message, stats, result) = match ended {
        Ended::Stopped(stats) => (
            "stopped",
            None,
            "stopped by the client".to_string(),
            stats,
            Ok(()),
        ),
        Ended::GaveUp(g, stats) => {
            let result = match g.kind {
                GiveUpKind::Stopped | GiveUpKind::StreamEnded | GiveUpKind::NotLive => Ok(()),
                _ => Err(format!("{} ({})", g, g.code())),
            };
            (g.code(), g.close_code, g.to_string(), stats, result)
        }
    };
    sink.line(&stopped_line(code, close_code, &message, &stats));
    if let Some(e) = sink.error {
        return Err(e);
    }
    result
}

/// The last state line: `{"type":"state","state":"stopped","code",...,"stats":{...}}`.
fn stopped_line(
    code: &str,
    close_code: Option<u16>,
    message: &str,
    stats: &SessionStats,
) -> String {
    let json = |v: serde_json::Value| v.to_string();
    format!(
        "{{\"type\":\"state\",\"state\":\"stopped\",\"code\":{},\"closeCode\":{},\"message\":{},\"stats\":{}}}",
        json(code.into()),
        json(close_code.into()),
        json(message.into()),
        serde_json::to_string(stats).unwrap_or_default(),
    )
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 1e7))
}

/// A positive, finite number of seconds, at most about four months.
fn parse_seconds(v: &str) -> Result<f64, String> {
    let s: f64 = v
        .parse()
        .map_err(|_| format!("{v:?} is not a number of seconds"))?;
    if s.is_finite() && s > 0.0 && s <= 1e7 {
        Ok(s)
    } else {
        Err(format!(
            "{v:?}: seconds must be above 0 and at most 10000000"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: &str) -> WatchArgs {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            w: WatchArgs,
        }
        T::parse_from(["t", url]).w
    }

    #[test]
    fn mode_follows_the_url_unless_given() {
        assert_eq!(mode_for(&args("ws://127.0.0.1:1/ws")), Mode::Relay);
        let d = args("ws://h/webcast/im/ws_proxy/ws_reuse_supplement/?room_id=7");
        assert_eq!(mode_for(&d), Mode::Direct);
        let mut r = args("ws://h/webcast/im/x");
        r.mode = Some("relay".into());
        assert_eq!(mode_for(&r), Mode::Relay);
        assert!(parse_seconds("inf").is_err());
        assert!(parse_seconds("0").is_err());
        assert_eq!(parse_seconds("2.5"), Ok(2.5));
    }
}
