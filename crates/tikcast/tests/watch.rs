//! End to end, native: `tikcast watch` (a Session over a real socket) against
//! `tikcast mock` with faults: dropped connections, duplicates, a stall, bad credentials.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use common::{Proc, BIN};

/// A running `tikcast mock` on 127.0.0.1 that stops by itself after 90 s.
fn start_mock(args: &[&str]) -> Proc {
    let mut all = vec!["mock", "--listen", "127.0.0.1:0", "--max-seconds", "90"];
    all.extend_from_slice(args);
    Proc::start(&all, &[])
}

struct Watched {
    code: i32,
    lines: Vec<Value>,
    stderr: String,
    took: Duration,
}

impl Watched {
    fn states(&self, name: &str) -> Vec<&Value> {
        self.lines
            .iter()
            .filter(|l| l["type"] == "state" && l["state"] == name)
            .collect()
    }

    /// The msg ids of decoded messages, in delivery order, one per message: derived
    /// events (follow after social, ...) share their source's id and are folded in;
    /// the session's own gift summaries (`gift`, `giftStreak`) are left out, since
    /// `giftRaw` already stands for each gift message.
    fn message_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = Vec::new();
        for l in &self.lines {
            let t = l["type"].as_str().unwrap_or("");
            if matches!(
                t,
                "state" | "roomInfo" | "gift" | "giftStreak" | "likeAggregate"
            ) {
                continue;
            }
            let id: u64 = l["msgId"].as_str().unwrap().parse().unwrap();
            if ids.last() != Some(&id) {
                ids.push(id);
            }
        }
        ids
    }
}

fn watch(url: &str, args: &[&str]) -> Watched {
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["watch", url, "--max-seconds", "60", "--seed", "7"])
        .args(args)
        .output()
        .expect("run tikcast watch");
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not json ({e}): {l}")))
        .collect();
    Watched {
        code: out.status.code().unwrap_or(-1),
        lines,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

const FAULTS: &[&str] = &[
    "--messages",
    "2000",
    "--rate",
    "4000",
    "--batch",
    "5",
    "--gzip",
    "mixed",
    "--drop-after",
    "300",
    "--duplicate-rate",
    "0.1",
    "--stall-after",
    "1000",
    "--seed",
    "3",
];

fn assert_exactly_once(w: &Watched, mock: &Proc) {
    assert_eq!(
        w.code, 0,
        "watch exits 0 on --until-idle; stderr: {}",
        w.stderr
    );
    let ids = w.message_ids();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "a message was delivered twice");
    assert_eq!(ids.len(), 2000, "every message arrives");
    assert!(
        ids.windows(2).all(|p| p[1] == p[0] + 1),
        "in order, none missing"
    );
    let stats = mock.stats();
    assert_eq!(stats["uniqueMsgIds"], 2000);
    assert!(
        stats["duplicatesSent"].as_u64().unwrap() > 100,
        "the mock really sent duplicates: {stats}"
    );
    let drops = stats["drops"].as_u64().unwrap();
    let stalls = stats["stalls"].as_u64().unwrap();
    assert_eq!((drops, stalls), (6, 1), "{stats}");
    // Each reconnect is reported, with its attempt and delay. Once everything is sent
    // the mock goes quiet, which a 2 s liveness timeout also (rightly) takes for a dead
    // socket; only the reconnects before the last message are the faults'.
    let last_message = w
        .lines
        .iter()
        .rposition(|l| l.get("msgId").is_some())
        .unwrap();
    let reconnects: Vec<&Value> = w.lines[..last_message]
        .iter()
        .filter(|l| l["type"] == "state" && l["state"] == "reconnecting")
        .collect();
    assert_eq!(reconnects.len() as u64, drops + stalls, "{reconnects:?}");
    for r in &reconnects {
        assert_eq!(r["class"], "transient");
        assert!(r["delayMs"].as_u64().unwrap() <= 1_000, "{r}");
    }
    let stall_closes = w.lines[..last_message]
        .iter()
        .filter(|d| d["state"] == "disconnected" && d["code"] == 4006)
        .count();
    assert_eq!(
        stall_closes, 1,
        "the stall is caught by the liveness timeout"
    );
    let served = stats["reconnectsServed"].as_u64().unwrap();
    let connections = stats["connections"].as_u64().unwrap();
    assert_eq!(
        served,
        connections - 1,
        "every reconnect resumed from its cursor: {stats}"
    );
    assert_eq!(connections, w.states("connected").len() as u64);
    let last = w.lines.last().unwrap();
    assert_eq!(
        (&last["state"], &last["code"]),
        (&"stopped".into(), &"stopped".into())
    );
}

