//! serde helpers behind the `serde` feature: the canonical event JSON writes 64-bit ids
//! as decimal strings (JavaScript numbers lose precision past 2^53), bytes as base64,
//! and protobuf users in the canonical `User` shape.

use serde::ser::{SerializeSeq, Serializer};

use crate::pb;
use crate::user::User;

pub fn u64_str<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

pub fn u64_list<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for id in v {
        seq.serialize_element(&Str(*id))?;
    }
    seq.end()
}

struct Str(u64);

impl serde::Serialize for Str {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

pub fn base64<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::base64::encode(v))
}

pub fn user_opt<S: Serializer>(v: &Option<pb::User>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(u) => s.serialize_some(&User::from_pb(u)),
        None => s.serialize_none(),
    }
}

pub fn user_list<S: Serializer>(v: &[pb::User], s: S) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for u in v {
        seq.serialize_element(&User::from_pb(u))?;
    }
    seq.end()
}
