//! `--cluster redis://HOST:PORT[/DB]`: several relay nodes share rooms through Redis (see
//! docs/relay.md, "Several nodes").
//!
//! * **One upstream per room, cluster-wide.** A room's task ([`spawn`]) first reads the
//!   room's stream back (so a viewer's `cursor=` from any node resumes exactly), then
//!   tries to take the room's lease: a Lua script that sets `lease` only when it is free
//!   (`SET NX PX`), with a token `NODE/EPOCH` whose epoch is `INCR`ed per taking. The
//!   holder renews it every third of its TTL and dials the upstream; everyone else
//!   follows the stream and tries again every quarter TTL, so a dead holder is replaced
//!   within TTL + TTL/4.
//! * **Fencing.** Every record is appended by a script that checks the lease still holds
//!   the writer's token: a holder that was paused past its TTL cannot write after another
//!   node took over; it learns so from the script, stops its upstream and follows.
//! * **Frames through a stream per room** (`XADD MAXLEN ~ N`): each entry carries the
//!   frame and the session cursor after it (`k=f`), the room description (`k=i`), or the
//!   upstream's end (`k=e` with its close code). A new holder resumes its upstream from
//!   the last entry's cursor; a reconnecting viewer's msgId de-duplication (the session
//!   engine) hides what is delivered twice around a take-over.
//! * **Redis lost.** The holder keeps its upstream and its own viewers (single-node
//!   behaviour), says so once, and takes its lease back when Redis answers again; rooms
//!   this node follows wait for Redis (their viewers see a pause); new rooms open once
//!   Redis is back. A Redis restarted empty is refilled by the holders.
//! * **Limits.** Connects per minute (token buckets in a script on Redis' clock) and
//!   sockets per token (a sorted set of live sockets, each refreshed while open, so a
//!   dead node's expire) count across nodes; on a Redis error the node's own limits
//!   still apply.
//!
//! Keys share a `{room:NAME}` hash tag, so one room's keys live on one shard of a Redis
//! Cluster and its scripts may touch them together. The Redis URL may hold a password:
//! it is never printed (only `host:port/db`), nor are Redis errors' texts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use redis::{AsyncConnectionConfig, Script, Value};

use super::hub::{Hub, Room};
use super::metrics::{add, sub, Metrics};
use super::upstream::{self, Lead, Player, Tee};

/// How long a room's lease lasts without renewal, by default.
pub(crate) const DEFAULT_LEASE_MS: u64 = 10_000;
/// How long a live socket's entry in its token's set lasts without refresh.
const SOCKET_TTL_MS: u64 = 15_000;
/// A stream nobody wrote to for this long is dropped (the room is over).
const STREAM_IDLE_MS: u64 = 10 * 60 * 1000;
/// Records queued for the stream before the holder drops them (Redis too slow or away).
const PUBLISH_QUEUE: usize = 8192;

/// The cluster settings (`--cluster`, `--node-id`, `--lease-ms`, `--stream-maxlen`).
pub(crate) struct ClusterSettings {
    pub(crate) url: String,
    pub(crate) node: String,
    pub(crate) lease: Duration,
    pub(crate) maxlen: usize,
}

/// `redis://[user:password@]host:port[/db]` without its credentials, for logs.
pub(crate) fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("redis", url));
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    format!("{scheme}://{rest}")
}

/// A Redis error told without its text (which may echo a command or an address).
fn describe(e: &redis::RedisError) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connection_refusal() {
        "connection refused".into()
    } else if e.is_connection_dropped() || e.is_io_error() {
        "connection lost".into()
    } else {
        format!("{:?}", e.kind()).to_lowercase()
    }
}

// Scripts. KEYS and ARGV are documented on each; all keys of one script share a hash tag.

/// KEYS lease, epoch; ARGV node, ttl_ms → the new token, or nil when the lease is held.
const ACQUIRE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = ARGV[1] .. '/' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'NX', 'PX', ARGV[2])
return token";

/// KEYS lease; ARGV token, ttl_ms → 1 renewed, 2 taken back (Redis had lost it), 0 lost.
const RENEW: &str = r"
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0";

/// KEYS lease; ARGV token → deletes the lease if it is still ours.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1";

