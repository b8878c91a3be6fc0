//! Frames the client sends: enter-room, heartbeat and ack (docs: protocol §6).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use prost::Message;

use crate::pb;

fn frame(payload_type: &str, log_id: u64, payload: Vec<u8>) -> Vec<u8> {
    pb::PushFrame {
        log_id,
        payload_encoding: "pb".to_string(),
        payload_type: payload_type.to_string(),
        payload,
        ..Default::default()
    }
    .encode_to_vec()
}

/// A heartbeat (`hb`) frame for `room_id`; `seq` is 1 for the first heartbeat after
/// entering a room and grows by one each time.
pub fn heartbeat_frame(room_id: u64, seq: u64) -> Vec<u8> {
    frame(
        "hb",
        0,
        pb::HeartbeatPayload {
            room_id,
            send_packet_seq_id: seq,
        }
        .encode_to_vec(),
    )
}

/// An acknowledgement of the frame with `log_id`, carrying that batch's `internal_ext`.
pub fn ack_frame(log_id: u64, internal_ext: &str) -> Vec<u8> {
    frame("ack", log_id, internal_ext.as_bytes().to_vec())
}

/// What the client says when it enters a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterRoom {
    pub room_id: u64,
    /// A random positive id the server echoes back, so replies cannot bleed across rooms.
    pub enter_unique_id: u64,
    /// Resume position, when known.
    pub cursor: String,
}

/// An `im_enter_room` frame, sent once right after the socket opens.
pub fn enter_room_frame(enter: &EnterRoom) -> Vec<u8> {
    let payload = pb::EnterRoomPayload {
        room_id: enter.room_id,
        live_id: 12,
        identity: "audience".to_string(),
        cursor: enter.cursor.clone(),
        enter_unique_id: enter.enter_unique_id,
        filter_welcome_msg: "0".to_string(),
        ..Default::default()
    };
    frame("im_enter_room", 0, payload.encode_to_vec())
}

/// `url` with each of `params` set: an existing key of the same name is replaced, values
/// are percent-encoded (RFC 3986 unreserved characters stay). Drivers build every
/// connect attempt's URL with this, so the newest cursor and a fresh credential replace
/// the previous ones.
///
/// ```
/// let url = tikcast_core::client::with_query("wss://r.example/ws?cursor=old&x=1", &[("cursor", "c 2"), ("jwtKey", "a+b")]);
/// assert_eq!(url, "wss://r.example/ws?x=1&cursor=c%202&jwtKey=a%2Bb");
/// ```
pub fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut out = String::from(base);
    let mut sep = '?';
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        if params.iter().any(|(k, _)| *k == key) {
            continue;
        }
        out.push(sep);
        out.push_str(pair);
        sep = '&';
    }
    for (k, v) in params {
        out.push(sep);
        out.push_str(k);
        out.push('=');
        percent_encode_into(v, &mut out);
        sep = '&';
    }
    out
}

/// Appends `value` percent-encoded for a URL query value or path segment (RFC 3986
/// unreserved characters stay as they are).
///
/// ```
/// let mut s = String::new();
/// tikcast_core::client::percent_encode_into("a/b é", &mut s);
/// assert_eq!(s, "a%2Fb%20%C3%A9");
/// ```
pub fn percent_encode_into(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}
