//! Decoder v2's schema reader: one interpreter over tables generated from `proto/`
//! (`build.rs`, `write_reader_tables`), reading borrowed views of the inflated batch and
//! writing events straight into a [`Sink`] — no owned structs, no per-field allocation.
//!
//! A payload is first checked and indexed in one walk ([`Index::build`]): every message
//! in it, at every level, with where each of its fields is. Then it becomes output in
//! one of two ways, both reading through [`View`]s of that index (no second walk):
//! - **generic**: every declared field, in declaration order, with the canonical JSON
//!   conventions (camelCase keys, `uint64` as decimal strings, bytes as base64, users in
//!   the canonical shape, the `common` header lifted into the event's meta), straight
//!   from the tables ([`write_fields`]);
//! - **views**: the hand-shaped events (`shape.rs`) read the few fields they need.
//!
//! Acceptance is prost's, so the two decoders agree on what is malformed: every declared
//! field must have its declared wire type, strings must be UTF-8, varints at most ten
//! bytes, keys at most 32 bits and never field 0 or wire type 6/7, lengths within the
//! message, nesting at most [`MAX_DEPTH`]; undeclared fields are skipped (groups to their
//! end tag). A singular message field sent twice is merged as prost merges it: the
//! payload is rewritten once ([`merged`]; the index keeps one offset per field). One
//! limit of our own: a message with more than [`MAX_INDEX`] nested messages and fields
//! is refused (its index would be too large).
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
    /// More nested messages and fields than one message may index ([`MAX_INDEX`]).
    TooComplex,
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
            ReadError::TooComplex => "too many nested messages and fields in one message",
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
    /// A string field's bytes, which the reader has already checked are UTF-8 (every
    /// string field is, when its message is indexed): a sink that stores bytes takes them
    /// as they are instead of checking them a second time.
    fn text(&mut self, v: &[u8]) {
        self.str(core::str::from_utf8(v).unwrap_or(""));
    }
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
    /// Writes the event just written again, its `type` (the first key, an ASCII name)
    /// replaced by `name`, and returns true; or writes nothing and returns false, and the
    /// caller writes the event itself. The session delivers most gift messages twice in a
    /// row (`giftRaw`, then `gift` or `giftStreak`): a copy costs a fraction of a reading.
    fn repeat_event(&mut self, name: &'static str) -> bool {
        let _ = name;
        false
    }
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

/// How many times field `s` of message `ty` occurs in `bytes` (its top level only): a
/// cheap look before a whole batch is indexed. The fields are not checked.
pub(crate) fn count(ty: usize, bytes: &[u8], s: usize) -> Result<usize> {
    let number = MESSAGES
        .get(ty)
        .and_then(|t| t.fields.get(s))
        .map(|f| u32::from(f.number))
        .ok_or(ReadError::Key)?;
    let (mut at, mut n) = (0, 0);
    while at < bytes.len() {
        let (k, wire) = key(bytes, &mut at)?;
        n += usize::from(k == number);
        skip(bytes, &mut at, k, wire, 0)?;
    }
    Ok(n)
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

/// "No node".
const NONE: u32 = u32::MAX;

/// Most nodes plus field entries one message may index: a payload nested wider than
/// this (never a real one: the largest capture needs a few thousand; a hostile 1 MiB of
/// empty nested messages needs 512 Ki) is refused with [`ReadError::TooComplex`], so the
/// index stays within about 32 MB, the order of the default output budget.
const MAX_INDEX: usize = 1 << 20;

// A node's present fields are one bit each in a `u64`.
const _: () = assert!(MAX_FIELDS <= 64);

/// What the walk learned about one present field of a message: offsets into the
/// message, so values are read when asked for, and the nested messages it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    /// The field's slot in its message's table.
    slot: u8,
    /// Offset of the last occurrence's value (after its key).
    last: u32,
    /// Offset of the key of the first occurrence (repeated fields are iterated from it).
    first: u32,
    /// The node of its nested message (the last one, for a singular field; the first,
    /// for a repeated one, the others chained by [`Node::next`]).
    child: u32,
    /// The last node of that chain, while the index is built.
    tail: u32,
}

