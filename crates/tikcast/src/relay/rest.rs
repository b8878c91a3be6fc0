//! The REST helpers beside `GET /api/rooms/NAME`: a bulk live check
//! (`POST /api/rooms/check`), a user lookup (`GET /api/users/NAME`) and the gift catalog
//! (`GET /api/gifts`), all answered from the upstream's web side ([`WebApi`]: TikTok's
//! `api-live/user/room` and `webcast/gift/list`, or `tikcast mock`'s copies of them)
//! through small caches.
//!
//! Costs: every request takes one unit of the client IP's API bucket; each name that no
//! cache can answer takes one unit of the lookup buckets (per IP and per token), so a
//! bulk check of 100 cached names costs as much as one lookup of a cached name, and one
//! of 100 unknown names as much as 100 single lookups. Names over the lookup limit get a
//! per-name `rate_limited` error; when that leaves no name answered, the whole request is
//! a 429 with `Retry-After`.
//!
//! Auth: the same token as the other `/api` routes (`jwtKey` query or `x-jwt-key`
//! header), or the admin API key (`x-api-key` or `authorization: Bearer`), which is
//! unscoped. A scoped token only learns about its `allowedCreators`: other names get a
//! per-name `forbidden` error (403 for a single lookup).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::auth::{token_hash, Grant};
use super::normalize_handle;
use super::server::{api_quota, json_error, valid_handle, Quota, Refused, Server, HANDLE_RULES};
use crate::http_head::{BodyError, Head, Query};

/// Where the web side of the upstream answers (full URLs, without query).
#[derive(Clone)]
pub(crate) struct WebApi {
    /// `api-live/user/room`: a creator's profile and live room by handle.
    pub(crate) user_room: String,
    /// `webcast/gift/list`: the gift catalog.
    pub(crate) gift_list: String,
}

impl WebApi {
    /// Both endpoints under one base URL (`--web-api-url`, or a mock's host).
    pub(crate) fn under(base: &str) -> WebApi {
        let base = base.trim_end_matches('/');
        WebApi {
            user_room: format!("{base}/api-live/user/room/"),
            gift_list: format!("{base}/webcast/gift/list/"),
        }
    }

    /// TikTok's own hosts (the `tiktok` upstream without `--web-api-url`).
    pub(crate) fn tiktok() -> WebApi {
        WebApi {
            user_room: "https://www.tiktok.com/api-live/user/room/".into(),
            gift_list: "https://webcast.tiktok.com/webcast/gift/list/".into(),
        }
    }

    /// The http(s) host of a relay-style socket URL (`ws://H:P/ws` → `http://H:P`).
    pub(crate) fn of_socket(url: &str) -> Option<WebApi> {
        let (scheme, rest) = if let Some(r) = url.strip_prefix("ws://") {
            ("http", r)
        } else {
            ("https", url.strip_prefix("wss://")?)
        };
        let authority = rest.split(['/', '?']).next().filter(|a| !a.is_empty())?;
        Some(WebApi::under(&format!("{scheme}://{authority}")))
    }
}

/// How long a user lookup's answer is served again without asking.
const USER_TTL: Duration = Duration::from_secs(30);
/// Most user answers remembered at once.
const USER_CAP: usize = 10_000;
/// Lookups of one bulk check running at once.
const CHECK_CONCURRENCY: usize = 8;
/// Most names in one bulk check.
pub(crate) const MAX_CHECK_NAMES: usize = 100;
/// Largest `POST /api/rooms/check` body read.
pub(crate) const MAX_CHECK_BODY: usize = 16 * 1024;
/// Deadline of one request to the web API.
const WEB_TIMEOUT: Duration = Duration::from_secs(5);
/// TikTok's web app id, sent as `aid` as its web page does.
const WEB_AID: &str = "1988";

