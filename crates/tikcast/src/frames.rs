//! Server-side frame encoding: the push frames a Webcast push server sends (protocol §2,
//! §3): `msg` frames carrying a batch of messages (gzipped or plain, with the cursor,
//! `internal_ext`, `need_ack` and heartbeat hints), and the control frames `hb` and
//! `im_enter_room_resp`. `tikcast mock`, `demo-frame`, `demo-recording` and the
//! integration tests (through `tests/common`, which includes this very file) all build
//! their frames here, so there is one encoder to trust.
//!
//! Native only, on purpose: the client's frames (enter-room, heartbeat, ack) are
//! tikcast-core's (`client.rs`), and the shipped wasm never has to play a server.
//!
//! Deterministic: no clock and no randomness in here (callers pass `now_ms` and choose
//! the compression), so the same inputs give the same bytes, which the committed
//! fixtures rely on. This file uses nothing but `tikcast_core`, `prost`, `miniz_oxide`
//! and `crc32fast`, so the tests can include it by path.

use prost::Message;
use tikcast_core::pb;

/// How a frame's payload is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain protobuf, no header.
    Plain,
    /// Gzip, announced by a `compress_type: gzip` header (what TikTok sends).
    Gzip,
    /// Gzip without the header: a client has to sniff the magic bytes.
    GzipUnannounced,
}

/// Gzips like TikTok's push server does (mtime 0, OS unknown), deterministically.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    // One gzip member (RFC 1952) around miniz_oxide's deflate, written here rather than
    // through flate2: flate2's output depends on which backend feature unification picks
    // (a dev-dependency enabling zlib-rs changes it), and the committed fixtures must be
    // byte-identical whatever else is in the build.
    let mut out = Vec::with_capacity(bytes.len() / 4 + 32);
    // Magic, deflate, no flags, mtime 0, no extra flags, OS unknown (255).
    out.extend_from_slice(&[0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
    out.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(bytes, 6));
    out.extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
    // ISIZE: the input length modulo 2^32, as RFC 1952 defines it.
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

/// A push frame of `payload_type` around `payload` (`payload_encoding: "pb"`),
/// compressed as `compression` says.
pub fn push_frame(
    seq_id: u64,
    log_id: u64,
    payload_type: &str,
    payload: Vec<u8>,
    compression: Compression,
) -> Vec<u8> {
    let (payload, announced) = match compression {
        Compression::Plain => (payload, false),
        Compression::Gzip => (gzip(&payload), true),
        Compression::GzipUnannounced => (gzip(&payload), false),
    };
    pb::PushFrame {
        seq_id,
        log_id,
        headers: if announced {
            vec![pb::PushHeader {
                key: "compress_type".into(),
                value: "gzip".into(),
            }]
        } else {
            Vec::new()
        },
        payload_encoding: "pb".into(),
        payload_type: payload_type.into(),
        payload,
        ..Default::default()
    }
    .encode_to_vec()
}

/// A `msg` frame: the batch `batch` (see [`batch`]) compressed as `compression` says.
pub fn msg_frame(seq_id: u64, log_id: u64, batch: Vec<u8>, compression: Compression) -> Vec<u8> {
    push_frame(seq_id, log_id, "msg", batch, compression)
}

/// The server's `hb` frame, its answer to a client heartbeat (protocol §2.1: clients
/// ignore it beyond liveness): empty, log id 0, never compressed.
pub fn heartbeat_reply(seq_id: u64) -> Vec<u8> {
    push_frame(seq_id, 0, "hb", Vec::new(), Compression::Plain)
}

/// The `im_enter_room_resp` frame: a message-less batch carrying the position
/// (`hints`' cursor and `internal_ext`), never compressed.
pub fn enter_room_resp(seq_id: u64, log_id: u64, hints: &pb::FetchResult) -> Vec<u8> {
    push_frame(
        seq_id,
        log_id,
        "im_enter_room_resp",
        hints.encode_to_vec(),
        Compression::Plain,
    )
}

/// One encoded `MessageEnvelope` of `method` with id `msg_id` around `payload`.
pub fn envelope(method: &str, msg_id: u64, payload: Vec<u8>) -> Vec<u8> {
    pb::MessageEnvelope {
        method: method.into(),
        payload,
        msg_id,
        ..Default::default()
    }
    .encode_to_vec()
}

/// A batch (`FetchResult`) of already encoded envelopes (see [`envelope`]) followed by
/// `hints`' scalar fields (cursor, `internal_ext`, `need_ack`, `heartbeat_duration`, …;
/// its `messages` are ignored). The same bytes prost writes for the whole message, since
/// prost writes field 1 (the messages) first; envelopes are copied, not re-encoded.
pub fn batch<'a>(
    envelopes: impl IntoIterator<Item = &'a [u8]>,
    hints: &pb::FetchResult,
) -> Vec<u8> {
    let mut out = Vec::new();
    for e in envelopes {
        put_length_delimited(1, e, &mut out);
    }
    if hints.messages.is_empty() {
        out.extend_from_slice(&hints.encode_to_vec());
    } else {
        let scalars = pb::FetchResult {
            messages: Vec::new(),
            ..hints.clone()
        };
        out.extend_from_slice(&scalars.encode_to_vec());
    }
    out
}

