//! Upstreams: where a room's frames come from.
//!
//! * `mock:URL` — a relay-style socket (`tikcast mock`'s `/ws`, or any relay that sends a
//!   `roomInfo` text and raw push frames); resumed with `cursor` after a drop.
//! * `tiktok` — TikTok's push socket, driven by the core [`Session`] in direct mode
//!   (enter-room, heartbeats, acks, liveness, reconnects). Every attempt first asks the
//!   sign server for a fresh signed socket URL and cookies (see [`Signer`]).
//! * `replay:FILE` — a recording, in real time or faster, optionally looped.
//!
//! The first two share one native Session driver ([`drive`]); `tikcast record` and
//! `tikcast watch` use it too. A recording is played through a session too
//! ([`replay`]). Frames are forwarded exactly as received: the session decodes only
//! what the room needs (the cursor, control messages, the viewer count, and the events
//! its JSON viewers asked for, see `json.rs`).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tikcast_core::session::{
    GiveUp, GiveUpKind, Mode, Output, ReconnectPolicy, SessionConfig, SessionStats,
};
use tikcast_core::{ConnId, Event, Session, StateChange};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::hub::{Hub, Room};
use super::metrics::add;
use super::sign::{self, Service};
use super::{http_client, UpstreamKind};
use crate::recording::{self, Kind};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Info = serde_json::Map<String, serde_json::Value>;

/// The user agent sent to TikTok when the sign server names none.
pub(crate) const DEFAULT_UA: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

/// Receives what an upstream produces.
pub(crate) trait Sink: Send {
    /// The room description (a relay's `roomInfo` text, or the sign server's `roomInfo`).
    fn info(&mut self, info: Info, raw: &str);
    /// One frame, unchanged, and the stream position after it.
    fn frame(&mut self, bytes: Bytes, cursor: &str);
    fn events(&mut self, _events: &[Event]) {}
    fn state(&mut self, _state: &StateChange) {}
    /// Asked before each frame is decoded: the events the session should decode, when
    /// that changed (`Some(None)`: everything). The default never changes it.
    fn wanted_events(&mut self) -> Option<Option<Vec<String>>> {
        None
    }
}

/// Where a relay-style (or any URL-named) socket's credential comes from, per attempt.
pub(crate) enum Credential {
    None,
    /// A fixed token (`jwtKey`), e.g. from the command line.
    Fixed(String),
    /// A fresh HS256 token minted for every attempt (a mock that wants one).
    Mint(Vec<u8>),
    /// A shell command that prints a fresh token, run before every attempt.
    Command(String),
}

/// Opens upstream sockets, one per session attempt.
pub(crate) enum Dialer {
    /// A socket named by URL: a relay (`uniqueId`, `jwtKey`, `cursor` added), or with
    /// `direct` a TikTok-style socket (`cursor` and `internal_ext` added).
    Url {
        url: String,
        unique_id: Option<String>,
        credential: Credential,
        direct: bool,
        /// Limit for a credential command.
        timeout: Duration,
    },
    Tiktok {
        signer: Signer,
        unique_id: String,
        /// The answer fetched to learn the room id, used by the first attempt.
        first: Option<Signed>,
    },
}

type Connecting =
    Pin<Box<dyn Future<Output = Result<(Socket, Option<Info>), (u16, String)>> + Send>>;

