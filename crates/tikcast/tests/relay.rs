//! `tikcast relay` end to end on 127.0.0.1, with `tikcast mock` as its upstream: auth
//! close codes, fan-out over one upstream, cursor resume, slow-viewer cut-off, upstream
//! end and lifetime codes, the tiktok upstream through a fake sign server, recordings
//! replayed byte for byte (and up to a tear), and the HTTP helpers.
//! Every child process is killed on drop and has its own `--max-seconds`.

mod common;
/// The server-side frame encoder of `tikcast mock` and the fixtures (the same file).
#[path = "../src/frames.rs"]
#[allow(dead_code)] // this test builds only msg frames
mod frames;

use common::{relay_args, ws_open, ws_open_small_buffer, Proc, Ws};

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use prost::Message as _;
use serde_json::{json, Value};
use tikcast_core::pb;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "relay-test-secret-0123456789";
const ROOM: u64 = 7_300_000_000_000_000_001;

impl Proc {
    fn relay(upstream: &str, args: &[&str]) -> Proc {
        Proc::relay_env(upstream, args, &[])
    }

    fn relay_env(upstream: &str, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut extra = vec!["--grace-ms", "200"];
        extra.extend_from_slice(args);
        Proc::start(&relay_args(upstream, SECRET, &extra), env)
    }

    /// CPU time (user + system) the process has used so far.
    fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.id())).unwrap();
        // Fields after the command name (which is in parentheses and may hold spaces):
        // state is field 3, utime field 14 and stime field 15.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
    }
}

/// USER_HZ, the unit of /proc/PID/stat times (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(100.0)
}

fn token(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn good_token() -> String {
    token(
        json!({"exp": now() + 60, "allowedCreators": "*", "maxWebSockets": 10}),
        SECRET,
    )
}

/// What a viewer saw: the roomInfo, every binary frame, and the close code.
#[derive(Default, Debug)]
struct Seen {
    info: Option<Value>,
    frames: Vec<Vec<u8>>,
    close: Option<u16>,
    reason: String,
}

/// Reads until the socket closes, `frames` binary frames arrived, or `limit` passes.
async fn read(ws: &mut Ws, frames: usize, limit: Duration) -> Seen {
    let mut seen = Seen::default();
    let deadline = tokio::time::Instant::now() + limit;
    while seen.frames.len() < frames {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => break,
            Ok(Some(Ok(Message::Text(t)))) => seen.info = Some(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(Message::Binary(b)))) => seen.frames.push(b.to_vec()),
            Ok(Some(Ok(Message::Close(f)))) => {
                seen.reason = f.as_ref().map(|f| f.reason.to_string()).unwrap_or_default();
                seen.close = f.map(|f| u16::from(f.code));
                break;
            }
            Ok(Some(Ok(_))) => {}
            Ok(_) => break,
        }
    }
    seen
}

async fn close_code(relay: &Proc, query: &str) -> Option<u16> {
    close_of(relay, query).await.0
}

/// The close code and reason a socket opened with `query` ends with (within 5 s).
async fn close_of(relay: &Proc, query: &str) -> (Option<u16>, String) {
    let mut ws = ws_open(relay, query).await;
    let seen = read(&mut ws, usize::MAX, Duration::from_secs(5)).await;
    (seen.close, seen.reason)
}

/// The batch of a `msg` frame (gzip or plain), `None` for other frame types.
fn batch(frame: &[u8]) -> Option<pb::FetchResult> {
    let f = pb::PushFrame::decode(frame).unwrap();
    if f.payload_type != "msg" {
        return None;
    }
    let payload = if f.payload.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(f.payload.as_slice())
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        f.payload
    };
    Some(pb::FetchResult::decode(payload.as_slice()).unwrap())
}

fn msg_ids(frames: &[Vec<u8>]) -> Vec<u64> {
    frames
        .iter()
        .filter_map(|f| batch(f))
        .flat_map(|b| b.messages.into_iter().map(|m| m.msg_id))
        .collect()
}

