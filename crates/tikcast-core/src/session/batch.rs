//! What the session delivers: a [`Batch`] of events, kept as the bytes they come from.
//!
//! The session reads only the facts it needs from each message (msg id, method, the gift
//! streak key, like counts, the control action) and queues the rest as items that refer
//! to the inflated batch the frame carried. The driver writes a batch into its output
//! when it takes it: [`Batch::write`] into any [`Sink`] (the browser's tape, canonical
//! JSON), or [`Batch::to_events`] for native code that wants typed [`Event`]s. Nothing
//! is decoded into owned structs on the way to a sink.

use alloc::vec::Vec;

use crate::decode::{decode_message_into, EnvelopeInfo};
use crate::error::DecodeError;
use crate::events::{Event, LikeAggregateEvent};
use crate::reader::{Ctx, Index, ReadError, Sink};
use crate::shape;
use crate::write::{protobuf, too_expensive, write_one};

/// A range of a batch's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u32,
    pub len: u32,
}

impl Span {
    /// The span of `part`, a slice of `whole`; `None` when it is not one.
    pub(crate) fn of(whole: &[u8], part: &[u8]) -> Option<Span> {
        if part.is_empty() {
            // An absent field reads as an empty slice that need not point into `whole`.
            return Some(Span { start: 0, len: 0 });
        }
        let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
        let end = start.checked_add(part.len())?;
        (end <= whole.len()).then_some(Span {
            start: u32::try_from(start).ok()?,
            len: u32::try_from(part.len()).ok()?,
        })
    }

    fn get(self, whole: &[u8]) -> &[u8] {
        let start = self.start as usize;
        whole
            .get(start..start.saturating_add(self.len as usize))
            .unwrap_or(&[])
    }
}

/// Where an item's payload is: in its batch, or kept by the session (a streak's last
/// gift, a like window's last like) past the batch it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Payload {
    /// A span of the batch, whose message the batch's index holds from this root.
    Indexed(Span, u32),
    Owned(Vec<u8>),
}

/// How a gift message is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GiftAs {
    /// `gift`, as it came.
    Gift,
    /// `giftRaw`: every gift message.
    Raw,
    /// `giftStreak`: an update of a running streak.
    Streak,
    /// The `gift` that closes a streak whose end never came (`timedOut`, `repeatEnd`).
    TimedOut,
}

impl GiftAs {
    /// The event's `type`.
    fn name(self) -> &'static str {
        match self {
            GiftAs::Gift | GiftAs::TimedOut => "gift",
            GiftAs::Raw => "giftRaw",
            GiftAs::Streak => "giftStreak",
        }
    }
}

/// Whether gift item `next` is gift item `prev`'s event under another `type` (the same
/// message, neither a timed-out close), so a sink may copy it
/// ([`Sink::repeat_event`]).
fn repeats(prev: &Item, next: &Item) -> bool {
    match (prev, next) {
        (
            Item::Gift {
                as_: a,
                payload: p,
                env: e,
            },
            Item::Gift {
                as_: b,
                payload: q,
                env: f,
            },
        ) => *a != GiftAs::TimedOut && *b != GiftAs::TimedOut && e == f && p == q,
        _ => false,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// Every event the decoder makes of a message (its event, a derived one, `unknown`
    /// or `decodeError`).
    Message {
        method: Span,
        payload: Span,
        env: EnvelopeInfo,
    },
    /// A gift message (already checked by `shape::gift_facts`).
    Gift {
        as_: GiftAs,
        payload: Payload,
        env: EnvelopeInfo,
    },
    /// A like window: the last like message and the sums.
    LikeAggregate {
        payload: Payload,
        env: EnvelopeInfo,
        like_count: i64,
        batches: u32,
    },
}

/// Events for the user, in order: one per frame or timer. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    bytes: Vec<u8>,
    items: Vec<Item>,
    /// The gift messages of the batch, as `shape::gift_facts` indexed them
    /// ([`Payload::Indexed`]), so they are not walked again to be written.
    ix: Index,
    /// The output budget ([`crate::DecodeOptions::max_expansion`]).
    cap: usize,
}

impl Batch {
    pub(crate) fn new(bytes: Vec<u8>, items: Vec<Item>, ix: Index, cap: usize) -> Batch {
        Batch {
            bytes,
            items,
            ix,
            cap,
        }
    }

    /// How many items (messages, streak closes, like windows) the batch holds; each
    /// writes one or more events.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// A method name of the batch (checked UTF-8 when the batch was read).
    fn text(&self, span: Span) -> &str {
        core::str::from_utf8(span.get(&self.bytes)).unwrap_or("")
    }