#[test]
fn direct_watch_gets_every_message_exactly_once_through_drops_duplicates_and_a_stall() {
    let mock = start_mock(FAULTS);
    let url = format!(
        "ws://{}/webcast/im/ws_proxy/ws_reuse_supplement/?room_id=7300000000000000001&compress=gzip",
        mock.addr
    );
    let w = watch(
        &url,
        &["--liveness-timeout-ms", "2000", "--until-idle", "5"],
    );
    assert_exactly_once(&w, &mock);
    let stats = mock.stats();
    // Every frame is acked, but acks in flight when the mock drops the connection (6
    // times) or stalls are lost, more of them the busier the machine: at least three
    // thirds of the frames must have been acked (about 90 % on an idle machine; 71 % seen
    // with the machine's two cores shared by four builds).
    let (acks, sent) = (
        stats["acks"].as_u64().unwrap(),
        stats["framesSent"].as_u64().unwrap(),
    );
    assert!(
        acks * 3 >= sent * 2 && sent >= 400,
        "acks checked by the mock: {stats}"
    );
    assert!(stats["heartbeats"].as_u64().unwrap() >= 8, "{stats}");
    assert!(
        stats["closes"].as_object().unwrap().is_empty(),
        "the mock never closed us for a protocol fault: {stats}"
    );
}

fn jwt(secret: &str, claims: Value) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let head = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = b64.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{head}.{body}").as_bytes());
    let sig = b64.encode(mac.finalize().into_bytes());
    format!("{head}.{body}.{sig}")
}

fn in_an_hour() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600
}

#[test]
fn relay_watch_gets_every_message_exactly_once_too() {
    let mut args = FAULTS.to_vec();
    args.extend(["--jwt-secret", "relay-secret"]);
    let mock = start_mock(&args);
    let token = jwt(
        "relay-secret",
        serde_json::json!({"exp": in_an_hour(), "allowedCreators": ["ada.demo"]}),
    );
    let url = format!("ws://{}/ws", mock.addr);
    let w = watch(
        &url,
        &[
            "--jwt",
            &token,
            "--unique-id",
            "ada.demo",
            "--liveness-timeout-ms",
            "2000",
            "--until-idle",
            "5",
        ],
    );
    assert_exactly_once(&w, &mock);
    let infos: Vec<&Value> = w.lines.iter().filter(|l| l["type"] == "roomInfo").collect();
    // One room description per connection (the last connection may be stopped by
    // --until-idle before its description is read).
    let connected = w.states("connected").len();
    assert!(
        infos.len() == connected || infos.len() + 1 == connected,
        "{} room descriptions for {connected} connections",
        infos.len()
    );
    assert_eq!(infos[0]["data"]["uniqueId"], "ada.demo");
    let all = w.lines.iter().map(Value::to_string).collect::<String>() + &w.stderr;
    assert!(!all.contains(&token), "the credential is never printed");
}

#[test]
fn bad_credentials_stop_at_once_with_the_terminal_reason() {
    let mock = start_mock(&["--messages", "10", "--jwt-secret", "relay-secret"]);
    let url = format!("ws://{}/ws", mock.addr);
    let cases = [
        (
            jwt("wrong-secret", serde_json::json!({"exp": in_an_hour()})),
            "invalid_auth",
            4401,
        ),
        (
            jwt("relay-secret", serde_json::json!({"exp": 1_000_000_000})),
            "invalid_auth",
            4401,
        ),
        (
            jwt(
                "relay-secret",
                serde_json::json!({"exp": in_an_hour(), "allowedCreators": ["someone.else"]}),
            ),
            "no_permission",
            4403,
        ),
    ];
    for (token, code, close) in cases {
        let w = watch(&url, &["--jwt", &token, "--unique-id", "ada.demo"]);
        assert_eq!(w.code, 1, "a terminal close is a failure exit");
        assert!(w.stderr.contains(code), "stderr names {code}: {}", w.stderr);
        assert!(!w.stderr.contains(&token));
        assert_eq!(w.states("connecting").len(), 1, "no retry loop");
        assert!(w.states("reconnecting").is_empty());
        let last = w.lines.last().unwrap();
        assert_eq!(
            (&last["code"], &last["closeCode"]),
            (&code.into(), &close.into())
        );
        assert!(w.took < Duration::from_secs(10), "{:?}", w.took);
    }
}

#[test]
fn offline_creator_with_stop_when_offline_exits_cleanly() {
    let mock = start_mock(&["--messages", "0", "--close-code", "4404"]);
    let url = format!("ws://{}/ws", mock.addr);
    let w = watch(&url, &["--unique-id", "ada.demo", "--stop-when-offline"]);
    assert_eq!(w.code, 0, "{}", w.stderr);
    let last = w.lines.last().unwrap();
    assert_eq!(
        (&last["code"], &last["closeCode"]),
        (&"not_live".into(), &4404.into())
    );
}

