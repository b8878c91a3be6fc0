//! Sign services: where the `tiktok` upstream gets a fresh socket URL and cookies before
//! every attempt (`--signer`, docs/relay.md "Sign services"). [`Signer::sign`] asks the
//! configured one; the driver's TikTok dialer (`crate::driver`) connects with the answer.
//!
//! * `custom` — our own contract (`GET {url}?uniqueId=…`, JSON `signedUrl`).
//! * `euler` — Euler Stream's `GET {base}/webcast/fetch` (the bootstrap TikTok-Live-Connector
//!   v2 uses, protocol §1.1 flow A and §1.6): a protobuf fetch result whose `push_server`
//!   and `route_params` make the socket URL, cookies in the `x-set-tt-cookie` header.
//! * `tiktool` — TikTool's `POST {base}/webcast/ws_credentials?apiKey=…` with
//!   `{"unique_id"}`, answering `{"status_code":0,"data":{"ws_url","cookies","room_id",…}}`.
//!
//! Every service's refusals reach the session the same way ([`refused`]): not live is
//! 4404, a refused key 4500, a rate limit 4429 (with the service's `Retry-After` as a
//! hint), anything else 1006 (retried with backoff). The API key is sent and never
//! shown: messages name the service and the HTTP status, never a URL or a body.

use std::sync::Arc;
use std::time::Duration;

use super::http_client;
use super::rest::{fetch_user, WebApi};
use crate::driver::{with_query, Info};

/// The user agent sent to TikTok when the sign server names none.
pub(crate) const DEFAULT_UA: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

/// The sign-service client: our own contract (documented in docs/relay.md) or one of
/// the public services' (`sign.rs`). Ours:
/// `GET {url}?uniqueId=NAME[&roomId=ID][&cursor=C]` with `x-api-key: KEY` →
/// `{"signedUrl", "cookies"?, "userAgent"?, "roomId"?, "isLive"?, "roomInfo"?}`;
/// 404 or `isLive: false` means the creator is not live.
#[derive(Clone)]
pub(crate) struct Signer {
    pub(crate) service: Service,
    /// Our contract's endpoint, or the public service's base URL.
    pub(crate) url: String,
    pub(crate) api_key: Option<String>,
    /// `euler`: the web API that finds a creator's live room before Euler is asked.
    pub(crate) room_lookup: Option<Arc<WebApi>>,
}

pub(crate) struct Signed {
    pub(crate) socket_url: String,
    pub(crate) cookies: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) room_id: u64,
    pub(crate) info: Info,
}

impl Signer {
    /// Asks for a signed socket URL. `Err` carries the close code the session should see
    /// (the same classes for every service, see [`refused`]): 4404 when the
    /// creator is not live, 4500 for a refused key, 4429 when rate limited, 1006 for
    /// anything transient.
    pub(crate) async fn sign(
        &self,
        unique_id: &str,
        room_id: Option<u64>,
        cursor: &str,
    ) -> Result<Signed, (u16, String)> {
        let key = self.api_key.as_deref().unwrap_or("");
        match self.service {
            Service::Custom => self.sign_custom(unique_id, room_id, cursor).await,
            Service::Euler => {
                let room_id = match room_id.filter(|&id| id != 0) {
                    Some(id) => Some(id),
                    None => self.live_room(unique_id).await?,
                };
                euler(&self.url, key, unique_id, room_id, cursor).await
            }
            Service::TikTool => tiktool(&self.url, key, unique_id).await,
        }
    }

    /// The creator's live room from the upstream's web API, found before Euler is asked
    /// for a room the relay has no id for yet (as TikTok-Live-Connector does: Euler's own
    /// `unique_id` lookup is for its enterprise keys). Not live, or no such creator, is
    /// 4404 without asking Euler; a lookup that fails leaves the question to Euler.
    async fn live_room(&self, unique_id: &str) -> Result<Option<u64>, (u16, String)> {
        let Some(web) = &self.room_lookup else {
            return Ok(None);
        };
        match fetch_user(web, unique_id).await {
            Ok(Some(user)) => match user.room_id.and_then(|r| r.parse::<u64>().ok()) {
                Some(id) => Ok(Some(id)),
                None => Err((4404, "web api: creator not live".into())),
            },
            Ok(None) => Err((4404, "web api: no creator with that handle".into())),
            Err(_) => Ok(None),
        }
    }

