//! Event objects built in one pass with one boundary crossing per batch.
//!
//! Converting an event with `serde-wasm-bindgen` costs one call from wasm into JS per
//! field and one `TextDecoder` call per string: about 30 fields and 20 strings per event,
//! so most of the time of a decoded frame went into those crossings. Instead, the core's
//! schema reader writes every event of a batch (as a [`tikcast_core::Sink`]: the same
//! writer as the canonical JSON, so the objects are the ones `JSON.parse` of that JSON
//! gives) into a flat *tape* in wasm memory, and one JS function (`tape.js`) walks the
//! tape and builds the objects.
//!
//! The tape is four arrays:
//! - `ops` (u32): values in prefix order. A value is one of the `OP_*` codes below with
//!   its operands; inside an object every value is preceded by its key's index.
//! - `nums` (f64): numbers that are not small non-negative integers (`OP_NUM index`).
//! - `text`: the UTF-8 of every string. Each event has its own slice of it (`events`),
//!   decoded once, and its strings are UTF-16 ranges of that decoded text. A string kept
//!   by the application therefore keeps at most its own event's text alive, never the
//!   batch's.
//! - `events` (u32): per event, its first op and the byte range of its text.
//!
//! Object keys (field names) are interned per batch: `keys` holds UTF-16 ranges into a
//! separate key text, and JS creates each key string once per batch.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::hash::{BuildHasherDefault, Hasher};

use js_sys::Array;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/tape.js")]
extern "C" {
    /// Appends the tape's values to `out` as JS values (see `tape.js`).
    #[wasm_bindgen(js_name = readTape, catch)]
    fn read_tape(
        ops: &[u32],
        nums: &[f64],
        events: &[u32],
        text: &[u8],
        key_text: &str,
        keys: &[u32],
        out: &Array,
    ) -> std::result::Result<JsValue, JsValue>;
}

thread_local! {
    /// Reused by every batch, so a steady stream allocates nothing for the tape.
    static TAPE: RefCell<Tape> = RefCell::default();
}

/// A batch tape above this size gives its memory back after use.
const KEEP_TAPE_BYTES: usize = 1 << 20;

/// Runs `write` on the batch tape (emptied first; decoder v2 writes events into it as a
/// [`tikcast_core::Sink`]), then appends the tape's values to `out` as JS objects in one
/// crossing.
pub fn with_tape<R>(
    out: &Array,
    write: impl FnOnce(&mut Tape) -> R,
) -> std::result::Result<R, JsValue> {
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
        let r = write(tape);
        let result = if tape.is_empty() {
            Ok(JsValue::UNDEFINED)
        } else {
            read_tape(
                &tape.ops,
                &tape.nums,
                &tape.events,
                tape.text.as_bytes(),
                &tape.key_text,
                &tape.keys,
                out,
            )
        };
        if tape.capacity_bytes() > KEEP_TAPE_BYTES {
            *tape = Tape::default();
        } else {
            tape.clear();
        }
        result.map(|_| r).map_err(|e| {
            let why = e
                .dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .unwrap_or_else(|| "unknown error".into());
            crate::error::error("internal", &format!("cannot build event objects: {why}"))
        })
    })
}

// Opcodes. Object keys are indices below `OP_END`, so every value in key position that
// is not `OP_END` is a key.
pub const OP_END: u32 = 0xFFFF_FFF0;
pub const OP_NULL: u32 = 0xFFFF_FFF1;
pub const OP_FALSE: u32 = 0xFFFF_FFF2;
pub const OP_TRUE: u32 = 0xFFFF_FFF3;
/// `OP_STR start end`: UTF-16 range in the event's text.
pub const OP_STR: u32 = 0xFFFF_FFF4;
/// `OP_NUM index`: `nums[index]`.
pub const OP_NUM: u32 = 0xFFFF_FFF5;
/// `OP_INT value`: a non-negative integer below 2^32.
pub const OP_INT: u32 = 0xFFFF_FFF6;
/// `OP_OBJ (key value)* OP_END`.
pub const OP_OBJ: u32 = 0xFFFF_FFF7;
/// `OP_ARR value* OP_END`.
pub const OP_ARR: u32 = 0xFFFF_FFF8;
/// The empty string.
pub const OP_EMPTY: u32 = 0xFFFF_FFF9;

/// Stops a batch from growing without bound: key indices must stay below the opcodes.
const MAX_KEYS: usize = 0xFFFF_0000;

/// FNV-1a: field names are short, and the default SipHash costs more than the lookup.
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A batch of events being written. Reused from batch to batch (`clear` keeps capacity).
#[derive(Default)]
pub struct Tape {
    pub ops: Vec<u32>,
    pub nums: Vec<f64>,
    pub text: String,
    pub events: Vec<u32>,
    pub key_text: String,
    pub keys: Vec<u32>,
    key_index: HashMap<Box<str>, u32, BuildHasherDefault<Fnv>>,
    key_units: u32,
    /// Start of the current event's text (bytes) and its length so far in UTF-16 units.
    event_start: usize,
    units: u32,
    /// Where each event written as a `Sink` started: (size, ops, nums, text, events), so
    /// `truncate` can drop whole events.
    starts: Vec<(usize, usize, usize, usize, usize)>,
}

