//! `tikcast mock` end to end: the binary is started on a free port and driven by a raw
//! WebSocket client that speaks the protocol by hand (enter-room, heartbeats, acks).
//! Set `TIKCAST_MOCK_TEST_LOG=1` to see the server's stderr.

mod common;

use common::{http_exchange, Proc};

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use prost::Message as _;
use serde_json::Value;
use sha2::Sha256;
use tikcast_core::pb;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const ROOM: u64 = 7_300_000_000_000_000_001;
const FIRST_ID: u64 = 7_400_000_000_000_000_001;
const DIRECT: &str = "/webcast/im/ws_proxy/ws_reuse_supplement/";

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A running `tikcast mock` on 127.0.0.1 that stops by itself after 60 s.
fn start_mock(args: &[&str]) -> Proc {
    let mut all = vec!["mock", "--listen", "127.0.0.1:0", "--max-seconds", "60"];
    all.extend_from_slice(args);
    let mock = Proc::start(&all, &[]);
    assert!(mock.addr.starts_with("127.0.0.1:"), "{}", mock.addr);
    mock
}

impl Proc {
    fn url(&self, path_and_query: &str) -> String {
        format!("ws://{}{path_and_query}", self.addr)
    }

    fn direct_url(&self) -> String {
        self.url(&format!("{DIRECT}?room_id={ROOM}&compress=gzip"))
    }

    /// GET over plain HTTP: (status line, body).
    fn status_line_and_body(&self, path: &str) -> (String, String) {
        let text = http_exchange(&self.addr, "GET", path, &[], "");
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (head.lines().next().unwrap().to_string(), body.to_string())
    }

    /// Waits for the server to exit by itself (`--exit-when-done`) and returns the
    /// final `{"stats":…}` line.
    fn final_stats(mut self) -> Value {
        let status = self.wait_for_exit(Duration::from_secs(10));
        let status = status.expect("mock did not exit when done");
        assert!(status.success(), "mock exited with {status}");
        let rest = self.rest_of_stdout();
        let lines: Vec<&str> = rest.lines().collect();
        assert_eq!(lines.len(), 1, "only the stats line follows: {rest}");
        let v: Value = serde_json::from_str(lines[0]).unwrap();
        v["stats"].clone()
    }
}

async fn connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"))
        .0
}

/// The next message, or `None` when the stream ended (or failed: a dropped TCP connection).
async fn next(ws: &mut Ws) -> Option<Message> {
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(m))) => Some(m),
        Ok(_) => None,
        Err(_) => panic!("no message from the mock within 5 s"),
    }
}

/// The next message within `wait`, `None` on silence.
async fn next_within(ws: &mut Ws, wait: Duration) -> Option<Option<Message>> {
    match tokio::time::timeout(wait, ws.next()).await {
        Ok(Some(Ok(m))) => Some(Some(m)),
        Ok(_) => Some(None),
        Err(_) => None,
    }
}

async fn expect_close(ws: &mut Ws) -> (u16, String) {
    loop {
        match next(ws).await {
            Some(Message::Close(Some(f))) => return (u16::from(f.code), f.reason.to_string()),
            Some(Message::Close(None)) => panic!("close frame without a code"),
            Some(_) => continue,
            None => panic!("stream ended without a close frame"),
        }
    }
}

/// A server frame, with its fetch result when it has one.
#[derive(Debug)]
struct Frame {
    seq_id: u64,
    log_id: u64,
    payload_type: String,
    header_gzip: bool,
    magic_gzip: bool,
    raw: Vec<u8>,
    batch: pb::FetchResult,
}

impl Frame {
    fn ids(&self) -> Vec<u64> {
        self.batch.messages.iter().map(|m| m.msg_id).collect()
    }
}

fn parse_frame(bytes: &[u8]) -> Frame {
    let f = pb::PushFrame::decode(bytes).expect("push frame");
    let header_gzip = f
        .headers
        .iter()
        .any(|h| h.key == "compress_type" && h.value == "gzip");
    let magic_gzip = f.payload.starts_with(&[0x1f, 0x8b, 0x08]);
    let payload = if magic_gzip {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(f.payload.as_slice())
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        assert!(!header_gzip, "gzip header on a plain payload");
        f.payload.clone()
    };
    Frame {
        seq_id: f.seq_id,
        log_id: f.log_id,
        payload_type: f.payload_type,
        header_gzip,
        magic_gzip,
        raw: bytes.to_vec(),
        batch: pb::FetchResult::decode(payload.as_slice()).expect("fetch result"),
    }
}