/// Appends field `field` as a length-delimited protobuf field holding `bytes`. (Written
/// here rather than taken from `prost::encoding`, which prost keeps out of its public API.)
pub fn put_length_delimited(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
    put_varint(u64::from(field) << 3 | 2, out);
    put_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn put_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Gives a message payload we encoded (or received) the ids of its place in a stream:
/// its `common` (field 1) is merged with `stamp` (protobuf merge: the fields set in
/// `stamp` win, the rest stay) and written back as the payload's only field 1, where the
/// first one was (in front when there was none); every other field is copied as it is.
/// One `common`, never two: decoder v2 (tikcast-core's reader) refuses a singular message
/// field sent twice, as no real message sends one. Left alone, returning false, when the
/// payload is not protobuf or its field 1 is not a `Common` (not length-delimited, or
/// does not decode).
pub fn stamp_common(payload: &mut Vec<u8>, stamp: &pb::Common) -> bool {
    let Some(fields) = top_level_fields(payload) else {
        return false;
    };
    let mut common = pb::Common::default();
    for f in fields.iter().filter(|f| f.number == 1) {
        if f.wire != 2
            || common
                .merge(payload.get(f.value.clone()).unwrap_or_default())
                .is_err()
        {
            return false;
        }
    }
    if common.merge(stamp.encode_to_vec().as_slice()).is_err() {
        return false;
    }
    let common = common.encode_to_vec();
    let mut out = Vec::with_capacity(payload.len() + 32);
    let mut written = false;
    if !fields.iter().any(|f| f.number == 1) {
        put_length_delimited(1, &common, &mut out);
        written = true;
    }
    for f in &fields {
        if f.number != 1 {
            out.extend_from_slice(payload.get(f.whole.clone()).unwrap_or_default());
        } else if !written {
            put_length_delimited(1, &common, &mut out);
            written = true;
        }
    }
    *payload = out;
    true
}

/// One top-level protobuf field: its number, wire type, the range of its value (for
/// length-delimited fields, without the length) and of the whole field (key included).
struct Field {
    number: u64,
    wire: u64,
    value: std::ops::Range<usize>,
    whole: std::ops::Range<usize>,
}

/// The top-level fields of `payload`; `None` when it does not parse as protobuf (a
/// truncated field, a group or an unknown wire type).
fn top_level_fields(payload: &[u8]) -> Option<Vec<Field>> {
    let mut out = Vec::new();
    let mut buf = payload;
    while !buf.is_empty() {
        let start = payload.len() - buf.len();
        let key = read_varint(&mut buf)?;
        let (number, wire) = (key >> 3, key & 7);
        let len = match wire {
            0 => {
                read_varint(&mut buf)?;
                0
            }
            1 => 8,
            2 => usize::try_from(read_varint(&mut buf)?).ok()?,
            5 => 4,
            _ => return None,
        };
        let value_start = payload.len() - buf.len();
        buf = buf.get(len..)?;
        let end = payload.len() - buf.len();
        out.push(Field {
            number,
            wire,
            value: value_start..end,
            whole: start..end,
        });
    }
    Some(out)
}

/// Reads one varint off the front of `buf`; `None` when truncated or longer than 10 bytes.
fn read_varint(buf: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for (i, &b) in buf.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            *buf = buf.get(i + 1..)?;
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_equals_prost_for_the_whole_message() {
        let envelopes = [
            envelope("WebcastChatMessage", 1, vec![0x0a, 0x00]),
            envelope("WebcastLikeMessage", 2, Vec::new()),
        ];
        let hints = pb::FetchResult {
            cursor: "c".into(),
            internal_ext: "x".into(),
            need_ack: true,
            heartbeat_duration: 10_000,
            ..Default::default()
        };
        let whole = pb::FetchResult {
            messages: envelopes
                .iter()
                .map(|e| pb::MessageEnvelope::decode(e.as_slice()).unwrap())
                .collect(),
            ..hints.clone()
        };
        let ours = batch(envelopes.iter().map(Vec::as_slice), &hints);
        assert_eq!(ours, whole.encode_to_vec());
        // Messages in `hints` are not written twice.
        assert_eq!(batch(envelopes.iter().map(Vec::as_slice), &whole), ours);
    }

    #[test]
    fn frames_decode_as_the_client_reads_them() {
        let b = batch(
            [envelope("WebcastFutureFeatureMessage", 9, vec![0x08, 0x01]).as_slice()],
            &pb::FetchResult {
                cursor: "mock-1".into(),
                need_ack: true,
                ..Default::default()
            },
        );
        for c in [
            Compression::Plain,
            Compression::Gzip,
            Compression::GzipUnannounced,
        ] {
            let f = msg_frame(3, 77, b.clone(), c);
            let d = tikcast_core::decode_frame(&f).unwrap();
            assert_eq!(
                (d.log_id, d.cursor.as_str(), d.need_ack),
                (77, "mock-1", true)
            );
            let raw = pb::PushFrame::decode(f.as_slice()).unwrap();
            assert_eq!(raw.headers.len(), usize::from(c == Compression::Gzip));
            assert_eq!(
                raw.payload.starts_with(&[0x1f, 0x8b]),
                c != Compression::Plain
            );
        }
        let hb = pb::PushFrame::decode(heartbeat_reply(4).as_slice()).unwrap();
        assert_eq!(
            (hb.payload_type.as_str(), hb.log_id, hb.payload.len()),
            ("hb", 0, 0)
        );
    }

    #[test]
    fn stamped_common_is_merged_into_the_only_common() {
        let original = pb::ChatMessage {
            common: Some(pb::Common {
                method: "WebcastChatMessage".into(),
                msg_id: 1,
                create_time: 3,
                ..Default::default()
            }),
            content: "x".into(),
            ..Default::default()
        };
        // A foreign payload with its common after the content, and an unknown field 99.
        let mut p = pb::ChatMessage {
            content: "x".into(),
            ..Default::default()
        }
        .encode_to_vec();
        put_length_delimited(
            1,
            &original.common.as_ref().unwrap().encode_to_vec(),
            &mut p,
        );
        put_length_delimited(99, b"kept", &mut p);
        let stamp = pb::Common {
            msg_id: 5,
            room_id: 6,
            ..Default::default()
        };
        assert!(stamp_common(&mut p, &stamp));
        let fields = top_level_fields(&p).unwrap();
        let numbers: Vec<u64> = fields.iter().map(|f| f.number).collect();
        assert_eq!(
            numbers,
            [3, 1, 99],
            "one common, where it was; the rest untouched"
        );
        let c = pb::ChatMessage::decode(p.as_slice())
            .unwrap()
            .common
            .unwrap();
        assert_eq!((c.msg_id, c.room_id, c.create_time), (5, 6, 3));
        assert_eq!(c.method, "WebcastChatMessage");
        // Decoder v2 reads it (it refuses two commons), with our room.
        let mut sink = tikcast_core::JsonSink::new();
        let info = tikcast_core::EnvelopeInfo::default();
        tikcast_core::write_message("WebcastChatMessage", &p, info, &mut sink);
        let text = sink.texts().next().unwrap().to_string();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (json["type"].as_str(), json["roomId"].as_str()),
            (Some("chat"), Some("6"))
        );
        // No common yet: one in front.
        let mut bare = vec![0x1a, 0x01, b'y'];
        assert!(stamp_common(&mut bare, &stamp));
        assert_eq!(top_level_fields(&bare).unwrap()[0].number, 1);
        // Field 1 as a varint, a truncated field, a group: left alone.
        for bad in [&[0x08, 0x01][..], &[0x0a, 0x05], &[0x0b, 0x0c]] {
            let mut v = bad.to_vec();
            assert!(!stamp_common(&mut v, &stamp));
            assert_eq!(v, bad);
        }
        let mut out = Vec::new();
        put_length_delimited(1, &[7; 200], &mut out);
        assert_eq!(&out[..3], &[0x0a, 0xc8, 0x01]);
        let mut rest = &out[1..];
        assert_eq!(read_varint(&mut rest), Some(200));
        assert_eq!(rest.len(), 200);
        assert_eq!(read_varint(&mut &[0x80u8; 11][..]), None);
    }
}