/// A creator as the web API describes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UserRoom {
    pub(crate) unique_id: String,
    pub(crate) user_id: String,
    pub(crate) sec_uid: String,
    pub(crate) nickname: String,
    pub(crate) avatar_url: String,
    /// The live room; `None` when not live.
    pub(crate) room_id: Option<String>,
}

/// One lookup's answer: the user, or `None` when no user has that handle.
type Found = Option<UserRoom>;

/// Why a lookup gave no answer.
#[derive(Debug)]
enum LookupError {
    /// The lookup buckets are empty.
    Limited(Refused),
    /// The upstream failed (a message without URLs or keys).
    Upstream(String),
    /// This upstream has no web side (a `replay:` upstream).
    NoWebApi,
}

/// The REST helpers' caches.
#[derive(Default)]
pub(crate) struct Rest {
    users: Mutex<HashMap<String, (Instant, Found)>>,
    /// The last gift catalog fetched from the upstream (normalised JSON) and when.
    gifts: tokio::sync::Mutex<Option<(Instant, String)>>,
}

impl Rest {
    fn cached_user(&self, name: &str) -> Option<Found> {
        let users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        users
            .get(name)
            .filter(|(at, _)| at.elapsed() < USER_TTL)
            .map(|(_, found)| found.clone())
    }

    fn remember_user(&self, name: &str, found: &Found) {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        if users.len() >= USER_CAP {
            users.retain(|_, (at, _)| at.elapsed() < USER_TTL);
            if users.len() >= USER_CAP {
                users.clear();
            }
        }
        users.insert(name.to_string(), (Instant::now(), found.clone()));
    }
}

type Answer = (&'static str, String, String);

/// Who may ask: `Ok(None)` when no credential is needed (`--public-api`, `--no-auth`),
/// else the grant of the request's token, or an unscoped one for the admin API key.
/// `Err` is the whole 401 answer.
pub(crate) fn authorize(server: &Server, head: &Head, ip: IpAddr) -> Result<Option<Grant>, Answer> {
    let s = &server.hub.settings;
    let m = &server.hub.metrics;
    if s.public_api {
        return Ok(None);
    }
    let Some(verifier) = &s.auth else {
        return Ok(None);
    };
    let refuse = |why: &str| {
        m.count_refusal("invalid_auth");
        (
            "401 Unauthorized",
            String::new(),
            json_error(
                "invalid_auth",
                &format!("a valid jwtKey (query), x-jwt-key (header) or api key (x-api-key) is required ({why})"),
            ),
        )
    };
    let q = Query::parse(&head.query);
    let token = head
        .jwt_header
        .clone()
        .or_else(|| q.get("jwtKey").map(String::from));
    if token.is_none() {
        if let Some(key) = super::mint::presented_key(head) {
            return match &s.admin {
                Some(admin) if admin.accepts(key.as_bytes()) => Ok(Some(Grant {
                    creators: None,
                    max_sockets: None,
                    key: "admin-key".into(),
                    exp: None,
                })),
                _ => {
                    eprintln!(
                        "relay: api {} from {ip}: refused (wrong api key)",
                        head.path
                    );
                    Err(refuse("the api key is not this relay's admin key"))
                }
            };
        }
    }
    let token = token.unwrap_or_default();
    verifier.verify(&token).map(Some).map_err(|e| {
        eprintln!(
            "relay: api {} from {ip}: refused ({e}) {}",
            head.path,
            token_hash(&token)
        );
        refuse(&e)
    })
}

/// The lookup buckets of a request (per IP, and per token when there is one).
struct LookupKeys {
    ip: String,
    token: Option<String>,
}

impl LookupKeys {
    fn new(ip: IpAddr, grant: Option<&Grant>) -> LookupKeys {
        LookupKeys {
            ip: format!("lookup-ip:{ip}"),
            token: grant.map(|g| format!("lookup-tok:{}", g.key)),
        }
    }

    /// Takes one lookup from every bucket (or none): the tightest bucket after, or why not.
    fn take(&self, server: &Server) -> Result<Option<Quota>, Refused> {
        let limits = &server.hub.settings.limits;
        let mut buckets = vec![(self.ip.as_str(), limits.lookups_per_minute_per_ip)];
        if let Some(token) = &self.token {
            buckets.push((token.as_str(), limits.lookups_per_minute_per_token));
        }
        server.limiter.take_quota(&buckets)
    }
}

fn tighter(a: Option<Quota>, b: Option<Quota>) -> Option<Quota> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.tighter(b)),
        (a, b) => a.or(b),
    }
}

