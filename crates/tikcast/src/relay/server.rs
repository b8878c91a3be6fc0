//! The relay's listener: reads each request head (async reads, one deadline, a per-IP
//! cap on heads still arriving), answers a bad one with its status, checks auth and
//! limits, completes WebSocket upgrades itself (so a bad upgrade gets 400/426, not a
//! silent close), runs viewer sockets and answers the small HTTP API with CORS.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::auth::{token_hash, Grant};
use super::hub::{Hub, Out, ViewerCtl};
use super::json;
use super::metrics::{add, sub};
use super::{normalize_handle, UpstreamKind};

use crate::http_head::{read_head, Head, HeadError, Query, HEAD_TIMEOUT};

/// Per-IP and per-token rates (token buckets), concurrent counts (sockets, pending
/// request heads) and the rooms each token holds sockets in.
#[derive(Default)]
pub(crate) struct Limiter {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
    open: Mutex<HashMap<String, u32>>,
    /// Token key → room → sockets of that token in that room.
    rooms: Mutex<HashMap<String, HashMap<String, u32>>>,
}

impl Limiter {
    /// Takes one connect from `key`'s bucket of `per_minute` (burst = `per_minute`).
    fn allow(&self, key: &str, per_minute: u32) -> bool {
        self.take(&[(key, per_minute)]).is_ok()
    }

    /// Takes one unit from every bucket, or from none: `Err` is how long until each of
    /// them has one again. A bucket of 0 per minute is unlimited.
    fn take(&self, keys: &[(&str, u32)]) -> Result<(), Duration> {
        self.take_quota(keys).map(|_| ()).map_err(|r| r.wait)
    }

    /// [`Limiter::take`], also telling the state of the tightest bucket for the
    /// `X-RateLimit-*` headers (`None`: every bucket is unlimited).
    pub(crate) fn take_quota(&self, keys: &[(&str, u32)]) -> Result<Option<Quota>, Refused> {
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.len() > 50_000 {
            // Forget buckets idle long enough to be full again (a minute refills any).
            b.retain(|_, (_, at)| now.duration_since(*at) < Duration::from_secs(60));
        }
        let mut wait = Duration::ZERO;
        for &(key, per_minute) in keys.iter().filter(|(_, n)| *n > 0) {
            let cap = per_minute as f64;
            let (tokens, at) = b.entry(key.to_string()).or_insert((cap, now));
            *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * cap / 60.0).min(cap);
            *at = now;
            if *tokens < 1.0 {
                wait = wait.max(Duration::from_secs_f64((1.0 - *tokens) * 60.0 / cap));
            }
        }
        let refused = wait > Duration::ZERO;
        let mut tightest: Option<Quota> = None;
        for &(key, per_minute) in keys.iter().filter(|(_, n)| *n > 0) {
            if let Some((tokens, _)) = b.get_mut(key) {
                if !refused {
                    *tokens -= 1.0;
                }
                let quota = Quota::of(per_minute, *tokens);
                tightest = Some(match tightest {
                    Some(t) => t.tighter(quota),
                    None => quota,
                });
            }
        }
        match tightest {
            Some(quota) if refused => Err(Refused { wait, quota }),
            // Only a bucket that exists can refuse.
            _ => Ok(tightest),
        }
    }

    /// Holds one of `max` concurrent slots of `key` until the guard drops (0 = no cap).
    fn hold(self: &Arc<Self>, key: String, max: u32) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(key.clone()).or_insert(0);
        if max > 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            limiter: Arc::clone(self),
            key,
        })
    }

    /// Counts a socket of token `key` in `room` until the guard drops; `None` when the
    /// token already has sockets in `max` other rooms.
    fn hold_room(self: &Arc<Self>, key: &str, room: &str, max: usize) -> Option<RoomSlot> {
        let mut all = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        let rooms = all.entry(key.to_string()).or_default();
        if !rooms.contains_key(room) && rooms.len() >= max {
            return None;
        }
        *rooms.entry(room.to_string()).or_insert(0) += 1;
        Some(RoomSlot {
            limiter: Arc::clone(self),
            key: key.to_string(),
            room: room.to_string(),
        })
    }
}

/// A rate-limit bucket after a request was counted: what the `X-RateLimit-*` headers
/// say. Buckets refill continuously (`limit` per minute, burst `limit`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Quota {
    /// Requests per minute, and the burst.
    pub(crate) limit: u32,
    /// Whole requests left now.
    pub(crate) remaining: u32,
    /// Seconds until the bucket is full again (`remaining == limit`).
    pub(crate) reset_s: u64,
}

impl Quota {
    fn of(limit: u32, tokens: f64) -> Quota {
        let tokens = tokens.clamp(0.0, limit as f64);
        Quota {
            limit,
            remaining: tokens.floor() as u32,
            reset_s: ((limit as f64 - tokens) * 60.0 / limit.max(1) as f64).ceil() as u64,
        }
    }

