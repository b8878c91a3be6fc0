//! The bundled demo frame: a gzipped push frame of invented room activity, built with
//! our own schema types, so the demo and the golden tests need no captured user data.
//! `tests/fixtures/demo-frame.bin` is [`demo_frame`]'s output (a test keeps it in sync);
//! frames themselves are built by [`crate::frames`].

use prost::Message;
use tikcast_core::pb;

use crate::frames::{self, envelope, Compression};

const ROOM_ID: u64 = 7_300_000_000_000_000_001;
const HOST_ID: u64 = 7_000_000_000_000_000_001;
const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn common(
    method: &str,
    msg_id: u64,
    offset_ms: i64,
    key: &str,
    pattern: &str,
    user: Option<&pb::User>,
) -> Option<pb::Common> {
    common_in_room(ROOM_ID, method, msg_id, T0 + offset_ms, key, pattern, user)
}

/// The `common` block of a message in room `room_id`, created at `create_time` (ms since
/// the epoch); a non-empty `key` adds a display text whose `{0:user}` piece is `user`.
pub(crate) fn common_in_room(
    room_id: u64,
    method: &str,
    msg_id: u64,
    create_time: i64,
    key: &str,
    pattern: &str,
    user: Option<&pb::User>,
) -> Option<pb::Common> {
    let pieces = user
        .map(|u| {
            vec![pb::TextPiece {
                r#type: 11,
                user_value: Some(pb::TextPieceUser {
                    user: Some(u.clone()),
                    with_colon: false,
                }),
                ..Default::default()
            }]
        })
        .unwrap_or_default();
    Some(pb::Common {
        method: method.into(),
        msg_id,
        room_id,
        create_time,
        display_text: (!key.is_empty()).then(|| pb::Text {
            key: key.into(),
            default_pattern: pattern.into(),
            pieces,
            ..Default::default()
        }),
        ..Default::default()
    })
}

pub(crate) fn image(url: &str) -> Option<pb::Image> {
    Some(pb::Image {
        url_list: vec![url.into()],
        ..Default::default()
    })
}

/// An invented user with a gifter-level badge (and a moderator badge when `moderator`).
pub(crate) fn user(
    id: u64,
    handle: &str,
    nickname: &str,
    gifter_level: u32,
    moderator: bool,
) -> pb::User {
    let mut badges = vec![pb::Badge {
        display_type: 4,
        scene_type: 8,
        privilege_log_extra: Some(pb::PrivilegeLogExtra {
            level: gifter_level.to_string(),
            ..Default::default()
        }),
        combine: Some(pb::CombineBadge {
            icon: image("https://example.invalid/badges/grade_lv.png"),
            str: gifter_level.to_string(),
            ..Default::default()
        }),
        ..Default::default()
    }];
    if moderator {
        badges.push(pb::Badge {
            display_type: 2,
            scene_type: 1,
            text: Some(pb::TextBadge {
                display_type: 2,
                key: "live_moderator".into(),
                default_pattern: "Moderator".into(),
            }),
            ..Default::default()
        });
    }
    pb::User {
        id,
        nickname: nickname.into(),
        display_id: handle.into(),
        sec_uid: format!("MS4wLjABAAAA-demo-{handle}"),
        avatar_thumb: image(&format!("https://example.invalid/avatars/{handle}.webp")),
        follow_info: Some(pb::FollowInfo {
            follow_status: 1,
            ..Default::default()
        }),
        badge_list: badges,
        ..Default::default()
    }
}