fn enter_room(cursor: &str) -> Vec<u8> {
    tikcast_core::enter_room_frame(&tikcast_core::EnterRoom {
        room_id: ROOM,
        enter_unique_id: 1234,
        cursor: cursor.to_string(),
    })
}

fn heartbeat(seq: u64) -> Vec<u8> {
    tikcast_core::heartbeat_frame(ROOM, seq)
}

async fn send(ws: &mut Ws, bytes: Vec<u8>) {
    ws.send(Message::Binary(bytes.into())).await.unwrap();
}

/// Reads binary frames until `n` distinct msg ids arrived; returns every frame.
async fn read_until(ws: &mut Ws, n: usize) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while seen.len() < n {
        match next(ws).await {
            Some(Message::Binary(b)) => {
                let f = parse_frame(&b);
                if f.payload_type == "hb" {
                    // The server's answer to a heartbeat carries nothing.
                    continue;
                }
                seen.extend(f.ids());
                frames.push(f);
            }
            Some(Message::Close(f)) => panic!("closed early: {f:?}"),
            Some(_) => {}
            None => panic!("stream ended early"),
        }
    }
    frames
}

fn ids_of(frames: &[Frame]) -> Vec<u64> {
    frames.iter().flat_map(Frame::ids).collect()
}

fn range(from: u64, to: u64) -> Vec<u64> {
    (from..to).map(|i| FIRST_ID + i).collect()
}