/// KEYS lease, stream, info; ARGV token, ttl_ms, maxlen, idle_ms, kind, body, cursor,
/// code → the entry id, or nil when the lease is another node's (fenced). A lease Redis
/// lost (restarted empty) is taken back first. An info record also sets `info`.
const PUBLISH: &str = r"
local v = redis.call('GET', KEYS[1])
if v ~= ARGV[1] then
  if v then return false end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*',
  'k', ARGV[5], 'b', ARGV[6], 'c', ARGV[7], 'code', ARGV[8])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if ARGV[5] == 'i' then redis.call('SET', KEYS[3], ARGV[6], 'PX', ARGV[4]) end
return id";

/// KEYS bucket; ARGV per_minute → 1 taken, 0 empty. A token bucket of `per_minute`
/// (burst the same) refilled continuously on Redis' clock, like the node's own.
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
local b = redis.call('HMGET', KEYS[1], 'n', 'at')
local n = tonumber(b[1]) or cap
local at = tonumber(b[2]) or now
n = math.min(cap, n + math.max(0, now - at) * cap / 60000)
local ok = 0
if n >= 1 then n = n - 1 ok = 1 end
redis.call('HSET', KEYS[1], 'n', tostring(n), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000)
return ok";

/// KEYS set; ARGV max, member, ttl_ms, refresh → 1 held, 0 full. Members are live
/// sockets scored by when they expire; `refresh` = 1 only extends a member still there.
const HOLD: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[2])
else
  local max = tonumber(ARGV[1])
  if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then return 0 end
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1";

fn key(room: &str, what: &str) -> String {
    format!("tikcast:{{room:{room}}}:{what}")
}

/// The node's view of the cluster.
pub(crate) struct Cluster {
    pub(crate) node: String,
    /// The Redis URL without credentials.
    pub(crate) redis_shown: String,
    client: redis::Client,
    conn: ConnectionManager,
    pub(crate) lease: Duration,
    pub(crate) maxlen: usize,
    /// Whether Redis answered last time (for the one log line per outage).
    up: AtomicBool,
    metrics: Arc<Metrics>,
    acquire: Script,
    renew: Script,
    release: Script,
    publish: Script,
    take: Script,
    hold: Script,
    next_member: AtomicU64,
    /// Follow lag (ms) of each followed room, for `/metrics`.
    lags: Mutex<HashMap<String, u64>>,
}

impl Cluster {
    /// Gives a lease back if `token` still holds it (a failure only delays the next
    /// holder until the lease expires).
    async fn release_lease(&self, lease_key: &str, token: &str) {
        let mut conn = self.conn();
        let _: redis::RedisResult<i64> = self
            .release
            .key(lease_key)
            .arg(token)
            .invoke_async(&mut conn)
            .await;
    }

