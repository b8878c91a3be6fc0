//! The bindings in a real browser (headless Chromium, through `wasm-bindgen-test-runner`):
//! decoding frames made by our own encoder, the session `Engine` step by step as the
//! npm package's socket driver calls it, option errors, and the event tape.
//!
//! `scripts/test-js.sh` runs this. By hand:
//!
//! ```sh
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//! CHROMEDRIVER=/usr/bin/chromedriver \
//! WASM_BINDGEN_TEST_WEBDRIVER_JSON=$PWD/crates/tikcast-wasm/tests/webdriver.json \
//! cargo test -p tikcast-wasm --target wasm32-unknown-unknown
//! ```
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Reflect, JSON};
use prost::Message;
use tikcast_core::pb;
use tikcast_wasm::Engine;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const ROOM_ID: u64 = 7_300_000_000_000_000_001;
/// Above 2^53: only exact if carried as a string all the way.
const FIRST_ID: u64 = 7_400_000_000_000_000_001;

// ------------------------------------------------------------------------ helpers

/// `v.a.b.c`, `undefined` where a step is missing.
fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |v, key| {
        if v.is_object() {
            Reflect::get(&v, &key.into()).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        }
    })
}

fn text(v: &JsValue, path: &str) -> String {
    get(v, path)
        .as_string()
        .unwrap_or_else(|| panic!("{path} is not a string in {}", json(v)))
}

fn num(v: &JsValue, path: &str) -> f64 {
    get(v, path)
        .as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number in {}", json(v)))
}

fn flag(v: &JsValue, path: &str) -> bool {
    get(v, path)
        .as_bool()
        .unwrap_or_else(|| panic!("{path} is not a boolean in {}", json(v)))
}

fn json(v: &JsValue) -> String {
    JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}

/// The events `write` makes, as canonical JSON parsed by JS and stringified again: what
/// the tape's objects must stringify to.
fn canonical(write: impl FnOnce(&mut tikcast_core::JsonSink)) -> Vec<String> {
    let mut sink = tikcast_core::JsonSink::new();
    write(&mut sink);
    sink.texts()
        .map(|t| json(&JSON::parse(t).unwrap()))
        .collect()
}

fn options(text: &str) -> JsValue {
    JSON::parse(text).expect("test options are JSON")
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    Reflect::set(target, &key.into(), value).unwrap();
}

// ------------------------------------------------------------------------ encoder

fn user(id: u64, handle: &str, nickname: &str) -> pb::User {
    pb::User {
        id,
        nickname: nickname.into(),
        display_id: handle.into(),
        ..Default::default()
    }
}

fn common(method: &str, msg_id: u64) -> Option<pb::Common> {
    Some(pb::Common {
        method: method.into(),
        msg_id,
        room_id: ROOM_ID,
        create_time: 1_767_225_600_000,
        ..Default::default()
    })
}

fn envelope(method: &str, msg_id: u64, payload: Vec<u8>) -> pb::MessageEnvelope {
    pb::MessageEnvelope {
        method: method.into(),
        payload,
        msg_id,
        ..Default::default()
    }
}

