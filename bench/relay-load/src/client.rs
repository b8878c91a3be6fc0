//! The WebSocket clients: each records (log id, receive time) for every binary frame, or
//! in JSON mode (`format=json`) which messages its events belonged to (see [`JsonSeen`]).
//! What a frame carries (the mock's `now_ms`, its message count and cursor) is the same
//! for every client, so it is decoded once per distinct frame, by whichever client sees it
//! first, into a shared table; clients otherwise only parse the outer push frame. This
//! keeps the benchmark's own CPU use small on a machine it shares with the relay.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use prost::Message as _;
use tikcast_core::{pb, DecodeOptions};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::sys::wall_us;

/// What one mock frame carries.
#[derive(Debug, Clone, Copy)]
pub struct FrameInfo {
    /// The mock's wall clock (ms since the epoch) when it built the frame.
    pub now_ms: i64,
    /// Messages in the frame.
    pub messages: u32,
    /// Index of the message after the frame (the mock's cursor `mock-N`).
    pub cursor: Option<u64>,
    /// Smallest msg id in the frame (the mock numbers messages consecutively).
    pub first_msg_id: u64,
    /// The room (index) whose client saw it first: every room has its own upstream
    /// connection, so a frame (log id) belongs to one room.
    pub room: u8,
}

/// State shared by the clients of one phase.
#[derive(Default)]
pub struct Shared {
    frames: Mutex<HashMap<u64, FrameInfo>>,
    /// Clients that received their `roomInfo` text.
    pub ready: AtomicUsize,
    /// Clients whose socket failed or ended before the benchmark stopped it.
    pub gone: AtomicUsize,
}

impl Shared {
    /// Records the frame `log_id` the first time any client sees it; false when it does
    /// not decode.
    fn note(&self, log_id: u64, bytes: &[u8], room: u8) -> bool {
        let mut frames = self.frames.lock().unwrap_or_else(|p| p.into_inner());
        if frames.contains_key(&log_id) {
            return true;
        }
        let mut messages = 0u32;
        let mut first_msg_id = u64::MAX;
        let count = |env: tikcast_core::EnvelopeInfo, _: &str| {
            messages += 1;
            first_msg_id = first_msg_id.min(env.msg_id);
            false
        };
        match tikcast_core::decode_frame_filtered(bytes, &DecodeOptions::default(), count) {
            Ok(d) => {
                let cursor = d.cursor.strip_prefix("mock-").and_then(|n| n.parse().ok());
                frames.insert(
                    log_id,
                    FrameInfo {
                        now_ms: d.now_ms,
                        messages,
                        cursor,
                        first_msg_id,
                        room,
                    },
                );
                true
            }
            Err(_) => false,
        }
    }

    /// Every distinct frame seen, by log id.
    pub fn frames(&self) -> HashMap<u64, FrameInfo> {
        self.frames
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What one client saw.
#[derive(Debug, Default)]
pub struct ClientResult {
    pub connect_error: Option<String>,
    pub got_info: bool,
    /// (log id, receive time in µs since the epoch), in arrival order.
    pub received: Vec<(u64, i64)>,
    /// The close code, when the server closed the socket.
    pub close_code: Option<u16>,
    /// Why the socket ended before the benchmark stopped it.
    pub ended: Option<String>,
    pub undecodable: u64,
    /// The room (index) it watched.
    pub room: u8,
    /// JSON mode: what the events carried.
    pub json: JsonSeen,
}

/// What a JSON-mode client saw, kept small: 500 clients at thousands of events per second
/// cannot afford a record per event. The mock numbers messages consecutively and the relay
/// delivers them in order, so the msg ids received form a few runs; derived events (a
/// `follow` after its `social`, a `giftRaw` before its `gift`) repeat the msg id before.
#[derive(Debug, Default)]
pub struct JsonSeen {
    /// Runs of consecutive msg ids, `[start, end)`.
    pub runs: Vec<(u64, u64)>,
    /// (msg id, receive time in µs since the epoch) of about one message per frame.
    pub samples: Vec<(u64, i64)>,
    /// Events in all.
    pub events: u64,
    /// Events without a readable msg id.
    pub unreadable: u64,
    next_sample: u64,
}

impl JsonSeen {
    fn note(&mut self, text: &str, at: i64, sample_every: u64) {
        self.events += 1;
        let Some(id) = msg_id(text) else {
            self.unreadable += 1;
            return;
        };
        match self.runs.last_mut() {
            Some((_, end)) if id + 1 == *end => return,
            Some((_, end)) if id == *end => *end += 1,
            _ => self.runs.push((id, id + 1)),
        }
        if id >= self.next_sample {
            self.samples.push((id, at));
            self.next_sample = id + sample_every;
        }
    }
}

/// The event's own msg id, read without parsing the whole message: the canonical JSON
/// puts the meta first, and no event nests another `msgId`.
fn msg_id(text: &str) -> Option<u64> {
    const KEY: &str = "\"msgId\":\"";
    let at = text.find(KEY)? + KEY.len();
    let rest = text.get(at..)?;
    let end = rest.find('"')?;
    rest.get(..end)?.parse().ok()
}

/// Connects after `delay`, then reads until `stop` turns true or the socket ends.
pub async fn run(
    url: String,
    delay: Duration,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    json_sample_every: u64,
    room: u8,
) -> ClientResult {
    let mut r = ClientResult {
        room,
        ..Default::default()
    };
    tokio::time::sleep(delay).await;
    let connected = tokio::select! {
        _ = stop.changed() => return r,
        c = tokio_tungstenite::connect_async(url) => c,
    };
    let mut ws = match connected {
        Ok((ws, _)) => ws,
        Err(e) => {
            r.connect_error = Some(e.to_string());
            shared.gone.fetch_add(1, Ordering::SeqCst);
            return r;
        }
    };
    loop {
        let msg = tokio::select! {
            biased;
            _ = stop.changed() => break,
            m = ws.next() => m,
        };
        match msg {
            Some(Ok(Message::Binary(b))) => {
                let at = wall_us();
                match pb::PushFrame::decode(b.as_ref()) {
                    Ok(f) if shared.note(f.log_id, &b, room) => r.received.push((f.log_id, at)),
                    _ => r.undecodable += 1,
                }
            }
            Some(Ok(Message::Text(text))) => {
                if !r.got_info {
                    r.got_info = true;
                    shared.ready.fetch_add(1, Ordering::SeqCst);
                } else {
                    r.json.note(text.as_str(), wall_us(), json_sample_every);
                }
            }
            Some(Ok(Message::Close(frame))) => {
                r.close_code = Some(frame.map_or(1005, |f| u16::from(f.code)));
                r.ended = Some("closed by the relay".into());
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                r.ended = Some(e.to_string());
                break;
            }
            None => {
                r.ended = Some("connection ended".into());
                break;
            }
        }
    }
    if r.ended.is_some() {
        shared.gone.fetch_add(1, Ordering::SeqCst);
    }
    let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
    r
}
