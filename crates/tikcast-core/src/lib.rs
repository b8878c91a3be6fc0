//! # tikcast-core
//!
//! A `no_std` + `alloc` decoder for TikTok LIVE "Webcast" traffic: push frames, gzip,
//! fetch results and 112 message methods into typed [`Event`]s, plus the frames a client
//! sends (enter-room, heartbeat, ack), and a sans-IO [`Session`] engine (heartbeats,
//! acks, liveness, reconnect policy, exactly-once delivery, gift streaks). It knows
//! nothing of sockets, clocks or JS; the wasm crate and the native binary drive it.
//!
//! Every byte is treated as hostile: decoding never panics, inflated output and frame
//! size are capped ([`DecodeOptions`]), protobuf nesting is limited (prost's recursion
//! limit), and a bad message becomes an [`Event::DecodeError`] while the rest of its
//! frame still decodes.
//!
//! ```
//! let events = tikcast_core::decode_message("WebcastLikeMessage", &[0x10, 0x05, 0x18, 0x2a]);
//! let tikcast_core::Event::Like(like) = &events[0] else { panic!() };
//! assert_eq!((like.like_count, like.total_like_count), (5, 42));
//! ```
//!
//! Features:
//! - `serde` (default): `Serialize` for every event, giving the canonical event JSON of
//!   `docs/events.md` (camelCase, 64-bit ids as strings, `type` = event name).
//! - `schema` (default, native only): [`schema`], the shape of every event, from which
//!   docs/events.md and the TS types are generated.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod base64;
pub mod client;
mod cost;
pub mod crc32;
pub mod decode;
pub mod error;
pub mod events;
pub mod gzip;
#[cfg(feature = "serde")]
mod json;
mod keys;
pub mod reader;
#[cfg(feature = "schema")]
pub mod schema;
pub mod session;
mod shape;
mod small;
pub mod user;
pub mod wire;
pub mod write;

/// Types generated from `proto/` (our clean-room schema).
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/tikcast.webcast.rs"));
}

pub use client::{ack_frame, enter_room_frame, heartbeat_frame, EnterRoom};
pub use decode::{
    decode_batch, decode_batch_with, decode_frame, decode_frame_filtered, decode_frame_with,
    decode_message, DecodeOptions, Decoded, EnvelopeInfo, FrameInfo,
};
pub use error::DecodeError;
pub use events::{Event, EventMeta};
pub use reader::{JsonSink, Sink};
pub use session::{ConnId, Mode, Output, ReconnectPolicy, Session, SessionConfig, StateChange};
pub use user::User;
pub use write::{write_batch, write_frame, write_message};

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