/// The frame records of a recording, read with the documented layout (docs/recording.md).
fn recorded_frames(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"TKCSTREC");
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 2);
    let meta_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let mut at = 24 + meta_len;
    let mut frames = Vec::new();
    while at + 17 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if at + 17 + len > bytes.len() {
            break;
        }
        if bytes[at + 4] == 1 {
            frames.push(bytes[at + 17..at + 17 + len].to_vec());
        }
        at += 17 + len;
    }
    frames
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tikcast-relay-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_and_parameters_get_their_close_codes() {
    let mock = Proc::mock(&["--messages", "100000", "--rate", "50"]);
    let relay = Proc::relay(&format!("mock:ws://{}/ws", mock.addr), &[]);
    let expired = token(json!({"exp": now() - 120}), SECRET);
    let wrong_key = token(json!({"exp": now() + 60}), "some-other-secret-0123456");
    let other_creator = token(
        json!({"exp": now() + 60, "allowedCreators": ["bob"]}),
        SECRET,
    );
    let string_nbf = token(json!({"exp": now() + 60, "nbf": "now"}), SECRET);
    assert_eq!(
        close_code(&relay, &format!("uniqueId=ada&jwtKey={expired}")).await,
        Some(4401)
    );
    assert_eq!(
        close_code(&relay, &format!("uniqueId=ada&jwtKey={wrong_key}")).await,
        Some(4401)
    );
    assert_eq!(
        close_code(&relay, &format!("uniqueId=ada&jwtKey={string_nbf}")).await,
        Some(4401)
    );
    assert_eq!(close_code(&relay, "uniqueId=ada").await, Some(4401));
    assert_eq!(
        close_code(&relay, &format!("uniqueId=ada&jwtKey={other_creator}")).await,
        Some(4403)
    );
    assert_eq!(
        close_code(&relay, &format!("jwtKey={}", good_token())).await,
        Some(4400)
    );
    assert_eq!(
        close_code(&relay, &format!("uniqueId=a%2Fb&jwtKey={}", good_token())).await,
        Some(4400)
    );
    // maxWebSockets 1: the second socket with the same token is refused.
    let one = token(json!({"exp": now() + 60, "maxWebSockets": 1}), SECRET);
    let mut first = ws_open(&relay, &format!("uniqueId=ada&jwtKey={one}")).await;
    let seen = read(&mut first, 1, Duration::from_secs(5)).await;
    assert!(seen.info.is_some() && seen.close.is_none(), "{seen:?}");
    assert_eq!(
        close_code(&relay, &format!("uniqueId=ada&jwtKey={one}")).await,
        Some(4429)
    );
    // None of them opened an upstream.
    assert_eq!(mock.stats()["connections"], 1);
    assert_eq!(
        relay.metric("tikcast_relay_auth_failures_total{reason=\"invalid_auth\"}"),
        4
    );
    assert_eq!(
        relay.metric("tikcast_relay_auth_failures_total{reason=\"too_many\"}"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_share_one_upstream_get_every_frame_and_recordings_replay() {
    let mock = Proc::mock(&["--messages", "300", "--rate", "300", "--batch", "5"]);
    let dir = temp_dir("record");
    let relay = Proc::relay(
        &format!("mock:ws://{}/ws", mock.addr),
        &["--record", dir.to_str().unwrap()],
    );
    let q = format!("uniqueId=@Ada&jwtKey={}", good_token());
    let mut a = ws_open(&relay, &q).await;
    let mut b = ws_open(&relay, &q).await;
    let (sa, sb) = tokio::join!(
        read(&mut a, 60, Duration::from_secs(10)),
        read(&mut b, 60, Duration::from_secs(10))
    );
    let info = sa.info.clone().expect("roomInfo first");
    assert_eq!(
        (info["type"].as_str(), info["uniqueId"].as_str()),
        (Some("roomInfo"), Some("ada"))
    );
    assert_eq!(info["roomId"], ROOM.to_string());
    // The first viewer gets every frame the mock sent, in order.
    assert_eq!(sa.frames.len(), 60);
    let ids = msg_ids(&sa.frames);
    assert_eq!(ids.len(), 300);
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1));
    // The second joined at the same time and shares the upstream: same frames.
    assert_eq!(sb.frames, sa.frames);
    let stats = mock.stats();
    assert_eq!(
        stats["connections"], 1,
        "one upstream for two viewers: {stats}"
    );
    assert_eq!(stats["framesSent"], 60);

    // A viewer resuming from the cursor of frame 10 gets frames 11.. from the ring.
    let cursor = batch(&sa.frames[9]).unwrap().cursor;
    let mut c = ws_open(&relay, &format!("{q}&cursor={cursor}")).await;
    let sc = read(&mut c, 50, Duration::from_secs(5)).await;
    assert_eq!(sc.info.as_ref().unwrap()["relay"]["resume"], "exact");
    assert_eq!(sc.frames, sa.frames[10..].to_vec());
    assert_eq!(mock.stats()["connections"], 1);
    drop((a, b, c));

    // After the grace period the upstream closes and the recording is complete.
    let deadline = Instant::now() + Duration::from_secs(5);
    let file = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        if files.len() == 1 && relay.metric("tikcast_relay_rooms") == 0 {
            break files[0].clone();
        }
        assert!(Instant::now() < deadline, "room did not close: {files:?}");
    };
    assert_eq!(
        recorded_frames(&file),
        sa.frames,
        "the recording holds every frame"
    );

    // Replayed (10x) through a relay: byte-identical frames, then 4005.
    let replay = Proc::relay(&format!("replay:{}", file.display()), &["--speed", "10"]);
    let mut r = ws_open(&replay, &q).await;
    let sr = read(&mut r, usize::MAX, Duration::from_secs(10)).await;
    assert_eq!(sr.info.as_ref().unwrap()["title"], "tikcast mock room");
    assert_eq!(sr.frames, sa.frames);
    assert_eq!(sr.close, Some(4005));

    // A torn recording (last record cut short) replays up to the tear.
    let torn = dir.join("torn.tkrec");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() - 7);
    std::fs::write(&torn, &bytes).unwrap();
    let info = Command::new(common::BIN)
        .args(["replay", torn.to_str().unwrap(), "--info"])
        .output()
        .unwrap();
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["frames"], 59);
    assert!(info["tornBytes"].as_u64().unwrap() > 0, "{info}");
    let served = Proc::start(
        &[
            "replay",
            torn.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--speed",
            "20",
            "--max-seconds",
            "20",
        ],
        &[],
    );
    let mut t = ws_open(&served, "uniqueId=ada").await;
    let st = read(&mut t, usize::MAX, Duration::from_secs(10)).await;
    assert_eq!(st.frames, sa.frames[..59].to_vec());
    assert_eq!(st.close, Some(4005));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_viewer_is_cut_off_and_the_others_get_everything() {
    let mock = Proc::mock(&[
        "--messages",
        "3000",
        "--rate",
        "3000",
        "--batch",
        "1",
        "--gzip",
        "off",
    ]);
    let relay = Proc::relay(
        &format!("mock:ws://{}/ws", mock.addr),
        &["--client-queue", "32", "--viewer-send-buffer", "8192"],
    );
    let q = format!("uniqueId=ada&jwtKey={}", good_token());
    // The stalled viewer: a tiny receive buffer, reads the roomInfo, then nothing.
    let mut slow = ws_open_small_buffer(&relay, &q).await;
    let first = read(&mut slow, 1, Duration::from_secs(5)).await;
    assert!(first.close.is_none());
    let mut normal = ws_open(&relay, &q).await;
    let sn = read(&mut normal, 2990, Duration::from_secs(15)).await;
    assert!(
        sn.close.is_none(),
        "the normal viewer was not cut: {:?}",
        sn.close
    );
    assert!(
        sn.frames.len() >= 2990,
        "normal viewer got {}",
        sn.frames.len()
    );
    assert_eq!(relay.metric("tikcast_relay_slow_viewer_drops_total"), 1);
    // The stalled viewer finds its buffered frames and then the end: a 4008 close frame
    // or, if even that could not be written, a dropped connection.
    let rest = read(&mut slow, usize::MAX, Duration::from_secs(5)).await;
    assert!(rest.frames.len() + 1 < 3000, "{}", rest.frames.len());
    assert!(matches!(rest.close, Some(4008) | None), "{:?}", rest.close);
    assert_eq!(
        relay.metric("tikcast_relay_viewer_closes_total{code=\"4008\"}"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_end_offline_and_lifetime_codes() {
    let ended = Proc::mock(&["--messages", "20", "--rate", "1000", "--close-code", "4005"]);
    let relay = Proc::relay(&format!("mock:ws://{}/ws", ended.addr), &[]);
    let q = format!("uniqueId=ada&jwtKey={}", good_token());
    let mut ws = ws_open(&relay, &q).await;
    let s = read(&mut ws, usize::MAX, Duration::from_secs(5)).await;
    assert_eq!((msg_ids(&s.frames).len(), s.close), (20, Some(4005)));

    let offline = Proc::mock(&["--messages", "0", "--close-code", "4404"]);
    let relay = Proc::relay(&format!("mock:ws://{}/ws", offline.addr), &[]);
    assert_eq!(close_code(&relay, &q).await, Some(4404));

    let live = Proc::mock(&["--messages", "100000", "--rate", "20"]);
    let relay = Proc::relay(
        &format!("mock:ws://{}/ws", live.addr),
        &["--max-lifetime-seconds", "1"],
    );
    let started = Instant::now();
    assert_eq!(close_code(&relay, &q).await, Some(4555));
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// A fake sign server: answers every GET with a signed URL pointing at the mock's
/// direct endpoint, after checking the api key. Returns its address.
fn fake_sign_server(mock_addr: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let body = json!({
        "signedUrl": format!("ws://{mock_addr}/webcast/im/ws_proxy/ws_reuse_supplement/?room_id={ROOM}&compress=gzip"),
        "cookies": "ttwid=test-cookie",
        "userAgent": "tikcast-test",
        "roomId": ROOM.to_string(),
        "roomInfo": {"title": "fake tiktok room", "viewerCount": 3},
    })
    .to_string();
    std::thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        let started = Instant::now();
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_lowercase();
            let reply = if req.contains("x-api-key: sign-key") && req.contains("uniqueid=ada") {
                format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len())
            } else {
                "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n".to_string()
            };
            let _ = s.write_all(reply.as_bytes());
            if started.elapsed() > Duration::from_secs(30) {
                break;
            }
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiktok_upstream_drives_a_direct_session_through_the_sign_server() {
    let mock = Proc::mock(&[
        "--messages",
        "200",
        "--rate",
        "400",
        "--hb-timeout-ms",
        "3000",
    ]);
    let sign = fake_sign_server(&mock.addr);
    let relay = Proc::relay(
        "tiktok",
        &[
            "--sign-url",
            &format!("http://{sign}/sign"),
            "--sign-api-key",
            "sign-key",
        ],
    );
    let mut ws = ws_open(&relay, &format!("uniqueId=ada&jwtKey={}", good_token())).await;
    let mut seen = Seen::default();
    let deadline = Instant::now() + Duration::from_secs(10);
    while msg_ids(&seen.frames).len() < 200 && Instant::now() < deadline {
        let s = read(&mut ws, 1, Duration::from_secs(2)).await;
        seen.info = seen.info.or(s.info);
        seen.frames.extend(s.frames);
        assert!(s.close.is_none(), "closed with {:?}", s.close);
    }
    assert_eq!(seen.info.unwrap()["title"], "fake tiktok room");
    let ids = msg_ids(&seen.frames);
    assert_eq!(ids.len(), 200);
    // Enter-room and heartbeats were sent and every frame acked, or the mock would have
    // closed the socket (payload_handler_hb / payload_handler_ack).
    let stats = mock.stats();
    assert!(stats["heartbeats"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(stats["acks"], 40, "{stats}");
    assert_eq!(stats["closes"], json!({}), "{stats}");
    assert_eq!(stats["connections"], 1);
    // /api/rooms answers from the open room.
    let (status, _, body) = relay.http_get(&format!("/api/rooms/ada?jwtKey={}", good_token()), &[]);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["roomId"].as_str(), v["isLive"].as_bool()),
        (Some("7300000000000000001"), Some(true))
    );
    // A wrong api key is the relay's problem, reported as 4500.
    let bad = Proc::relay(
        "tiktok",
        &[
            "--sign-url",
            &format!("http://{sign}/sign"),
            "--sign-api-key",
            "nope",
        ],
    );
    assert_eq!(
        close_code(&bad, &format!("uniqueId=ada&jwtKey={}", good_token())).await,
        Some(4500)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_helpers_cors_health_and_metrics() {
    let mock = Proc::mock(&["--messages", "10", "--rate", "100"]);
    const GIFTS: &str = "more/gifts/gift-list-2024-01.json";
    let gifts = common::corpus(GIFTS, "the /api/gifts catalog check").map(|d| d.join(GIFTS));
    // The upstream's web API is unreachable (a port nobody listens on any more), so
    // /api/gifts answers from the --gifts file (relay_rest.rs tests the upstream catalog).
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dead_url = format!("http://{dead}");
    let mut args = vec![
        "--allow-origin",
        "https://overlay.example",
        "--web-api-url",
        &dead_url,
    ];
    let gifts_arg = gifts.as_ref().map(|g| g.display().to_string());
    let have_gifts = gifts_arg.is_some();
    if let Some(g) = &gifts_arg {
        args.extend(["--gifts", g.as_str()]);
    }
    let relay = Proc::relay(&format!("mock:ws://{}/ws", mock.addr), &args);
    let (status, _, body) = relay.http_get("/healthz", &[]);
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap()["status"].as_str()
        ),
        (200, Some("ok"))
    );
    let tok = good_token();
    // API: token required, CORS for allowed origins only.
    let (status, _, _) = relay.http_get("/api/rooms/ada", &[]);
    assert_eq!(status, 401);
    let (status, head, body) = relay.http_get(
        &format!("/api/rooms/ada?jwtKey={tok}"),
        &["Origin: https://overlay.example"],
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        head.contains("access-control-allow-origin: https://overlay.example"),
        "{head}"
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            v["roomId"].as_str(),
            v["title"].as_str(),
            v["source"].as_str()
        ),
        (
            Some("7300000000000000001"),
            Some("tikcast mock room"),
            Some("upstream")
        )
    );
    let (status, _, _) = relay.http_get(
        &format!("/api/rooms/ada?jwtKey={tok}"),
        &["Origin: https://evil.example"],
    );
    assert_eq!(status, 403);
    let (status, head, _) = relay.http_get("/api/gifts", &["Origin: https://overlay.example"]);
    let _ = head;
    assert_eq!(status, 401);
    let (status, _, body) = relay.http_get("/api/gifts", &[&format!("x-jwt-key: {tok}")]);
    if have_gifts {
        assert_eq!(status, 200);
        let g: Value = serde_json::from_str(&body).unwrap();
        let list = g.as_array().unwrap();
        assert!(list.len() > 10, "{}", list.len());
        for gift in list {
            assert!(
                gift["id"].is_u64()
                    && gift["name"].is_string()
                    && gift["diamondCount"].is_u64()
                    && gift["imageUrl"].is_string()
            );
        }
    } else {
        assert_eq!(status, 502, "{body}");
    }
    // A browser socket from a foreign origin is refused at the handshake.
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://{}/ws?uniqueId=ada&jwtKey={tok}", relay.addr),
    )
    .unwrap();
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
    let (status, head, body) = relay.http_get("/metrics", &[]);
    assert_eq!(status, 200);
    assert!(head.contains("text/plain"));
    for name in [
        "tikcast_relay_rooms",
        "tikcast_relay_viewers",
        "tikcast_relay_frames_in_total",
        "tikcast_relay_bytes_out_total",
        "tikcast_relay_slow_viewer_drops_total",
        "tikcast_relay_auth_failures_total{reason=\"origin\"} 2",
    ] {
        assert!(body.contains(name), "{name} missing:\n{body}");
    }
}

// ------------------------------------------------------------------ hardening (issue 16)

/// Sends `request` raw over TCP (from `source`, an address on the loopback) and returns
/// everything the relay answered before closing (lossy UTF-8), or what came within 5 s.
async fn raw(addr: &str, source: &str, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let mut s = sock.connect(addr.parse().unwrap()).await.unwrap();
    // The relay may answer (and close) before it has read everything.
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code of a raw HTTP answer (0 when there was none).
fn status_of(answer: &str) -> u16 {
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Finding 3: a socket is closed when its token expires (plus the leeway), and a
/// reconnect with a fresh token resumes from its cursor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_socket_is_closed_when_its_token_expires() {
    let mock = Proc::mock(&["--messages", "100000", "--rate", "40", "--batch", "2"]);
    let relay = Proc::relay(&format!("mock:ws://{}/ws", mock.addr), &[]);
    // Another viewer keeps the room (and its resume ring) open meanwhile.
    let mut keeper = ws_open(&relay, &format!("uniqueId=ada&jwtKey={}", good_token())).await;
    let keeper_task = tokio::spawn(async move {
        let seen = read(&mut keeper, usize::MAX, Duration::from_secs(14)).await;
        (seen, keeper)
    });
    let exp = now() + 2;
    let short = token(
        json!({"exp": exp, "allowedCreators": "*", "maxWebSockets": 5}),
        SECRET,
    );
    let started = Instant::now();
    let mut ws = ws_open(&relay, &format!("uniqueId=ada&jwtKey={short}")).await;
    // The relay's leeway for exp is 5 s (docs/relay.md); exp is at most 2 s away.
    let seen = read(&mut ws, usize::MAX, Duration::from_secs(2 + 5 + 3)).await;
    let took = started.elapsed();
    assert_eq!(seen.close, Some(4401), "{:?} after {took:?}", seen.reason);
    assert_eq!(seen.reason, "token expired");
    assert!(!seen.reason.contains(&short));
    assert!(
        took >= Duration::from_secs(5) && took <= Duration::from_secs(2 + 5 + 1),
        "closed after {took:?}"
    );
    assert!(seen.frames.len() > 20, "{} frames", seen.frames.len());
    // Reconnecting with a fresh token and the cursor of the last batch resumes exactly.
    let last = seen.frames.iter().rev().find_map(|f| batch(f)).unwrap();
    let fresh = token(
        json!({"exp": now() + 60, "allowedCreators": "*", "maxWebSockets": 5}),
        SECRET,
    );
    let mut again = ws_open(
        &relay,
        &format!("uniqueId=ada&jwtKey={fresh}&cursor={}", last.cursor),
    )
    .await;
    let s2 = read(&mut again, 3, Duration::from_secs(5)).await;
    assert_eq!(s2.info.as_ref().unwrap()["relay"]["resume"], "exact");
    let mut ids = msg_ids(&seen.frames);
    ids.extend(msg_ids(&s2.frames));
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "a gap or a repeat"
    );
    let (kept, _keeper) = keeper_task.await.unwrap();
    assert_eq!(kept.close, None, "the long-lived token's socket stays open");
}

/// Finding 4: `maxWebSockets` must be 1..=10000, and one token holds at most
/// `--max-rooms-per-token` distinct rooms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_web_sockets_is_checked_and_a_token_cannot_take_every_room() {
    let mock = Proc::mock(&["--messages", "100000", "--rate", "20"]);
    let relay = Proc::relay(
        &format!("mock:ws://{}/ws", mock.addr),
        &["--max-rooms-per-token", "2", "--max-rooms", "10"],
    );
    for bad in [json!(0), json!(-1), json!(1.5), json!(10_001), json!("3")] {
        let t = token(json!({"exp": now() + 60, "maxWebSockets": bad}), SECRET);
        let (code, reason) = close_of(&relay, &format!("uniqueId=ada&jwtKey={t}")).await;
        assert_eq!(code, Some(4401), "maxWebSockets {bad}: {reason}");
        assert!(reason.contains("maxWebSockets"), "{bad}: {reason}");
    }
    let t = token(json!({"exp": now() + 60, "maxWebSockets": 10}), SECRET);
    let mut held = Vec::new();
    for room in ["ada", "bob", "ada"] {
        let mut ws = ws_open(&relay, &format!("uniqueId={room}&jwtKey={t}")).await;
        let seen = read(&mut ws, 1, Duration::from_secs(5)).await;
        assert!(
            seen.info.is_some() && seen.close.is_none(),
            "{room}: {seen:?}"
        );
        held.push(ws);
    }
    let (code, reason) = close_of(&relay, &format!("uniqueId=cat&jwtKey={t}")).await;
    assert_eq!(
        (code, reason.as_str()),
        (Some(4429), "too many rooms for this token")
    );
    // Another token still gets the room.
    let mut other = ws_open(&relay, &format!("uniqueId=cat&jwtKey={}", good_token())).await;
    let seen = read(&mut other, 1, Duration::from_secs(5)).await;
    assert!(seen.info.is_some() && seen.close.is_none(), "{seen:?}");
    // A room the token left frees its slot.
    drop(held.remove(1));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut cat = ws_open(&relay, &format!("uniqueId=cat&jwtKey={t}")).await;
    let seen = read(&mut cat, 1, Duration::from_secs(5)).await;
    assert!(seen.info.is_some() && seen.close.is_none(), "{seen:?}");
}

/// Limits that would switch a check off (0 sockets, 0 rooms, 0 pending heads) or are
/// absurd stop the relay at start-up instead of meaning "unlimited".
/// Runs `tikcast relay` (127.0.0.1:0, a test secret unless `--no-auth`, `args`) expecting
/// it to refuse to start: asserts it failed without listening and returns its stderr.
fn refused_start(args: &[&str]) -> String {
    let mut cmd = Command::new(common::BIN);
    cmd.args(["relay", "--listen", "127.0.0.1:0", "--max-seconds", "5"]);
    if !args.contains(&"--no-auth") {
        cmd.args(["--jwt-secret", SECRET]);
    }
    let out = cmd.args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?} must not start listening");
    stderr
}

