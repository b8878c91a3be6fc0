//! Reading a fetch result's messages in place.
//!
//! prost decodes `FetchResult.messages` into owned envelopes: every payload (about 137 kB
//! a frame in all) and every method name is copied into a fresh allocation, including
//! those of messages the session then skips. This reader walks the batch and hands out
//! borrowed slices instead. It accepts only what prost would accept with the same
//! result; on anything else (a malformed varint, a wrong wire type, a group, a method
//! that is not UTF-8, ...) it gives up and the caller decodes with prost, so errors and
//! edge cases stay exactly prost's.

use alloc::vec::Vec;

/// One message of a batch, borrowed from the inflated bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvelopeRef<'a> {
    pub method: &'a str,
    pub payload: &'a [u8],
    pub msg_id: u64,
    pub is_history: bool,
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// A varint as prost reads it: at most 10 bytes, the 10th at most 1.
    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let (&b, rest) = self.buf.split_first()?;
            self.buf = rest;
            if i == 9 && b > 1 {
                return None;
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Some(value);
            }
        }
        None
    }

    /// A field key: (field number, wire type). Field 0 is invalid, as in prost.
    fn key(&mut self) -> Option<(u64, u8)> {
        let key = self.varint()?;
        if key > u64::from(u32::MAX) {
            return None;
        }
        let field = key >> 3;
        if field == 0 {
            return None;
        }
        Some((field, (key & 7) as u8))
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }

    fn len_delimited(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.varint()?).ok()?;
        self.take(n)
    }

    /// Skips a field's value; groups (wire types 3 and 4) are left to prost.
    fn skip(&mut self, wire: u8) -> Option<()> {
        match wire {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => self.len_delimited().map(drop),
            FIXED32 => self.take(4).map(drop),
            _ => None,
        }
    }
}

/// The messages (field 1) of a `FetchResult`, in order, or `None` when the batch holds
/// anything this reader leaves to prost.
pub fn envelopes(batch: &[u8]) -> Option<Vec<EnvelopeRef<'_>>> {
    envelopes_max(batch, usize::MAX)
}

/// Like [`envelopes`], but `None` as soon as there are more than `max` messages (before
/// the list of them grows past that).
pub fn envelopes_max(batch: &[u8], max: usize) -> Option<Vec<EnvelopeRef<'_>>> {
    let mut r = Reader { buf: batch };
    let mut out = Vec::new();
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        if field == 1 {
            if wire != LEN || out.len() >= max {
                return None;
            }
            out.push(envelope(r.len_delimited()?)?);
        } else {
            r.skip(wire)?;
        }
    }
    Some(out)
}

/// How many times `field` occurs at the top level of `message`, up to the first malformed
/// field (prost refuses the message there); groups are skipped, as prost skips them.
pub fn count_field(message: &[u8], field: u64) -> usize {
    let mut r = Reader { buf: message };
    let mut n = 0usize;
    while !r.is_empty() {
        let Some((f, wire)) = r.key() else {
            return n;
        };
        if f == field {
            n += 1;
        }
        let skipped = if wire == 3 {
            crate::cost::skip_group(&mut r.buf, f, 1)
        } else {
            r.skip(wire).is_some()
        };
        if !skipped {
            return n;
        }
    }
    n
}