impl Dialer {
    fn connect(&mut self, session: &Session, max_message: usize) -> Connecting {
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(max_message))
            .max_frame_size(Some(max_message));
        match self {
            Dialer::Url {
                url,
                unique_id,
                credential,
                direct,
                timeout,
            } => {
                let mut q: Vec<(&'static str, String)> = Vec::new();
                if let Some(id) = unique_id {
                    q.push(("uniqueId", id.clone()));
                }
                if !session.cursor().is_empty() {
                    q.push(("cursor", session.cursor().to_string()));
                    if *direct && !session.internal_ext().is_empty() {
                        q.push(("internal_ext", session.internal_ext().to_string()));
                    }
                }
                let url = url.clone();
                let timeout = *timeout;
                let credential = match credential {
                    Credential::None => Ok(None),
                    Credential::Fixed(t) => Ok(Some(t.clone())),
                    Credential::Mint(secret) => {
                        Ok(Some(mint(secret, unique_id.as_deref().unwrap_or(""))))
                    }
                    Credential::Command(cmd) => Err(cmd.clone()),
                };
                Box::pin(async move {
                    let jwt = match credential {
                        Ok(jwt) => jwt,
                        Err(cmd) => Some(
                            fresh_credential(&cmd, timeout)
                                .await
                                .map_err(|r| (1006, r))?,
                        ),
                    };
                    if let Some(jwt) = jwt {
                        q.push(("jwtKey", jwt));
                    }
                    let full = with_query(&url, &q);
                    tokio_tungstenite::connect_async_with_config(full, Some(ws_config), true)
                        .await
                        .map(|(ws, _)| (ws, None))
                        .map_err(|e| (1006, connect_error(&e)))
                })
            }
            Dialer::Tiktok {
                signer,
                unique_id,
                first,
            } => {
                let signer = signer.clone();
                let unique_id = unique_id.clone();
                let cursor = session.cursor().to_string();
                let room_id = session.config().room_id;
                let first = first.take();
                Box::pin(async move {
                    let signed = match first {
                        Some(s) => s,
                        None => signer.sign(&unique_id, Some(room_id), &cursor).await?,
                    };
                    let mut req =
                        signed
                            .socket_url
                            .as_str()
                            .into_client_request()
                            .map_err(|_| {
                                (
                                    1006,
                                    "the sign server's signedUrl is not a websocket url"
                                        .to_string(),
                                )
                            })?;
                    let h = req.headers_mut();
                    let ua = signed.user_agent.as_deref().unwrap_or(DEFAULT_UA);
                    let mut put = |k: &'static str, v: &str| {
                        if let Ok(v) = v.parse() {
                            h.insert(k, v);
                        }
                    };
                    put("user-agent", ua);
                    put("origin", "https://www.tiktok.com");
                    put("referer", "https://www.tiktok.com/");
                    if let Some(c) = &signed.cookies {
                        put("cookie", c);
                    }
                    tokio_tungstenite::connect_async_with_config(req, Some(ws_config), true)
                        .await
                        .map(|(ws, _)| (ws, Some(signed.info)))
                        .map_err(|e| (1006, connect_error(&e)))
                })
            }
        }
    }
}

