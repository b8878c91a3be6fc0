//! The bindings in a real browser (headless Chromium, through `wasm-bindgen-test-runner`):
//! decoding frames made by our own encoder, the `frames` transport, option errors, and
//! real WebSocket sessions against `tikcast mock` with forced drops and duplicates.
//!
//! `scripts/test-js.sh` runs this. By hand:
//!
//! ```sh
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//! CHROMEDRIVER=/usr/bin/chromedriver \
//! WASM_BINDGEN_TEST_WEBDRIVER_JSON=$PWD/crates/tikcast-wasm/tests/webdriver.json \
//! TIKCAST_MOCK_RELAY_URL=ws://127.0.0.1:PORT/ws \
//! TIKCAST_MOCK_DIRECT_URL='ws://127.0.0.1:PORT2/webcast/im/ws_proxy/ws_reuse_supplement/?room_id=7300000000000000001' \
//! cargo test -p tikcast-wasm --target wasm32-unknown-unknown
//! ```
//!
//! The mock addresses are read at compile time (the browser has no environment); each
//! must be a fresh `tikcast mock --messages 240 --rate 0 --drop-after 60
//! --duplicate-rate 0.1 --gzip mixed` (the relay one also `--stall-after 150`), one per
//! test, since the mock's fault schedule counts first transmissions across all of its
//! connections. Without them the two session tests print SKIPPED into the test output.
#![cfg(target_arch = "wasm32")]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, JSON};
use prost::Message;
use tikcast_core::pb;
use tikcast_wasm::Connection;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
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

fn options(text: &str) -> JsValue {
    JSON::parse(text).expect("test options are JSON")
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    Reflect::set(target, &key.into(), value).unwrap();
}

/// Writes a line into the test runner's output (the page's `#output`, which the runner
/// prints), so a skip is visible even though the test passes.
fn say(line: &str) {
    console_log!("{line}");
    let document = get(&js_sys::global(), "document");
    let Ok(by_id) = get(&document, "getElementById").dyn_into::<Function>() else {
        return;
    };
    let Ok(pre) = by_id.call1(&document, &"output".into()) else {
        return;
    };
    if pre.is_object() {
        let now = get(&pre, "textContent").as_string().unwrap_or_default();
        set(&pre, "textContent", &format!("{now}{line}\n").into());
    }
}

async fn sleep(ms: i32) {
    let p = Promise::new(&mut |resolve, _| {
        let set_timeout: Function = get(&js_sys::global(), "setTimeout").unchecked_into();
        set_timeout
            .call2(&JsValue::NULL, &resolve, &ms.into())
            .unwrap();
    });
    JsFuture::from(p).await.unwrap();
}

/// `fetch(url).then(r => r.json())`, through the global (no web-sys features needed).
async fn fetch_json(url: &str) -> JsValue {
    let fetch: Function = get(&js_sys::global(), "fetch").unchecked_into();
    let response = JsFuture::from(
        fetch
            .call1(&JsValue::NULL, &url.into())
            .unwrap()
            .unchecked_into::<Promise>(),
    )
    .await
    .unwrap_or_else(|e| panic!("fetch {url}: {}", json(&e)));
    let body: Function = get(&response, "json").unchecked_into();
    JsFuture::from(body.call0(&response).unwrap().unchecked_into::<Promise>())
        .await
        .unwrap()
}

/// Everything a connection hands to `onBatch`, flattened, plus the number of batches.
#[derive(Clone, Default)]
struct Recorder {
    items: Rc<RefCell<Vec<JsValue>>>,
    batches: Rc<Cell<usize>>,
}

impl Recorder {
    fn callback(&self) -> Closure<dyn Fn(Array)> {
        let me = self.clone();
        Closure::new(move |batch: Array| {
            me.batches.set(me.batches.get() + 1);
            me.items.borrow_mut().extend(batch.iter());
        })
    }

    fn all(&self) -> Vec<JsValue> {
        self.items.borrow().clone()
    }

    fn take(&self) -> Vec<JsValue> {
        std::mem::take(&mut *self.items.borrow_mut())
    }

    fn states(&self, name: &str) -> Vec<JsValue> {
        self.all()
            .into_iter()
            .filter(|i| get(i, "type").as_string().as_deref() == Some("state"))
            .filter(|i| get(i, "state").as_string().as_deref() == Some(name))
            .collect()
    }

