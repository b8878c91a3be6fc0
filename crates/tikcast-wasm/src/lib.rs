//! # tikcast-wasm
//!
//! The browser side of `tikcast-core`: the core's sans-IO `Session` as [`Engine`], and the
//! decoder, writing events straight into JS objects (the [`tape`]). The npm package's
//! socket driver (`js/src/socket-driver.ts`) owns what the core must not know about: a
//! WebSocket (the browser's, or any constructor with the same shape passed in, such as
//! Node's `ws`), timers, the clock and the app's callbacks. Every protocol rule
//! (enter-room, heartbeats, acks, liveness, reconnects, dedup, gift streaks) is the core's
//! `Session`; the driver only feeds it and carries out what it asks.
//!
//! JS sees (the `tikcast` npm package wraps these in a typed facade):
//! - `new Engine(options)`: `start(now)`, `stop(now)`, `opened(conn, now)`,
//!   `frame(conn, bytes, now)`, `text(conn, text, now)`, `closed(conn, code, reason, now)`,
//!   `timeout(now)`, `deadline()`, `poll(batch)`, `currentConn()`, `isStopped()`,
//!   `setWantedEvents(names | null)`, `stats()`, `cursor()`;
//! - `decodeFrame(bytes)`, `decodeMessage(method, bytes)`;
//! - `version()`, `buildInfo()`.
//!
//! Errors thrown to JS are `Error` objects named `TikcastError` with a stable `code`
//! (see [`error`]).

mod engine;
pub mod error;
mod js;
pub mod tape;

use wasm_bindgen::prelude::*;

pub use engine::Engine;

/// The package version, e.g. `"0.1.0"`.
#[wasm_bindgen]
pub fn version() -> String {
    tikcast_core::VERSION.to_string()
}

/// `{ version, coreVersion, gitSha }` of this build (`gitSha` is empty outside a checkout).
#[wasm_bindgen(js_name = buildInfo)]
pub fn build_info() -> JsValue {
    let o = js_sys::Object::new();
    js::set(&o, "version", &env!("CARGO_PKG_VERSION").into());
    js::set(&o, "coreVersion", &tikcast_core::VERSION.into());
    js::set(&o, "gitSha", &env!("TIKCAST_GIT_SHA").into());
    o.into()
}

/// Decodes one push frame (gzip or plain): `{ payloadType, seqId, logId, cursor,
/// internalExt, needAck, heartbeatDuration, nowMs, isFirst, events }`, where `events`
/// are the canonical event objects (docs/events.md). Throws a `TikcastError` with code
/// `decode_failed` when the frame itself is malformed; a bad message inside becomes a
/// `decodeError` event instead.
///
/// ```ts
/// const { events } = decodeFrame(new Uint8Array(await blob.arrayBuffer()));
/// ```
#[wasm_bindgen(js_name = decodeFrame)]
pub fn decode_frame(bytes: &[u8]) -> Result<JsValue, JsValue> {
    // Decoder v2: the schema reader writes the events straight into the batch tape.
    let events = js_sys::Array::new();
    let opts = tikcast_core::DecodeOptions::default();
    let d = tape::with_tape(&events, &JsValue::UNDEFINED, |t| {
        tikcast_core::write_frame(bytes, &opts, |_, _| true, t)
    })?
    .map_err(|e| error::decode_failed(&e))?;
    // The five strings in one text, so JS decodes one string for them all.
    let (seq_id, log_id) = (d.seq_id.to_string(), d.log_id.to_string());
    let parts = [
        d.payload_type.as_str(),
        &seq_id,
        &log_id,
        &d.cursor,
        &d.internal_ext,
    ];
    let mut text = String::new();
    let mut ends = [0u32; 5];
    let mut units = 0;
    for (part, end) in parts.iter().zip(ends.iter_mut()) {
        text.push_str(part);
        units += tape::utf16_len(part.as_bytes());
        *end = units;
    }
    Ok(tape::frame_result(
        &text,
        &ends,
        d.need_ack,
        d.heartbeat_duration as f64,
        d.now_ms as f64,
        d.is_first,
        &events,
    ))
}

/// Decodes one message payload of `method` (e.g. `WebcastChatMessage`) into its events.
/// Never throws: an unknown method gives an `unknown` event, a malformed payload a
/// `decodeError` event.
#[wasm_bindgen(js_name = decodeMessage)]
pub fn decode_message(method: &str, bytes: &[u8]) -> Result<JsValue, JsValue> {
    let events = js_sys::Array::new();
    tape::with_tape(&events, &JsValue::UNDEFINED, |t| {
        tikcast_core::write_message(method, bytes, tikcast_core::EnvelopeInfo::default(), t)
    })?;
    Ok(events.into())
}