#[test]
fn limits_out_of_range_stop_the_relay_at_start_up() {
    for (flag, value) in [
        ("--max-sockets-per-token", "0"),
        ("--max-sockets-per-token", "10001"),
        ("--max-rooms-per-token", "0"),
        ("--max-pending-heads-per-ip", "0"),
    ] {
        let stderr = refused_start(&["--upstream", "mock:ws://127.0.0.1:9/ws", flag, value]);
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
    }
}

/// Finding 5: /api obeys `allowedCreators`, checks handles before any upstream lookup,
/// rate-limits lookups of unknown names per token and per IP, and remembers not-live
/// answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_lookups_obey_the_token_and_are_limited() {
    let mock = Proc::mock(&["--messages", "100000", "--rate", "20"]);
    let relay = Proc::relay(
        &format!("mock:ws://{}/ws", mock.addr),
        &[
            "--lookups-per-minute-per-token",
            "5",
            "--lookups-per-minute-per-ip",
            "8",
        ],
    );
    let ada_only = token(
        json!({"exp": now() + 60, "allowedCreators": ["ada"]}),
        SECRET,
    );
    let (status, _, body) = relay.http_get(&format!("/api/rooms/bob?jwtKey={ada_only}"), &[]);
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "no_permission"
    );
    let (status, _, body) = relay.http_get(&format!("/api/rooms/ada?jwtKey={ada_only}"), &[]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(mock.stats()["connections"], 1);
    let star = token(json!({"exp": now() + 60, "allowedCreators": "*"}), SECRET);
    for bad in [
        "%2e%2e",
        "..",
        ".ada",
        "ada.",
        "a",
        "a-b",
        "a%2Fb",
        "abcdefghijklmnopqrstuvwxy",
        "%C3%A9t%C3%A9",
    ] {
        let (status, _, body) = relay.http_get(&format!("/api/rooms/{bad}?jwtKey={star}"), &[]);
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["error"],
            "bad_request"
        );
    }
    assert_eq!(mock.stats()["connections"], 1, "no lookup for a bad handle");
    // 5 lookups per token per minute: the 6th unknown name waits.
    let mut statuses = Vec::new();
    for i in 0..12 {
        let (status, head, _) = relay.http_get(&format!("/api/rooms/name{i}?jwtKey={star}"), &[]);
        if status == 429 {
            let after: u64 = head
                .lines()
                .find_map(|l| l.strip_prefix("retry-after: "))
                .unwrap_or_else(|| panic!("no retry-after in {head}"))
                .trim()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&after), "{after}");
        }
        statuses.push(status);
    }
    assert_eq!(statuses[..5], [200; 5]);
    assert_eq!(statuses[5..], [429; 7]);
    // 8 per IP: another token from the same IP gets the IP's last 2.
    let star2 = token(json!({"exp": now() + 60, "jti": "second"}), SECRET);
    let mut statuses = Vec::new();
    for i in 20..24 {
        let (status, _, _) = relay.http_get(&format!("/api/rooms/name{i}?jwtKey={star2}"), &[]);
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 429, 429]);
    assert_eq!(mock.stats()["connections"], 8);

    // Not-live answers are remembered: asking again does not dial again.
    let offline = Proc::mock(&["--messages", "0", "--close-code", "4404"]);
    let relay = Proc::relay(&format!("mock:ws://{}/ws", offline.addr), &[]);
    for _ in 0..3 {
        let (status, _, body) = relay.http_get(&format!("/api/rooms/gone.user?jwtKey={star}"), &[]);
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["isLive"],
            false
        );
    }
    assert_eq!(offline.stats()["connections"], 1);
}

