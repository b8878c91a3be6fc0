//! The shape of every event the decoder writes, described from the same source the
//! reader writes from: the generated schema tables for the generic events (every proto
//! message a named type, its fields with their JSON keys and kinds) and the declarative
//! tables next to the hand-shaped writers in `shape.rs` (`chat`, `gift`, the canonical
//! `User`, ...). docs/events.md and js/src/events.generated.ts are generated from it
//! (`tests/events_doc.rs`), and `tests/event_shapes.rs` checks every event the reader
//! writes for the corpus against it, so the description cannot drift from the writers.
//!
//! Adding an event: a message in `proto/` plus a row in `routes!` (shape.rs) for a
//! generic one; a hand-shaped one also gets its writer and its row in `shape::decl`.
//! Then `TIKCAST_BLESS=1 cargo test -p tikcast-core --test events_doc` regenerates the
//! docs and the TS types (and `METHOD_EVENTS`, which the JS relay-JSON mapping uses).
//!
//! Native only (feature `schema`): the message names and `proto/` comments it carries
//! stay out of the wasm module.

use alloc::vec::Vec;

use crate::reader::{Kind, MESSAGES};

include!(concat!(env!("OUT_DIR"), "/schema_docs.rs"));

/// A message's name and the `proto/` comments on it and its fields.
pub(crate) struct MessageDoc {
    /// The proto name, nested names joined by dots (`LinkMicBattleMessage.BattleResult`).
    name: &'static str,
    /// The name of its TS interface (`LinkMicBattleMessageBattleResult`).
    ts_name: &'static str,
    doc: &'static str,
    /// Per field slot (fields sorted by number).
    fields: &'static [&'static str],
}

/// What a JSON value is, before list and null.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Base {
    /// A JSON number (32- and 64-bit signed integers, `uint32`).
    Number,
    /// A 64-bit id: a decimal string.
    Id,
    Bool,
    Str,
    /// Bytes as a base64 string.
    Base64,
    /// Bytes inside a list: an array of byte values (serde's default).
    ByteValues,
    /// The canonical user ([`named`] `"User"`).
    User,
    /// A hand-declared shape, by name ([`named`]).
    Shape(&'static str),
    /// A schema message, by row ([`message`]).
    Message(usize),
    /// A map field, by its entry message's row: a JSON object whose values are the
    /// entry's field 2 ([`map_value`]).
    Map(usize),
}

/// A JSON value's type: a base, possibly a list of it, possibly null.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ty {
    pub base: Base,
    pub list: bool,
    pub nullable: bool,
}

impl Ty {
    pub const fn of(base: Base) -> Ty {
        Ty {
            base,
            list: false,
            nullable: false,
        }
    }
    /// A list of this type.
    pub const fn list(self) -> Ty {
        Ty { list: true, ..self }
    }
    /// This type or null.
    pub const fn or_null(self) -> Ty {
        Ty {
            nullable: true,
            ..self
        }
    }
}

/// One field of an object: its JSON key, type and meaning.
#[derive(Clone, Copy, Debug)]
pub struct FieldShape {
    pub key: &'static str,
    pub ty: Ty,
    pub doc: &'static str,
}

/// A named object shape declared by hand (`User`, `ChatEmote`, ...).
#[derive(Debug)]
pub struct NamedShape {
    pub name: &'static str,
    pub doc: &'static str,
    pub fields: &'static [FieldShape],
}

