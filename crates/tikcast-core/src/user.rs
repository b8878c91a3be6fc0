//! The canonical user every user-bearing event carries, and display-text rendering.
//!
//! TikTok spreads what an overlay wants to know about a user over badges: moderator,
//! subscriber, new gifter, top-gifter rank and gifter level are all derived here from
//! the badge list (scene types and badge texts), so apps never parse badges themselves.

use alloc::string::String;
use alloc::vec::Vec;

use crate::keys::{has_ignore_case, top_gifter_rank};
use crate::pb;

/// A user as events expose it (`user` in docs/events.md).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct User {
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
    pub user_id: u64,
    /// The @handle.
    pub unique_id: String,
    pub nickname: String,
    pub sec_uid: String,
    pub profile_picture_url: String,
    /// Relation to the streamer: 0 none, 1 follower, 2 friend.
    pub follow_role: i64,
    pub is_moderator: bool,
    pub is_subscriber: bool,
    pub is_new_gifter: bool,
    /// 1, 2, 3 ... when the user wears a top-gifter rank badge.
    pub top_gifter_rank: Option<u32>,
    /// Gifter level from the level badge, 0 when unknown.
    pub gifter_level: u32,
    pub fans_club: Option<FansClub>,
    /// The user's followers (0 when the message does not say).
    pub follower_count: i64,
    /// Accounts the user follows (0 when the message does not say).
    pub following_count: i64,
    /// The user is the streamer (identity flag of chat, gift and emote messages).
    pub is_anchor: bool,
    /// The user has sent the streamer gifts (identity flag of chat, gift and emote
    /// messages).
    pub is_gift_giver_of_anchor: bool,
    /// The user sends anonymously (TikTok's "Enigma" mask is on).
    pub is_anonymous: bool,
    pub badges: Vec<UserBadge>,
}

/// Membership of the streamer's fan club.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct FansClub {
    pub name: String,
    pub level: i32,
}

/// One badge, flattened: `kind` is `image`, `text`, `string` or `combine`.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct UserBadge {
    pub kind: &'static str,
    /// 1 moderator, 4 subscriber, 7 new subscriber, 8 gifter level, 10 fans club, ...
    pub scene_type: i32,
    pub label: String,
    pub url: String,
    pub level: u32,
    /// The gem's fill, ARGB `#AARRGGBB` as TikTok sends it ("" when the badge has none).
    pub primary_color: String,
    /// The gem's dark-mode fill ("" when none).
    pub secondary_color: String,
}

const SCENE_ADMIN: i32 = 1;
const SCENE_SUBSCRIBER: i32 = 4;
const SCENE_NEW_SUBSCRIBER: i32 = 7;
const SCENE_USER_GRADE: i32 = 8;

impl User {
    /// Builds the canonical user from the wire user.
    pub fn from_pb(u: &pb::User) -> User {
        let badges: Vec<UserBadge> = u.badge_list.iter().map(badge).collect();
        let mut user = User {
            user_id: u.id,
            unique_id: u.display_id.clone(),
            nickname: u.nickname.clone(),
            sec_uid: u.sec_uid.clone(),
            profile_picture_url: first_url([&u.avatar_thumb, &u.avatar_medium, &u.avatar_large]),
            follow_role: u
                .follow_info
                .as_ref()
                .map_or(u.follow_status, |f| f.follow_status),
            is_subscriber: u.is_subscribe,
            fans_club: u
                .fans_club
                .as_ref()
                .and_then(|c| c.data.as_ref())
                .filter(|d| !d.club_name.is_empty())
                .map(|d| FansClub {
                    name: d.club_name.clone(),
                    level: d.level,
                }),
            follower_count: u.follow_info.as_ref().map_or(0, |f| f.follower_count),
            following_count: u.follow_info.as_ref().map_or(0, |f| f.following_count),
            is_anonymous: u.enigma_info.as_ref().is_some_and(|e| e.is_enigma_mask_on),
            ..User::default()
        };
        for (b, raw) in badges.iter().zip(&u.badge_list) {
            let label = b.label.to_ascii_lowercase();
            match b.scene_type {
                SCENE_ADMIN => user.is_moderator = true,
                SCENE_SUBSCRIBER | SCENE_NEW_SUBSCRIBER => user.is_subscriber = true,
                SCENE_USER_GRADE if user.gifter_level == 0 => user.gifter_level = b.level,
                _ => {}
            }
            if label.contains("moderator") {
                user.is_moderator = true;
            }
            if b.url.contains("/sub_") {
                user.is_subscriber = true;
            }
            let key = raw.text.as_ref().map(|t| t.key.as_str()).or(raw
                .combine
                .as_ref()
                .and_then(|c| c.text.as_ref())
                .map(|t| t.key.as_str()));
            if label == "new gifter" || key.is_some_and(|k| has_ignore_case(k, "_ng_")) {
                user.is_new_gifter = true;
            }
            if let Some(rank) = top_gifter_rank(&b.url, &b.label) {
                user.top_gifter_rank = Some(user.top_gifter_rank.map_or(rank, |r| r.min(rank)));
            }
        }
        if user.gifter_level == 0 {
            user.gifter_level = u
                .pay_grade
                .as_ref()
                .map_or(0, |g| u32::try_from(g.level).unwrap_or(0));
        }
        user.badges = badges;
        user
    }