/// Asks the web API about `name` (no cache, no limit).
pub(crate) async fn fetch_user(web: &WebApi, name: &str) -> Result<Found, String> {
    let url = crate::driver::with_query(
        &web.user_room,
        &[
            ("aid", WEB_AID.to_string()),
            ("sourceType", "54".to_string()),
            ("uniqueId", name.to_string()),
        ],
    );
    let resp = super::http_client::get(&url, &[], WEB_TIMEOUT)
        .await
        .map_err(|e| format!("user lookup: {e}"))?;
    if resp.status != 200 {
        return Err(format!(
            "user lookup: the upstream answered http {}",
            resp.status
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&resp.body)
        .map_err(|_| "user lookup: the upstream's answer is not json".to_string())?;
    parse_user_room(&v, name)
}

/// Reads an `api-live/user/room` answer.
fn parse_user_room(v: &serde_json::Value, name: &str) -> Result<Found, String> {
    let code = v.get("statusCode").and_then(|c| c.as_u64()).unwrap_or(0);
    let message = v.get("message").and_then(|m| m.as_str()).unwrap_or("");
    if message == "user_not_found" || code == 19_881_007 {
        return Ok(None);
    }
    if code != 0 {
        let shown: String = message.chars().take(60).collect();
        return Err(format!(
            "user lookup: the upstream answered status {code} ({shown})"
        ));
    }
    let user = v
        .pointer("/data/user")
        .filter(|u| u.is_object())
        .ok_or("user lookup: the upstream's answer has no data.user")?;
    let text = |k: &str| match user.get(k) {
        Some(serde_json::Value::String(s)) => s.chars().take(512).collect(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let status = |p: &str| v.pointer(p).and_then(|s| s.as_u64());
    // 2 is live (the room's status, or the user's when the room is absent).
    let live = status("/data/liveRoom/status").or(status("/data/user/status")) == Some(2);
    let room_id = Some(text("roomId")).filter(|r| live && !r.is_empty() && r != "0");
    let unique_id = normalize_handle(&text("uniqueId"));
    Ok(Some(UserRoom {
        unique_id: if unique_id.is_empty() {
            name.to_string()
        } else {
            unique_id
        },
        user_id: text("id"),
        sec_uid: text("secUid"),
        nickname: text("nickname"),
        avatar_url: ["avatarLarger", "avatarMedium", "avatarThumb"]
            .iter()
            .map(|k| text(k))
            .find(|a| !a.is_empty())
            .unwrap_or_default(),
        room_id,
    }))
}

/// A user from the cache, or (one lookup unit) from the web API.
async fn user(
    server: &Server,
    name: &str,
    keys: &LookupKeys,
) -> Result<(Found, &'static str, Option<Quota>), LookupError> {
    let Some(web) = &server.hub.settings.web_api else {
        return Err(LookupError::NoWebApi);
    };
    if let Some(found) = server.rest.cached_user(name) {
        return Ok((found, "cache", None));
    }
    let quota = keys.take(server).map_err(LookupError::Limited)?;
    let found = fetch_user(web, name).await.map_err(LookupError::Upstream)?;
    server.rest.remember_user(name, &found);
    Ok((found, "upstream", quota))
}

/// A 429 for an empty lookup bucket.
fn limited(server: &Server, refused: &Refused) -> Answer {
    server.hub.metrics.count_refusal("too_many");
    let secs = refused.retry_after_s();
    (
        "429 Too Many Requests",
        refused.headers(),
        json_error(
            "too_many",
            &format!("too many lookups of unknown creators; retry in {secs} s"),
        ),
    )
}

/// `GET /api/users/NAME` (`raw`: the path's encoded name), after the API bucket and auth.
pub(crate) async fn get_user(
    server: &Server,
    raw: &str,
    ip: IpAddr,
    grant: Option<&Grant>,
    quota: &mut Option<Quota>,
) -> Answer {
    let m = &server.hub.metrics;
    let plain = |status, body| (status, String::new(), body);
    let name = normalize_handle(Query::parse(&format!("n={raw}")).get("n").unwrap_or(""));
    if !valid_handle(&name) {
        m.count_refusal("bad_request");
        return plain("400 Bad Request", json_error("bad_request", HANDLE_RULES));
    }
    if grant.is_some_and(|g| !g.allows(&name)) {
        m.count_refusal("no_permission");
        return plain(
            "403 Forbidden",
            json_error(
                "no_permission",
                "this token's allowedCreators does not include this creator",
            ),
        );
    }
    match user(server, &name, &LookupKeys::new(ip, grant)).await {
        Ok((Some(u), source, lookup)) => {
            *quota = tighter(*quota, lookup);
            let body = serde_json::json!({
                "uniqueId": u.unique_id,
                "userId": u.user_id,
                "secUid": u.sec_uid,
                "nickname": u.nickname,
                "avatarUrl": u.avatar_url,
                "roomId": u.room_id,
                "live": u.room_id.is_some(),
            });
            ("200 OK", source_header(source), body.to_string())
        }
        Ok((None, source, lookup)) => {
            *quota = tighter(*quota, lookup);
            (
                "404 Not Found",
                source_header(source),
                json_error("not_found", &format!("no tiktok user is called {name}")),
            )
        }
        Err(LookupError::Limited(refused)) => {
            // The lookup bucket's headers replace the API bucket's.
            *quota = None;
            limited(server, &refused)
        }
        Err(LookupError::Upstream(e)) => plain("502 Bad Gateway", json_error("upstream", &e)),
        Err(LookupError::NoWebApi) => plain(
            "404 Not Found",
            json_error(
                "no_user_lookup",
                "this relay's upstream (a recording) has no user lookup; use --upstream mock:URL or tiktok, or --web-api-url",
            ),
        ),
    }
}

fn source_header(source: &str) -> String {
    format!("x-tikcast-source: {source}\r\n")
}

/// The names of a `POST /api/rooms/check` body, as given (not yet validated).
fn parse_check(body: &[u8]) -> Result<Vec<String>, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the body must be a json object like {{\"uniqueIds\":[\"name\"]}} ({})",
            e.to_string().to_lowercase()
        )
    })?;
    let serde_json::Value::Object(map) = v else {
        return Err("the body must be a json object like {\"uniqueIds\":[\"name\"]}".into());
    };
    if let Some(unknown) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "uniqueIds" | "unique_ids"))
    {
        let shown: String = unknown.chars().take(32).collect();
        return Err(format!("unknown field {shown:?} (send uniqueIds)"));
    }
    let list = match (map.get("uniqueIds"), map.get("unique_ids")) {
        (Some(_), Some(_)) => return Err("give uniqueIds or unique_ids, not both".into()),
        (None, None) => return Err("uniqueIds is required: a list of 1 to 100 handles".into()),
        (a, b) => a.or(b),
    };
    let items = list
        .and_then(|l| l.as_array())
        .ok_or("uniqueIds must be a list of handles (strings)")?;
    if items.is_empty() || items.len() > MAX_CHECK_NAMES {
        return Err(format!(
            "uniqueIds must name 1 to {MAX_CHECK_NAMES} handles (got {})",
            items.len()
        ));
    }
    items
        .iter()
        .map(|i| i.as_str().map(String::from))
        .collect::<Option<_>>()
        .ok_or_else(|| "uniqueIds must be a list of handles (strings)".into())
}

