//! `tikcast relay` JSON event mode (`format=json`) end to end on 127.0.0.1, with the
//! bundled demo recording (tests/fixtures/demo-session.tkrec) as a looped `replay:`
//! upstream: a JSON viewer gets exactly the canonical events of the session as the core
//! `Session` decodes it natively (whole JSON objects compared), an `events=` viewer only
//! the events it named, a binary viewer in the same room still every frame byte for byte,
//! unknown names are refused with HTTP 400 naming the valid ones, and a JSON viewer that
//! stops reading is cut off with 4008 while the others carry on.
//! Every child process is killed on drop and has its own `--max-seconds`.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tikcast_core::session::{Output, Session};
use tokio_tungstenite::tungstenite::Message;

use common::{ws_open, ws_open_small_buffer, Proc, Ws};

impl Proc {
    fn relay(args: &[&str]) -> Proc {
        let mut all = vec!["relay", "--listen", "127.0.0.1:0", "--max-seconds", "60"];
        all.extend_from_slice(args);
        Proc::start(&all, &[])
    }
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/demo-session.tkrec")
}

/// The records of a recording as (kind, t_ms, body), read with the documented layout
/// (docs/recording.md).
fn records(path: &Path) -> Vec<(u8, u64, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"TKCSTREC");
    let meta_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let mut at = 24 + meta_len;
    let mut out = Vec::new();
    while at + 17 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let t = u64::from_le_bytes(bytes[at + 5..at + 13].try_into().unwrap());
        out.push((bytes[at + 4], t, bytes[at + 17..at + 17 + len].to_vec()));
        at += 17 + len;
    }
    assert_eq!(at, bytes.len(), "the demo recording has a torn tail");
    out
}

/// The canonical events (serde JSON of `tikcast_core::Event`) of the recording, decoded
/// natively by a relay-mode `Session` with the SDK's default rules, on the recording's
/// clock: timers that fall due before a frame fire first, and the end closes what is open.
fn native_events(records: &[(u8, u64, Vec<u8>)]) -> Vec<Value> {
    let (mut s, conn) = common::open_relay_session(u64::MAX);
    let mut out = Vec::new();
    let mut collect = |s: &mut Session| {
        for o in s.poll_outputs() {
            if let Output::Events(events) = o {
                out.extend(
                    events
                        .to_events()
                        .iter()
                        .map(|e| serde_json::to_value(e).unwrap()),
                );
            }
        }
    };
    let mut last = 0;
    for (kind, t, body) in records {
        last = *t;
        while let Some(due) = s.poll_timeout().filter(|d| d <= t) {
            s.handle_timeout(due);
            collect(&mut s);
            if s.poll_timeout() == Some(due) {
                break;
            }
        }
        if *kind == 1 {
            s.on_frame(*t, conn, body);
            collect(&mut s);
        }
    }
    s.stop(last);
    collect(&mut s);
    out
}

/// What a viewer saw: its roomInfo, then the `data` of every JSON event (checked to be
/// `{"event": NAME, "data": {"type": NAME, …}}`) or every binary frame.
#[derive(Default)]
struct Seen {
    info: Option<Value>,
    events: Vec<Value>,
    frames: Vec<Vec<u8>>,
}

/// Reads until `done` holds, the socket ends or `limit` passes.
async fn read_until(ws: &mut Ws, limit: Duration, done: impl Fn(&Seen) -> bool) -> Seen {
    let mut seen = Seen::default();
    let deadline = tokio::time::Instant::now() + limit;
    while !done(&seen) {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if seen.info.is_none() {
                    assert_eq!(v["type"], "roomInfo", "the first message is the roomInfo");
                    seen.info = Some(v);
                    continue;
                }
                let obj = v.as_object().expect("an event message is an object");
                assert_eq!(obj.len(), 2, "{v}");
                assert_eq!(v["data"]["type"], v["event"], "{v}");
                seen.events.push(v["data"].clone());
            }
            Ok(Some(Ok(Message::Binary(b)))) => seen.frames.push(b.to_vec()),
            Ok(Some(Ok(Message::Close(f)))) => panic!("closed early: {f:?}"),
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("socket ended: {other:?}"),
            Err(_) => break,
        }
    }
    seen
}

fn ends_with<T: PartialEq>(seen: &[T], pass: &[T]) -> bool {
    seen.len() >= pass.len() && seen[seen.len() - pass.len()..] == *pass
}