/// One message of the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Node {
    /// Its row of [`MESSAGES`].
    ty: u16,
    /// The fields present, a bit a slot; their entries follow one another from
    /// `entries`, in slot order.
    present: u64,
    entries: u32,
    /// Where its bytes are in the indexed payload.
    at: u32,
    len: u32,
    /// The next element of the repeated field it is an element of.
    next: u32,
}

/// A nested message found while walking a level, indexed after the level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    slot: u8,
    at: u32,
    len: u32,
}

/// A payload checked and indexed in one walk: every message in it, at every level, with
/// where each of its fields is. Views over it read values without walking again. Keep
/// one and reuse it: building clears it and keeps its buffers.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Index {
    nodes: Vec<Node>,
    entries: Vec<Entry>,
    pending: Vec<Pending>,
    /// Strings are checked (off for a payload accepted before: [`Index::rebuild`]).
    utf8: bool,
    /// Nodes and entries before the payload being added (its [`MAX_INDEX`] counts from here).
    base: usize,
}

impl Index {
    pub(crate) fn new() -> Index {
        Index::default()
    }

    /// Checks `bytes` as message `ty` the way prost decodes it (see the module docs) and
    /// indexes it; [`Index::root`] then views it. On an error the index is empty.
    pub(crate) fn build(&mut self, ty: usize, bytes: &[u8]) -> Result<()> {
        self.clear();
        self.add(ty, bytes, true).map(drop)
    }

    /// [`Index::build`] for a payload a build has accepted before (a gift or like the
    /// session kept): its strings are not checked again.
    pub(crate) fn rebuild(&mut self, ty: usize, bytes: &[u8]) -> Result<()> {
        self.clear();
        self.add(ty, bytes, false).map(drop)
    }

    pub(crate) fn clear(&mut self) {
        self.nodes.clear();
        self.entries.clear();
        self.pending.clear();
    }

    /// Indexes `bytes` as message `ty` after what the index already holds (the gifts of
    /// one batch share one index), checking its strings when `utf8`; returns its root
    /// for [`Index::view`]. On an error the index is left as it was.
    pub(crate) fn add(&mut self, ty: usize, bytes: &[u8], utf8: bool) -> Result<u32> {
        if bytes.len() > u32::MAX as usize {
            return Err(ReadError::Truncated);
        }
        let (nodes, entries) = (self.nodes.len(), self.entries.len());
        self.utf8 = utf8;
        self.base = nodes + entries;
        let r = self.level(ty, bytes, 0, bytes.len(), 0);
        self.pending.clear();
        if r.is_err() {
            self.nodes.truncate(nodes);
            self.entries.truncate(entries);
        }
        r
    }

    /// The view of the message whose root [`Index::add`] returned, over the same bytes
    /// (an empty message of no type for another root: reads give defaults).
    pub(crate) fn view<'a>(&'a self, bytes: &'a [u8], root: u32) -> View<'a> {
        View::of(self, bytes, root).unwrap_or_else(|| View::empty(self, bytes, usize::MAX))
    }

    /// The view of the message last built from `bytes` by [`Index::build`].
    pub(crate) fn root<'a>(&'a self, bytes: &'a [u8]) -> View<'a> {
        self.view(bytes, 0)
    }