fn event_json(frame: &Frame) -> Vec<Value> {
    tikcast_core::decode_frame(&frame.raw)
        .expect("decodes")
        .events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

fn jwt(claims: &Value, secret: &[u8]) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signing = format!(
        "{}.{}",
        e.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        e.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(signing.as_bytes());
    format!("{signing}.{}", e.encode(mac.finalize().into_bytes()))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn direct_endpoint_enforces_enter_room_and_heartbeats() {
    let mock = start_mock(&["--hb-timeout-ms", "300", "--messages", "3", "--rate", "0"]);

    // Silent client: closed for lack of heartbeats, without any message frame first.
    let mut ws = connect(&mock.direct_url()).await;
    let started = Instant::now();
    assert_eq!(
        next(&mut ws).await,
        Some(Message::Close(Some(close_frame(
            1000,
            "payload_handler_hb"
        ))))
    );
    assert!(started.elapsed() >= Duration::from_millis(250));

    // Entered but never heartbeats: gets the room, then the same close.
    let mut ws = connect(&mock.direct_url()).await;
    send(&mut ws, enter_room("")).await;
    let resp = match next(&mut ws).await {
        Some(Message::Binary(b)) => parse_frame(&b),
        other => panic!("expected im_enter_room_resp, got {other:?}"),
    };
    assert_eq!(resp.payload_type, "im_enter_room_resp");
    assert_eq!(resp.seq_id, 1);
    assert_eq!(
        expect_close(&mut ws).await,
        (1000, "payload_handler_hb".into())
    );

    // A heartbeat before entering, and a heartbeat with the wrong sequence number.
    let mut ws = connect(&mock.direct_url()).await;
    send(&mut ws, heartbeat(1)).await;
    assert_eq!(
        expect_close(&mut ws).await,
        (1000, "payload_handler_hb".into())
    );
    let mut ws = connect(&mock.direct_url()).await;
    send(&mut ws, enter_room("")).await;
    send(&mut ws, heartbeat(2)).await;
    assert_eq!(
        expect_close(&mut ws).await,
        (1000, "payload_handler_hb".into())
    );

    // An ack for a frame that was never sent.
    let mut ws = connect(&mock.direct_url()).await;
    send(&mut ws, enter_room("")).await;
    send(&mut ws, tikcast_core::ack_frame(42, "nope")).await;
    assert_eq!(
        expect_close(&mut ws).await,
        (1000, "payload_handler_ack".into())
    );

    let stats = mock.stats();
    assert_eq!(stats["closes"], serde_json::json!({"1000": 5}));
    assert_eq!(stats["connections"], 5);
}

#[tokio::test]
async fn direct_endpoint_enforces_acks() {
    let mock = start_mock(&[
        "--ack-timeout-ms",
        "300",
        "--hb-timeout-ms",
        "5000",
        "--messages",
        "10",
        "--rate",
        "0",
    ]);
    // Frames never acked: closed once the oldest has waited too long.
    let mut ws = connect(&mock.direct_url()).await;
    send(&mut ws, enter_room("")).await;
    send(&mut ws, heartbeat(1)).await;
    let started = Instant::now();
    read_until(&mut ws, 10).await;
    assert_eq!(
        expect_close(&mut ws).await,
        (1000, "payload_handler_ack".into())
    );
    assert!(started.elapsed() >= Duration::from_millis(250));

    // An ack with the right log id but another frame's internal_ext (a mock with a
    // long ack timeout, so a slow machine cannot turn this into a timeout case).
    let mock = start_mock(&[
        "--ack-timeout-ms",
        "20000",
        "--hb-timeout-ms",
        "20000",
        "--messages",
        "10",
        "--rate",
        "0",
    ]);
    let mut ws = connect(&mock.direct_url()).await;
    send(&mut ws, enter_room("")).await;
    let frames = read_until(&mut ws, 10).await;
    let msg: Vec<&Frame> = frames.iter().filter(|f| f.payload_type == "msg").collect();
    send(
        &mut ws,
        tikcast_core::ack_frame(msg[0].log_id, &msg[0].batch.internal_ext),
    )
    .await;
    send(
        &mut ws,
        tikcast_core::ack_frame(msg[1].log_id, &msg[0].batch.internal_ext),
    )
    .await;
    assert_eq!(
        expect_close(&mut ws).await,
        (1000, "payload_handler_ack".into())
    );
    assert_eq!(mock.stats()["acks"], 1);
}

#[tokio::test]
async fn rate_paces_frames() {
    // 100 messages/s in frames of 5: a frame every 50 ms.
    let mock = start_mock(&["--messages", "20", "--rate", "100", "--batch", "5"]);
    let mut ws = connect(&mock.url("/ws?uniqueId=mock.host")).await;
    let mut arrivals = Vec::new();
    let mut n = 0;
    while n < 20 {
        if let Some(Message::Binary(b)) = next(&mut ws).await {
            n += parse_frame(&b).ids().len();
            arrivals.push(Instant::now());
        }
    }
    assert_eq!(arrivals.len(), 4);
    let spread = arrivals[3] - arrivals[0];
    assert!(spread >= Duration::from_millis(130), "{spread:?}");
    assert!(spread < Duration::from_millis(1000), "{spread:?}");
}

fn close_frame(code: u16, reason: &str) -> tokio_tungstenite::tungstenite::protocol::CloseFrame {
    tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: code.into(),
        reason: reason.into(),
    }
}

#[tokio::test]
async fn well_behaved_client_gets_every_message_in_order() {
    let mock = start_mock(&[
        "--messages",
        "23",
        "--batch",
        "5",
        "--rate",
        "0",
        "--gzip",
        "mixed",
        "--hb-timeout-ms",
        "3000",
        "--ack-timeout-ms",
        "3000",
        "--exit-when-done",
    ]);
    let mut ws = connect(&mock.direct_url()).await;
    send(&mut ws, enter_room("")).await;
    send(&mut ws, heartbeat(1)).await;
    let mut frames = Vec::new();
    let mut ids = Vec::new();
    let mut hb_replies = 0;
    let mut all_seqs = Vec::new();
    // Every message, and the answer to heartbeat 1 (which may come before, between or
    // after the message frames: the mock sends both as soon as it can).
    while ids.len() < 23 || hb_replies == 0 {
        let Some(Message::Binary(b)) = next(&mut ws).await else {
            panic!("expected a binary frame");
        };
        let f = parse_frame(&b);
        all_seqs.push(f.seq_id);
        if f.payload_type == "msg" {
            // Ack exactly as TikTok's web player does: same log id, internal_ext as payload.
            send(
                &mut ws,
                tikcast_core::ack_frame(f.log_id, &f.batch.internal_ext),
            )
            .await;
            ids.extend(f.ids());
            frames.push(f);
        } else if f.payload_type == "hb" {
            hb_replies += 1;
        } else {
            assert_eq!(f.payload_type, "im_enter_room_resp");
            assert_eq!(f.batch.cursor, "mock-0");
        }
    }
    send(&mut ws, heartbeat(2)).await;
    assert_eq!(ids, range(0, 23));
    assert_eq!(
        hb_replies, 1,
        "the server answers the first heartbeat with its own hb"
    );
    let cursors: Vec<&str> = frames.iter().map(|f| f.batch.cursor.as_str()).collect();
    assert_eq!(
        cursors,
        ["mock-5", "mock-10", "mock-15", "mock-20", "mock-23"]
    );
    // One sequence over every server frame: the enter-room response is 1, then the answer
    // to heartbeat 1 and the five message frames in whichever order the mock sent them
    // (its select takes whichever is ready).
    assert_eq!(all_seqs[0], 1);
    assert_eq!(all_seqs, (1..=7).collect::<Vec<u64>>());
    let firsts: Vec<bool> = frames.iter().map(|f| f.batch.is_first).collect();
    assert_eq!(firsts, [true, false, false, false, false]);
    assert!(frames
        .iter()
        .all(|f| f.batch.need_ack && f.batch.heartbeat_duration == 10_000));
    assert!(frames.windows(2).all(|w| w[0].log_id < w[1].log_id));
    assert!(
        frames.iter().any(|f| f.magic_gzip)
            && frames.iter().all(|f| !f.header_gzip || f.magic_gzip)
    );

    // Our own decoder reads every message, with the envelope's msg id inside.
    let mut types = std::collections::BTreeSet::new();
    for f in &frames {
        let ids = f.ids();
        for e in event_json(f) {
            let id: u64 = e["msgId"].as_str().unwrap().parse().unwrap();
            assert!(ids.contains(&id), "{e}");
            assert_eq!(e["roomId"], ROOM.to_string());
            types.insert(e["type"].as_str().unwrap().to_string());
        }
    }
    for t in [
        "chat", "like", "member", "gift", "follow", "share", "roomUser",
    ] {
        assert!(types.contains(t), "no {t} in {types:?}");
    }

    // Without --close-code the socket stays open after the last message: only the
    // answer to heartbeat 2 follows.
    let Some(Some(Message::Binary(b))) = next_within(&mut ws, Duration::from_secs(5)).await else {
        panic!("expected the heartbeat answer");
    };
    assert_eq!(parse_frame(&b).payload_type, "hb");
    assert!(next_within(&mut ws, Duration::from_millis(300))
        .await
        .is_none());
    ws.close(None).await.unwrap();
    let stats = mock.final_stats();
    assert_eq!(stats["uniqueMessagesSent"], 23);
    assert_eq!(stats["uniqueMsgIds"], 23);
    assert_eq!(stats["messagesSent"], 23);
    assert_eq!(stats["framesSent"], 5);
    assert_eq!(stats["acks"], 5);
    assert_eq!(stats["heartbeats"], 2);
    assert_eq!(stats["connections"], 1);
    assert_eq!(stats["closes"], serde_json::json!({}));
}

#[tokio::test]
async fn resuming_from_a_cursor_yields_exactly_the_rest() {
    let mock = start_mock(&[
        "--messages",
        "20",
        "--batch",
        "4",
        "--rate",
        "0",
        "--gzip",
        "off",
    ]);
    let mut ws = connect(&mock.direct_url()).await;
    send(&mut ws, enter_room("")).await;
    send(&mut ws, heartbeat(1)).await;
    let frames = read_until(&mut ws, 8).await;
    let second = frames
        .iter()
        .filter(|f| f.payload_type == "msg")
        .nth(1)
        .unwrap();
    assert_eq!(second.batch.cursor, "mock-8");
    let cursor = second.batch.cursor.clone();
    drop(ws);

    // Direct: the enter-room cursor wins over the query.
    let url = format!("{}&cursor=mock-2", mock.direct_url());
    let mut ws = connect(&url).await;
    send(&mut ws, enter_room(&cursor)).await;
    send(&mut ws, heartbeat(1)).await;
    let frames = read_until(&mut ws, 12).await;
    assert_eq!(ids_of(&frames), range(8, 20));
    assert!(frames[1].batch.is_first);

    // Direct with only the query cursor.
    let mut ws = connect(&url).await;
    send(&mut ws, enter_room("")).await;
    let frames = read_until(&mut ws, 18).await;
    assert_eq!(ids_of(&frames), range(2, 20));

    // Relay with a query cursor; a garbage cursor starts from the beginning.
    let mut ws = connect(&mock.url("/ws?uniqueId=mock.host&cursor=mock-16")).await;
    let frames = read_until(&mut ws, 4).await;
    assert_eq!(ids_of(&frames), range(16, 20));
    let mut ws = connect(&mock.url("/ws?uniqueId=mock.host&cursor=t-1_r-2")).await;
    let frames = read_until(&mut ws, 20).await;
    assert_eq!(ids_of(&frames), range(0, 20));
    // Resuming at the end sends nothing more.
    let mut ws = connect(&mock.url("/ws?uniqueId=mock.host&cursor=mock-20")).await;
    assert!(matches!(next(&mut ws).await, Some(Message::Text(_))));
    assert!(next_within(&mut ws, Duration::from_millis(200))
        .await
        .is_none());

    let stats = mock.stats();
    assert_eq!(stats["reconnectsServed"], 4);
    assert_eq!(stats["uniqueMessagesSent"], 20);
}

/// Reads the relay until the server closes (with `--close-code`), resuming after every
/// drop; returns the msg ids as received, per connection.
async fn drain_with_resume(mock: &Proc) -> Vec<Vec<u64>> {
    let mut cursor = String::new();
    let mut per_connection = Vec::new();
    loop {
        let mut ws = connect(&mock.url(&format!("/ws?uniqueId=mock.host&cursor={cursor}"))).await;
        let mut ids = Vec::new();
        let mut closed = false;
        while let Some(m) = next(&mut ws).await {
            match m {
                Message::Binary(b) => {
                    let f = parse_frame(&b);
                    cursor = f.batch.cursor.clone();
                    ids.extend(f.ids());
                }
                Message::Close(f) => {
                    assert_eq!(f.map(|f| u16::from(f.code)), Some(1000));
                    closed = true;
                }
                _ => {}
            }
        }
        per_connection.push(ids);
        if closed {
            return per_connection;
        }
        assert!(per_connection.len() < 50, "too many reconnects");
    }
}

#[tokio::test]
async fn duplicates_and_drops_are_deterministic_for_a_seed() {
    let args = |seed: &'static str| {
        [
            "--messages",
            "40",
            "--batch",
            "5",
            "--rate",
            "0",
            "--duplicate-rate",
            "0.3",
            "--drop-after",
            "7",
            "--seed",
            seed,
            "--close-code",
            "1000",
            "--exit-when-done",
        ]
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let mock = start_mock(&args("42"));
        let received = drain_with_resume(&mock).await;
        runs.push((received, mock.final_stats()));
    }
    assert_eq!(runs[0], runs[1]);
    let (received, stats) = &runs[0];
    // First transmissions cross 7, 14, 21, 28 and 35 (a frame adds at most 5, so one
    // crossing each): five drops, six connections.
    assert_eq!(stats["drops"], 5);
    assert_eq!(received.len(), 6);
    assert_eq!(stats["connections"], 6);
    assert_eq!(stats["reconnectsServed"], 5);
    assert_eq!(stats["uniqueMessagesSent"], 40);
    assert_eq!(stats["uniqueMsgIds"], 40);
    assert_eq!(stats["closes"], serde_json::json!({"1000": 1}));
    let dups = stats["duplicatesSent"].as_u64().unwrap();
    assert!(dups > 0, "{stats}");
    assert_eq!(stats["messagesSent"].as_u64().unwrap(), 40 + dups);
    let all: Vec<u64> = received.iter().flatten().copied().collect();
    assert_eq!(all.len() as u64, 40 + dups);
    // A duplicate is sent once, and a resumed connection does not resend anything.
    let mut counts = std::collections::BTreeMap::new();
    for id in &all {
        *counts.entry(*id).or_insert(0) += 1;
    }
    assert!(counts.values().all(|&c| c <= 2));
    assert_eq!(counts.values().filter(|&&c| c == 2).count() as u64, dups);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique, range(0, 40));

    // Another seed, other duplicates.
    let mock = start_mock(&args("7"));
    let received = drain_with_resume(&mock).await;
    assert_ne!(received, runs[0].0);
}

