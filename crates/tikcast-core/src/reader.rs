//! Decoder v2's schema reader: one interpreter over tables generated from `proto/`
//! (`build.rs`, `write_reader_tables`), reading borrowed views of the inflated batch and
//! writing events straight into a [`Sink`] — no owned structs, no per-field allocation.
//!
//! Two ways a message becomes output:
//! - **generic**: every declared field, in declaration order, with the canonical JSON
//!   conventions (camelCase keys, `uint64` as decimal strings, bytes as base64, users in
//!   the canonical shape, the `common` header lifted into the event's meta), straight
//!   from the tables ([`write_fields`]);
//! - **views**: the hand-shaped events (`shape.rs`) read the few fields they need through
//!   [`View`]s, after the whole payload has been checked once ([`validate`]).
//!
//! Acceptance is prost's, so the two decoders agree on what is malformed: every declared
//! field must have its declared wire type, strings must be UTF-8, varints at most ten
//! bytes, keys at most 32 bits and never field 0 or wire type 6/7, lengths within the
//! message, nesting at most [`MAX_DEPTH`]; undeclared fields are skipped (groups to their
//! end tag). A singular message field sent twice is merged as prost merges it: the
//! payload is rewritten once ([`merged`]; views keep one offset per field).
//!
//! Nothing here indexes unchecked or unwraps: every read is `get` or checked arithmetic.

use alloc::string::String;
use alloc::vec::Vec;

include!(concat!(env!("OUT_DIR"), "/reader_tables.rs"));

/// How a field's value is read and written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Kind {
    I32,
    I64,
    #[allow(dead_code)] // no uint32 field in the schema yet; build.rs maps one here
    U32,
    U64,
    Bool,
    Str,
    Bytes,
    Message,
    /// A `User`, written in the canonical shape (`shape::write_user`).
    User,
    /// The `common` header: checked, never written as a field (it feeds the meta).
    Common,
    /// A map; `sub` is its entry message (key field 1, value field 2).
    Map,
}

/// One field of a message table (10 bytes: the tables are a good part of the module).
pub(crate) struct Field {
    pub number: u16,
    pub kind: Kind,
    pub repeated: bool,
    /// The field's message (or map entry) type, as a row of [`MESSAGES`].
    pub sub: u16,
    /// The JSON key: `KEYS[key_at..key_at + key_len]`.
    pub key_at: u16,
    pub key_len: u8,
}

impl Field {
    /// The JSON key.
    pub(crate) fn key(&self) -> &'static str {
        let at = usize::from(self.key_at);
        KEYS.get(at..at + usize::from(self.key_len)).unwrap_or("")
    }
}

/// A message: its fields sorted by number, the order they are written in, and the slot
/// of its `common` header (255 for none).
pub(crate) struct Table {
    pub fields: &'static [Field],
    pub order: &'static [u8],
    pub common: u8,
}

/// prost's recursion limit: a message nested deeper than this is refused.
pub(crate) const MAX_DEPTH: u32 = 100;

/// Why a payload was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ReadError {
    Truncated,
    Varint,
    Key,
    WireType,
    Utf8,
    TooDeep,
    Duplicate,
    EndGroup,
    /// The output would pass the batch's expansion budget.
    Budget,
}

impl ReadError {
    /// The reason, as the `decodeError` event and logs say it.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            ReadError::Truncated => "truncated field or length past the end",
            ReadError::Varint => "invalid varint",
            ReadError::Key => "invalid field key",
            ReadError::WireType => "wire type does not match the schema",
            ReadError::Utf8 => "string is not utf-8",
            ReadError::TooDeep => "nesting too deep",
            ReadError::Duplicate => "singular message field sent twice",
            ReadError::EndGroup => "unexpected end group tag",
            ReadError::Budget => "output budget exceeded",
        }
    }
}

pub(crate) type Result<T> = core::result::Result<T, ReadError>;