/// One name's line of a bulk check.
enum Checked {
    /// Live (with its room id) or not.
    Status(Option<String>),
    Error(&'static str, String),
}

/// `Some(room)` when a cache of the relay knows whether `name` is live: the `--rooms`
/// file, a room the relay has open, a recent user lookup, a recent not-live answer.
fn cached_status(server: &Server, name: &str) -> Option<Checked> {
    let room_of = |info: &serde_json::Value| {
        let live = info.get("isLive").and_then(|v| v.as_bool()).unwrap_or(true);
        let room = match info.get("roomId") {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Checked::Status(room.filter(|_| live))
    };
    if let Some(info) = server
        .hub
        .settings
        .rooms_cache
        .as_ref()
        .and_then(|c| c.get(name))
    {
        return Some(room_of(info));
    }
    if let Some(info) = server.hub.room(name).and_then(|r| r.info()) {
        return Some(room_of(&info));
    }
    match server.rest.cached_user(name) {
        Some(Some(u)) => return Some(Checked::Status(u.room_id)),
        Some(None) => return Some(not_found(name)),
        None => {}
    }
    server
        .not_live
        .contains(name)
        .then_some(Checked::Status(None))
}

fn not_found(name: &str) -> Checked {
    Checked::Error("not_found", format!("no tiktok user is called {name}"))
}

/// `POST /api/rooms/check`: (status line, extra header lines, JSON body). `body` is the
/// request body, or why it could not be read.
pub(crate) async fn rooms_check(
    server: &Server,
    head: &Head,
    body: Result<Vec<u8>, BodyError>,
    ip: IpAddr,
) -> Answer {
    let m = &server.hub.metrics;
    let mut quota = match api_quota(server, ip) {
        Ok(q) => q,
        Err(refused) => return refused,
    };
    let with_quota = |quota: Option<Quota>, status, extra: String, body| {
        let limits = quota.map(|q| q.headers()).unwrap_or_default();
        (status, format!("{limits}{extra}"), body)
    };
    let grant = match authorize(server, head, ip) {
        Ok(g) => g,
        Err((status, extra, body)) => return with_quota(quota, status, extra, body),
    };
    let names = match body
        .map_err(|(status, why)| (status, why.to_string()))
        .and_then(|b| parse_check(&b).map_err(|e| ("400 Bad Request", e)))
    {
        Ok(n) => n,
        Err((status, why)) => {
            m.count_refusal("bad_request");
            return with_quota(
                quota,
                status,
                String::new(),
                json_error("bad_request", &why),
            );
        }
    };
    // Each distinct name is answered once, however often it is listed.
    let mut answers: HashMap<String, Checked> = HashMap::new();
    let mut wanted: Vec<String> = Vec::new();
    let keys = LookupKeys::new(ip, grant.as_ref());
    let mut refused_wait: Option<Refused> = None;
    let web = server.hub.settings.web_api.is_some();
    for raw in &names {
        let name = normalize_handle(raw);
        if answers.contains_key(&name) || wanted.contains(&name) || !valid_handle(&name) {
            continue;
        }
        let answer = if grant.as_ref().is_some_and(|g| !g.allows(&name)) {
            Checked::Error(
                "forbidden",
                "this token's allowedCreators does not include this creator".into(),
            )
        } else if let Some(cached) = cached_status(server, &name) {
            cached
        } else if !web {
            Checked::Error(
                "no_live_check",
                "this relay's upstream (a recording) cannot check creators; ask /api/rooms/NAME"
                    .into(),
            )
        } else {
            match keys.take(server) {
                Ok(lookup) => {
                    quota = tighter(quota, lookup);
                    wanted.push(name.clone());
                    continue;
                }
                Err(refused) => {
                    let secs = refused.retry_after_s();
                    if refused_wait.as_ref().is_none_or(|r| r.wait < refused.wait) {
                        refused_wait = Some(refused);
                    }
                    Checked::Error(
                        "rate_limited",
                        format!("too many lookups of unknown creators; retry in {secs} s"),
                    )
                }
            }
        };
        answers.insert(name, answer);
    }
    if let Some(web) = &server.hub.settings.web_api {
        let fetched: Vec<(String, Result<Found, String>)> = futures_util::stream::iter(wanted)
            .map(|name| async move {
                let found = fetch_user(web, &name).await;
                (name, found)
            })
            .buffer_unordered(CHECK_CONCURRENCY)
            .collect()
            .await;
        for (name, found) in fetched {
            let answer = match found {
                Ok(found) => {
                    server.rest.remember_user(&name, &found);
                    match found {
                        Some(u) => Checked::Status(u.room_id),
                        None => not_found(&name),
                    }
                }
                Err(e) => Checked::Error("upstream", e),
            };
            answers.insert(name, answer);
        }
    }
    let mut results = Vec::with_capacity(names.len());
    let mut answered = false;
    for raw in &names {
        let name = normalize_handle(raw);
        let line = match answers.get(&name) {
            _ if !valid_handle(&name) => {
                let shown: String = raw.chars().take(64).collect();
                serde_json::json!({
                    "uniqueId": shown,
                    "live": false,
                    "error": {"code": "invalid_handle", "message": HANDLE_RULES},
                })
            }
            Some(Checked::Status(room)) => {
                answered = true;
                match room {
                    Some(id) => serde_json::json!({"uniqueId": name, "live": true, "roomId": id}),
                    None => serde_json::json!({"uniqueId": name, "live": false}),
                }
            }
            Some(Checked::Error(code, message)) => {
                answered |= *code != "rate_limited";
                serde_json::json!({
                    "uniqueId": name,
                    "live": false,
                    "error": {"code": code, "message": message},
                })
            }
            None => serde_json::json!({
                "uniqueId": name,
                "live": false,
                "error": {"code": "internal", "message": "no answer was computed for this name"},
            }),
        };
        results.push(line);
    }
    if let (false, Some(refused)) = (answered, &refused_wait) {
        let (status, extra, body) = limited(server, refused);
        return (status, extra, body);
    }
    with_quota(
        quota,
        "200 OK",
        String::new(),
        serde_json::json!({ "results": results }).to_string(),
    )
}

/// `GET /api/gifts`: the upstream's catalog, cached `--gift-cache-ttl`; the `--gifts`
/// file when the upstream fails (or has no web side). `x-tikcast-source` says which.
pub(crate) async fn gifts(server: &Server) -> Answer {
    let s = &server.hub.settings;
    let from_file = || {
        s.gifts_json
            .as_ref()
            .map(|body| ("200 OK", source_header("file"), body.clone()))
    };
    let Some(web) = &s.web_api else {
        return from_file().unwrap_or_else(|| {
            (
                "404 Not Found",
                String::new(),
                json_error(
                    "no_gifts",
                    "this relay has no gift catalog (start it with --gifts FILE)",
                ),
            )
        });
    };
    // One fetch at a time: requests arriving meanwhile wait for it and share its answer.
    let mut cache = server.rest.gifts.lock().await;
    if let Some((at, body)) = cache.as_ref() {
        if at.elapsed() < s.gift_cache_ttl {
            return ("200 OK", source_header("cache"), body.clone());
        }
    }
    match fetch_gifts(web).await {
        Ok(body) => {
            *cache = Some((Instant::now(), body.clone()));
            ("200 OK", source_header("upstream"), body)
        }
        Err(e) => {
            eprintln!("relay: gift catalog: {e}; serving the fallback");
            if let Some(answer) = from_file() {
                return answer;
            }
            match cache.as_ref() {
                // Stale, but better than nothing.
                Some((_, body)) => ("200 OK", source_header("cache"), body.clone()),
                None => (
                    "502 Bad Gateway",
                    String::new(),
                    json_error(
                        "upstream",
                        &format!("{e} (start the relay with --gifts FILE for a fallback)"),
                    ),
                ),
            }
        }
    }
}

async fn fetch_gifts(web: &WebApi) -> Result<String, String> {
    let url = crate::driver::with_query(&web.gift_list, &[("aid", WEB_AID.to_string())]);
    let resp = super::http_client::get(&url, &[], WEB_TIMEOUT)
        .await
        .map_err(|e| format!("gift list: {e}"))?;
    if resp.status != 200 {
        return Err(format!(
            "gift list: the upstream answered http {}",
            resp.status
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&resp.body)
        .map_err(|_| "gift list: the upstream's answer is not json".to_string())?;
    let gifts = super::normalize_gifts(&v);
    if gifts.is_empty() {
        return Err("gift list: the upstream's answer holds no gifts".into());
    }
    Ok(serde_json::Value::Array(gifts).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_api_urls() {
        let w = WebApi::of_socket("ws://127.0.0.1:9/ws?x=1").unwrap();
        assert_eq!(w.user_room, "http://127.0.0.1:9/api-live/user/room/");
        assert_eq!(w.gift_list, "http://127.0.0.1:9/webcast/gift/list/");
        let w = WebApi::of_socket("wss://relay.example/ws").unwrap();
        assert_eq!(w.user_room, "https://relay.example/api-live/user/room/");
        assert!(WebApi::of_socket("http://x/ws").is_none());
        assert_eq!(
            WebApi::under("http://h/").gift_list,
            "http://h/webcast/gift/list/"
        );
    }

    #[test]
    fn user_room_answers() {
        let live = serde_json::json!({"statusCode": 0, "data": {
            "user": {"id": "123", "uniqueId": "Ada", "nickname": "A", "secUid": "MS4w",
                     "avatarThumb": "t", "avatarLarger": "l", "roomId": "77", "status": 2},
            "liveRoom": {"status": 2}}});
        let u = parse_user_room(&live, "ada").unwrap().unwrap();
        assert_eq!(
            (
                u.unique_id.as_str(),
                u.user_id.as_str(),
                u.avatar_url.as_str(),
                u.room_id.as_deref()
            ),
            ("ada", "123", "l", Some("77"))
        );
        let mut ended = live.clone();
        ended["data"]["liveRoom"]["status"] = 4.into();
        assert_eq!(
            parse_user_room(&ended, "ada").unwrap().unwrap().room_id,
            None
        );
        let gone =
            serde_json::json!({"statusCode": 19881007, "message": "user_not_found", "data": {}});
        assert_eq!(parse_user_room(&gone, "x").unwrap(), None);
        assert!(parse_user_room(&serde_json::json!({"statusCode": 10201}), "x").is_err());
        assert!(parse_user_room(&serde_json::json!({"statusCode": 0, "data": {}}), "x").is_err());
    }

    #[test]
    fn check_bodies() {
        assert_eq!(
            parse_check(br#"{"uniqueIds":["a","B"]}"#).unwrap(),
            vec!["a".to_string(), "B".to_string()]
        );
        assert_eq!(
            parse_check(br#"{"unique_ids":["a"]}"#).unwrap(),
            vec!["a".to_string()]
        );
        for bad in [
            &br#"{"uniqueIds":[]}"#[..],
            br#"{"uniqueIds":["a"],"unique_ids":["b"]}"#,
            br#"{"uniqueIds":[1]}"#,
            br#"{"names":["a"]}"#,
            br#"["a"]"#,
            b"nope",
        ] {
            assert!(
                parse_check(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let many: Vec<String> = (0..=MAX_CHECK_NAMES).map(|i| format!("u{i}")).collect();
        let body = serde_json::json!({ "uniqueIds": many }).to_string();
        assert!(parse_check(body.as_bytes())
            .unwrap_err()
            .contains("1 to 100"));
    }
}
