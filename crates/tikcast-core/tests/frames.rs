//! Frames built by our own encoder (prost types + flate2), client frames against the
//! byte layouts in the protocol notes, the JSON conventions, and hostile input.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use proptest::prelude::*;
use prost::Message;
use tikcast_core::pb;
use tikcast_core::{
    decode_batch, decode_frame, decode_frame_with, decode_message, DecodeError, DecodeOptions,
    Event,
};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn chat(msg_id: u64, text: &str) -> pb::MessageEnvelope {
    let payload = pb::ChatMessage {
        common: Some(pb::Common {
            method: "WebcastChatMessage".into(),
            msg_id,
            room_id: 42,
            create_time: 1_700_000_000_000,
            ..Default::default()
        }),
        user: Some(pb::User {
            id: 9_007_199_254_740_993,
            display_id: "someone".into(),
            nickname: "Some One".into(),
            ..Default::default()
        }),
        content: text.into(),
        ..Default::default()
    };
    pb::MessageEnvelope {
        method: "WebcastChatMessage".into(),
        payload: payload.encode_to_vec(),
        msg_id,
        ..Default::default()
    }
}

fn batch(messages: Vec<pb::MessageEnvelope>) -> Vec<u8> {
    pb::FetchResult {
        messages,
        cursor: "c-1".into(),
        internal_ext: "ext-1".into(),
        need_ack: true,
        ..Default::default()
    }
    .encode_to_vec()
}

fn frame(payload: Vec<u8>, compress: Option<&str>) -> Vec<u8> {
    pb::PushFrame {
        seq_id: 3,
        log_id: 77,
        headers: compress
            .map(|c| {
                vec![pb::PushHeader {
                    key: "compress_type".into(),
                    value: c.into(),
                }]
            })
            .unwrap_or_default(),
        payload_encoding: "pb".into(),
        payload_type: "msg".into(),
        payload,
        ..Default::default()
    }
    .encode_to_vec()
}

