//! Candidate 1: femtopb (femtopb-build code generation). Borrowed `&str`, sub-messages
//! decoded in place without allocation, repeated fields lazy (re-scanned from the
//! message bytes on each iteration, each element decoded as it is reached).
#![no_std]

use femtopb::Message;
use reader_sink::Sink;

#[allow(clippy::all, dead_code)]
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
        for $x in $m.$f.iter() {
            let $x = &$x?;
            $body
        }
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

reader_sink::extractor!('a, femtopb::error::DecodeError;
    Common = pb::Common<'a>, Text = pb::Text<'a>, TextPiece = pb::TextPiece<'a>,
    PatternRef = pb::PatternRef<'a>, Image = pb::Image<'a>, User = pb::User<'a>,
    Badge = pb::Badge<'a>, UserIdentity = pb::UserIdentity<'a>, Chat = pb::ChatMessage<'a>,
    Gift = pb::GiftMessage<'a>, Like = pb::LikeMessage<'a>, Member = pb::MemberMessage<'a>,
    Social = pb::SocialMessage<'a>, RoomUser = pb::RoomUserSeqMessage<'a>,
);

/// Decodes a hot method's payload and writes the projection; `None` for other methods.
pub fn decode<S: Sink>(
    method: &str,
    p: &[u8],
    s: &mut S,
) -> Option<Result<(), femtopb::error::DecodeError>> {
    fn run<'a, M: Message<'a>, S: Sink>(
        p: &'a [u8],
        s: &mut S,
        f: fn(&M, &mut S) -> Result<(), femtopb::error::DecodeError>,
    ) -> Result<(), femtopb::error::DecodeError> {
        f(&M::decode(p)?, s)
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