#[tokio::test]
async fn stall_goes_silent_once_and_the_next_connection_resumes() {
    let mock = start_mock(&[
        "--messages",
        "12",
        "--batch",
        "3",
        "--rate",
        "0",
        "--stall-after",
        "6",
    ]);
    let mut stalled = connect(&mock.url("/ws?uniqueId=mock.host")).await;
    let frames = read_until(&mut stalled, 6).await;
    assert_eq!(ids_of(&frames), range(0, 6));
    // Silent, but not closed.
    assert!(next_within(&mut stalled, Duration::from_millis(400))
        .await
        .is_none());
    let cursor = &frames.last().unwrap().batch.cursor;
    let mut ws = connect(&mock.url(&format!("/ws?uniqueId=mock.host&cursor={cursor}"))).await;
    let frames = read_until(&mut ws, 6).await;
    assert_eq!(ids_of(&frames), range(6, 12));
    let stats = mock.stats();
    assert_eq!(stats["stalls"], 1);
    assert_eq!(stats["connections"], 2);
    // The stalled socket is still open and still silent.
    assert!(next_within(&mut stalled, Duration::from_millis(50))
        .await
        .is_none());
}

#[tokio::test]
async fn relay_checks_the_jwt_and_the_creator() {
    let secret = b"relay-test-secret";
    let mock = start_mock(&[
        "--jwt-secret",
        "relay-test-secret",
        "--messages",
        "6",
        "--rate",
        "0",
        "--batch",
        "4",
    ]);
    let exp = unix_now() + 60;
    let good = jwt(
        &serde_json::json!({"exp": exp, "allowedCreators": ["@Mock.Host"]}),
        secret,
    );

    let mut ws = connect(&mock.url(&format!("/ws?uniqueId=@mock.host&jwtKey={good}"))).await;
    let Some(Message::Text(info)) = next(&mut ws).await else {
        panic!("roomInfo text first");
    };
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["type"], "roomInfo");
    assert_eq!(info["roomId"], ROOM.to_string());
    assert_eq!(info["uniqueId"], "mock.host");
    assert_eq!(info["isLive"], true);
    let frames = read_until(&mut ws, 6).await;
    assert_eq!(ids_of(&frames), range(0, 6));
    assert!(frames
        .iter()
        .all(|f| f.payload_type == "msg" && !f.batch.need_ack));
    assert_eq!(frames[0].seq_id, 1);

    let refused = [
        (
            jwt(&serde_json::json!({"exp": exp}), b"wrong secret"),
            "mock.host",
            4401,
            "invalid auth",
        ),
        (
            jwt(&serde_json::json!({"exp": unix_now() - 10}), secret),
            "mock.host",
            4401,
            "invalid auth",
        ),
        (String::new(), "mock.host", 4401, "invalid auth"),
        ("not.a.jwt".to_string(), "mock.host", 4401, "invalid auth"),
        (
            jwt(
                &serde_json::json!({"exp": exp, "allowedCreators": ["someone.else"]}),
                secret,
            ),
            "mock.host",
            4403,
            "no permission",
        ),
        (good.clone(), "", 4400, "invalid options"),
    ];
    for (token, creator, code, reason) in refused {
        let mut ws = connect(&mock.url(&format!("/ws?uniqueId={creator}&jwtKey={token}"))).await;
        assert_eq!(
            expect_close(&mut ws).await,
            (code, reason.to_string()),
            "{creator} {token}"
        );
    }
    let stats = mock.stats();
    assert_eq!(
        stats["closes"],
        serde_json::json!({"4400": 1, "4401": 4, "4403": 1})
    );
}