fn comments(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| {
            if let Event::Chat(c) = e {
                Some(c.comment.clone())
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn gzip_frame_by_header_and_plain_frame_decode_alike() {
    let msgs: Vec<_> = (0..250)
        .map(|i| chat(1000 + i, &format!("message {i}")))
        .collect();
    let raw = batch(msgs);
    for bytes in [
        frame(gzip(&raw), Some("gzip")),
        frame(gzip(&raw), None),
        frame(raw.clone(), Some("none")),
        frame(raw.clone(), None),
    ] {
        let d = decode_frame(&bytes).expect("frame decodes");
        assert_eq!(d.events.len(), 250);
        assert_eq!(comments(&d.events)[249], "message 249");
        assert_eq!(
            (
                d.log_id,
                d.seq_id,
                d.cursor.as_str(),
                d.internal_ext.as_str(),
                d.need_ack
            ),
            (77, 3, "c-1", "ext-1", true)
        );
        assert_eq!(d.events[0].meta().msg_id, 1000);
        assert_eq!(d.events[0].meta().room_id, 42);
    }
}

#[test]
fn unknown_methods_and_a_corrupt_message_do_not_stop_the_frame() {
    let mut msgs = vec![chat(1, "first")];
    msgs.push(pb::MessageEnvelope {
        method: "WebcastBrandNewMessage".into(),
        payload: vec![8, 1],
        msg_id: 2,
        ..Default::default()
    });
    // A gift whose payload is cut in the middle of a length-delimited field.
    msgs.push(pb::MessageEnvelope {
        method: "WebcastGiftMessage".into(),
        payload: vec![0x0a, 0x20, 0x01],
        msg_id: 3,
        ..Default::default()
    });
    msgs.push(chat(4, "last"));
    let d = decode_frame(&frame(gzip(&batch(msgs)), Some("gzip"))).unwrap();
    let names: Vec<&str> = d.events.iter().map(Event::name).collect();
    assert_eq!(names, ["chat", "unknown", "decodeError", "chat"]);
    let Event::Unknown(u) = &d.events[1] else {
        unreachable!()
    };
    assert_eq!(
        (u.method.as_str(), u.payload.as_slice(), u.meta.msg_id),
        ("WebcastBrandNewMessage", &[8u8, 1][..], 2)
    );
    let Event::DecodeError(e) = &d.events[2] else {
        unreachable!()
    };
    assert_eq!(e.method, "WebcastGiftMessage");
    assert_eq!(e.meta.msg_id, 3);
    assert!(
        e.error
            .starts_with("WebcastGiftMessage: payload: malformed protobuf"),
        "{}",
        e.error
    );
    assert_eq!(comments(&d.events), ["first", "last"]);
}

#[test]
fn non_msg_frames_carry_no_events() {
    let f = pb::PushFrame {
        payload_type: "im_enter_room_resp".into(),
        payload: vec![1, 2, 3],
        log_id: 5,
        ..Default::default()
    }
    .encode_to_vec();
    let d = decode_frame(&f).unwrap();
    assert_eq!(d.payload_type, "im_enter_room_resp");
    assert!(d.events.is_empty());
}

#[test]
fn unknown_compression_is_an_error() {
    let err = decode_frame(&frame(vec![1, 2, 3], Some("brotli"))).unwrap_err();
    assert_eq!(err, DecodeError::UnsupportedCompression("brotli".into()));
    assert!(err.to_string().contains("unsupported compress_type"));
}

// ------------------------------------------------------------------ client frames, golden bytes

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn heartbeat_frame_matches_protocol_layout() {
    // protocol §6.1: room 7300000000000000001, seq 1
    let want = hex("32 02 70 62 3a 02 68 62 42 0c 08 81 80 e8 e2 aa ea b3 a7 65 10 01");
    assert_eq!(
        tikcast_core::heartbeat_frame(7_300_000_000_000_000_001, 1),
        want
    );
}

#[test]
fn ack_frame_matches_protocol_layout() {
    // protocol §6.2: log_id 7301234567890123456, internal_ext "internal_ext_value"
    let mut want = hex("10 c0 f5 92 c7 fe c4 cc a9 65 32 02 70 62 3a 03 61 63 6b 42 12");
    want.extend_from_slice(b"internal_ext_value");
    assert_eq!(
        tikcast_core::ack_frame(7_301_234_567_890_123_456, "internal_ext_value"),
        want
    );
}

#[test]
fn enter_room_frame_matches_protocol_layout() {
    // protocol §6.3: room 7300000000000000001, enter id 1234
    let mut want = hex("32 02 70 62 3a 0d");
    want.extend_from_slice(b"im_enter_room");
    want.extend(hex("42 1c 08 81 80 e8 e2 aa ea b3 a7 65 20 0c 2a 08"));
    want.extend_from_slice(b"audience");
    want.extend(hex("40 d2 09 4a 01 30"));
    let enter = tikcast_core::EnterRoom {
        room_id: 7_300_000_000_000_000_001,
        enter_unique_id: 1234,
        cursor: String::new(),
    };
    assert_eq!(tikcast_core::enter_room_frame(&enter), want);
}

// ------------------------------------------------------------------ JSON conventions

#[test]
#[cfg(feature = "serde")]
fn event_json_is_camel_case_with_ids_as_strings() {
    let events = decode_message(
        "WebcastChatMessage",
        &chat(12_345_678_901_234_567, "hi").payload,
    );
    let v = serde_json::to_value(&events[0]).unwrap();
    assert_eq!(v["type"], "chat");
    assert_eq!(v["msgId"], "12345678901234567");
    assert_eq!(v["roomId"], "42");
    assert_eq!(v["createTime"], 1_700_000_000_000i64);
    assert_eq!(v["isHistory"], false);
    assert_eq!(v["comment"], "hi");
    assert_eq!(
        v["user"]["userId"], "9007199254740993",
        "2^53 + 1 survives as a string"
    );
    assert_eq!(v["user"]["uniqueId"], "someone");
    for key in [
        "nickname",
        "secUid",
        "profilePictureUrl",
        "followRole",
        "isModerator",
        "isSubscriber",
        "isNewGifter",
        "topGifterRank",
        "gifterLevel",
        "badges",
    ] {
        assert!(v["user"].get(key).is_some(), "user.{key} present");
    }
    // A schema-shaped event follows the same rules and leaves the raw header out.
    let poll = pb::PollMessage {
        common: Some(pb::Common {
            msg_id: 5,
            room_id: 6,
            ..Default::default()
        }),
        poll_id: 1 << 60,
        ..Default::default()
    };
    let v = serde_json::to_value(&decode_message("WebcastPollMessage", &poll.encode_to_vec())[0])
        .unwrap();
    assert_eq!(
        (
            v["type"].as_str(),
            v["pollId"].as_str(),
            v["msgId"].as_str()
        ),
        (Some("poll"), Some("1152921504606846976"), Some("5"))
    );
    assert!(v.get("common").is_none());
}

#[test]
fn every_event_name_is_unique_and_documented() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/events.md"))
            .expect("docs/events.md exists");
    let mut seen = std::collections::BTreeSet::new();
    for name in Event::NAMES {
        assert!(seen.insert(*name), "duplicate event name {name}");
        assert!(
            docs.contains(&format!("### `{name}`")),
            "docs/events.md has no section for `{name}`"
        );
    }
    assert!(
        Event::NAMES.len() >= 60,
        "{} typed events",
        Event::NAMES.len()
    );
    for (method, name) in tikcast_core::decode::KNOWN_METHODS {
        assert!(Event::NAMES.contains(name), "{method} maps to an event");
        let first = decode_message(method, &[]);
        assert_eq!(
            first[0].name(),
            *name,
            "{method}: the table names the event the decoder emits first"
        );
    }
}

// ------------------------------------------------------------------ hostile input

fn assert_err(bytes: &[u8]) -> DecodeError {
    decode_frame(bytes).expect_err("hostile input must be rejected")
}

#[test]
fn truncated_frames_are_errors() {
    let good = frame(gzip(&batch(vec![chat(1, "x")])), Some("gzip"));
    for cut in 1..good.len() {
        let r = decode_frame(&good[..cut]);
        // Some prefixes are themselves well-formed frames (a frame is a list of fields);
        // none may panic, and none may yield the full message.
        if let Ok(d) = r {
            assert!(d.events.is_empty(), "prefix {cut} decoded events");
        }
    }
    assert!(matches!(
        assert_err(&good[..good.len() - 1]),
        DecodeError::Protobuf { .. }
    ));
}

#[test]
fn wrong_wire_type_varint_overflow_and_length_past_end_are_errors() {
    // field 7 (payload_type, a string) sent as a varint
    assert!(matches!(
        assert_err(&[0x38, 0x01]),
        DecodeError::Protobuf { .. }
    ));
    // an 11-byte varint
    assert!(matches!(
        assert_err(&[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        DecodeError::Protobuf { .. }
    ));
    // payload length 100 with 2 bytes present
    assert!(matches!(
        assert_err(&[0x42, 0x64, 0x01, 0x02]),
        DecodeError::Protobuf { .. }
    ));
    // a wrong wire type inside a message payload is a per-message error, not a frame error
    let bad = pb::MessageEnvelope {
        method: "WebcastLikeMessage".into(),
        payload: vec![0x12, 0x01, 0x00],
        msg_id: 1,
        ..Default::default()
    };
    let d = decode_batch(&batch(vec![bad])).unwrap();
    assert!(matches!(&d.events[0], Event::DecodeError(e) if e.error.contains("wire type")));
}

#[test]
fn gzip_bomb_past_the_cap_fails_cleanly() {
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let bomb = gzip(&zeros);
    assert!(
        bomb.len() < 200 * 1024,
        "64 MiB of zeros compresses to {} bytes",
        bomb.len()
    );
    let err = decode_frame(&frame(bomb, Some("gzip"))).unwrap_err();
    assert_eq!(
        err,
        DecodeError::InflatedTooLarge {
            cap: 8 * 1024 * 1024
        }
    );
    assert_eq!(
        err.to_string(),
        "gzip: output exceeds 8 MiB cap; raise max_inflated if this is legitimate"
    );
    let opts = DecodeOptions {
        max_inflated_bytes: 1024,
        ..DecodeOptions::default()
    };
    let small = frame(gzip(&batch(vec![chat(1, &"x".repeat(5000))])), Some("gzip"));
    assert_eq!(
        decode_frame_with(&small, &opts).unwrap_err(),
        DecodeError::InflatedTooLarge { cap: 1024 }
    );
}

#[test]
fn bad_crc_bad_isize_and_truncated_gzip_are_errors() {
    let z = gzip(&batch(vec![chat(1, "x")]));
    let n = z.len();
    let mut bad_crc = z.clone();
    bad_crc[n - 8] ^= 0xff;
    assert_eq!(
        assert_err(&frame(bad_crc, Some("gzip"))),
        DecodeError::Gzip("crc32 mismatch")
    );
    let mut bad_len = z.clone();
    bad_len[n - 1] ^= 0x01;
    assert_eq!(
        assert_err(&frame(bad_len, Some("gzip"))),
        DecodeError::Gzip("length mismatch (isize)")
    );
    assert_eq!(
        assert_err(&frame(z[..n - 4].to_vec(), Some("gzip"))),
        DecodeError::Gzip("truncated trailer")
    );
    assert_eq!(
        assert_err(&frame(z[..n / 2].to_vec(), Some("gzip"))),
        DecodeError::Gzip("deflate stream is truncated")
    );
    assert_eq!(
        assert_err(&frame(vec![0x1f, 0x8b], Some("gzip"))),
        DecodeError::Gzip("truncated header")
    );
    let mut reserved = z.clone();
    reserved[3] = 0x80;
    assert_eq!(
        assert_err(&frame(reserved, Some("gzip"))),
        DecodeError::Gzip("reserved header flags set")
    );
}

#[test]
fn gzip_header_options_are_parsed() {
    // FEXTRA + FNAME + FCOMMENT + FHCRC, built by hand around flate2's deflate body.
    let data = batch(vec![chat(1, "wrapped")]);
    let z = gzip(&data);
    let body = &z[10..];
    let mut m = vec![0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 255];
    m.extend([3, 0, b'a', b'b', b'c']);
    m.extend(b"name.pb\0");
    m.extend(b"a comment\0");
    let crc = crc32(&m);
    m.extend(((crc & 0xffff) as u16).to_le_bytes());
    m.extend(body);
    let d = decode_frame(&frame(m.clone(), Some("gzip"))).unwrap();
    assert_eq!(comments(&d.events), ["wrapped"]);
    // two concatenated members are one stream
    let mut two = gzip(&data[..10]);
    two.extend(gzip(&data[10..]));
    assert_eq!(
        comments(&decode_frame(&frame(two, Some("gzip"))).unwrap().events),
        ["wrapped"]
    );
    // a wrong header crc is caught
    let i = m.len() - body.len() - 2;
    m[i] ^= 1;
    assert_eq!(
        assert_err(&frame(m, Some("gzip"))),
        DecodeError::Gzip("header crc mismatch")
    );
}

fn crc32(b: &[u8]) -> u32 {
    let mut h = flate2::Crc::new();
    h.update(b);
    h.sum()
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    // Our schema has no recursive message, so depth can only come from unknown groups:
    // 10,000 nested start-group tags of an unknown field 99 inside a chat payload.
    let mut payload = Vec::new();
    payload.extend(std::iter::repeat_n([0x9b, 0x06], 10_000).flatten());
    payload.extend(std::iter::repeat_n([0x9c, 0x06], 10_000).flatten());
    let events = decode_message("WebcastChatMessage", &payload);
    let Event::DecodeError(e) = &events[0] else {
        panic!("got {}", events[0].name())
    };
    assert!(e.error.contains("recursion limit"), "{}", e.error);
    // ...and the same at shallow depth is fine (unknown groups are skipped).
    let shallow = [
        0x9b, 0x06, 0x9b, 0x06, 0x9c, 0x06, 0x9c, 0x06, 0x1a, 0x02, b'o', b'k',
    ];
    let events = decode_message("WebcastChatMessage", &shallow);
    assert!(matches!(&events[0], Event::Chat(c) if c.comment == "ok"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_frame(&bytes);
        let _ = decode_batch(&bytes);
        for method in ["WebcastChatMessage", "WebcastGiftMessage", "WebcastLinkMicBattle", "WebcastRoomPinMessage", "WebcastBarrageMessage"] {
            let ev = decode_message(method, &bytes);
            prop_assert_eq!(ev.is_empty(), false);
        }
    }

    #[test]
    fn mutated_real_frames_never_panic(flips in proptest::collection::vec((0usize..4096, any::<u8>()), 1..8)) {
        let msgs: Vec<_> = (0..20).map(|i| chat(i, "a reasonably long comment to mutate")).collect();
        for mut bytes in [frame(gzip(&batch(msgs.clone())), Some("gzip")), frame(batch(msgs), None)] {
            for (at, v) in &flips {
                let n = bytes.len();
                bytes[at % n] ^= v;
            }
            let _ = decode_frame(&bytes);
        }
    }
}

#[test]
fn method_and_event_counts_match_the_readme() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let claim = format!(
        "{} method names in all",
        tikcast_core::decode::KNOWN_METHODS.len()
    );
    assert!(readme.contains(&claim), "README should say \"{claim}\"");
    assert!(readme.contains(&format!("into {} typed", Event::NAMES.len())));
}
