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
use std::fmt::{self, Write as _};

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
                &tape.text,
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

/// An empty slot of the key table.
const NO_KEY: u32 = u32::MAX;
/// Slots of a fresh key table (a power of two; the schema has a few hundred names).
const KEY_SLOTS: usize = 512;

/// Entries of the cache of static key names (a power of two).
const STATIC_KEYS: usize = 256;

/// 32-bit FNV-1a: field names are short, and SipHash costs more than the lookup.
fn fnv(name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in name.as_bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

/// A batch of events being written. Reused from batch to batch (`clear` keeps capacity).
#[derive(Default)]
pub struct Tape {
    pub ops: Vec<u32>,
    pub nums: Vec<f64>,
    pub text: Vec<u8>,
    pub events: Vec<u32>,
    pub key_text: String,
    pub keys: Vec<u32>,
    /// Key numbers by name: open addressing with linear probing over `key_text`, at most
    /// half full. Smaller in the module than a `HashMap<Box<str>, u32>` (hashbrown's
    /// code, 2.9 kB) and allocates nothing per key.
    key_slots: Vec<u32>,
    /// Byte offset of each key's name in `key_text`.
    key_bytes: Vec<u32>,
    key_units: u32,
    /// The schema's key names are `&'static str` slices of one string, so a name is known
    /// by its address and length: a direct-mapped cache from those to the batch's key
    /// number skips hashing and comparing the name (6 % of a frame's time in a Node
    /// profile before it). Entries are (address, length, key); emptied with the batch.
    static_keys: Vec<(usize, usize, u32)>,
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
        self.key_slots.clear();
        self.key_bytes.clear();
        self.key_units = 0;
        self.static_keys.clear();
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
            + self.key_slots.capacity() * 4
            + self.key_bytes.capacity() * 4
            + self.static_keys.capacity() * core::mem::size_of::<(usize, usize, u32)>()
    }

    /// The name of key `k` (an index into `key_bytes`).
    fn key_name(&self, k: u32) -> &str {
        let k = k as usize;
        let start = self.key_bytes.get(k).map_or(0, |&b| b as usize);
        let end = self
            .key_bytes
            .get(k + 1)
            .map_or(self.key_text.len(), |&b| b as usize);
        self.key_text.get(start..end).unwrap_or("")
    }

    /// The slot for `name`: the one holding its key, or the empty one to put it in.
    fn key_slot(&self, name: &str) -> usize {
        // The table is a power of two at least twice the key count, so the probe ends.
        let mask = self.key_slots.len() - 1;
        let mut i = fnv(name) as usize & mask;
        loop {
            match self.key_slots.get(i) {
                Some(&k) if k != NO_KEY && self.key_name(k) != name => i = (i + 1) & mask,
                _ => return i,
            }
        }
    }

    fn key(&mut self, name: &str) -> Result<u32> {
        if self.key_slots.is_empty() {
            self.key_slots.resize(KEY_SLOTS, NO_KEY);
        }
        let slot = self.key_slot(name);
        match self.key_slots.get(slot) {
            Some(&k) if k != NO_KEY => return Ok(k),
            _ => {}
        }
        let k = self.key_bytes.len();
        if k >= MAX_KEYS {
            return Err(TapeError("too many distinct keys in one batch".into()));
        }
        self.key_bytes.push(self.key_text.len() as u32);
        let start = self.key_units;
        self.key_text.push_str(name);
        self.key_units += utf16_len(name.as_bytes());
        self.keys.extend([start, self.key_units]);
        if let Some(s) = self.key_slots.get_mut(slot) {
            *s = k as u32;
        }
        if (k + 1) * 2 > self.key_slots.len() {
            self.grow_keys();
        }
        Ok(k as u32)
    }

    /// Doubles the key table and puts every key back.
    fn grow_keys(&mut self) {
        let n = self.key_slots.len() * 2;
        self.key_slots.clear();
        self.key_slots.resize(n, NO_KEY);
        for k in 0..self.key_bytes.len() as u32 {
            let slot = self.key_slot(self.key_name(k));
            if let Some(s) = self.key_slots.get_mut(slot) {
                *s = k;
            }
        }
    }

    fn string(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// A string as UTF-8 bytes (valid: checked by the reader or by `&str`).
    fn bytes(&mut self, v: &[u8]) {
        if v.is_empty() {
            self.ops.push(OP_EMPTY);
            return;
        }
        let start = self.units;
        self.text.extend_from_slice(v);
        self.units += utf16_len(v);
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

/// UTF-16 units of valid UTF-8: one per character (every byte but continuation bytes),
/// two for a character of four bytes (a surrogate pair).
fn utf16_len(v: &[u8]) -> u32 {
    if v.is_ascii() {
        v.len() as u32
    } else {
        v.iter()
            .map(|&b| u32::from(b & 0xc0 != 0x80) + u32::from(b >= 0xf0))
            .sum()
    }
}

/// Writes `Display` output straight into the event's text (no temporary `String`).
struct TextSink<'a>(&'a mut Tape);

impl fmt::Write for TextSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.text.extend_from_slice(s.as_bytes());
        self.0.units += utf16_len(s.as_bytes());
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
        if self.static_keys.is_empty() {
            self.static_keys.resize(STATIC_KEYS, (0, 0, NO_KEY));
        }
        let addr = key.as_ptr() as usize;
        let slot = (addr ^ (addr >> 8)) & (STATIC_KEYS - 1);
        match self.static_keys.get(slot) {
            Some(&(a, len, k)) if a == addr && len == key.len() && k != NO_KEY => {
                self.ops.push(k);
            }
            _ => {
                let k = self.key(key).unwrap_or(0);
                if let Some(e) = self.static_keys.get_mut(slot) {
                    *e = (addr, key.len(), k);
                }
                self.ops.push(k);
            }
        }
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
    fn text(&mut self, v: &[u8]) {
        self.bytes(v);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_interned_once_per_batch_through_table_growth() {
        let mut t = Tape::default();
        // Past several doublings of the table, with non-ASCII names and shared prefixes.
        let names: Vec<String> = (0..5000).map(|i| format!("k{i}é")).collect();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.key(n).unwrap(), i as u32);
        }
        for (i, n) in names.iter().enumerate().rev() {
            assert_eq!(t.key(n).unwrap(), i as u32, "{n} again");
            assert_eq!(t.key_name(i as u32), n);
        }
        assert!(t.key_slots.len() >= 2 * names.len());
        // UTF-16 ranges into the key text, one after the other.
        let mut units = 0;
        for (i, n) in names.iter().enumerate() {
            let len = n.encode_utf16().count() as u32;
            assert_eq!(&t.keys[2 * i..2 * i + 2], &[units, units + len]);
            units += len;
        }
        assert_eq!(t.key("").unwrap(), 5000, "the empty name is a key too");
        // A new batch numbers its keys from 0 again.
        t.clear();
        assert_eq!(t.key("k4999é").unwrap(), 0);
        assert_eq!(t.key("type").unwrap(), 1);
        assert_eq!(t.key("k4999é").unwrap(), 0);
    }
}
