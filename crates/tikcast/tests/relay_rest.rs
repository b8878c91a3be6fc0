//! `tikcast relay`'s REST helpers on 127.0.0.1 against `tikcast mock`: the bulk live
//! check (`POST /api/rooms/check`), user lookups (`GET /api/users/NAME`), the gift
//! catalog with its TTL and file fallback (`GET /api/gifts`), and the lookup limit's 429s.
//! The mock's `/stats` counts the upstream requests (`userLookups`, `giftLists`), so a
//! cache hit is told from an upstream request. Every server is a child process that stops
//! by itself (`--max-seconds`), and is killed when its test ends.

mod common;

use std::time::Duration;

use serde_json::{json, Value};

use common::{header, relay_args, ws_open, Proc};

const SECRET: &str = "relay-rest-test-secret-0123456789";
const ADMIN_KEY: &str = "admin-key-for-rest-tests-81c2d";
/// The mock's room (its default `--room-id`).
const ROOM: &str = "7300000000000000001";

impl Proc {
    /// A mock where `sleepy` is offline and `ghost` does not exist.
    fn lookup_mock() -> Proc {
        Proc::mock(&["--offline", "sleepy", "--missing", "ghost"])
    }

    fn relay(mock: &Proc, args: &[&str]) -> Proc {
        let upstream = format!("mock:ws://{}/ws", mock.addr);
        let mut extra = vec![
            "--allow-origin",
            "https://overlay.example",
            "--admin-key-env",
            "TIKCAST_REST_TEST_ADMIN_KEY",
        ];
        extra.extend_from_slice(args);
        let args = relay_args(&upstream, SECRET, &extra);
        Proc::start(&args, &[("TIKCAST_REST_TEST_ADMIN_KEY", ADMIN_KEY)])
    }

    /// `POST /api/rooms/check` with `body` and a token header.
    fn check(&self, token: &str, body: &Value) -> (u16, String, Value) {
        let auth = format!("x-jwt-key: {token}");
        let (status, head, body) =
            self.request("POST", "/api/rooms/check", &[&auth], &body.to_string());
        let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
        (status, head, v)
    }

    fn get(&self, path: &str, token: &str) -> (u16, String, Value) {
        let auth = format!("x-jwt-key: {token}");
        let (status, head, body) = self.request("GET", path, &[&auth], "");
        let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
        (status, head, v)
    }
}

fn token(creators: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"exp": jsonwebtoken::get_current_timestamp() + 600, "allowedCreators": creators}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn lookups(mock: &Proc) -> u64 {
    mock.stats()["userLookups"].as_u64().unwrap()
}

