//! Writes `tables.rs`: one compact field table per schema message, from the
//! FileDescriptorSet protox makes of proto/ (as tikcast-core's build.rs writes its cost
//! tables). Each table lists, sorted by field number, the fields the reader emits: number,
//! kind, repeated flag, sub-message index and name. Fields not listed are skipped.
//!
//! Three table sets: `HOT_TABLES` holds only the fields today's events read for the six
//! hot messages (the projection every candidate decodes, see reader-sink), `ALL_TABLES`
//! every declared field of every message (what a generic event would serialize), and
//! `CHECKED_TABLES` every declared field with `emit` set only on the projection: the
//! other fields are read and checked (wire type, UTF-8, sub-messages) but not written, so
//! the reader refuses what prost refuses.
use std::collections::BTreeMap;
use std::fmt::Write;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::DescriptorProto;

/// The fields the events read (crates/tikcast-core/src/events.rs and user.rs), per message.
const PROJECTION: &[(&str, &[&str])] = &[
    (
        "Common",
        &["msg_id", "room_id", "create_time", "display_text"],
    ),
    ("Text", &["key", "default_pattern", "pieces"]),
    (
        "TextPiece",
        &[
            "string_value",
            "user_value",
            "gift_value",
            "pattern_ref_value",
        ],
    ),
    ("TextPieceUser", &["user"]),
    ("TextPieceGift", &["name_ref"]),
    ("PatternRef", &["key", "default_pattern"]),
    ("Image", &["url_list"]),
    (
        "User",
        &[
            "id",
            "nickname",
            "avatar_thumb",
            "avatar_medium",
            "avatar_large",
            "follow_info",
            "pay_grade",
            "fans_club",
            "display_id",
            "sec_uid",
            "badge_list",
            "follow_status",
            "is_subscribe",
        ],
    ),
    ("FollowInfo", &["follow_status"]),
    ("UserHonor", &["level"]),
    ("FansClubMember", &["data"]),
    ("FansClubData", &["club_name", "level"]),
    (
        "Badge",
        &[
            "scene_type",
            "privilege_log_extra",
            "image",
            "text",
            "str",
            "combine",
        ],
    ),
    ("PrivilegeLogExtra", &["level"]),
    ("ImageBadge", &["image"]),
    ("TextBadge", &["key", "default_pattern"]),
    ("StringBadge", &["str"]),
    ("CombineBadge", &["icon", "text", "str"]),
    (
        "UserIdentity",
        &[
            "is_subscriber_of_anchor",
            "is_mutual_following_with_anchor",
            "is_follower_of_anchor",
            "is_moderator_of_anchor",
        ],
    ),
    (
        "ChatMessage",
        &[
            "common",
            "user",
            "content",
            "visible_to_sender",
            "at_user",
            "emotes",
            "content_language",
            "user_identity",
        ],
    ),
    ("EmoteWithIndex", &["index", "emote"]),
    ("Emote", &["emote_id", "image"]),
    (
        "GiftMessage",
        &[
            "common",
            "gift_id",
            "group_count",
            "repeat_count",
            "combo_count",
            "user",
            "to_user",
            "repeat_end",
            "group_id",
            "gift",
            "monitor_info",
            "user_identity",
        ],
    ),
    (
        "GiftInfo",
        &["image", "describe", "id", "type", "diamond_count", "name"],
    ),
    ("GiftMonitorInfo", &["anchor_id", "to_user_id"]),
    ("LikeMessage", &["common", "count", "total", "user"]),
    (
        "MemberMessage",
        &[
            "common",
            "user",
            "member_count",
            "action",
            "client_enter_source",
        ],
    ),
    (
        "SocialMessage",
        &[
            "common",
            "user",
            "share_type",
            "action",
            "share_target",
            "follow_count",
            "share_count",
        ],
    ),
    (
        "RoomUserSeqMessage",
        &["common", "ranks", "total", "popularity", "total_user"],
    ),
    ("Contributor", &["score", "user", "rank"]),
];

/// Envelope method → schema message, for the hot methods.
const HOT_METHODS: &[(&str, &str)] = &[
    ("WebcastChatMessage", "ChatMessage"),
    ("WebcastGiftMessage", "GiftMessage"),
    ("WebcastLikeMessage", "LikeMessage"),
    ("WebcastMemberMessage", "MemberMessage"),
    ("WebcastSocialMessage", "SocialMessage"),
    ("WebcastRoomUserSeqMessage", "RoomUserSeqMessage"),
];