    /// Indexes message `ty` at `root[at..at + len]`, nested `depth` deep, then every
    /// message in it; returns its node.
    fn level(&mut self, ty: usize, root: &[u8], at: usize, len: usize, depth: u32) -> Result<u32> {
        if depth > MAX_DEPTH {
            return Err(ReadError::TooDeep);
        }
        if (self.nodes.len() + self.entries.len()).saturating_sub(self.base) > MAX_INDEX {
            return Err(ReadError::TooComplex);
        }
        let table = MESSAGES.get(ty).ok_or(ReadError::Key)?;
        let end = at.checked_add(len).ok_or(ReadError::Truncated)?;
        let bytes = root.get(at..end).ok_or(ReadError::Truncated)?;
        let id = self.nodes.len() as u32;
        let from = self.pending.len();
        let node = self.walk(ty, table, bytes, at, depth)?;
        self.nodes.push(node);
        let to = self.pending.len();
        for i in from..to {
            let Some(&p) = self.pending.get(i) else { break };
            let f = table
                .fields
                .get(usize::from(p.slot))
                .ok_or(ReadError::Key)?;
            let child = self.level(
                usize::from(f.sub),
                root,
                p.at as usize,
                p.len as usize,
                depth + 1,
            )?;
            let k = (node.present & ((1u64 << p.slot) - 1)).count_ones() as usize;
            let e = self
                .entries
                .get_mut(node.entries as usize + k)
                .ok_or(ReadError::Key)?;
            let tail = e.tail;
            if e.child == NONE || !f.repeated {
                e.child = child;
            }
            e.tail = child;
            if f.repeated && tail != NONE {
                if let Some(prev) = self.nodes.get_mut(tail as usize) {
                    prev.next = child;
                }
            }
        }
        self.pending.truncate(from);
        Ok(id)
    }

    /// Walks one message's own fields (`bytes`, at `base` in the payload): checks them,
    /// adds their entries and queues their nested messages.
    fn walk(
        &mut self,
        ty: usize,
        table: &'static Table,
        bytes: &[u8],
        base: usize,
        depth: u32,
    ) -> Result<Node> {
        let fields = table.fields;
        let from = self.entries.len();
        let mut present = 0u64;
        // Fields mostly come in slot order; the entries are sorted at the end if not.
        let mut sorted = true;
        let mut last_slot = 0;
        let mut at = 0;
        let mut hint = 0;
        while at < bytes.len() {
            let start = at;
            let (number, wire) = key(bytes, &mut at)?;
            let Some(i) = lookup(fields, number, &mut hint) else {
                skip(bytes, &mut at, number, wire, depth)?;
                continue;
            };
            let f = fields.get(i).ok_or(ReadError::Key)?;
            let value = at;
            let body = check_field(f, wire, bytes, &mut at, self.utf8)?;
            // `i` < MAX_FIELDS <= 64.
            let bit = 1u64 << i;
            if present & bit == 0 {
                present |= bit;
                sorted &= i >= last_slot;
                last_slot = i;
                self.entries.push(Entry {
                    slot: i as u8,
                    last: value as u32,
                    first: start as u32,
                    child: NONE,
                    tail: NONE,
                });
            } else {
                if !f.repeated && is_message(f.kind) {
                    return Err(ReadError::Duplicate);
                }
                let mine = self.entries.get_mut(from..).unwrap_or_default();
                if let Some(e) = mine.iter_mut().rev().find(|e| usize::from(e.slot) == i) {
                    e.last = value as u32;
                }
            }
            if is_message(f.kind) {
                self.pending.push(Pending {
                    slot: i as u8,
                    at: (base + at - body.len()) as u32,
                    len: body.len() as u32,
                });
            }
        }
        if !sorted {
            // Insertion sort: a message has at most MAX_FIELDS entries.
            let mine = self.entries.get_mut(from..).unwrap_or_default();
            for k in 1..mine.len() {
                let mut j = k;
                while j > 0 && mine.get(j - 1).map(|e| e.slot) > mine.get(j).map(|e| e.slot) {
                    mine.swap(j - 1, j);
                    j -= 1;
                }
            }
        }
        let entries = from as u32;
        Ok(Node {
            ty: ty as u16,
            present,
            entries,
            at: base as u32,
            len: bytes.len() as u32,
            next: NONE,
        })
    }
}

/// A message of an [`Index`]: its fields' values, read when asked for, borrowed from
/// the payload.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    ix: &'a Index,
    /// The indexed payload.
    root: &'a [u8],
    /// This message's bytes.
    bytes: &'a [u8],
    table: &'static Table,
    node: Node,
}

