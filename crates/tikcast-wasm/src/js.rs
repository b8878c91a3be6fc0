//! Rust values to JS values and back (reading options objects).
//!
//! The few non-event objects (state changes, stats) are built here by hand with
//! `Reflect.set` rather than through serde + serde-wasm-bindgen: dropping that pair took
//! 6,073 B raw / 2,650 B gzip off the shipped `.wasm` (opt-level "z", wasm-opt -Oz). The
//! shapes are the ones `serde` gives the core types (`JSON.parse` of their canonical
//! JSON): plain objects, camelCase keys, numbers for integers.

use js_sys::{Function, Object, Reflect};
use tikcast_core::session::{CloseClass, SessionStats, StateChange};
use wasm_bindgen::{JsCast, JsValue};

pub fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

pub fn get(source: &JsValue, key: &str) -> JsValue {
    Reflect::get(source, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn object() -> Object {
    Object::new()
}

/// `{ state, ...fields, type: 'state' }`: the core's `StateChange` as its serde JSON
/// (`tag = "state"`, camelCase names and fields) plus the batch item's `type`.
pub fn state_change(s: &StateChange) -> JsValue {
    let o = object();
    let state = |name: &str| set(&o, "state", &name.into());
    let num = |key: &str, n: f64| set(&o, key, &n.into());
    let text = |key: &str, t: &str| set(&o, key, &t.into());
    match s {
        StateChange::Connecting { attempt } => {
            state("connecting");
            num("attempt", f64::from(*attempt));
        }
        StateChange::Connected { attempt } => {
            state("connected");
            num("attempt", f64::from(*attempt));
        }
        StateChange::Reconnecting {
            attempt,
            delay_ms,
            class,
            reason,
        } => {
            state("reconnecting");
            num("attempt", f64::from(*attempt));
            num("delayMs", *delay_ms as f64);
            text("class", close_class(*class));
            text("reason", reason);
        }
        StateChange::Disconnected { code, reason } => {
            state("disconnected");
            num("code", f64::from(*code));
            text("reason", reason);
        }
        StateChange::StreamEnd => state("streamEnd"),
        StateChange::Error { code, message } => {
            state("error");
            text("code", code);
            text("message", message);
        }
    }
    text("type", "state");
    o.into()
}

/// `CloseClass` as serde names it (camelCase).
fn close_class(c: CloseClass) -> &'static str {
    match c {
        CloseClass::Terminal => "terminal",
        CloseClass::Waiting => "waiting",
        CloseClass::Throttled => "throttled",
        CloseClass::Transient => "transient",
    }
}

/// The core's `SessionStats` as its serde JSON: camelCase keys, every counter a number.
pub fn session_stats(s: &SessionStats) -> JsValue {
    // Destructured without `..`: a counter added to the core fails to compile here
    // until it has its key.
    let SessionStats {
        connects,
        frames,
        messages,
        duplicates,
        history_dropped,
        bad_frames,
        heartbeats_sent,
        acks_sent,
        skipped,
    } = *s;
    let o = object();
    let counters: [(&str, u64); 9] = [
        ("connects", u64::from(connects)),
        ("frames", frames),
        ("messages", messages),
        ("duplicates", duplicates),
        ("historyDropped", history_dropped),
        ("badFrames", bad_frames),
        ("heartbeatsSent", heartbeats_sent),
        ("acksSent", acks_sent),
        ("skipped", skipped),
    ];
    for (key, n) in counters {
        set(&o, key, &(n as f64).into());
    }
    o.into()
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
                "{key} must be a non-negative integer, got \"{}\"",
                s.chars().take(40).collect::<String>()
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

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn stringify(v: &JsValue) -> String {
        js_sys::JSON::stringify(v).unwrap().into()
    }

    /// The serde JSON of `value` with `extra` appended as its last keys.
    fn serde_json_with<T: serde::Serialize>(value: &T, extra: &str) -> String {
        let json = serde_json::to_string(value).unwrap();
        format!("{},{extra}}}", json.strip_suffix('}').unwrap())
    }

    #[wasm_bindgen_test]
    fn state_changes_are_their_serde_json_plus_type() {
        let states = [
            StateChange::Connecting { attempt: 0 },
            StateChange::Connected { attempt: 3 },
            StateChange::Reconnecting {
                attempt: 2,
                delay_ms: 1_500,
                class: CloseClass::Throttled,
                reason: "slow down é".into(),
            },
            StateChange::Reconnecting {
                attempt: 1,
                delay_ms: 0,
                class: CloseClass::Terminal,
                reason: String::new(),
            },
            StateChange::Reconnecting {
                attempt: 1,
                delay_ms: 7,
                class: CloseClass::Waiting,
                reason: "offline".into(),
            },
            StateChange::Reconnecting {
                attempt: 9,
                delay_ms: 30_000,
                class: CloseClass::Transient,
                reason: "1006".into(),
            },
            StateChange::Disconnected {
                code: 4404,
                reason: "not live".into(),
            },
            StateChange::StreamEnd,
            StateChange::Error {
                code: "gzip",
                message: "dropped a frame that did not decode: \"x\"".into(),
            },
        ];
        for s in &states {
            assert_eq!(
                stringify(&state_change(s)),
                serde_json_with(s, r#""type":"state""#),
                "{s:?}"
            );
        }
    }

    #[wasm_bindgen_test]
    fn stats_are_their_serde_json() {
        let s = SessionStats {
            connects: 1,
            frames: 2,
            messages: 3,
            duplicates: 4,
            history_dropped: 5,
            bad_frames: 6,
            heartbeats_sent: 7,
            acks_sent: 8,
            skipped: 9_007_199_254_740_991,
        };
        assert_eq!(
            stringify(&session_stats(&s)),
            serde_json::to_string(&s).unwrap()
        );
    }
}