    /// The one of the two with fewer requests left (the later reset on a tie).
    pub(crate) fn tighter(self, other: Quota) -> Quota {
        if (other.remaining, std::cmp::Reverse(other.reset_s))
            < (self.remaining, std::cmp::Reverse(self.reset_s))
        {
            other
        } else {
            self
        }
    }

    /// The three header lines (each ending in CRLF).
    pub(crate) fn headers(&self) -> String {
        format!(
            "x-ratelimit-limit: {}\r\nx-ratelimit-remaining: {}\r\nx-ratelimit-reset: {}\r\n",
            self.limit, self.remaining, self.reset_s
        )
    }
}

/// A request some bucket had no room for.
#[derive(Debug)]
pub(crate) struct Refused {
    /// Until every bucket has room again.
    pub(crate) wait: Duration,
    pub(crate) quota: Quota,
}

impl Refused {
    /// Whole seconds to wait, at least 1 (the `Retry-After` value).
    pub(crate) fn retry_after_s(&self) -> u64 {
        self.wait.as_secs_f64().ceil().max(1.0) as u64
    }

    /// `Retry-After` and the `X-RateLimit-*` lines of a 429.
    pub(crate) fn headers(&self) -> String {
        let quota = Quota {
            remaining: 0,
            ..self.quota
        };
        format!(
            "retry-after: {}\r\n{}",
            self.retry_after_s(),
            quota.headers()
        )
    }
}

pub(crate) struct Slot {
    limiter: Arc<Limiter>,
    key: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.limiter.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

pub(crate) struct RoomSlot {
    limiter: Arc<Limiter>,
    key: String,
    room: String,
}

impl Drop for RoomSlot {
    fn drop(&mut self) {
        let mut all = self.limiter.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rooms) = all.get_mut(&self.key) {
            if let Some(n) = rooms.get_mut(&self.room) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    rooms.remove(&self.room);
                }
            }
            if rooms.is_empty() {
                all.remove(&self.key);
            }
        }
    }
}

/// How long a not-live answer of the upstream is served again without asking.
const NOT_LIVE_TTL: Duration = Duration::from_secs(60);
/// Most not-live answers remembered at once.
const NOT_LIVE_CAP: usize = 10_000;

/// Recent not-live answers (`/api/rooms/NAME`), so asking again does not dial again.
#[derive(Default)]
pub(crate) struct NotLive {
    names: Mutex<HashMap<String, Instant>>,
}

impl NotLive {
    pub(crate) fn contains(&self, name: &str) -> bool {
        let names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        names
            .get(name)
            .is_some_and(|at| at.elapsed() < NOT_LIVE_TTL)
    }

    fn insert(&self, name: &str) {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if names.len() >= NOT_LIVE_CAP {
            names.retain(|_, at| at.elapsed() < NOT_LIVE_TTL);
            if names.len() >= NOT_LIVE_CAP {
                names.clear();
            }
        }
        names.insert(name.to_string(), Instant::now());
    }
}

pub(crate) struct Server {
    pub(crate) hub: Arc<Hub>,
    pub(crate) limiter: Arc<Limiter>,
    pub(crate) not_live: NotLive,
    /// The REST helpers' caches (users, gift catalog).
    pub(crate) rest: super::rest::Rest,
    pub(crate) started: Instant,
    /// `--cluster`: connect rates and sockets per token also count across nodes.
    pub(crate) cluster: Option<Arc<super::cluster::Cluster>>,
}

impl Server {
    fn origin_allowed(&self, origin: Option<&str>) -> bool {
        let allowed = &self.hub.settings.allowed_origins;
        match origin {
            // Not a browser (or a same-origin request of an old one): tokens decide.
            None => true,
            Some(o) => allowed
                .iter()
                .any(|a| a == "*" || a.eq_ignore_ascii_case(o)),
        }
    }

    fn cors(&self, origin: Option<&str>) -> String {
        match origin {
            Some(o) if self.origin_allowed(Some(o)) => {
                format!("access-control-allow-origin: {o}\r\nvary: origin\r\naccess-control-allow-headers: x-jwt-key, x-api-key, authorization, content-type\r\naccess-control-allow-methods: GET, POST, OPTIONS\r\naccess-control-expose-headers: x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, retry-after, x-tikcast-source\r\naccess-control-max-age: 600\r\n")
            }
            _ => String::new(),
        }
    }
}