impl<'a> View<'a> {
    fn of(ix: &'a Index, root: &'a [u8], id: u32) -> Option<View<'a>> {
        let node = *ix.nodes.get(id as usize)?;
        let table = MESSAGES.get(usize::from(node.ty))?;
        let at = node.at as usize;
        let bytes = root.get(at..at.checked_add(node.len as usize)?)?;
        Some(View {
            ix,
            root,
            bytes,
            table,
            node,
        })
    }

    /// An absent message of type `ty`, read as its defaults.
    fn empty(ix: &'a Index, root: &'a [u8], ty: usize) -> View<'a> {
        View {
            ix,
            root,
            bytes: &[],
            table: MESSAGES.get(ty).unwrap_or(&EMPTY_TABLE),
            node: Node {
                ty: ty as u16,
                present: 0,
                entries: 0,
                at: 0,
                len: 0,
                next: NONE,
            },
        }
    }

    fn entry(&self, s: usize) -> Option<&'a Entry> {
        let bit = 1u64.checked_shl(u32::try_from(s).ok()?)?;
        if self.node.present & bit == 0 {
            return None;
        }
        let k = (self.node.present & (bit - 1)).count_ones() as usize;
        self.ix.entries.get(self.node.entries as usize + k)
    }

    fn field(&self, s: usize) -> Option<&'static Field> {
        self.table.fields.get(s)
    }

    /// The last value of a varint field (0 when absent).
    fn num(&self, s: usize) -> u64 {
        let Some(e) = self.entry(s) else { return 0 };
        let mut at = e.last as usize;
        varint(self.bytes, &mut at).unwrap_or(0)
    }

    /// The last value of a length-delimited field (empty when absent).
    pub(crate) fn bytes(&self, s: usize) -> &'a [u8] {
        let Some(e) = self.entry(s) else { return &[] };
        let mut at = e.last as usize;
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

    /// A singular nested message, `None` when absent.
    pub(crate) fn msg(&self, s: usize) -> Option<View<'a>> {
        View::of(self.ix, self.root, self.entry(s)?.child)
    }

    /// A singular nested message, read as its defaults when absent (a map's value).
    fn msg_or_default(&self, s: usize) -> View<'a> {
        self.msg(s).unwrap_or_else(|| {
            let ty = self.field(s).map_or(0, |f| usize::from(f.sub));
            View::empty(self.ix, self.root, ty)
        })
    }

    /// The raw occurrences of a repeated length-delimited field, in wire order.
    pub(crate) fn each(&self, s: usize) -> Each<'a> {
        Each {
            bytes: self.bytes,
            at: self.entry(s).map_or(self.bytes.len(), |e| e.first as usize),
            number: self.field(s).map_or(0, |f| u32::from(f.number)),
        }
    }

    /// The elements of a repeated message field, as views, in wire order.
    pub(crate) fn msgs(&self, s: usize) -> Children<'a> {
        Children {
            ix: self.ix,
            root: self.root,
            next: self.entry(s).map_or(NONE, |e| e.child),
        }
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

/// A table with no fields, for a view of no known type.
static EMPTY_TABLE: Table = Table {
    fields: &[],
    order: &[],
    common: 255,
};

/// The elements of a repeated message field.
pub(crate) struct Children<'a> {
    ix: &'a Index,
    root: &'a [u8],
    next: u32,
}

impl<'a> Iterator for Children<'a> {
    type Item = View<'a>;

    fn next(&mut self) -> Option<View<'a>> {
        let v = View::of(self.ix, self.root, self.next)?;
        self.next = v.node.next;
        Some(v)
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
            if utf8 && !is_ascii(s) {
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

/// Builds `ix` over `bytes` (message `ty`), merged by [`merged`] first when it sends a
/// singular message field twice; returns the bytes indexed (view them with
/// [`Index::root`]).
pub(crate) fn index<'p>(
    ix: &mut Index,
    ty: usize,
    bytes: &'p [u8],
) -> Result<alloc::borrow::Cow<'p, [u8]>> {
    ix.clear();
    index_more(ix, ty, bytes).map(|(b, _)| b)
}