    async fn sign_custom(
        &self,
        unique_id: &str,
        room_id: Option<u64>,
        cursor: &str,
    ) -> Result<Signed, (u16, String)> {
        let mut q = vec![("uniqueId", unique_id.to_string())];
        if let Some(id) = room_id.filter(|&id| id != 0) {
            q.push(("roomId", id.to_string()));
        }
        if !cursor.is_empty() {
            q.push(("cursor", cursor.to_string()));
        }
        let url = with_query(&self.url, &q);
        let mut headers = Vec::new();
        if let Some(k) = &self.api_key {
            headers.push(("x-api-key", k.as_str()));
        }
        let resp = http_client::get(&url, &headers, Duration::from_secs(10))
            .await
            .map_err(|e| (1006, format!("sign server: {e}")))?;
        if resp.status != 200 {
            return Err(refused(
                Service::Custom,
                resp.status,
                resp.header("retry-after"),
            ));
        }
        let v: serde_json::Value = serde_json::from_slice(&resp.body)
            .map_err(|_| (1006, "sign server: answer is not JSON".to_string()))?;
        parse_signed(&v, unique_id)
    }
}

fn parse_signed(v: &serde_json::Value, unique_id: &str) -> Result<Signed, (u16, String)> {
    if v.get("isLive").and_then(|l| l.as_bool()) == Some(false) {
        return Err((4404, "sign server: creator not live".into()));
    }
    let socket_url = v
        .get("signedUrl")
        .and_then(|s| s.as_str())
        .filter(|s| s.starts_with("ws://") || s.starts_with("wss://"))
        .ok_or((1006, "sign server: no ws(s):// signedUrl".to_string()))?
        .to_string();
    let id_of = |x: &serde_json::Value| match x {
        serde_json::Value::String(s) => s.parse::<u64>().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    };
    let room_id = v
        .get("roomId")
        .and_then(id_of)
        .or_else(|| {
            let q = socket_url.split_once('?')?.1;
            q.split('&')
                .find_map(|p| p.strip_prefix("room_id="))
                .and_then(|s| s.parse().ok())
        })
        .filter(|&id| id != 0)
        .ok_or((1006, "sign server: no roomId".to_string()))?;
    let info = match v.get("roomInfo") {
        Some(serde_json::Value::Object(m)) => m.clone(),
        _ => Info::new(),
    };
    let info = room_info(info, room_id, unique_id);
    let text = |k: &str| v.get(k).and_then(|s| s.as_str()).map(String::from);
    Ok(Signed {
        socket_url,
        cookies: text("cookies"),
        user_agent: text("userAgent"),
        room_id,
        info,
    })
}

/// How long one request to a sign service may take.
const SIGN_TIMEOUT: Duration = Duration::from_secs(10);

/// What a sign service is asked as `client` (Euler counts requests per client library).
const CLIENT_NAME: &str = "tikcast";

/// Which sign service contract the `tiktok` upstream speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    /// Our own contract (docs/relay.md).
    Custom,
    /// Euler Stream's `/webcast/fetch`.
    Euler,
    /// TikTool's `/webcast/ws_credentials`.
    TikTool,
}

impl Service {
    /// Reads `--signer` (or `sign.signer`).
    pub(crate) fn parse(name: &str) -> Result<Service, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "custom" => Ok(Service::Custom),
            "euler" => Ok(Service::Euler),
            "tiktool" => Ok(Service::TikTool),
            _ => Err(format!(
                "unknown signer {:?}: use --signer custom (our sign-server contract), euler or tiktool",
                name.chars().take(32).collect::<String>()
            )),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Service::Custom => "custom",
            Service::Euler => "euler",
            Service::TikTool => "tiktool",
        }
    }

    /// The public service's base URL (`--signer-url` overrides it); `custom` has none.
    pub(crate) fn default_url(self) -> Option<&'static str> {
        match self {
            Service::Custom => None,
            Service::Euler => Some("https://api.eulerstream.com"),
            Service::TikTool => Some("https://api.tik.tools"),
        }
    }

    /// How its messages name it.
    fn label(self) -> &'static str {
        match self {
            Service::Custom => "sign server",
            Service::Euler => "euler sign service",
            Service::TikTool => "tiktool sign service",
        }
    }
}