/// Writes a small response and closes. Whatever the client still sends is read and
/// dropped for up to a second first, so that closing does not reset the connection
/// under the reply (a client whose request was refused half-way is still sending).
pub(crate) async fn respond(
    mut stream: TcpStream,
    status: &str,
    extra: &str,
    ctype: &str,
    body: &str,
) {
    let reply = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\ncache-control: no-store\r\n{extra}connection: close\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        stream.write_all(reply.as_bytes()).await?;
        stream.shutdown().await
    };
    if !matches!(
        tokio::time::timeout(Duration::from_secs(5), write).await,
        Ok(Ok(()))
    ) {
        return;
    }
    let drain = async {
        let mut scratch = [0u8; 4096];
        let mut total = 0usize;
        while total < 256 * 1024 {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

pub(crate) fn json_error(code: &str, message: &str) -> String {
    serde_json::json!({"error": code, "message": message}).to_string()
}

pub(crate) async fn handle_tcp(mut stream: TcpStream, peer: SocketAddr, server: Arc<Server>) {
    let _ = stream.set_nodelay(true);
    // Until its head is complete a connection holds one of its IP's few pending slots;
    // one over the cap is closed at once.
    let max_pending = server.hub.settings.limits.max_pending_heads_per_ip;
    let Some(pending) = server
        .limiter
        .hold(format!("head:{}", peer.ip()), max_pending)
    else {
        server.hub.metrics.count_refusal("too_many");
        return;
    };
    let (head, rest) = match read_head(&mut stream, HEAD_TIMEOUT).await {
        Ok(read) => read,
        Err(HeadError::Gone) => return,
        Err(HeadError::Refuse { status, why }) => {
            server.hub.metrics.count_refusal("bad_request");
            respond(stream, status, "", "text/plain", &format!("{why}\n")).await;
            return;
        }
    };
    drop(pending);
    let json = "application/json";
    let origin = head.origin.clone();
    let cors = server.cors(origin.as_deref());
    if head.method == "OPTIONS" && head.path.starts_with("/api/") {
        let status = if server.origin_allowed(origin.as_deref()) {
            "204 No Content"
        } else {
            "403 Forbidden"
        };
        respond(stream, status, &cors, "text/plain", "").await;
        return;
    }
    if head.method == "POST" && head.path == "/api/jwt" {
        // Backends only (the admin key must not live in a browser): no CORS.
        let body = crate::http_head::read_body(
            &mut stream,
            &head,
            rest,
            super::mint::MAX_BODY,
            HEAD_TIMEOUT,
        )
        .await;
        let (status, extra, body) = super::mint::api_jwt(&server, &head, body, peer.ip());
        respond(stream, status, &extra, json, &body).await;
        return;
    }
    if head.method == "POST" && head.path == "/api/rooms/check" {
        if !server.origin_allowed(origin.as_deref()) {
            server.hub.metrics.count_refusal("origin");
            let body = json_error("origin", "origin not allowed");
            respond(stream, "403 Forbidden", "", json, &body).await;
            return;
        }
        let body = crate::http_head::read_body(
            &mut stream,
            &head,
            rest,
            super::rest::MAX_CHECK_BODY,
            HEAD_TIMEOUT,
        )
        .await;
        let (status, extra, body) = super::rest::rooms_check(&server, &head, body, peer.ip()).await;
        respond(stream, status, &format!("{cors}{extra}"), json, &body).await;
        return;
    }
    if head.method != "GET" {
        respond(
            stream,
            "405 Method Not Allowed",
            "",
            "text/plain",
            "only GET is served (and POST /api/jwt, POST /api/rooms/check)\n",
        )
        .await;
        return;
    }
    match (head.path.as_str(), head.upgrade) {
        ("/ws" | "/ws/" | "/", true) => serve_viewer(stream, peer, head, rest, server).await,
        ("/healthz", false) => {
            let mut health = serde_json::json!({
                "status": "ok",
                "rooms": server.hub.room_count(),
                "uptimeSeconds": server.started.elapsed().as_secs(),
            });
            if let Some(c) = &server.cluster {
                // Without Redis the node serves the rooms it holds only: degraded, not down.
                let up = c.reachable().await;
                health["cluster"] = serde_json::json!({
                    "node": c.node,
                    "redis": if up { "up" } else { "unreachable" },
                });
                if !up {
                    health["status"] = "degraded".into();
                }
            }
            let body = health.to_string();
            respond(stream, "200 OK", &cors, json, &body).await;
        }
        ("/metrics", false) => {
            let body = server.hub.metrics.render();
            respond(stream, "200 OK", "", "text/plain; version=0.0.4", &body).await;
        }
        (p, false) if p.starts_with("/api/") => {
            if !server.origin_allowed(origin.as_deref()) {
                server.hub.metrics.count_refusal("origin");
                respond(
                    stream,
                    "403 Forbidden",
                    "",
                    json,
                    &json_error("origin", "origin not allowed"),
                )
                .await;
                return;
            }
            let (status, extra, body) = api(&server, &head, peer.ip()).await;
            respond(stream, status, &format!("{cors}{extra}"), json, &body).await;
        }
        ("/ws" | "/ws/", false) => {
            respond(
                stream,
                "426 Upgrade Required",
                "",
                "text/plain",
                "this is a websocket endpoint\n",
            )
            .await;
        }
        _ => {
            respond(
                stream,
                "404 Not Found",
                &cors,
                json,
                &json_error(
                    "not_found",
                    "try /ws, /api/rooms/NAME, /api/rooms/check, /api/users/NAME, /api/gifts, /healthz or /metrics",
                ),
            )
            .await;
        }
    }
}

/// `GET /api/...`: (status line, extra header lines, JSON body). Every answer after the
/// per-IP API bucket carries its `X-RateLimit-*` headers (or those of a tighter lookup
/// bucket the request also took from), every 429 a `Retry-After`.
async fn api(server: &Server, head: &Head, ip: IpAddr) -> (&'static str, String, String) {
    let mut quota = match api_quota(server, ip) {
        Ok(q) => q,
        Err(refused) => return refused,
    };
    let (status, extra, body) = api_routes(server, head, ip, &mut quota).await;
    let limits = quota.map(|q| q.headers()).unwrap_or_default();
    (status, format!("{limits}{extra}"), body)
}

/// Counts one /api request against the client IP's bucket (`--connects-per-minute-per-ip`);
/// `Err` is the whole 429 answer.
pub(crate) fn api_quota(
    server: &Server,
    ip: IpAddr,
) -> Result<Option<Quota>, (&'static str, String, String)> {
    let per_minute = server.hub.settings.limits.connects_per_minute_per_ip;
    server
        .limiter
        .take_quota(&[(&format!("ip:{ip}"), per_minute)])
        .map_err(|refused| {
            server.hub.metrics.count_refusal("too_many");
            let secs = refused.retry_after_s();
            (
                "429 Too Many Requests",
                refused.headers(),
                json_error(
                    "too_many",
                    &format!("too many requests from this address; retry in {secs} s"),
                ),
            )
        })
}

async fn api_routes(
    server: &Server,
    head: &Head,
    ip: IpAddr,
    quota: &mut Option<Quota>,
) -> (&'static str, String, String) {
    let m = &server.hub.metrics;
    let plain = |status, body| (status, String::new(), body);
    // The token's grant (`None`: no token needed, every creator allowed); the admin api
    // key counts as an unscoped token.
    let grant = match super::rest::authorize(server, head, ip) {
        Ok(g) => g,
        Err(refused) => return refused,
    };
    if head.path == "/api/gifts" {
        return super::rest::gifts(server).await;
    }
    if let Some(name) = head.path.strip_prefix("/api/users/") {
        return super::rest::get_user(server, name, ip, grant.as_ref(), quota).await;
    }
    if let Some(name) = head.path.strip_prefix("/api/rooms/") {
        // Checked in its decoded form: `%2e%2e` is `..`.
        let name = normalize_handle(Query::parse(&format!("n={name}")).get("n").unwrap_or(""));
        if !valid_handle(&name) {
            m.count_refusal("bad_request");
            return plain("400 Bad Request", json_error("bad_request", HANDLE_RULES));
        }
        if grant.as_ref().is_some_and(|g| !g.allows(&name)) {
            m.count_refusal("no_permission");
            return plain(
                "403 Forbidden",
                json_error(
                    "no_permission",
                    "this token's allowedCreators does not include this creator",
                ),
            );
        }
        let lookup_keys = LookupKeys {
            ip: format!("lookup-ip:{ip}"),
            token: grant.as_ref().map(|g| format!("lookup-tok:{}", g.key)),
        };
        return match room_status(server, &name, &lookup_keys, quota).await {
            Ok(v) => plain("200 OK", v.to_string()),
            Err(ApiError::Wait(refused)) => {
                m.count_refusal("too_many");
                let secs = refused.retry_after_s();
                // The lookup bucket's headers replace the API bucket's (`api` adds none).
                *quota = None;
                (
                    "429 Too Many Requests",
                    refused.headers(),
                    json_error(
                        "too_many",
                        &format!("too many lookups of unknown creators; retry in {secs} s"),
                    ),
                )
            }
            Err(ApiError::Failed(status, code, msg)) => plain(status, json_error(code, &msg)),
        };
    }
    plain(
        "404 Not Found",
        json_error(
            "not_found",
            "try /api/rooms/NAME, /api/rooms/check (POST), /api/users/NAME or /api/gifts",
        ),
    )
}

/// Whose buckets an upstream lookup is taken from.
struct LookupKeys {
    ip: String,
    token: Option<String>,
}

enum ApiError {
    /// Too many lookups: retry after this long.
    Wait(Refused),
    Failed(&'static str, &'static str, String),
}

/// Live status, room id, title and viewers of `name`: from the rooms cache, a room the
/// relay has open, a recent not-live answer, or (rate-limited per token and per IP) the
/// upstream.
async fn room_status(
    server: &Server,
    name: &str,
    keys: &LookupKeys,
    quota: &mut Option<Quota>,
) -> Result<serde_json::Value, ApiError> {
    let s = &server.hub.settings;
    let shape = |info: &serde_json::Value| {
        serde_json::json!({
            "uniqueId": name,
            "roomId": info.get("roomId").cloned().unwrap_or(serde_json::Value::Null),
            "isLive": info.get("isLive").and_then(|v| v.as_bool()).unwrap_or(true),
            "title": info.get("title").cloned().unwrap_or(serde_json::Value::Null),
            "viewerCount": info.get("viewerCount").or_else(|| info.get("userCount")).cloned().unwrap_or(serde_json::Value::Null),
        })
    };
    if let Some(cached) = s.rooms_cache.as_ref().and_then(|c| c.get(name)) {
        let mut v = shape(cached);
        v["source"] = "cache".into();
        return Ok(v);
    }
    if let Some(info) = server.hub.room(name).and_then(|r| r.info()) {
        let mut v = shape(&info);
        v["source"] = "relay".into();
        return Ok(v);
    }
    if server.not_live.contains(name) {
        let mut v = shape(&serde_json::json!({"isLive": false}));
        v["source"] = "recent".into();
        return Ok(v);
    }
    let limits = &s.limits;
    let mut buckets = vec![(keys.ip.as_str(), limits.lookups_per_minute_per_ip)];
    if let Some(token) = &keys.token {
        buckets.push((token.as_str(), limits.lookups_per_minute_per_token));
    }
    if let Some(lookup) = server
        .limiter
        .take_quota(&buckets)
        .map_err(ApiError::Wait)?
    {
        *quota = Some(quota.map_or(lookup, |q| q.tighter(lookup)));
    }
    let failed = |msg: String| ApiError::Failed("502 Bad Gateway", "upstream", msg);
    let info = match &s.upstream {
        UpstreamKind::Relay { url, jwt_secret } => {
            let mut q = vec![("uniqueId", name.to_string())];
            if let Some(secret) = jwt_secret {
                q.push(("jwtKey", crate::driver::mint(secret, name)));
            }
            let full = crate::driver::with_query(url, &q);
            let probe = async {
                let (mut ws, _) = tokio_tungstenite::connect_async(full).await.ok()?;
                let mut info = None;
                while let Some(Ok(m)) = ws.next().await {
                    match m {
                        Message::Text(t) => {
                            info = serde_json::from_str::<serde_json::Value>(t.as_str()).ok();
                            break;
                        }
                        Message::Close(f) => {
                            if f.is_some_and(|f| u16::from(f.code) == 4404) {
                                info = Some(serde_json::json!({"isLive": false}));
                            }
                            break;
                        }
                        _ => {}
                    }
                }
                let _ = tokio::time::timeout(Duration::from_millis(300), ws.close(None)).await;
                info
            };
            tokio::time::timeout(Duration::from_secs(5), probe)
                .await
                .ok()
                .flatten()
                .ok_or_else(|| failed("the upstream did not describe the room".to_string()))?
        }
        UpstreamKind::Tiktok { signer } => match signer.sign(name, None, "").await {
            Ok(signed) => serde_json::Value::Object(signed.info),
            Err((4404, _)) => serde_json::json!({"isLive": false}),
            Err((_, e)) => return Err(failed(e)),
        },
        UpstreamKind::Replay { file, .. } => {
            let rec = crate::recording::read(file).map_err(failed)?;
            rec.records
                .iter()
                .find(|r| r.kind == crate::recording::Kind::Text)
                .and_then(|r| serde_json::from_slice(&r.body).ok())
                .unwrap_or_else(|| serde_json::json!({}))
        }
    };
    let mut v = shape(&info);
    if v["isLive"] == false {
        server.not_live.insert(name);
    }
    v["source"] = "upstream".into();
    Ok(v)
}

/// What [`valid_handle`] accepts, for error messages.
pub(crate) const HANDLE_RULES: &str =
    "not a valid uniqueId: 2 to 24 letters, digits, _ and ., not starting or ending with .";

/// TikTok's handle rules, checked after normalising (lowercase, no `@`) and decoding:
/// 2 to 24 of `a-z 0-9 _ .`, not starting or ending with `.`.
pub(crate) fn valid_handle(h: &str) -> bool {
    (2..=24).contains(&h.len())
        && h.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_'))
        && !h.starts_with('.')
        && !h.ends_with('.')
}

type Ws = WebSocketStream<TcpStream>;

/// Sends `code` and lets go (a refused or finished viewer).
async fn close_ws(ws: &mut Ws, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_string().into(),
    };
    let _ =
        tokio::time::timeout(Duration::from_secs(1), ws.send(Message::Close(Some(frame)))).await;
}

/// Completes a WebSocket upgrade whose head is already read: 400 for a request that is
/// not a valid upgrade, 426 (naming version 13) for another protocol version, else 101.
/// `rest`: bytes the client sent after its head.
async fn accept_ws(mut stream: TcpStream, head: &Head, rest: Vec<u8>) -> Option<Ws> {
    let text = "text/plain";
    if !head.http11 || !head.connection_upgrade {
        let why = "not a websocket upgrade (needs HTTP/1.1 and Connection: Upgrade)\n";
        respond(stream, "400 Bad Request", "", text, why).await;
        return None;
    }
    match head.ws_version.as_deref() {
        Some("13") => {}
        None => {
            let why = "no Sec-WebSocket-Version header\n";
            respond(stream, "400 Bad Request", "", text, why).await;
            return None;
        }
        Some(_) => {
            respond(
                stream,
                "426 Upgrade Required",
                "sec-websocket-version: 13\r\n",
                text,
                "only websocket version 13 is served\n",
            )
            .await;
            return None;
        }
    }
    use base64::Engine;
    let key = head.ws_key.as_deref().filter(|k| {
        base64::engine::general_purpose::STANDARD
            .decode(k)
            .is_ok_and(|nonce| nonce.len() == 16)
    });
    let Some(key) = key else {
        let why = "missing or invalid Sec-WebSocket-Key (16 bytes in base64)\n";
        respond(stream, "400 Bad Request", "", text, why).await;
        return None;
    };
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    tokio::time::timeout(Duration::from_secs(5), stream.write_all(reply.as_bytes()))
        .await
        .ok()?
        .ok()?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024));
    Some(WebSocketStream::from_partially_read(stream, rest, Role::Server, Some(config)).await)
}

