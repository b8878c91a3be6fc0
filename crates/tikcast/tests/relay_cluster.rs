//! `tikcast relay --cluster`: three relay nodes on 127.0.0.1 sharing rooms through a
//! Redis the test starts itself (`redis-server` on a free port, no persistence, killed on
//! drop), with `tikcast mock` as the upstream. One upstream per room across the nodes, a
//! viewer's cursor resuming on another node, a SIGKILLed lease holder replaced with every
//! msgId delivered exactly once (through the session engine, as a browser would), the
//! per-token socket and connect limits across nodes, one `live.start`/`live.end` webhook
//! per event, and Redis going away and coming back.
//!
//! Without `redis-server` these tests print SKIPPED, except under CI (`CI` or
//! `TIKCAST_REQUIRE_REDIS=1` set), where they fail.

mod common;

use common::{relay_args, ws_open, Proc, Ws};

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use tikcast_core::session::Output;
use tikcast_core::{ConnId, Session};
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "relay-cluster-test-secret-0123456789";
const HOOK_SECRET: &str = "cluster-webhook-secret-for-tests-0042";
/// Lease TTL of the test nodes: a dead holder is replaced within 2 s + 0.5 s.
const LEASE_MS: &str = "2000";

/// A `redis-server` of our own on a free 127.0.0.1 port: no RDB, no AOF; killed on drop.
struct Redis {
    child: Option<Child>,
    port: u16,
}

fn redis_server() -> Option<&'static str> {
    for p in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"] {
        if std::path::Path::new(p).is_file() {
            return Some(p);
        }
    }
    let required = std::env::var_os("CI").is_some()
        || std::env::var("TIKCAST_REQUIRE_REDIS").as_deref() == Ok("1");
    assert!(
        !required,
        "redis-server not found: install it (apt-get install -y redis-server); the cluster tests need it"
    );
    eprintln!("SKIPPED relay cluster test: no redis-server (apt-get install -y redis-server)");
    None
}

impl Redis {
    fn start() -> Option<Redis> {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut r = Redis { child: None, port };
        r.run()?;
        Some(r)
    }

