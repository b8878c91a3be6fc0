//! What every reader candidate shares, so that only the protobuf reader differs:
//! the [`Sink`] the decoded fields are written to, the [`TapeSink`] the benchmark uses
//! (a byte tape like the one the wasm module hands to JS), the envelope walk over a
//! batch (`FetchResult` → `(method, payload)`), and the raw wasm exports.
//!
//! The work every candidate does (the "projection"): for each message of one of the
//! [`HOT`] methods, every field today's events read (crates/tikcast-core/src/events.rs
//! and user.rs), written to the sink under its proto field name; every other message is
//! counted and skipped by all candidates alike.
#![no_std]
extern crate alloc;

use alloc::vec::Vec;

/// Where a reader writes what it decoded. Keys are proto field names. A repeated field is
/// `key`, `begin_array`, its elements, `end`.
pub trait Sink {
    fn begin_object(&mut self);
    fn key(&mut self, key: &'static str);
    fn str(&mut self, v: &str);
    fn u64(&mut self, v: u64);
    fn i64(&mut self, v: i64);
    fn bool(&mut self, v: bool);
    fn begin_array(&mut self);
    fn end(&mut self);
}

/// The six methods decoded with their fields (95 % of a live room's messages).
pub const HOT: [&str; 6] = [
    "WebcastChatMessage",
    "WebcastGiftMessage",
    "WebcastLikeMessage",
    "WebcastMemberMessage",
    "WebcastSocialMessage",
    "WebcastRoomUserSeqMessage",
];

/// A byte tape: one tag byte per sink call, keys and strings copied with a varint length,
/// numbers as varints. Reused across batches (`clear`), so it allocates only while growing.
#[derive(Default)]
pub struct TapeSink {
    pub tape: Vec<u8>,
}

impl TapeSink {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.tape.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.tape.push(v as u8);
    }
    fn bytes(&mut self, tag: u8, b: &[u8]) {
        self.tape.push(tag);
        self.varint(b.len() as u64);
        self.tape.extend_from_slice(b);
    }
}

impl Sink for TapeSink {
    fn begin_object(&mut self) {
        self.tape.push(1);
    }
    fn key(&mut self, key: &'static str) {
        self.bytes(2, key.as_bytes());
    }
    fn str(&mut self, v: &str) {
        self.bytes(3, v.as_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.tape.push(4);
        self.varint(v);
    }
    fn i64(&mut self, v: i64) {
        self.tape.push(5);
        self.varint(v as u64);
    }
    fn bool(&mut self, v: bool) {
        self.tape.push(6 + v as u8);
    }
    fn begin_array(&mut self) {
        self.tape.push(8);
    }
    fn end(&mut self) {
        self.tape.push(9);
    }
}

/// The batch is not a well-formed `FetchResult` (as far as the envelope walk reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadBatch;

/// Counts of one batch's messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Hot messages decoded.
    pub decoded: u32,
    /// Hot messages the candidate refused (malformed for it).
    pub failed: u32,
    /// Other methods, skipped.
    pub skipped: u32,
}

fn varint(b: &[u8], at: &mut usize) -> Result<u64, BadBatch> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at).ok_or(BadBatch)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(v);
        }
    }
    Err(BadBatch)
}

fn skip<'a>(b: &'a [u8], at: &mut usize, wire: u64) -> Result<Option<&'a [u8]>, BadBatch> {
    match wire {
        0 => varint(b, at).map(|_| None),
        1 => advance(b, at, 8).map(|_| None),
        5 => advance(b, at, 4).map(|_| None),
        2 => {
            let len = usize::try_from(varint(b, at)?).map_err(|_| BadBatch)?;
            advance(b, at, len).map(Some)
        }
        _ => Err(BadBatch),
    }
}

fn advance<'a>(b: &'a [u8], at: &mut usize, len: usize) -> Result<&'a [u8], BadBatch> {
    let end = at.checked_add(len).ok_or(BadBatch)?;
    let s = b.get(*at..end).ok_or(BadBatch)?;
    *at = end;
    Ok(s)
}