/// Finding 6: incomplete request heads cost no CPU and are capped per IP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_heads_are_capped_per_ip_and_cost_no_cpu() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = Proc::mock(&["--messages", "10", "--rate", "100"]);
    let relay = Proc::relay(
        &format!("mock:ws://{}/ws", mock.addr),
        &["--max-pending-heads-per-ip", "20"],
    );
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(&relay.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = relay.cpu_time();
    let started = Instant::now();
    // Which ones did the relay close? A closed one reads EOF (or a reset) at once.
    let checks = slow.iter_mut().map(|s| async move {
        let mut b = [0u8; 64];
        tokio::time::timeout(Duration::from_secs(2), s.read(&mut b))
            .await
            .is_err()
    });
    let still_open = futures_util::future::join_all(checks)
        .await
        .into_iter()
        .filter(|open| *open)
        .count();
    assert_eq!(still_open, 20, "pending heads kept open");
    // Another address still gets answers meanwhile.
    let answer = raw(
        &relay.addr,
        "127.0.0.2",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    tokio::time::sleep(Duration::from_secs(2).saturating_sub(started.elapsed())).await;
    let used = relay.cpu_time() - before;
    let wall = started.elapsed();
    eprintln!("relay cpu {used:?} in {wall:?} with {still_open} pending heads");
    assert!(
        used < Duration::from_millis(200),
        "the relay used {used:?} of CPU in {wall:?} with 20 pending heads"
    );
    drop(slow);
}

/// Finding 8: malformed requests get a status before the close, bad upgrades a 400 or
/// 426, protocol violations a close frame, and a bad upstream URL stops the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_a_proper_answer() {
    let mock = Proc::mock(&["--messages", "100000", "--rate", "20"]);
    let relay = Proc::relay(&format!("mock:ws://{}/ws", mock.addr), &[]);
    let a = relay.addr.as_str();
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(20_000));
    assert_eq!(
        status_of(&raw(a, "127.0.0.1", long_uri.as_bytes()).await),
        414
    );
    let big_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    assert_eq!(
        status_of(&raw(a, "127.0.0.1", big_header.as_bytes()).await),
        431
    );
    let binary = b"GET /healthz\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(status_of(&raw(a, "127.0.0.1", binary).await), 400);
    assert_eq!(status_of(&raw(a, "127.0.0.1", b"\r\n\r\n").await), 400);

    let tok = good_token();
    let upgrade = |extra: &str| {
        format!(
            "GET /ws?uniqueId=ada&jwtKey={tok} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n{extra}\r\n"
        )
    };
    let good =
        upgrade("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
    let ok =
        tokio::time::timeout(Duration::from_secs(1), raw(a, "127.0.0.1", good.as_bytes())).await;
    // A good upgrade is switched (the socket then stays open, so the read times out).
    assert!(ok.is_err(), "{ok:?}");
    let many: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let answer = raw(
        a,
        "127.0.0.1",
        upgrade(&format!(
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{many}"
        ))
        .as_bytes(),
    )
    .await;
    assert_eq!(status_of(&answer), 400, "{answer}");
    let answer = raw(
        a,
        "127.0.0.1",
        upgrade("Sec-WebSocket-Version: 13\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status_of(&answer), 400, "{answer}");
    let answer = raw(
        a,
        "127.0.0.1",
        upgrade("Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
            .as_bytes(),
    )
    .await;
    assert_eq!(status_of(&answer), 426, "{answer}");
    assert!(
        answer
            .to_lowercase()
            .contains("sec-websocket-version: 13\r\n"),
        "{answer}"
    );

    // A viewer sending a message over the 64 KiB cap gets 1009.
    let q = format!("uniqueId=ada&jwtKey={tok}");
    let mut ws = ws_open(&relay, &q).await;
    assert!(read(&mut ws, 1, Duration::from_secs(5))
        .await
        .info
        .is_some());
    use futures_util::SinkExt;
    ws.send(Message::Binary(vec![0u8; 100_000].into()))
        .await
        .unwrap();
    let mut close = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Message::Close(f) = m {
            close = f.map(|f| u16::from(f.code));
            break;
        }
    }
    assert_eq!(close, Some(1009));
    // An unmasked frame from a client is a protocol error: 1002.
    let handshake =
        upgrade("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
    let code = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = TcpStream::connect(a).await.unwrap();
        s.write_all(handshake.as_bytes()).await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        assert!(
            got.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&got)
        );
        s.write_all(&[0x82, 0x01, 0x00]).await.unwrap();
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
        got.extend_from_slice(&rest);
        let at = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        // Skip the roomInfo text (and any binary frames) to the close frame (opcode 8).
        let mut frames = &got[at..];
        let mut code = None;
        while frames.len() >= 2 {
            let (op, len7) = (frames[0] & 0x0f, (frames[1] & 0x7f) as usize);
            let (hdr, len) = match len7 {
                126 => (4, u16::from_be_bytes([frames[2], frames[3]]) as usize),
                127 => (
                    10,
                    u64::from_be_bytes(frames[2..10].try_into().unwrap()) as usize,
                ),
                n => (2, n),
            };
            if op == 8 {
                code = Some(u16::from_be_bytes([frames[hdr], frames[hdr + 1]]));
                break;
            }
            frames = &frames[(hdr + len).min(frames.len())..];
        }
        code
    };
    assert_eq!(code, Some(1002));

    // A mock URL without a port is refused at start-up.
    let stderr = refused_start(&["--upstream", "mock:ws://127.0.0.1:/ws"]);
    assert!(stderr.contains("port"), "{stderr}");
}

/// Decoding never blocks the relay: while upstreams of other rooms send frames that are
/// slow to decode (4 MiB of empty gzip members, repeated), `/healthz` and another room's
/// viewer keep their latency. The relay's CPU time shows the hostile frames were being
/// decoded meanwhile (how fast the core is at it is not the point here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_to_decode_upstream_frame_does_not_stall_other_rooms() {
    use tikcast_core::pb;
    // The costliest frame the decoder still has to look at under its caps: one message of
    // 4 million empty nested values (8 MB inflated, a few kB gzipped). The decoder walks
    // it (about a second of CPU in a debug build) before refusing it as too expensive.
    let mut ranks = Vec::with_capacity(8_000_000);
    for _ in 0..4_000_000 {
        ranks.extend([0x12, 0x00]);
    }
    let batch = pb::FetchResult {
        messages: vec![pb::MessageEnvelope {
            method: "WebcastRoomUserSeqMessage".into(),
            payload: ranks,
            msg_id: 1,
            ..Default::default()
        }],
        ..Default::default()
    }
    .encode_to_vec();
    let hostile = bytes::Bytes::from(frames::msg_frame(0, 0, batch, frames::Compression::Gzip));
    assert!(hostile.len() <= 4 * 1024 * 1024);
    // A relay-style upstream on 127.0.0.1: rooms named evil* get the hostile frame up to
    // 40 times (as fast as the relay reads), the others a small frame every 50 ms.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let hostile = hostile.clone();
            tokio::spawn(async move {
                use futures_util::SinkExt;
                use tokio_tungstenite::tungstenite::handshake::server::ErrorResponse;
                use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
                let mut name = String::new();
                #[allow(clippy::result_large_err)] // tungstenite's callback type
                let note = |r: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                    name = r.uri().query().unwrap_or("").to_string();
                    Ok(resp)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, note).await else {
                    return;
                };
                let info = json!({"type": "roomInfo", "roomId": "1", "isLive": true});
                if ws.send(Message::text(info.to_string())).await.is_err() {
                    return;
                }
                let evil = name.contains("uniqueId=evil");
                for i in 0u64..400 {
                    let frame = if evil {
                        if i >= 40 {
                            break;
                        }
                        hostile.clone()
                    } else {
                        let hints = pb::FetchResult {
                            cursor: format!("c{i}"),
                            ..Default::default()
                        };
                        let batch = frames::batch([], &hints);
                        bytes::Bytes::from(frames::msg_frame(
                            0,
                            0,
                            batch,
                            frames::Compression::Plain,
                        ))
                    };
                    if ws.send(Message::Binary(frame)).await.is_err() {
                        return;
                    }
                    if !evil {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                // Stay connected (silent) until the relay leaves.
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    // Two runtime workers in the relay, so two busy rooms would hold both of them.
    let relay = Proc::relay_env(
        &format!("mock:ws://{upstream}/ws"),
        &[],
        &[("TOKIO_WORKER_THREADS", "2")],
    );
    let q = |room: &str| format!("uniqueId={room}&jwtKey={}", good_token());
    let mut calm = ws_open(&relay, &q("calm")).await;
    assert!(
        read(&mut calm, 2, Duration::from_secs(5))
            .await
            .frames
            .len()
            == 2
    );
    let calm_task = tokio::spawn(async move {
        let mut gaps = Vec::new();
        let mut last = Instant::now();
        let end = tokio::time::Instant::now() + Duration::from_secs(6);
        while let Ok(Some(Ok(m))) = tokio::time::timeout_at(end, calm.next()).await {
            if let Message::Binary(_) = m {
                gaps.push(last.elapsed());
                last = Instant::now();
            }
        }
        gaps
    });
    let evil_queries = ["evil1", "evil2", "evil3"].map(q);
    let evil: Vec<Ws> =
        futures_util::future::join_all(evil_queries.iter().map(|eq| ws_open(&relay, eq))).await;
    // Their viewers read (and drop) what they get, so no queue holds 4 MiB frames.
    let drains: Vec<_> = evil
        .into_iter()
        .map(|mut ws| tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} }))
        .collect();
    let cpu_before = relay.cpu_time();
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let t = Instant::now();
        let answer = raw(
            &relay.addr,
            "127.0.0.1",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await;
        assert_eq!(status_of(&answer), 200, "{answer}");
        slowest = slowest.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cpu = relay.cpu_time() - cpu_before;
    let gaps = calm_task.await.unwrap();
    for d in drains {
        d.abort();
    }
    server.abort();
    let worst_gap = gaps.iter().max().copied().unwrap_or_default();
    eprintln!(
        "slowest /healthz {slowest:?}, worst calm gap {worst_gap:?} over {} frames, relay cpu {cpu:?}",
        gaps.len()
    );
    assert!(
        slowest < Duration::from_millis(500),
        "/healthz took {slowest:?}"
    );
    assert!(gaps.len() > 60, "the calm room got {} frames", gaps.len());
    assert!(
        worst_gap < Duration::from_millis(500),
        "the calm room's viewer waited {worst_gap:?} for a frame"
    );
    // The hostile frames kept the relay busy meanwhile (else the test proves nothing).
    assert!(
        cpu > Duration::from_secs(1),
        "the relay used only {cpu:?} of CPU"
    );
}

/// Issue 12: both spellings the hosted relays document scope a token
/// (`allowedCreators`/`allowed_creators`, `maxWebSockets`/`max_websockets`); two
/// spellings that disagree, and unknown claims that look like a scope, refuse it (4401)
/// instead of leaving it unscoped. `/api/*` uses the same verifier (401/403).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snake_case_scopes_conflicts_and_unknown_scope_claims() {
    let mock = Proc::mock(&["--messages", "100000", "--rate", "20"]);
    let relay = Proc::relay(&format!("mock:ws://{}/ws", mock.addr), &[]);
    let bob_only = token(
        json!({"exp": now() + 60, "allowed_creators": ["bob"], "max_websockets": 3}),
        SECRET,
    );
    assert_eq!(
        close_of(&relay, &format!("uniqueId=ada&jwtKey={bob_only}")).await,
        (Some(4403), "no permission".to_string())
    );
    let mut ws = ws_open(&relay, &format!("uniqueId=bob&jwtKey={bob_only}")).await;
    let seen = read(&mut ws, 1, Duration::from_secs(5)).await;
    assert!(
        seen.info.is_some() && seen.close.is_none(),
        "{:?} {:?}",
        seen.close,
        seen.reason
    );
    assert_eq!(seen.info.unwrap()["uniqueId"], "bob");
    // Under `websockets` too.
    let nested = token(
        json!({"exp": now() + 60, "websockets": {"allowed_creators": "bob"}}),
        SECRET,
    );
    assert_eq!(
        close_code(&relay, &format!("uniqueId=ada&jwtKey={nested}")).await,
        Some(4403)
    );
    // The snake_case socket count follows the same rule as maxWebSockets.
    let zero = token(json!({"exp": now() + 60, "max_websockets": 0}), SECRET);
    let (code, reason) = close_of(&relay, &format!("uniqueId=ada&jwtKey={zero}")).await;
    assert_eq!(code, Some(4401), "{reason}");
    assert!(reason.contains("max_websockets"), "{reason}");

    let conflicts = [
        (
            json!({"exp": now() + 60, "allowedCreators": ["ada"], "allowed_creators": ["bob"]}),
            "allowedCreators",
        ),
        (
            json!({"exp": now() + 60, "maxWebSockets": 2, "websockets": {"max_websockets": 5}}),
            "maxWebSockets",
        ),
    ];
    for (claims, claim) in conflicts {
        let t = token(claims.clone(), SECRET);
        let (code, reason) = close_of(&relay, &format!("uniqueId=ada&jwtKey={t}")).await;
        assert_eq!(code, Some(4401), "{claims}: {reason}");
        assert!(
            reason.starts_with("invalid auth: conflicting") && reason.contains(claim),
            "{claims}: {reason}"
        );
        assert!(!reason.contains(&t));
    }
    // The same value in both spellings is one claim, not a conflict.
    let agree = token(
        json!({"exp": now() + 60, "allowedCreators": ["@Ada"], "allowed_creators": "ada"}),
        SECRET,
    );
    let mut ws = ws_open(&relay, &format!("uniqueId=ada&jwtKey={agree}")).await;
    let seen = read(&mut ws, 1, Duration::from_secs(5)).await;
    assert!(
        seen.info.is_some() && seen.close.is_none(),
        "{:?} {:?}",
        seen.close,
        seen.reason
    );

    for claim in [
        "allowed_rooms",
        "allowedUsers",
        "creators",
        "max_connections",
        "maxWebsockets",
        "scope",
    ] {
        let mut claims = json!({"exp": now() + 60});
        claims[claim] = json!(["bob"]);
        let t = token(claims, SECRET);
        let (code, reason) = close_of(&relay, &format!("uniqueId=ada&jwtKey={t}")).await;
        assert_eq!(code, Some(4401), "{claim}: {reason}");
        assert!(reason.contains(claim), "{claim}: {reason}");
    }
    // Under `websockets` as well.
    let t = token(
        json!({"exp": now() + 60, "websockets": {"allowedRooms": ["bob"]}}),
        SECRET,
    );
    let (code, reason) = close_of(&relay, &format!("uniqueId=ada&jwtKey={t}")).await;
    assert_eq!(code, Some(4401), "{reason}");
    assert!(reason.contains("allowedRooms"), "{reason}");

    // /api/* follows: 403 for another creator, 401 for a refused token.
    let (status, _, body) = relay.http_get(&format!("/api/rooms/ada?jwtKey={bob_only}"), &[]);
    assert_eq!(status, 403, "{body}");
    let rooms = token(json!({"exp": now() + 60, "allowed_rooms": ["bob"]}), SECRET);
    let (status, _, body) = relay.http_get(&format!("/api/rooms/bob?jwtKey={rooms}"), &[]);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("allowed_rooms"), "{body}");
}