/// Where the reader writes. Keys are the canonical JSON keys; `id` writes a 64-bit id
/// (a decimal string in JSON); `event_start`/`event_end` bracket one event.
pub trait Sink {
    fn event_start(&mut self) {}
    fn event_end(&mut self) {}
    fn begin_object(&mut self);
    fn end_object(&mut self);
    fn begin_array(&mut self);
    fn end_array(&mut self);
    fn key(&mut self, key: &'static str);
    /// A key made at run time (map keys).
    fn key_str(&mut self, key: &str);
    fn str(&mut self, v: &str);
    fn id(&mut self, v: u64);
    fn int(&mut self, v: i64);
    fn uint(&mut self, v: u64);
    fn bool(&mut self, v: bool);
    fn null(&mut self);
    fn base64(&mut self, v: &[u8]);
    /// How much has been written (bytes or units of the sink's own measure); checked
    /// against the expansion budget.
    fn size(&self) -> usize;
    /// Drops everything written after `size() == mark` (an event that failed midway).
    fn truncate(&mut self, mark: usize);
}

// ------------------------------------------------------------------ wire primitives

#[inline(always)]
pub(crate) fn varint(b: &[u8], at: &mut usize) -> Result<u64> {
    match b.get(*at) {
        Some(&x) if x < 0x80 => {
            *at += 1;
            return Ok(u64::from(x));
        }
        None => return Err(ReadError::Truncated),
        _ => {}
    }
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let x = *b.get(*at).ok_or(ReadError::Truncated)?;
        *at += 1;
        if shift == 63 && x > 1 {
            return Err(ReadError::Varint);
        }
        v |= u64::from(x & 0x7f) << shift;
        if x < 0x80 {
            return Ok(v);
        }
        shift += 7;
        if shift > 63 {
            return Err(ReadError::Varint);
        }
    }
}

#[inline(always)]
fn take<'a>(b: &'a [u8], at: &mut usize, len: u64) -> Result<&'a [u8]> {
    let len = usize::try_from(len).map_err(|_| ReadError::Truncated)?;
    let end = at.checked_add(len).ok_or(ReadError::Truncated)?;
    let s = b.get(*at..end).ok_or(ReadError::Truncated)?;
    *at = end;
    Ok(s)
}

#[inline(always)]
fn key(b: &[u8], at: &mut usize) -> Result<(u32, u32)> {
    let key = u32::try_from(varint(b, at)?).map_err(|_| ReadError::Key)?;
    let (number, wire) = (key >> 3, key & 7);
    if number == 0 || wire > 5 {
        return Err(ReadError::Key);
    }
    Ok((number, wire))
}

/// Skips an undeclared field of a message nested `depth` deep, as prost does: refused at
/// the nesting limit, groups skipped to their matching end tag.
fn skip(b: &[u8], at: &mut usize, number: u32, wire: u32, depth: u32) -> Result<()> {
    if depth >= MAX_DEPTH {
        return Err(ReadError::TooDeep);
    }
    match wire {
        0 => varint(b, at).map(drop),
        1 => take(b, at, 8).map(drop),
        2 => {
            let len = varint(b, at)?;
            take(b, at, len).map(drop)
        }
        5 => take(b, at, 4).map(drop),
        3 => loop {
            let (n, w) = key(b, at)?;
            if w == 4 {
                return if n == number {
                    Ok(())
                } else {
                    Err(ReadError::EndGroup)
                };
            }
            skip(b, at, n, w, depth + 1)?;
        },
        _ => Err(ReadError::EndGroup),
    }
}

/// Finds the slot of field `number`, trying `hint` first (fields mostly come in order).
#[inline]
fn lookup(fields: &[Field], number: u32, hint: &mut usize) -> Option<usize> {
    if let Some(f) = fields.get(*hint) {
        if u32::from(f.number) == number {
            let i = *hint;
            *hint += 1;
            return Some(i);
        }
    }
    let i = fields.partition_point(|f| u32::from(f.number) < number);
    fields.get(i).filter(|f| u32::from(f.number) == number)?;
    *hint = i + 1;
    Some(i)
}

// ------------------------------------------------------------------ index and views

/// What one pass over a message learned about a field: offsets into the message, so
/// a view stays small (12 bytes a field) and values are read when asked for.
#[derive(Clone, Copy, Default)]
struct Slot {
    /// Offset of the last occurrence's value (after its key).
    last: u32,
    /// Offset of the key of the first occurrence (for repeated fields).
    first: u32,
    count: u32,
}

/// A message read once: where each declared field's last value (or first occurrence,
/// for repeated fields) is, borrowed from the payload. Its direct fields are checked;
/// nested messages are checked by [`validate`] or when they are read.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    table: &'static Table,
    bytes: &'a [u8],
    depth: u32,
    /// Already checked by [`validate`]: strings are not checked again.
    trusted: bool,
    slots: [Slot; MAX_FIELDS],
}