/// How many events of each name, for readable failures.
fn census(events: &[Value]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for e in events {
        *m.entry(e["type"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_viewers_get_the_sessions_canonical_events_and_binary_stays_byte_identical() {
    let recs = records(&demo());
    let frames: Vec<Vec<u8>> = recs
        .iter()
        .filter(|r| r.0 == 1)
        .map(|r| r.2.clone())
        .collect();
    let all = native_events(&recs);
    // The demo script's own numbers (tests/fixtures/demo-session.jsonl): 39 chat comments,
    // ending with zed.demo's "good night"; one `gift` per single gift and per finished
    // streak; the stream end.
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/demo-session.jsonl"),
    )
    .unwrap();
    let script_count = |ty: &str| {
        script
            .lines()
            .filter(|l| l.contains(&format!("\"type\": \"{ty}\"")))
            .count()
    };
    let chats: Vec<&Value> = all.iter().filter(|e| e["type"] == "chat").collect();
    assert_eq!(chats.len(), script_count("chat"));
    assert_eq!(chats.len(), 39);
    assert_eq!(chats.last().unwrap()["comment"], "good night");
    assert_eq!(chats.last().unwrap()["user"]["uniqueId"], "zed.demo");
    let gifts = all.iter().filter(|e| e["type"] == "gift").count();
    assert_eq!(gifts, script_count("gift") + script_count("streak"));
    assert_eq!(all.last().unwrap()["type"], "streamEnd");
    let wanted = ["chat", "gift"];
    let filtered: Vec<Value> = all
        .iter()
        .filter(|e| wanted.contains(&e["type"].as_str().unwrap()))
        .cloned()
        .collect();

    // Looped, so whatever the viewers' connect order, each sees at least one whole pass.
    let relay = Proc::relay(&[
        "--upstream",
        &format!("replay:{}", demo().display()),
        "--speed",
        "40",
        "--loop",
        "--no-auth",
    ]);
    let mut json_all = ws_open(&relay, "uniqueId=demo.host&format=json").await;
    let mut json_some = ws_open(&relay, "uniqueId=demo.host&format=json&events=chat,gift").await;
    let mut binary = ws_open(&relay, "uniqueId=demo.host").await;
    let limit = Duration::from_secs(30);
    let (a, b, c) = tokio::join!(
        read_until(&mut json_all, limit, |s| ends_with(&s.events, &all)),
        read_until(&mut json_some, limit, |s| ends_with(&s.events, &filtered)),
        read_until(&mut binary, limit, |s| ends_with(&s.frames, &frames)),
    );
    assert!(
        ends_with(&a.events, &all),
        "the unfiltered JSON viewer did not get a whole pass of the native events: got {:?}, want {:?} per pass",
        census(&a.events),
        census(&all)
    );
    assert!(
        ends_with(&b.events, &filtered),
        "the events=chat,gift viewer: got {:?}, want {:?} per pass",
        census(&b.events),
        census(&filtered)
    );
    assert!(b
        .events
        .iter()
        .all(|e| wanted.contains(&e["type"].as_str().unwrap())));
    assert!(
        ends_with(&c.frames, &frames),
        "the binary viewer did not get the recording's frames unchanged ({} frames, {} per pass)",
        c.frames.len(),
        frames.len()
    );
    let (ia, ic) = (a.info.unwrap(), c.info.unwrap());
    assert_eq!(ia["uniqueId"], "demo.host");
    assert_eq!(ia["relay"]["format"], "json");
    assert!(ic["relay"].get("format").is_none(), "{ic}");
    assert_eq!(ia["title"], ic["title"]);
}

/// The raw answer to a WebSocket upgrade of `/ws?{query}`.
fn upgrade(addr: &str, query: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /ws?{query} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // The head, and for a refusal its body (the connection then closes).
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = s.read(&mut buf) {
        got.extend_from_slice(&buf[..n]);
        if got.starts_with(b"HTTP/1.1 101 ") && got.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn bad_formats_and_event_names_are_refused_with_400() {
    let relay = Proc::relay(&[
        "--upstream",
        &format!("replay:{}", demo().display()),
        "--no-auth",
    ]);
    let answer = upgrade(
        &relay.addr,
        "uniqueId=demo.host&format=json&events=chat,gifts",
    );
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(
        answer.contains("unknown event name \"gifts\" in events=; valid names: chat, gift, giftStreak, giftRaw, like,"),
        "{answer}"
    );
    let answer = upgrade(&relay.addr, "uniqueId=demo.host&format=xml");
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("unknown format \"xml\""), "{answer}");
    let answer = upgrade(&relay.addr, "uniqueId=demo.host&events=chat");
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("add format=json"), "{answer}");
    // A good request on the same relay is upgraded.
    let answer = upgrade(&relay.addr, "uniqueId=demo.host&format=json&events=chat");
    assert!(answer.starts_with("HTTP/1.1 101 "), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_json_viewer_is_cut_off_with_4008_and_the_others_carry_on() {
    let relay = Proc::relay(&[
        "--upstream",
        &format!("replay:{}", demo().display()),
        "--speed",
        "200",
        "--loop",
        "--no-auth",
        "--client-queue",
        "256",
        "--resume-frames",
        "0",
        "--viewer-send-buffer",
        "8192",
    ]);
    let q = "uniqueId=demo.host&format=json";
    // The stalled viewer: a tiny receive buffer, reads the roomInfo, then nothing.
    let mut slow = ws_open_small_buffer(&relay, q).await;
    let first = read_until(&mut slow, Duration::from_secs(5), |s| s.info.is_some()).await;
    assert!(first.info.is_some());
    // A reading viewer gets ten passes of the recording (6 s) meanwhile, and stays: its
    // queue holds 256 frames' worth of events (about 1.3 s at this speed).
    let mut normal = ws_open(&relay, q).await;
    let (mut events, mut passes) = (0u64, 0u32);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while passes < 10 {
        match tokio::time::timeout_at(deadline, normal.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                events += 1;
                passes += u32::from(t.starts_with(r#"{"event":"streamEnd","#));
            }
            Ok(Some(Ok(Message::Close(f)))) => panic!("the reading viewer was closed: {f:?}"),
            Ok(Some(Ok(_))) => {}
            other => panic!("the reading viewer's socket ended: {other:?}"),
        }
    }
    assert!(events > 10 * 39, "{events} events in 10 passes");
    // It goes on reading until the test ends: a reader that stopped here would fill its
    // own queue in about 1.3 s and be cut as well on a slow machine.
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = normal.next().await {} });
    assert_eq!(relay.metric("tikcast_relay_slow_viewer_drops_total"), 1);
    // The stalled viewer finds what was buffered and then the end: a 4008 close frame or,
    // if even that could not be written, a dropped connection.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let close = loop {
        match tokio::time::timeout_at(deadline, slow.next()).await {
            Ok(Some(Ok(Message::Close(f)))) => break f.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => {}
            Ok(_) => break None,
            Err(_) => panic!("the stalled viewer was never closed"),
        }
    };
    assert!(matches!(close, Some(4008) | None), "{close:?}");
    assert_eq!(
        relay.metric("tikcast_relay_viewer_closes_total{code=\"4008\"}"),
        1
    );
    assert!(relay.metric("tikcast_relay_json_events_out_total") > 0);
    drain.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_only_room_still_follows_the_viewer_count() {
    // With binary viewers only, the room's session decodes just `roomUser` and control
    // messages; the viewer count /api/rooms serves must still follow the stream.
    let recs = records(&demo());
    // The frames up to the demo's second `roomUser` (196 viewers at 10 s); the next one
    // (214) comes at 19 s, 0.9 s later at speed 10.
    let upto = recs.iter().filter(|r| r.0 == 1 && r.1 <= 10_000).count();
    let relay = Proc::relay(&[
        "--upstream",
        &format!("replay:{}", demo().display()),
        "--speed",
        "10",
        "--no-auth",
        "--public-api",
    ]);
    let mut binary = ws_open(&relay, "uniqueId=demo.host").await;
    let seen = read_until(&mut binary, Duration::from_secs(10), |s| {
        s.frames.len() >= upto
    })
    .await;
    assert_eq!(seen.frames.len(), upto);
    assert_eq!(
        seen.info.unwrap()["viewerCount"],
        180,
        "the roomInfo's own count"
    );
    let (_, _, body) = relay.http_get("/api/rooms/demo.host", &[]);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["source"], "relay", "{body}");
    assert_eq!(body["viewerCount"], 196, "{body}");
}