/// [`index`] after what `ix` holds: the bytes indexed and their root ([`Index::view`]).
pub(crate) fn index_more<'p>(
    ix: &mut Index,
    ty: usize,
    bytes: &'p [u8],
) -> Result<(alloc::borrow::Cow<'p, [u8]>, u32)> {
    use alloc::borrow::Cow;
    match ix.add(ty, bytes, true) {
        Ok(root) => Ok((Cow::Borrowed(bytes), root)),
        Err(ReadError::Duplicate) => {
            let m = merged(ty, bytes)?;
            let root = ix.add(ty, &m, true)?;
            Ok((Cow::Owned(m), root))
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
    // Each singular message field's occurrences (by slot, in first-seen order).
    let mut joined: Vec<(usize, Vec<&[u8]>)> = Vec::new();
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
                Some((_, parts)) => parts.push(body),
                None => joined.push((i, alloc::vec![body])),
            }
        }
    }
    let mut inner = Vec::new();
    for (i, parts) in joined {
        let f = fields.get(i).ok_or(ReadError::Key)?;
        let sub = usize::from(f.sub);
        // Each occurrence must be a whole message on its own, as prost decodes each one
        // before merging it: joined, a truncated occurrence could borrow the next one's
        // bytes and read as valid (found by fuzzing against the oracle). Its own level is
        // enough to check here: its nested messages stay whole in the joined bytes and
        // are checked the same way when the merge below reaches their level.
        if parts.len() > 1 {
            for part in &parts {
                check_level(sub, part, depth + 1)?;
            }
        }
        let all = parts.concat();
        inner.clear();
        merge_into(sub, &all, depth + 1, &mut inner, budget)?;
        put_message(u32::from(f.number), &inner, out, budget)?;
    }
    Ok(())
}