impl<'a> View<'a> {
    /// Reads message `ty` from `bytes`, nested `depth` deep, checking its direct fields.
    pub(crate) fn new(ty: usize, bytes: &'a [u8], depth: u32) -> Result<View<'a>> {
        Self::open(ty, bytes, depth, false)
    }

    /// Reads message `ty` that [`validate`] has accepted (its strings are not checked
    /// again, nor those of the views made from it).
    pub(crate) fn trusted(ty: usize, bytes: &'a [u8], depth: u32) -> Result<View<'a>> {
        Self::open(ty, bytes, depth, true)
    }

    fn open(ty: usize, bytes: &'a [u8], depth: u32, trusted: bool) -> Result<View<'a>> {
        if depth > MAX_DEPTH {
            return Err(ReadError::TooDeep);
        }
        let table = MESSAGES.get(ty).ok_or(ReadError::Key)?;
        if bytes.len() > u32::MAX as usize {
            return Err(ReadError::Truncated);
        }
        let mut view = View {
            table,
            bytes,
            depth,
            trusted,
            slots: [Slot::default(); MAX_FIELDS],
        };
        let fields = table.fields;
        let mut at = 0;
        let mut hint = 0;
        while at < bytes.len() {
            let start = at as u32;
            let (number, wire) = key(bytes, &mut at)?;
            let Some(i) = lookup(fields, number, &mut hint) else {
                skip(bytes, &mut at, number, wire, depth)?;
                continue;
            };
            let (Some(f), Some(slot)) = (fields.get(i), view.slots.get_mut(i)) else {
                return Err(ReadError::Key);
            };
            let value = at as u32;
            check_field(f, wire, bytes, &mut at, !trusted)?;
            if slot.count == 0 {
                slot.first = start;
            } else if !f.repeated && is_message(f.kind) {
                return Err(ReadError::Duplicate);
            }
            slot.last = value;
            slot.count = slot.count.saturating_add(1);
        }
        Ok(view)
    }

    fn slot(&self, s: usize) -> Slot {
        self.slots.get(s).copied().unwrap_or_default()
    }

    fn field(&self, s: usize) -> Option<&'static Field> {
        self.table.fields.get(s)
    }

    /// The last value of a varint field (0 when absent).
    fn num(&self, s: usize) -> u64 {
        let slot = self.slot(s);
        if slot.count == 0 {
            return 0;
        }
        let mut at = slot.last as usize;
        varint(self.bytes, &mut at).unwrap_or(0)
    }

    /// The last value of a length-delimited field (empty when absent).
    pub(crate) fn bytes(&self, s: usize) -> &'a [u8] {
        let slot = self.slot(s);
        if slot.count == 0 {
            return &[];
        }
        let mut at = slot.last as usize;
        varint(self.bytes, &mut at)
            .and_then(|len| take(self.bytes, &mut at, len))
            .unwrap_or(&[])
    }

    /// The message's `common` header, when it has one.
    pub(crate) fn common(&self) -> Option<View<'a>> {
        let s = usize::from(self.table.common);
        if s == 255 {
            return None;
        }
        self.msg(s)
    }

    /// How many times the field occurred.
    pub(crate) fn count(&self, s: usize) -> usize {
        self.slot(s).count as usize
    }

    pub(crate) fn has(&self, s: usize) -> bool {
        self.slot(s).count > 0
    }

    pub(crate) fn u64(&self, s: usize) -> u64 {
        self.num(s)
    }

    pub(crate) fn i64(&self, s: usize) -> i64 {
        self.num(s) as i64
    }

    /// A 32-bit field: the varint truncated, as protobuf specifies.
    pub(crate) fn i32(&self, s: usize) -> i32 {
        self.num(s) as i32
    }

    pub(crate) fn bool(&self, s: usize) -> bool {
        self.num(s) != 0
    }