    /// Starts (or restarts, on the same port) the server and waits for its PONG.
    fn run(&mut self) -> Option<()> {
        let bin = redis_server()?;
        let port = self.port.to_string();
        let child = Command::new(bin)
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let mut pong = [0u8; 7];
                if s.write_all(b"PING\r\n").is_ok()
                    && s.read_exact(&mut pong).is_ok()
                    && &pong == b"+PONG\r\n"
                {
                    return Some(());
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn token(claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn good_token() -> String {
    token(json!({"exp": now() + 120, "allowedCreators": "*", "maxWebSockets": 50}))
}

/// A relay node of the cluster on `redis`, upstream `mock`, with `args`.
fn node(redis: &Redis, mock: &Proc, id: &str, args: &[&str]) -> Proc {
    let upstream = format!("mock:ws://{}/ws", mock.addr);
    let url = redis.url();
    let mut extra = vec![
        "--grace-ms",
        "300",
        "--cluster",
        &url,
        "--node-id",
        id,
        "--lease-ms",
        LEASE_MS,
    ];
    if !args.contains(&"--connects-per-minute-per-token") {
        extra.extend(["--connects-per-minute-per-token", "1000"]);
    }
    extra.extend_from_slice(args);
    Proc::start_logged(&relay_args(&upstream, SECRET, &extra), &[])
}

/// Leases the node holds (its `/metrics`).
fn leases(p: &Proc, id: &str) -> u64 {
    p.metric(&format!(
        "tikcast_relay_cluster_leases_held{{node=\"{id}\"}}"
    ))
}

/// A viewer as a browser runs it: the socket's frames go through a relay-mode session
/// (msgId de-duplication), whose cursor it resumes from on another node.
struct Viewer {
    ws: Option<Ws>,
    session: Session,
    conn: ConnId,
    /// Every event's msgId, in delivery order.
    ids: Vec<u64>,
    /// Frames received.
    raw: usize,
    infos: Vec<Value>,
    close: Option<u16>,
    started: Instant,
}

impl Viewer {
    async fn open(p: &Proc, room: &str, cursor: Option<&str>) -> Viewer {
        let (session, conn) = common::open_relay_session(u64::MAX / 4);
        let mut v = Viewer {
            ws: None,
            session,
            conn,
            ids: Vec::new(),
            raw: 0,
            infos: Vec::new(),
            close: None,
            started: Instant::now(),
        };
        v.connect(p, room, cursor).await;
        v
    }

    async fn connect(&mut self, p: &Proc, room: &str, cursor: Option<&str>) {
        let mut q = format!("uniqueId={room}&jwtKey={}", good_token());
        if let Some(c) = cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        self.close = None;
        self.ws = Some(ws_open(p, &q).await);
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Reads until `want` distinct messages arrived in all, the socket ends, or `limit`.
    async fn read_until(&mut self, want: usize, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.ids.len() < want {
            let Some(ws) = self.ws.as_mut() else { return };
            match tokio::time::timeout_at(deadline, ws.next()).await {
                Err(_) => return,
                Ok(Some(Ok(Message::Text(t)))) => {
                    self.infos.push(serde_json::from_str(&t).unwrap());
                }
                Ok(Some(Ok(Message::Binary(b)))) => {
                    let t = self.now();
                    self.session.on_frame(t, self.conn, &b);
                    for o in self.session.poll_outputs() {
                        if let Output::Events(batch) = o {
                            // One message may make several events (a gift: `gift`
                            // and `giftRaw`); each message counts once.
                            let mut last = 0;
                            for e in batch.to_events() {
                                let id = e.meta().msg_id;
                                if id != 0 && id != last {
                                    self.ids.push(id);
                                }
                                last = id;
                            }
                        }
                    }
                    self.raw += 1;
                }
                Ok(Some(Ok(Message::Close(f)))) => {
                    self.close = Some(f.map_or(1005, |f| u16::from(f.code)));
                    self.ws = None;
                    return;
                }
                Ok(Some(Ok(_))) => {}
                Ok(_) => {
                    self.close = Some(1006);
                    self.ws = None;
                    return;
                }
            }
        }
    }

    fn cursor(&self) -> String {
        self.session.cursor().to_string()
    }
}

/// Message `i` of the mock has msgId `FIRST + i`.
const FIRST: u64 = 7_400_000_000_000_000_001;

/// Asserts `ids` are each message from the first seen to `last` (exclusive index) once, in
/// order.
fn assert_contiguous(who: &str, ids: &[u64], end: u64) {
    assert!(!ids.is_empty(), "{who}: nothing delivered");
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        ids.len(),
        "{who}: a msgId was delivered twice"
    );
    if let Some(i) = ids.windows(2).position(|w| w[1] != w[0] + 1) {
        let around: Vec<i64> = ids[i.saturating_sub(3)..(i + 5).min(ids.len())]
            .iter()
            .map(|&id| id as i64 - FIRST as i64)
            .collect();
        panic!(
            "{who}: a gap or reordering after message {} of {}: {around:?}",
            i,
            ids.len()
        );
    }
    assert_eq!(
        ids.last().copied(),
        Some(FIRST + end - 1),
        "{who}: ends early"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_one_upstream_and_cursors_resume_on_any_node() {
    let Some(redis) = Redis::start() else { return };
    let mock = Proc::mock(&["--messages", "3000", "--rate", "300", "--batch", "5"]);
    let nodes: Vec<Proc> = ["a", "b", "c"]
        .iter()
        .map(|id| node(&redis, &mock, id, &[]))
        .collect();
    // Viewers spread over the nodes, the first on a (which takes the lease).
    let mut va = Viewer::open(&nodes[0], "ada", None).await;
    va.read_until(5, Duration::from_secs(5)).await;
    let mut vb = Viewer::open(&nodes[1], "ada", None).await;
    let mut vc = Viewer::open(&nodes[2], "ada", None).await;
    tokio::join!(
        va.read_until(200, Duration::from_secs(10)),
        vb.read_until(100, Duration::from_secs(10)),
        vc.read_until(100, Duration::from_secs(10)),
    );
    for (who, v) in [("a", &va), ("b", &vb), ("c", &vc)] {
        assert!(v.ids.len() >= 100, "{who}: {} messages", v.ids.len());
        assert!(
            v.ids.windows(2).all(|w| w[1] == w[0] + 1),
            "{who}: every message in order, none twice"
        );
        assert_eq!(v.infos[0]["type"], "roomInfo", "{who}");
        assert_eq!(v.infos[0]["uniqueId"], "ada", "{who}");
    }
    let stats = mock.stats();
    assert_eq!(
        stats["connections"], 1,
        "one upstream for three nodes: {stats}"
    );
    assert_eq!(
        (
            leases(&nodes[0], "a"),
            leases(&nodes[1], "b"),
            leases(&nodes[2], "c")
        ),
        (1, 0, 0)
    );
    assert!(nodes[1].metric("tikcast_relay_cluster_stream_read_total{node=\"b\"}") > 0);

    // A JSON viewer (format=json) on a node that follows the stream gets the events,
    // decoded there.
    let mut j = ws_open(
        &nodes[1],
        &format!("uniqueId=ada&jwtKey={}&format=json", good_token()),
    )
    .await;
    let mut ids = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ids.len() < 50 {
        let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout_at(deadline, j.next()).await
        else {
            panic!("the json viewer got {} events", ids.len());
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        if let Some(id) = v["data"]["msgId"].as_str() {
            ids.push(id.parse::<u64>().unwrap());
        }
    }
    ids.dedup();
    // Past the first few (a gift streak that began before the viewer came closes with
    // its older msgId), the events come in message order.
    assert!(ids[5..].windows(2).all(|w| w[1] > w[0]), "{ids:?}");
    drop(j);

    // The viewer on a moves to c with its cursor: it resumes exactly, nothing missed
    // and nothing twice, from c's copy of the stream.
    let (cursor, last) = (va.cursor(), *va.ids.last().unwrap());
    va.ws = None;
    tokio::time::sleep(Duration::from_millis(300)).await;
    va.connect(&nodes[2], "ada", Some(&cursor)).await;
    let had = va.ids.len();
    va.read_until(had + 100, Duration::from_secs(10)).await;
    let info = va.infos.last().unwrap();
    assert_eq!(info["relay"]["resume"], "exact", "{info}");
    assert_eq!(va.ids[had], last + 1, "resumes right after its cursor");
    assert!(va.ids.windows(2).all(|w| w[1] == w[0] + 1));
    // a had no viewer left: after its grace it handed the lease over to a node with
    // viewers, which resumed the upstream (one at a time: a second connection).
    let deadline = Instant::now() + Duration::from_secs(5);
    while leases(&nodes[1], "b") + leases(&nodes[2], "c") != 1 {
        assert!(Instant::now() < deadline, "the lease was not handed over");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(leases(&nodes[0], "a"), 0);
    assert_eq!(mock.stats()["connections"], 2);
    let had = vb.ids.len();
    vb.read_until(had + 100, Duration::from_secs(10)).await;
    assert!(
        vb.ids.windows(2).all(|w| w[1] == w[0] + 1),
        "b's viewer saw the hand-over without a gap or a repeat"
    );

    // A viewer joining b for a second room: its own lease and upstream.
    let mut other = Viewer::open(&nodes[1], "bob", None).await;
    other.read_until(20, Duration::from_secs(5)).await;
    assert!(other.ids.len() >= 20);
    assert_eq!(mock.stats()["connections"], 3);
    assert!(leases(&nodes[1], "b") >= 1);
    let (_, _, health) = nodes[2].http_get("/healthz", &[]);
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(
        health["cluster"],
        json!({"node": "c", "redis": "up"}),
        "{health}"
    );
    assert_eq!(health["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_lease_holder_is_replaced_and_every_message_arrives_once() {
    let Some(redis) = Redis::start() else { return };
    let total = 2400u64;
    let mock = Proc::mock(&[
        "--messages",
        &total.to_string(),
        "--rate",
        "400",
        "--batch",
        "5",
        "--drop-after",
        "500",
        "--duplicate-rate",
        "0.1",
        "--seed",
        "3",
    ]);
    let mut nodes: Vec<Proc> = ["a", "b", "c"]
        .iter()
        .map(|id| node(&redis, &mock, id, &[]))
        .collect();
    let mut va = Viewer::open(&nodes[0], "ada", None).await;
    va.read_until(1, Duration::from_secs(5)).await;
    let mut vb = Viewer::open(&nodes[1], "ada", None).await;
    let mut vc = Viewer::open(&nodes[2], "ada", None).await;
    tokio::join!(
        va.read_until(800, Duration::from_secs(10)),
        vb.read_until(700, Duration::from_secs(10)),
        vc.read_until(700, Duration::from_secs(10)),
    );
    assert_eq!(leases(&nodes[0], "a"), 1);
    // SIGKILL the holder mid-stream.
    nodes[0].kill();
    let killed = Instant::now();
    // Its viewer reconnects to b with its cursor; the others just keep reading.
    va.read_until(usize::MAX, Duration::from_secs(2)).await;
    assert!(va.close.is_some(), "the killed node's socket ended");
    let cursor = va.cursor();
    va.connect(&nodes[1], "ada", Some(&cursor)).await;
    let taken = loop {
        let held = leases(&nodes[1], "b") + leases(&nodes[2], "c");
        if held == 1 {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(6),
            "no node took the lease over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        taken <= Duration::from_millis(2000 + 2000),
        "taken over after {taken:?}"
    );
    eprintln!("lease taken over {taken:?} after the SIGKILL");
    let want = |v: &Viewer| v.ids.len() + (FIRST + total - 1 - v.ids.last().unwrap()) as usize;
    let (wa, wb, wc) = (want(&va), want(&vb), want(&vc));
    tokio::join!(
        va.read_until(wa, Duration::from_secs(20)),
        vb.read_until(wb, Duration::from_secs(20)),
        vc.read_until(wc, Duration::from_secs(20)),
    );
    // b and c joined mid-stream: their first frame may repeat a message of the frame
    // before it (the mock's duplicates), so their check starts after two frames.
    assert_contiguous("a", &va.ids, total);
    assert_contiguous("b", &vb.ids[10..], total);
    assert_contiguous("c", &vc.ids[10..], total);
    assert_eq!(va.ids[0], FIRST, "a's viewer saw the stream from its start");
    let stats = mock.stats();
    assert!(
        stats["duplicatesSent"].as_u64().unwrap() > 50,
        "the mock sent duplicates: {stats}"
    );
    // One upstream at a time: the first, its reconnects after each drop, the take-over
    // (which is also the reconnect when the kill fell between a drop and its reconnect).
    let drops = stats["drops"].as_u64().unwrap();
    assert!(drops >= 3, "{stats}");
    let connections = stats["connections"].as_u64().unwrap();
    assert!((drops + 1..=drops + 2).contains(&connections), "{stats}");
    assert!(
        nodes[1]
            .log()
            .contains("resuming the upstream from the stream's last cursor")
            || nodes[2]
                .log()
                .contains("resuming the upstream from the stream's last cursor"),
        "the new holder resumed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_and_connect_limits_count_across_nodes() {
    let Some(redis) = Redis::start() else { return };
    let mock = Proc::mock(&["--messages", "100000", "--rate", "20"]);
    let nodes: Vec<Proc> = ["a", "b", "c"]
        .iter()
        .map(|id| node(&redis, &mock, id, &[]))
        .collect();
    async fn first(p: &Proc, q: &str) -> (Ws, Option<u16>) {
        let mut ws = ws_open(p, q).await;
        let code = match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(f)))) => f.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => None,
            other => panic!("{other:?}"),
        };
        (ws, code)
    }
    // maxWebSockets 2: one socket on a and one on b fill it; c refuses the third.
    let two = token(json!({"exp": now() + 60, "maxWebSockets": 2}));
    let q = format!("uniqueId=ada&jwtKey={two}");
    let (a, code) = first(&nodes[0], &q).await;
    assert_eq!(code, None);
    let (_b, code) = first(&nodes[1], &q).await;
    assert_eq!(code, None);
    let (_, code) = first(&nodes[2], &q).await;
    assert_eq!(
        code,
        Some(4429),
        "the third socket of the token, on another node"
    );
    // Closing one frees a slot everywhere.
    drop(a);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_c, code) = first(&nodes[2], &q).await;
    assert_eq!(code, None);

    // Connects per minute per token count across nodes: 3 allowed, the 4th refused
    // wherever it lands (each node alone has seen at most 2).
    let nodes3: Vec<Proc> = ["d", "e"]
        .iter()
        .map(|id| node(&redis, &mock, id, &["--connects-per-minute-per-token", "3"]))
        .collect();
    let t = token(json!({"exp": now() + 60, "maxWebSockets": 10, "jti": "rate-test"}));
    let q = format!("uniqueId=ada&jwtKey={t}");
    let mut held = Vec::new();
    for n in [0, 1, 0] {
        let (ws, code) = first(&nodes3[n], &q).await;
        assert_eq!(code, None);
        held.push(ws);
    }
    let (_, code) = first(&nodes3[1], &q).await;
    assert_eq!(code, Some(4429), "the 4th connect within the minute");
    assert!(nodes3[1].log().contains("connecting too fast (token)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_webhook_per_event_cluster_wide() {
    let Some(redis) = Redis::start() else { return };
    let hooks = common::webhooks::receiver(0, HOOK_SECRET).await;
    let url = hooks.url.clone();
    // 300 messages, then the mock closes with 4005 (stream end).
    let mock = Proc::mock(&["--messages", "300", "--rate", "200", "--close-code", "4005"]);
    let dir = std::env::temp_dir().join(format!("tikcast-cluster-hooks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut nodes = Vec::new();
    for id in ["a", "b", "c"] {
        let db = dir.join(format!("{id}.sqlite"));
        let db = db.to_str().unwrap();
        let upstream = format!("mock:ws://{}/ws", mock.addr);
        let redis_url = redis.url();
        let args = relay_args(
            &upstream,
            SECRET,
            &[
                "--grace-ms",
                "300",
                "--cluster",
                &redis_url,
                "--node-id",
                id,
                "--lease-ms",
                LEASE_MS,
                "--webhook",
                &url,
                "--webhook-secret-env",
                "TIKCAST_TEST_HOOK_SECRET",
                "--webhook-db",
                db,
            ],
        );
        nodes.push(Proc::start_logged(
            &args,
            &[("TIKCAST_TEST_HOOK_SECRET", HOOK_SECRET)],
        ));
    }
    let mut viewers = Vec::new();
    for n in &nodes {
        let mut v = Viewer::open(n, "ada", None).await;
        v.read_until(1, Duration::from_secs(5)).await;
        viewers.push(v);
    }
    for v in viewers.iter_mut() {
        v.read_until(usize::MAX, Duration::from_secs(10)).await;
        assert_eq!(v.close, Some(4005), "every node's viewer gets the end");
    }
    // Deliveries go out at once; give the other nodes time to (wrongly) send theirs.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = hooks.deliveries();
    let count = |t: &str| got.iter().filter(|d| d.event_type == t).count();
    assert_eq!(count("live.start"), 1, "{got:?}");
    assert_eq!(count("live.end"), 1, "{got:?}");
    drop(nodes);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_redis_keeps_held_rooms_and_recovers() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let mock = Proc::mock(&["--messages", "100000", "--rate", "200"]);
    let a = node(&redis, &mock, "a", &[]);
    let mut v = Viewer::open(&a, "ada", None).await;
    v.read_until(50, Duration::from_secs(5)).await;
    redis.stop();
    // The holder's viewer keeps getting the room without Redis.
    let had = v.ids.len();
    v.read_until(had + 200, Duration::from_secs(5)).await;
    assert!(v.ids.len() >= had + 200, "the held room goes on");
    let (_, _, health) = a.http_get("/healthz", &[]);
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["cluster"]["redis"], "unreachable");
    assert!(a.log().contains("redis unreachable"), "{}", a.log());
    // Back (empty: no persistence): the holder takes its lease back and shares again.
    redis.run().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, _, health) = a.http_get("/healthz", &[]);
        let health: Value = serde_json::from_str(&health).unwrap();
        if health["status"] == "ok" && a.log().contains("redis reachable again") {
            break;
        }
        assert!(Instant::now() < deadline, "{health}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let b = node(&redis, &mock, "b", &[]);
    let mut vb = Viewer::open(&b, "ada", None).await;
    vb.read_until(50, Duration::from_secs(5)).await;
    assert!(vb.ids.len() >= 50, "a follower gets the room again");
    assert_eq!(mock.stats()["connections"], 1, "still one upstream");
    let had = v.ids.len();
    v.read_until(had + 50, Duration::from_secs(5)).await;
    assert!(v.ids.windows(2).all(|w| w[1] == w[0] + 1));
}

/// The `mock-N` cursors of a room's stream entries, oldest first, read with the redis
/// crate (not through the relay).
async fn stream_cursors(redis: &Redis, room: &str) -> Vec<u64> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(format!("tikcast:{{room:{room}}}:stream"))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    reply
        .ids
        .iter()
        .filter_map(|e| match e.map.get("c") {
            Some(redis::Value::BulkString(c)) => std::str::from_utf8(c)
                .ok()?
                .strip_prefix("mock-")?
                .parse()
                .ok(),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_holder_that_lost_its_lease_cannot_write() {
    let Some(redis) = Redis::start() else { return };
    let total = 2000u64;
    let mock = Proc::mock(&["--messages", &total.to_string(), "--rate", "400"]);
    let a = node(&redis, &mock, "a", &[]);
    let b = node(&redis, &mock, "b", &[]);
    let mut va = Viewer::open(&a, "ada", None).await;
    va.read_until(1, Duration::from_secs(5)).await;
    let mut vb = Viewer::open(&b, "ada", None).await;
    tokio::join!(
        va.read_until(300, Duration::from_secs(5)),
        vb.read_until(200, Duration::from_secs(5)),
    );
    assert_eq!(leases(&a, "a"), 1);
    // Freeze a past its lease: b takes the room over while a still has its upstream.
    let pid = a.id().to_string();
    Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(6);
    while leases(&b, "b") != 1 {
        assert!(Instant::now() < deadline, "b did not take the lease");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    Command::new("kill").args(["-CONT", &pid]).status().unwrap();
    // a wakes up with frames of its old upstream buffered: its appends are fenced, it
    // learns it lost the lease, closes that upstream and follows b.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !a.log().contains("cluster lease lost to another node") {
        assert!(Instant::now() < deadline, "{}", a.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        a.metric("tikcast_relay_cluster_leases_lost_total{node=\"a\"}"),
        1
    );
    assert_eq!(leases(&a, "a"), 0);
    let want = |v: &Viewer| v.ids.len() + (FIRST + total - 1 - v.ids.last().unwrap()) as usize;
    let (wa, wb) = (want(&va), want(&vb));
    tokio::join!(
        va.read_until(wa, Duration::from_secs(15)),
        vb.read_until(wb, Duration::from_secs(15)),
    );
    // The paused node's own viewer gets every message once, but not always in order:
    // a frame of its old upstream may reach it ahead of the appended ones it then reads
    // back from the stream (seen in about one run in four; see docs/relay.md).
    let mut sorted = va.ids.clone();
    sorted.sort_unstable();
    assert_contiguous("a (sorted)", &sorted, total);
    assert_contiguous("b", &vb.ids, total);
    // Nothing a read after its lease expired reached the stream: the cursors never go
    // back (a's late frames are behind b's).
    let cursors = stream_cursors(&redis, "ada").await;
    assert!(cursors.len() > 100);
    assert!(
        cursors.windows(2).all(|w| w[1] >= w[0]),
        "a fenced holder wrote into the stream"
    );
    assert_eq!(mock.stats()["connections"], 2);
}

#[test]
fn cluster_mistakes_stop_the_start_without_echoing_the_password() {
    let refused = |extra: &[&str]| {
        common::refused_start(&relay_args("mock:ws://127.0.0.1:9/ws", SECRET, extra), &[])
    };
    let e = refused(&["--node-id", "a"]);
    assert!(e.contains("need --cluster"), "{e}");
    let e = refused(&["--cluster", "http://127.0.0.1:6379"]);
    assert!(e.contains("redis://HOST:PORT"), "{e}");
    let e = refused(&["--cluster", "redis://127.0.0.1:6379", "--node-id", "a b"]);
    assert!(e.contains("--node-id"), "{e}");
    let e = refused(&["--cluster", "redis://127.0.0.1:6379", "--lease-ms", "10"]);
    assert!(e.contains("--lease-ms"), "{e}");
    // Nothing listens on a port just freed: refused at once, the password never shown.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("redis://user:hunter2-secret@127.0.0.1:{port}/0");
    let e = refused(&["--cluster", &url]);
    assert!(e.contains("cannot reach redis"), "{e}");
    assert!(e.contains(&format!("redis://127.0.0.1:{port}/0")), "{e}");
    assert!(!e.contains("hunter2"), "the password leaked: {e}");
}