/// Why an event could not be written (then it is left out of the batch).
#[derive(Debug)]
pub struct TapeError(String);

impl fmt::Display for TapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TapeError {}

type Result<T = ()> = std::result::Result<T, TapeError>;

impl Tape {
    pub fn clear(&mut self) {
        self.ops.clear();
        self.nums.clear();
        self.text.clear();
        self.events.clear();
        self.key_text.clear();
        self.keys.clear();
        self.key_index.clear();
        self.key_units = 0;
        self.starts.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Bytes held by the buffers (to give a huge batch's memory back).
    pub fn capacity_bytes(&self) -> usize {
        self.ops.capacity() * 4
            + self.nums.capacity() * 8
            + self.text.capacity()
            + self.events.capacity() * 4
            + self.key_text.capacity()
            + self.keys.capacity() * 4
    }

    fn key(&mut self, name: &str) -> Result<u32> {
        if let Some(&k) = self.key_index.get(name) {
            return Ok(k);
        }
        let k = self.key_index.len();
        if k >= MAX_KEYS {
            return Err(TapeError("too many distinct keys in one batch".into()));
        }
        let start = self.key_units;
        self.key_text.push_str(name);
        self.key_units += utf16_len(name);
        self.keys.extend([start, self.key_units]);
        self.key_index.insert(name.into(), k as u32);
        Ok(k as u32)
    }

    fn string(&mut self, s: &str) {
        if s.is_empty() {
            self.ops.push(OP_EMPTY);
            return;
        }
        let start = self.units;
        self.text.push_str(s);
        self.units += utf16_len(s);
        self.ops.extend([OP_STR, start, self.units]);
    }

    fn number(&mut self, v: f64) {
        if (0.0..4_294_967_296.0).contains(&v) && v.fract() == 0.0 {
            self.ops.extend([OP_INT, v as u32]);
        } else {
            self.ops.extend([OP_NUM, self.nums.len() as u32]);
            self.nums.push(v);
        }
    }
}

fn utf16_len(s: &str) -> u32 {
    if s.is_ascii() {
        s.len() as u32
    } else {
        s.chars().map(|c| c.len_utf16() as u32).sum()
    }
}

/// Writes `Display` output straight into the event's text (no temporary `String`).
struct TextSink<'a>(&'a mut Tape);

impl fmt::Write for TextSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.text.push_str(s);
        self.0.units += utf16_len(s);
        Ok(())
    }
}

/// Decoder v2 writes events straight into the tape (no typed events, no serde).
impl tikcast_core::Sink for Tape {
    fn event_start(&mut self) {
        self.starts.push((
            tikcast_core::Sink::size(self),
            self.ops.len(),
            self.nums.len(),
            self.text.len(),
            self.events.len(),
        ));
        self.event_start = self.text.len();
        self.units = 0;
    }
    fn event_end(&mut self) {
        let ops = self.starts.last().map_or(0, |s| s.1);
        self.events
            .extend([ops as u32, self.event_start as u32, self.text.len() as u32]);
    }
    fn begin_object(&mut self) {
        self.ops.push(OP_OBJ);
    }
    fn end_object(&mut self) {
        self.ops.push(OP_END);
    }
    fn begin_array(&mut self) {
        self.ops.push(OP_ARR);
    }
    fn end_array(&mut self) {
        self.ops.push(OP_END);
    }
    fn key(&mut self, key: &'static str) {
        self.key_str(key);
    }
    fn key_str(&mut self, key: &str) {
        // Past MAX_KEYS distinct keys a batch stops naming new ones (never in practice:
        // the schema has a few hundred names; map keys are the only open set).
        let k = self.key(key).unwrap_or(0);
        self.ops.push(k);
    }
    fn str(&mut self, v: &str) {
        self.string(v);
    }
    fn id(&mut self, v: u64) {
        // Straight into the event's text (an id is never empty).
        let start = self.units;
        let _ = write!(TextSink(self), "{v}");
        self.ops.extend([OP_STR, start, self.units]);
    }
    fn int(&mut self, v: i64) {
        self.number(v as f64);
    }
    fn uint(&mut self, v: u64) {
        match u32::try_from(v) {
            Ok(v) => self.ops.extend([OP_INT, v]),
            Err(_) => self.number(v as f64),
        }
    }
    fn bool(&mut self, v: bool) {
        self.ops.push(if v { OP_TRUE } else { OP_FALSE });
    }
    fn null(&mut self) {
        self.ops.push(OP_NULL);
    }
    fn base64(&mut self, v: &[u8]) {
        let mut s = String::with_capacity(v.len().div_ceil(3) * 4);
        tikcast_core::reader::base64_into(v, &mut s);
        self.string(&s);
    }
    fn size(&self) -> usize {
        self.ops.len() * 4 + self.nums.len() * 8 + self.text.len()
    }
    fn truncate(&mut self, mark: usize) {
        while let Some(&(size, ops, nums, text, events)) = self.starts.last() {
            if size < mark {
                break;
            }
            self.starts.pop();
            self.ops.truncate(ops);
            self.nums.truncate(nums);
            self.text.truncate(text);
            self.events.truncate(events);
        }
    }
}
