//! `tikcast relay`'s admin side on 127.0.0.1: token minting (`POST /api/jwt`, `tikcast
//! token`) and the rate-limit headers of `/api`. Every server is a child process that
//! stops by itself (`--max-seconds`), and is killed when its test ends.

mod common;

use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use common::{header, mock_args, refused_start, relay_args, ws_open, ws_tally, Proc, BIN};

const SECRET: &str = "relay-admin-test-secret-0123456789";
const ADMIN_KEY: &str = "admin-key-for-tests-5f3a9c1e77";

// Every process keeps its stderr in a file, read by `log()`.
impl Proc {
    fn logged_mock() -> Proc {
        Proc::start_logged(&mock_args(&["--messages", "100000", "--rate", "50"]), &[])
    }

    fn relay(mock: &Proc, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let upstream = format!("mock:ws://{}/ws", mock.addr);
        let mut extra = vec!["--grace-ms", "200"];
        extra.extend_from_slice(args);
        Proc::start_logged(&relay_args(&upstream, SECRET, &extra), env)
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The claims of a token (its signature is the relay's business).
fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// What a viewer socket with `query` gets: (room info seen, binary frames, close code).
async fn watch(relay: &Proc, query: &str) -> (bool, usize, Option<u16>) {
    let mut ws = ws_open(relay, query).await;
    let got = ws_tally(&mut ws, 3, Duration::from_secs(5)).await;
    // Whether the last text message is the roomInfo (each one must be JSON).
    let mut info = false;
    for t in &got.texts {
        info = serde_json::from_str::<Value>(t).unwrap()["type"] == "roomInfo";
    }
    (info, got.frames, got.close)
}

fn mint(relay: &Proc, key: &str, body: Value) -> (u16, String, Value) {
    let auth = format!("authorization: Bearer {key}");
    let (status, head, body) = relay.request("POST", "/api/jwt", &[&auth], &body.to_string());
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body:?}: {e}"));
    (status, head, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minted_tokens_are_scoped_capped_and_the_admin_key_is_guarded() {
    let mock = Proc::logged_mock();
    let relay = Proc::relay(
        &mock,
        &[
            "--admin-key-env",
            "TIKCAST_TEST_ADMIN_KEY",
            "--max-token-ttl",
            "2m",
            "--require-scope",
        ],
        &[("TIKCAST_TEST_ADMIN_KEY", ADMIN_KEY)],
    );
    // In scope: accepted, with its socket cap; out of scope: 4403.
    let (status, _, v) = mint(
        &relay,
        ADMIN_KEY,
        json!({"allowedCreators": ["@Ada"], "maxWebSockets": 1, "ttlSeconds": 60}),
    );
    assert_eq!(status, 200, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    assert_eq!(v["allowedCreators"], json!(["ada"]));
    assert_eq!(
        (v["maxWebSockets"].as_u64(), v["ttlSeconds"].as_u64()),
        (Some(1), Some(60))
    );
    let c = claims(&token);
    assert_eq!(c["allowedCreators"], json!(["ada"]));
    assert_eq!(c["exp"], v["expiresAt"]);
    assert!(
        (now() + 58..=now() + 61).contains(&c["exp"].as_u64().unwrap()),
        "{c}"
    );
    let (info, frames, close) = watch(&relay, &format!("uniqueId=ada&jwtKey={token}")).await;
    assert!(info && frames == 3, "{info} {frames} {close:?}");
    let (_, frames, close) = watch(&relay, &format!("uniqueId=bob&jwtKey={token}")).await;
    assert_eq!((frames, close), (0, Some(4403)));
    // The ttl is capped by --max-token-ttl (2 minutes).
    let (status, _, v) = mint(
        &relay,
        ADMIN_KEY,
        json!({"allowed_creators": "*", "ttl_seconds": 86_400}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["ttlSeconds"], 120);
    let exp = claims(v["token"].as_str().unwrap())["exp"]
        .as_u64()
        .unwrap();
    assert!(exp <= now() + 120 && exp >= now() + 118, "{exp}");
    let star = v["token"].as_str().unwrap().to_string();
    let (info, frames, _) = watch(&relay, &format!("uniqueId=someone&jwtKey={star}")).await;
    assert!(info && frames == 3);

    // A wrong, missing or differently sent key: 401, the same answer, nothing echoed.
    let wrong = "admin-key-for-tests-5f3a9c1e78";
    let mut refusals = Vec::new();
    for headers in [
        vec![format!("authorization: Bearer {wrong}")],
        vec![format!("x-api-key: {wrong}")],
        vec![format!("authorization: Basic {ADMIN_KEY}")],
        vec![],
    ] {
        let h: Vec<&str> = headers.iter().map(String::as_str).collect();
        let (status, head, body) =
            relay.request("POST", "/api/jwt", &h, r#"{"allowedCreators":"*"}"#);
        assert_eq!(status, 401, "{headers:?}: {body}");
        assert!(!body.contains(wrong) && !body.contains(ADMIN_KEY), "{body}");
        assert!(!head.contains(&wrong.to_lowercase()), "{head}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["error"],
            "invalid_admin_key"
        );
        refusals.push(body);
    }
    assert!(refusals.windows(2).all(|w| w[0] == w[1]), "{refusals:?}");
    // x-api-key works too.
    let (status, _, body) = relay.request(
        "POST",
        "/api/jwt",
        &[&format!("x-api-key: {ADMIN_KEY}")],
        r#"{"allowedCreators":["bob"]}"#,
    );
    assert_eq!(status, 200, "{body}");

    // Bad bodies get a clear, lowercase error.
    for (body, want) in [
        (
            "{}",
            "allowedCreators is required: a list of handles, or \"*\"",
        ),
        ("not json", "the body must be a json object"),
        (
            r#"{"allowedCreators":["ada"],"maxWebSockets":0}"#,
            "maxWebSockets must be a whole number from 1 to 10000",
        ),
        (
            r#"{"allowedCreators":["a/b"]}"#,
            "allowedCreators: \"a/b\" is not a valid uniqueId",
        ),
    ] {
        let auth = format!("authorization: Bearer {ADMIN_KEY}");
        let (status, _, answer) = relay.request("POST", "/api/jwt", &[&auth], body);
        assert_eq!(status, 400, "{body}: {answer}");
        let message = serde_json::from_str::<Value>(&answer).unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.starts_with(want), "{body}: {message}");
    }
    // No content-length: 411; too large: 413.
    let auth = format!("authorization: Bearer {ADMIN_KEY}");
    let (status, _, _) = relay.request(
        "POST",
        "/api/jwt",
        &[&auth, "transfer-encoding: chunked"],
        "0\r\n\r\n",
    );
    assert_eq!(status, 411);
    let (status, _, _) = relay.request("POST", "/api/jwt", &[&auth, "content-length: 100000"], "");
    assert_eq!(status, 413);

    // Neither the admin key nor a minted token is ever logged.
    let log = relay.log();
    assert!(log.contains("minted tok:"), "{log}");
    for secret in [ADMIN_KEY, wrong, token.as_str(), star.as_str(), SECRET] {
        assert!(!log.contains(secret), "the log holds a secret:\n{log}");
    }
}

#[test]
fn minting_is_off_without_an_admin_key_and_misconfiguration_stops_the_start() {
    let refused = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["relay", "--listen", "127.0.0.1:0", "--max-seconds", "5"];
        all.extend_from_slice(&["--upstream", "mock:ws://127.0.0.1:9/ws"]);
        all.extend_from_slice(args);
        refused_start(&all, env)
    };
    let e = refused(
        &[
            "--jwt-secret",
            SECRET,
            "--admin-key-env",
            "TIKCAST_TEST_UNSET_VAR_X",
        ],
        &[],
    );
    assert!(
        e.contains("TIKCAST_TEST_UNSET_VAR_X") && e.contains("not set"),
        "{e}"
    );
    let e = refused(
        &["--jwt-secret", SECRET, "--admin-key-env", "K"],
        &[("K", "short")],
    );
    assert!(e.contains("at least 16 bytes"), "{e}");
    assert!(!e.contains("short"), "{e}");
    let e = refused(&["--no-auth", "--admin-key-env", "K"], &[("K", ADMIN_KEY)]);
    assert!(e.contains("--no-auth"), "{e}");
    let e = refused(
        &[
            "--jwt-secret",
            SECRET,
            "--admin-key-env",
            "K",
            "--max-token-ttl",
            "1w",
        ],
        &[("K", ADMIN_KEY)],
    );
    assert!(e.contains("--max-token-ttl"), "{e}");
    let e = refused(&["--jwt-secret", SECRET, "--max-token-ttl", "1h"], &[]);
    assert!(e.contains("--admin-key-env"), "{e}");

    let mock = Proc::logged_mock();
    let relay = Proc::relay(&mock, &[], &[]);
    let (status, _, body) = relay.request("POST", "/api/jwt", &[], "{}");
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "minting_disabled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_tokens_are_accepted_by_a_running_relay() {
    let mock = Proc::logged_mock();
    let relay = Proc::relay(&mock, &["--require-scope"], &[]);
    let token = |args: &[&str]| {
        Command::new(BIN)
            .arg("token")
            .args(args)
            .env("TIKCAST_TEST_SECRET", SECRET)
            .output()
            .unwrap()
    };
    let out = token(&[
        "--secret-env",
        "TIKCAST_TEST_SECRET",
        "--creator",
        "ada",
        "--creator",
        "@Bob",
        "--max-websockets",
        "2",
        "--ttl",
        "10m",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let minted = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let c = claims(&minted);
    assert_eq!(c["allowedCreators"], json!(["ada", "bob"]));
    assert_eq!(c["maxWebSockets"], 2);
    assert!((now() + 598..=now() + 601).contains(&c["exp"].as_u64().unwrap()));
    for who in ["ada", "bob"] {
        let (info, frames, close) = watch(&relay, &format!("uniqueId={who}&jwtKey={minted}")).await;
        assert!(info && frames == 3, "{who}: {frames} {close:?}");
    }
    let (_, frames, close) = watch(&relay, &format!("uniqueId=carol&jwtKey={minted}")).await;
    assert_eq!((frames, close), (0, Some(4403)));
    // A token signed with another secret is refused (4401).
    let other = Command::new(BIN)
        .args(["token", "--secret-env", "S", "--creator", "ada"])
        .env("S", "a-different-secret-0123456789")
        .output()
        .unwrap();
    let other = String::from_utf8(other.stdout).unwrap().trim().to_string();
    let (_, _, close) = watch(&relay, &format!("uniqueId=ada&jwtKey={other}")).await;
    assert_eq!(close, Some(4401));

    // Mistakes are named, and the secret is never printed.
    for (args, want) in [
        (
            vec![
                "--secret-env",
                "TIKCAST_TEST_SECRET",
                "--creator",
                "ada",
                "--ttl",
                "31d",
            ],
            "--ttl",
        ),
        (
            vec![
                "--secret-env",
                "TIKCAST_TEST_SECRET",
                "--creator",
                "ada",
                "--ttl",
                "soon",
            ],
            "--ttl",
        ),
        (
            vec!["--secret-env", "TIKCAST_TEST_SECRET", "--creator", "a b"],
            "--creator",
        ),
        (
            vec![
                "--secret-env",
                "TIKCAST_TEST_SECRET",
                "--creator",
                "ada",
                "--max-websockets",
                "0",
            ],
            "--max-websockets",
        ),
        (
            vec![
                "--secret-env",
                "TIKCAST_NOT_SET_ANYWHERE",
                "--creator",
                "ada",
            ],
            "TIKCAST_NOT_SET_ANYWHERE",
        ),
    ] {
        let out = token(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && out.stdout.is_empty(), "{args:?}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(!stderr.contains(SECRET), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_carry_rate_limit_headers_and_429s_a_retry_after() {
    let mock = Proc::logged_mock();
    let relay = Proc::relay(
        &mock,
        &[
            "--public-api",
            "--connects-per-minute-per-ip",
            "4",
            "--lookups-per-minute-per-ip",
            "1",
        ],
        &[],
    );
    let mut remaining = Vec::new();
    // A lookup of an unknown creator takes from the tighter lookup bucket (1 a minute).
    let (status, head, body) =
        relay.request("GET", "/api/rooms/ada", &["origin: https://o.example"], "");
    assert_eq!(status, 200, "{body}");
    // Browsers may read the headers (CORS).
    let exposed = header(&head, "access-control-expose-headers").unwrap();
    assert!(exposed.contains("x-ratelimit-remaining") && exposed.contains("retry-after"));
    assert_eq!(header(&head, "x-ratelimit-limit").as_deref(), Some("1"));
    assert_eq!(header(&head, "x-ratelimit-remaining").as_deref(), Some("0"));
    let reset: u64 = header(&head, "x-ratelimit-reset").unwrap().parse().unwrap();
    assert!((59..=60).contains(&reset), "{reset}");
    let (status, head, body) = relay.request("GET", "/api/rooms/bob", &[], "");
    assert_eq!(status, 429, "{body}");
    let after: u64 = header(&head, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&after), "{after}");
    assert_eq!(header(&head, "x-ratelimit-limit").as_deref(), Some("1"));
    assert_eq!(header(&head, "x-ratelimit-remaining").as_deref(), Some("0"));
    // The per-IP API bucket (4 a minute): 2 taken above, 2 left, then 429.
    for _ in 0..2 {
        // The catalog comes from the mock's web side (no --gifts file here).
        let (status, head, _) = relay.request("GET", "/api/gifts", &[], "");
        assert_eq!(status, 200);
        assert_eq!(header(&head, "x-ratelimit-limit").as_deref(), Some("4"));
        remaining.push(header(&head, "x-ratelimit-remaining").unwrap());
    }
    assert_eq!(remaining, ["1", "0"]);
    let (status, head, body) = relay.request("GET", "/api/gifts", &[], "");
    assert_eq!(status, 429, "{body}");
    let after: u64 = header(&head, "retry-after").unwrap().parse().unwrap();
    assert!((1..=15).contains(&after), "{after}");
    assert_eq!(header(&head, "x-ratelimit-remaining").as_deref(), Some("0"));
    assert!(serde_json::from_str::<Value>(&body).unwrap()["message"]
        .as_str()
        .unwrap()
        .contains(&format!("retry in {after} s")));
    // Minting is counted in the same bucket and gets the same 429.
    let (status, head, _) = relay.request("POST", "/api/jwt", &[], "{}");
    assert_eq!(status, 429);
    assert!(header(&head, "retry-after").is_some());
}
