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