/// Checks that `bytes` is a sequence of whole fields of message `ty` (keys, wire types and
/// lengths), without looking inside nested messages or strings.
fn check_level(ty: usize, bytes: &[u8], depth: u32) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(ReadError::TooDeep);
    }
    let fields = MESSAGES.get(ty).ok_or(ReadError::Key)?.fields;
    let mut at = 0;
    let mut hint = 0;
    while at < bytes.len() {
        let (number, wire) = key(bytes, &mut at)?;
        match lookup(fields, number, &mut hint) {
            Some(i) => {
                let f = fields.get(i).ok_or(ReadError::Key)?;
                check_field(f, wire, bytes, &mut at, false)?;
            }
            None => skip(bytes, &mut at, number, wire, depth)?,
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ generic writing

/// Shared state of one batch's writing: the output budget, and the index each message
/// is read through (one, reused: its buffers are kept from message to message).
pub(crate) struct Ctx {
    /// `size()` of the sink past which writing stops.
    pub limit: usize,
    /// The budget it was made from ([`crate::DecodeOptions::max_expansion`]), for errors.
    pub cap: usize,
    pub ix: core::cell::RefCell<Index>,
}

impl Ctx {
    /// A budget of `cap` from the sink's size `start`.
    pub(crate) fn new(start: usize, cap: usize) -> Ctx {
        Ctx {
            limit: start.saturating_add(cap),
            cap,
            ix: core::cell::RefCell::new(Index::new()),
        }
    }

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
/// canonical way.
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
            // Checked with the rest, never written: its fields are the event's meta.
            continue;
        }
        sink.key(f.key());
        if f.kind == Kind::Map {
            write_map(view, s, f, sink, ctx)?;
        } else if f.repeated {
            sink.begin_array();
            match f.kind {
                Kind::Message | Kind::User => {
                    for sub in view.msgs(s) {
                        ctx.check(sink)?;
                        if f.kind == Kind::User {
                            crate::shape::write_user(&sub, sink, ctx)?;
                        } else {
                            sink.begin_object();
                            write_fields(&sub, sink, ctx)?;
                            sink.end_object();
                        }
                    }
                }
                _ => {
                    for (wire, b) in view.each(s) {
                        ctx.check(sink)?;
                        match f.kind {
                            Kind::Str => sink.text(b),
                            Kind::Bytes => {
                                // serde's default for a list of byte strings: arrays of
                                // numbers.
                                sink.begin_array();
                                for &x in b {
                                    sink.uint(u64::from(x));
                                }
                                sink.end_array();
                            }
                            _ => {
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
                }
            }
            sink.end_array();
        } else {
            match f.kind {
                Kind::Str => sink.text(view.bytes(s)),
                Kind::Bytes => sink.base64(view.bytes(s)),
                Kind::Message | Kind::User => match view.msg(s) {
                    None => sink.null(),
                    Some(sub) if f.kind == Kind::User => {
                        crate::shape::write_user(&sub, sink, ctx)?;
                    }
                    Some(sub) => {
                        sink.begin_object();
                        write_fields(&sub, sink, ctx)?;
                        sink.end_object();
                    }
                },
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
    let entry_table = MESSAGES.get(usize::from(f.sub)).ok_or(ReadError::Key)?;
    let (Some(kf), Some(vf)) = (entry_table.fields.first(), entry_table.fields.get(1)) else {
        return Err(ReadError::Key);
    };
    let mut entries: Vec<(MapKey<'_>, View<'_>)> = Vec::new();
    for e in view.msgs(s) {
        ctx.check(sink)?;
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
        Kind::Str => sink.text(entry.bytes(1)),
        Kind::Bytes => sink.base64(entry.bytes(1)),
        Kind::Message | Kind::Common | Kind::Map => {
            // A map's value is never null: absent means the default message.
            let sub = entry.msg_or_default(1);
            sink.begin_object();
            write_fields(&sub, sink, ctx)?;
            sink.end_object();
        }
        Kind::User => crate::shape::write_user(&entry.msg_or_default(1), sink, ctx)?,
        _ => scalar(vf.kind, entry.num(1), sink),
    }
    Ok(())
}

/// Whether `v` is all ASCII, 16 bytes a step in two 64-bit words (`<[u8]>::is_ascii`
/// steps by `usize`, 4 bytes in wasm32): most strings of a frame are ASCII (URLs, ids,
/// handles), and every one is checked (for UTF-8 by the reader, then by the wasm tape,
/// which keeps ASCII strings apart).
pub fn is_ascii(v: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut blocks = v.chunks_exact(16);
    for b in &mut blocks {
        let (Some(x), Some(y)) = (b.get(..8), b.get(8..)) else {
            return false;
        };
        let (Ok(x), Ok(y)) = (<[u8; 8]>::try_from(x), <[u8; 8]>::try_from(y)) else {
            return false;
        };
        if (u64::from_le_bytes(x) | u64::from_le_bytes(y)) & HIGH != 0 {
            return false;
        }
    }
    blocks.remainder().is_ascii()
}

/// `v` in decimal, written at the end of `buf`.
pub fn decimal(v: u64, buf: &mut [u8; 21]) -> &str {
    fmt_int(false, v, buf)
}

/// Room for a formatted 64-bit integer and its sign.
pub(crate) fn itoa_buf() -> [u8; 21] {
    [0; 21]
}

/// `-mag` (when `neg`) or `mag` in decimal, written at the end of `buf`.
pub(crate) fn fmt_int(neg: bool, mut mag: u64, buf: &mut [u8; 21]) -> &str {
    let mut i = buf.len();
    // A 64-bit division by 10 is a real division in wasm32 (no 64-bit multiply-high to
    // turn it into a multiplication): nine digits at a time are split off with it, and
    // written with 32-bit arithmetic (every message has several 19-digit ids).
    loop {
        let more = mag >= 1_000_000_000;
        let mut chunk = (mag % 1_000_000_000) as u32;
        mag /= 1_000_000_000;
        let mut digits = 0;
        while i > 0 {
            i -= 1;
            if let Some(b) = buf.get_mut(i) {
                *b = b'0' + (chunk % 10) as u8;
            }
            chunk /= 10;
            digits += 1;
            if (more && digits == 9) || (!more && chunk == 0) {
                break;
            }
        }
        if !more || i == 0 {
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
        if !needs_escape(bytes) {
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

/// Whether a JSON string of `bytes` needs an escape (a control character, `"` or `\`).
#[inline]
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
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
    fn repeat_event(&mut self, name: &'static str) -> bool {
        const HEAD: &str = "{\"type\":\"";
        let Some(&(a, b)) = self.events.last() else {
            return false;
        };
        // The last event must end the text, begin with its type, and `name` need no
        // escape.
        let quoted = needs_escape(name.as_bytes());
        let tail = match self.out.get(a..b) {
            Some(last) if b == self.out.len() && !quoted => last
                .strip_prefix(HEAD)
                .and_then(|rest| rest.find('"').and_then(|q| rest.get(q..))),
            _ => None,
        };
        let Some(tail) = tail.map(String::from) else {
            return false;
        };
        let start = self.out.len();
        self.out.push_str(HEAD);
        self.out.push_str(name);
        self.out.push_str(&tail);
        self.events.push((start, self.out.len()));
        self.comma = false;
        true
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    #[test]
    fn is_ascii_agrees_with_core_at_every_length_and_position() {
        for len in 0..70 {
            let ascii: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(super::is_ascii(&ascii), "{len}");
            for at in 0..len {
                for high in [0x80u8, 0xc3, 0xff] {
                    let mut v = ascii.clone();
                    v[at] = high;
                    assert!(!super::is_ascii(&v), "{len} {at} {high:#x}");
                    assert_eq!(super::is_ascii(&v), v.is_ascii());
                }
            }
        }
    }

    #[test]
    fn the_json_sink_repeats_its_last_event_under_another_type() {
        use super::{JsonSink, Sink};
        let event = |s: &mut JsonSink, ty: Option<&str>| {
            s.event_start();
            s.begin_object();
            if let Some(ty) = ty {
                s.key("type");
                s.str(ty);
            }
            s.key("typeName");
            s.str("giftRaw \"x\"");
            s.end_object();
            s.event_end();
        };
        let mut s = JsonSink::new();
        assert!(!s.repeat_event("gift"), "no event yet");
        event(&mut s, Some("giftRaw"));
        assert!(s.repeat_event("giftStreak"));
        assert!(s.repeat_event("gift"));
        assert!(!s.repeat_event("a\"b"), "a name to escape");
        let texts: Vec<&str> = s.texts().collect();
        let body = r#""typeName":"giftRaw \"x\""}"#;
        assert_eq!(
            texts,
            [
                alloc::format!(r#"{{"type":"giftRaw",{body}"#),
                alloc::format!(r#"{{"type":"giftStreak",{body}"#),
                alloc::format!(r#"{{"type":"gift",{body}"#),
            ]
        );
        // An event without a type first is not copied, nor one truncated away.
        event(&mut s, None);
        assert!(!s.repeat_event("gift"));
        let mark = s.size();
        event(&mut s, Some("giftRaw"));
        s.truncate(mark);
        assert!(!s.repeat_event("gift"));
        assert_eq!(s.size(), mark);
    }

    #[test]
    fn decimal_writes_every_width() {
        let mut buf = [0; 21];
        let mut values = alloc::vec![
            0,
            7,
            10,
            99,
            12_345,
            u64::from(u32::MAX),
            u64::MAX,
            u64::MAX - 1
        ];
        for p in 1..20 {
            let t = 10u64.pow(p);
            values.extend([t - 1, t, t + 1, t.saturating_mul(9)]);
        }
        for v in values {
            assert_eq!(super::decimal(v, &mut buf), alloc::format!("{v}"));
        }
        for v in [
            1i64,
            -1,
            -7,
            -1_000_000_000,
            i64::MIN,
            i64::MIN + 1,
            -123_456_789_012,
        ] {
            assert_eq!(
                super::fmt_int(v < 0, v.unsigned_abs(), &mut buf),
                alloc::format!("{v}")
            );
        }
    }
}
