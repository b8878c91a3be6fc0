//! `tikcast relay --upstream tiktok --signer euler|tiktool` end to end on 127.0.0.1: a local
//! mock of each public sign service checks the documented request (method, path, query,
//! headers, body) and answers the documented response, pointing at `tikcast mock`'s
//! TikTok-style socket; the relay connects through it and delivers frames to a viewer.
//! The API keys never show in the relay's stderr, `/metrics` or close reasons; signer
//! mistakes stop the relay at start-up.
//! Every child process is killed on drop and has its own `--max-seconds`; the sign
//! mocks stop by themselves.

mod common;

use common::{refused_start, relay_args, ws_open, Proc, Ws};

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use prost::Message as _;
use serde_json::{json, Value};
use tikcast_core::pb;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "relay-test-secret-0123456789";
/// `tikcast mock`'s default room.
const ROOM: u64 = 7_300_000_000_000_000_001;
const TIKTOOL_KEY: &str = "tiktool-test-key-5c0ffee1d2e3";
const EULER_KEY: &str = "euler_test-key-9a8b7c6d5e4f";
/// The mock's 60 messages, 5 per frame.
const MESSAGES: &str = "60";
const FRAMES: usize = 12;

/// One request a sign mock received.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    /// Percent-decoded query pairs, in order.
    query: Vec<(String, String)>,
    /// Lowercase names, trimmed values.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn query(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, k: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Reads one HTTP/1.1 request (head and a `content-length` body).