#[tokio::test]
async fn stats_endpoint_and_unknown_paths() {
    let mock = start_mock(&["--messages", "5"]);
    let stats = mock.stats();
    let mut keys: Vec<&str> = stats
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "acks",
            "closes",
            "connections",
            "drops",
            "duplicatesSent",
            "framesSent",
            "giftLists",
            "heartbeats",
            "messages",
            "messagesSent",
            "reconnectsServed",
            "stalls",
            "uniqueMessagesSent",
            "uniqueMsgIds",
            "userLookups"
        ]
    );
    assert_eq!(stats["messages"], 5);
    // TikTok's web side: a user lookup and the gift list, each counted.
    let (status, body) = mock.status_line_and_body("/api-live/user/room/?aid=1988&uniqueId=Ada");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let user: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(user["data"]["user"]["uniqueId"], "ada");
    assert_eq!(user["data"]["liveRoom"]["status"], 2);
    let (status, body) = mock.status_line_and_body("/webcast/gift/list/?aid=1988");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let gifts: Value = serde_json::from_str(&body).unwrap();
    assert!(gifts["data"]["gifts"].as_array().unwrap().len() > 1);
    let stats = mock.stats();
    assert_eq!(
        (&stats["userLookups"], &stats["giftLists"]),
        (&serde_json::json!(1), &serde_json::json!(1))
    );
    assert_eq!(
        mock.status_line_and_body("/nope").0,
        "HTTP/1.1 404 Not Found"
    );
    assert!(tokio_tungstenite::connect_async(mock.url("/nope"))
        .await
        .is_err());
}