fn main() {
    println!("cargo:rerun-if-changed=../../../proto");
    println!("cargo:rerun-if-changed=build.rs");
    let fds = protox::compile(
        [
            "tikcast/webcast/data.proto",
            "tikcast/webcast/messages.proto",
        ],
        ["../../../proto"],
    )
    .expect("proto/ compiles");
    // Every message (nested ones included) by full name, in a stable order.
    let mut order: Vec<(String, &DescriptorProto)> = Vec::new();
    for file in &fds.file {
        for msg in &file.message_type {
            collect(&format!(".{}", file.package()), msg, &mut order);
        }
    }
    let index: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.as_str(), i))
        .collect();
    let projection: BTreeMap<&str, &[&str]> = PROJECTION.iter().copied().collect();

    let mut out = String::from("// Generated by build.rs from proto/. Do not edit.\n");
    for (set, keep, checked) in [
        ("HOT_TABLES", true, false),
        ("ALL_TABLES", false, false),
        ("CHECKED_TABLES", false, true),
    ] {
        writeln!(out, "pub static {set}: &[Table] = &[").unwrap();
        for (name, msg) in &order {
            let short = name.rsplit('.').next().unwrap();
            let wanted = projection.get(short).copied();
            let mut fields: Vec<(i32, String)> = Vec::new();
            for f in &msg.field {
                let projected = wanted.is_some_and(|w| w.contains(&f.name()));
                if keep && !projected {
                    continue;
                }
                let emit = !checked || projected;
                let repeated = f.label() == Label::Repeated;
                let (kind, sub) = match f.r#type() {
                    Type::Int32 | Type::Enum => ("Int32", 0),
                    Type::Int64 => ("Int64", 0),
                    Type::Uint32 => ("Uint32", 0),
                    Type::Uint64 => ("Uint64", 0),
                    Type::Bool => ("Bool", 0),
                    Type::String => ("Str", 0),
                    Type::Bytes => ("Bytes", 0),
                    Type::Message => ("Message", index[f.type_name()]),
                    other => panic!("{name}.{}: {other:?} is not in our schema", f.name()),
                };
                fields.push((
                    f.number(),
                    format!(
                        "Field {{ number: {}, kind: Kind::{kind}, repeated: {repeated}, emit: {emit}, sub: {sub}, name: {:?} }}",
                        f.number(),
                        f.name()
                    ),
                ));
            }
            fields.sort();
            let body: Vec<&str> = fields.iter().map(|(_, f)| f.as_str()).collect();
            writeln!(
                out,
                "    // {name}\n    Table {{ fields: &[{}] }},",
                body.join(", ")
            )
            .unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    // Projection entries that name nothing are typos: fail the build.
    for (msg, fields) in PROJECTION {
        let full = format!(".tikcast.webcast.{msg}");
        let (_, d) = order
            .iter()
            .find(|(n, _)| *n == full)
            .unwrap_or_else(|| panic!("no {msg}"));
        for f in *fields {
            assert!(
                d.field.iter().any(|x| x.name() == *f),
                "{msg} has no field {f}"
            );
        }
    }
    writeln!(out, "/// The schema message of a hot method.").unwrap();
    writeln!(
        out,
        "pub fn hot_message(method: &str) -> Option<usize> {{\n    match method {{"
    )
    .unwrap();
    for (method, msg) in HOT_METHODS {
        let i = index[format!(".tikcast.webcast.{msg}").as_str()];
        writeln!(out, "        {method:?} => Some({i}),").unwrap();
    }
    writeln!(out, "        _ => None,\n    }}\n}}").unwrap();
    let dest = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(dest.join("tables.rs"), out).expect("OUT_DIR is writable");
}

fn collect<'a>(
    parent: &str,
    msg: &'a DescriptorProto,
    order: &mut Vec<(String, &'a DescriptorProto)>,
) {
    let full = format!("{parent}.{}", msg.name());
    order.push((full.clone(), msg));
    for nested in &msg.nested_type {
        collect(&full, nested, order);
    }
}