/// A short-lived HS256 token for a relay-style upstream that wants one (the mock).
pub(crate) fn mint(secret: &[u8], unique_id: &str) -> String {
    let claims = serde_json::json!({
        "exp": jsonwebtoken::get_current_timestamp() + 60,
        "allowedCreators": [unique_id],
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap_or_default()
}

/// `url` with these query parameters set (replacing), percent-encoded.
pub(crate) fn with_query(url: &str, set: &[(&str, String)]) -> String {
    let set: Vec<(&str, &str)> = set.iter().map(|(k, v)| (*k, v.as_str())).collect();
    tikcast_core::client::with_query(url, &set)
}

/// Runs a credential command; its trimmed standard output is the token. Failures are
/// described without the output, which may hold a partial secret.
pub(crate) async fn fresh_credential(cmd: &str, limit: Duration) -> Result<String, String> {
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

/// Describes a failed connect without the URL (it may carry a credential).
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

// ------------------------------------------------------------------------------ signer

/// The sign-service client: our own contract (documented in docs/relay.md) or one of
/// the public services' (`sign.rs`). Ours:
/// `GET {url}?uniqueId=NAME[&roomId=ID][&cursor=C]` with `x-api-key: KEY` →
/// `{"signedUrl", "cookies"?, "userAgent"?, "roomId"?, "isLive"?, "roomInfo"?}`;
/// 404 or `isLive: false` means the creator is not live.
#[derive(Clone)]
pub(crate) struct Signer {
    pub(crate) service: Service,
    /// Our contract's endpoint, or the public service's base URL.
    pub(crate) url: String,
    pub(crate) api_key: Option<String>,
}

pub(crate) struct Signed {
    pub(crate) socket_url: String,
    pub(crate) cookies: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) room_id: u64,
    pub(crate) info: Info,
}

impl Signer {
    /// Asks for a signed socket URL. `Err` carries the close code the session should see
    /// (the same classes for every service, see [`sign::refused`]): 4404 when the
    /// creator is not live, 4500 for a refused key, 4429 when rate limited, 1006 for
    /// anything transient.
    pub(crate) async fn sign(
        &self,
        unique_id: &str,
        room_id: Option<u64>,
        cursor: &str,
    ) -> Result<Signed, (u16, String)> {
        let key = self.api_key.as_deref().unwrap_or("");
        match self.service {
            Service::Custom => self.sign_custom(unique_id, room_id, cursor).await,
            Service::Euler => sign::euler(&self.url, key, unique_id, room_id, cursor).await,
            Service::TikTool => sign::tiktool(&self.url, key, unique_id).await,
        }
    }

    async fn sign_custom(
        &self,
        unique_id: &str,
        room_id: Option<u64>,
        cursor: &str,
    ) -> Result<Signed, (u16, String)> {
        let mut q = vec![("uniqueId", unique_id.to_string())];
        if let Some(id) = room_id.filter(|&id| id != 0) {
            q.push(("roomId", id.to_string()));
        }
        if !cursor.is_empty() {
            q.push(("cursor", cursor.to_string()));
        }
        let url = with_query(&self.url, &q);
        let mut headers = Vec::new();
        if let Some(k) = &self.api_key {
            headers.push(("x-api-key", k.as_str()));
        }
        let resp = http_client::get(&url, &headers, Duration::from_secs(10))
            .await
            .map_err(|e| (1006, format!("sign server: {e}")))?;
        if resp.status != 200 {
            return Err(sign::refused(
                Service::Custom,
                resp.status,
                resp.header("retry-after"),
            ));
        }
        let v: serde_json::Value = serde_json::from_slice(&resp.body)
            .map_err(|_| (1006, "sign server: answer is not JSON".to_string()))?;
        parse_signed(&v, unique_id)
    }
}

fn parse_signed(v: &serde_json::Value, unique_id: &str) -> Result<Signed, (u16, String)> {
    if v.get("isLive").and_then(|l| l.as_bool()) == Some(false) {
        return Err((4404, "sign server: creator not live".into()));
    }
    let socket_url = v
        .get("signedUrl")
        .and_then(|s| s.as_str())
        .filter(|s| s.starts_with("ws://") || s.starts_with("wss://"))
        .ok_or((1006, "sign server: no ws(s):// signedUrl".to_string()))?
        .to_string();
    let id_of = |x: &serde_json::Value| match x {
        serde_json::Value::String(s) => s.parse::<u64>().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    };
    let room_id = v
        .get("roomId")
        .and_then(id_of)
        .or_else(|| {
            let q = socket_url.split_once('?')?.1;
            q.split('&')
                .find_map(|p| p.strip_prefix("room_id="))
                .and_then(|s| s.parse().ok())
        })
        .filter(|&id| id != 0)
        .ok_or((1006, "sign server: no roomId".to_string()))?;
    let info = match v.get("roomInfo") {
        Some(serde_json::Value::Object(m)) => m.clone(),
        _ => Info::new(),
    };
    let info = sign::room_info(info, room_id, unique_id);
    let text = |k: &str| v.get(k).and_then(|s| s.as_str()).map(String::from);
    Ok(Signed {
        socket_url,
        cookies: text("cookies"),
        user_agent: text("userAgent"),
        room_id,
        info,
    })
}

// ------------------------------------------------------------------------------ driver

/// How a driven session ended, with its final counters.
pub(crate) enum Ended {
    GaveUp(GiveUp, SessionStats),
    /// The caller's stop future resolved (the session was stopped: running gift streaks
    /// were closed and delivered first).
    Stopped(SessionStats),
}

/// Drives `session` over real sockets until it gives up or `stop` resolves.
pub(crate) async fn drive(
    mut session: Session,
    dialer: &mut Dialer,
    sink: &mut dyn Sink,
    stop: impl Future<Output = ()>,
    on_connect: &(dyn Fn() + Send + Sync),
    label: &str,
) -> Ended {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let now = || start.elapsed().as_millis() as u64;
    let max_message = session.config().decode.max_frame_bytes;
    let mut socket: Option<(ConnId, Socket)> = None;
    let mut connecting: Option<(ConnId, Connecting)> = None;
    let mut stopping = false;
    tokio::pin!(stop);
    session.start(now());
    loop {
        while let Some(output) = session.poll_output() {
            match output {
                Output::Connect { conn, attempt } => {
                    if let Some((_, mut ws)) = socket.take() {
                        let _ =
                            tokio::time::timeout(Duration::from_millis(300), ws.close(None)).await;
                    }
                    on_connect();
                    if attempt > 0 && !label.is_empty() {
                        eprintln!("relay: {label}: reconnecting upstream (attempt {attempt})");
                    }
                    connecting = Some((conn, dialer.connect(&session, max_message)));
                }
                Output::Send { conn, frame } => {
                    if let Some((c, ws)) = socket.as_mut() {
                        if *c == conn {
                            if let Err(e) = ws.send(Message::Binary(frame.into())).await {
                                socket = None;
                                session.on_close(now(), conn, 1006, &lost(&e));
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
                            let _ = tokio::time::timeout(
                                Duration::from_millis(300),
                                ws.close(Some(frame)),
                            )
                            .await;
                        } else {
                            socket = Some((c, ws));
                        }
                    }
                }
                Output::Events(events) => sink.events(&events),
                Output::RoomInfo(text) => {
                    let info = match serde_json::from_str::<serde_json::Value>(&text) {
                        Ok(serde_json::Value::Object(m)) => m,
                        _ => Info::new(),
                    };
                    sink.info(info, &text);
                }
                Output::State(state) => {
                    if !label.is_empty() {
                        match &state {
                            StateChange::Disconnected { code, reason } => {
                                eprintln!("relay: {label}: upstream closed {code} {reason}")
                            }
                            StateChange::Error { message, .. } => {
                                eprintln!("relay: {label}: {message}")
                            }
                            _ => {}
                        }
                    }
                    sink.state(&state);
                }
                Output::GiveUp(g) => {
                    if let Some((_, mut ws)) = socket.take() {
                        let _ =
                            tokio::time::timeout(Duration::from_millis(300), ws.close(None)).await;
                    }
                    let stats = session.stats();
                    return if stopping && g.kind == GiveUpKind::Stopped {
                        Ended::Stopped(stats)
                    } else {
                        Ended::GaveUp(g, stats)
                    };
                }
            }
        }
        if connecting
            .as_ref()
            .is_some_and(|(c, _)| session.current_conn() != Some(*c))
        {
            connecting = None;
        }
        let wake = session
            .poll_timeout()
            .map(at)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            opened = async {
                match connecting.as_mut() {
                    Some((_, f)) => f.await,
                    None => std::future::pending().await,
                }
            } => {
                let Some((conn, _)) = connecting.take() else { continue };
                match opened {
                    Ok((ws, info)) => {
                        socket = Some((conn, ws));
                        session.on_open(now(), conn);
                        if let Some(info) = info {
                            let raw = serde_json::Value::Object(info.clone()).to_string();
                            sink.info(info, &raw);
                        }
                    }
                    Err((code, reason)) => session.on_close(now(), conn, code, &reason),
                }
            }
            msg = async {
                match socket.as_mut() {
                    Some((_, ws)) => ws.next().await,
                    None => std::future::pending().await,
                }
            } => {
                let Some((conn, _)) = socket.as_ref() else { continue };
                let conn = *conn;
                match msg {
                    Some(Ok(Message::Binary(bytes))) => {
                        // Decoded on a blocking thread: a frame that is slow to decode
                        // (a hostile upstream) holds up this room only, never the
                        // runtime's workers (other rooms, viewers, /healthz).
                        if let Some(wanted) = sink.wanted_events() {
                            session.set_wanted_events(wanted);
                        }
                        let (t, frame) = (now(), bytes.clone());
                        let decoded = tokio::task::spawn_blocking(move || {
                            session.on_frame(t, conn, &frame);
                            session
                        })
                        .await;
                        session = match decoded {
                            Ok(s) => s,
                            // Only a panic in the decoder gets here; the room ends.
                            Err(_) => {
                                return Ended::GaveUp(decoder_failed(), SessionStats::default())
                            }
                        };
                        sink.frame(bytes, session.cursor());
                    }
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
            _ = tokio::time::sleep_until(wake.into()) => session.handle_timeout(now()),
            _ = &mut stop, if !stopping => {
                // The session closes the socket and its open gift streaks; the loop
                // delivers that and ends at its give-up.
                stopping = true;
                session.stop(now());
            }
        }
    }
}

/// How a session whose decoder failed (a panic on the blocking thread) gives up.
fn decoder_failed() -> GiveUp {
    GiveUp {
        kind: GiveUpKind::Terminal,
        close_code: Some(1011),
        attempts: 0,
        retry_after_ms: None,
    }
}

/// The session settings every relay upstream uses.
pub(crate) fn session_config(mode: Mode, room_id: u64, liveness_ms: u64) -> SessionConfig {
    SessionConfig {
        mode,
        room_id,
        liveness_timeout_ms: liveness_ms,
        reconnect: ReconnectPolicy {
            // Offline and ended are reported to viewers (4404, 4005), who decide to retry.
            stop_when_offline: true,
            max_attempts: Some(5),
            ..Default::default()
        },
        // Frames are forwarded whole; the session only needs to keep the protocol alive.
        gift_raw: false,
        seed: crate::relay::random_seed(),
        ..Default::default()
    }
}

/// A relay room's session: [`session_config`] with the SDK's event rules (`giftRaw`
/// too), since JSON viewers get its events as the SDK's listeners would.
fn room_session_config(mode: Mode, room_id: u64, liveness_ms: u64) -> SessionConfig {
    SessionConfig {
        gift_raw: SessionConfig::default().gift_raw,
        ..session_config(mode, room_id, liveness_ms)
    }
}

/// The close code viewers get when the upstream session gives up.
pub(crate) fn close_for(g: &GiveUp) -> (u16, String) {
    match g.kind {
        GiveUpKind::NotLive => (4404, "not live".into()),
        GiveUpKind::StreamEnded => (4005, "stream end".into()),
        _ => (4500, format!("upstream failed: {}", g.code())),
    }
}

// ------------------------------------------------------------------------------ relay glue

/// Feeds a room (and its recording, when recording).
struct RoomSink {
    hub: Arc<Hub>,
    room: Arc<Room>,
    recorder: Recorder,
    /// The room's JSON generation last applied to the session's filter.
    json_gen: Option<u64>,
}

impl Sink for RoomSink {
    fn info(&mut self, info: Info, raw: &str) {
        self.recorder.append(&self.hub, Kind::Text, raw.as_bytes());
        self.hub.set_info(&self.room, info);
    }

    fn frame(&mut self, bytes: Bytes, cursor: &str) {
        self.recorder.append(&self.hub, Kind::Frame, &bytes);
        self.hub.frame(&self.room, bytes, cursor);
    }

    fn events(&mut self, events: &[Event]) {
        for e in events {
            if let Event::RoomUser(r) = e {
                self.room.set_viewer_count(r.viewer_count.max(0) as u64);
            }
        }
        // The session totals a `live.end` webhook reports.
        self.room.observe(events);
        self.hub.events(&self.room, events);
    }

    fn wanted_events(&mut self) -> Option<Option<Vec<String>>> {
        self.hub.wanted_events(&self.room, &mut self.json_gen)
    }
}

/// Writes a room's recording, created at the first record; a write error stops
/// recording that room (logged once), never the relay.
pub(crate) struct Recorder {
    dir: Option<PathBuf>,
    unique_id: String,
    writer: Option<recording::Writer>,
    upstream: &'static str,
}

static RECORDING_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Recorder {
    pub(crate) fn new(dir: Option<PathBuf>, unique_id: &str, upstream: &'static str) -> Self {
        Recorder {
            dir,
            unique_id: unique_id.to_string(),
            writer: None,
            upstream,
        }
    }

    fn append(&mut self, hub: &Hub, kind: Kind, body: &[u8]) {
        let Some(dir) = &self.dir else { return };
        if self.writer.is_none() {
            let started = crate::mock::now_ms();
            let n = RECORDING_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = dir.join(recording::file_name(&self.unique_id, started, n));
            let meta = serde_json::json!({
                "uniqueId": self.unique_id,
                "startedAtMs": started,
                "upstream": self.upstream,
                "recorder": format!("tikcast {}", env!("CARGO_PKG_VERSION")),
            });
            match recording::Writer::create(&path, &meta) {
                Ok(w) => {
                    eprintln!(
                        "relay: room {}: recording to {}",
                        self.unique_id,
                        path.display()
                    );
                    add(&hub.metrics.recorded_bytes, w.bytes());
                    self.writer = Some(w);
                }
                Err(e) => {
                    eprintln!("relay: room {}: {e}; not recording it", self.unique_id);
                    self.dir = None;
                    return;
                }
            }
        }
        if let Some(w) = self.writer.as_mut() {
            let before = w.bytes();
            if let Err(e) = w.append(kind, body) {
                eprintln!("relay: room {}: {e}; recording stopped", self.unique_id);
                self.writer = None;
                self.dir = None;
                return;
            }
            add(&hub.metrics.recorded_bytes, w.bytes() - before);
        }
    }

    fn finish(&mut self) {
        if let Some(w) = self.writer.take() {
            let path = w.path().display().to_string();
            match w.finish() {
                Ok(bytes) => eprintln!(
                    "relay: room {}: recording {path} closed ({bytes} bytes)",
                    self.unique_id
                ),
                Err(e) => eprintln!("relay: room {}: {e}", self.unique_id),
            }
        }
    }
}

/// How a room's upstream begins: a session to drive over sockets, or already over.
enum Start {
    Drive(Dialer, Box<Session>),
    Done(Option<(u16, String)>),
}

/// Starts the upstream of a new room.
pub(crate) fn spawn(hub: Arc<Hub>, room: Arc<Room>) {
    tokio::spawn(async move {
        let settings = Arc::clone(&hub.settings);
        let kind = match &settings.upstream {
            UpstreamKind::Relay { .. } => "mock",
            UpstreamKind::Tiktok { .. } => "tiktok",
            UpstreamKind::Replay { .. } => "replay",
        };
        let mut sink = RoomSink {
            hub: Arc::clone(&hub),
            room: Arc::clone(&room),
            recorder: Recorder::new(settings.record_dir.clone(), &room.unique_id, kind),
            json_gen: None,
        };
        let label = format!("room {}", room.unique_id);
        let metrics = Arc::clone(&hub.metrics);
        let on_connect = move || add(&metrics.upstream_connects, 1);
        // Either a session to drive (one call below for every socket upstream) or an end.
        let start = match &settings.upstream {
            UpstreamKind::Relay { url, jwt_secret } => {
                let dialer = Dialer::Url {
                    url: url.clone(),
                    unique_id: Some(room.unique_id.clone()),
                    credential: match jwt_secret {
                        Some(secret) => Credential::Mint(secret.clone()),
                        None => Credential::None,
                    },
                    direct: false,
                    timeout: Duration::from_secs(10),
                };
                let session = Session::new(room_session_config(
                    Mode::Relay,
                    0,
                    settings.upstream_liveness_ms,
                ));
                eprintln!("relay: {label}: opening upstream (mock)");
                Start::Drive(dialer, Box::new(session))
            }
            UpstreamKind::Tiktok { signer } => {
                eprintln!(
                    "relay: {label}: asking the sign server for room {}",
                    room.unique_id
                );
                let first = tokio::select! {
                    r = signer.sign(&room.unique_id, None, "") => Some(r),
                    _ = room.stopped() => None,
                };
                match first {
                    None => Start::Done(None),
                    Some(Err((code, reason))) => {
                        eprintln!("relay: {label}: {reason}");
                        Start::Done(Some(if code == 4404 {
                            (4404, "not live".to_string())
                        } else {
                            (4500, "upstream failed: sign server".to_string())
                        }))
                    }
                    Some(Ok(signed)) => {
                        let room_id = signed.room_id;
                        let dialer = Dialer::Tiktok {
                            signer: signer.clone(),
                            unique_id: room.unique_id.clone(),
                            first: Some(signed),
                        };
                        let session = Session::new(room_session_config(
                            Mode::Direct,
                            room_id,
                            settings.upstream_liveness_ms,
                        ));
                        Start::Drive(dialer, Box::new(session))
                    }
                }
            }
            UpstreamKind::Replay {
                file,
                speed,
                looped,
            } => {
                add(&hub.metrics.upstream_connects, 1);
                Start::Done(replay(&mut sink, file, *speed, *looped, room.stopped()).await)
            }
        };
        let ended = match start {
            Start::Drive(mut dialer, session) => {
                let stop = room.stopped();
                match drive(*session, &mut dialer, &mut sink, stop, &on_connect, &label).await {
                    Ended::GaveUp(g, _) => Some(close_for(&g)),
                    Ended::Stopped(_) => None,
                }
            }
            Start::Done(ended) => ended,
        };
        sink.recorder.finish();
        if let Some((code, reason)) = ended {
            hub.end_room(&room, code, &reason);
        }
    });
}

/// Plays a recording into `sink` at `speed`; `Some(close)` when it is over.
///
/// Frames go through a relay-mode [`Session`] (one per pass, so a loop delivers its
/// events again) whose clock is the recording's own (`t_ms`): de-duplication, gift
/// streaks and their timeouts act as they did live, and every speed gives the same
/// events. The session decodes only what the sink wants (see `json.rs`).
pub(crate) async fn replay(
    sink: &mut dyn Sink,
    file: &std::path::Path,
    speed: f64,
    looped: bool,
    stop: impl Future<Output = ()>,
) -> Option<(u16, String)> {
    let rec = match recording::read(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("relay: {e}");
            return Some((4500, "upstream failed: recording unreadable".into()));
        }
    };
    if rec.torn_bytes > 0 {
        eprintln!(
            "relay: {}: skipping a torn tail of {} bytes ({})",
            file.display(),
            rec.torn_bytes,
            rec.torn_reason.unwrap_or("")
        );
    }
    tokio::pin!(stop);
    let records = Arc::new(rec.records);
    // What the sink last asked the session to decode (`None`: everything); a new pass's
    // session starts with it.
    let mut wanted: Option<Vec<String>> = None;
    loop {
        let start = tokio::time::Instant::now();
        let due = |t_ms: u64| start + Duration::from_secs_f64(t_ms as f64 / 1000.0 / speed);
        let mut player = Some(Box::new(Player::new()));
        if let Some(p) = player.as_mut() {
            p.session.set_wanted_events(wanted.clone());
        }
        let mut last_t = 0;
        for i in 0..records.len() {
            let Some(r) = records.get(i) else { break };
            last_t = r.t_ms;
            // Session timers (gift streaks) that fall before this record fire first.
            loop {
                let timer = player
                    .as_ref()
                    .and_then(|p| p.session.poll_timeout())
                    .filter(|&t| t <= r.t_ms);
                tokio::select! {
                    _ = tokio::time::sleep_until(due(timer.unwrap_or(r.t_ms))) => {}
                    _ = &mut stop => return None,
                }
                let (Some(t), Some(p)) = (timer, player.as_mut()) else {
                    break;
                };
                p.session.handle_timeout(t);
                p.deliver(sink);
                if p.session.poll_timeout() == Some(t) {
                    break;
                }
            }
            match r.kind {
                Kind::Text => {
                    let text = String::from_utf8_lossy(&r.body);
                    let info = match serde_json::from_str::<serde_json::Value>(&text) {
                        Ok(serde_json::Value::Object(m)) => m,
                        _ => Info::new(),
                    };
                    sink.info(info, &text);
                }
                Kind::Frame => {
                    let Some(mut p) = player.take() else { break };
                    if let Some(w) = sink.wanted_events() {
                        wanted = w;
                        p.session.set_wanted_events(wanted.clone());
                    }
                    // Off the runtime's workers, like live frames (see `drive`).
                    let (recs, t) = (Arc::clone(&records), r.t_ms);
                    let decoded = tokio::task::spawn_blocking(move || {
                        let before = p.session.cursor().to_string();
                        if let Some(r) = recs.get(i) {
                            p.session.on_frame(t, p.conn, &r.body);
                        }
                        // Ring entries need this frame's own cursor (none: not resumable).
                        let cursor = p.session.cursor();
                        let cursor = if cursor == before {
                            String::new()
                        } else {
                            cursor.to_string()
                        };
                        (p, cursor)
                    })
                    .await;
                    let Ok((p, cursor)) = decoded else {
                        // Only a panic in the decoder gets here; the room ends.
                        return Some((4500, "upstream failed: decoder".into()));
                    };
                    let p = player.insert(p);
                    sink.frame(Bytes::from(r.body.clone()), &cursor);
                    p.deliver(sink);
                }
            }
        }
        // The recording is over: close what is still open (gift streaks).
        if let Some(p) = player.as_mut() {
            p.session.stop(last_t);
            p.deliver(sink);
        }
        if !looped || records.is_empty() {
            return Some((4005, "stream end".into()));
        }
    }
}

/// A relay-mode session fed a recording's frames: its one socket is "open" from the start
/// and never times out (a recording's silences are real).
struct Player {
    session: Session,
    conn: ConnId,
}

impl Player {
    fn new() -> Player {
        let mut session = Session::new(SessionConfig {
            mode: Mode::Relay,
            liveness_timeout_ms: u64::MAX,
            seed: crate::relay::random_seed(),
            ..Default::default()
        });
        session.start(0);
        let conn = session
            .poll_outputs()
            .into_iter()
            .find_map(|o| match o {
                Output::Connect { conn, .. } => Some(conn),
                _ => None,
            })
            .unwrap_or(ConnId(1));
        session.on_open(0, conn);
        let _ = session.poll_outputs();
        Player { session, conn }
    }

    /// Hands the session's events to `sink` (nothing else it says matters here).
    fn deliver(&mut self, sink: &mut dyn Sink) {
        while let Some(output) = self.session.poll_output() {
            if let Output::Events(events) = output {
                sink.events(&events);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_replaced_and_encoded() {
        assert_eq!(
            with_query("ws://h/ws?cursor=old&x=1", &[("cursor", "a b".into())]),
            "ws://h/ws?x=1&cursor=a%20b"
        );
        assert_eq!(with_query("ws://h/ws", &[]), "ws://h/ws");
    }

    #[test]
    fn sign_answers() {
        let v = serde_json::json!({
            "signedUrl": "wss://x/webcast/im/ws?room_id=42&a=b",
            "cookies": "ttwid=1",
            "roomInfo": {"title": "t"}
        });
        let s = parse_signed(&v, "ada").unwrap();
        assert_eq!(s.room_id, 42);
        assert_eq!(s.info["title"], "t");
        assert_eq!(s.cookies.as_deref(), Some("ttwid=1"));
        assert_eq!(
            parse_signed(&serde_json::json!({"isLive": false}), "a")
                .err()
                .unwrap()
                .0,
            4404
        );
        assert!(parse_signed(&serde_json::json!({"signedUrl": "https://x"}), "a").is_err());
    }
}