/// Calls `each(number, Some(bytes) | None)` for every field of a message (`None` for a
/// field that is not length-delimited).
pub fn for_each_field<'a>(
    msg: &'a [u8],
    mut each: impl FnMut(u64, Option<&'a [u8]>),
) -> Result<(), BadBatch> {
    let mut at = 0;
    while at < msg.len() {
        let key = varint(msg, &mut at)?;
        each(key >> 3, skip(msg, &mut at, key & 7)?);
    }
    Ok(())
}

/// Calls `each(method, payload)` for every `MessageEnvelope` (field 1) of a `FetchResult`,
/// skipping its other fields. Borrowed, no allocation.
pub fn for_each_envelope<'a>(
    batch: &'a [u8],
    mut each: impl FnMut(&'a str, &'a [u8]),
) -> Result<(), BadBatch> {
    let mut at = 0;
    while at < batch.len() {
        let key = varint(batch, &mut at)?;
        let body = skip(batch, &mut at, key & 7)?;
        if key >> 3 != 1 {
            continue;
        }
        let body = body.ok_or(BadBatch)?;
        let (mut method, mut payload): (&[u8], &[u8]) = (&[], &[]);
        let mut i = 0;
        while i < body.len() {
            let k = varint(body, &mut i)?;
            let v = skip(body, &mut i, k & 7)?;
            match (k >> 3, v) {
                (1, Some(v)) => method = v,
                (2, Some(v)) => payload = v,
                (1 | 2, None) => return Err(BadBatch),
                _ => {}
            }
        }
        let method = core::str::from_utf8(method).map_err(|_| BadBatch)?;
        each(method, payload);
    }
    Ok(())
}

/// Decodes every hot message of `batch` with `decode` (a candidate's entry point), writing
/// into `sink`; other methods are counted and skipped.
pub fn decode_batch<S: Sink, E>(
    batch: &[u8],
    sink: &mut S,
    mut decode: impl FnMut(&str, &[u8], &mut S) -> Option<Result<(), E>>,
) -> Result<BatchStats, BadBatch> {
    let mut stats = BatchStats::default();
    for_each_envelope(batch, |method, payload| {
        match decode(method, payload, sink) {
            Some(Ok(())) => stats.decoded += 1,
            Some(Err(_)) => stats.failed += 1,
            None => stats.skipped += 1,
        }
    })?;
    Ok(stats)
}

/// Raw wasm exports (no wasm-bindgen) over a candidate's
/// `fn(&str, &[u8], &mut TapeSink) -> Option<Result<(), E>>`:
/// `buf(len) -> ptr` gives a buffer the host fills with one batch, `decode() -> u32`
/// decodes it into the tape and returns the tape's length (`u32::MAX` on a bad batch).
#[macro_export]
macro_rules! wasm_exports {
    ($decode:path) => {
        // The cdylib links std (allocator, panic handler); the reader itself uses core only.
        extern crate std;
        #[cfg(target_arch = "wasm32")]
        mod wasm_exports {
            use core::cell::RefCell;
            use std::vec::Vec;
            use $crate::TapeSink;
            std::thread_local! {
                static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
                static TAPE: RefCell<TapeSink> = RefCell::new(TapeSink::default());
            }
            #[no_mangle]
            pub extern "C" fn buf(len: usize) -> *mut u8 {
                BUF.with(|b| {
                    let mut b = b.borrow_mut();
                    b.resize(len, 0);
                    b.as_mut_ptr()
                })
            }
            #[no_mangle]
            pub extern "C" fn decode() -> u32 {
                BUF.with(|b| {
                    TAPE.with(|t| {
                        let mut t = t.borrow_mut();
                        t.tape.clear();
                        match $crate::decode_batch(&b.borrow(), &mut *t, $decode) {
                            Ok(_) => t.tape.len() as u32,
                            Err(_) => u32::MAX,
                        }
                    })
                })
            }
        }
    };
}

mod extract;
