//! Candidate 4: prost, today's reader. Owned structs (`String`, `Vec`, `Option<T>`
//! allocated per message), decoded whole, then walked by the shared projection.
#![no_std]
extern crate alloc;

use prost::Message;
use reader_sink::Sink;

#[allow(clippy::all)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/tikcast.webcast.rs"));
}

macro_rules! opt {
    ($m:ident, $f:ident) => {
        $m.$f.as_ref()
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
        $m.str
    };
}

reader_sink::extractor!('a, core::convert::Infallible;
    Common = pb::Common, Text = pb::Text, TextPiece = pb::TextPiece, PatternRef = pb::PatternRef,
    Image = pb::Image, User = pb::User, Badge = pb::Badge, UserIdentity = pb::UserIdentity,
    Chat = pb::ChatMessage, Gift = pb::GiftMessage, Like = pb::LikeMessage,
    Member = pb::MemberMessage, Social = pb::SocialMessage, RoomUser = pb::RoomUserSeqMessage,
);

/// Decodes a hot method's payload and writes the projection; `None` for other methods.
pub fn decode<S: Sink>(
    method: &str,
    p: &[u8],
    s: &mut S,
) -> Option<Result<(), prost::DecodeError>> {
    fn run<M: Message + Default, S: Sink>(
        p: &[u8],
        s: &mut S,
        f: fn(&M, &mut S) -> Result<(), core::convert::Infallible>,
    ) -> Result<(), prost::DecodeError> {
        let m = M::decode(p)?;
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