/// A sign service's refusal as the close the session sees, the same for every service:
/// 404 not live (4404, waiting), 401/402/403 the key or its plan (4500), 429 rate
/// limited (4429, throttled; `retry_after` seconds become the session's hint), anything
/// else transient (1006).
pub(crate) fn refused(service: Service, status: u16, retry_after: Option<&str>) -> (u16, String) {
    let who = service.label();
    match status {
        404 => (4404, format!("{who}: creator not live")),
        401 | 403 => (
            4500,
            format!("{who} refused the relay's api key (http {status})"),
        ),
        402 => (
            4500,
            format!("{who}: the api key's plan does not include this (http 402)"),
        ),
        429 => {
            let hint = retry_after
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(|s| format!(", retry-after {s}"))
                .unwrap_or_default();
            (4429, format!("{who}: rate limited (http 429{hint})"))
        }
        s => (1006, format!("{who} answered http {s}")),
    }
}

/// A room id given as a JSON string or number.
fn id_of(v: &serde_json::Value) -> Option<u64> {
    match v {
        serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    }
    .filter(|&id| id != 0)
}

/// The `room_id` query parameter of a socket URL.
fn room_in_url(url: &str) -> Option<u64> {
    url.split_once('?')?
        .1
        .split('&')
        .find_map(|p| p.strip_prefix("room_id="))
        .and_then(|s| s.parse().ok())
        .filter(|&id| id != 0)
}

/// The room description every signer hands the room: the service's own fields plus ours.
pub(crate) fn room_info(mut info: Info, room_id: u64, unique_id: &str) -> Info {
    info.insert("type".into(), "roomInfo".into());
    info.insert("roomId".into(), room_id.to_string().into());
    info.insert("uniqueId".into(), unique_id.into());
    info.insert("isLive".into(), true.into());
    info
}

fn is_socket_url(s: &str) -> bool {
    s.starts_with("ws://") || s.starts_with("wss://")
}

// ------------------------------------------------------------------------------ tiktool

