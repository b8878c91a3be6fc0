//! One WebSocket connection of the mock: the TikTok-style direct endpoint (enter-room,
//! heartbeats and acks enforced) and the relay-style endpoint (JWT, `roomInfo` text,
//! then push frames). Both feed the same global message list through a [`Feeder`].

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use tikcast_core::pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::jwt;
use super::state::{draw, draw_unit, AfterFrame, Shared, Stream};
use super::{now_ms, GzipMode, Query};
use crate::frames::{self, Compression};

pub(crate) type Ws = WebSocketStream<TcpStream>;

/// Close reason for heartbeat violations, as TikTok sends it (protocol §6.4).
pub(crate) const REASON_HB: &str = "payload_handler_hb";
/// Close reason for ack violations. Our assumption, by analogy with `payload_handler_hb`:
/// TikTok's ack enforcement is undocumented (a 2022 report says unacked sockets were
/// closed after about three minutes, protocol §6.2).
pub(crate) const REASON_ACK: &str = "payload_handler_ack";
/// Close reason for an enter-room frame that does not decode or names another room (ours).
pub(crate) const REASON_ENTER: &str = "payload_handler_enter_room";
/// Close reason for a binary message that is not a push frame (ours).
pub(crate) const REASON_BAD_FRAME: &str = "invalid_frame";

/// How long to wait for the client's half of a closing handshake, or for its FIN after
/// we dropped the connection, before letting go of the socket.
const LINGER: Duration = Duration::from_secs(2);

/// The short lowercase reason sent with close code `code`: Euler's names for the relay
/// codes (protocol §8.1), the web player's for 4001/4003 (§6.4), "mock close" otherwise.
pub(crate) fn reason_for(code: u16) -> &'static str {
    match code {
        1000 => "normal closure",
        1001 => "going away",
        1011 => "internal server error",
        4001 => "server disconnect",
        4003 => "server error",
        4005 => "stream end",
        4006 => "no messages timeout",
        4400 => "invalid options",
        4401 => "invalid auth",
        4403 => "no permission",
        4404 => "not live",
        4429 => "too many connections",
        4500 => "tiktok closed connection",
        4555 => "max lifetime exceeded",
        4556 => "webcast fetch error",
        4557 => "room info fetch error",
        _ => "mock close",
    }
}

/// The cursor a frame carries: the index of the next message that connection would send.
pub(crate) fn cursor(next: usize) -> String {
    format!("mock-{next}")
}