    pub(crate) fn str(&self, s: usize) -> &'a str {
        core::str::from_utf8(self.bytes(s)).unwrap_or("")
    }

    /// A singular nested message, `None` when absent (or, never after [`validate`],
    /// malformed).
    pub(crate) fn msg(&self, s: usize) -> Option<View<'a>> {
        let f = self.field(s)?;
        if self.slot(s).count == 0 {
            return None;
        }
        View::open(
            usize::from(f.sub),
            self.bytes(s),
            self.depth + 1,
            self.trusted,
        )
        .ok()
    }

    /// The raw occurrences of a repeated length-delimited field, in wire order.
    pub(crate) fn each(&self, s: usize) -> Each<'a> {
        let slot = self.slot(s);
        Each {
            bytes: self.bytes,
            at: if slot.count == 0 {
                self.bytes.len()
            } else {
                slot.first as usize
            },
            number: self.field(s).map_or(0, |f| u32::from(f.number)),
        }
    }

    /// The elements of a repeated message field, as views.
    pub(crate) fn msgs(&self, s: usize) -> impl Iterator<Item = View<'a>> + 'a {
        let sub = self.field(s).map_or(0, |f| usize::from(f.sub));
        let depth = self.depth + 1;
        let trusted = self.trusted;
        self.each(s).filter_map(move |(wire, b)| {
            (wire == 2).then(|| View::open(sub, b, depth, trusted).ok())?
        })
    }

    /// The values of a repeated varint field (packed or not), in wire order.
    pub(crate) fn varints(&self, s: usize) -> impl Iterator<Item = u64> + 'a {
        self.each(s).flat_map(|(wire, b)| Varints {
            bytes: b,
            at: 0,
            single: wire == 0,
        })
    }
}

/// Occurrences of one field number in a message: `(wire type, value)`, where a varint's
/// value is its bytes.
pub(crate) struct Each<'a> {
    bytes: &'a [u8],
    at: usize,
    number: u32,
}

impl<'a> Iterator for Each<'a> {
    type Item = (u32, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        while self.at < self.bytes.len() {
            let (number, wire) = key(self.bytes, &mut self.at).ok()?;
            let start = self.at;
            if number != self.number {
                skip(self.bytes, &mut self.at, number, wire, 0).ok()?;
                continue;
            }
            return match wire {
                0 => {
                    varint(self.bytes, &mut self.at).ok()?;
                    Some((0, self.bytes.get(start..self.at)?))
                }
                2 => {
                    let len = varint(self.bytes, &mut self.at).ok()?;
                    Some((2, take(self.bytes, &mut self.at, len).ok()?))
                }
                _ => {
                    skip(self.bytes, &mut self.at, number, wire, 0).ok()?;
                    continue;
                }
            };
        }
        None
    }
}

/// The varints of a packed run, or one varint's bytes.
struct Varints<'a> {
    bytes: &'a [u8],
    at: usize,
    single: bool,
}

impl Iterator for Varints<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.at >= self.bytes.len() || (self.single && self.at > 0) {
            return None;
        }
        varint(self.bytes, &mut self.at).ok()
    }
}

fn is_message(kind: Kind) -> bool {
    matches!(kind, Kind::Message | Kind::User | Kind::Common | Kind::Map)
}

/// Reads one declared field's value at `at` (after its key) as prost checks it: the
/// declared wire type (or packed, for a repeated number), UTF-8 for strings, whole
/// varints. Returns a nested message's bytes.
#[inline]
fn check_field<'a>(
    f: &Field,
    wire: u32,
    b: &'a [u8],
    at: &mut usize,
    utf8: bool,
) -> Result<&'a [u8]> {
    match (f.kind, wire) {
        (Kind::Str, 2) => {
            let len = varint(b, at)?;
            let s = take(b, at, len)?;
            if utf8 {
                core::str::from_utf8(s).map_err(|_| ReadError::Utf8)?;
            }
            Ok(&[])
        }
        (Kind::Bytes, 2) => {
            let len = varint(b, at)?;
            take(b, at, len).map(|_| &[][..])
        }
        (Kind::Message | Kind::User | Kind::Common | Kind::Map, 2) => {
            let len = varint(b, at)?;
            take(b, at, len)
        }
        (Kind::Str | Kind::Bytes | Kind::Message | Kind::User | Kind::Common | Kind::Map, _) => {
            Err(ReadError::WireType)
        }
        (_, 2) if f.repeated => {
            let len = varint(b, at)?;
            let body = take(b, at, len)?;
            let mut i = 0;
            while i < body.len() {
                varint(body, &mut i)?;
            }
            Ok(&[])
        }
        (_, 0) => varint(b, at).map(|_| &[][..]),
        _ => Err(ReadError::WireType),
    }
}

