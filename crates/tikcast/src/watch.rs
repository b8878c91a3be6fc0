//! `tikcast watch`: the native driver. It runs a [`Session`] over a real WebSocket
//! (tokio + tokio-tungstenite) and prints every event as canonical JSON, one per line,
//! with connection states as `{"type":"state",...}` lines.
//!
//! The driver owns the socket and the clock and nothing else: it feeds the session what
//! happened and does what the session asks (open, send, close, sleep until the next
//! deadline). Every protocol rule (heartbeats, acks, liveness, backoff, dedup, streaks)
//! lives in `tikcast_core::session`.
//!
//! Exit status: 0 when the watch stops on its own terms (`--max-seconds`,
//! `--until-idle`, Ctrl-C, or, with `--stop-when-offline`, the stream ending or the
//! creator not being live); 1 when the session gives up (a terminal close such as a bad
//! credential, or the attempt budget ran out), with the typed reason on stderr and in
//! the last state line.

use std::io::Write;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tikcast_core::session::{GiveUpKind, Mode, Output, ReconnectPolicy, Session, SessionConfig};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

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

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

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

async fn watch(args: WatchArgs) -> Result<(), String> {
    let (base, query) = split_url(&args.url)?;
    let mode = mode_for(&args);
    let room_id = match args.room_id {
        Some(id) => id,
        None => query_value(&query, "room_id")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    };
    if mode == Mode::Direct && room_id == 0 {
        return Err(
            "direct mode needs a room id: pass --room-id or put room_id=... in the url".into(),
        );
    }
    let seed = args.seed.unwrap_or_else(random_seed);
    let mut session = Session::new(SessionConfig {
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
        seed,
        ..Default::default()
    });

    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let now = || start.elapsed().as_millis() as u64;
    let stop_at = args.max_seconds.map(|s| start + secs(s));
    let idle = args.until_idle.map(secs);
    let mut last_event = start;

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut socket: Option<(tikcast_core::ConnId, Socket)> = None;
    let mut pending: Option<tikcast_core::ConnId> = None;
    let mut connecting: Option<(tikcast_core::ConnId, Connecting)> = None;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);

    session.start(now());
    loop {
        while let Some(output) = session.poll_output() {
            match output {
                Output::Connect { conn, .. } => {
                    if let Some((_, mut ws)) = socket.take() {
                        let _ = ws.close(None).await;
                    }
                    pending = Some(conn);
                }
                Output::Send { conn, frame } => {
                    if let Some((c, ws)) = socket.as_mut() {
                        if *c == conn {
                            if let Err(e) = ws.send(Message::Binary(frame.into())).await {
                                let reason = format!("send failed: {e}");
                                socket = None;
                                session.on_close(now(), conn, 1006, &reason);
                            }
                        }
                    }
                }
                Output::Close { conn, code, reason } => {
                    if let Some((c, mut ws)) = socket.take() {
                        if c == conn {
                            let frame = CloseFrame {
                                code: CloseCode::from(code),
                                reason: reason.into(),
                            };
                            // A dead peer never answers; do not wait for it.
                            let _ = tokio::time::timeout(
                                Duration::from_millis(500),
                                ws.close(Some(frame)),
                            )
                            .await;
                        } else {
                            socket = Some((c, ws));
                        }
                    }
                }
                Output::Events(events) => {
                    last_event = Instant::now();
                    for e in &events {
                        let line = serde_json::to_string(e)
                            .map_err(|e| format!("cannot serialize event: {e}"))?;
                        writeln!(out, "{line}").map_err(stdout_err)?;
                    }
                }
                Output::RoomInfo(text) => {
                    let data = serde_json::from_str::<serde_json::Value>(&text)
                        .unwrap_or(serde_json::Value::String(text));
                    let line = serde_json::json!({"type": "roomInfo", "data": data});
                    writeln!(out, "{line}").map_err(stdout_err)?;
                }
                Output::State(state) => {
                    let json = serde_json::to_string(&state)
                        .map_err(|e| format!("cannot serialize state: {e}"))?;
                    // `{"state":...}` → `{"type":"state","state":...}`, keeping field order.
                    let rest = json.strip_prefix('{').unwrap_or(&json);
                    writeln!(out, "{{\"type\":\"state\",{rest}").map_err(stdout_err)?;
                }
                Output::GiveUp(g) => {
                    let json = |v: serde_json::Value| v.to_string();
                    writeln!(
                        out,
                        "{{\"type\":\"state\",\"state\":\"stopped\",\"code\":{},\"closeCode\":{},\"message\":{},\"stats\":{}}}",
                        json(g.code().into()),
                        json(g.close_code.into()),
                        json(g.to_string().into()),
                        serde_json::to_string(&session.stats()).unwrap_or_default(),
                    )
                    .map_err(stdout_err)?;
                    out.flush().map_err(stdout_err)?;
                    if let Some((_, mut ws)) = socket.take() {
                        let _ =
                            tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
                    }
                    return match g.kind {
                        GiveUpKind::Stopped | GiveUpKind::StreamEnded | GiveUpKind::NotLive => {
                            Ok(())
                        }
                        _ => Err(format!("{} ({})", g, g.code())),
                    };
                }
            }
        }
        out.flush().map_err(stdout_err)?;

        if let Some(conn) = pending.take() {
            let parts = UrlParts::new(&base, &query, &args, &session, mode);
            let jwt_command = args.jwt_command.clone();
            let jwt = args.jwt.clone();
            let limit = Duration::from_millis(args.connect_timeout_ms);
            let max_message = session.config().decode.max_frame_bytes;
            connecting = Some((
                conn,
                Box::pin(async move {
                    // Every attempt gets a fresh credential: signed URLs and relay tokens
                    // expire within seconds.
                    let jwt = match jwt_command {
                        Some(cmd) => Some(fresh_credential(&cmd, limit).await?),
                        None => jwt,
                    };
                    let url = parts.url(jwt.as_deref());
                    // Messages larger than the session would decode are refused by the
                    // socket itself, before they are buffered.
                    let config = WebSocketConfig::default()
                        .max_message_size(Some(max_message))
                        .max_frame_size(Some(max_message));
                    tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), false)
                        .await
                        .map(|(ws, _response)| ws)
                        .map_err(|e| connect_error(&e))
                }),
            ));
        }
        // The session may have given up on the attempt (connect timeout) meanwhile.
        if connecting
            .as_ref()
            .is_some_and(|(c, _)| session.current_conn() != Some(*c))
        {
            connecting = None;
        }

        let wake = session.poll_timeout().map(at);
        let idle_at = idle.map(|d| last_event + d);
        let sleep_to = [wake, stop_at, idle_at]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            opened = finish_connect(&mut connecting) => {
                let Some((conn, _)) = connecting.take() else { continue };
                match opened {
                    Ok(ws) => {
                        socket = Some((conn, ws));
                        session.on_open(now(), conn);
                    }
                    Err(reason) => session.on_close(now(), conn, 1006, &reason),
                }
            }
            msg = next_message(&mut socket) => {
                let Some((conn, _)) = socket.as_ref() else { continue };
                let conn = *conn;
                match msg {
                    Some(Ok(Message::Binary(bytes))) => session.on_frame(now(), conn, &bytes),
                    Some(Ok(Message::Text(text))) => session.on_text(now(), conn, text.as_str()),
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = frame
                            .map(|f| (u16::from(f.code), f.reason.to_string()))
                            .unwrap_or((1005, String::new()));
                        socket = None;
                        session.on_close(now(), conn, code, &reason);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        socket = None;
                        session.on_close(now(), conn, 1006, &lost(&e));
                    }
                    None => {
                        socket = None;
                        session.on_close(now(), conn, 1006, "connection lost");
                    }
                }
            }
            _ = tokio::time::sleep_until(sleep_to.into()) => {
                let t = Instant::now();
                if stop_at.is_some_and(|s| t >= s) || idle_at.is_some_and(|s| t >= s) {
                    session.stop(now());
                } else {
                    session.handle_timeout(now());
                }
            }
            _ = &mut ctrl_c => session.stop(now()),
        }
    }
}