async fn serve_viewer(
    stream: TcpStream,
    peer: SocketAddr,
    head: Head,
    rest: Vec<u8>,
    server: Arc<Server>,
) {
    let hub = Arc::clone(&server.hub);
    let s = Arc::clone(&hub.settings);
    let m = Arc::clone(&hub.metrics);
    if !server.origin_allowed(head.origin.as_deref()) {
        m.count_refusal("origin");
        eprintln!("relay: refused a socket from {peer}: origin not allowed");
        respond(
            stream,
            "403 Forbidden",
            "",
            "text/plain",
            "origin not allowed\n",
        )
        .await;
        return;
    }
    let q = Query::parse(&head.query);
    let format = match json::parse_format(q.get("format"), q.get("events")) {
        Ok(f) => f,
        Err(why) => {
            m.count_refusal("bad_request");
            respond(
                stream,
                "400 Bad Request",
                "",
                "text/plain",
                &format!("{why}\n"),
            )
            .await;
            return;
        }
    };
    let _ = socket2::SockRef::from(&stream).set_send_buffer_size(s.limits.viewer_send_buffer);
    let Some(mut ws) = accept_ws(stream, &head, rest).await else {
        return;
    };
    let ip = peer.ip();
    let refuse = |code: u16, reason: &'static str, why: &str, tok: &str| {
        m.count_close(code);
        m.count_refusal(reason);
        eprintln!("relay: refused a socket from {ip}: {code} {why} {tok}");
    };
    if !server
        .limiter
        .allow(&format!("ip:{ip}"), s.limits.connects_per_minute_per_ip)
        || !cluster_allows(
            &server,
            &format!("ip:{ip}"),
            s.limits.connects_per_minute_per_ip,
        )
        .await
    {
        refuse(4429, "too_many", "connecting too fast (ip)", "");
        close_ws(&mut ws, 4429, "too many connections").await;
        return;
    }
    let unique_id = normalize_handle(
        q.get("uniqueId")
            .or_else(|| q.get("unique_id"))
            .unwrap_or(""),
    );
    if !valid_handle(&unique_id) {
        refuse(4400, "bad_request", "missing or invalid uniqueId", "");
        close_ws(&mut ws, 4400, "invalid options").await;
        return;
    }
    let token = q.get("jwtKey").unwrap_or("").to_string();
    let tok = if token.is_empty() {
        String::new()
    } else {
        token_hash(&token)
    };
    let grant = match &s.auth {
        None => Grant {
            creators: None,
            max_sockets: None,
            key: format!("ip:{ip}"),
            exp: None,
        },
        Some(v) => match v.verify(&token) {
            Ok(g) => g,
            Err(e) => {
                refuse(4401, "invalid_auth", &e, &tok);
                // Verifier errors are short and never hold the token.
                let reason: String = format!("invalid auth: {e}").chars().take(100).collect();
                close_ws(&mut ws, 4401, &reason).await;
                return;
            }
        },
    };
    if !grant.allows(&unique_id) {
        refuse(
            4403,
            "no_permission",
            &format!("token not allowed for {unique_id}"),
            &tok,
        );
        close_ws(&mut ws, 4403, "no permission").await;
        return;
    }
    if s.auth.is_some()
        && (!server.limiter.allow(
            &format!("tok:{}", grant.key),
            s.limits.connects_per_minute_per_token,
        ) || !cluster_allows(
            &server,
            &format!("tok:{}", grant.key),
            s.limits.connects_per_minute_per_token,
        )
        .await)
    {
        refuse(4429, "too_many", "connecting too fast (token)", &tok);
        close_ws(&mut ws, 4429, "too many connections").await;
        return;
    }
    let Some(_ip_slot) = server
        .limiter
        .hold(format!("ip:{ip}"), s.limits.max_sockets_per_ip)
    else {
        refuse(4429, "too_many", "too many sockets from this ip", &tok);
        close_ws(&mut ws, 4429, "too many connections").await;
        return;
    };
    let _token_slot = if s.auth.is_some() {
        let max = grant.max_sockets.unwrap_or(s.limits.max_sockets_per_token);
        let local = server.limiter.hold(format!("tok:{}", grant.key), max);
        let across = match (&local, &server.cluster) {
            (Some(_), Some(c)) => c.hold_socket(&grant.key, max).await.map(Some),
            _ => Some(None),
        };
        match local.zip(across) {
            Some(slot) => Some(slot),
            None => {
                refuse(
                    4429,
                    "too_many",
                    &format!("token already holds {max} socket(s)"),
                    &tok,
                );
                close_ws(&mut ws, 4429, "too many connections").await;
                return;
            }
        }
    } else {
        None
    };
    let _room_slot = if s.auth.is_some() {
        let max = s.limits.max_rooms_per_token;
        match server.limiter.hold_room(&grant.key, &unique_id, max) {
            Some(slot) => Some(slot),
            None => {
                refuse(
                    4429,
                    "too_many",
                    &format!("token already holds sockets in {max} other room(s)"),
                    &tok,
                );
                close_ws(&mut ws, 4429, "too many rooms for this token").await;
                return;
            }
        }
    } else {
        None
    };
    // The socket ends when its token expires (with the same leeway as at connect).
    let leeway = s.auth.as_ref().map_or(0, |v| v.leeway_s());
    let token_deadline = grant
        .exp
        .and_then(|exp| until_unix(exp.saturating_add(leeway), s.limits.max_lifetime));
    let cursor = q
        .get("cursor")
        .filter(|c| !c.is_empty() && c.len() <= 512)
        .map(String::from);
    let joined = match hub.join(&unique_id, cursor, format) {
        Ok(j) => j,
        Err((code, why)) => {
            refuse(code, "too_many", why, &tok);
            close_ws(&mut ws, code, "too many connections").await;
            return;
        }
    };
    add(&m.viewers_accepted, 1);
    add(&m.viewers, 1);
    eprintln!(
        "relay: viewer {} from {ip} joined {unique_id} {tok}",
        joined.id
    );
    let mut joined = joined;
    let (code, reason) = run_viewer(ws, &mut joined.rx, &joined.ctl, token_deadline, &server)
        .await
        .unwrap_or((0, String::new()));
    hub.leave(&joined.room, joined.id);
    sub(&m.viewers, 1);
    if code != 0 {
        m.count_close(code);
    }
    eprintln!(
        "relay: viewer {} left {unique_id}{}",
        joined.id,
        if code != 0 {
            format!(" (closed with {code} {reason})")
        } else {
            String::new()
        }
    );
    drop(joined);
}

