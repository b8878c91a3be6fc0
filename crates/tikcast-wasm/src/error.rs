//! Every error that reaches JS: an `Error` named `TikcastError` with a stable `code`
//! (and `retryAfterMs` where the server gave one). Messages are lowercase and say what
//! was wrong and what to do; they never contain a credential.

use wasm_bindgen::JsValue;

use crate::js;

/// An `Error` with `name = "TikcastError"` and `code`.
pub fn error(code: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    e.set_name("TikcastError");
    js::set(&e, "code", &code.into());
    e.into()
}

/// A frame that could not be decoded; `detail` is the decoder's own code (`gzip`, ...).
pub fn decode_failed(e: &tikcast_core::DecodeError) -> JsValue {
    let err = error("decode_failed", &format!("cannot decode frame: {e}"));
    js::set(&err, "detail", &e.code().into());
    err
}

/// Bad options passed to `new Engine(...)` (through the npm package's socket driver).
pub fn invalid_options(message: &str) -> JsValue {
    error("invalid_options", message)
}