#[test]
fn bulk_check_answers_each_name_in_order_from_upstream_then_cache() {
    let mock = Proc::lookup_mock();
    let relay = Proc::relay(&mock, &[]);
    let tok = token(json!(["ada", "sleepy", "ghost", "bob"]));
    let names = json!({"uniqueIds": ["ada", "@Sleepy", "ghost", "bad name!", "carol", "ada"]});
    let (status, head, v) = relay.check(&tok, &names);
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v,
        json!({"results": [
            {"uniqueId": "ada", "live": true, "roomId": ROOM},
            {"uniqueId": "sleepy", "live": false},
            {"uniqueId": "ghost", "live": false, "error": {"code": "not_found", "message": "no tiktok user is called ghost"}},
            {"uniqueId": "bad name!", "live": false, "error": {"code": "invalid_handle", "message": "not a valid uniqueId: 2 to 24 letters, digits, _ and ., not starting or ending with ."}},
            {"uniqueId": "carol", "live": false, "error": {"code": "forbidden", "message": "this token's allowedCreators does not include this creator"}},
            {"uniqueId": "ada", "live": true, "roomId": ROOM},
        ]})
    );
    // One upstream request per distinct allowed name (ada, sleepy, ghost), none for the
    // invalid or out-of-scope ones; three lookup units taken of the IP's 60.
    assert_eq!(lookups(&mock), 3);
    assert_eq!(header(&head, "x-ratelimit-limit").as_deref(), Some("20"));
    assert_eq!(
        header(&head, "x-ratelimit-remaining").as_deref(),
        Some("17")
    );
    // Asked again (snake_case spelling): every answer from the cache, nothing upstream.
    let (status, head, again) =
        relay.check(&tok, &json!({"unique_ids": ["ghost", "ada", "sleepy"]}));
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["results"][0]["error"]["code"], "not_found");
    assert_eq!(again["results"][1]["roomId"], ROOM);
    assert_eq!(again["results"][2]["live"], false);
    assert_eq!(lookups(&mock), 3);
    // Only the API bucket (120 per minute per IP) was taken this time.
    assert_eq!(header(&head, "x-ratelimit-limit").as_deref(), Some("120"));
    // A creator whose room the relay has open needs no lookup either: bob is watched.
    // (Opening the room dials the mock's socket, not its user lookup.)
    let bob = token(json!(["bob"]));
    let query = format!("uniqueId=bob&jwtKey={bob}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use futures_util::StreamExt;
        let mut ws = ws_open(&relay, &query).await;
        let first = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap();
        assert!(matches!(first, Some(Ok(m)) if m.is_text()));
        let (status, _, v) = relay.check(&tok, &json!({"uniqueIds": ["bob"]}));
        assert_eq!(
            (status, &v["results"][0]),
            (
                200,
                &json!({"uniqueId": "bob", "live": true, "roomId": ROOM})
            )
        );
    });
    assert_eq!(lookups(&mock), 3);
    // Bad bodies are refused whole, with lowercase reasons.
    for (body, why) in [
        (json!({"uniqueIds": []}), "1 to 100"),
        (
            json!({"uniqueIds": (0..101).map(|i| format!("u{i}")).collect::<Vec<_>>()}),
            "1 to 100",
        ),
        (json!({"uniqueIds": ["a"], "unique_ids": ["b"]}), "not both"),
        (json!({"uniqueIds": [7]}), "strings"),
        (json!({"names": ["ada"]}), "unknown field"),
    ] {
        let (status, _, v) = relay.check(&tok, &body);
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some("bad_request")),
            "{body}"
        );
        assert!(v["message"].as_str().unwrap().contains(why), "{v}");
    }
    // No token: 401; the admin api key is an unscoped credential (carol is allowed).
    let (status, _, _) = relay.request("POST", "/api/rooms/check", &[], &names.to_string());
    assert_eq!(status, 401);
    let key = format!("x-api-key: {ADMIN_KEY}");
    let (status, _, body) = relay.request(
        "POST",
        "/api/rooms/check",
        &[&key],
        &json!({"uniqueIds": ["carol"]}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["results"][0],
        json!({"uniqueId": "carol", "live": true, "roomId": ROOM})
    );
    assert_eq!(lookups(&mock), 4);
    let (status, _, body) = relay.request(
        "POST",
        "/api/rooms/check",
        &["x-api-key: not-the-key"],
        &names.to_string(),
    );
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("not-the-key"));
    // CORS: the preflight allows POST and the headers a browser sends; the answer names
    // the origin and exposes the source and rate-limit headers.
    let (status, head, _) = relay.request(
        "OPTIONS",
        "/api/rooms/check",
        &["origin: https://overlay.example"],
        "",
    );
    assert_eq!(status, 204);
    assert!(header(&head, "access-control-allow-methods")
        .unwrap()
        .contains("post"));
    assert!(header(&head, "access-control-allow-headers")
        .unwrap()
        .contains("content-type"));
    let (status, head, _) = relay.request(
        "POST",
        "/api/rooms/check",
        &[
            &format!("x-jwt-key: {tok}"),
            "origin: https://overlay.example",
        ],
        &json!({"uniqueIds": ["ada"]}).to_string(),
    );
    assert_eq!(status, 200);
    assert_eq!(
        header(&head, "access-control-allow-origin").as_deref(),
        Some("https://overlay.example")
    );
    let (status, _, _) = relay.request(
        "POST",
        "/api/rooms/check",
        &[&format!("x-jwt-key: {tok}"), "origin: https://evil.example"],
        &json!({"uniqueIds": ["ada"]}).to_string(),
    );
    assert_eq!(status, 403);
}