/// Checks a whole message as prost would decode it: its fields and, recursively, every
/// declared nested message, in one walk that builds no views. After this, views over
/// it never fail.
pub(crate) fn validate(ty: usize, bytes: &[u8], depth: u32) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(ReadError::TooDeep);
    }
    let fields = MESSAGES.get(ty).ok_or(ReadError::Key)?.fields;
    // Singular message fields seen (by slot): a second one is refused.
    let mut seen = 0u64;
    let mut at = 0;
    let mut hint = 0;
    while at < bytes.len() {
        let (number, wire) = key(bytes, &mut at)?;
        let Some(i) = lookup(fields, number, &mut hint) else {
            skip(bytes, &mut at, number, wire, depth)?;
            continue;
        };
        let f = fields.get(i).ok_or(ReadError::Key)?;
        let body = check_field(f, wire, bytes, &mut at, true)?;
        if is_message(f.kind) {
            if !f.repeated {
                let bit = 1u64 << (i % 64);
                if seen & bit != 0 {
                    return Err(ReadError::Duplicate);
                }
                seen |= bit;
            }
            validate(usize::from(f.sub), body, depth + 1)?;
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ merging

/// Largest payload [`merged`] rewrites; a bigger one sending a singular message field
/// twice stays refused (a `decodeError` event).
const MERGE_MAX_INPUT: usize = 1 << 20;
/// What [`merged`] may write over all nesting levels, per input byte.
const MERGE_FACTOR: usize = 16;

/// Protobuf merges a singular message field sent more than once: the occurrences are one
/// message, as if their bytes were concatenated (prost does it; our own demo and mock
/// encoders rely on it to stamp `common`). A view keeps one offset per field, so such a
/// payload is rewritten once, each such field's occurrences joined, recursively; scalars
/// and repeated fields keep their order (the last scalar still wins). The rare path:
/// real captures never take it. Writes at most [`MERGE_FACTOR`] bytes per input byte.
pub(crate) fn merged(ty: usize, bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.len() > MERGE_MAX_INPUT {
        return Err(ReadError::Duplicate);
    }
    let mut budget = bytes
        .len()
        .saturating_mul(MERGE_FACTOR)
        .saturating_add(4096);
    let mut out = Vec::with_capacity(bytes.len());
    merge_into(ty, bytes, 0, &mut out, &mut budget)?;
    Ok(out)
}

/// `bytes` (message `ty`) as `validate` accepts it, merged by [`merged`] when it sends a
/// singular message field twice.
pub(crate) fn checked(ty: usize, bytes: &[u8]) -> Result<alloc::borrow::Cow<'_, [u8]>> {
    use alloc::borrow::Cow;
    match validate(ty, bytes, 0) {
        Ok(()) => Ok(Cow::Borrowed(bytes)),
        Err(ReadError::Duplicate) => {
            let m = merged(ty, bytes)?;
            validate(ty, &m, 0)?;
            Ok(Cow::Owned(m))
        }
        Err(e) => Err(e),
    }
}

fn charge(budget: &mut usize, n: usize) -> Result<()> {
    *budget = budget.checked_sub(n).ok_or(ReadError::Duplicate)?;
    Ok(())
}

fn put_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_message(number: u32, body: &[u8], out: &mut Vec<u8>, budget: &mut usize) -> Result<()> {
    charge(budget, body.len().saturating_add(15))?;
    put_varint(u64::from(number) << 3 | 2, out);
    put_varint(body.len() as u64, out);
    out.extend_from_slice(body);
    Ok(())
}

fn merge_into(
    ty: usize,
    bytes: &[u8],
    depth: u32,
    out: &mut Vec<u8>,
    budget: &mut usize,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(ReadError::TooDeep);
    }
    let fields = MESSAGES.get(ty).ok_or(ReadError::Key)?.fields;
    // Each singular message field's occurrences, joined (by slot, in first-seen order).
    let mut joined: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut at = 0;
    let mut hint = 0;
    while at < bytes.len() {
        let start = at;
        let (number, wire) = key(bytes, &mut at)?;
        let Some(i) = lookup(fields, number, &mut hint) else {
            skip(bytes, &mut at, number, wire, depth)?;
            let raw = bytes.get(start..at).ok_or(ReadError::Truncated)?;
            charge(budget, raw.len())?;
            out.extend_from_slice(raw);
            continue;
        };
        let f = fields.get(i).ok_or(ReadError::Key)?;
        let body = check_field(f, wire, bytes, &mut at, true)?;
        if !is_message(f.kind) {
            let raw = bytes.get(start..at).ok_or(ReadError::Truncated)?;
            charge(budget, raw.len())?;
            out.extend_from_slice(raw);
        } else if f.repeated {
            let mut inner = Vec::new();
            merge_into(usize::from(f.sub), body, depth + 1, &mut inner, budget)?;
            put_message(number, &inner, out, budget)?;
        } else {
            charge(budget, body.len())?;
            match joined.iter_mut().find(|(slot, _)| *slot == i) {
                Some((_, all)) => all.extend_from_slice(body),
                None => joined.push((i, body.to_vec())),
            }
        }
    }
    for (i, all) in joined {
        let f = fields.get(i).ok_or(ReadError::Key)?;
        let mut inner = Vec::new();
        merge_into(usize::from(f.sub), &all, depth + 1, &mut inner, budget)?;
        put_message(u32::from(f.number), &inner, out, budget)?;
    }
    Ok(())
}