/// Takes one connect from the cluster-wide bucket `key` (always allowed without
/// `--cluster`).
async fn cluster_allows(server: &Server, key: &str, per_minute: u32) -> bool {
    match &server.cluster {
        Some(c) => c.allow(key, per_minute).await,
        None => true,
    }
}

/// When the unix time `at` (seconds) comes, as a runtime instant; `None` when it is
/// further away than `horizon` (the socket's lifetime ends first).
fn until_unix(at: u64, horizon: Duration) -> Option<tokio::time::Instant> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let left = (at as f64 - now).max(0.0);
    (left <= horizon.as_secs_f64())
        .then(|| tokio::time::Instant::now() + Duration::from_secs_f64(left))
}

/// The close a viewer's own protocol violation earns (RFC 6455 codes).
fn violation(e: &tokio_tungstenite::tungstenite::Error) -> Option<(u16, String)> {
    use tokio_tungstenite::tungstenite::Error;
    match e {
        Error::Capacity(_) => Some((1009, "message too big".into())),
        Error::Utf8(_) => Some((1007, "invalid utf-8 in a text message".into())),
        Error::Protocol(_) => Some((1002, "protocol error".into())),
        _ => None,
    }
}

/// Data messages (text or binary) a viewer may send per [`VIEWER_DATA_WINDOW`]; they are
/// ignored, but one more closes the socket with [`VIEWER_DATA_CLOSE`]. Viewers have nothing
/// to say; a client that talks this much is broken or hostile and costs reads.
const VIEWER_DATA_MAX: u32 = 100;
const VIEWER_DATA_WINDOW: Duration = Duration::from_secs(10);
const VIEWER_DATA_CLOSE: (u16, &str) = (1008, "policy violation: viewers do not send data");