    fn payload<'a>(&'a self, p: &'a Payload) -> &'a [u8] {
        match p {
            Payload::Indexed(s, _) => s.get(&self.bytes),
            Payload::Owned(v) => v,
        }
    }

    /// Writes every event into `sink`, in order. A message that does not decode becomes
    /// a `decodeError` event. Fails only when the events would pass the output budget
    /// (`DecodeOptions::max_expansion`): then nothing is left written.
    pub fn write(&self, sink: &mut dyn Sink) -> Result<(), DecodeError> {
        let start = sink.size();
        let ctx = Ctx::new(start, self.cap);
        // The gift item written last, when its event is the sink's last.
        let mut last_gift: Option<&Item> = None;
        for item in &self.items {
            let done = match (item, last_gift) {
                (Item::Gift { as_, .. }, Some(prev)) if repeats(prev, item) => {
                    sink.repeat_event(as_.name())
                }
                _ => false,
            };
            // A copy is held to the budget whole, once written; an event written in full
            // is checked on the way (last before its user), so at the very edge of the
            // budget the two may part: the copy refusing a batch that just fits.
            let written = if done {
                ctx.check(sink).map_err(|_| too_expensive(&ctx))
            } else {
                self.write_item(item, sink, &ctx)
            };
            if let Err(e) = written {
                sink.truncate(start);
                return Err(e);
            }
            last_gift = matches!(item, Item::Gift { .. }).then_some(item);
        }
        Ok(())
    }

    fn write_item(&self, item: &Item, sink: &mut dyn Sink, ctx: &Ctx) -> Result<(), DecodeError> {
        let read = |r: Result<(), ReadError>| match r {
            Ok(()) => Ok(()),
            Err(ReadError::Budget) => Err(too_expensive(ctx)),
            Err(e) => Err(protobuf("payload", e)),
        };
        match item {
            Item::Message {
                method,
                payload,
                env,
            } => {
                let method = self.text(*method);
                write_one(method, payload.get(&self.bytes), *env, sink, ctx)
            }
            Item::Gift { as_, payload, env } => {
                let (name, timed_out) = (as_.name(), *as_ == GiftAs::TimedOut);
                let p = self.payload(payload);
                let indexed = match payload {
                    Payload::Indexed(_, root) => Some((&self.ix, *root)),
                    _ => None,
                };
                read(shape::write_gift_as(
                    name, timed_out, p, indexed, *env, sink, ctx,
                ))
            }
            Item::LikeAggregate {
                payload,
                env,
                like_count,
                batches,
            } => {
                let p = self.payload(payload);
                read(shape::write_like_aggregate(
                    p,
                    *env,
                    *like_count,
                    *batches,
                    sink,
                    ctx,
                ))
            }
        }
    }

    /// The events as typed Rust values (the typed model of [`crate::events`]), for
    /// native code. Each message gets the default output budget of its own.
    pub fn to_events(&self) -> Vec<Event> {
        let mut out = Vec::with_capacity(self.items.len());
        let mut one = Vec::new();
        for item in &self.items {
            match item {
                Item::Message {
                    method,
                    payload,
                    env,
                } => {
                    let method = self.text(*method);
                    decode_message_into(method, payload.get(&self.bytes), *env, &mut out);
                }
                Item::Gift { as_, payload, env } => {
                    one.clear();
                    let p = self.payload(payload);
                    decode_message_into("WebcastGiftMessage", p, *env, &mut one);
                    out.extend(one.drain(..).map(|e| match (e, as_) {
                        (Event::Gift(g), GiftAs::Raw) => Event::GiftRaw(g),
                        (Event::Gift(g), GiftAs::Streak) => Event::GiftStreak(g),
                        (Event::Gift(mut g), GiftAs::TimedOut) => {
                            g.timed_out = true;
                            g.repeat_end = true;
                            Event::Gift(g)
                        }
                        (e, _) => e,
                    }));
                }
                Item::LikeAggregate {
                    payload,
                    env,
                    like_count,
                    batches,
                } => {
                    one.clear();
                    let p = self.payload(payload);
                    decode_message_into("WebcastLikeMessage", p, *env, &mut one);
                    out.extend(one.drain(..).map(|e| match e {
                        Event::Like(l) => Event::LikeAggregate(LikeAggregateEvent {
                            meta: l.meta,
                            user: l.user,
                            like_count: *like_count,
                            total_like_count: l.total_like_count,
                            batches: *batches,
                        }),
                        e => e,
                    }));
                }
            }
        }
        out
    }
}