// ------------------------------------------------------------------ generic writing

/// Shared state of one message's writing: the output budget.
pub(crate) struct Ctx {
    /// `size()` of the sink past which writing stops.
    pub limit: usize,
    /// The budget it was made from ([`crate::DecodeOptions::max_expansion`]), for errors.
    pub cap: usize,
}

impl Ctx {
    #[inline]
    pub(crate) fn check<S: Sink + ?Sized>(&self, sink: &S) -> Result<()> {
        if sink.size() > self.limit {
            Err(ReadError::Budget)
        } else {
            Ok(())
        }
    }
}

/// Writes the fields of message `view` (not its braces), in declaration order, the
/// canonical way. Nested messages are read (and checked) as they are written.
pub(crate) fn write_fields<S: Sink + ?Sized>(
    view: &View<'_>,
    sink: &mut S,
    ctx: &Ctx,
) -> Result<()> {
    ctx.check(sink)?;
    for &s in view.table.order {
        let s = usize::from(s);
        let Some(f) = view.field(s) else { continue };
        if f.kind == Kind::Common {
            // Checked, never written: its fields are the event's meta.
            if view.has(s) {
                validate(usize::from(f.sub), view.bytes(s), view.depth + 1)?;
            }
            continue;
        }
        sink.key(f.key());
        if f.kind == Kind::Map {
            write_map(view, s, f, sink, ctx)?;
        } else if f.repeated {
            sink.begin_array();
            for (wire, b) in view.each(s) {
                ctx.check(sink)?;
                match (f.kind, wire) {
                    (Kind::Str, _) => sink.str(core::str::from_utf8(b).unwrap_or("")),
                    (Kind::Bytes, _) => {
                        // serde's default for a list of byte strings: arrays of numbers.
                        sink.begin_array();
                        for &x in b {
                            sink.uint(u64::from(x));
                        }
                        sink.end_array();
                    }
                    (Kind::Message, _) => {
                        let sub = View::new(usize::from(f.sub), b, view.depth + 1)?;
                        sink.begin_object();
                        write_fields(&sub, sink, ctx)?;
                        sink.end_object();
                    }
                    (Kind::User, _) => {
                        validate(usize::from(f.sub), b, view.depth + 1)?;
                        let sub = View::trusted(usize::from(f.sub), b, view.depth + 1)?;
                        crate::shape::write_user(&sub, sink, ctx)?;
                    }
                    (_, _) => {
                        for v in (Varints {
                            bytes: b,
                            at: 0,
                            single: wire == 0,
                        }) {
                            scalar(f.kind, v, sink);
                        }
                    }
                }
            }
            sink.end_array();
        } else {
            let bytes = view.bytes(s);
            match f.kind {
                Kind::Str => sink.str(core::str::from_utf8(bytes).unwrap_or("")),
                Kind::Bytes => sink.base64(bytes),
                Kind::Message | Kind::User if !view.has(s) => sink.null(),
                Kind::Message => {
                    let sub = View::new(usize::from(f.sub), bytes, view.depth + 1)?;
                    sink.begin_object();
                    write_fields(&sub, sink, ctx)?;
                    sink.end_object();
                }
                Kind::User => {
                    validate(usize::from(f.sub), bytes, view.depth + 1)?;
                    let sub = View::trusted(usize::from(f.sub), bytes, view.depth + 1)?;
                    crate::shape::write_user(&sub, sink, ctx)?;
                }
                _ => scalar(f.kind, view.num(s), sink),
            }
        }
    }
    Ok(())
}