#[test]
fn real_captures_pass_through_mock_and_session_exactly_once() {
    let Some(dir) = common::corpus(
        "log.json",
        "real_captures_pass_through_mock_and_session_exactly_once",
    ) else {
        return;
    };
    let mock = start_mock(&[
        "--corpus",
        dir.to_str().unwrap(),
        "--rate",
        "0",
        "--batch",
        "20",
        // No drops here: the captures contain stream-end control messages, after which
        // a drop is (rightly) waited out for 60 s; drops are covered above.
        "--duplicate-rate",
        "0.05",
    ]);
    let w = watch(
        &format!("ws://{}/ws", mock.addr),
        &["--unique-id", "corpus.host", "--until-idle", "3"],
    );
    assert_eq!(w.code, 0, "{}", w.stderr);
    let stats = mock.stats();
    let total = stats["messages"].as_u64().unwrap();
    assert!(total >= 2_900, "every captured sample is served: {stats}");
    let ids = w.message_ids();
    assert_eq!(ids.len() as u64, total, "each sample delivered once");
    assert!(ids.windows(2).all(|p| p[1] == p[0] + 1), "in order");
    let bad: Vec<&Value> = w
        .lines
        .iter()
        .filter(|l| l["type"] == "decodeError" || l["type"] == "unknown")
        .collect();
    assert!(
        bad.is_empty(),
        "{} real messages failed: {:?}",
        bad.len(),
        bad.first()
    );
    let kinds: std::collections::BTreeSet<&str> =
        w.lines.iter().filter_map(|l| l["type"].as_str()).collect();
    for k in [
        "chat", "giftRaw", "gift", "like", "member", "roomUser", "social",
    ] {
        assert!(kinds.contains(k), "no {k} among {kinds:?}");
    }
}

#[test]
fn a_credential_command_runs_before_every_attempt() {
    let mock = start_mock(&[
        "--messages",
        "600",
        "--rate",
        "4000",
        "--drop-after",
        "200",
        "--jwt-secret",
        "relay-secret",
    ]);
    let dir = std::env::temp_dir().join(format!("tikcast-watch-jwt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token = jwt(
        "relay-secret",
        serde_json::json!({"exp": in_an_hour(), "allowedCreators": ["ada.demo"]}),
    );
    std::fs::write(dir.join("token"), format!("{token}\n")).unwrap();
    let cmd = format!("echo run >> '{0}/count' && cat '{0}/token'", dir.display());
    let w = watch(
        &format!("ws://{}/ws", mock.addr),
        &[
            "--jwt-command",
            &cmd,
            "--unique-id",
            "ada.demo",
            "--until-idle",
            "4",
        ],
    );
    let runs = std::fs::read_to_string(dir.join("count")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(w.code, 0, "{}", w.stderr);
    assert_eq!(w.message_ids().len(), 600);
    let connects = w.states("connecting").len();
    assert_eq!(connects, 3, "two drops, three connections");
    assert_eq!(
        runs.lines().count(),
        connects,
        "one fresh credential per attempt"
    );
    let all = w.lines.iter().map(Value::to_string).collect::<String>() + &w.stderr;
    assert!(!all.contains(&token));

    // A failing command is a failed attempt, retried, then given up on.
    let w = watch(
        &format!("ws://{}/ws", mock.addr),
        &[
            "--jwt-command",
            "exit 3",
            "--unique-id",
            "ada.demo",
            "--max-attempts",
            "2",
        ],
    );
    assert_eq!(w.code, 1);
    assert!(w.stderr.contains("attempts_exhausted"), "{}", w.stderr);
    let reasons: Vec<&str> = w
        .states("disconnected")
        .iter()
        .filter_map(|d| d["reason"].as_str())
        .collect();
    assert_eq!(reasons.len(), 3);
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("credential command failed")),
        "{reasons:?}"
    );
}

#[test]
fn a_socket_that_never_opens_times_out_and_counts_as_a_failed_attempt() {
    // Accepts TCP connections and never answers the WebSocket handshake.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until && held.len() < 2 {
            match listener.accept() {
                Ok((s, _)) => held.push(s),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        std::thread::sleep(Duration::from_secs(3));
    });
    let w = watch(
        &format!("ws://{addr}/ws"),
        &[
            "--unique-id",
            "ada.demo",
            "--connect-timeout-ms",
            "300",
            "--max-attempts",
            "1",
        ],
    );
    assert_eq!(w.code, 1, "{}", w.stderr);
    assert!(w.stderr.contains("attempts_exhausted"), "{}", w.stderr);
    let reasons: Vec<&str> = w
        .states("disconnected")
        .iter()
        .filter_map(|d| d["reason"].as_str())
        .collect();
    assert_eq!(
        reasons,
        [
            "socket did not open within 300 ms",
            "socket did not open within 300 ms"
        ]
    );
    assert!(w.took < Duration::from_secs(5), "{:?}", w.took);
    let _ = holder.join();
}