#[tokio::test]
async fn close_code_without_messages_closes_at_once() {
    let mock = start_mock(&["--messages", "0", "--close-code", "4404"]);
    let mut ws = connect(&mock.url("/ws?uniqueId=mock.host")).await;
    assert_eq!(
        next(&mut ws).await,
        Some(Message::Close(Some(close_frame(4404, "not live"))))
    );
    let mut ws = connect(&mock.direct_url()).await;
    send(&mut ws, enter_room("")).await;
    let Some(Message::Binary(resp)) = next(&mut ws).await else {
        panic!("enter-room response first");
    };
    assert_eq!(parse_frame(&resp).payload_type, "im_enter_room_resp");
    assert_eq!(expect_close(&mut ws).await, (4404, "not live".into()));
}

#[tokio::test]
async fn script_events_are_encoded_by_our_encoder() {
    let raw = pb::ChatMessage {
        content: "raw hello".into(),
        ..Default::default()
    }
    .encode_to_vec();
    let raw = base64::engine::general_purpose::STANDARD.encode(raw);
    let script = format!(
        r#"# a tiny show
{{"type":"member","user":"alice"}}
{{"type":"chat","user":"alice","comment":"hi"}}

{{"type":"like","user":"bob","count":5,"total":100}}
{{"type":"gift","user":"bob","giftId":5655,"giftName":"Rose","diamonds":1,"streakable":true,"repeatCount":3,"repeatEnd":false,"groupId":1}}
{{"type":"follow","user":"carol"}}
{{"type":"share","user":"carol"}}
{{"type":"roomUser","viewers":123}}
{{"type":"raw","method":"WebcastChatMessage","payload":"{raw}"}}
{{"type":"control","action":3}}
"#
    );
    let path =
        std::env::temp_dir().join(format!("tikcast-mock-script-{}.jsonl", std::process::id()));
    std::fs::write(&path, script).unwrap();
    let mock = start_mock(&[
        "--script",
        path.to_str().unwrap(),
        "--rate",
        "0",
        "--batch",
        "3",
    ]);
    let mut ws = connect(&mock.url("/ws?uniqueId=mock.host")).await;
    let frames = read_until(&mut ws, 9).await;
    assert_eq!(ids_of(&frames), range(0, 9));
    let events: Vec<Value> = frames.iter().flat_map(event_json).collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "member",
            "chat",
            "like",
            "gift",
            "social",
            "follow",
            "social",
            "share",
            "roomUser",
            "chat",
            "controlMessage",
            "streamEnd"
        ]
    );
    assert_eq!(events[1]["comment"], "hi");
    assert_eq!(events[1]["user"]["uniqueId"], "alice");
    assert_eq!(events[0]["user"]["userId"], events[1]["user"]["userId"]);
    assert_eq!(
        (
            events[2]["likeCount"].as_i64(),
            events[2]["totalLikeCount"].as_i64()
        ),
        (Some(5), Some(100))
    );
    assert_eq!(events[3]["giftName"], "Rose");
    assert_eq!(
        (
            events[3]["repeatCount"].as_i64(),
            events[3]["repeatEnd"].as_bool()
        ),
        (Some(3), Some(false))
    );
    assert_eq!(events[8]["viewerCount"], 123);
    assert_eq!(events[9]["comment"], "raw hello");
    assert_eq!(events[9]["msgId"], (FIRST_ID + 7).to_string());
    assert_eq!(events[9]["roomId"], ROOM.to_string());
    drop(mock);

    // `tikcast decode` reads the same: a whole frame, and one payload with --method.
    let decoded = decode_cli(&[], &frames[0].raw);
    assert_eq!(
        decoded,
        frames[0..1].iter().flat_map(event_json).collect::<Vec<_>>()
    );
    let gift = &frames[1].batch.messages[0];
    assert_eq!(gift.method, "WebcastGiftMessage");
    let decoded = decode_cli(&["--method", "WebcastGiftMessage"], &gift.payload);
    assert_eq!(decoded, [events[3].clone()]);

    // A bad line names its number.
    std::fs::write(
        &path,
        "{\"type\":\"chat\",\"user\":\"a\",\"comment\":\"x\"}\n\n{\"type\":\"dance\"}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tikcast"))
        .args(["mock", "--max-seconds", "5", "--script"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("tikcast: script ") && err.contains("line 3: unknown type \"dance\""),
        "{err}"
    );
}