/// Asks TikTool's `ws_credentials` for a signed socket URL.
pub(crate) async fn tiktool(
    base: &str,
    key: &str,
    unique_id: &str,
) -> Result<Signed, (u16, String)> {
    let url = with_query(
        &format!("{}/webcast/ws_credentials", base.trim_end_matches('/')),
        &[("apiKey", key.to_string())],
    );
    let body = serde_json::json!({ "unique_id": unique_id }).to_string();
    let resp = http_client::post(&url, &[], "application/json", body.as_bytes(), SIGN_TIMEOUT)
        .await
        .map_err(|e| (1006, format!("tiktool sign service: {e}")))?;
    if resp.status != 200 {
        return Err(refused(
            Service::TikTool,
            resp.status,
            resp.header("retry-after"),
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&resp.body)
        .map_err(|_| (1006, "tiktool sign service: answer is not json".to_string()))?;
    tiktool_signed(&v, unique_id)
}

/// Reads a `ws_credentials` answer.
fn tiktool_signed(v: &serde_json::Value, unique_id: &str) -> Result<Signed, (u16, String)> {
    let code = v.get("status_code").and_then(|c| c.as_i64());
    if code != Some(0) {
        // An error in the body: an HTTP-like code is classed as that status would be.
        if let Some(status) = code.and_then(|c| u16::try_from(c).ok()) {
            if (400..600).contains(&status) {
                return Err(refused(Service::TikTool, status, None));
            }
        }
        let message = v
            .get("message")
            .or_else(|| v.get("error"))
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if message.contains("not live") || message.contains("not_live") {
            return Err((4404, "tiktool sign service: creator not live".into()));
        }
        return Err((
            1006,
            format!(
                "tiktool sign service: answered status_code {}",
                code.map(|c| c.to_string())
                    .unwrap_or_else(|| "(none)".into())
            ),
        ));
    }
    let data = v
        .get("data")
        .filter(|d| d.is_object())
        .ok_or((1006, "tiktool sign service: answer has no data".to_string()))?;
    let text = |k: &str| {
        data.get(k)
            .and_then(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let socket_url = text("ws_url")
        .filter(|s| is_socket_url(s))
        .ok_or((1006, "tiktool sign service: no ws(s):// ws_url".to_string()))?;
    let room_id = data
        .get("room_id")
        .and_then(id_of)
        .or_else(|| room_in_url(&socket_url))
        .ok_or((1006, "tiktool sign service: no room_id".to_string()))?;
    let mut info = Info::new();
    if let Some(region) = text("cluster_region") {
        info.insert("clusterRegion".into(), region.into());
    }
    Ok(Signed {
        socket_url,
        cookies: text("cookies"),
        user_agent: text("user_agent"),
        room_id,
        info: room_info(info, room_id, unique_id),
    })
}

// ------------------------------------------------------------------------------ euler

/// Socket query parameters a web client sends (protocol §1.3), before the fetch result's
/// `route_params` and the room's own (`room_id`, `cursor`, `internal_ext`).
const WEB_CLIENT_PARAMS: &[(&str, &str)] = &[
    ("aid", "1988"),
    ("app_name", "tiktok_web"),
    ("app_language", "en"),
    ("webcast_language", "en"),
    ("browser_language", "en-US"),
    ("browser_platform", "Win32"),
    ("browser_name", "Mozilla"),
    ("browser_online", "true"),
    ("cookie_enabled", "true"),
    ("tz_name", "Etc/UTC"),
    ("device_platform", "web"),
    ("screen_width", "1920"),
    ("screen_height", "1080"),
    ("identity", "audience"),
    ("live_id", "12"),
    ("version_code", "180800"),
    ("update_version_code", "2.0.0"),
    ("sup_ws_ds_opt", "1"),
    ("did_rule", "3"),
    ("client_enter", "1"),
    ("heartbeat_duration", "0"),
    ("resp_content_type", "protobuf"),
    ("history_comment_count", "6"),
];

/// Asks Euler's `/webcast/fetch` for the room's first fetch result and cookies.
pub(crate) async fn euler(
    base: &str,
    key: &str,
    unique_id: &str,
    room_id: Option<u64>,
    cursor: &str,
) -> Result<Signed, (u16, String)> {
    let mut q = vec![
        ("client", CLIENT_NAME.to_string()),
        ("unique_id", unique_id.to_string()),
    ];
    if let Some(id) = room_id.filter(|&id| id != 0) {
        q.push(("room_id", id.to_string()));
    }
    if !cursor.is_empty() {
        q.push(("cursor", cursor.to_string()));
    }
    // The socket is opened with this user agent, so the cookies must be fetched with it.
    q.push(("user_agent", DEFAULT_UA.to_string()));
    let url = with_query(&format!("{}/webcast/fetch", base.trim_end_matches('/')), &q);
    let resp = http_client::get(&url, &[("x-api-key", key)], SIGN_TIMEOUT)
        .await
        .map_err(|e| (1006, format!("euler sign service: {e}")))?;
    if resp.status != 200 {
        return Err(refused(
            Service::Euler,
            resp.status,
            resp.header("retry-after"),
        ));
    }
    euler_signed(
        &resp.body,
        resp.header("x-set-tt-cookie"),
        resp.header("x-room-id"),
        room_id,
        unique_id,
    )
}

/// Builds the socket URL from a `/webcast/fetch` answer: its `push_server`, the web
/// client's parameters, its `route_params`, then the room id, cursor and `internal_ext`.
fn euler_signed(
    body: &[u8],
    cookies: Option<&str>,
    room_header: Option<&str>,
    known_room: Option<u64>,
    unique_id: &str,
) -> Result<Signed, (u16, String)> {
    let batch = tikcast_core::decode_batch(body).map_err(|e| {
        (
            1006,
            format!(
                "euler sign service: answer is not a fetch result ({})",
                e.code()
            ),
        )
    })?;
    if !is_socket_url(&batch.push_server) {
        return Err((
            1006,
            "euler sign service: the fetch result offers no ws(s):// push server".into(),
        ));
    }
    let cookies = cookies.filter(|c| !c.is_empty()).ok_or((
        1006,
        "euler sign service: no x-set-tt-cookie header in the answer".to_string(),
    ))?;
    let pushed_room = batch.internal_ext.split('|').find_map(|kv| {
        kv.strip_prefix("wss_push_room_id:")
            .and_then(|id| id.parse::<u64>().ok())
    });
    let room_id = room_header
        .and_then(|h| h.trim().parse::<u64>().ok())
        .or(pushed_room)
        .or(known_room)
        .filter(|&id| id != 0)
        .ok_or((
            1006,
            "euler sign service: the answer names no room (no x-room-id header)".to_string(),
        ))?;
    let browser_version = DEFAULT_UA.strip_prefix("Mozilla/").unwrap_or(DEFAULT_UA);
    let mut q: Vec<(&str, String)> = WEB_CLIENT_PARAMS
        .iter()
        .map(|(k, v)| (*k, v.to_string()))
        .collect();
    q.push(("browser_version", browser_version.to_string()));
    for (k, v) in &batch.route_params {
        if !k.is_empty() && !v.is_empty() {
            q.push((k.as_str(), v.clone()));
        }
    }
    q.push(("room_id", room_id.to_string()));
    q.push(("compress", "gzip".to_string()));
    if !batch.cursor.is_empty() {
        q.push(("cursor", batch.cursor.clone()));
    }
    if !batch.internal_ext.is_empty() {
        q.push(("internal_ext", batch.internal_ext.clone()));
    }
    Ok(Signed {
        socket_url: with_query(&batch.push_server, &q),
        cookies: Some(cookies.to_string()),
        user_agent: Some(DEFAULT_UA.to_string()),
        room_id,
        info: room_info(Info::new(), room_id, unique_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn sign_answers() {
        let v = serde_json::json!({
            "signedUrl": "wss://x/webcast/im/ws?room_id=42&a=b",
            "cookies": "ttwid=1",
            "roomInfo": {"title": "t"}
        });
        let s = parse_signed(&v, "ada").unwrap();
        assert_eq!(s.room_id, 42);
        assert_eq!(s.info["title"], "t");
        assert_eq!(s.cookies.as_deref(), Some("ttwid=1"));
        assert_eq!(
            parse_signed(&serde_json::json!({"isLive": false}), "a")
                .err()
                .unwrap()
                .0,
            4404
        );
        assert!(parse_signed(&serde_json::json!({"signedUrl": "https://x"}), "a").is_err());
    }

    #[test]
    fn signer_names() {
        assert_eq!(Service::parse("TikTool"), Ok(Service::TikTool));
        assert_eq!(Service::parse("euler"), Ok(Service::Euler));
        assert_eq!(Service::parse("custom"), Ok(Service::Custom));
        let e = Service::parse("eulerstream").unwrap_err();
        assert!(e.starts_with("unknown signer \"eulerstream\": use"), "{e}");
    }

    #[test]
    fn refusals_share_the_session_classes() {
        for s in [Service::Custom, Service::Euler, Service::TikTool] {
            assert_eq!(refused(s, 404, None).0, 4404);
            assert_eq!(refused(s, 401, None).0, 4500);
            assert_eq!(refused(s, 403, None).0, 4500);
            assert_eq!(refused(s, 402, None).0, 4500);
            assert_eq!(refused(s, 500, None).0, 1006);
            let (code, reason) = refused(s, 429, Some("120"));
            assert_eq!(code, 4429);
            // The session reads the hint from the reason.
            assert_eq!(
                tikcast_core::session::retry_after_ms(&reason),
                Some(120_000)
            );
            assert_eq!(refused(s, 429, Some("soon")).0, 4429);
        }
        // Our own contract keeps its messages.
        assert_eq!(
            refused(Service::Custom, 404, None).1,
            "sign server: creator not live"
        );
    }

    #[test]
    fn tiktool_answers() {
        let v = serde_json::json!({"status_code": 0, "data": {
            "ws_url": "wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/ws_reuse_supplement/?room_id=7&X-Bogus=x",
            "cookies": "ttwid=1", "room_id": "42", "ws_host": "webcast-ws.tiktok.com",
            "cluster_region": "US_TTP"}});
        let s = tiktool_signed(&v, "ada").unwrap();
        assert_eq!(s.room_id, 42);
        assert_eq!(s.cookies.as_deref(), Some("ttwid=1"));
        assert_eq!(s.user_agent, None);
        assert_eq!(s.info["clusterRegion"], "US_TTP");
        assert_eq!(s.info["uniqueId"], "ada");
        assert_eq!(s.info["roomId"], "42");
        // The room id falls back to the URL's.
        let mut v2 = v.clone();
        v2["data"].as_object_mut().unwrap().remove("room_id");
        assert_eq!(tiktool_signed(&v2, "ada").unwrap().room_id, 7);
        // Errors in the body.
        let e = |v: serde_json::Value| tiktool_signed(&v, "a").err().unwrap().0;
        assert_eq!(e(serde_json::json!({"status_code": 401})), 4500);
        assert_eq!(e(serde_json::json!({"status_code": 429})), 4429);
        assert_eq!(e(serde_json::json!({"status_code": 404})), 4404);
        assert_eq!(
            e(serde_json::json!({"status_code": 1, "message": "User is not live"})),
            4404
        );
        assert_eq!(e(serde_json::json!({"status_code": 7})), 1006);
        assert_eq!(e(serde_json::json!({"data": {}})), 1006);
        assert_eq!(
            e(
                serde_json::json!({"status_code": 0, "data": {"ws_url": "https://x", "room_id": "1"}})
            ),
            1006
        );
    }

    fn fetch_result() -> Vec<u8> {
        tikcast_core::pb::FetchResult {
            push_server: "wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/ws_reuse_supplement/"
                .into(),
            route_params: [("wrss".to_string(), "w r".to_string())]
                .into_iter()
                .collect(),
            cursor: "t-1_r-1".into(),
            internal_ext: "internal_src:pushserver|wss_push_room_id:43|wss_msg_type:r".into(),
            fetch_type: 1,
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn euler_answers() {
        let body = fetch_result();
        let s = euler_signed(
            &body,
            Some("ttwid=2; tt-target-idc=x"),
            Some("42"),
            None,
            "ada",
        )
        .unwrap();
        assert_eq!(s.room_id, 42);
        assert_eq!(s.cookies.as_deref(), Some("ttwid=2; tt-target-idc=x"));
        assert_eq!(s.user_agent.as_deref(), Some(DEFAULT_UA));
        let (path, query) = s.socket_url.split_once('?').unwrap();
        assert_eq!(
            path,
            "wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/ws_reuse_supplement/"
        );
        let pairs: Vec<&str> = query.split('&').collect();
        for want in [
            "wrss=w%20r",
            "room_id=42",
            "compress=gzip",
            "cursor=t-1_r-1",
            "aid=1988",
            "client_enter=1",
        ] {
            assert!(pairs.contains(&want), "{want} not in {query}");
        }
        assert!(query.contains("internal_ext=internal_src"), "{query}");
        // Without the header, the room comes from internal_ext, then the known one.
        assert_eq!(
            euler_signed(&body, Some("c=1"), None, Some(9), "ada")
                .unwrap()
                .room_id,
            43
        );
        let bare = tikcast_core::pb::FetchResult {
            push_server: "wss://h/ws".into(),
            ..Default::default()
        }
        .encode_to_vec();
        assert_eq!(
            euler_signed(&bare, Some("c=1"), None, Some(9), "ada")
                .unwrap()
                .room_id,
            9
        );
        let e = |body: &[u8], cookies: Option<&str>, room: Option<&str>| {
            euler_signed(body, cookies, room, None, "ada")
                .err()
                .unwrap()
                .0
        };
        assert_eq!(e(&bare, Some("c=1"), None), 1006);
        assert_eq!(e(&body, None, Some("42")), 1006);
        assert_eq!(e(b"\xff\xff\xff", Some("c=1"), Some("42")), 1006);
        let no_server = tikcast_core::pb::FetchResult::default().encode_to_vec();
        assert_eq!(e(&no_server, Some("c=1"), Some("42")), 1006);
    }
}
