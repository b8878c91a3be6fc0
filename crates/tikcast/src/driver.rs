//! The native session driver shared by `tikcast relay` (its socket upstreams), `tikcast
//! watch` and `tikcast record`: [`drive`] runs a core [`Session`] over real sockets that a
//! [`Dialer`] opens (a socket named by URL, with an optional credential, or TikTok's push
//! socket through a sign service, `relay/sign.rs`) and hands what it produces to a
//! [`Sink`]. Frames are decoded on tokio's blocking pool, and only as far as the sink
//! asks ([`Sink::wanted_events`]).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tikcast_core::session::{
    GiveUp, GiveUpKind, Mode, Output, ReconnectPolicy, SessionConfig, SessionStats,
};
use tikcast_core::{ConnId, Session, StateChange};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::event_text::{self, EventText};
use crate::relay::sign::{Signed, Signer, DEFAULT_UA};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub(crate) type Info = serde_json::Map<String, serde_json::Value>;

/// Receives what an upstream produces.
pub(crate) trait Sink: Send {
    /// The room description (a relay's `roomInfo` text, or the sign server's `roomInfo`).
    fn info(&mut self, info: Info, raw: &str);
    /// One frame, unchanged, and the stream position after it.
    fn frame(&mut self, bytes: Bytes, cursor: &str);
    /// Events of one batch, as canonical JSON text (`event_text.rs`).
    fn events(&mut self, _events: &[EventText]) {}
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
    // Outputs of the last frame, taken on the blocking thread that decoded it.
    let mut taken: VecDeque<Taken> = VecDeque::new();
    loop {
        while let Some(next) = taken
            .pop_front()
            .or_else(|| session.poll_output().map(Taken::Output))
        {
            let output = match next {
                Taken::Events(events) => {
                    sink.events(&events);
                    continue;
                }
                Taken::Output(output) => output,
            };
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
                Output::Events(batch) => match event_text::write(&batch) {
                    Ok(events) => sink.events(&events),
                    Err(e) => sink.state(&StateChange::frame_dropped(&e)),
                },
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
                            let taken = take_outputs(&mut session);
                            (session, taken)
                        })
                        .await;
                        session = match decoded {
                            Ok((s, t)) => {
                                taken.extend(t);
                                s
                            }
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
/// An output of the session, with its events already written (see [`take_outputs`]).
pub(crate) enum Taken {
    Output(Output),
    Events(Vec<EventText>),
}

/// The session's pending outputs, its event batches written as JSON text: run on the
/// blocking thread that fed it a frame, so the slow part never runs on the runtime. A
/// batch over the output budget becomes an error state, as in the browser.
pub(crate) fn take_outputs(session: &mut Session) -> Vec<Taken> {
    session
        .poll_outputs()
        .into_iter()
        .map(|o| match o {
            Output::Events(b) => match event_text::write(&b) {
                Ok(events) => Taken::Events(events),
                Err(e) => Taken::Output(Output::State(StateChange::frame_dropped(&e))),
            },
            o => Taken::Output(o),
        })
        .collect()
}

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
}
