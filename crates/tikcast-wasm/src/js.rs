//! Rust values to JS values and back (reading options objects).

use js_sys::{Function, Object, Reflect};
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

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
