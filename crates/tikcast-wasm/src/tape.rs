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
//!   its operands; inside an object every value is preceded by its key's number.
//! - `nums` (f64): numbers that are not small non-negative integers (`OP_NUM index`).
//! - `text` and `wide`: the bytes of every string, the ASCII ones in `text` and the
//!   others (UTF-8) in `wide`. Each is cut into *chunks* at event boundaries, a chunk
//!   holding whole events' strings and closing once it has [`CHUNK`] bytes; JS decodes
//!   each chunk once (`text` as Latin-1 in browsers, a one-byte string) and slices the
//!   strings out of it (`OP_STR` / `OP_WSTR`: UTF-16 ranges in the chunk's string). A
//!   `TextDecoder` call costs about half a microsecond in Chromium whatever its length,
//!   so a call per chunk instead of one per event saves ~40 calls a frame; a string kept
//!   by the application keeps at most its chunk alive (≤ [`CHUNK`] bytes plus one
//!   event's), and only text of the same kind: an emoji in a nickname no longer makes
//!   an event's URLs two-byte strings.
//! - `events` (u32): per event, its first op and, for `text` then `wide`, the start of
//!   its chunk and the end of that chunk (both byte offsets; the ends are filled in when
//!   the batch is sent, [`Tape::close_chunks`]).
//!
//! An event written again under another `type` (`Sink::repeat_event`: a gift message's
//! `giftRaw` event and then its `gift` or `giftStreak`) is its ops copied, with a `type`
//! string of its own, in the chunks of the event it copies: JS builds it as any event,
//! and a chunk may hold these copies past [`CHUNK`].
//!
//! Keys and shapes. The schema's field names (`Sink::key`, `&'static str`) are numbered
//! once for the module's life: each batch sends JS only the names it has not seen, and JS
//! makes each key string once. Map keys (`Sink::key_str`, an open set from the wire) are
//! numbered per batch from [`MAP_KEY`]. An object whose keys are all schema names has a
//! *shape*, the list of its keys, also numbered once and sent once; JS compiles a small
//! function per shape that makes the object as a literal (`{userId: v(), nickname: v(),
//! ...}`), which V8 builds from a ready-made layout instead of adding the keys one by one
//! through a generic keyed store (bench/RESULTS.md, "Decoder v2: objects by shape").
//! Where a page's Content-Security-Policy forbids compiling code, or for objects with map
//! keys, JS builds the object key by key from the keys on the tape, as before. Events
//! with a `user` can be made with a prototype (the SDK's flat v2 sender fields):
//! [`with_tape`]'s `proto`.

use std::cell::RefCell;

use js_sys::Array;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/tape.js")]
extern "C" {
    /// `decodeFrame`'s result object: the frame's five strings cut out of `text` at the
    /// UTF-16 `ends`, then its other fields.
    #[wasm_bindgen(js_name = frameResult)]
    pub(crate) fn frame_result(
        text: &str,
        ends: &[u32],
        need_ack: bool,
        heartbeat_duration: f64,
        now_ms: f64,
        is_first: bool,
        events: &Array,
    ) -> JsValue;

    /// A fresh cache of key strings and shape functions for [`read_tape`]; with
    /// `compile` false it never compiles a shape function.
    #[wasm_bindgen(js_name = newTapeCache)]
    fn new_tape_cache(compile: bool) -> JsValue;

    /// Appends the tape's values to `out` as JS values (see `tape.js`).
    #[wasm_bindgen(js_name = readTape, catch)]
    #[allow(clippy::too_many_arguments)]
    fn read_tape(
        cache: &JsValue,
        ops: &[u32],
        nums: &[f64],
        events: &[u32],
        text: &[u8],
        wide: &[u8],
        key_text: &[u8],
        keys: &[u32],
        map_key_text: &[u8],
        map_keys: &[u32],
        shapes: &[u32],
        proto: &JsValue,
        out: &Array,
    ) -> std::result::Result<JsValue, JsValue>;
}

thread_local! {
    /// Reused by every batch, so a steady stream allocates nothing for the tape, and its
    /// key and shape numbers last as long as the JS cache that knows them.
    static TAPE: RefCell<(Tape, Option<JsValue>)> = RefCell::default();
}

/// A batch tape above this size gives its memory back after use.
const KEEP_TAPE_BYTES: usize = 1 << 20;