    /// States named `name` before the last message: once everything is sent the mock
    /// goes quiet, which a short liveness timeout also (rightly) takes for a dead socket.
    fn states_before_last_message(&self, name: &str) -> Vec<JsValue> {
        let all = self.all();
        let last = all
            .iter()
            .rposition(|i| !get(i, "msgId").is_undefined())
            .unwrap_or(0);
        all[..last]
            .iter()
            .filter(|i| get(i, "type").as_string().as_deref() == Some("state"))
            .filter(|i| get(i, "state").as_string().as_deref() == Some(name))
            .cloned()
            .collect()
    }

    fn stopped(&self) -> bool {
        !self.states("stopped").is_empty()
    }

    /// Msg ids of decoded messages in delivery order, one per message: derived events
    /// (`follow` after `social`, ...) share their source's id and are folded in; the
    /// session's gift summaries (`gift`, `giftStreak`) are left out, as `giftRaw`
    /// already stands for each gift message.
    fn message_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = Vec::new();
        for item in self.all() {
            let t = get(&item, "type").as_string().unwrap_or_default();
            if matches!(
                t.as_str(),
                "state" | "roomInfo" | "gift" | "giftStreak" | "likeAggregate"
            ) {
                continue;
            }
            let id: u64 = text(&item, "msgId").parse().expect("msgId is decimal");
            if ids.last() != Some(&id) {
                ids.push(id);
            }
        }
        ids
    }
}

