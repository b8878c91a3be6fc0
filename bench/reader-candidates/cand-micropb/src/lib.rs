//! Candidate 2: micropb (micropb-gen code generation) with alloc containers. Owned
//! `String`/`Vec`; sub-messages stored inline with presence bits (no `Box`), decoded
//! whole. (micropb's borrowed/fixed-capacity containers need a bound per field, which
//! unbounded wire data does not have.)
#![no_std]
extern crate alloc;

use micropb::MessageDecode;
use reader_sink::Sink;

#[allow(
    clippy::all,
    dead_code,
    non_camel_case_types,
    non_snake_case,
    unused_parens,
    unused
)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/webcast.rs"));
    pub use tikcast_::webcast_::*;
}

macro_rules! opt {
    ($m:ident, $f:ident) => {
        $m.$f()
    };
}
macro_rules! each {
    ($x:ident in $m:ident . $f:ident => $body:block) => {
        for $x in $m.$f.iter() $body
    };
}
macro_rules! ty {
    ($m:ident) => {
        $m.r#type
    };
}
macro_rules! str_field {
    ($m:ident) => {
        $m.r#str
    };
}

reader_sink::extractor!('a, core::convert::Infallible;
    Common = pb::Common, Text = pb::Text, TextPiece = pb::TextPiece, PatternRef = pb::PatternRef,
    Image = pb::Image, User = pb::User, Badge = pb::Badge, UserIdentity = pb::UserIdentity,
    Chat = pb::ChatMessage, Gift = pb::GiftMessage, Like = pb::LikeMessage,
    Member = pb::MemberMessage, Social = pb::SocialMessage, RoomUser = pb::RoomUserSeqMessage,
);

type Error = micropb::DecodeError<core::convert::Infallible>;

/// Decodes a hot method's payload and writes the projection; `None` for other methods.
pub fn decode<S: Sink>(method: &str, p: &[u8], s: &mut S) -> Option<Result<(), Error>> {
    fn run<M: MessageDecode + Default, S: Sink>(
        p: &[u8],
        s: &mut S,
        f: fn(&M, &mut S) -> Result<(), core::convert::Infallible>,
    ) -> Result<(), Error> {
        let mut m = M::default();
        m.decode_from_bytes(p)?;
        let Ok(()) = f(&m, s);
        Ok(())
    }
    Some(match method {
        "WebcastChatMessage" => run(p, s, chat),
        "WebcastGiftMessage" => run(p, s, gift),
        "WebcastLikeMessage" => run(p, s, like),
        "WebcastMemberMessage" => run(p, s, member),
        "WebcastSocialMessage" => run(p, s, social),
        "WebcastRoomUserSeqMessage" => run(p, s, room_user),
        _ => return None,
    })
}

reader_sink::wasm_exports!(crate::decode);