/// One script format: the committed demo session script, served by the mock with the
/// demo's gift catalog, gives the events of the demo recording made from it, in the same
/// order (ids, times and streak group ids are the mock's own).
#[tokio::test]
async fn the_demo_session_script_plays_as_the_demo_recording_does() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let path = |name: &str| fixtures.join(name).to_str().unwrap().to_string();
    let replay = Command::new(env!("CARGO_BIN_EXE_tikcast"))
        .arg("replay")
        .arg(path("demo-session.tkrec"))
        .output()
        .unwrap();
    assert!(replay.status.success());
    let recorded: Vec<Value> = String::from_utf8(replay.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] != "roomInfo")
        .collect();
    let messages: std::collections::HashSet<&str> = recorded
        .iter()
        .map(|e| e["msgId"].as_str().unwrap())
        .collect();
    let (script, gifts) = (path("demo-session.jsonl"), path("demo-gifts.json"));
    let mock = start_mock(&[
        "--script", &script, "--gifts", &gifts, "--rate", "0", "--batch", "25",
    ]);
    let mut ws = connect(&mock.url("/ws?uniqueId=demo.host")).await;
    let frames = read_until(&mut ws, messages.len()).await;
    assert_eq!(ids_of(&frames), range(0, messages.len() as u64));
    let served: Vec<Value> = frames.iter().flat_map(event_json).collect();
    // What the viewer sees of each event, without ids and times.
    let seen = |e: &Value| {
        json_fields(
            e,
            &[
                "type",
                "comment",
                "giftName",
                "repeatCount",
                "repeatEnd",
                "totalLikeCount",
                "viewerCount",
                "roomId",
            ],
        )
        .chain(std::iter::once(e["user"]["uniqueId"].clone()))
        .chain(std::iter::once(e["user"]["nickname"].clone()))
        .collect::<Vec<Value>>()
    };
    assert_eq!(
        served.iter().map(seen).collect::<Vec<_>>(),
        recorded.iter().map(seen).collect::<Vec<_>>()
    );
    assert!(served
        .iter()
        .any(|e| e["type"] == "gift" && e["giftName"] == "Rocket Ship"));
}