fn connection(opts: &JsValue, rec: &Recorder) -> (Connection, Closure<dyn Fn(Array)>) {
    let cb = rec.callback();
    let conn = Connection::new(
        opts.clone(),
        cb.as_ref().unchecked_ref::<Function>().clone(),
    )
    .unwrap_or_else(|e| panic!("new Connection: {}", json(&e)));
    (conn, cb)
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

// ------------------------------------------------------------------------ connection

#[wasm_bindgen_test]
fn bad_options_throw_invalid_options() {
    let rec = Recorder::default();
    let cb = rec.callback();
    let f: &Function = cb.as_ref().unchecked_ref();
    for opts in [
        r#"{"transport":"carrier-pigeon"}"#,
        r#"{"transport":"relay"}"#,
        r#"{"transport":"relay","url":"https://relay.example/ws"}"#,
        r#"{"transport":"relay","url":"ws://x/ws","session":{"livenessTimeoutMs":-1}}"#,
        r#"{"transport":"relay","url":"ws://x/ws","session":{"seed":"twelve"}}"#,
    ] {
        let err = match Connection::new(options(opts), f.clone()) {
            Ok(_) => panic!("accepted {opts}"),
            Err(e) => e,
        };
        assert_eq!(text(&err, "name"), "TikcastError", "{opts}");
        assert_eq!(text(&err, "code"), "invalid_options", "{opts}");
    }
    // signedUrl needs the callback and the room.
    let o = options(r#"{"transport":"signedUrl"}"#);
    assert!(Connection::new(o.clone(), f.clone()).is_err());
    set(&o, "signedUrl", f.as_ref());
    let err = Connection::new(o.clone(), f.clone()).err().unwrap();
    assert!(text(&err, "message").contains("roomId"), "{}", json(&err));
    set(&o, "roomId", &"7300000000000000001".into());
    assert!(Connection::new(o, f.clone()).is_ok());
    assert_eq!(rec.batches.get(), 0, "nothing was called back");
}

#[wasm_bindgen_test]
async fn frames_transport_decodes_dedups_and_skips_unwanted_messages() {
    let rec = Recorder::default();
    let (conn, _cb) = connection(
        &options(r#"{"transport":"frames","session":{"seed":1}}"#),
        &rec,
    );
    let err = conn.push_frame(DEMO_FRAME).expect_err("not started");
    assert_eq!(text(&err, "code"), "not_connected");
    conn.start();
    let states: Vec<String> = rec.take().iter().map(|s| text(s, "state")).collect();
    assert_eq!(states, ["connecting", "connected"]);

    conn.push_frame(DEMO_FRAME).unwrap();
    let got = types(&Array::from_iter(rec.take()).into());
    // The session's view of the demo frame: every gift also as giftRaw, the streak as
    // two giftStreak updates and one final gift.
    assert_eq!(
        got,
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
    assert_eq!(conn.cursor(), "t-1767225610000_r-1_d-1_u-1");

    // The same frame again: every message is a duplicate.
    conn.push_frame(DEMO_FRAME).unwrap();
    assert!(rec.take().is_empty(), "duplicates are dropped");
    let stats = conn.stats();
    assert_eq!(num(&stats, "frames"), 2.0);
    assert_eq!(num(&stats, "messages"), 12.0);
    assert_eq!(num(&stats, "duplicates"), 12.0);
    assert_eq!(num(&stats, "acksSent"), 0.0, "frames mode never sends");

    // Only chat wanted: the rest is not decoded, and counted as skipped.
    conn.set_wanted_events(Some(vec!["chat".into()]));
    let cy = user(3, "cy.test", "Cy");
    conn.push_frame(&push_frame(
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
    ))
    .unwrap();
    let got = rec.take();
    assert_eq!(
        types(&Array::from_iter(got.iter()).into()),
        ["chat", "chat"]
    );
    assert_eq!(text(&got[1], "comment"), "two");
    let stats = conn.stats();
    assert_eq!(num(&stats, "skipped"), 2.0);
    assert_eq!(num(&stats, "messages"), 14.0);
    conn.set_wanted_events(None);

    // A frame that does not decode is reported and survived.
    conn.push_frame(&[0x42, 0x64, 0x01]).unwrap();
    let got = rec.take();
    assert_eq!(got.len(), 1);
    assert_eq!(text(&got[0], "state"), "error");
    assert_eq!(num(&conn.stats(), "badFrames"), 1.0);

    // An open streak is closed by stop(): its final gift comes in the last batch.
    conn.push_frame(&push_frame(
        batch(vec![rose(FIRST_ID + 200, &cy, 1, false)], "t-4"),
        false,
    ))
    .unwrap();
    assert_eq!(
        types(&Array::from_iter(rec.take()).into()),
        ["giftRaw", "giftStreak"]
    );
    let before = rec.batches.get();
    conn.stop();
    assert_eq!(rec.batches.get(), before + 1, "one batch for stop()");
    let last = rec.take();
    let kinds: Vec<String> = last
        .iter()
        .map(|i| match text(i, "type").as_str() {
            "state" => text(i, "state"),
            t => t.to_string(),
        })
        .collect();
    assert_eq!(kinds, ["disconnected", "gift", "stopped"]);
    assert_eq!(num(&last[1], "repeatCount"), 1.0);
    assert_eq!(text(&last[2], "code"), "stopped");
    assert!(
        get(&last[2], "error").is_undefined(),
        "a requested stop is no error"
    );
    let err = conn.push_frame(DEMO_FRAME).expect_err("stopped");
    assert_eq!(text(&err, "code"), "not_connected");
    sleep(10).await;
    assert!(rec.take().is_empty());
}

#[wasm_bindgen_test]
async fn stop_inside_the_callback_is_safe() {
    // onBatch calls stop() on the connection it belongs to: no RefCell panic, and the
    // stop's own batch arrives (re-entrantly, so the callback is a `Fn`, which
    // wasm-bindgen lets JS call while it runs).
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let holder: Rc<RefCell<Option<Connection>>> = Rc::default();
    let cb = {
        let seen = seen.clone();
        let holder = holder.clone();
        Closure::<dyn Fn(Array)>::new(move |batch: Array| {
            for item in batch.iter() {
                let t = text(&item, "type");
                let name = if t == "state" {
                    text(&item, "state")
                } else {
                    t
                };
                seen.borrow_mut().push(name.clone());
                if name == "chat" {
                    if let Some(c) = holder.borrow().as_ref() {
                        c.stop();
                    }
                }
            }
        })
    };
    let conn = Connection::new(
        options(r#"{"transport":"frames"}"#),
        cb.as_ref().unchecked_ref::<Function>().clone(),
    )
    .unwrap();
    *holder.borrow_mut() = Some(conn);
    holder.borrow().as_ref().unwrap().start();
    let ada = user(1, "ada.test", "Ada");
    let frame = push_frame(batch(vec![chat(FIRST_ID, &ada, "bye")], "c"), false);
    let r = holder.borrow().as_ref().unwrap().push_frame(&frame);
    r.unwrap();
    sleep(10).await;
    assert_eq!(
        *seen.borrow(),
        ["connecting", "connected", "chat", "disconnected", "stopped"]
    );
    drop(holder.borrow_mut().take());
}

// ------------------------------------------------------------------------ live sessions

/// `ws://host:port/...` → `http://host:port/stats`.
fn stats_url(ws_url: &str) -> String {
    let rest = ws_url.trim_start_matches("ws://");
    let host = rest.split('/').next().unwrap_or(rest);
    format!("http://{host}/stats")
}

/// Waits until every message of the mock has been delivered (or the session stopped,
/// or `seconds` passed).
async fn until_all_delivered(rec: &Recorder, total: usize, seconds: u32) {
    for _ in 0..seconds * 20 {
        if rec.message_ids().len() >= total || rec.stopped() {
            return;
        }
        sleep(50).await;
    }
}

/// What both live tests check: every mock message once, in order, through the drops.
fn assert_exactly_once(rec: &Recorder, mock_stats: &JsValue) {
    let total = num(mock_stats, "messages") as usize;
    assert!(total >= 100, "a real run: {}", json(mock_stats));
    let ids = rec.message_ids();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "a message was delivered twice");
    let expected: Vec<u64> = (0..total as u64).map(|i| FIRST_ID + i).collect();
    assert_eq!(ids, expected, "every message, in order, none missing");
    let drops = num(mock_stats, "drops");
    let stalls = num(mock_stats, "stalls");
    assert!(
        drops >= 2.0,
        "the mock really dropped us: {}",
        json(mock_stats)
    );
    assert!(
        num(mock_stats, "duplicatesSent") >= 5.0,
        "the mock really sent duplicates: {}",
        json(mock_stats)
    );
    let connections = num(mock_stats, "connections");
    assert_eq!(
        num(mock_stats, "reconnectsServed"),
        connections - 1.0,
        "every reconnect resumed from its cursor: {}",
        json(mock_stats)
    );
    assert_eq!(
        rec.states_before_last_message("connected").len() as f64,
        drops + stalls + 1.0
    );
    let reconnecting = rec.states_before_last_message("reconnecting");
    assert_eq!(
        reconnecting.len() as f64,
        drops + stalls,
        "one reconnect per drop or stall"
    );
    for r in &reconnecting {
        assert_eq!(text(r, "class"), "transient");
    }
    let disconnected = rec.states("disconnected");
    assert!(
        disconnected.iter().any(|d| num(d, "code") == 1006.0),
        "drops arrive as 1006: {:?}",
        disconnected.iter().map(json).collect::<Vec<_>>()
    );
    for s in rec.states("stopped") {
        assert_eq!(
            text(&s, "code"),
            "stopped",
            "the session never gave up: {}",
            json(&s)
        );
    }
}

/// Short backoff, and a liveness timeout short enough to catch a stall quickly.
const FAST_RETRY: &str =
    r#"{"transientBaseMs":100,"transientCapMs":300,"livenessTimeoutMs":1000,"seed":7}"#;

#[wasm_bindgen_test]
async fn relay_session_against_the_mock_survives_drops_exactly_once() {
    let Some(url) = option_env!("TIKCAST_MOCK_RELAY_URL") else {
        say("SKIPPED relay_session_against_the_mock_survives_drops_exactly_once: TIKCAST_MOCK_RELAY_URL was not set at compile time (scripts/test-js.sh sets it)");
        return;
    };
    let rec = Recorder::default();
    let opts = options(r#"{"transport":"relay","uniqueId":"@ada.demo"}"#);
    set(&opts, "url", &url.into());
    set(&opts, "session", &options(FAST_RETRY));
    let (conn, _cb) = connection(&opts, &rec);
    conn.start();
    let before = fetch_json(&stats_url(url)).await;
    let total = num(&before, "messages") as usize;
    until_all_delivered(&rec, total, 30).await;
    conn.stop();
    let stats = fetch_json(&stats_url(url)).await;
    assert_exactly_once(&rec, &stats);
    // The mock went silent once (--stall-after): the liveness timer closed it as 4006.
    let stalls = rec
        .states_before_last_message("disconnected")
        .iter()
        .filter(|d| num(d, "code") == 4006.0)
        .count();
    assert_eq!(stalls as f64, num(&stats, "stalls"), "{}", json(&stats));
    assert_eq!(stalls, 1, "the relay mock runs with --stall-after");
    // The relay's room description, parsed, once per connection at most.
    let infos: Vec<JsValue> = rec
        .all()
        .into_iter()
        .filter(|i| text(i, "type") == "roomInfo")
        .collect();
    assert!(!infos.is_empty());
    assert_eq!(text(&infos[0], "data.uniqueId"), "ada.demo");
    assert!(infos.len() <= rec.states("connected").len());
    let s = conn.stats();
    assert_eq!(num(&s, "messages") as usize, total);
    assert!(num(&s, "duplicates") >= 1.0, "{}", json(&s));
    assert_eq!(num(&s, "acksSent"), 0.0, "relays are not acked");
    assert!(conn.cursor().starts_with("mock-"), "{}", conn.cursor());
    let last = rec.all().pop().unwrap();
    assert_eq!(text(&last, "state"), "stopped");
    assert_eq!(text(&last, "code"), "stopped");
}

#[wasm_bindgen_test]
async fn direct_session_via_signed_url_enters_acks_and_resumes_exactly_once() {
    let Some(url) = option_env!("TIKCAST_MOCK_DIRECT_URL") else {
        say("SKIPPED direct_session_via_signed_url_enters_acks_and_resumes_exactly_once: TIKCAST_MOCK_DIRECT_URL was not set at compile time (scripts/test-js.sh sets it)");
        return;
    };
    let rec = Recorder::default();
    let calls = Rc::new(Cell::new(0u32));
    // An async signer, as apps have: a fresh URL per attempt.
    let signer = {
        let calls = calls.clone();
        Closure::<dyn FnMut() -> Promise>::new(move || {
            calls.set(calls.get() + 1);
            Promise::resolve(&JsValue::from_str(url))
        })
    };
    let opts = options(r#"{"transport":"signedUrl","roomId":"7300000000000000001"}"#);
    set(&opts, "signedUrl", signer.as_ref());
    set(&opts, "session", &options(FAST_RETRY));
    let (conn, _cb) = connection(&opts, &rec);
    conn.start();
    let before = fetch_json(&stats_url(url)).await;
    let total = num(&before, "messages") as usize;
    until_all_delivered(&rec, total, 30).await;
    let stats = fetch_json(&stats_url(url)).await;
    conn.stop();
    assert_exactly_once(&rec, &stats);
    assert_eq!(
        calls.get() as usize,
        rec.states("connecting").len(),
        "one signed URL per attempt"
    );
    assert!(
        num(&stats, "acks") >= 10.0,
        "acks checked by the mock: {}",
        json(&stats)
    );
    assert!(
        num(&stats, "heartbeats") >= num(&stats, "connections"),
        "{}",
        json(&stats)
    );
    let closes = get(&stats, "closes");
    assert_eq!(
        Object::keys(closes.unchecked_ref::<Object>()).length(),
        0,
        "the mock never closed us for a protocol fault: {}",
        json(&stats)
    );
    let s = conn.stats();
    assert!(num(&s, "acksSent") >= num(&stats, "acks"));
    assert!(num(&s, "heartbeatsSent") >= 1.0);
}

/// Every value the reader writes, through the event tape (`tape.rs` → `tape.js`): the JS
/// values must be what `JSON.parse` of the canonical JSON sink's text gives, strings with
/// any UTF-16 layout included, and a truncated event must leave no trace. (Every corpus
/// event is compared the same way by js/test/objects.test.mjs.)
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
            s.end_object();
            s.begin_array();
            s.end_array();
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
    let mut want = tikcast_core::JsonSink::new();
    write(&mut want, false);
    let want: Vec<String> = want
        .texts()
        .map(|t| json(&JSON::parse(t).unwrap()))
        .collect();
    let out = Array::new();
    tikcast_wasm::tape::with_tape(&out, |t| write(t, true)).unwrap();
    assert_eq!(out.length(), 2);
    for (i, v) in out.iter().enumerate() {
        assert_eq!(json(&v), want[i]);
    }
    assert_eq!(text(&out.get(0), "astral"), "\u{1f339}\u{1f525}x\u{1f600}");
    assert_eq!(num(&out.get(1), "big"), (1u64 << 40) as f64);
}