/// Pumps the viewer's queue into its socket, writing whatever is queued before one
/// flush. Returns the close code the relay sent, or `None` when the browser left first
/// (its close frame is answered with one, completing the closing handshake).
/// `token_deadline`: when the viewer's token expires (4401).
async fn run_viewer(
    ws: Ws,
    rx: &mut tokio::sync::mpsc::Receiver<Out>,
    ctl: &ViewerCtl,
    token_deadline: Option<tokio::time::Instant>,
    server: &Server,
) -> Option<(u16, String)> {
    let m = &server.hub.metrics;
    let deadline = tokio::time::Instant::now() + server.hub.settings.limits.max_lifetime;
    let expired = async {
        match token_deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expired);
    let (mut sink, mut stream) = ws.split();
    // Data messages the viewer sent in the current window (see VIEWER_DATA_MAX).
    let (mut window_start, mut data_messages) = (tokio::time::Instant::now(), 0u32);
    let result = loop {
        if let Some(why) = ctl.peek() {
            break Some(why);
        }
        let first = tokio::select! {
            biased;
            why = ctl.cut_off() => break Some(why),
            _ = tokio::time::sleep_until(deadline) => break Some((4555, "max lifetime exceeded".to_string())),
            _ = &mut expired => break Some((4401, "token expired".to_string())),
            msg = stream.next() => match msg {
                Some(Err(e)) => break violation(&e),
                Some(Ok(Message::Close(_))) => {
                    // tungstenite queued the reply (the same code); flushing sends it, so
                    // the viewer sees a clean close instead of a dropped connection.
                    let _ = tokio::time::timeout(Duration::from_secs(1), sink.flush()).await;
                    break None;
                }
                None => break None,
                Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                    let now = tokio::time::Instant::now();
                    if now.duration_since(window_start) >= VIEWER_DATA_WINDOW {
                        (window_start, data_messages) = (now, 0);
                    }
                    data_messages += 1;
                    if data_messages > VIEWER_DATA_MAX {
                        let (code, reason) = VIEWER_DATA_CLOSE;
                        break Some((code, reason.to_string()));
                    }
                    continue;
                }
                // Pings are answered by tungstenite: the pong goes out with the next read.
                Some(Ok(_)) => continue,
            },
            item = rx.recv() => match item {
                Some(item) => item,
                None => break Some((1011, "internal error".to_string())),
            },
        };
        let mut batch = vec![first];
        while batch.len() < 64 {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let mut close = None;
        let (mut frames, mut events, mut bytes) = (0u64, 0u64, 0u64);
        let write = async {
            for item in batch {
                match item {
                    Out::Info(text) => sink.feed(Message::text(text)).await?,
                    Out::Frame(b) => {
                        frames += 1;
                        bytes += b.len() as u64;
                        sink.feed(Message::Binary(b)).await?;
                    }
                    Out::Events(texts) => {
                        for text in texts {
                            events += 1;
                            bytes += text.len() as u64;
                            sink.feed(Message::Text(text)).await?;
                        }
                    }
                    Out::Close(code, reason) => {
                        close = Some((code, reason));
                        break;
                    }
                }
            }
            sink.flush().await
        };
        let wrote = tokio::select! {
            biased;
            why = ctl.cut_off() => Err(why),
            r = write => Ok(r.is_ok()),
        };
        add(&m.frames_out, frames);
        add(&m.events_out, events);
        add(&m.bytes_out, bytes);
        match wrote {
            Err(why) => break Some(why),
            Ok(false) => break None,
            Ok(true) => {}
        }
        if let Some(c) = close {
            break Some(c);
        }
    };
    if let Some((code, reason)) = &result {
        let frame = CloseFrame {
            code: CloseCode::from(*code),
            reason: reason.clone().into(),
        };
        // A viewer that stopped reading cannot take a close frame either; then the TCP
        // connection is simply dropped.
        let sent = tokio::time::timeout(
            Duration::from_secs(1),
            sink.send(Message::Close(Some(frame))),
        )
        .await;
        if matches!(sent, Ok(Ok(()))) {
            // Wait briefly for the viewer's close reply, dropping what it still sends:
            // closing the socket with unread data would reset the connection, and the
            // reset can destroy our close frame before the viewer reads it.
            let drain = async { while let Some(Ok(_)) = stream.next().await {} };
            let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_follow_tiktok_rules() {
        for good in [
            "ab",
            "ada.demo",
            "a_b.c",
            "user123",
            "x".repeat(24).as_str(),
        ] {
            assert!(valid_handle(good), "{good}");
        }
        for bad in [
            "", "a", "..", ".ada", "ada.", "a-b", "a/b", "a b", "Ada", "été",
        ] {
            assert!(!valid_handle(bad), "{bad}");
        }
        assert!(!valid_handle(&"x".repeat(25)));
    }

    #[test]
    fn buckets_are_taken_from_all_or_none() {
        let l = Limiter::default();
        assert!(l.take(&[("a", 2), ("b", 1)]).is_ok());
        // "b" is empty: nothing is taken from "a" either, and the wait is b's (60 s / 1).
        let wait = l.take(&[("a", 2), ("b", 1)]).unwrap_err();
        assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(60));
        assert!(l.take(&[("a", 2)]).is_ok());
        assert!(l.take(&[("a", 2)]).is_err());
        // 0 per minute is unlimited.
        for _ in 0..100 {
            assert!(l.take(&[("c", 0)]).is_ok());
        }
    }
}