#[test]
fn users_are_looked_up_live_and_offline() {
    let mock = Proc::lookup_mock();
    let relay = Proc::relay(&mock, &[]);
    let tok = token(json!(["ada", "sleepy", "ghost"]));
    let (status, head, ada) = relay.get("/api/users/%40Ada", &tok);
    assert_eq!(status, 200, "{ada}");
    assert_eq!(
        header(&head, "x-tikcast-source").as_deref(),
        Some("upstream")
    );
    assert_eq!(
        (
            &ada["uniqueId"],
            &ada["roomId"],
            &ada["live"],
            &ada["nickname"]
        ),
        (
            &json!("ada"),
            &json!(ROOM),
            &json!(true),
            &json!("Mock ada")
        )
    );
    let user_id = ada["userId"].as_str().unwrap();
    assert!(
        user_id.len() == 19 && user_id.bytes().all(|b| b.is_ascii_digit()),
        "{ada}"
    );
    assert!(
        ada["secUid"].as_str().unwrap().starts_with("MS4wLjABAAAA"),
        "{ada}"
    );
    assert!(
        ada["avatarUrl"]
            .as_str()
            .unwrap()
            .ends_with("~1080x1080.webp"),
        "{ada}"
    );
    // Asked again within the cache's lifetime: the same answer, no upstream request.
    let (status, head, again) = relay.get("/api/users/ada", &tok);
    assert_eq!((status, &again), (200, &ada));
    assert_eq!(header(&head, "x-tikcast-source").as_deref(), Some("cache"));
    assert_eq!(lookups(&mock), 1);
    let (status, _, sleepy) = relay.get("/api/users/sleepy", &tok);
    assert_eq!(status, 200, "{sleepy}");
    assert_eq!(
        (&sleepy["roomId"], &sleepy["live"]),
        (&Value::Null, &json!(false))
    );
    assert_eq!(sleepy["uniqueId"], "sleepy");
    assert_ne!(sleepy["userId"], ada["userId"]);
    let (status, _, ghost) = relay.get("/api/users/ghost", &tok);
    assert_eq!((status, ghost["error"].as_str()), (404, Some("not_found")));
    let (status, _, v) = relay.get("/api/users/carol", &tok);
    assert_eq!((status, v["error"].as_str()), (403, Some("no_permission")));
    let (status, _, v) = relay.get("/api/users/a%20b", &tok);
    assert_eq!((status, v["error"].as_str()), (400, Some("bad_request")));
    assert_eq!(lookups(&mock), 3);
    // The admin api key as a bearer token is unscoped.
    let (status, _, body) = relay.request(
        "GET",
        "/api/users/carol",
        &[&format!("authorization: Bearer {ADMIN_KEY}")],
        "",
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn gift_catalog_is_cached_for_its_ttl_and_falls_back_to_the_file() {
    let mut mock = Proc::lookup_mock();
    let dir = std::env::temp_dir().join(format!("tikcast-rest-gifts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gifts.json");
    std::fs::write(
        &file,
        json!([{"id": 1, "name": "From the file", "diamondCount": 3, "imageUrl": ""}]).to_string(),
    )
    .unwrap();
    let relay = Proc::relay(
        &mock,
        &["--gift-cache-ttl", "1s", "--gifts", file.to_str().unwrap()],
    );
    let tok = token(json!("*"));
    let gift_lists = |mock: &Proc| mock.stats()["giftLists"].as_u64().unwrap();
    let (status, head, gifts) = relay.get("/api/gifts", &tok);
    assert_eq!(status, 200, "{gifts}");
    assert_eq!(
        header(&head, "x-tikcast-source").as_deref(),
        Some("upstream")
    );
    // Normalised, sorted by id.
    assert_eq!(
        gifts[0],
        json!({"id": 5269, "name": "TikTok", "diamondCount": 1, "imageUrl": "https://p16.mock.tikcast.invalid/gift/5269.webp"})
    );
    assert_eq!(gifts.as_array().unwrap().len(), 6);
    let (_, head, cached) = relay.get("/api/gifts", &tok);
    assert_eq!(header(&head, "x-tikcast-source").as_deref(), Some("cache"));
    assert_eq!(cached, gifts);
    assert_eq!(gift_lists(&mock), 1);
    // Past the TTL: fetched again.
    std::thread::sleep(Duration::from_millis(1100));
    let (_, head, fresh) = relay.get("/api/gifts", &tok);
    assert_eq!(
        header(&head, "x-tikcast-source").as_deref(),
        Some("upstream")
    );
    assert_eq!(fresh, gifts);
    assert_eq!(gift_lists(&mock), 2);
    // The upstream gone and the cache expired: the file answers.
    mock.kill();
    std::thread::sleep(Duration::from_millis(1100));
    let (status, head, fallback) = relay.get("/api/gifts", &tok);
    assert_eq!(status, 200);
    assert_eq!(header(&head, "x-tikcast-source").as_deref(), Some("file"));
    assert_eq!(fallback[0]["name"], "From the file");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lookups_over_the_limit_get_429_with_headers_or_per_name_errors() {
    let mock = Proc::lookup_mock();
    let relay = Proc::relay(&mock, &["--lookups-per-minute-per-ip", "3"]);
    let tok = token(json!("*"));
    // Two of the IP's three lookups.
    let (status, head, v) = relay.check(&tok, &json!({"uniqueIds": ["ada", "sleepy"]}));
    assert_eq!(status, 200, "{v}");
    assert_eq!(header(&head, "x-ratelimit-limit").as_deref(), Some("3"));
    assert_eq!(header(&head, "x-ratelimit-remaining").as_deref(), Some("1"));
    // A cached name, one new one that gets the last unit, one that gets none: 200 with a
    // per-name error.
    let (status, _, v) = relay.check(&tok, &json!({"uniqueIds": ["ada", "bob", "carol"]}));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["results"][0]["live"], true);
    assert_eq!(v["results"][1]["live"], true);
    assert_eq!(v["results"][2]["error"]["code"], "rate_limited", "{v}");
    assert_eq!(lookups(&mock), 3);
    // Nothing answerable: the whole request is a 429 with Retry-After and the headers.
    let (status, head, v) = relay.check(&tok, &json!({"uniqueIds": ["dave", "erin"]}));
    assert_eq!(
        (status, v["error"].as_str()),
        (429, Some("too_many")),
        "{v}"
    );
    let retry: u64 = header(&head, "retry-after").unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "{head}");
    assert_eq!(header(&head, "x-ratelimit-limit").as_deref(), Some("3"));
    assert_eq!(header(&head, "x-ratelimit-remaining").as_deref(), Some("0"));
    assert!(header(&head, "x-ratelimit-reset").is_some());
    // The same for a single user lookup; a cached user is still answered.
    let (status, head, _) = relay.get("/api/users/dave", &tok);
    assert_eq!(status, 429);
    assert!(header(&head, "retry-after").is_some());
    assert_eq!(header(&head, "x-ratelimit-remaining").as_deref(), Some("0"));
    let (status, _, _) = relay.get("/api/users/bob", &tok);
    assert_eq!(status, 200);
    assert_eq!(lookups(&mock), 3);
}