/// `--require-scope` (and `auth.require_scope`): a token without `allowedCreators` is
/// refused with 4401; a scoped one (also `"*"`) is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_scope_refuses_unscoped_tokens() {
    let mock = Proc::mock(&["--messages", "100000", "--rate", "20"]);
    let upstream = format!("mock:ws://{}/ws", mock.addr);
    let dir = temp_dir("require-scope");
    let config = dir.join("relay.toml");
    std::fs::write(&config, "[auth]\nrequire_scope = true\n").unwrap();
    let by_flag = Proc::relay(&upstream, &["--require-scope"]);
    let by_file = Proc::relay(&upstream, &["--config", config.to_str().unwrap()]);
    for relay in [&by_flag, &by_file] {
        let unscoped = token(json!({"exp": now() + 60, "maxWebSockets": 5}), SECRET);
        assert_eq!(
            close_of(relay, &format!("uniqueId=ada&jwtKey={unscoped}")).await,
            (
                Some(4401),
                "invalid auth: token has no creator scope".to_string()
            )
        );
        let (status, _, body) = relay.http_get(&format!("/api/rooms/ada?jwtKey={unscoped}"), &[]);
        assert_eq!(status, 401, "{body}");
        for scoped in [
            json!({"exp": now() + 60, "allowedCreators": ["ada"]}),
            json!({"exp": now() + 60, "allowed_creators": "*"}),
        ] {
            let t = token(scoped.clone(), SECRET);
            let mut ws = ws_open(relay, &format!("uniqueId=ada&jwtKey={t}")).await;
            let seen = read(&mut ws, 1, Duration::from_secs(5)).await;
            assert!(
                seen.info.is_some() && seen.close.is_none(),
                "{scoped}: {:?} {:?}",
                seen.close,
                seen.reason
            );
        }
    }
    // Without tokens there is no scope to require: a start-up error, not a silent no-op.
    let err = refused_start(&["--upstream", &upstream, "--no-auth", "--require-scope"]);
    assert!(err.contains("--require-scope"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A viewer's close frame is answered with a close frame (1000 both ways, so the viewer
/// sees a clean close, not 1006), and its pings get pongs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_close_is_answered_and_pings_get_pongs() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    let mock = Proc::mock(&["--messages", "100000", "--rate", "20"]);
    let relay = Proc::relay(&format!("mock:ws://{}/ws", mock.addr), &[]);
    let mut ws = ws_open(&relay, &format!("uniqueId=ada&jwtKey={}", good_token())).await;
    assert!(read(&mut ws, 1, Duration::from_secs(5))
        .await
        .info
        .is_some());
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut pong = None;
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Message::Pong(p) = m {
            pong = Some(p.to_vec());
            break;
        }
    }
    assert_eq!(pong.as_deref(), Some(&b"are you there"[..]));
    ws.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    })))
    .await
    .unwrap();
    // Frames already on their way may come first; then the relay's close reply.
    let mut reply = None;
    let mut end = None;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(f)))) => reply = Some(f.map(|f| u16::from(f.code))),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => end = Some(format!("error: {e}")),
            Ok(None) => end = Some("end".to_string()),
            Err(_) => end = Some("timeout".to_string()),
        }
        if reply.is_some() || end.is_some() {
            break;
        }
    }
    assert_eq!(reply, Some(Some(1000)), "no close reply ({end:?})");
    // The handshake is complete: the stream ends cleanly.
    let after = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert!(after.is_none(), "{after:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(relay.metric("tikcast_relay_viewers"), 0);
}