/// Runs `write` on the batch tape (emptied first; decoder v2 writes events into it as a
/// [`tikcast_core::Sink`]), then appends the tape's values to `out` as JS objects in one
/// crossing. Events with a `user` get `proto` as their prototype when it is an object
/// (the SDK's flat v2 sender fields, `Engine::set_event_prototype`); `undefined`: plain
/// objects, as `JSON.parse` makes them.
pub fn with_tape<R>(
    out: &Array,
    proto: &JsValue,
    write: impl FnOnce(&mut Tape) -> R,
) -> std::result::Result<R, JsValue> {
    TAPE.with(|cell| {
        // Never re-entered (reading the tape does not call back into wasm); a fresh tape
        // with a fresh cache keeps this correct even if it were.
        let mut fresh = (Tape::default(), None);
        let mut guard = cell.try_borrow_mut();
        let (tape, cache) = match guard.as_deref_mut() {
            Ok(t) => t,
            Err(_) => &mut fresh,
        };
        tape.clear();
        let r = write(tape);
        // Nothing to build: no call, and the names and shapes this batch numbered are sent
        // with the next one that has events.
        let sent = !tape.is_empty();
        let result = if !sent {
            Ok(JsValue::UNDEFINED)
        } else {
            tape.close_chunks();
            let cache = cache.get_or_insert_with(|| new_tape_cache(true));
            let names = &tape.names;
            let shipped = names
                .at
                .get(tape.names_shipped)
                .map_or(names.text.len(), |&b| b as usize);
            read_tape(
                cache,
                &tape.ops,
                &tape.nums,
                &tape.events,
                &tape.text,
                &tape.wide,
                names.text.as_bytes().get(shipped..).unwrap_or(&[]),
                names.ranges.get(2 * tape.names_shipped..).unwrap_or(&[]),
                tape.map_names.text.as_bytes(),
                &tape.map_names.ranges,
                tape.shapes.pairs_from(tape.shapes_shipped),
                proto,
                out,
            )
        };
        match result {
            Ok(_) => {
                if sent {
                    tape.names_shipped = tape.names.len();
                    tape.shapes_shipped = tape.shapes.len();
                }
                if tape.capacity_bytes() > KEEP_TAPE_BYTES {
                    tape.shrink();
                } else {
                    tape.clear();
                }
            }
            // JS may hold part of what this batch sent: both sides start again.
            Err(_) => {
                *tape = Tape::default();
                *cache = None;
            }
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

/// Starts the tape and its JS cache afresh; with `compile_shapes` false, every object is
/// built key by key as where a Content-Security-Policy forbids compiling code (for tests).
#[doc(hidden)]
pub fn reset_tape(compile_shapes: bool) {
    TAPE.with(|cell| {
        if let Ok(mut t) = cell.try_borrow_mut() {
            *t = (Tape::default(), Some(new_tape_cache(compile_shapes)));
        }
    });
}

// Opcodes: small numbers (V8 keeps them as small integers and switches on them through a
// table). Object keys are numbered from `KEY`, so every value in key position that is not
// `OP_END` is a key.
pub const OP_END: u32 = 0;
pub const OP_NULL: u32 = 1;
pub const OP_FALSE: u32 = 2;
pub const OP_TRUE: u32 = 3;
/// `OP_STR start end`: an ASCII string, its range in its `text` chunk.
pub const OP_STR: u32 = 4;
/// `OP_NUM index`: `nums[index]`.
pub const OP_NUM: u32 = 5;
/// `OP_INT value`: a non-negative integer below 2^32.
pub const OP_INT: u32 = 6;
/// `OP_OBJ shape (key value)* OP_END`, `shape` being [`NO_SHAPE`] or the object's shape.
pub const OP_OBJ: u32 = 7;
/// `OP_ARR value* OP_END`.
pub const OP_ARR: u32 = 8;
/// The empty string.
pub const OP_EMPTY: u32 = 9;
/// `OP_WSTR start end`: a string with non-ASCII characters, its UTF-16 range in its `wide`
/// chunk's decoded string.
pub const OP_WSTR: u32 = 10;
/// Schema names are keys `KEY + n` on the tape.
pub const KEY: u32 = 16;

/// A text chunk closes once it holds this many bytes (at the end of an event). 8 KiB: a
/// 40-message frame's ~24 kB of ASCII text in 3-4 `TextDecoder` calls instead of ~40
/// (bench/RESULTS.md, "Text by chunk"), and a kept string holds little more than its
/// own event's text alive.
pub const CHUNK: usize = 8 << 10;
/// `events` holds this many u32 per event.
pub const EVENT_WORDS: usize = 5;

/// The shape operand of an object built key by key.
pub const NO_SHAPE: u32 = u32::MAX;
/// Map keys are numbered from here (`MAP_KEY + i`, i per batch); schema names below.
pub const MAP_KEY: u32 = 0x8000_0000;
/// Map keys per batch: their numbers must stay below 2^32.
const MAX_MAP_KEYS: usize = (u32::MAX - MAP_KEY) as usize;
/// Schema names are a fixed set of a few hundred; this only guards the numbering.
const MAX_NAMES: usize = (MAP_KEY - KEY) as usize;
/// Shapes for the module's life, counting every prefix of a key list; objects of further
/// shapes are built key by key. The reader writes every field of a schema message, so the
/// key lists are fixed by the code, not by the wire: the 2,000 benchmark frames (361,208
/// objects) need 117 shapes and 496 prefixes. The cap bounds the functions JS compiles.
const MAX_SHAPES: usize = 1 << 13;

/// An empty slot of a hash table.
const EMPTY_SLOT: u32 = u32::MAX;
/// Slots of a fresh name table (a power of two; the schema has a few hundred names).
const NAME_SLOTS: usize = 512;

/// Entries of the cache of key steps (a power of two; real traffic takes ~500 steps).
const STEPS: usize = 2048;

/// 32-bit FNV-1a: field names are short, and SipHash costs more than the lookup.
fn fnv(bytes: impl IntoIterator<Item = u8>) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

/// Strings numbered in the order they were first seen: open addressing with linear
/// probing over `text`, at most half full. Smaller in the module than a
/// `HashMap<Box<str>, u32>` (hashbrown's code, 2.9 kB) and allocates nothing per name.
#[derive(Default)]
struct Names {
    /// Every name's UTF-8, one after the other.
    text: String,
    /// Byte offset of each name in `text`.
    at: Vec<u32>,
    /// Each name's UTF-16 start and end in `text`.
    ranges: Vec<u32>,
    units: u32,
    slots: Vec<u32>,
}

impl Names {
    fn clear(&mut self) {
        self.text.clear();
        self.at.clear();
        self.ranges.clear();
        self.units = 0;
        self.slots.clear();
    }

    fn len(&self) -> usize {
        self.at.len()
    }

    /// The name numbered `k`.
    fn name(&self, k: u32) -> &str {
        let k = k as usize;
        let start = self.at.get(k).map_or(0, |&b| b as usize);
        let end = self.at.get(k + 1).map_or(self.text.len(), |&b| b as usize);
        self.text.get(start..end).unwrap_or("")
    }

    /// The slot for `name`: the one holding its number, or the empty one to put it in.
    fn slot(&self, name: &str) -> usize {
        // The table is a power of two at least twice the name count, so the probe ends.
        let mask = self.slots.len() - 1;
        let mut i = fnv(name.bytes()) as usize & mask;
        loop {
            match self.slots.get(i) {
                Some(&k) if k != EMPTY_SLOT && self.name(k) != name => i = (i + 1) & mask,
                _ => return i,
            }
        }
    }

    /// The number of `name`, given one if it is new (`None` past `max` names).
    fn number(&mut self, name: &str, max: usize) -> Option<u32> {
        if self.slots.is_empty() {
            self.slots.resize(NAME_SLOTS, EMPTY_SLOT);
        }
        let slot = self.slot(name);
        match self.slots.get(slot) {
            Some(&k) if k != EMPTY_SLOT => return Some(k),
            _ => {}
        }
        let k = self.at.len();
        if k >= max {
            return None;
        }
        self.at.push(self.text.len() as u32);
        let start = self.units;
        self.text.push_str(name);
        self.units += utf16_len(name.as_bytes());
        self.ranges.extend([start, self.units]);
        if let Some(s) = self.slots.get_mut(slot) {
            *s = k as u32;
        }
        if (k + 1) * 2 > self.slots.len() {
            self.grow();
        }
        Some(k as u32)
    }

    /// Doubles the table and puts every name back.
    fn grow(&mut self) {
        let n = self.slots.len() * 2;
        self.slots.clear();
        self.slots.resize(n, EMPTY_SLOT);
        for k in 0..self.at.len() as u32 {
            let slot = self.slot(self.name(k));
            if let Some(s) = self.slots.get_mut(slot) {
                *s = k;
            }
        }
    }
}

/// Object shapes, numbered once like [`Names`]: a tree in which shape 0 is the empty
/// object and every other shape is its parent shape plus one key (as V8's own maps are),
/// so an object's shape follows key by key with one table lookup each and is known when
/// the object ends.
#[derive(Default)]
struct Shapes {
    /// Each shape's parent and last key, one pair after the other (shape 0's are unused):
    /// JS gets them as they are, from the first shape it has not seen.
    pairs: Vec<u32>,
    /// Shapes by (parent, key): open addressing with linear probing, at most half full.
    slots: Vec<u32>,
}

impl Shapes {
    /// How many shapes there are (the empty one too, once there is any).
    fn len(&self) -> usize {
        self.pairs.len() / 2
    }

    /// The parent and key pairs of shapes `from` on (never the empty shape's).
    fn pairs_from(&self, from: usize) -> &[u32] {
        self.pairs.get(2 * from.max(1)..).unwrap_or(&[])
    }

    fn node(&self, s: u32) -> Option<(u32, u32)> {
        let i = 2 * s as usize;
        Some((*self.pairs.get(i)?, *self.pairs.get(i + 1)?))
    }

    fn slot(&self, parent: u32, key: u32) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = (parent.wrapping_mul(0x9e37_79b1) ^ key).wrapping_mul(0x85eb_ca6b) as usize;
        loop {
            i &= mask;
            match self.slots.get(i) {
                Some(&s) if s != EMPTY_SLOT && self.node(s) != Some((parent, key)) => i += 1,
                _ => return i,
            }
        }
    }

    /// The shape `parent` plus `key`, numbered if it is new; [`NO_SHAPE`] past
    /// [`MAX_SHAPES`] or after [`NO_SHAPE`]. Off the hot path: asked on a step-cache miss.
    #[inline(never)]
    fn child(&mut self, parent: u32, key: u32) -> u32 {
        if parent == NO_SHAPE {
            return NO_SHAPE;
        }
        if self.slots.is_empty() {
            self.slots.resize(NAME_SLOTS, EMPTY_SLOT);
            self.pairs.extend([NO_SHAPE, NO_SHAPE]);
        }
        let slot = self.slot(parent, key);
        match self.slots.get(slot) {
            Some(&s) if s != EMPTY_SLOT => return s,
            _ => {}
        }
        let s = self.len();
        if s >= MAX_SHAPES {
            return NO_SHAPE;
        }
        self.pairs.extend([parent, key]);
        if let Some(e) = self.slots.get_mut(slot) {
            *e = s as u32;
        }
        if (s + 1) * 2 > self.slots.len() {
            let n = self.slots.len() * 2;
            self.slots.clear();
            self.slots.resize(n, EMPTY_SLOT);
            for c in 1..s as u32 + 1 {
                let Some((p, k)) = self.node(c) else { break };
                let slot = self.slot(p, k);
                if let Some(e) = self.slots.get_mut(slot) {
                    *e = c;
                }
            }
        }
        s as u32
    }
}

/// A batch of events being written. Reused from batch to batch (`clear` keeps capacity,
/// and the key and shape numbers JS already knows).
#[derive(Default)]
pub struct Tape {
    pub ops: Vec<u32>,
    pub nums: Vec<f64>,
    /// ASCII strings.
    pub text: Vec<u8>,
    /// Strings with other characters (UTF-8).
    pub wide: Vec<u8>,
    pub events: Vec<u32>,
    /// Schema names used as keys, numbered for the module's life.
    names: Names,
    /// How many of `names` JS has been sent.
    names_shipped: usize,
    /// The schema's key names are `&'static str` slices of one string, so a name is known
    /// by its address and length: a direct-mapped cache of (shape, name's address, name's
    /// length) → (the name's number, the shape with it added) makes an object's key step
    /// one lookup, without hashing or comparing the name.
    steps: Vec<(u32, usize, usize, u32, u32)>,
    /// This batch's map keys (numbered from `MAP_KEY`).
    map_names: Names,
    shapes: Shapes,
    /// How many of `shapes` JS has been sent (counted from the start rather than kept per
    /// batch: a batch whose events were all dropped sends nothing, and JS numbers shapes
    /// by position).
    shapes_shipped: usize,
    /// Per object being written: the position of its `OP_OBJ` and its shape so far
    /// ([`NO_SHAPE`] once it has a map key).
    open: Vec<(usize, u32)>,
    /// Where the current chunks of `text` and `wide` start (bytes), and the UTF-16 units
    /// of the `wide` chunk so far.
    chunk: usize,
    wide_chunk: usize,
    wide_units: u32,
    /// Where each event written as a `Sink` started, so `truncate` can drop whole events.
    starts: Vec<Mark>,
}

/// The tape's lengths (and chunk state) before an event.
#[derive(Clone, Copy)]
struct Mark {
    size: usize,
    ops: usize,
    nums: usize,
    text: usize,
    wide: usize,
    events: usize,
    chunk: usize,
    wide_chunk: usize,
    wide_units: u32,
}

impl Tape {
    /// Empties the batch (the key and shape numbers stay: JS knows them).
    pub fn clear(&mut self) {
        self.ops.clear();
        self.nums.clear();
        self.text.clear();
        self.wide.clear();
        self.events.clear();
        self.map_names.clear();
        self.open.clear();
        self.starts.clear();
        self.chunk = 0;
        self.wide_chunk = 0;
        self.wide_units = 0;
    }

    /// Empties the batch and gives back the memory of its buffers.
    fn shrink(&mut self) {
        self.ops = Vec::new();
        self.nums = Vec::new();
        self.text = Vec::new();
        self.wide = Vec::new();
        self.events = Vec::new();
        self.map_names = Names::default();
        self.open = Vec::new();
        self.starts = Vec::new();
        self.clear();
    }

    /// Puts each event's chunk ends in place (written as the event's own ends): for
    /// every event, from the last, the end of the last event of the same chunk.
    pub fn close_chunks(&mut self) {
        let (mut at, mut end) = (u32::MAX, 0);
        let (mut wide_at, mut wide_end) = (u32::MAX, 0);
        for e in self.events.rchunks_exact_mut(EVENT_WORDS) {
            if let [_, start, stop, wide_start, wide_stop] = e {
                if *start != at {
                    (at, end) = (*start, *stop);
                }
                *stop = end;
                if *wide_start != wide_at {
                    (wide_at, wide_end) = (*wide_start, *wide_stop);
                }
                *wide_stop = wide_end;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Bytes held by the batch's buffers (to give a huge batch's memory back).
    pub fn capacity_bytes(&self) -> usize {
        self.ops.capacity() * 4
            + self.nums.capacity() * 8
            + self.text.capacity()
            + self.wide.capacity()
            + self.events.capacity() * 4
            + self.map_names.text.capacity()
            + (self.map_names.at.capacity()
                + self.map_names.ranges.capacity()
                + self.map_names.slots.capacity())
                * 4
            + self.open.capacity() * 16
            + self.starts.capacity() * std::mem::size_of::<Mark>()
    }

    fn string(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// A string as UTF-8 bytes (valid: checked by the reader or by `&str`).
    fn bytes(&mut self, v: &[u8]) {
        if v.is_empty() {
            self.ops.push(OP_EMPTY);
        } else if tikcast_core::reader::is_ascii(v) {
            self.ascii(v);
        } else {
            let start = self.wide_units;
            self.wide.extend_from_slice(v);
            self.wide_units += utf16_len(v);
            self.ops.extend([OP_WSTR, start, self.wide_units]);
        }
    }

    /// An ASCII string (its UTF-16 units are its bytes).
    fn ascii(&mut self, v: &[u8]) {
        let start = (self.text.len() - self.chunk) as u32;
        self.text.extend_from_slice(v);
        self.ops.extend([OP_STR, start, start + v.len() as u32]);
    }

    /// The tape's lengths and chunk state now (before an event).
    fn mark(&self) -> Mark {
        Mark {
            size: tikcast_core::Sink::size(self),
            ops: self.ops.len(),
            nums: self.nums.len(),
            text: self.text.len(),
            wide: self.wide.len(),
            events: self.events.len(),
            chunk: self.chunk,
            wide_chunk: self.wide_chunk,
            wide_units: self.wide_units,
        }
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
pub(crate) fn utf16_len(v: &[u8]) -> u32 {
    v.iter()
        .map(|&b| u32::from(b & 0xc0 != 0x80) + u32::from(b >= 0xf0))
        .sum()
}

/// Decoder v2 writes events straight into the tape (no typed events, no serde).
impl tikcast_core::Sink for Tape {
    fn event_start(&mut self) {
        self.starts.push(self.mark());
        // A full chunk closes between events, so an event's strings share one chunk.
        if self.text.len() - self.chunk >= CHUNK {
            self.chunk = self.text.len();
        }
        if self.wide.len() - self.wide_chunk >= CHUNK {
            self.wide_chunk = self.wide.len();
            self.wide_units = 0;
        }
        self.open.clear();
    }
    fn event_end(&mut self) {
        let ops = self.starts.last().map_or(0, |m| m.ops);
        self.events.extend([
            ops as u32,
            self.chunk as u32,
            self.text.len() as u32,
            self.wide_chunk as u32,
            self.wide.len() as u32,
        ]);
    }
    fn begin_object(&mut self) {
        self.open.push((self.ops.len(), 0));
        self.ops.extend([OP_OBJ, NO_SHAPE]);
    }
    fn end_object(&mut self) {
        self.ops.push(OP_END);
        if let Some((at, shape)) = self.open.pop() {
            if let Some(op) = self.ops.get_mut(at + 1) {
                *op = shape;
            }
        }
    }
    fn begin_array(&mut self) {
        self.ops.push(OP_ARR);
    }
    fn end_array(&mut self) {
        self.ops.push(OP_END);
    }
    fn key(&mut self, key: &'static str) {
        // One lookup for the key's number and the object's next shape (both last as long
        // as the tape; the two tables behind them are asked on a miss only).
        let shape = self.open.last().map_or(NO_SHAPE, |o| o.1);
        let addr = key.as_ptr() as usize;
        let slot = (addr ^ (addr >> 7) ^ shape.wrapping_mul(0x9e37_79b1) as usize) & (STEPS - 1);
        let (k, next) = match self.steps.get(slot) {
            Some(&(s, a, len, k, next)) if s == shape && a == addr && len == key.len() => (k, next),
            _ => {
                // Never past MAX_NAMES: the schema's names are a fixed set.
                let k = self.names.number(key, MAX_NAMES).unwrap_or(0);
                let next = self.shapes.child(shape, k);
                if self.steps.is_empty() {
                    self.steps.resize(STEPS, (NO_SHAPE, 0, 0, 0, NO_SHAPE));
                }
                if let Some(e) = self.steps.get_mut(slot) {
                    *e = (shape, addr, key.len(), k, next);
                }
                (k, next)
            }
        };
        self.ops.push(KEY + k);
        if let Some(o) = self.open.last_mut() {
            o.1 = next;
        }
    }
    fn key_str(&mut self, key: &str) {
        // Past MAX_MAP_KEYS distinct keys a batch stops naming new ones (never in
        // practice: a batch is at most 8 MiB of messages).
        let k = self.map_names.number(key, MAX_MAP_KEYS).unwrap_or(0);
        self.ops.push(MAP_KEY + k);
        if let Some(o) = self.open.last_mut() {
            o.1 = NO_SHAPE;
        }
    }
    fn str(&mut self, v: &str) {
        self.string(v);
    }
    fn text(&mut self, v: &[u8]) {
        self.bytes(v);
    }
    fn id(&mut self, v: u64) {
        // Straight into the event's text (an id is never empty).
        let mut buf = [0; 21];
        let digits = tikcast_core::reader::decimal(v, &mut buf);
        self.ascii(digits.as_bytes());
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
        self.ops.len() * 4 + self.nums.len() * 8 + self.text.len() + self.wide.len()
    }
    fn repeat_event(&mut self, name: &'static str) -> bool {
        // The last event, still in the current chunks (no event has started since), and
        // begun as every event is: an object whose first value is its `type`, an ASCII
        // string. Its other values are copied as they are: string ranges in the same
        // chunks, `nums` indices, map keys and shapes of the same batch.
        let Some(&[first, chunk, _, wide_chunk, _]) = self.events.last_chunk::<EVENT_WORDS>()
        else {
            return false;
        };
        let first = first as usize;
        let type_key = match self.ops.get(first..first + 4) {
            Some(&[OP_OBJ, _, k, OP_STR]) if (KEY..MAP_KEY).contains(&k) => k - KEY,
            _ => return false,
        };
        if chunk as usize != self.chunk
            || wide_chunk as usize != self.wide_chunk
            || self.names.name(type_key) != "type"
            || name.is_empty()
            || !tikcast_core::reader::is_ascii(name.as_bytes())
        {
            return false;
        }
        self.starts.push(self.mark());
        let at = self.ops.len();
        self.ops.extend_from_within(first..);
        let start = (self.text.len() - self.chunk) as u32;
        self.text.extend_from_slice(name.as_bytes());
        if let Some([from, to]) = self.ops.get_mut(at + 4..at + 6) {
            *from = start;
            *to = start + name.len() as u32;
        }
        self.event_end();
        true
    }
    fn truncate(&mut self, mark: usize) {
        while let Some(&m) = self.starts.last() {
            if m.size < mark {
                break;
            }
            self.starts.pop();
            self.ops.truncate(m.ops);
            self.nums.truncate(m.nums);
            self.text.truncate(m.text);
            self.wide.truncate(m.wide);
            self.events.truncate(m.events);
            self.chunk = m.chunk;
            self.wide_chunk = m.wide_chunk;
            self.wide_units = m.wide_units;
        }
        self.open.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_numbered_once_through_table_growth() {
        let mut t = Names::default();
        // Past several doublings of the table, with non-ASCII names and shared prefixes.
        let names: Vec<String> = (0..5000).map(|i| format!("k{i}é")).collect();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.number(n, MAX_NAMES), Some(i as u32));
        }
        for (i, n) in names.iter().enumerate().rev() {
            assert_eq!(t.number(n, MAX_NAMES), Some(i as u32), "{n} again");
            assert_eq!(t.name(i as u32), n);
        }
        assert!(t.slots.len() >= 2 * names.len());
        // UTF-16 ranges into the text, one after the other.
        let mut units = 0;
        for (i, n) in names.iter().enumerate() {
            let len = n.encode_utf16().count() as u32;
            assert_eq!(&t.ranges[2 * i..2 * i + 2], &[units, units + len]);
            units += len;
        }
        assert_eq!(
            t.number("", MAX_NAMES),
            Some(5000),
            "the empty name is one too"
        );
        assert_eq!(t.number("new", 5001), None, "no room past the limit");
        assert_eq!(t.number("k17é", 5001), Some(17), "known names still are");
        // Emptied (a batch's map keys), numbering starts from 0 again.
        t.clear();
        assert_eq!(t.number("k4999é", MAX_NAMES), Some(0));
        assert_eq!(t.number("type", MAX_NAMES), Some(1));
        assert_eq!(t.number("k4999é", MAX_NAMES), Some(0));
    }

    #[test]
    fn shapes_are_numbered_once_and_sent_once() {
        let mut s = Shapes::default();
        // Key lists sharing prefixes, numbered through several doublings of the table.
        let lists: Vec<Vec<u32>> = (0..3000u32)
            .map(|i| (0..i % 9).map(|k| k * (i % 50)).collect())
            .collect();
        let shape = |s: &mut Shapes, l: &[u32]| l.iter().fold(0, |p, &k| s.child(p, k));
        let mut seen = std::collections::HashMap::new();
        for l in &lists {
            let n = shape(&mut s, l);
            assert_eq!(*seen.entry(l.clone()).or_insert(n), n, "{l:?}");
        }
        let distinct: std::collections::HashSet<&[u32]> = lists
            .iter()
            .flat_map(|l| (1..=l.len()).map(|n| &l[..n]))
            .collect();
        let sent = s.pairs_from(0).to_vec();
        assert_eq!(
            sent.len(),
            2 * distinct.len(),
            "each prefix sent once, as parent and key"
        );
        // Every list again: the same numbers, nothing new to send.
        let shipped = s.len();
        for l in &lists {
            assert_eq!(shape(&mut s, l), seen[l]);
        }
        assert!(s.pairs_from(shipped).is_empty());
        assert_eq!(s.pairs_from(0).len(), 2 * distinct.len());
        // The sent pairs rebuild every list, as JS does.
        let mut nodes = vec![(NO_SHAPE, NO_SHAPE)];
        nodes.extend(sent.chunks(2).map(|c| (c[0], c[1])));
        for (l, &n) in &seen {
            let mut keys = Vec::new();
            let mut at = n;
            while at != 0 {
                keys.push(nodes[at as usize].1);
                at = nodes[at as usize].0;
            }
            keys.reverse();
            assert_eq!(&keys, l);
        }
        assert_eq!(s.child(NO_SHAPE, 1), NO_SHAPE);
    }

    #[test]
    fn past_the_cap_objects_have_no_shape_and_known_shapes_stay() {
        let mut s = Shapes::default();
        let first = s.child(0, 0);
        let mut k = 1;
        while s.child(0, k) != NO_SHAPE {
            k += 1;
        }
        assert_eq!(s.len(), MAX_SHAPES);
        assert_eq!(
            s.pairs_from(0).len(),
            2 * (MAX_SHAPES - 1),
            "every shape but the empty one sent"
        );
        assert_eq!(s.child(0, k + 1), NO_SHAPE);
        assert_eq!(s.child(0, 0), first, "known shapes still are");
        assert_eq!(s.pairs_from(0).len(), 2 * (MAX_SHAPES - 1));
    }

    #[test]
    fn objects_of_schema_keys_have_shapes_and_map_objects_do_not() {
        use tikcast_core::Sink;
        let mut t = Tape::default();
        for _ in 0..2 {
            t.clear();
            t.event_start();
            t.begin_object();
            t.key("type");
            t.str("x");
            t.key("inner");
            t.begin_object();
            t.key_str("a map key");
            t.uint(1);
            t.end_object();
            t.key("empty");
            t.begin_object();
            t.end_object();
            t.end_object();
            t.event_end();
            let (ty, inner, empty) = (
                t.names.number("type", 9),
                t.names.number("inner", 9),
                t.names.number("empty", 9),
            );
            let (ty, inner, empty) = (ty.unwrap(), inner.unwrap(), empty.unwrap());
            let shapes = t.shapes.len();
            let outer = [ty, inner, empty]
                .iter()
                .fold(0, |p, &k| t.shapes.child(p, k));
            assert_eq!(t.shapes.len(), shapes, "known shapes");
            assert_eq!(
                t.ops,
                [
                    OP_OBJ,
                    outer,
                    KEY + ty,
                    OP_STR,
                    0,
                    1,
                    KEY + inner,
                    OP_OBJ,
                    NO_SHAPE,
                    MAP_KEY,
                    OP_INT,
                    1,
                    OP_END,
                    KEY + empty,
                    OP_OBJ,
                    0,
                    OP_END,
                    OP_END
                ]
            );
            assert_eq!(t.map_names.name(0), "a map key");
            // Three keys of the outer object; the map object has none, the empty one is 0.
            assert_eq!(
                t.shapes.pairs_from(0).len(),
                2 * 3,
                "the same shapes in the second batch"
            );
        }
    }

    #[test]
    fn strings_go_by_kind_into_chunks_that_close_between_events() {
        use tikcast_core::Sink;
        let mut t = Tape::default();
        let ascii = "a".repeat(CHUNK / 2 + 1);
        // Each event: one ASCII string (over half a chunk) and one wide one.
        let event = |t: &mut Tape, wide: &str| {
            t.event_start();
            t.begin_object();
            t.key("a");
            t.str(&ascii);
            t.key("w");
            t.str(wide);
            t.end_object();
            t.event_end();
        };
        event(&mut t, "\u{e9}");
        event(&mut t, "x\u{1f600}");
        // A dropped event that would have opened a new chunk of each kind.
        let wide_full = "\u{e9}".repeat(CHUNK);
        event(&mut t, &wide_full);
        let mark = t.size();
        event(&mut t, "dropped \u{e9}");
        t.truncate(mark);
        event(&mut t, "\u{1f600}");
        t.close_chunks();
        let events: Vec<&[u32]> = t.events.chunks(EVENT_WORDS).collect();
        let n = ascii.len() as u32;
        let w = wide_full.len() as u32;
        // ASCII: two events fill the first chunk (the second closes it past CHUNK), the
        // third and fourth share the next one.
        assert_eq!(
            events.iter().map(|e| (e[1], e[2])).collect::<Vec<_>>(),
            [(0, 2 * n), (0, 2 * n), (2 * n, 4 * n), (2 * n, 4 * n)]
        );
        // Wide: the first three in one chunk, the fourth after the big one in its own.
        let wide_before = 2 + 5 + w;
        assert_eq!(
            events.iter().map(|e| (e[3], e[4])).collect::<Vec<_>>(),
            [
                (0, wide_before),
                (0, wide_before),
                (0, wide_before),
                (wide_before, wide_before + 4)
            ]
        );
        assert_eq!(t.text.len() as u32, 4 * n);
        assert_eq!(t.wide.len() as u32, wide_before + 4);
        // Ranges are in the chunk's string: the third event opens an ASCII chunk and its
        // wide string follows "é" and "x😀" (1 + 3 UTF-16 units); the fourth opens a wide
        // chunk (one surrogate pair) and follows the third's ASCII string.
        let ops = &t.ops[events[2][0] as usize..];
        assert_eq!(&ops[3..6], [OP_STR, 0, n]);
        assert_eq!(&ops[7..10], [OP_WSTR, 4, 4 + CHUNK as u32]);
        let ops = &t.ops[events[3][0] as usize..];
        assert_eq!(&ops[3..6], [OP_STR, n, 2 * n]);
        assert_eq!(&ops[7..10], [OP_WSTR, 0, 2]);
    }
}