fn read_request(s: &mut std::net::TcpStream) -> Option<Req> {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8(raw[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = raw[head_end + 4..].to_vec();
    while body.len() < len {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some(Req {
        method,
        path: path.to_string(),
        query,
        headers,
        body,
    })
}

/// An HTTP answer of a sign mock.
struct Answer {
    status: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn json(status: &'static str, v: Value) -> Answer {
        Answer {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: v.to_string().into_bytes(),
        }
    }
}

/// A local sign service on 127.0.0.1: answers every request with `answer` and keeps
/// what it received. Stops by itself after 40 s.
struct SignMock {
    addr: String,
    seen: Arc<Mutex<Vec<Req>>>,
}

impl SignMock {
    fn start(answer: impl Fn(&Req) -> Answer + Send + 'static) -> SignMock {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&seen);
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(40);
            while Instant::now() < deadline {
                let mut s = match listener.accept() {
                    Ok((s, _)) => s,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                s.set_nonblocking(false).unwrap();
                let Some(req) = read_request(&mut s) else {
                    continue;
                };
                let a = answer(&req);
                kept.lock().unwrap().push(req);
                let mut out = format!(
                    "HTTP/1.1 {}\r\nconnection: close\r\ncontent-length: {}\r\n",
                    a.status,
                    a.body.len()
                );
                for (k, v) in &a.headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let mut bytes = out.into_bytes();
                bytes.extend_from_slice(&a.body);
                let _ = s.write_all(&bytes);
            }
        });
        SignMock { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<Req> {
        self.seen.lock().unwrap().clone()
    }
}

/// The mock's TikTok-style socket, as the sign services hand it out.
fn direct_socket(mock: &Proc) -> String {
    format!(
        "ws://{}/webcast/im/ws_proxy/ws_reuse_supplement/",
        mock.addr
    )
}

/// `tikcast mock` whose direct socket enforces heartbeats and acks, and whose web API
/// says `carol` is not live.
fn tiktok_mock() -> Proc {
    Proc::mock(&[
        "--messages",
        MESSAGES,
        "--rate",
        "300",
        "--hb-timeout-ms",
        "3000",
        "--offline",
        "carol",
    ])
}

/// A relay on the tiktok upstream with `args`, its stderr kept, `env` added.
fn start_relay(args: &[&str], env: &[(&str, &str)]) -> Proc {
    let mut all = vec!["--no-auth", "--grace-ms", "200"];
    all.extend_from_slice(args);
    Proc::start_logged(&relay_args("tiktok", SECRET, &all), env)
}

/// What a viewer got: its text messages, its message-frame count, and the close.
#[derive(Debug, Default)]
struct Got {
    texts: Vec<Value>,
    /// Binary frames of payload type `msg` (not the enter-room answer).
    frames: usize,
    close: Option<(u16, String)>,
}

/// Reads `ws` until `frames` message frames, a close, or `limit`.
async fn read(ws: &mut Ws, frames: usize, limit: Duration) -> Got {
    let mut got = Got::default();
    let deadline = tokio::time::Instant::now() + limit;
    while got.frames < frames {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => got.texts.push(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(Message::Binary(b)))) => {
                if pb::PushFrame::decode(b.as_ref()).unwrap().payload_type == "msg" {
                    got.frames += 1;
                }
            }
            Ok(Some(Ok(Message::Close(f)))) => {
                got.close = f.map(|f| (u16::from(f.code), f.reason.to_string()));
                break;
            }
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    got
}

/// The mock's counters once it has seen `acks` acks (or after 5 s).
fn stats_after_acks(mock: &Proc, acks: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stats = mock.stats();
        if stats["acks"] == acks || Instant::now() > deadline {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The key appears nowhere the relay shows: its stderr, `/metrics`, `/healthz`.
fn assert_never_shown(relay: &Proc, key: &str) {
    let log = relay.log();
    assert!(!log.is_empty(), "no relay log kept");
    assert!(!log.contains(key), "key in the relay's stderr:\n{log}");
    for path in ["/metrics", "/healthz"] {
        let (status, head, body) = relay.http_get(path, &[]);
        assert_eq!(status, 200, "{path}");
        assert!(
            !head.contains(&key.to_lowercase()) && !body.contains(key),
            "key in {path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiktool_signer_connects_through_ws_credentials() {
    let mock = tiktok_mock();
    let socket = format!("{}?room_id={ROOM}&X-Bogus=mock-bogus", direct_socket(&mock));
    // TikTool's documented request: POST /webcast/ws_credentials?apiKey=KEY with a JSON
    // body {"unique_id"}; a wrong key is refused with 401.
    let sign = SignMock::start(move |req| {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let shape_ok = req.method == "POST"
            && req.path == "/webcast/ws_credentials"
            && req
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/json"));
        if !shape_ok {
            return Answer::json("400 Bad Request", json!({"status_code": 400}));
        }
        if req.query("apiKey") != Some(TIKTOOL_KEY) {
            return Answer::json(
                "401 Unauthorized",
                json!({"status_code": 401, "message": "invalid api key"}),
            );
        }
        match body["unique_id"].as_str() {
            Some("ada") => Answer::json(
                "200 OK",
                json!({"status_code": 0, "data": {
                    "ws_url": socket,
                    "cookies": "ttwid=tiktool-cookie",
                    "room_id": ROOM.to_string(),
                    "ws_host": "127.0.0.1",
                    "cluster_region": "US_TTP",
                }}),
            ),
            _ => Answer::json(
                "404 Not Found",
                json!({"status_code": 404, "message": "user is not live"}),
            ),
        }
    });
    let key_env = [("TIKCAST_TEST_TIKTOOL_KEY", TIKTOOL_KEY)];
    let relay = start_relay(
        &[
            "--signer",
            "tiktool",
            "--signer-url",
            &sign.url(),
            "--signer-key-env",
            "TIKCAST_TEST_TIKTOOL_KEY",
        ],
        &key_env,
    );
    let mut ws = ws_open(&relay, "uniqueId=ada").await;
    let got = read(&mut ws, FRAMES, Duration::from_secs(15)).await;
    assert_eq!(got.close, None);
    assert_eq!(got.frames, FRAMES, "{got:?}");
    let info = &got.texts[0];
    assert_eq!(
        (
            info["type"].as_str(),
            info["roomId"].as_str(),
            info["uniqueId"].as_str(),
            info["clusterRegion"].as_str()
        ),
        (
            Some("roomInfo"),
            Some(ROOM.to_string().as_str()),
            Some("ada"),
            Some("US_TTP")
        )
    );
    // The session entered the room, sent heartbeats and acked every frame.
    let stats = stats_after_acks(&mock, FRAMES);
    assert_eq!(stats["acks"], FRAMES, "{stats}");
    assert_eq!(stats["closes"], json!({}), "{stats}");
    // Exactly the documented request, once.
    let reqs = sign.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let r = &reqs[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/webcast/ws_credentials")
    );
    assert_eq!(
        r.query,
        vec![("apiKey".to_string(), TIKTOOL_KEY.to_string())]
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).unwrap(),
        json!({"unique_id": "ada"})
    );
    // A creator the service says is not live: 4404.
    let mut off = ws_open(&relay, "uniqueId=bob").await;
    let got = read(&mut off, 1, Duration::from_secs(10)).await;
    assert_eq!(got.close.as_ref().map(|c| c.0), Some(4404), "{got:?}");
    assert_never_shown(&relay, TIKTOOL_KEY);

    // A key the service refuses: 4500 for the viewer, "check the key" in the log, and
    // neither shows the key.
    const WRONG: &str = "tiktool-wrong-key-77aa88bb99";
    let bad = start_relay(
        &[
            "--signer",
            "tiktool",
            "--signer-url",
            &sign.url(),
            "--signer-key-env",
            "TIKCAST_TEST_TIKTOOL_KEY",
        ],
        &[("TIKCAST_TEST_TIKTOOL_KEY", WRONG)],
    );
    let mut ws = ws_open(&bad, "uniqueId=ada").await;
    let got = read(&mut ws, 1, Duration::from_secs(10)).await;
    let (code, reason) = got.close.expect("closed");
    assert_eq!(code, 4500);
    assert!(!reason.contains(WRONG), "{reason}");
    assert!(
        bad.log()
            .contains("tiktool sign service refused the relay's api key (http 401)"),
        "{}",
        bad.log()
    );
    assert_never_shown(&bad, WRONG);
}

/// Euler's `/webcast/fetch` answer: a fetch result naming the mock's socket.
fn fetch_result(mock: &Proc) -> Vec<u8> {
    pb::FetchResult {
        push_server: direct_socket(mock),
        route_params: [("wrss".to_string(), "mock-wrss".to_string())]
            .into_iter()
            .collect(),
        fetch_type: 1,
        is_first: true,
        fetch_interval_ms: 1000,
        ..Default::default()
    }
    .encode_to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn euler_signer_connects_through_webcast_fetch() {
    let mock = tiktok_mock();
    let body = fetch_result(&mock);
    // Euler's documented request: GET /webcast/fetch?client=…&room_id=… (unique_id,
    // cursor, user_agent optional) with the key in `x-api-key`; the answer is the
    // protobuf fetch result, cookies in `x-set-tt-cookie`, the room in `x-room-id`.
    // The room id comes from the web API (the mock's) first.
    let sign = SignMock::start(move |req| {
        if req.method != "GET" || req.path != "/webcast/fetch" {
            return Answer::json("404 Not Found", json!({"message": "no route"}));
        }
        if req.header("x-api-key") != Some(EULER_KEY) {
            return Answer::json("401 Unauthorized", json!({"message": "invalid api key"}));
        }
        if req.query("room_id") != Some(ROOM.to_string().as_str()) {
            return Answer::json("400 Bad Request", json!({"message": "room_id required"}));
        }
        match req.query("unique_id") {
            Some("ada") => Answer {
                status: "200 OK",
                headers: vec![
                    ("content-type", "application/octet-stream".into()),
                    (
                        "x-set-tt-cookie",
                        "ttwid=euler-cookie; tt-target-idc=useast1a".into(),
                    ),
                    ("x-room-id", ROOM.to_string()),
                ],
                body: body.clone(),
            },
            Some("busy") => Answer {
                status: "429 Too Many Requests",
                headers: vec![
                    ("content-type", "application/json".into()),
                    ("retry-after", "30".into()),
                ],
                body: json!({"message": "rate limited", "limit_label": "day"})
                    .to_string()
                    .into_bytes(),
            },
            _ => Answer::json("404 Not Found", json!({"message": "not live"})),
        }
    });
    let web_api = format!("http://{}", mock.addr);
    let relay = start_relay(
        &[
            "--web-api-url",
            &web_api,
            "--signer",
            "euler",
            "--signer-url",
            &sign.url(),
            "--signer-key-env",
            "TIKCAST_TEST_EULER_KEY",
        ],
        &[("TIKCAST_TEST_EULER_KEY", EULER_KEY)],
    );
    let mut ws = ws_open(&relay, "uniqueId=ada").await;
    let got = read(&mut ws, FRAMES, Duration::from_secs(15)).await;
    assert_eq!(got.close, None);
    assert_eq!(got.frames, FRAMES, "{got:?}");
    assert_eq!(got.texts[0]["roomId"], ROOM.to_string());
    assert_eq!(got.texts[0]["uniqueId"], "ada");
    let stats = stats_after_acks(&mock, FRAMES);
    assert_eq!(stats["acks"], FRAMES, "{stats}");
    assert_eq!(stats["closes"], json!({}), "{stats}");
    let reqs = sign.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let r = &reqs[0];
    assert_eq!(r.query("client"), Some("tikcast"));
    assert_eq!(r.query("unique_id"), Some("ada"));
    assert_eq!(r.query("room_id"), Some(ROOM.to_string().as_str()));
    assert!(
        r.query("user_agent")
            .is_some_and(|ua| ua.starts_with("Mozilla/5.0")),
        "{r:?}"
    );
    // The key travels in the header only.
    assert_eq!(r.query("apiKey"), None);
    assert!(r.body.is_empty());

    // Not live (the web API's answer, Euler is not asked) and rate limited (429) reach
    // the viewer as the custom signer's would.
    let mut off = ws_open(&relay, "uniqueId=carol").await;
    assert_eq!(
        read(&mut off, 1, Duration::from_secs(10))
            .await
            .close
            .map(|c| c.0),
        Some(4404)
    );
    let mut busy = ws_open(&relay, "uniqueId=busy").await;
    let (code, reason) = read(&mut busy, 1, Duration::from_secs(10))
        .await
        .close
        .expect("closed");
    assert_eq!(
        (code, reason.as_str()),
        (4500, "upstream failed: sign server")
    );
    assert!(
        relay
            .log()
            .contains("euler sign service: rate limited (http 429, retry-after 30)"),
        "{}",
        relay.log()
    );
    // ada and busy were asked for; carol never was.
    let reqs = sign.requests();
    let names: Vec<_> = reqs.iter().map(|r| r.query("unique_id")).collect();
    assert_eq!(names, vec![Some("ada"), Some("busy")]);
    assert_never_shown(&relay, EULER_KEY);
}

/// The first stderr line of a refused start, without the `tikcast: ` prefix.
fn start_error(args: &[&str], env: &[(&str, &str)]) -> String {
    let err = refused_start(&relay_args("tiktok", SECRET, args), env);
    let msg = err
        .lines()
        .find_map(|l| l.strip_prefix("tikcast: "))
        .unwrap_or_else(|| panic!("no error line in {err:?}"))
        .to_string();
    assert!(
        msg.chars().next().is_some_and(|c| !c.is_uppercase()),
        "{msg}"
    );
    msg
}

#[test]
fn signer_mistakes_fail_at_start_up() {
    let e = start_error(&["--signer", "eulerstream"], &[]);
    assert!(
        e.starts_with("unknown signer \"eulerstream\": use --signer custom"),
        "{e}"
    );
    let e = start_error(&["--signer", "tiktool"], &[]);
    assert!(e.starts_with("the tiktool signer needs an api key"), "{e}");
    assert!(e.contains("--signer-key-env VAR"), "{e}");
    let e = start_error(
        &[
            "--signer",
            "euler",
            "--signer-key-env",
            "TIKCAST_TEST_NO_SUCH_VARIABLE",
        ],
        &[],
    );
    assert!(
        e.starts_with(
            "--signer-key-env TIKCAST_TEST_NO_SUCH_VARIABLE: that environment variable is not set"
        ),
        "{e}"
    );
    // The key is given twice.
    let e = start_error(
        &[
            "--signer",
            "euler",
            "--signer-key-env",
            "TIKCAST_TEST_K",
            "--sign-api-key",
            "direct-key-123",
        ],
        &[("TIKCAST_TEST_K", "env-key-456")],
    );
    assert!(e.starts_with("the sign api key is given twice"), "{e}");
    assert!(
        !e.contains("direct-key-123") && !e.contains("env-key-456"),
        "{e}"
    );
    // The custom signer still needs its endpoint.
    let e = start_error(&[], &[]);
    assert!(
        e.starts_with("the tiktok upstream needs a sign service"),
        "{e}"
    );
    // In the config file too.
    let dir = std::env::temp_dir().join(format!("tikcast-signers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("relay.toml");
    std::fs::write(&config, "[sign]\nsigner = \"tiktok-tools\"\n").unwrap();
    let e = start_error(&["--config", config.to_str().unwrap()], &[]);
    assert!(e.starts_with("unknown signer \"tiktok-tools\""), "{e}");
    std::fs::write(
        &config,
        "[sign]\nsigner = \"tiktool\"\nkey_env = \"TIKCAST_TEST_EMPTY_KEY\"\n",
    )
    .unwrap();
    let e = start_error(
        &["--config", config.to_str().unwrap()],
        &[("TIKCAST_TEST_EMPTY_KEY", "  ")],
    );
    assert!(
        e.starts_with(
            "--signer-key-env TIKCAST_TEST_EMPTY_KEY: that environment variable is not set, empty"
        ),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