/// Where an event's fields come from.
#[derive(Clone, Debug)]
pub enum Body {
    /// Declared by hand next to its writer.
    Fields(&'static [FieldShape]),
    /// Every field of a schema message (row), written generically.
    Message(usize),
}

/// One event name: where it comes from and its fields besides the common ones.
#[derive(Clone, Debug)]
pub struct EventShape {
    pub name: &'static str,
    /// The methods that produce it (`WebcastChatMessage`), or what does when no single
    /// method does (`a session`, `any unknown method`).
    pub from: Vec<&'static str>,
    /// One sentence on what it is, when there is more to say than its source.
    pub doc: &'static str,
    pub body: Body,
}

impl EventShape {
    /// The event's fields besides the common ones, in the order they are written.
    pub fn fields(&self) -> Vec<FieldShape> {
        match &self.body {
            Body::Fields(f) => f.to_vec(),
            Body::Message(row) => message_fields(*row),
        }
    }
}

/// A schema message: its name, its TS interface name and its `proto/` comment.
#[derive(Clone, Copy, Debug)]
pub struct MessageInfo {
    pub name: &'static str,
    pub ts_name: &'static str,
    pub doc: &'static str,
}

/// The schema message of row `row` (`None` past the table).
pub fn message(row: usize) -> Option<MessageInfo> {
    MESSAGE_DOCS.get(row).map(|d| MessageInfo {
        name: d.name,
        ts_name: d.ts_name,
        doc: d.doc,
    })
}

/// The number of schema messages.
pub fn message_count() -> usize {
    MESSAGES.len()
}

/// The type the reader writes for a field of kind `kind` (one value, before list/null).
fn base_of(kind: Kind, repeated: bool, sub: usize) -> Base {
    match kind {
        Kind::I32 | Kind::I64 | Kind::U32 => Base::Number,
        Kind::U64 => Base::Id,
        Kind::Bool => Base::Bool,
        Kind::Str => Base::Str,
        Kind::Bytes if repeated => Base::ByteValues,
        Kind::Bytes => Base::Base64,
        Kind::User => Base::User,
        Kind::Message | Kind::Common => Base::Message(sub),
        Kind::Map => Base::Map(sub),
    }
}

/// The fields the generic writer (`reader::write_fields`) writes for message `row`, in
/// its order: declaration order, `common` left out, a singular message or user null
/// when absent, a repeated field a list, a map an object.
pub fn message_fields(row: usize) -> Vec<FieldShape> {
    let Some(table) = MESSAGES.get(row) else {
        return Vec::new();
    };
    let docs = MESSAGE_DOCS.get(row).map_or(&[][..], |d| d.fields);
    let mut out = Vec::new();
    for &s in table.order {
        let s = usize::from(s);
        let Some(f) = table.fields.get(s) else {
            continue;
        };
        if f.kind == Kind::Common {
            continue;
        }
        let base = base_of(f.kind, f.repeated, usize::from(f.sub));
        let ty = if f.kind == Kind::Map {
            Ty::of(base)
        } else if f.repeated {
            Ty::of(base).list()
        } else if matches!(f.kind, Kind::Message | Kind::User) {
            Ty::of(base).or_null()
        } else {
            Ty::of(base)
        };
        out.push(FieldShape {
            key: f.key(),
            ty,
            doc: docs.get(s).copied().unwrap_or(""),
        });
    }
    out
}

/// The type of a map's values (entry row `entry`): never null, the default message
/// when absent.
pub fn map_value(entry: usize) -> Ty {
    let value = MESSAGES.get(entry).and_then(|t| t.fields.get(1));
    match value {
        Some(v) => Ty::of(base_of(v.kind, false, usize::from(v.sub))),
        None => Ty::of(Base::Str),
    }
}

/// The hand-declared shape called `name` (`User`, `EventBase`, `ChatEmote`, ...).
pub fn named(name: &str) -> Option<&'static NamedShape> {
    crate::shape::decl::NAMED.iter().find(|s| s.name == name)
}

/// Every hand-declared shape.
pub fn named_shapes() -> &'static [NamedShape] {
    crate::shape::decl::NAMED
}

/// Every event name the decoder and the session write, in a stable order: the events
/// of the known methods (in the route table's order), the derived events, `unknown` and
/// `decodeError`, then the session's own events.
pub fn events() -> Vec<EventShape> {
    use crate::shape::{decl, route, Shape, ROUTED_METHODS};
    let mut out: Vec<EventShape> = Vec::new();
    for &method in ROUTED_METHODS {
        let Some(r) = route(method) else { continue };
        if let Some(e) = out.iter_mut().find(|e| e.name == r.name) {
            e.from.push(method);
            continue;
        }
        let body = match r.shape {
            Shape::Generic(row, _) => Body::Message(row),
            Shape::Shaped(..) => Body::Fields(decl::shaped(r.name)),
            Shape::Opaque => Body::Fields(decl::OPAQUE),
        };
        out.push(EventShape {
            name: r.name,
            from: alloc::vec![method],
            doc: "",
            body,
        });
    }
    for &(name, source, doc) in decl::DERIVED {
        let Some(src) = out.iter().find(|e| e.name == source) else {
            continue;
        };
        let (from, body) = (src.from.clone(), src.body.clone());
        out.push(EventShape {
            name,
            from,
            doc,
            body,
        });
    }
    for &(name, from, doc, fields) in decl::OTHER {
        out.push(EventShape {
            name,
            from: alloc::vec![from],
            doc,
            body: Body::Fields(fields),
        });
    }
    out
}