/// Reads a cursor back; `None` when it is not one of ours or points past the end.
pub(crate) fn parse_cursor(text: &str, messages: usize) -> Option<usize> {
    let digits = text.strip_prefix("mock-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<usize>().ok().filter(|&n| n <= messages)
}

/// A short, printable rendering of client-supplied text for the log.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(32).collect();
    if cut.len() < text.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

/// A message frame ready to write, and what it carries.
struct OutFrame {
    bytes: Vec<u8>,
    log_id: u64,
    internal_ext: String,
    /// Indexes sent for the first time on this connection.
    fresh: Vec<usize>,
    /// How many envelopes are `--duplicate-rate` resends.
    dups: usize,
}

/// Walks the global message list for one connection: batching, cursors, duplicates,
/// compression, sequence and log ids.
pub(crate) struct Feeder {
    shared: Arc<Shared>,
    conn_id: u64,
    need_ack: bool,
    next: usize,
    pending_dups: VecDeque<usize>,
    seq: u64,
    sent_first: bool,
}

impl Feeder {
    pub(crate) fn new(shared: Arc<Shared>, conn_id: u64, need_ack: bool, start: usize) -> Self {
        Feeder {
            shared,
            conn_id,
            need_ack,
            next: start,
            pending_dups: VecDeque::new(),
            seq: 0,
            sent_first: false,
        }
    }

    /// Messages (new ones or owed duplicates) remain for this connection.
    pub(crate) fn has_more(&self) -> bool {
        self.next < self.shared.messages.len() || !self.pending_dups.is_empty()
    }

    fn internal_ext(&self) -> String {
        format!(
            "internal_src:mock|wss_push_room_id:{}|next:{}|conn:{}",
            self.shared.cfg.room_id, self.next, self.conn_id
        )
    }

    fn batch_fields(&self) -> pb::FetchResult {
        pb::FetchResult {
            cursor: cursor(self.next),
            internal_ext: self.internal_ext(),
            fetch_interval_ms: 1000,
            now_ms: now_ms(),
            heartbeat_duration: 10_000,
            fetch_type: 1,
            ..Default::default()
        }
    }

    /// How this frame is compressed: `--gzip`, per frame for `mixed` (a seeded choice).
    fn compression(&self, log_id: u64) -> Compression {
        match self.shared.cfg.gzip {
            GzipMode::On => Compression::Gzip,
            GzipMode::Off => Compression::Plain,
            GzipMode::Mixed => match draw(self.shared.cfg.seed, Stream::Gzip, log_id) % 3 {
                0 => Compression::Gzip,
                1 => Compression::GzipUnannounced,
                _ => Compression::Plain,
            },
        }
    }

    /// The server's own `hb` frame, sent in answer to each client heartbeat.
    fn heartbeat_reply(&mut self) -> Vec<u8> {
        self.seq += 1;
        frames::heartbeat_reply(self.seq)
    }

    /// The `im_enter_room_resp` frame: a message-less fetch result with the position.
    fn enter_room_resp(&mut self) -> Vec<u8> {
        let log_id = self.shared.next_log_id();
        self.seq += 1;
        frames::enter_room_resp(self.seq, log_id, &self.batch_fields())
    }

    /// The next message frame: owed duplicates first, then new messages, `--batch` in all.
    fn msg_frame(&mut self) -> OutFrame {
        let cfg = &self.shared.cfg;
        let (batch, rate, seed) = (cfg.batch, cfg.duplicate_rate, cfg.seed);
        let total = self.shared.messages.len();
        let mut indexes = Vec::with_capacity(batch);
        let mut dups = 0;
        while indexes.len() < batch {
            let Some(i) = self.pending_dups.pop_front() else {
                break;
            };
            indexes.push(i);
            dups += 1;
        }
        let mut fresh = Vec::new();
        while indexes.len() < batch && self.next < total {
            let i = self.next;
            self.next += 1;
            indexes.push(i);
            fresh.push(i);
            if rate > 0.0 && draw_unit(seed, Stream::Duplicate, i as u64) < rate {
                self.pending_dups.push_back(i);
            }
        }
        let mut fields = self.batch_fields();
        fields.need_ack = self.need_ack;
        fields.is_first = !self.sent_first;
        self.sent_first = true;
        let internal_ext = fields.internal_ext.clone();
        let messages = &self.shared.messages;
        let batch = frames::batch(
            indexes.iter().map(|&i| messages[i].encoded.as_slice()),
            &fields,
        );
        let log_id = self.shared.next_log_id();
        self.seq += 1;
        let bytes = frames::msg_frame(self.seq, log_id, batch, self.compression(log_id));
        OutFrame {
            bytes,
            log_id,
            internal_ext,
            fresh,
            dups,
        }
    }
}

fn now_secs() -> i64 {
    now_ms() / 1000
}

/// Sends a close frame, waits briefly for the client's reply, counts and logs it.
async fn close(mut ws: Ws, shared: &Shared, conn_id: u64, code: u16, reason: &str) {
    shared.count_close(code);
    eprintln!("mock: conn {conn_id}: closing with {code} \"{reason}\"");
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    if ws.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = timeout(LINGER, async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

/// `--drop-after`: end the TCP connection without a close frame (the client sees 1006).
/// We send FIN rather than RST so the frame just written still arrives, and read until
/// the client's FIN so unread client bytes do not turn our close into a reset.
async fn drop_connection(ws: Ws, shared: &Shared, conn_id: u64) {
    shared.count_drop();
    eprintln!("mock: conn {conn_id}: dropping the connection (drop-after)");
    let mut tcp = ws.into_inner();
    let _ = tcp.shutdown().await;
    let _ = timeout(LINGER, async {
        let mut sink = [0u8; 4096];
        while let Ok(n) = tcp.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Sends one message frame; `Err` when the client is gone. Updates pacing.
async fn send_msg_frame(
    ws: &mut Ws,
    feeder: &mut Feeder,
    next_send: &mut Instant,
) -> Result<(OutFrame, AfterFrame), ()> {
    let mut frame = feeder.msg_frame();
    ws.send(Message::Binary(std::mem::take(&mut frame.bytes).into()))
        .await
        .map_err(|_| ())?;
    let after = feeder.shared.commit_frame(&frame.fresh, frame.dups);
    let count = (frame.fresh.len() + frame.dups) as f64;
    // At most 100 s per message at --rate 0.01, times --batch: always representable.
    let pace = Duration::try_from_secs_f64(count * feeder.shared.cfg.seconds_per_message)
        .unwrap_or(Duration::ZERO);
    let now = Instant::now();
    *next_send += pace;
    if *next_send < now {
        *next_send = now;
    }
    Ok((frame, after))
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}

// ------------------------------------------------------------------------------ direct

/// State of one direct (TikTok-style) connection.
struct Direct {
    shared: Arc<Shared>,
    conn_id: u64,
    query_cursor: Option<String>,
    feeder: Option<Feeder>,
    /// Sequence number of the last valid heartbeat (0 = none since entering).
    hb_seq: u64,
    hb_deadline: Instant,
    /// Unacked message frames: log id → (internal_ext, sent at). Log ids grow, so the
    /// first entry is the oldest.
    unacked: BTreeMap<u64, (String, Instant)>,
}

impl Direct {
    /// Handles one binary message from the client; `Err(reason)` closes with 1000.
    /// Returns frames to send back (the enter-room response).
    fn on_frame(&mut self, bytes: &[u8]) -> Result<Option<Vec<u8>>, &'static str> {
        let frame = pb::PushFrame::decode(bytes).map_err(|_| REASON_BAD_FRAME)?;
        let cfg = &self.shared.cfg;
        match frame.payload_type.as_str() {
            "im_enter_room" => {
                let enter = pb::EnterRoomPayload::decode(frame.payload.as_slice())
                    .map_err(|_| REASON_ENTER)?;
                if enter.room_id != cfg.room_id {
                    eprintln!(
                        "mock: conn {}: enter-room for room {} (serving {})",
                        self.conn_id, enter.room_id, cfg.room_id
                    );
                    return Err(REASON_ENTER);
                }
                let total = self.shared.messages.len();
                let again = self.feeder.is_some();
                let (start, from) = if !enter.cursor.is_empty() {
                    match parse_cursor(&enter.cursor, total) {
                        Some(p) => (p, "enter-room cursor"),
                        None => {
                            eprintln!(
                                "mock: conn {}: unparseable enter-room cursor {}, starting at 0",
                                self.conn_id,
                                shown(&enter.cursor)
                            );
                            (0, "start, bad enter-room cursor")
                        }
                    }
                } else if let Some(f) = &self.feeder {
                    // Re-entering without a cursor keeps the connection's position.
                    (f.next, "position kept")
                } else if let Some(q) = self.query_cursor.as_deref() {
                    match parse_cursor(q, total) {
                        Some(p) => (p, "query cursor"),
                        None => {
                            eprintln!(
                                "mock: conn {}: unparseable cursor query parameter {}, starting at 0",
                                self.conn_id,
                                shown(q)
                            );
                            (0, "start, bad query cursor")
                        }
                    }
                } else {
                    (0, "fresh")
                };
                if !again && start > 0 {
                    self.shared.count_resume();
                }
                eprintln!(
                    "mock: conn {}: {} room, sending from message {start} of {total} ({from})",
                    self.conn_id,
                    if again { "re-entered" } else { "entered" }
                );
                // Re-entering keeps the frame numbering and unacked frames, moves to the
                // new position and restarts heartbeats at seq 1.
                let mut feeder = match self.feeder.take() {
                    Some(mut f) => {
                        if f.next != start {
                            f.next = start;
                            f.pending_dups.clear();
                        }
                        f
                    }
                    None => Feeder::new(Arc::clone(&self.shared), self.conn_id, true, start),
                };
                let resp = feeder.enter_room_resp();
                self.feeder = Some(feeder);
                self.hb_seq = 0;
                self.hb_deadline = Instant::now() + cfg.hb_timeout;
                Ok(Some(resp))
            }
            "hb" => {
                if self.feeder.is_none() {
                    return Err(REASON_HB);
                }
                let hb = pb::HeartbeatPayload::decode(frame.payload.as_slice())
                    .map_err(|_| REASON_HB)?;
                if hb.room_id != cfg.room_id || hb.send_packet_seq_id != self.hb_seq + 1 {
                    eprintln!(
                        "mock: conn {}: bad heartbeat (room {}, seq {}, expected seq {})",
                        self.conn_id,
                        hb.room_id,
                        hb.send_packet_seq_id,
                        self.hb_seq + 1
                    );
                    return Err(REASON_HB);
                }
                self.hb_seq += 1;
                self.hb_deadline = Instant::now() + cfg.hb_timeout;
                self.shared.count_heartbeat();
                Ok(self.feeder.as_mut().map(Feeder::heartbeat_reply))
            }
            "ack" => match self.unacked.remove(&frame.log_id) {
                Some((ext, _)) if ext.as_bytes() == frame.payload.as_slice() => {
                    self.shared.count_ack();
                    Ok(None)
                }
                Some(_) => {
                    eprintln!(
                        "mock: conn {}: ack for log id {} carries the wrong internal_ext",
                        self.conn_id, frame.log_id
                    );
                    Err(REASON_ACK)
                }
                None => {
                    eprintln!(
                        "mock: conn {}: ack for unknown log id {}",
                        self.conn_id, frame.log_id
                    );
                    Err(REASON_ACK)
                }
            },
            // Anything else (including server-style types echoed back) is ignored.
            _ => Ok(None),
        }
    }
}

/// Serves `/webcast/im/...`. Ends when the client goes away, on a violation (close
/// 1000), on a `--drop-after` drop, or after the last message with `--close-code`.
pub(crate) async fn serve_direct(
    mut ws: Ws,
    shared: Arc<Shared>,
    conn_id: u64,
    peer: SocketAddr,
    query: Query,
) {
    eprintln!("mock: conn {conn_id}: direct socket from {peer}");
    let cfg = shared.cfg.clone();
    let mut conn = Direct {
        shared: Arc::clone(&shared),
        conn_id,
        query_cursor: query
            .get("cursor")
            .filter(|c| !c.is_empty())
            .map(String::from),
        feeder: None,
        hb_seq: 0,
        // The client must enter and start heartbeats within the timeout.
        hb_deadline: Instant::now() + cfg.hb_timeout,
        unacked: BTreeMap::new(),
    };
    let mut next_send = Instant::now();
    let mut stalled = false;
    loop {
        let entered = conn.feeder.is_some();
        let more = conn.feeder.as_ref().is_some_and(Feeder::has_more);
        if entered && !more && !stalled {
            if let Some(code) = cfg.close_code {
                close(ws, &shared, conn_id, code, reason_for(code)).await;
                return;
            }
        }
        let sending = more && !stalled;
        let ack_deadline = conn
            .unacked
            .values()
            .next()
            .map(|(_, at)| *at + cfg.ack_timeout);
        let enforce = !stalled;
        tokio::select! {
            msg = ws.next() => match msg {
                None | Some(Err(_)) => {
                    eprintln!("mock: conn {conn_id}: client went away");
                    return;
                }
                Some(Ok(Message::Binary(bytes))) if !stalled => match conn.on_frame(&bytes) {
                    Ok(Some(resp)) => {
                        if ws.send(Message::Binary(resp.into())).await.is_err() {
                            return;
                        }
                        next_send = Instant::now();
                    }
                    Ok(None) => {}
                    Err(reason) => {
                        close(ws, &shared, conn_id, 1000, reason).await;
                        return;
                    }
                },
                // Text, pings, pongs, and everything during a stall are ignored; a close
                // frame is answered by tungstenite and the next read ends the loop.
                Some(Ok(_)) => {}
            },
            _ = sleep_until(next_send), if sending => {
                let Some(feeder) = conn.feeder.as_mut() else { continue };
                let Ok((frame, after)) = send_msg_frame(&mut ws, feeder, &mut next_send).await else {
                    eprintln!("mock: conn {conn_id}: client went away");
                    return;
                };
                conn.unacked.insert(frame.log_id, (frame.internal_ext, Instant::now()));
                match after {
                    AfterFrame::Continue => {}
                    AfterFrame::Drop => {
                        drop_connection(ws, &shared, conn_id).await;
                        return;
                    }
                    AfterFrame::Stall => {
                        eprintln!("mock: conn {conn_id}: stalling (stall-after): silent from now on");
                        stalled = true;
                    }
                }
            },
            _ = sleep_until(conn.hb_deadline), if enforce => {
                eprintln!("mock: conn {conn_id}: no valid heartbeat in time");
                close(ws, &shared, conn_id, 1000, REASON_HB).await;
                return;
            },
            _ = sleep_until(ack_deadline.unwrap_or_else(far_future)), if enforce && ack_deadline.is_some() => {
                eprintln!("mock: conn {conn_id}: a frame stayed unacked too long");
                close(ws, &shared, conn_id, 1000, REASON_ACK).await;
                return;
            },
        }
    }
}

// ------------------------------------------------------------------------------ relay

/// Serves `/ws` (relay-style, like Euler's socket): auth, one `roomInfo` text message,
/// then push frames without acks. The client is expected to send nothing.
pub(crate) async fn serve_relay(
    mut ws: Ws,
    shared: Arc<Shared>,
    conn_id: u64,
    peer: SocketAddr,
    query: Query,
) {
    eprintln!("mock: conn {conn_id}: relay socket from {peer}");
    let cfg = shared.cfg.clone();
    let mut claims = None;
    if let Some(secret) = &cfg.jwt_secret {
        match jwt::verify(query.get("jwtKey").unwrap_or(""), secret, now_secs()) {
            Ok(c) => claims = Some(c),
            Err(e) => {
                eprintln!("mock: conn {conn_id}: refused: {e}");
                close(ws, &shared, conn_id, 4401, reason_for(4401)).await;
                return;
            }
        }
    }
    let requested = query
        .get("uniqueId")
        .or_else(|| query.get("unique_id"))
        .map(jwt::normalize_handle)
        .unwrap_or_default();
    if requested.is_empty() {
        eprintln!("mock: conn {conn_id}: refused: no uniqueId query parameter");
        close(ws, &shared, conn_id, 4400, reason_for(4400)).await;
        return;
    }
    if claims.as_ref().is_some_and(|c| !c.allows(&requested)) {
        eprintln!("mock: conn {conn_id}: refused: token does not allow {requested:?}");
        close(ws, &shared, conn_id, 4403, reason_for(4403)).await;
        return;
    }
    if cfg.offline.contains(&requested) || cfg.missing.contains(&requested) {
        eprintln!("mock: conn {conn_id}: {requested:?} is not live (--offline or --missing)");
        close(ws, &shared, conn_id, 4404, reason_for(4404)).await;
        return;
    }
    let total = shared.messages.len();
    let start = match query.get("cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => parse_cursor(c, total).unwrap_or_else(|| {
            eprintln!(
                "mock: conn {conn_id}: unparseable cursor query parameter {}, starting at 0",
                shown(c)
            );
            0
        }),
    };
    if start > 0 {
        shared.count_resume();
    }
    eprintln!(
        "mock: conn {conn_id}: watching {requested:?}, sending from message {start} of {total}"
    );
    let mut feeder = Feeder::new(Arc::clone(&shared), conn_id, false, start);
    if !feeder.has_more() {
        if let Some(code) = cfg.close_code {
            close(ws, &shared, conn_id, code, reason_for(code)).await;
            return;
        }
    }
    let info = serde_json::json!({
        "type": "roomInfo",
        "roomId": cfg.room_id.to_string(),
        "uniqueId": requested,
        "isLive": true,
        "title": "tikcast mock room",
        "startedAt": cfg.started_ms,
    });
    if ws.send(Message::text(info.to_string())).await.is_err() {
        return;
    }
    let mut next_send = Instant::now();
    let mut stalled = false;
    loop {
        if !feeder.has_more() && !stalled {
            if let Some(code) = cfg.close_code {
                close(ws, &shared, conn_id, code, reason_for(code)).await;
                return;
            }
        }
        let sending = feeder.has_more() && !stalled;
        tokio::select! {
            msg = ws.next() => match msg {
                None | Some(Err(_)) => {
                    eprintln!("mock: conn {conn_id}: client went away");
                    return;
                }
                Some(Ok(_)) => {}
            },
            _ = sleep_until(next_send), if sending => {
                let Ok((_, after)) = send_msg_frame(&mut ws, &mut feeder, &mut next_send).await else {
                    eprintln!("mock: conn {conn_id}: client went away");
                    return;
                };
                match after {
                    AfterFrame::Continue => {}
                    AfterFrame::Drop => {
                        drop_connection(ws, &shared, conn_id).await;
                        return;
                    }
                    AfterFrame::Stall => {
                        eprintln!("mock: conn {conn_id}: stalling (stall-after): silent from now on");
                        stalled = true;
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        assert_eq!(parse_cursor(&cursor(7), 10), Some(7));
        assert_eq!(parse_cursor("mock-10", 10), Some(10));
        assert_eq!(parse_cursor("mock-11", 10), None);
        assert_eq!(parse_cursor("mock-", 10), None);
        assert_eq!(parse_cursor("mock-+1", 10), None);
        assert_eq!(parse_cursor("t-1708916331844_r-1", 10), None);
        assert_eq!(parse_cursor("mock-99999999999999999999999", 10), None);
    }
}