#[inline]
fn scalar<S: Sink + ?Sized>(kind: Kind, v: u64, sink: &mut S) {
    match kind {
        Kind::I32 => sink.int(i64::from(v as i32)),
        Kind::I64 => sink.int(v as i64),
        Kind::U32 => sink.uint(u64::from(v as u32)),
        Kind::U64 => sink.id(v),
        Kind::Bool => sink.bool(v != 0),
        _ => sink.null(),
    }
}

/// A map key as the canonical JSON sorts and writes it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum MapKey<'a> {
    Unsigned(u64),
    Signed(i64),
    Text(&'a str),
}

/// A map field: a JSON object, keys sorted as the (B-tree) map of the typed model sorts
/// them, the last entry winning for a repeated key, a missing value written as its
/// type's default.
fn write_map<S: Sink + ?Sized>(
    view: &View<'_>,
    s: usize,
    f: &Field,
    sink: &mut S,
    ctx: &Ctx,
) -> Result<()> {
    let entry_ty = usize::from(f.sub);
    let entry_table = MESSAGES.get(entry_ty).ok_or(ReadError::Key)?;
    let (Some(kf), Some(vf)) = (entry_table.fields.first(), entry_table.fields.get(1)) else {
        return Err(ReadError::Key);
    };
    let mut entries: Vec<(MapKey<'_>, View<'_>)> = Vec::new();
    for (_, b) in view.each(s) {
        ctx.check(sink)?;
        let e = View::new(entry_ty, b, view.depth + 1)?;
        let k = match kf.kind {
            Kind::Str => MapKey::Text(e.str(0)),
            Kind::U64 | Kind::U32 => MapKey::Unsigned(match kf.kind {
                Kind::U32 => u64::from(e.u64(0) as u32),
                _ => e.u64(0),
            }),
            Kind::I32 => MapKey::Signed(i64::from(e.i32(0))),
            _ => MapKey::Signed(e.i64(0)),
        };
        // Account for what the list holds, so a flood of tiny entries stays in budget.
        if entries.len() * 64 > ctx.limit {
            return Err(ReadError::Budget);
        }
        entries.push((k, e));
    }
    // Stable: equal keys keep wire order, and the last of them wins.
    crate::small::sort_stable(&mut entries, |a, b| a.0.cmp(&b.0));
    sink.begin_object();
    for (i, (k, e)) in entries.iter().enumerate() {
        if entries.get(i + 1).is_some_and(|n| n.0 == *k) {
            continue;
        }
        ctx.check(sink)?;
        let mut buf = itoa_buf();
        sink.key_str(match k {
            MapKey::Text(t) => t,
            MapKey::Unsigned(v) => fmt_int(false, *v, &mut buf),
            MapKey::Signed(v) => fmt_int(*v < 0, v.unsigned_abs(), &mut buf),
        });
        write_map_value(e, vf, sink, ctx)?;
    }
    sink.end_object();
    Ok(())
}

fn write_map_value<S: Sink + ?Sized>(
    entry: &View<'_>,
    vf: &Field,
    sink: &mut S,
    ctx: &Ctx,
) -> Result<()> {
    match vf.kind {
        Kind::Str => sink.str(entry.str(1)),
        Kind::Bytes => sink.base64(entry.bytes(1)),
        Kind::Message | Kind::Common | Kind::Map => {
            // A map's value is never null: absent means the default message.
            let bytes = entry.bytes(1);
            let sub = View::new(usize::from(vf.sub), bytes, entry.depth + 1)?;
            sink.begin_object();
            write_fields(&sub, sink, ctx)?;
            sink.end_object();
        }
        Kind::User => {
            let bytes = entry.bytes(1);
            validate(usize::from(vf.sub), bytes, entry.depth + 1)?;
            let sub = View::trusted(usize::from(vf.sub), bytes, entry.depth + 1)?;
            crate::shape::write_user(&sub, sink, ctx)?;
        }
        _ => scalar(vf.kind, entry.num(1), sink),
    }
    Ok(())
}

/// Room for a formatted 64-bit integer and its sign.
pub(crate) fn itoa_buf() -> [u8; 21] {
    [0; 21]
}

/// `-mag` (when `neg`) or `mag` in decimal, written at the end of `buf`.
pub(crate) fn fmt_int(neg: bool, mut mag: u64, buf: &mut [u8; 21]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(b) = buf.get_mut(i) {
            *b = b'0' + (mag % 10) as u8;
        }
        mag /= 10;
        if mag == 0 || i == 0 {
            break;
        }
    }
    if neg && i > 0 {
        i -= 1;
        if let Some(b) = buf.get_mut(i) {
            *b = b'-';
        }
    }
    buf.get(i..)
        .and_then(|d| core::str::from_utf8(d).ok())
        .unwrap_or("0")
}