    /// Connects to Redis (refusing to start when it does not answer).
    pub(crate) async fn connect(
        s: ClusterSettings,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Cluster>, String> {
        let shown = redacted(&s.url);
        let client = redis::Client::open(s.url.as_str()).map_err(|_| {
            format!("--cluster {shown}: not a redis url (write redis://HOST:PORT[/DB])")
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let mut conn = tokio::time::timeout(
            Duration::from_secs(5),
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| format!("--cluster {shown}: redis did not answer within 5 s"))?
        .map_err(|e| {
            format!(
                "--cluster {shown}: cannot reach redis ({}); start it or fix the url",
                describe(&e)
            )
        })?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("--cluster {shown}: redis refused PING ({})", describe(&e)))?;
        metrics.cluster_node.set(s.node.clone()).ok();
        metrics.redis_up.store(1, Ordering::Relaxed);
        Ok(Arc::new(Cluster {
            node: s.node,
            redis_shown: shown,
            client,
            conn,
            lease: s.lease,
            maxlen: s.maxlen,
            up: AtomicBool::new(true),
            metrics,
            acquire: Script::new(ACQUIRE),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
            publish: Script::new(PUBLISH),
            take: Script::new(TAKE),
            hold: Script::new(HOLD),
            next_member: AtomicU64::new(1),
            lags: Mutex::new(HashMap::new()),
        }))
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Redis failed: said once per outage.
    fn down(&self, what: &str, e: &redis::RedisError) {
        add(&self.metrics.redis_errors, 1);
        if self.up.swap(false, Ordering::SeqCst) {
            self.metrics.redis_up.store(0, Ordering::Relaxed);
            eprintln!(
                "relay: cluster: redis unreachable ({what}: {}); rooms this node holds go on for its own viewers only, the others wait for redis",
                describe(e)
            );
        }
    }

    /// Redis answered.
    fn ok(&self) {
        if !self.up.swap(true, Ordering::SeqCst) {
            self.metrics.redis_up.store(1, Ordering::Relaxed);
            eprintln!("relay: cluster: redis reachable again; rooms are shared again");
        }
    }

    /// Whether Redis answers a PING now (`/healthz`).
    pub(crate) async fn reachable(&self) -> bool {
        let mut conn = self.conn();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        match tokio::time::timeout(Duration::from_secs(1), ping).await {
            Ok(Ok(_)) => {
                self.ok();
                true
            }
            Ok(Err(e)) => {
                self.down("ping", &e);
                false
            }
            Err(_) => false,
        }
    }

    fn set_lag(&self, room: &str, lag: Option<u64>) {
        let mut lags = self.lags.lock().unwrap_or_else(|p| p.into_inner());
        match lag {
            Some(l) => {
                lags.insert(room.to_string(), l);
            }
            None => {
                lags.remove(room);
            }
        }
        let max = lags.values().copied().max().unwrap_or(0);
        self.metrics.stream_lag_ms.store(max, Ordering::Relaxed);
    }

    /// Takes one connect from the cluster-wide bucket `key` of `per_minute` (0 =
    /// unlimited). A Redis error allows it (the node's own bucket was checked).
    pub(crate) async fn allow(&self, key: &str, per_minute: u32) -> bool {
        if per_minute == 0 {
            return true;
        }
        let mut conn = self.conn();
        let r: redis::RedisResult<i64> = self
            .take
            .key(format!("tikcast:rate:{key}"))
            .arg(per_minute)
            .invoke_async(&mut conn)
            .await;
        match r {
            Ok(n) => {
                self.ok();
                n == 1
            }
            Err(e) => {
                self.down("rate limit", &e);
                true
            }
        }
    }

    /// Holds one of `max` sockets of token `key` across the cluster until the guard
    /// drops; `None` when the cluster already has `max`. A Redis error holds nothing in
    /// Redis (the node's own count was checked).
    pub(crate) async fn hold_socket(self: &Arc<Self>, key: &str, max: u32) -> Option<SocketSlot> {
        let set = format!("tikcast:sockets:{key}");
        let member = format!(
            "{}/{}",
            self.node,
            self.next_member.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = self.conn();
        let r: redis::RedisResult<i64> = self
            .hold
            .key(&set)
            .arg(max)
            .arg(&member)
            .arg(SOCKET_TTL_MS)
            .arg(0)
            .invoke_async(&mut conn)
            .await;
        match r {
            Ok(0) => {
                self.ok();
                None
            }
            Ok(_) => {
                self.ok();
                let cluster = Arc::clone(self);
                let (set2, member2) = (set.clone(), member.clone());
                let refresh = tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_millis(SOCKET_TTL_MS / 3)).await;
                        let mut conn = cluster.conn();
                        let r: redis::RedisResult<i64> = cluster
                            .hold
                            .key(&set2)
                            .arg(0)
                            .arg(&member2)
                            .arg(SOCKET_TTL_MS)
                            .arg(1)
                            .invoke_async(&mut conn)
                            .await;
                        if let Err(e) = r {
                            cluster.down("socket count", &e);
                        }
                    }
                });
                Some(SocketSlot {
                    cluster: Arc::clone(self),
                    set,
                    member,
                    refresh: Some(refresh),
                })
            }
            Err(e) => {
                self.down("socket count", &e);
                Some(SocketSlot {
                    cluster: Arc::clone(self),
                    set,
                    member,
                    refresh: None,
                })
            }
        }
    }
}

/// A socket counted in its token's cluster-wide set; removed on drop.
pub(crate) struct SocketSlot {
    cluster: Arc<Cluster>,
    set: String,
    member: String,
    refresh: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let Some(refresh) = self.refresh.take() else {
            return;
        };
        refresh.abort();
        let (set, member) = (
            std::mem::take(&mut self.set),
            std::mem::take(&mut self.member),
        );
        let mut conn = self.cluster.conn();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _: redis::RedisResult<i64> = redis::cmd("ZREM")
                    .arg(&set)
                    .arg(&member)
                    .query_async(&mut conn)
                    .await;
            });
        }
    }
}

