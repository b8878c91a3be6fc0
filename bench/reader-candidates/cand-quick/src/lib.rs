//! Candidate 3: quick-protobuf with pb-rs code generation. Borrowed `Cow<str>` strings,
//! but sub-messages and repeated fields are still owned `Option<T>` / `Vec<T>` (decoded
//! whole, allocating per message and per repeated element).
#![no_std]
extern crate alloc;

use quick_protobuf::{BytesReader, MessageRead};
use reader_sink::Sink;

/// pb-rs writes one file per .proto that names types as `webcast::T` (data.proto) and
/// `tikcast::webcast::T` (messages.proto); these modules give both paths.
#[allow(clippy::all, dead_code, unused_imports)]
pub mod pb {
    pub mod tikcast {
        pub mod webcast {
            use super::super::tikcast;
            use super::webcast;
            pub mod data {
                include!(concat!(env!("OUT_DIR"), "/data.rs"));
            }
            pub mod messages {
                include!(concat!(env!("OUT_DIR"), "/messages.rs"));
            }
            pub use data::*;
            pub use messages::*;
        }
    }
    pub use tikcast::webcast::*;
}

macro_rules! opt {
    ($m:ident, str) => {
        $m.str_pb.as_ref()
    };
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
        $m.type_pb
    };
}

macro_rules! str_field {
    ($m:ident) => {
        $m.str_pb
    };
}

reader_sink::extractor!('a, core::convert::Infallible;
    Common = pb::Common<'a>, Text = pb::Text<'a>, TextPiece = pb::TextPiece<'a>,
    PatternRef = pb::PatternRef<'a>, Image = pb::Image<'a>, User = pb::User<'a>,
    Badge = pb::Badge<'a>, UserIdentity = pb::UserIdentity, Chat = pb::ChatMessage<'a>,
    Gift = pb::GiftMessage<'a>, Like = pb::LikeMessage<'a>, Member = pb::MemberMessage<'a>,
    Social = pb::SocialMessage<'a>, RoomUser = pb::RoomUserSeqMessage<'a>,
);

/// Decodes a hot method's payload and writes the projection; `None` for other methods.
pub fn decode<S: Sink>(
    method: &str,
    p: &[u8],
    s: &mut S,
) -> Option<Result<(), quick_protobuf::Error>> {
    fn run<'a, M: MessageRead<'a>, S: Sink>(
        p: &'a [u8],
        s: &mut S,
        f: fn(&M, &mut S) -> Result<(), core::convert::Infallible>,
    ) -> Result<(), quick_protobuf::Error> {
        let mut r = BytesReader::from_bytes(p);
        let m = M::from_reader(&mut r, p)?;
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
