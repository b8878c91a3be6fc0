//! The relay's HTTP helpers (`GET /api/gifts`, `GET /api/rooms/NAME`, docs/relay.md) over
//! `fetch`, through gloo-net, so a page learns gift names and images and room details
//! from its relay and never calls a TikTok API itself.
//!
//! The relay's base URL is derived from its socket URL (`ws://` → `http://`, `wss://` →
//! `https://`, same host, a trailing `/ws` dropped); `http(s)://` base URLs are taken as
//! they are. A token goes in the `x-jwt-key` header (the relay allows it in CORS
//! preflights). Errors are `TikcastError`s with a stable `code` and the HTTP `status`
//! where there was one.

use gloo_net::http::Request;
use wasm_bindgen::prelude::*;

use crate::{error, js};

/// `{base}/api/{rest}` for a relay socket URL (or an http(s) base URL).
pub fn api_url(relay_url: &str, rest: &str) -> Result<String, String> {
    let url = relay_url.trim();
    let (scheme, tail) = if let Some(t) = url.strip_prefix("ws://") {
        ("http://", t)
    } else if let Some(t) = url.strip_prefix("wss://") {
        ("https://", t)
    } else if let Some(t) = url.strip_prefix("http://") {
        ("http://", t)
    } else if let Some(t) = url.strip_prefix("https://") {
        ("https://", t)
    } else {
        return Err(format!(
            "relay url must start with ws://, wss://, http:// or https://, got {url:?}"
        ));
    };
    let tail = tail.split(['?', '#']).next().unwrap_or("");
    let (host, path) = tail.split_at(tail.find('/').unwrap_or(tail.len()));
    if host.is_empty() {
        return Err(format!("relay url has no host: {url:?}"));
    }
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix("/ws").unwrap_or(path);
    Ok(format!("{scheme}{host}{path}/api/{rest}"))
}

/// Percent-encodes a path segment (RFC 3986 unreserved characters stay).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    tikcast_core::client::percent_encode_into(s, &mut out);
    out
}

/// GETs `url` and parses the JSON answer; maps failures to stable error codes.
async fn get_json(url: &str, jwt: Option<String>, what: &str) -> Result<JsValue, JsValue> {
    let mut req = Request::get(url).header("accept", "application/json");
    if let Some(token) = jwt.filter(|t| !t.is_empty()) {
        req = req.header("x-jwt-key", &token);
    }
    let resp = req.send().await.map_err(|e| {
        error::error(
            "network_error",
            &format!("cannot reach the relay for {what} at {url}: {e} (is it running, and does its --allow-origin include this page?)"),
        )
    })?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if !resp.ok() {
        // The relay answers {"error": code, "message": ...}; keep its message.
        let detail = js_sys::JSON::parse(&body)
            .ok()
            .and_then(|v| js::opt_string(&v, "message"))
            .unwrap_or_else(|| body.chars().take(200).collect());
        let code = match status {
            401 => "invalid_auth",
            403 => "no_permission",
            404 => "not_found",
            429 => "rate_limited",
            _ => "http_error",
        };
        let err = error::error(
            code,
            &format!("the relay answered {status} for {what}: {detail}"),
        );
        js::set(&err, "status", &JsValue::from(status));
        return Err(err);
    }
    js_sys::JSON::parse(&body).map_err(|_| {
        let err = error::error(
            "bad_response",
            &format!("the relay's answer for {what} is not JSON"),
        );
        js::set(&err, "status", &JsValue::from(status));
        err
    })
}

/// The relay's gift catalog (`GET /api/gifts`): resolves to
/// `[{ id, name, diamondCount, imageUrl }]`. Rejects with a `TikcastError`:
/// `invalid_options` (bad URL), `network_error`, `invalid_auth`, `no_permission`,
/// `not_found` (no catalog), `rate_limited`, `http_error`, `bad_response`.
///
/// ```ts
/// const gifts = await fetchAvailableGifts('wss://relay.example/ws', jwt);
/// ```
#[wasm_bindgen(js_name = fetchAvailableGifts)]
pub async fn fetch_available_gifts(
    relay_url: String,
    jwt: Option<String>,
) -> Result<JsValue, JsValue> {
    let url = api_url(&relay_url, "gifts").map_err(|e| error::invalid_options(&e))?;
    let v = get_json(&url, jwt, "the gift list").await?;
    if !js_sys::Array::is_array(&v) {
        return Err(error::error(
            "bad_response",
            "the relay's gift list is not a JSON list",
        ));
    }
    Ok(v)
}

/// One room's details from the relay (`GET /api/rooms/NAME`): resolves to
/// `{ uniqueId, roomId, isLive, title, viewerCount, source }`. Rejects like
/// `fetchAvailableGifts`.
///
/// ```ts
/// const room = await fetchRoomInfo('wss://relay.example/ws', 'some.creator', jwt);
/// ```
#[wasm_bindgen(js_name = fetchRoomInfo)]
pub async fn fetch_room_info(
    relay_url: String,
    unique_id: String,
    jwt: Option<String>,
) -> Result<JsValue, JsValue> {
    let name = unique_id.trim().trim_start_matches('@');
    if name.is_empty() {
        return Err(error::invalid_options("fetchRoomInfo needs a uniqueId"));
    }
    let url = api_url(&relay_url, &format!("rooms/{}", encode_segment(name)))
        .map_err(|e| error::invalid_options(&e))?;
    let v = get_json(&url, jwt, "the room").await?;
    if !v.is_object() || js_sys::Array::is_array(&v) {
        return Err(error::error(
            "bad_response",
            "the relay's room answer is not a JSON object",
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls_follow_the_socket_url() {
        let u = |s: &str| api_url(s, "gifts").unwrap();
        assert_eq!(
            u("ws://127.0.0.1:8080/ws"),
            "http://127.0.0.1:8080/api/gifts"
        );
        assert_eq!(
            u("wss://relay.example/ws?uniqueId=a&jwtKey=b"),
            "https://relay.example/api/gifts"
        );
        assert_eq!(u("wss://relay.example"), "https://relay.example/api/gifts");
        assert_eq!(
            u("wss://x.example/relay/ws/"),
            "https://x.example/relay/api/gifts"
        );
        assert_eq!(u("http://h:1/"), "http://h:1/api/gifts");
        assert!(api_url("ftp://h", "gifts").is_err());
        assert!(api_url("ws:///ws", "gifts").is_err());
        assert_eq!(encode_segment("a.b_c-~/ é"), "a.b_c-~%2F%20%C3%A9");
    }
}