/// One `MessageEnvelope`; for repeated scalar fields the last one wins, as in prost.
fn envelope(bytes: &[u8]) -> Option<EnvelopeRef<'_>> {
    let mut r = Reader { buf: bytes };
    let mut env = EnvelopeRef {
        method: "",
        payload: &[],
        msg_id: 0,
        is_history: false,
    };
    while !r.is_empty() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (1, LEN) => env.method = core::str::from_utf8(r.len_delimited()?).ok()?,
            (2, LEN) => env.payload = r.len_delimited()?,
            (3, VARINT) => env.msg_id = r.varint()?,
            (6, VARINT) => env.is_history = r.varint()? != 0,
            (1..=3 | 6, _) => return None,
            // msg_type, offset, sample_flag (unused) and unknown fields: checked and skipped.
            (4 | 5 | 7, VARINT) => {
                r.varint()?;
            }
            (4 | 5 | 7, _) => return None,
            (_, wire) => r.skip(wire)?,
        }
    }
    Some(env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb;
    use alloc::string::ToString;
    use alloc::vec;
    use prost::Message;

    fn env(method: &str, payload: &[u8], msg_id: u64, is_history: bool) -> pb::MessageEnvelope {
        pb::MessageEnvelope {
            method: method.to_string(),
            payload: payload.to_vec(),
            msg_id,
            msg_type: 3,
            offset: -5,
            is_history,
            sample_flag: 1,
        }
    }

    /// What the decoder does: the fast path needs both the head (prost) and the walk.
    fn same_as_prost(bytes: &[u8]) {
        let ours = envelopes(bytes).filter(|_| pb::FetchResultHead::decode(bytes).is_ok());
        let theirs = pb::FetchResult::decode(bytes);
        if let Some(ours) = &ours {
            let theirs = theirs.as_ref().expect("prost accepts what we accept");
            assert_eq!(ours.len(), theirs.messages.len());
            for (a, b) in ours.iter().zip(&theirs.messages) {
                assert_eq!(a.method, b.method);
                assert_eq!(a.payload, b.payload.as_slice());
                assert_eq!(a.msg_id, b.msg_id);
                assert_eq!(a.is_history, b.is_history);
            }
        }
    }

    #[test]
    fn reads_what_prost_reads() {
        let batch = pb::FetchResult {
            messages: vec![
                env(
                    "WebcastChatMessage",
                    b"\x08\x01",
                    7_400_000_000_000_000_001,
                    false,
                ),
                env("WebcastGiftMessage", &[0xff; 300], u64::MAX, true),
                env("", b"", 0, false),
            ],
            cursor: "c".into(),
            now_ms: -1,
            route_params: [("a".to_string(), "b".to_string())].into_iter().collect(),
            need_ack: true,
            ..Default::default()
        };
        let bytes = batch.encode_to_vec();
        let ours = envelopes(&bytes).expect("a well-formed batch");
        assert_eq!(ours.len(), 3);
        assert_eq!(ours[1].method, "WebcastGiftMessage");
        assert_eq!(ours[1].payload, &[0xff; 300][..]);
        assert_eq!(ours[1].msg_id, u64::MAX);
        assert!(ours[1].is_history);
        same_as_prost(&bytes);
    }

    #[test]
    fn repeated_fields_last_wins_and_unknown_fields_are_skipped() {
        // method twice, msg_id twice, an unknown fixed32 and fixed64 field.
        let mut e = vec![0x0a, 1, b'a', 0x0a, 1, b'b', 0x18, 5, 0x18, 6];
        e.extend([0x7d, 1, 2, 3, 4, 0x79, 1, 2, 3, 4, 5, 6, 7, 8]);
        let mut bytes = vec![0x0a, e.len() as u8];
        bytes.extend(&e);
        let ours = envelopes(&bytes).unwrap();
        assert_eq!((ours[0].method, ours[0].msg_id), ("b", 6));
        same_as_prost(&bytes);
    }

    #[test]
    fn leaves_everything_unusual_to_prost() {
        for bytes in [
            &[0x08, 0x01][..],                   // messages as a varint
            &[0x0a, 0x02, 0x08][..],             // envelope shorter than its length
            &[0x0a, 0x02, 0x08, 0x01][..],       // method as a varint
            &[0x0a, 0x03, 0x0a, 0x01, 0xff][..], // method not UTF-8
            &[0x0b, 0x0c][..],                   // a group
            &[0x00][..],                         // field 0
            &[
                0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
            ][..], // 10th byte > 1
        ] {
            assert_eq!(envelopes(bytes), None, "{bytes:?}");
        }
    }

    #[test]
    fn agrees_with_prost_on_every_truncation_and_mutation() {
        let batch = pb::FetchResult {
            messages: vec![
                env("WebcastChatMessage", b"\x08\x01\x12\x03abc", 1, false),
                env("WebcastLikeMessage", b"\x10\x05", 2, true),
            ],
            cursor: "cursor".into(),
            ..Default::default()
        };
        let bytes = batch.encode_to_vec();
        for n in 0..bytes.len() {
            same_as_prost(&bytes[..n]);
        }
        for i in 0..bytes.len() {
            for v in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut m = bytes.clone();
                m[i] = v;
                same_as_prost(&m);
            }
        }
    }

    #[test]
    fn a_batch_left_to_prost_decodes_to_the_same_events() {
        let batch = pb::FetchResult {
            messages: vec![
                env("WebcastLikeMessage", b"\x10\x05\x18\x2a", 11, false),
                env("WebcastNoSuchMessage", b"\x08\x01", 12, true),
            ],
            cursor: "c-1".into(),
            need_ack: true,
            ..Default::default()
        };
        let plain = batch.encode_to_vec();
        assert!(envelopes(&plain).is_some());
        // The same batch with an empty group (field 15) appended to the first envelope:
        // prost skips it, the in-place reader declines.
        let mut first = batch.messages[0].encode_to_vec();
        first.extend([0x7b, 0x7c]);
        let mut grouped = vec![0x0a, first.len() as u8];
        grouped.extend(&first);
        // Everything after the first envelope (tag, one-byte length, body).
        grouped.extend(&plain[2 + batch.messages[0].encoded_len()..]);
        assert_eq!(envelopes(&grouped), None);
        let a = crate::decode_batch(&plain).unwrap();
        let b = crate::decode_batch(&grouped).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.events.len(), 2);
        assert_eq!(a.cursor, "c-1");
        assert!(a.need_ack);
    }
}