fn chat(msg_id: u64, who: &pb::User, comment: &str) -> pb::MessageEnvelope {
    let m = "WebcastChatMessage";
    envelope(
        m,
        msg_id,
        pb::ChatMessage {
            common: common(m, msg_id),
            user: Some(who.clone()),
            content: comment.into(),
            content_language: "en".into(),
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

fn like(msg_id: u64, who: &pb::User, count: i32, total: i64) -> pb::MessageEnvelope {
    let m = "WebcastLikeMessage";
    envelope(
        m,
        msg_id,
        pb::LikeMessage {
            common: common(m, msg_id),
            user: Some(who.clone()),
            count,
            total,
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

fn rose(msg_id: u64, who: &pb::User, repeat: i32, end: bool) -> pb::MessageEnvelope {
    let m = "WebcastGiftMessage";
    envelope(
        m,
        msg_id,
        pb::GiftMessage {
            common: common(m, msg_id),
            gift_id: 5655,
            repeat_count: repeat,
            combo_count: repeat,
            group_count: 1,
            repeat_end: i32::from(end),
            group_id: 42,
            user: Some(who.clone()),
            gift: Some(pb::GiftInfo {
                id: 5655,
                name: "Rose".into(),
                diamond_count: 1,
                r#type: 1,
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

fn batch(messages: Vec<pb::MessageEnvelope>, cursor: &str) -> Vec<u8> {
    pb::FetchResult {
        messages,
        cursor: cursor.into(),
        internal_ext: format!("internal_src:test|cursor:{cursor}"),
        need_ack: true,
        now_ms: 1_767_225_610_000,
        ..Default::default()
    }
    .encode_to_vec()
}

fn push_frame(payload: Vec<u8>, gzip_header: bool) -> Vec<u8> {
    pb::PushFrame {
        seq_id: 9,
        log_id: 7_301_234_567_890_123_456,
        headers: if gzip_header {
            vec![pb::PushHeader {
                key: "compress_type".into(),
                value: "gzip".into(),
            }]
        } else {
            Vec::new()
        },
        payload_encoding: "pb".into(),
        payload_type: "msg".into(),
        payload,
        ..Default::default()
    }
    .encode_to_vec()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// RFC 1952 gzip around RFC 1951 stored (uncompressed) blocks: a valid gzip member the
/// decoder must unwrap and verify, without a compressor in the test.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(0xffff).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// The bundled demo frame (`tikcast demo-frame`): real deflate, gzip header.
const DEMO_FRAME: &[u8] = include_bytes!("../../../tests/fixtures/demo-frame.bin");

const DEMO_TYPES: [&str; 14] = [
    "member", "chat", "chat", "chat", "gift", "gift", "gift", "like", "social", "follow", "social",
    "share", "roomUser", "unknown",
];

fn types(events: &JsValue) -> Vec<String> {
    Array::from(events)
        .iter()
        .map(|e| text(&e, "type"))
        .collect()
}

// ------------------------------------------------------------------------ decoding

#[wasm_bindgen_test]
fn decodes_a_plain_frame_made_by_our_encoder() {
    let ada = user(7_100_000_000_000_000_001, "ada.test", "Ada");
    let frame = push_frame(
        batch(
            vec![
                chat(FIRST_ID, &ada, "hello <b>world</b> 👋"),
                like(FIRST_ID + 1, &ada, 15, 1015),
                rose(FIRST_ID + 2, &ada, 3, true),
                envelope("WebcastFutureFeatureMessage", FIRST_ID + 3, vec![8, 1]),
            ],
            "t-1",
        ),
        false,
    );
    let d = tikcast_wasm::decode_frame(&frame).unwrap_or_else(|e| panic!("{}", json(&e)));
    assert_eq!(text(&d, "payloadType"), "msg");
    assert_eq!(text(&d, "logId"), "7301234567890123456");
    assert_eq!(text(&d, "seqId"), "9");
    assert_eq!(text(&d, "cursor"), "t-1");
    assert_eq!(text(&d, "internalExt"), "internal_src:test|cursor:t-1");
    assert!(flag(&d, "needAck"));
    assert_eq!(num(&d, "nowMs"), 1_767_225_610_000.0);
    let events = get(&d, "events");
    assert_eq!(types(&events), ["chat", "like", "gift", "unknown"]);
    let e: Vec<JsValue> = Array::from(&events).iter().collect();
    assert_eq!(text(&e[0], "msgId"), "7400000000000000001");
    assert_eq!(text(&e[0], "roomId"), "7300000000000000001");
    assert_eq!(num(&e[0], "createTime"), 1_767_225_600_000.0);
    assert!(!flag(&e[0], "isHistory"));
    assert_eq!(text(&e[0], "comment"), "hello <b>world</b> 👋");
    assert_eq!(text(&e[0], "language"), "en");
    assert_eq!(text(&e[0], "user.uniqueId"), "ada.test");
    assert_eq!(text(&e[0], "user.userId"), "7100000000000000001");
    assert_eq!(text(&e[0], "user.nickname"), "Ada");
    assert!(get(&e[0], "atUser").is_null(), "absent values are null");
    assert_eq!(
        (num(&e[1], "likeCount"), num(&e[1], "totalLikeCount")),
        (15.0, 1015.0)
    );
    assert_eq!(text(&e[2], "giftName"), "Rose");
    assert_eq!(text(&e[2], "giftId"), "5655");
    assert_eq!(num(&e[2], "repeatCount"), 3.0);
    assert!(flag(&e[2], "repeatEnd"));
    assert_eq!(text(&e[3], "method"), "WebcastFutureFeatureMessage");
    assert_eq!(text(&e[3], "msgId"), "7400000000000000004");
}

#[wasm_bindgen_test]
fn decodes_gzip_frames() {
    let bo = user(7_100_000_000_000_000_002, "bo.test", "Bo");
    let plain = batch(vec![chat(FIRST_ID + 10, &bo, "zipped")], "t-2");
    // Announced by the header, and sniffed from the magic bytes without it.
    for header in [true, false] {
        let d = tikcast_wasm::decode_frame(&push_frame(gzip_stored(&plain), header))
            .unwrap_or_else(|e| panic!("header {header}: {}", json(&e)));
        let e = Array::from(&get(&d, "events")).get(0);
        assert_eq!(text(&e, "comment"), "zipped", "header {header}");
        assert_eq!(text(&e, "user.uniqueId"), "bo.test");
    }
    // The bundled demo frame, compressed by flate2.
    let d = tikcast_wasm::decode_frame(DEMO_FRAME).unwrap();
    assert_eq!(text(&d, "logId"), "7301234567890123456");
    assert!(flag(&d, "needAck"));
    let events = get(&d, "events");
    assert_eq!(types(&events), DEMO_TYPES);
    let e: Vec<JsValue> = Array::from(&events).iter().collect();
    assert_eq!(text(&e[0], "label"), "Ada joined");
    assert_eq!(num(&e[1], "user.gifterLevel"), 12.0);
    assert!(flag(&e[2], "user.isModerator"));
    assert_eq!(text(&e[3], "comment"), "<img src=x onerror=alert(1)>");
    assert_eq!(num(&e[6], "repeatCount"), 3.0);
    assert!(flag(&e[6], "repeatEnd"));
    assert_eq!(num(&e[12], "viewerCount"), 321.0);
}

#[wasm_bindgen_test]
fn malformed_frames_throw_a_tikcast_error() {
    let cases: [(&str, Vec<u8>); 2] = [
        ("not protobuf", vec![0x42, 0x64, 0x01]),
        ("bad gzip", {
            let mut z = gzip_stored(b"payload");
            let n = z.len();
            z[n - 6] ^= 0xff; // corrupt the CRC
            push_frame(z, true)
        }),
    ];
    for (what, bytes) in cases {
        let err = tikcast_wasm::decode_frame(&bytes).expect_err(what);
        assert!(err.is_instance_of::<js_sys::Error>(), "{what}: an Error");
        assert_eq!(text(&err, "name"), "TikcastError", "{what}");
        assert_eq!(text(&err, "code"), "decode_failed", "{what}");
        assert!(!text(&err, "detail").is_empty(), "{what}: detail");
        assert!(text(&err, "message").starts_with("cannot decode frame: "));
    }
    let err = tikcast_wasm::decode_frame(&push_frame(b"\x1f\x8bnope".to_vec(), true)).unwrap_err();
    assert_eq!(text(&err, "detail"), "gzip");
}

#[wasm_bindgen_test]
fn decode_message_never_throws() {
    let ada = user(1, "ada.test", "Ada");
    let m = like(FIRST_ID, &ada, 5, 42);
    let events = tikcast_wasm::decode_message("WebcastLikeMessage", &m.payload).unwrap();
    assert_eq!(types(&events), ["like"]);
    let e = Array::from(&events).get(0);
    assert_eq!(
        (num(&e, "likeCount"), num(&e, "totalLikeCount")),
        (5.0, 42.0)
    );
    assert_eq!(text(&e, "msgId"), "7400000000000000001");

    let events = tikcast_wasm::decode_message("WebcastNoSuchMessage", &[8, 1]).unwrap();
    assert_eq!(types(&events), ["unknown"]);
    let events = tikcast_wasm::decode_message("WebcastChatMessage", &[0xff, 0xff, 0xff]).unwrap();
    assert_eq!(types(&events), ["decodeError"]);
}

#[wasm_bindgen_test]
fn version_and_build_info() {
    let v = tikcast_wasm::version();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    let info = tikcast_wasm::build_info();
    assert_eq!(text(&info, "version"), v);
    assert_eq!(text(&info, "coreVersion"), tikcast_core::VERSION);
    let sha = text(&info, "gitSha");
    assert!(
        sha.is_empty() || sha.chars().all(|c| c.is_ascii_hexdigit()),
        "{sha}"
    );
}

// ------------------------------------------------------------------------ engine
//
// The socket driver is TypeScript (js/src/socket-driver.ts); its sessions over real
// sockets with drops, stalls and duplicates are tested in Node (js/test/connection.test.mjs)
// and, from the packed package, in this same headless Chromium (tests/browser/). Here:
// the engine it drives, step by step, as the driver calls it.

fn engine(opts: &str) -> Engine {
    Engine::new(options(opts)).unwrap_or_else(|e| panic!("new Engine: {}", json(&e)))
}

/// One `poll`: the batch items, and the actions as `[kind, ...]` arrays.
fn poll(e: &mut Engine) -> (Vec<JsValue>, Vec<Array>) {
    let batch = Array::new();
    let actions = e.poll(&batch);
    let actions = if actions.is_undefined() {
        Vec::new()
    } else {
        Array::from(&actions)
            .iter()
            .map(|a| Array::from(&a))
            .collect()
    };
    (batch.iter().collect(), actions)
}

/// `type`, or the state's name for state items.
fn kinds(items: &[JsValue]) -> Vec<String> {
    items
        .iter()
        .map(|i| match text(i, "type").as_str() {
            "state" => text(i, "state"),
            t => t.to_string(),
        })
        .collect()
}

#[wasm_bindgen_test]
fn bad_options_throw_invalid_options() {
    for opts in [
        r#"{"transport":"carrier-pigeon"}"#,
        r#"{"transport":"relay"}"#,
        r#"{"transport":"relay","url":"https://relay.example/ws"}"#,
        r#"{"transport":"relay","url":"ws://x/ws","session":{"livenessTimeoutMs":-1}}"#,
        r#"{"transport":"relay","url":"ws://x/ws","session":{"seed":"twelve"}}"#,
    ] {
        let err = match Engine::new(options(opts)) {
            Ok(_) => panic!("accepted {opts}"),
            Err(e) => e,
        };
        assert_eq!(text(&err, "name"), "TikcastError", "{opts}");
        assert_eq!(text(&err, "code"), "invalid_options", "{opts}");
    }
    let err = Engine::new(options(r#"{"transport":"carrier-pigeon\"\n"}"#))
        .err()
        .unwrap();
    assert_eq!(
        text(&err, "message"),
        "unknown transport \"carrier-pigeon\"\n\"; use relay, signedUrl or frames"
    );
    // signedUrl needs the callback and the room.
    let o = options(r#"{"transport":"signedUrl"}"#);
    assert!(Engine::new(o.clone()).is_err());
    let f = Function::new_no_args("return 'ws://x'");
    set(&o, "signedUrl", &f);
    let err = Engine::new(o.clone()).err().unwrap();
    assert!(text(&err, "message").contains("roomId"), "{}", json(&err));
    set(&o, "roomId", &"7300000000000000001".into());
    assert!(Engine::new(o).is_ok());
}

#[wasm_bindgen_test]
fn frames_engine_decodes_dedups_skips_and_closes_streaks_on_stop() {
    let mut e = engine(r#"{"transport":"frames","session":{"seed":1}}"#);
    assert_eq!(e.current_conn(), -1.0);
    let (items, actions) = poll(&mut e);
    assert!(
        items.is_empty() && actions.is_empty(),
        "nothing before start"
    );
    e.start(0.0);
    let (items, actions) = poll(&mut e);
    assert_eq!(kinds(&items), ["connecting"]);
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].get(0).as_f64(), Some(0.0), "connect");
    let conn = actions[0].get(1).as_f64().unwrap();
    assert_eq!(e.current_conn(), conn);
    e.opened(conn, 1.0);
    let (items, actions) = poll(&mut e);
    assert_eq!(kinds(&items), ["connected"]);
    assert!(actions.is_empty(), "frames mode never sends");

    e.frame(conn, DEMO_FRAME, 2.0);
    let (items, _) = poll(&mut e);
    // The session's view of the demo frame: every gift also as giftRaw, the streak as two
    // giftStreak updates and one final gift.
    assert_eq!(
        kinds(&items),
        [
            "member",
            "chat",
            "chat",
            "chat",
            "giftRaw",
            "giftStreak",
            "giftRaw",
            "giftStreak",
            "giftRaw",
            "gift",
            "like",
            "social",
            "follow",
            "social",
            "share",
            "roomUser",
            "unknown"
        ]
    );
    assert_eq!(e.cursor(), "t-1767225610000_r-1_d-1_u-1");

    // The same frame again: every message is a duplicate.
    e.frame(conn, DEMO_FRAME, 3.0);
    let (items, actions) = poll(&mut e);
    assert!(
        items.is_empty() && actions.is_empty(),
        "duplicates are dropped"
    );
    let stats = e.stats();
    assert_eq!(num(&stats, "frames"), 2.0);
    assert_eq!(num(&stats, "messages"), 12.0);
    assert_eq!(num(&stats, "duplicates"), 12.0);
    assert_eq!(num(&stats, "acksSent"), 0.0);

    // Only chat wanted: the rest is not decoded, and counted as skipped.
    e.set_wanted_events(Some(vec!["chat".into()]));
    let cy = user(3, "cy.test", "Cy");
    let frame = push_frame(
        batch(
            vec![
                chat(FIRST_ID + 100, &cy, "one"),
                like(FIRST_ID + 101, &cy, 1, 1),
                rose(FIRST_ID + 102, &cy, 1, true),
                chat(FIRST_ID + 103, &cy, "two"),
            ],
            "t-3",
        ),
        false,
    );
    e.frame(conn, &frame, 4.0);
    let (items, _) = poll(&mut e);
    assert_eq!(kinds(&items), ["chat", "chat"]);
    assert_eq!(text(&items[1], "comment"), "two");
    assert_eq!(num(&e.stats(), "skipped"), 2.0);
    e.set_wanted_events(None);

    // A frame that does not decode is reported and survived.
    e.frame(conn, &[0x42, 0x64, 0x01], 5.0);
    let (items, _) = poll(&mut e);
    assert_eq!(kinds(&items), ["error"]);
    assert_eq!(num(&e.stats(), "badFrames"), 1.0);

    // A frame for an attempt that is not the current one is ignored.
    e.frame(conn + 1.0, DEMO_FRAME, 5.0);
    assert!(poll(&mut e).0.is_empty());

    // An open streak is closed by stop(): its final gift comes with the stop.
    let frame = push_frame(
        batch(vec![rose(FIRST_ID + 200, &cy, 1, false)], "t-4"),
        false,
    );
    e.frame(conn, &frame, 6.0);
    assert_eq!(kinds(&poll(&mut e).0), ["giftRaw", "giftStreak"]);
    assert!(e.deadline() >= 6.0, "the streak's timeout is armed");
    e.stop(7.0);
    let (items, actions) = poll(&mut e);
    assert_eq!(kinds(&items), ["disconnected", "gift", "stopped"]);
    assert_eq!(num(&items[1], "repeatCount"), 1.0);
    assert_eq!(text(&items[2], "code"), "stopped");
    assert!(
        get(&items[2], "error").is_undefined(),
        "a requested stop is no error"
    );
    let kinds_of: Vec<f64> = actions.iter().filter_map(|a| a.get(0).as_f64()).collect();
    assert_eq!(
        kinds_of.last(),
        Some(&3.0),
        "release comes last: {kinds_of:?}"
    );
    assert!(e.is_stopped());
    assert_eq!(e.deadline(), -1.0);
    assert_eq!(e.current_conn(), -1.0);
}

#[wasm_bindgen_test]
fn session_batches_with_copied_gift_events_come_out_as_the_typed_events() {
    // A relay-mode session (`giftRaw` on) over the demo frame and a streak of a user with
    // an emoji: each batch through the tape (gift events copied as `gift`/`giftStreak`)
    // equals the typed events' serde JSON, parsed by JS.
    use tikcast_core::session::{Mode, Output, Session, SessionConfig};
    let mut s = Session::new(SessionConfig {
        mode: Mode::Relay,
        gift_raw: true,
        gift_streak_timeout_ms: 1_000,
        ..Default::default()
    });
    let conn = s.start_open(0).unwrap();
    let cy = user(3, "cy.test", "Cy \u{1f600}");
    let streak = push_frame(
        batch(
            vec![
                rose(FIRST_ID + 300, &cy, 1, false),
                chat(FIRST_ID + 301, &cy, "\u{feff}hi \u{e9}"),
                rose(FIRST_ID + 302, &cy, 2, false),
                rose(FIRST_ID + 303, &cy, 3, true),
                rose(FIRST_ID + 304, &cy, 1, false),
            ],
            "t-9",
        ),
        false,
    );
    let mut outputs = Vec::new();
    s.on_frame(1, conn, DEMO_FRAME);
    outputs.extend(s.poll_outputs());
    s.on_frame(2, conn, &streak);
    outputs.extend(s.poll_outputs());
    s.handle_timeout(5_000);
    outputs.extend(s.poll_outputs());
    let mut types = Vec::new();
    for o in &outputs {
        let Output::Events(b) = o else { continue };
        let want: Vec<String> = b
            .to_events()
            .iter()
            .map(|e| json(&JSON::parse(&serde_json::to_string(e).unwrap()).unwrap()))
            .collect();
        let out = Array::new();
        tikcast_wasm::tape::with_tape(&out, &JsValue::UNDEFINED, |t| b.write(t))
            .unwrap()
            .unwrap();
        let got: Vec<String> = out.iter().map(|v| json(&v)).collect();
        assert_eq!(got, want);
        types.extend(out.iter().map(|v| text(&v, "type")));
    }
    let copied = types
        .windows(2)
        .filter(|w| w[0] == "giftRaw" && (w[1] == "gift" || w[1] == "giftStreak"))
        .count();
    // Three in the demo frame, three in the streak; the last rose is a late message of a
    // closed streak: `giftRaw` alone.
    assert_eq!(copied, 6, "{types:?}");
    assert_eq!(types.last().map(String::as_str), Some("giftRaw"));
    assert!(types.iter().any(|t| t == "gift"), "{types:?}");
}

#[wasm_bindgen_test]
fn relay_engine_gives_up_with_a_typed_error() {
    // A refused first socket with fail-fast on (the browser default for sockets).
    let mut e = engine(r#"{"transport":"relay","url":"ws://127.0.0.1:9/ws","session":{"seed":3}}"#);
    e.start(0.0);
    let (_, actions) = poll(&mut e);
    let conn = actions[0].get(1).as_f64().unwrap();
    e.closed(conn, 1006, "connection refused", 5.0);
    let (items, actions) = poll(&mut e);
    let last = items.last().expect("a stopped item");
    assert_eq!(text(last, "state"), "stopped");
    assert_eq!(text(last, "code"), "unreachable");
    assert_eq!(text(last, "error.name"), "TikcastError");
    assert_eq!(text(last, "error.code"), "unreachable");
    assert_eq!(actions.last().and_then(|a| a.get(0).as_f64()), Some(3.0));
}

#[wasm_bindgen_test]
fn the_event_tape_gives_what_json_parse_gives() {
    use tikcast_core::Sink;

    fn write(s: &mut dyn Sink, with_dropped: bool) {
        for round in 0..2u64 {
            s.event_start();
            s.begin_object();
            s.key("type");
            s.str("all");
            for (k, v) in [
                ("empty", ""),
                ("ascii", "hello, world"),
                ("accents", "caf\u{e9} \u{4e2d}\u{6587} \u{2014} \"q\" \\"),
                ("astral", "\u{1f339}\u{1f525}x\u{1f600}"),
                ("afterAstral", "still right after the emoji"),
            ] {
                s.key(k);
                s.str(v);
            }
            s.key("t");
            s.bool(true);
            s.key("f");
            s.bool(false);
            s.key("id");
            s.id(u64::MAX - round);
            s.key("small");
            s.uint(7);
            s.key("u32Max");
            s.uint(u64::from(u32::MAX));
            s.key("big");
            s.uint(1 << 40);
            s.key("negative");
            s.int(-1_234_567_890_123);
            s.key("none");
            s.null();
            s.key("bytes");
            s.base64(&[0, 127, 255]);
            s.key("list");
            s.begin_array();
            s.int(-5);
            s.begin_object();
            s.key_str("\u{1f4a1} map key");
            s.str("v");
            // From the wire, a map key may be any text: an own key, never the prototype.
            s.key_str("__proto__");
            s.begin_object();
            s.key("polluted");
            s.bool(true);
            s.end_object();
            s.end_object();
            s.begin_array();
            s.end_array();
            s.end_array();
            // Objects of the same shape with other values, and an empty one.
            s.key("users");
            s.begin_array();
            for i in 0..3 {
                s.begin_object();
                s.key("userId");
                s.id(round * 10 + i);
                s.key("nickname");
                s.str(["a", "\u{e9}t\u{e9}", ""][i as usize]);
                if i == 2 {
                    s.key("extra");
                    s.null();
                }
                s.end_object();
            }
            s.begin_object();
            s.end_object();
            s.end_array();
            s.end_object();
            s.event_end();
            if with_dropped && round == 0 {
                // An event that fails midway is truncated away.
                let mark = s.size();
                s.event_start();
                s.begin_object();
                s.key("type");
                s.str("dropped");
                s.truncate(mark);
            }
        }
    }
    let want = canonical(|s| write(s, false));
    // Objects by shape functions (new shapes, then known ones in later batches), then
    // key by key as under a Content-Security-Policy without 'unsafe-eval'.
    for (compile, batches) in [(true, 3), (false, 2), (true, 1)] {
        tikcast_wasm::tape::reset_tape(compile);
        for batch in 0..batches {
            let out = Array::new();
            tikcast_wasm::tape::with_tape(&out, &JsValue::UNDEFINED, |t| write(t, true)).unwrap();
            assert_eq!(out.length(), 2);
            for (i, v) in out.iter().enumerate() {
                assert_eq!(json(&v), want[i], "compile {compile}, batch {batch}");
            }
            let first = out.get(0);
            assert_eq!(text(&first, "astral"), "\u{1f339}\u{1f525}x\u{1f600}");
            assert_eq!(num(&out.get(1), "big"), (1u64 << 40) as f64);
            let map = get(&first, "list").dyn_into::<Array>().unwrap().get(1);
            assert!(flag(&map, "__proto__.polluted"));
            let proto = js_sys::Object::get_prototype_of(&map);
            assert!(
                proto.is_object() && !js_sys::Reflect::has(&proto, &"polluted".into()).unwrap()
            );
        }
    }
}

#[wasm_bindgen_test]
fn events_with_a_user_can_be_made_with_a_prototype() {
    use tikcast_core::Sink;

    // Three events: with a user, with a user and a key the prototype defines, without.
    fn write(s: &mut dyn Sink) {
        for (ty, own_unique_id, user) in [
            ("chat", false, true),
            ("odd", true, true),
            ("like", false, false),
        ] {
            s.event_start();
            s.begin_object();
            s.key("type");
            s.str(ty);
            if own_unique_id {
                s.key("uniqueId");
                s.str("own");
            }
            if user {
                s.key("user");
                s.begin_object();
                s.key("uniqueId");
                s.str("ada");
                s.end_object();
            }
            s.key("n");
            s.uint(1);
            s.end_object();
            s.event_end();
        }
    }
    let proto: JsValue = js_sys::eval(
        "Object.create(Object.prototype, { uniqueId: { get() { return this.user?.uniqueId; }, configurable: true } })",
    )
    .unwrap();
    let want = canonical(|s| write(s));
    for compile in [true, false] {
        tikcast_wasm::tape::reset_tape(compile);
        for batch in 0..2 {
            let out = Array::new();
            tikcast_wasm::tape::with_tape(&out, &proto, |t| write(t)).unwrap();
            let protos: Vec<bool> = out
                .iter()
                .map(|e| JsValue::from(js_sys::Object::get_prototype_of(&e)) == proto)
                .collect();
            // Without compiled shapes the SDK gives the prototype itself (addFlatUser).
            assert_eq!(
                protos,
                [compile, false, false],
                "compile {compile}, batch {batch}"
            );
            for (i, v) in out.iter().enumerate() {
                assert_eq!(json(&v), want[i], "the same own keys and values");
            }
            assert_eq!(text(&out.get(1), "uniqueId"), "own");
            if compile {
                assert_eq!(
                    text(&out.get(0), "uniqueId"),
                    "ada",
                    "read through the prototype"
                );
            }
        }
        // Plain objects again for a tape without one.
        let out = Array::new();
        tikcast_wasm::tape::with_tape(&out, &JsValue::UNDEFINED, |t| write(t)).unwrap();
        assert!(out
            .iter()
            .all(|e| JsValue::from(js_sys::Object::get_prototype_of(&e)) != proto));
    }
}

#[wasm_bindgen_test]
fn shapes_of_a_batch_whose_events_were_all_dropped_still_reach_js() {
    use tikcast_core::Sink;

    // Objects of shapes nothing else uses (keys `a`..), under a type of its own.
    fn event(s: &mut dyn Sink, ty: &str, keys: &[&'static str]) {
        s.event_start();
        s.begin_object();
        s.key("type");
        s.str(ty);
        s.key("inner");
        s.begin_object();
        for (i, k) in keys.iter().enumerate() {
            s.key(k);
            s.uint(i as u64);
        }
        s.end_object();
        s.end_object();
        s.event_end();
    }
    for compile in [true, false] {
        tikcast_wasm::tape::reset_tape(compile);
        // A batch whose only event is dropped midway: no JS call, but its shapes are numbered.
        let out = Array::new();
        tikcast_wasm::tape::with_tape(&out, &JsValue::UNDEFINED, |t| {
            let mark = t.size();
            event(t, "dropped", &["a", "b", "c"]);
            t.truncate(mark);
        })
        .unwrap();
        assert_eq!(out.length(), 0);
        // The next batches use those shapes and new ones after them.
        for round in 0..2 {
            let write = |s: &mut dyn Sink| {
                event(s, "first", &["a", "b", "c"]);
                event(s, "second", &["d", "e"]);
                event(s, "third", &["a", "b", "c", "f"]);
            };
            let want = canonical(|s| write(s));
            let out = Array::new();
            tikcast_wasm::tape::with_tape(&out, &JsValue::UNDEFINED, |t| write(t)).unwrap();
            let got: Vec<String> = out.iter().map(|v| json(&v)).collect();
            assert_eq!(got, want, "compile {compile}, round {round}");
        }
    }
}

#[wasm_bindgen_test]
fn strings_come_out_right_across_text_chunks() {
    use tikcast_core::Sink;
    use tikcast_wasm::tape::CHUNK;

    // Enough events for several chunks of each kind: ASCII strings and ids, strings with
    // other characters (two-byte and astral), events without strings, and events dropped
    // midway, one of them after a chunk has just filled.
    fn write(s: &mut dyn Sink) {
        let long = "u".repeat(CHUNK / 3);
        let mut text_bytes = 0;
        for i in 0..40u64 {
            if i % 7 == 3 || text_bytes >= CHUNK {
                let mark = s.size();
                s.event_start();
                s.begin_object();
                s.key("type");
                s.str("dropped");
                s.key("wide");
                s.str("\u{e9}\u{1f600}");
                s.truncate(mark);
                text_bytes = 0;
            }
            s.event_start();
            s.begin_object();
            s.key("type");
            s.str(if i % 5 == 4 { "" } else { "chat" });
            if i % 4 != 1 {
                s.key("userId");
                s.id(i * 1_000_003);
                s.key("comment");
                s.str(&format!("{i}{}", &long[..(i as usize * 97) % long.len()]));
                text_bytes += long.len();
            }
            if i % 3 == 0 {
                // A leading U+FEFF (a byte order mark) is a character of the string: a
                // decoder stripping it would shift every range after it.
                s.key("nickname");
                s.str(&format!(
                    "\u{feff}n\u{e9}{i}\u{1f339}{}",
                    "\u{4e2d}".repeat(i as usize * 40)
                ));
            }
            if i == 0 {
                s.key("map");
                s.begin_object();
                s.key_str("\u{feff}bom");
                s.uint(1);
                s.key_str("after");
                s.str("\u{feff}");
                s.end_object();
            }
            s.key("n");
            s.uint(i);
            s.end_object();
            s.event_end();
        }
    }
    let want = canonical(|s| write(s));
    assert_eq!(want.len(), 40);
    for compile in [true, false] {
        tikcast_wasm::tape::reset_tape(compile);
        for batch in 0..2 {
            let out = Array::new();
            tikcast_wasm::tape::with_tape(&out, &JsValue::UNDEFINED, |t| write(t)).unwrap();
            let got: Vec<String> = out.iter().map(|v| json(&v)).collect();
            assert_eq!(got, want, "compile {compile}, batch {batch}");
        }
    }
}

#[wasm_bindgen_test]
fn random_batches_come_out_as_json_parse_gives_them() {
    use tikcast_core::Sink;
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }
    fn gen_str(r: &mut Rng) -> String {
        let pieces = [
            "",
            "a",
            "hello",
            "\u{feff}",
            "\u{e9}",
            "\u{1f600}",
            "\u{4e2d}",
            "\u{ff}",
            "\0",
            "\u{7f}",
            "\u{80}",
            "\u{fffd}",
            "\u{fffe}",
            "\r\n",
            ALL,
        ];
        const ALL: &str = "\0\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\x7f";
        match r.below(6) {
            0 => String::new(),
            1 => "x".repeat(r.below(3000) as usize),
            _ => {
                let n = r.below(20);
                let mut s = String::new();
                for _ in 0..n {
                    s.push_str(pieces[r.below(pieces.len() as u64) as usize]);
                }
                if r.below(4) == 0 {
                    s.push_str(&"\u{e9}".repeat(r.below(3000) as usize));
                }
                s
            }
        }
    }
    // One event's fields from `r`; written when `w` (the random draws are the same
    // either way).
    fn fields(r: &mut Rng, s: &mut dyn Sink, w: bool) {
        for _ in 0..r.below(6) {
            match r.below(5) {
                0 => {
                    let v = r.next();
                    if w {
                        s.key("id");
                        s.id(v);
                    }
                }
                1 => {
                    let k = gen_str(r);
                    let v = gen_str(r);
                    if w {
                        s.key("m");
                        s.begin_object();
                        s.key_str(&k);
                        s.str(&v);
                        s.end_object();
                    }
                }
                2 => {
                    let b: Vec<u8> = (0..r.below(40)).map(|x| x as u8).collect();
                    if w {
                        s.key("b");
                        s.base64(&b);
                    }
                }
                3 => {
                    let v = gen_str(r);
                    if w {
                        s.key("t");
                        s.text(v.as_bytes());
                    }
                }
                _ => {
                    let v = gen_str(r);
                    if w {
                        s.key("s");
                        s.str(&v);
                    }
                }
            }
        }
    }
    const TYPES: [&str; 3] = ["giftRaw", "giftStreak", "gift"];
    // One batch from `seed`: events with ids, map keys, base64, checked and unchecked
    // strings (ASCII, two-byte, astral, a leading U+FEFF, every ASCII byte, long runs that
    // fill chunks), some in groups dropped midway, some with a `type` and repeated under
    // other types. `real`: write the dropped events too and truncate them, as the decoder
    // does, and repeat events with `repeat_event`; else leave the dropped ones out and
    // write each repeat in full (what JSON must give).
    fn write(seed: u64, s: &mut dyn Sink, real: bool) {
        let mut r = Rng(seed);
        let n = r.below(60);
        for _ in 0..n {
            let group = if r.below(5) == 0 { 1 + r.below(3) } else { 0 };
            let drop = group > 0;
            let mark = s.size();
            for g in 0..group.max(1) {
                let last = g + 1 == group.max(1);
                let w = real || !drop;
                let ty = (r.below(2) == 0).then(|| TYPES[r.below(3) as usize]);
                let at = Rng(r.0);
                if w {
                    s.event_start();
                    s.begin_object();
                    if let Some(ty) = ty {
                        s.key("type");
                        s.str(ty);
                    }
                }
                fields(&mut r, s, w);
                if drop && last {
                    if real {
                        s.truncate(mark);
                    }
                    break;
                }
                if w {
                    s.end_object();
                    s.event_end();
                }
                for _ in 0..r.below(3) {
                    let again = TYPES[r.below(3) as usize];
                    if real {
                        assert_eq!(s.repeat_event(again), ty.is_some(), "seed {seed}");
                    } else if let (Some(_), false) = (ty, drop) {
                        s.event_start();
                        s.begin_object();
                        s.key("type");
                        s.str(again);
                        fields(&mut Rng(at.0), s, true);
                        s.end_object();
                        s.event_end();
                    }
                }
            }
        }
    }
    for compile in [true, false] {
        tikcast_wasm::tape::reset_tape(compile);
        for round in 0..150u64 {
            let seed = 0x9e3779b97f4a7c15 ^ (round.wrapping_mul(0x1234567));
            let want = canonical(|s| write(seed, s, false));
            let out = Array::new();
            tikcast_wasm::tape::with_tape(&out, &JsValue::UNDEFINED, |t| write(seed, t, true))
                .unwrap();
            let got: Vec<String> = out.iter().map(|v| json(&v)).collect();
            assert_eq!(got.len(), want.len(), "round {round}");
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g, w, "compile {compile} round {round} event {i}");
            }
        }
    }
}

#[wasm_bindgen_test]
fn decode_frame_strings_keep_every_character() {
    // decodeFrame's five strings come as one text cut at UTF-16 ends: a msg frame with a
    // cursor and internal_ext that start with U+FEFF and hold astral characters.
    let b = pb::FetchResult {
        messages: vec![],
        cursor: "\u{feff}c\u{1f600}".into(),
        internal_ext: "\u{feff}\u{e9}x\u{1f339}".into(),
        ..Default::default()
    }
    .encode_to_vec();
    let f = pb::PushFrame {
        seq_id: 1,
        log_id: 2,
        payload_type: "msg".into(),
        payload: b,
        ..Default::default()
    }
    .encode_to_vec();
    let d = tikcast_wasm::decode_frame(&f).unwrap_or_else(|e| panic!("{}", json(&e)));
    assert_eq!(text(&d, "payloadType"), "msg");
    assert_eq!(text(&d, "seqId"), "1");
    assert_eq!(text(&d, "logId"), "2");
    assert_eq!(text(&d, "cursor"), "\u{feff}c\u{1f600}");
    assert_eq!(text(&d, "internalExt"), "\u{feff}\u{e9}x\u{1f339}");
    // Non-msg payload type, BOM first in the whole text.
    let f = pb::PushFrame {
        seq_id: 0,
        log_id: 0,
        payload_type: "\u{feff}\u{1f600}h".into(),
        ..Default::default()
    }
    .encode_to_vec();
    let d = tikcast_wasm::decode_frame(&f).unwrap_or_else(|e| panic!("{}", json(&e)));
    assert_eq!(text(&d, "payloadType"), "\u{feff}\u{1f600}h");
    assert_eq!(text(&d, "seqId"), "0");
    assert_eq!(text(&d, "cursor"), "");
}