/// One stream entry, read back.
enum Record {
    Frame(Bytes, String),
    Info(String),
    End(u16, String),
}

fn field(e: &StreamId, name: &str) -> Vec<u8> {
    match e.map.get(name) {
        Some(Value::BulkString(b)) => b.clone(),
        Some(Value::SimpleString(s)) => s.clone().into_bytes(),
        _ => Vec::new(),
    }
}

fn record(e: &StreamId) -> Option<Record> {
    let text = |n: &str| String::from_utf8_lossy(&field(e, n)).into_owned();
    match field(e, "k").as_slice() {
        b"f" => Some(Record::Frame(Bytes::from(field(e, "b")), text("c"))),
        b"i" => Some(Record::Info(text("b"))),
        b"e" => Some(Record::End(
            text("code").parse().unwrap_or(4500),
            text("b").chars().take(120).collect(),
        )),
        _ => None,
    }
}

/// The unix ms of a stream entry id (`MS-SEQ`).
fn id_ms(id: &str) -> u64 {
    id.split('-')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

fn info_map(raw: &str) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// Starts a room's cluster task (the hub's upstream spawner under `--cluster`).
pub(crate) fn spawner(cluster: Arc<Cluster>) -> Box<dyn Fn(Arc<Hub>, Arc<Room>) + Send + Sync> {
    Box::new(move |hub, room| {
        let cluster = Arc::clone(&cluster);
        tokio::spawn(async move {
            room.set_relayed(true);
            let mut task = RoomTask {
                cluster: Arc::clone(&cluster),
                hub,
                room,
                last_id: None,
                reader: None,
                last_cursor: String::new(),
                ended: false,
                player: Some(Box::new(Player::new())),
                json_gen: None,
                undecoded: Vec::new(),
            };
            task.run().await;
            cluster.set_lag(&task.room.unique_id, None);
        });
    })
}

/// How a lease holder's turn ended.
enum Turn {
    /// The upstream is over: viewers everywhere get this close.
    Ended(u16, String),
    /// The room closed here (no viewers left on this node): the lease is released for a
    /// node that still has viewers.
    Stopped,
    /// Another node holds the lease now: follow it.
    Lost,
}

struct RoomTask {
    cluster: Arc<Cluster>,
    hub: Arc<Hub>,
    room: Arc<Room>,
    /// The last stream entry delivered to this node's viewers (`None`: not read yet).
    last_id: Option<String>,
    /// The blocking-read connection of this room (its `XREAD BLOCK` holds it).
    reader: Option<MultiplexedConnection>,
    /// The cursor of the last frame read from the stream.
    last_cursor: String,
    /// The stream's newest record is an end: the previous session is over.
    ended: bool,
    /// Decodes the frames read from the stream into events for this node's JSON viewers
    /// and its viewer count, as the holder's session does for its own (`None` while it
    /// is on a blocking thread, or before the first frame).
    player: Option<Box<Player>>,
    /// The room's JSON generation last applied to the player's filter.
    json_gen: Option<u64>,
    /// Frames delivered but not decoded yet.
    undecoded: Vec<Bytes>,
}

impl RoomTask {
    async fn run(&mut self) {
        let check = (self.cluster.lease / 4).max(Duration::from_millis(100));
        let mut next_try = tokio::time::Instant::now();
        while !self.room.is_stopped() {
            if self.last_id.is_none() {
                if let Err(e) = self.read_back().await {
                    self.cluster.down("reading a stream", &e);
                    self.pause(Duration::from_secs(1)).await;
                    continue;
                }
                self.cluster.ok();
            }
            if tokio::time::Instant::now() >= next_try {
                next_try = tokio::time::Instant::now() + check;
                match self.try_lead().await {
                    Ok(Some(Turn::Ended(code, reason))) => {
                        self.hub.end_room(&self.room, code, &reason);
                        return;
                    }
                    Ok(Some(Turn::Stopped)) => return,
                    Ok(Some(Turn::Lost)) => {
                        next_try = tokio::time::Instant::now() + check;
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        self.cluster.down("taking a lease", &e);
                        self.pause(Duration::from_secs(1)).await;
                        continue;
                    }
                }
            }
            let wait = next_try.saturating_duration_since(tokio::time::Instant::now());
            match self.follow(wait.max(Duration::from_millis(20))).await {
                Ok(Some((code, reason))) => {
                    self.hub.end_room(&self.room, code, &reason);
                    return;
                }
                Ok(None) => self.cluster.ok(),
                Err(e) => {
                    self.reader = None;
                    self.cluster.down("following a stream", &e);
                    self.pause(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Sleeps, or less when the room stops.
    async fn pause(&self, d: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.room.stopped() => {}
        }
    }

    /// Reads the room back from its stream: the recent frames prime the room's resume
    /// ring, and a description makes it live (the holder's viewers already are).
    async fn read_back(&mut self) -> redis::RedisResult<()> {
        let mut conn = self.cluster.conn();
        let uid = self.room.unique_id.clone();
        let count = self.hub.settings.limits.resume_frames.max(1) + 1;
        let newest: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(key(&uid, "stream"))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut conn)
            .await?;
        let info: Option<String> = redis::cmd("GET")
            .arg(key(&uid, "info"))
            .query_async(&mut conn)
            .await?;
        self.last_id = Some(
            newest
                .ids
                .first()
                .map_or_else(|| "0-0".to_string(), |e| e.id.clone()),
        );
        let mut frames = Vec::new();
        self.ended = false;
        for (i, e) in newest.ids.iter().enumerate() {
            match record(e) {
                Some(Record::End(..)) => {
                    // An earlier session of the room ended: nothing before it counts.
                    self.ended = i == 0;
                    break;
                }
                Some(Record::Frame(b, c)) => {
                    if self.last_cursor.is_empty() {
                        self.last_cursor = c.clone();
                    }
                    frames.push((c, b));
                }
                _ => {}
            }
        }
        if self.ended {
            return Ok(());
        }
        frames.reverse();
        self.hub.prime(&self.room, frames);
        if let Some(raw) = info {
            if !self.room.is_live() {
                self.hub.set_info(&self.room, info_map(&raw));
            }
        }
        Ok(())
    }

    /// Reads what the holder appended (up to `block` waiting for it) and hands it to this
    /// node's viewers; `Some(close)` when the upstream ended.
    async fn follow(&mut self, block: Duration) -> redis::RedisResult<Option<(u16, String)>> {
        if self.reader.is_none() {
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(block + Duration::from_secs(3)));
            self.reader = Some(
                self.cluster
                    .client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?,
            );
        }
        let Some(reader) = self.reader.as_mut() else {
            return Ok(None);
        };
        let from = self.last_id.clone().unwrap_or_else(|| "0-0".into());
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(1024)
            .arg("BLOCK")
            .arg(block.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(key(&self.room.unique_id, "stream"))
            .arg(&from);
        let read = cmd.query_async::<Option<StreamReadReply>>(reader);
        let reply = tokio::select! {
            r = read => r?,
            _ = self.room.stopped() => return Ok(None),
        };
        let entries: Vec<StreamId> = reply
            .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect())
            .unwrap_or_default();
        let end = self.deliver(&entries);
        self.decode().await;
        Ok(end)
    }

    /// Runs the frames just delivered through the room's session (on a blocking thread,
    /// as the driver does) and hands their events to the hub: JSON viewers, the viewer
    /// count, the totals a `live.end` reports should this node take the room over.
    async fn decode(&mut self) {
        let frames = std::mem::take(&mut self.undecoded);
        let Some(mut player) = self.player.take().filter(|_| !frames.is_empty()) else {
            return;
        };
        if let Some(wanted) = self.hub.wanted_events(&self.room, &mut self.json_gen) {
            player.session.set_wanted_events(wanted);
        }
        let decoded = tokio::task::spawn_blocking(move || {
            let mut events = Vec::new();
            for f in &frames {
                let t = crate::clock::now_ms().max(0) as u64;
                // Gift streaks the holder's session closed by time close here when the
                // next frame comes.
                if player.session.poll_timeout().is_some_and(|due| due <= t) {
                    player.session.handle_timeout(t);
                }
                player.session.on_frame(t, player.conn, f);
                events.extend(player.take_events());
            }
            (player, events)
        })
        .await;
        // A decoder panic leaves this node's JSON viewers without events (binary
        // viewers are served already); a fresh session takes the next frames.
        let (player, events) = decoded.unwrap_or_else(|_| (Box::new(Player::new()), Vec::new()));
        self.player = Some(player);
        for events in &events {
            for e in events {
                if let crate::event_text::Figures::RoomUser { viewers, .. } = e.figures {
                    self.room.set_viewer_count(viewers.max(0) as u64);
                }
            }
            self.room.observe(events);
            self.hub.events(&self.room, events);
        }
    }

    /// Hands stream entries to this node's viewers.
    fn deliver(&mut self, entries: &[StreamId]) -> Option<(u16, String)> {
        let m = &self.cluster.metrics;
        for e in entries {
            self.last_id = Some(e.id.clone());
            add(&m.stream_read, 1);
            let lag = crate::clock::now_ms().max(0) as u64;
            self.cluster
                .set_lag(&self.room.unique_id, Some(lag.saturating_sub(id_ms(&e.id))));
            match record(e) {
                Some(Record::Frame(bytes, cursor)) => {
                    self.ended = false;
                    self.last_cursor = cursor.clone();
                    self.undecoded.push(bytes.clone());
                    self.hub.frame(&self.room, bytes, &cursor);
                }
                Some(Record::Info(raw)) => {
                    self.ended = false;
                    self.hub.set_info(&self.room, info_map(&raw));
                }
                Some(Record::End(code, reason)) => {
                    if self.room.is_live() {
                        return Some((code, reason));
                    }
                    // The end of an earlier session; this one has not begun.
                    self.ended = true;
                }
                None => {}
            }
        }
        None
    }

    /// Takes the lease if it is free and runs the upstream while holding it.
    async fn try_lead(&mut self) -> redis::RedisResult<Option<Turn>> {
        let mut conn = self.cluster.conn();
        let uid = self.room.unique_id.clone();
        let lease_key = key(&uid, "lease");
        let token: Option<String> = self
            .cluster
            .acquire
            .key(&lease_key)
            .key(key(&uid, "epoch"))
            .arg(&self.cluster.node)
            .arg(self.cluster.lease.as_millis() as u64)
            .invoke_async(&mut conn)
            .await?;
        let Some(token) = token else {
            return Ok(None);
        };
        // Nobody else writes now: deliver what the last holder appended, then resume
        // from its last cursor.
        let from = self.last_id.clone().unwrap_or_else(|| "0-0".into());
        let rest: StreamRangeReply = redis::cmd("XRANGE")
            .arg(key(&uid, "stream"))
            .arg(format!("({from}"))
            .arg("+")
            .query_async(&mut conn)
            .await?;
        let end = self.deliver(&rest.ids);
        self.decode().await;
        if let Some((code, reason)) = end {
            // The upstream ended just before its holder went away.
            self.cluster.release_lease(&lease_key, &token).await;
            return Ok(Some(Turn::Ended(code, reason)));
        }
        let cursor = if self.ended {
            String::new()
        } else {
            self.last_cursor.clone()
        };
        let m = Arc::clone(&self.cluster.metrics);
        add(&m.leases_taken, 1);
        add(&m.leases_held, 1);
        self.cluster.set_lag(&uid, None);
        eprintln!(
            "relay: room {uid}: cluster lease taken by node {} ({}), {}",
            self.cluster.node,
            token,
            if cursor.is_empty() {
                "dialing the upstream".to_string()
            } else {
                "resuming the upstream from the stream's last cursor".to_string()
            }
        );
        let turn = self.lead(token.clone(), cursor).await;
        sub(&m.leases_held, 1);
        match &turn {
            Turn::Lost => {
                add(&m.leases_lost, 1);
                eprintln!(
                    "relay: room {uid}: cluster lease lost to another node; following its stream"
                );
            }
            Turn::Ended(..) | Turn::Stopped => {
                self.cluster.release_lease(&lease_key, &token).await;
            }
        }
        Ok(Some(turn))
    }

    /// Runs the upstream under `token`: every record goes to this node's viewers and to
    /// the stream, the lease is renewed, and losing it stops the upstream.
    async fn lead(&mut self, token: String, cursor: String) -> Turn {
        let uid = self.room.unique_id.clone();
        let lost = Arc::new(tokio::sync::Notify::new());
        let lost_flag = Arc::new(AtomicBool::new(false));
        let lose = {
            let (lost, flag) = (Arc::clone(&lost), Arc::clone(&lost_flag));
            move || {
                if !flag.swap(true, Ordering::SeqCst) {
                    lost.notify_one();
                }
            }
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Pending>(PUBLISH_QUEUE);
        let last_published = Arc::new(Mutex::new(None::<String>));
        let publisher = tokio::spawn(publish(
            Arc::clone(&self.cluster),
            (Arc::clone(&self.hub), Arc::clone(&self.room)),
            uid.clone(),
            token.clone(),
            rx,
            lose.clone(),
            Arc::clone(&last_published),
        ));
        let renewer = tokio::spawn(renew(Arc::clone(&self.cluster), uid.clone(), token, lose));
        self.room.set_relayed(false);
        let cluster = Arc::clone(&self.cluster);
        let tx_tee = tx.clone();
        let tee = Box::new(move |t: Tee<'_>| {
            // This node's viewers get a frame from the stream's writer, in order: once
            // it is in the stream (so a cursor they hold is one every node can resume
            // from), or at once while Redis is away (single-node behaviour). Only a
            // full queue hands it to them here.
            let p = match t {
                Tee::Info(raw) => Pending::Info(raw.to_string()),
                Tee::Frame(b, c) => Pending::Frame(b.clone(), c.to_string()),
            };
            if tx_tee.try_send(p).is_err() {
                add(&cluster.metrics.stream_dropped, 1);
                return true;
            }
            false
        });
        let lost_wait = {
            let (lost, flag) = (Arc::clone(&lost), Arc::clone(&lost_flag));
            Box::pin(async move {
                if !flag.load(Ordering::SeqCst) {
                    lost.notified().await;
                }
            })
        };
        let ended = upstream::run(
            &self.hub,
            &self.room,
            Some(Lead {
                cursor,
                tee,
                lost: lost_wait,
            }),
        )
        .await;
        renewer.abort();
        if lost_flag.load(Ordering::SeqCst) {
            // Let the writer finish what it is handing to this node's viewers (appends
            // made before the lease was lost), so following starts after it; what is
            // still queued is fenced and reaches nobody.
            drop(tx);
            let mut publisher = publisher;
            if tokio::time::timeout(Duration::from_secs(3), &mut publisher)
                .await
                .is_err()
            {
                publisher.abort();
            }
            self.room.set_relayed(true);
            // Follow from what this node appended last; the new holder resumed at or
            // before it, and viewers' msgId de-duplication hides the overlap.
            let last = last_published
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if last.is_some() {
                self.last_id = last;
            }
            self.reader = None;
            return Turn::Lost;
        }
        match ended {
            Some((code, reason)) => {
                let _ = tx.send(Pending::End(code, reason.clone())).await;
                drop(tx);
                let _ = tokio::time::timeout(Duration::from_secs(2), publisher).await;
                Turn::Ended(code, reason)
            }
            None => {
                drop(tx);
                let _ = tokio::time::timeout(Duration::from_secs(2), publisher).await;
                Turn::Stopped
            }
        }
    }
}

/// A record waiting for the stream.
enum Pending {
    Info(String),
    /// A frame and its cursor.
    Frame(Bytes, String),
    End(u16, String),
}

/// Appends a holder's records in order, as many per round trip as are queued, and hands
/// each appended frame to this node's viewers. While Redis is away the frames go to them
/// first (single-node behaviour) and an append is tried at most once a second (the others
/// are dropped and counted). A fenced append (another node took the lease) calls `lose`;
/// that frame and the ones after it reach nobody.
async fn publish(
    cluster: Arc<Cluster>,
    (hub, room): (Arc<Hub>, Arc<Room>),
    uid: String,
    token: String,
    mut rx: tokio::sync::mpsc::Receiver<Pending>,
    lose: impl Fn(),
    last: Arc<Mutex<Option<String>>>,
) {
    let (lease, stream, info) = (key(&uid, "lease"), key(&uid, "stream"), key(&uid, "info"));
    let ttl = cluster.lease.as_millis() as u64;
    let mut batch = Vec::new();
    let mut last_try: Option<tokio::time::Instant> = None;
    let deliver = |items: &[Pending]| {
        for p in items {
            if let Pending::Frame(b, c) = p {
                hub.frame(&room, b.clone(), c);
            }
        }
    };
    while rx.recv_many(&mut batch, 256).await > 0 {
        let items: Vec<Pending> = std::mem::take(&mut batch);
        // Redis is away: viewers first, then (at most once a second) the stream.
        let delivered = !cluster.up.load(Ordering::SeqCst);
        if delivered {
            deliver(&items);
            if last_try.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                add(&cluster.metrics.stream_dropped, items.len() as u64);
                continue;
            }
        }
        last_try = Some(tokio::time::Instant::now());
        let mut pipe = redis::pipe();
        pipe.load_script(&cluster.publish).ignore();
        let invocations: Vec<_> = items
            .iter()
            .map(|p| {
                let (kind, body, cursor, code): (&str, &[u8], &str, u16) = match p {
                    Pending::Info(raw) => ("i", raw.as_bytes(), "", 0),
                    Pending::Frame(b, c) => ("f", b, c, 0),
                    Pending::End(code, reason) => ("e", reason.as_bytes(), "", *code),
                };
                let mut inv = cluster.publish.key(&lease);
                inv.key(&stream)
                    .key(&info)
                    .arg(&token)
                    .arg(ttl)
                    .arg(cluster.maxlen)
                    .arg(STREAM_IDLE_MS)
                    .arg(kind)
                    .arg(body)
                    .arg(cursor)
                    .arg(code);
                inv
            })
            .collect();
        for inv in &invocations {
            pipe.invoke_script(inv);
        }
        let mut conn = cluster.conn();
        let r: redis::RedisResult<Vec<Option<String>>> = pipe.query_async(&mut conn).await;
        drop(invocations);
        match r {
            Ok(ids) => {
                cluster.ok();
                add(
                    &cluster.metrics.stream_published,
                    ids.iter().flatten().count() as u64,
                );
                if let Some(id) = ids.iter().rev().flatten().next() {
                    *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(id.clone());
                }
                for (p, id) in items.into_iter().zip(ids) {
                    if id.is_none() {
                        lose();
                        return;
                    }
                    if let (Pending::Frame(b, c), false) = (p, delivered) {
                        hub.frame(&room, b, &c);
                    }
                }
            }
            Err(e) => {
                add(&cluster.metrics.stream_dropped, items.len() as u64);
                cluster.down("appending to a stream", &e);
                if !delivered {
                    deliver(&items);
                }
            }
        }
    }
}

/// Renews a holder's lease every third of its TTL; `lose` when another node has it.
async fn renew(cluster: Arc<Cluster>, uid: String, token: String, lose: impl Fn()) {
    let ttl = cluster.lease.as_millis() as u64;
    let lease = key(&uid, "lease");
    loop {
        tokio::time::sleep(cluster.lease / 3).await;
        let mut conn = cluster.conn();
        let r: redis::RedisResult<i64> = cluster
            .renew
            .key(&lease)
            .arg(&token)
            .arg(ttl)
            .invoke_async(&mut conn)
            .await;
        match r {
            Ok(0) => {
                lose();
                return;
            }
            Ok(n) => {
                if n == 2 {
                    eprintln!("relay: room {uid}: redis had lost the cluster lease; taken back");
                }
                cluster.ok();
            }
            Err(e) => cluster.down("renewing a lease", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(
            redacted("redis://user:s3cret@10.0.0.5:6380/2"),
            "redis://10.0.0.5:6380/2"
        );
        assert_eq!(redacted("redis://:p@ss@h:1"), "redis://h:1");
        assert_eq!(redacted("redis://h:1/0?password=x"), "redis://h:1/0");
        assert_eq!(redacted("rediss://h"), "rediss://h");
    }

    #[test]
    fn stream_ids_give_their_time() {
        assert_eq!(id_ms("1700000000123-4"), 1_700_000_000_123);
        assert_eq!(id_ms("junk"), 0);
    }

    #[test]
    fn room_keys_share_a_hash_tag() {
        assert_eq!(key("ada", "lease"), "tikcast:{room:ada}:lease");
    }
}