    /// Folds the per-message identity flags (chat, gift, emote) into the user.
    pub fn apply_identity(&mut self, id: Option<&pb::UserIdentity>) {
        if let Some(id) = id {
            self.is_moderator |= id.is_moderator_of_anchor;
            self.is_subscriber |= id.is_subscriber_of_anchor;
            self.is_anchor |= id.is_anchor;
            self.is_gift_giver_of_anchor |= id.is_gift_giver_of_anchor;
            if id.is_mutual_following_with_anchor {
                self.follow_role = self.follow_role.max(2);
            } else if id.is_follower_of_anchor {
                self.follow_role = self.follow_role.max(1);
            }
        }
    }
}

/// Converts an optional wire user.
pub fn user_opt(u: &Option<pb::User>) -> Option<User> {
    u.as_ref().map(User::from_pb)
}

fn badge(b: &pb::Badge) -> UserBadge {
    let level_str = b
        .privilege_log_extra
        .as_ref()
        .map(|p| p.level.as_str())
        .unwrap_or("");
    let (kind, label, url, level_alt) = if let Some(c) = &b.combine {
        let label = c
            .text
            .as_ref()
            .map(|t| t.default_pattern.clone())
            .unwrap_or_default();
        ("combine", label, image_url(&c.icon), c.str.as_str())
    } else if let Some(t) = &b.text {
        ("text", t.default_pattern.clone(), String::new(), "")
    } else if let Some(s) = &b.str {
        ("string", s.str.clone(), String::new(), "")
    } else if let Some(i) = &b.image {
        ("image", String::new(), image_url(&i.image), "")
    } else {
        ("image", String::new(), String::new(), "")
    };
    let level = level_str
        .parse()
        .ok()
        .filter(|&l| l > 0)
        .or_else(|| level_alt.parse().ok())
        .unwrap_or(0);
    let fill = |bg: &Option<pb::CombineBadgeBackground>| {
        bg.as_ref()
            .map(|g| g.background_color_code.clone())
            .unwrap_or_default()
    };
    let (primary_color, secondary_color) = b.combine.as_ref().map_or_else(Default::default, |c| {
        (fill(&c.background), fill(&c.background_dark_mode))
    });
    UserBadge {
        kind,
        scene_type: b.scene_type,
        label,
        url,
        level,
        primary_color,
        secondary_color,
    }
}

/// The first URL of an optional image, or "".
pub fn image_url(image: &Option<pb::Image>) -> String {
    image
        .as_ref()
        .and_then(|i| i.url_list.first())
        .cloned()
        .unwrap_or_default()
}

fn first_url<const N: usize>(images: [&Option<pb::Image>; N]) -> String {
    images
        .iter()
        .map(|i| image_url(i))
        .find(|u| !u.is_empty())
        .unwrap_or_default()
}

/// Renders a display template: `{0:user} joined` with piece 0 a user → `nickname joined`.
/// Unknown placeholders are left out; the output is plain text (never markup).
pub fn render_text(text: &pb::Text) -> String {
    let pieces: Vec<&str> = text.pieces.iter().map(piece_text).collect();
    render_pattern(&text.default_pattern, &pieces)
}

/// Renders `pattern` with `pieces` (each piece's text): `{N}` or `{N:kind}` becomes
/// piece N, unknown placeholders are left out. The output is capped at twice the
/// template's own text (pattern and pieces) plus 256 bytes, since a pattern can name one
/// piece many times ("{0}{0}{0}..."): a small message cannot render to gigabytes.
pub(crate) fn render_pattern(pattern: &str, pieces: &[&str]) -> String {
    let cap = pieces
        .iter()
        .map(|p| p.len())
        .fold(pattern.len(), usize::saturating_add)
        .saturating_mul(2)
        .saturating_add(256);
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        push_capped(&mut out, rest.get(..open).unwrap_or(""), cap);
        let after = rest.get(open + 1..).unwrap_or("");
        let Some(close) = after.find('}') else {
            push_capped(&mut out, rest.get(open..).unwrap_or(""), cap);
            return out;
        };
        let inner = after.get(..close).unwrap_or("");
        let index = inner
            .split(':')
            .next()
            .and_then(|i| i.parse::<usize>().ok());
        if let Some(piece) = index.and_then(|i| pieces.get(i)) {
            push_capped(&mut out, piece, cap);
        }
        if out.len() >= cap {
            return out;
        }
        rest = after.get(close + 1..).unwrap_or("");
    }
    push_capped(&mut out, rest, cap);
    out
}

/// Appends as much of `s` as fits under `cap` bytes, cut at a character boundary.
fn push_capped(out: &mut String, s: &str, cap: usize) {
    let room = cap.saturating_sub(out.len());
    if s.len() <= room {
        out.push_str(s);
        return;
    }
    let mut end = room;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.push_str(s.get(..end).unwrap_or(""));
}

fn piece_text(p: &pb::TextPiece) -> &str {
    if let Some(u) = p.user_value.as_ref().and_then(|u| u.user.as_ref()) {
        return if u.nickname.is_empty() {
            &u.display_id
        } else {
            &u.nickname
        };
    }
    if let Some(g) = &p.gift_value {
        return g
            .name_ref
            .as_ref()
            .map_or("", |r| r.default_pattern.as_str());
    }
    if let Some(r) = &p.pattern_ref_value {
        return &r.default_pattern;
    }
    &p.string_value
}

/// The first user mentioned by a display template's pieces.
pub fn text_user(text: &Option<pb::Text>) -> Option<&pb::User> {
    text.as_ref()?
        .pieces
        .iter()
        .find_map(|p| p.user_value.as_ref()?.user.as_ref())
}
