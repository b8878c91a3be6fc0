//! Rust values to JS values and back (reading options objects).

use std::cell::RefCell;

use js_sys::{Array, Function, Object, Reflect};
use serde::Serialize;
use tikcast_core::Event;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::tape::Tape;

/// The serializer for everything but events (state, stats; events go through
/// [`crate::tape`]): plain objects (not `Map`s), `null` for absent values, as `JSON.parse`
/// of the canonical JSON would give.
const SERIALIZER: serde_wasm_bindgen::Serializer =
    serde_wasm_bindgen::Serializer::json_compatible();

pub fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

pub fn get(source: &JsValue, key: &str) -> JsValue {
    Reflect::get(source, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&SERIALIZER)
        .map_err(|e| crate::error::error("internal", &format!("cannot convert to js: {e}")))
}

#[wasm_bindgen(module = "/src/tape.js")]
extern "C" {
    /// Appends the tape's events to `out` as objects (see `tape.js`).
    #[wasm_bindgen(js_name = readTape, catch)]
    fn read_tape(
        ops: &[u32],
        nums: &[f64],
        events: &[u32],
        text: &[u8],
        key_text: &str,
        keys: &[u32],
        out: &Array,
    ) -> Result<JsValue, JsValue>;
}

thread_local! {
    /// Reused by every batch, so a steady stream allocates nothing for the tape.
    static TAPE: RefCell<Tape> = RefCell::default();
}

/// A batch tape above this size gives its memory back after use.
const KEEP_TAPE_BYTES: usize = 1 << 20;

/// Appends one object per event to `out`: the canonical event objects (docs/events.md),
/// built in one pass (see [`crate::tape`]). An event the model cannot serialize is left
/// out, as before.
pub fn events_into(events: &[Event], out: &Array) -> Result<(), JsValue> {
    if events.is_empty() {
        return Ok(());
    }
    TAPE.with(|cell| {
        // Never re-entered (reading the tape does not call back into wasm); a fresh tape
        // keeps this correct even if it were.
        let mut fresh = Tape::default();
        let mut guard = cell.try_borrow_mut();
        let tape = match guard.as_deref_mut() {
            Ok(t) => t,
            Err(_) => &mut fresh,
        };
        tape.clear();
        for e in events {
            let _ = tape.push(e);
        }
        let result = read_tape(
            &tape.ops,
            &tape.nums,
            &tape.events,
            tape.text.as_bytes(),
            &tape.key_text,
            &tape.keys,
            out,
        );
        if tape.capacity_bytes() > KEEP_TAPE_BYTES {
            *tape = Tape::default();
        } else {
            tape.clear();
        }
        result.map(drop).map_err(|e| {
            crate::error::error(
                "internal",
                &format!("cannot build event objects: {}", describe(&e)),
            )
        })
    })
}

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

pub fn events(events: &[Event]) -> Result<JsValue, JsValue> {
    let out = Array::new();
    events_into(events, &out)?;
    Ok(out.into())
}

pub fn object() -> Object {
    Object::new()
}

/// Reads an optional string option.
pub fn opt_string(o: &JsValue, key: &str) -> Option<String> {
    get(o, key).as_string()
}

/// Reads an optional non-negative integer option (a number or a decimal string).
pub fn opt_u64(o: &JsValue, key: &str) -> Result<Option<u64>, JsValue> {
    let v = get(o, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    if let Some(s) = v.as_string() {
        return s.parse().map(Some).map_err(|_| {
            crate::error::invalid_options(&format!(
                "{key} must be a non-negative integer, got {s:?}"
            ))
        });
    }
    match v.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => {
            Ok(Some(n as u64))
        }
        _ => Err(crate::error::invalid_options(&format!(
            "{key} must be a non-negative integer"
        ))),
    }
}

pub fn opt_bool(o: &JsValue, key: &str) -> Option<bool> {
    get(o, key).as_bool()
}

pub fn opt_fn(o: &JsValue, key: &str) -> Option<Function> {
    get(o, key).dyn_into::<Function>().ok()
}