/// Viewers have nothing to say: a few data messages are ignored, a flood (more than
/// 100 in 10 s) is closed with 1008.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_that_flood_data_messages_are_closed_with_1008() {
    use futures_util::SinkExt;
    let mock = Proc::mock(&["--messages", "100000", "--rate", "20"]);
    let relay = Proc::relay(&format!("mock:ws://{}/ws", mock.addr), &[]);
    let q = format!("uniqueId=ada&jwtKey={}", good_token());
    let mut quiet = ws_open(&relay, &q).await;
    assert!(read(&mut quiet, 1, Duration::from_secs(5))
        .await
        .info
        .is_some());
    for i in 0..10 {
        quiet
            .send(Message::text(format!("hello {i}")))
            .await
            .unwrap();
        quiet
            .send(Message::Binary(vec![1u8; 100].into()))
            .await
            .unwrap();
    }
    let seen = read(&mut quiet, 5, Duration::from_secs(5)).await;
    assert_eq!(
        (seen.frames.len(), seen.close),
        (5, None),
        "{:?} {:?}",
        seen.close,
        seen.reason
    );

    let mut noisy = ws_open(&relay, &q).await;
    assert!(read(&mut noisy, 1, Duration::from_secs(5))
        .await
        .info
        .is_some());
    for i in 0..150 {
        if noisy
            .send(Message::text(format!("spam {i}")))
            .await
            .is_err()
        {
            break;
        }
    }
    let seen = read(&mut noisy, usize::MAX, Duration::from_secs(5)).await;
    assert_eq!(seen.close, Some(1008), "{:?} {:?}", seen.close, seen.reason);
    assert_eq!(seen.reason, "policy violation: viewers do not send data");
    // Reading on sends our close reply; the relay, which waits for it, then lets go.
    let end = tokio::time::timeout(Duration::from_secs(3), noisy.next()).await;
    assert!(matches!(end, Ok(None)), "{end:?}");
    // The quiet viewer is still served.
    let seen = read(&mut quiet, 3, Duration::from_secs(5)).await;
    assert_eq!(
        (seen.frames.len(), seen.close),
        (3, None),
        "{:?} {:?}",
        seen.close,
        seen.reason
    );
    assert_eq!(
        relay.metric("tikcast_relay_viewer_closes_total{code=\"1008\"}"),
        1
    );
}

/// An upstream that delivers nothing for `--upstream-idle-close` seconds closes its
/// room's viewers with 4006 (the hosted relays' "no messages" close).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_upstream_closes_its_viewers_with_4006() {
    let mock = Proc::mock(&[
        "--messages",
        "100000",
        "--rate",
        "50",
        "--stall-after",
        "20",
    ]);
    let relay = Proc::relay(
        &format!("mock:ws://{}/ws", mock.addr),
        &["--upstream-idle-close", "1"],
    );
    let mut ws = ws_open(&relay, &format!("uniqueId=ada&jwtKey={}", good_token())).await;
    let started = Instant::now();
    let seen = read(&mut ws, usize::MAX, Duration::from_secs(10)).await;
    assert_eq!(seen.close, Some(4006), "{:?} {:?}", seen.close, seen.reason);
    assert_eq!(seen.reason, "no upstream data for 1 s");
    assert_eq!(msg_ids(&seen.frames).len(), 20);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "closed after {took:?}");
    // The room is gone: a new viewer opens a fresh upstream.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(relay.metric("tikcast_relay_rooms"), 0);
}