fn json_fields<'a>(e: &'a Value, names: &'a [&str]) -> impl Iterator<Item = Value> + 'a {
    names.iter().map(move |n| e[*n].clone())
}

/// Runs `tikcast decode ARGS -` on `input`; one JSON value per output line.
fn decode_cli(args: &[&str], input: &[u8]) -> Vec<Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tikcast"))
        .arg("decode")
        .args(args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn corpus_samples_get_mock_msg_ids() {
    let Some(dir) = common::corpus("log.json", "corpus_samples_get_mock_msg_ids") else {
        return;
    };
    let mock = start_mock(&[
        "--corpus",
        dir.to_str().unwrap(),
        "--messages",
        "40",
        "--rate",
        "0",
        "--batch",
        "10",
    ]);
    let mut ws = connect(&mock.url("/ws?uniqueId=mock.host")).await;
    let frames = read_until(&mut ws, 40).await;
    assert_eq!(ids_of(&frames), range(0, 40));
    let methods: std::collections::BTreeSet<&str> = frames
        .iter()
        .flat_map(|f| f.batch.messages.iter().map(|m| m.method.as_str()))
        .collect();
    assert!(
        methods.len() >= 20,
        "first 40 samples are varied: {methods:?}"
    );
    let mut matched = 0;
    for f in &frames {
        for e in event_json(f) {
            if e["type"] != "decodeError" && e["type"] != "unknown" && e["msgId"] != "0" {
                let id: u64 = e["msgId"].as_str().unwrap().parse().unwrap();
                assert!(f.ids().contains(&id), "{}", e["type"]);
                matched += 1;
            }
        }
    }
    assert!(matched >= 30, "{matched}");
    // Our ids are merged into each payload's one `common`: decoder v2 (`tikcast decode`),
    // which refuses a second `common`, reads every frame as the typed decoder does.
    for f in &frames {
        assert_eq!(decode_cli(&[], &f.raw), event_json(f));
    }

    // An empty directory is refused with a clear message.
    let empty = std::env::temp_dir().join(format!("tikcast-mock-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tikcast"))
        .args(["mock", "--max-seconds", "5", "--corpus"])
        .arg(&empty)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir(&empty);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no samples"));
}