/// A connect attempt in flight: credential, then socket.
type Connecting = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Socket, String>>>>;

async fn finish_connect(
    connecting: &mut Option<(tikcast_core::ConnId, Connecting)>,
) -> Result<Socket, String> {
    match connecting.as_mut() {
        Some((_, attempt)) => attempt.await,
        None => std::future::pending().await,
    }
}

async fn next_message(
    socket: &mut Option<(tikcast_core::ConnId, Socket)>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match socket.as_mut() {
        Some((_, ws)) => ws.next().await,
        None => std::future::pending().await,
    }
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

fn stdout_err(e: std::io::Error) -> String {
    format!("cannot write standard output: {e}")
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// Runs the credential command; its trimmed standard output is the token. Failures are
/// described without the output, which may hold a partial secret.
async fn fresh_credential(cmd: &str, limit: Duration) -> Result<String, String> {
    let run = tokio::process::Command::new("sh")
        .args(["-c", cmd])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(limit, run).await {
        Err(_) => {
            return Err(format!(
                "credential command did not finish within {} ms",
                limit.as_millis()
            ))
        }
        Ok(Err(e)) => return Err(format!("cannot run the credential command: {e}")),
        Ok(Ok(out)) => out,
    };
    if !out.status.success() {
        return Err(format!("credential command failed ({})", out.status));
    }
    let token = String::from_utf8(out.stdout)
        .map_err(|_| "credential command printed something that is not utf-8".to_string())?;
    let token = token.trim();
    if token.is_empty() {
        return Err("credential command printed nothing".into());
    }
    Ok(token.to_string())
}

/// Describes a socket that died without a close frame.
fn lost(e: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    use tokio_tungstenite::tungstenite::Error;
    match e {
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "connection dropped without a close frame".to_string()
        }
        Error::Io(io) => format!("connection lost: {}", io.kind()),
        other => format!("connection lost: {other}"),
    }
}

/// Describes a failed connect without echoing the URL (it may carry a credential).
fn connect_error(e: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error;
    match e {
        Error::Http(resp) => {
            let msg = resp
                .headers()
                .get("handshake-msg")
                .and_then(|v| v.to_str().ok())
                .map(|m| format!(" ({})", m.chars().take(80).collect::<String>()))
                .unwrap_or_default();
            format!(
                "handshake rejected with http {}{msg}",
                resp.status().as_u16()
            )
        }
        Error::Io(io) => format!("cannot connect: {}", io.kind()),
        Error::Url(_) => "invalid socket url".to_string(),
        Error::Tls(_) => "tls handshake failed".to_string(),
        other => format!("cannot connect: {other}"),
    }
}

/// Splits `url` into the part before `?` and its decoded-as-is `key=value` pairs.
fn split_url(url: &str) -> Result<(String, Vec<(String, String)>), String> {
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err("the url must start with ws:// or wss://".into());
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    Ok((base.to_string(), pairs))
}

fn query_value<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// What one attempt's URL is made of: the user's URL, plus the credential and the newest
/// resume position (cursor, internal ext), put in fresh each time.
struct UrlParts {
    base: String,
    query: Vec<(String, String)>,
    set: Vec<(&'static str, String)>,
}

impl UrlParts {
    fn new(
        base: &str,
        query: &[(String, String)],
        args: &WatchArgs,
        session: &Session,
        mode: Mode,
    ) -> Self {
        let mut set = Vec::new();
        if let Some(id) = &args.unique_id {
            set.push(("uniqueId", id.clone()));
        }
        if mode == Mode::Direct && query_value(query, "room_id").is_none() {
            set.push(("room_id", session.config().room_id.to_string()));
        }
        if !session.cursor().is_empty() {
            set.push(("cursor", session.cursor().to_string()));
            if mode == Mode::Direct && !session.internal_ext().is_empty() {
                set.push(("internal_ext", session.internal_ext().to_string()));
            }
        }
        UrlParts {
            base: base.to_string(),
            query: query.to_vec(),
            set,
        }
    }

    fn url(&self, jwt: Option<&str>) -> String {
        let mut set: Vec<(&str, &str)> = self.set.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Some(jwt) = jwt {
            set.push(("jwtKey", jwt));
        }
        let mut parts: Vec<String> = self
            .query
            .iter()
            .filter(|(k, _)| !set.iter().any(|(s, _)| s == k))
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        parts.extend(set.iter().map(|(k, v)| format!("{k}={}", encode(v))));
        if parts.is_empty() {
            self.base.clone()
        } else {
            format!("{}?{}", self.base, parts.join("&"))
        }
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
    fn attempt_urls_carry_credential_and_resume_position() {
        let mut a = args("ws://127.0.0.1:1/ws?features.x=1&cursor=old");
        a.jwt = Some("a.b+c".into());
        a.unique_id = Some("ada".into());
        let (base, q) = split_url(&a.url).unwrap();
        let s = Session::new(SessionConfig {
            mode: Mode::Relay,
            ..Default::default()
        });
        // No cursor yet: the user's own cursor stays.
        assert_eq!(
            UrlParts::new(&base, &q, &a, &s, Mode::Relay).url(a.jwt.as_deref()),
            "ws://127.0.0.1:1/ws?features.x=1&cursor=old&uniqueId=ada&jwtKey=a.b%2Bc"
        );
        assert_eq!(mode_for(&a), Mode::Relay);
        let d = args("ws://h/webcast/im/ws_proxy/ws_reuse_supplement/?room_id=7");
        assert_eq!(mode_for(&d), Mode::Direct);
        assert!(split_url("http://x").is_err());
    }
}