/// Appends `bytes` as padded standard base64 to `out` (for sinks writing `base64`).
pub fn base64_into(bytes: &[u8], out: &mut String) {
    crate::base64::encode_into(bytes, out);
}

// ------------------------------------------------------------------ JSON sink

/// Writes the canonical event JSON (what `serde_json` writes for the typed events): one
/// compact object per event, events separated by nothing; `events` has each event's
/// byte range.
#[derive(Default)]
pub struct JsonSink {
    pub out: String,
    pub events: Vec<(usize, usize)>,
    comma: bool,
    start: usize,
}

impl JsonSink {
    pub fn new() -> Self {
        Self::default()
    }

    /// Each event's JSON text.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.events
            .iter()
            .map(|&(a, b)| self.out.get(a..b).unwrap_or(""))
    }

    /// Forgets every event, keeping the buffers.
    pub fn clear(&mut self) {
        self.out.clear();
        self.events.clear();
        self.comma = false;
    }

    #[inline]
    fn pre(&mut self) {
        if self.comma {
            self.out.push(',');
        }
    }

    fn quoted(&mut self, s: &str) {
        self.out.push('"');
        let bytes = s.as_bytes();
        // Most strings need no escape: copy them whole.
        if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
            self.out.push_str(s);
            self.out.push('"');
            return;
        }
        let mut from = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let esc: &str = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0..=0x1f => "",
                _ => continue,
            };
            self.out.push_str(s.get(from..i).unwrap_or(""));
            if esc.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.out.push_str("\\u00");
                self.out
                    .push(char::from(*HEX.get(usize::from(b >> 4)).unwrap_or(&b'0')));
                self.out
                    .push(char::from(*HEX.get(usize::from(b & 15)).unwrap_or(&b'0')));
            } else {
                self.out.push_str(esc);
            }
            from = i + 1;
        }
        self.out.push_str(s.get(from..).unwrap_or(""));
        self.out.push('"');
    }
}

impl Sink for JsonSink {
    fn event_start(&mut self) {
        self.comma = false;
        self.start = self.out.len();
    }
    fn event_end(&mut self) {
        self.events.push((self.start, self.out.len()));
        self.comma = false;
    }
    fn begin_object(&mut self) {
        self.pre();
        self.out.push('{');
        self.comma = false;
    }
    fn end_object(&mut self) {
        self.out.push('}');
        self.comma = true;
    }
    fn begin_array(&mut self) {
        self.pre();
        self.out.push('[');
        self.comma = false;
    }
    fn end_array(&mut self) {
        self.out.push(']');
        self.comma = true;
    }
    fn key(&mut self, key: &'static str) {
        self.key_str(key);
    }
    fn key_str(&mut self, key: &str) {
        self.pre();
        self.quoted(key);
        self.out.push(':');
        self.comma = false;
    }
    fn str(&mut self, v: &str) {
        self.pre();
        self.quoted(v);
        self.comma = true;
    }
    fn id(&mut self, v: u64) {
        self.pre();
        let mut buf = itoa_buf();
        self.out.push('"');
        self.out.push_str(fmt_int(false, v, &mut buf));
        self.out.push('"');
        self.comma = true;
    }
    fn int(&mut self, v: i64) {
        self.pre();
        let mut buf = itoa_buf();
        self.out
            .push_str(fmt_int(v < 0, v.unsigned_abs(), &mut buf));
        self.comma = true;
    }
    fn uint(&mut self, v: u64) {
        self.pre();
        let mut buf = itoa_buf();
        self.out.push_str(fmt_int(false, v, &mut buf));
        self.comma = true;
    }
    fn bool(&mut self, v: bool) {
        self.pre();
        self.out.push_str(if v { "true" } else { "false" });
        self.comma = true;
    }
    fn null(&mut self) {
        self.pre();
        self.out.push_str("null");
        self.comma = true;
    }
    fn base64(&mut self, v: &[u8]) {
        self.pre();
        self.out.push('"');
        crate::base64::encode_into(v, &mut self.out);
        self.out.push('"');
        self.comma = true;
    }
    fn size(&self) -> usize {
        self.out.len()
    }
    fn truncate(&mut self, mark: usize) {
        self.out.truncate(mark);
        self.comma = false;
    }
}
