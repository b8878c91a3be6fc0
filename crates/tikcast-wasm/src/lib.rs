//! # tikcast-wasm
//!
//! The browser driver of `tikcast-core`. It owns what the core must not know about: a
//! WebSocket (`web_sys::WebSocket`, or any constructor with the same shape passed in,
//! such as Node's `ws`), timers (`setTimeout`), the clock and JS values. Every protocol
//! rule (enter-room, heartbeats, acks, liveness, reconnects, dedup, gift streaks) is the
//! core's `Session`; this crate only feeds it and carries out what it asks.
//!
//! JS sees (the `tikcast` npm package wraps these in a typed facade):
//! - `new Connection(options, onBatch)`: `start()`, `stop()`, `pushFrame(bytes)`,
//!   `setWantedEvents(names | null)`, `stats()`, `cursor()`;
//! - `decodeFrame(bytes)`, `decodeMessage(method, bytes)`;
//! - `version()`, `buildInfo()`.
//!
//! ```ts
//! import init, { Connection } from './tikcast_wasm.js';
//! await init();
//! const c = new Connection({ transport: 'relay', url: 'wss://relay.example/ws', uniqueId: 'someone', jwt },
//!   (batch) => batch.forEach((e) => console.log(e.type, e)));
//! c.start();
//! ```
//!
//! Errors thrown to JS are `Error` objects named `TikcastError` with a stable `code`
//! (see [`error`]). Closures are owned by the connection and released by `stop()` or
//! when it is freed; nothing is leaked with `forget()`.

mod connection;
pub mod error;
mod js;
pub mod tape;

use wasm_bindgen::prelude::*;

pub use connection::Connection;

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
    let d = tape::with_tape(&events, |t| {
        tikcast_core::write_frame(bytes, &opts, |_, _| true, t)
    })?
    .map_err(|e| error::decode_failed(&e))?;
    let o = js_sys::Object::new();
    js::set(&o, "payloadType", &d.payload_type.as_str().into());
    js::set(&o, "seqId", &d.seq_id.to_string().into());
    js::set(&o, "logId", &d.log_id.to_string().into());
    js::set(&o, "cursor", &d.cursor.as_str().into());
    js::set(&o, "internalExt", &d.internal_ext.as_str().into());
    js::set(&o, "needAck", &d.need_ack.into());
    js::set(
        &o,
        "heartbeatDuration",
        &(d.heartbeat_duration as f64).into(),
    );
    js::set(&o, "nowMs", &(d.now_ms as f64).into());
    js::set(&o, "isFirst", &d.is_first.into());
    js::set(&o, "events", &events);
    Ok(o.into())
}

/// Decodes one message payload of `method` (e.g. `WebcastChatMessage`) into its events.
/// Never throws: an unknown method gives an `unknown` event, a malformed payload a
/// `decodeError` event.
#[wasm_bindgen(js_name = decodeMessage)]
pub fn decode_message(method: &str, bytes: &[u8]) -> Result<JsValue, JsValue> {
    let events = js_sys::Array::new();
    tape::with_tape(&events, |t| {
        tikcast_core::write_message(method, bytes, tikcast_core::EnvelopeInfo::default(), t)
    })?;
    Ok(events.into())
}