/// The demo batch: chat (one with markup that must render as text), a gift streak,
/// likes, a join, a follow, a share, viewer count, and an unknown method (encoded).
fn demo_batch() -> Vec<u8> {
    let ada = user(7_100_000_000_000_000_001, "ada.demo", "Ada", 12, false);
    let bo = user(7_100_000_000_000_000_002, "bo.demo", "Bo", 3, true);
    let cy = user(7_100_000_000_000_000_003, "cy.demo", "Cy <b>", 0, false);
    let rose = pb::GiftInfo {
        id: 5655,
        name: "Rose".into(),
        diamond_count: 1,
        r#type: 1,
        image: image("https://example.invalid/gifts/rose.webp"),
        ..Default::default()
    };
    let mut msgs = Vec::new();
    let mut id = 7_400_000_000_000_000_000u64;
    let mut next = || {
        id += 1;
        id
    };
    let m = next();
    msgs.push(envelope(
        "WebcastMemberMessage",
        m,
        pb::MemberMessage {
            common: common(
                "WebcastMemberMessage",
                m,
                0,
                "live_room_enter_toast",
                "{0:user} joined",
                Some(&ada),
            ),
            user: Some(ada.clone()),
            action: 1,
            ..Default::default()
        }
        .encode_to_vec(),
    ));
    for (i, (u, text)) in [
        (&ada, "hello from the demo room"),
        (&bo, "welcome in!"),
        (&cy, "<img src=x onerror=alert(1)>"),
    ]
    .into_iter()
    .enumerate()
    {
        let m = next();
        msgs.push(envelope(
            "WebcastChatMessage",
            m,
            pb::ChatMessage {
                common: common("WebcastChatMessage", m, 1000 * (i as i64 + 1), "", "", None),
                user: Some(u.clone()),
                content: text.into(),
                content_language: "en".into(),
                ..Default::default()
            }
            .encode_to_vec(),
        ));
    }
    for (n, end) in [(1, 0), (2, 0), (3, 1)] {
        let m = next();
        msgs.push(envelope(
            "WebcastGiftMessage",
            m,
            pb::GiftMessage {
                common: common(
                    "WebcastGiftMessage",
                    m,
                    4000 + n * 300,
                    "webcast_aweme_gift_send_message",
                    "{0:user} sent Rose",
                    Some(&ada),
                ),
                gift_id: 5655,
                repeat_count: n as i32,
                combo_count: n as i32,
                group_count: 1,
                repeat_end: end,
                group_id: 1_767_225_604_000,
                user: Some(ada.clone()),
                gift: Some(rose.clone()),
                monitor_info: Some(pb::GiftMonitorInfo {
                    anchor_id: HOST_ID,
                    to_user_id: HOST_ID,
                    ..Default::default()
                }),
                ..Default::default()
            }
            .encode_to_vec(),
        ));
    }
    let m = next();
    msgs.push(envelope(
        "WebcastLikeMessage",
        m,
        pb::LikeMessage {
            common: common(
                "WebcastLikeMessage",
                m,
                6000,
                "pm_mt_msg_viewer",
                "{0:user} liked the LIVE",
                Some(&bo),
            ),
            count: 15,
            total: 1015,
            user: Some(bo.clone()),
            ..Default::default()
        }
        .encode_to_vec(),
    ));
    for (action, key, pattern, at) in [
        (
            1,
            "pm_main_follow_message_viewer_2",
            "{0:user} followed the LIVE creator",
            7000,
        ),
        (3, "pm_mt_guidance_share", "{0:user} shared the LIVE", 8000),
    ] {
        let m = next();
        msgs.push(envelope(
            "WebcastSocialMessage",
            m,
            pb::SocialMessage {
                common: common("WebcastSocialMessage", m, at, key, pattern, Some(&cy)),
                user: Some(cy.clone()),
                action,
                follow_count: 1201,
                ..Default::default()
            }
            .encode_to_vec(),
        ));
    }
    let m = next();
    msgs.push(envelope(
        "WebcastRoomUserSeqMessage",
        m,
        pb::RoomUserSeqMessage {
            common: common("WebcastRoomUserSeqMessage", m, 9000, "", "", None),
            total: 321,
            total_user: 4567,
            ranks: vec![pb::Contributor {
                score: 300,
                user: Some(ada.clone()),
                rank: 1,
                delta: 0,
            }],
            ..Default::default()
        }
        .encode_to_vec(),
    ));
    let m = next();
    msgs.push(envelope("WebcastFutureFeatureMessage", m, vec![0x08, 0x01]));
    frames::batch(
        msgs.iter().map(Vec::as_slice),
        &pb::FetchResult {
            cursor: "t-1767225610000_r-1_d-1_u-1".into(),
            fetch_interval_ms: 1000,
            now_ms: T0 + 10_000,
            internal_ext: "internal_src:pushserver|wss_msg_type:r|demo:1".into(),
            need_ack: true,
            ..Default::default()
        },
    )
}

/// The demo push frame: `msg` type, `compress_type: gzip` header, gzipped demo batch.
pub fn demo_frame() -> Vec<u8> {
    frames::msg_frame(
        1,
        7_301_234_567_890_123_456,
        demo_batch(),
        Compression::Gzip,
    )
}
