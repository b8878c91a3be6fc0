//! The session script: the one JSON Lines language in which `tikcast mock --script`,
//! `tikcast demo-recording`, the mock's built-in generator and the tests describe a live
//! session with invented users (docs/recording.md, "Session scripts"). Each line becomes
//! one or more Webcast messages encoded by our own schema types; the consumer gives them
//! their place (msg id, room id, time) with [`Timed::stamped`] and frames them with
//! [`crate::frames`].
//!
//! The format (line types, fields, defaults, users, gift catalog, ids and times) is
//! documented once, in docs/recording.md "Session scripts"; keep the two together.
//! In short: one JSON object per line with a `type`, `#` comments, optional `t` (ms since
//! the start) ordering the messages, `user` lines declaring users (else invented ones).

use std::collections::BTreeMap;

use base64::Engine;
use prost::Message;
use serde_json::Value;
use tikcast_core::pb;

use crate::fixture;
use crate::frames;

/// Every line type, as documented in docs/recording.md (a test checks the table).
const TYPES: [&str; 18] = [
    "room",
    "user",
    "chat",
    "emote",
    "member",
    "follow",
    "share",
    "subscribe",
    "like",
    "roomUser",
    "gift",
    "streak",
    "battleStart",
    "battleScore",
    "battleEnd",
    "streamEnd",
    "control",
    "raw",
];

/// The gift id of a `gift` line without one (Rose).
const DEFAULT_GIFT: u64 = 5655;

/// A gift of the catalog.
#[derive(Debug, Clone)]
pub(crate) struct GiftDef {
    pub(crate) name: String,
    pub(crate) diamonds: i32,
    pub(crate) image: String,
}

/// Gift catalog by id.
pub(crate) type Catalog = BTreeMap<u64, GiftDef>;

/// Reads a gift catalog file's text (`[{id, name, diamondCount, imageUrl}]`, as the
/// relay's `--gifts`).
pub(crate) fn parse_catalog(text: &str) -> Result<Catalog, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("gift catalog is not JSON: {e}"))?;
    let mut out = BTreeMap::new();
    for g in v.as_array().ok_or("gift catalog must be a JSON list")? {
        let id = g["id"]
            .as_u64()
            .ok_or("gift catalog: every gift needs an id")?;
        out.insert(
            id,
            GiftDef {
                name: g["name"].as_str().unwrap_or("").to_string(),
                diamonds: g["diamondCount"].as_i64().unwrap_or(0) as i32,
                image: g["imageUrl"].as_str().unwrap_or("").to_string(),
            },
        );
    }
    Ok(out)
}

/// What a consumer fixes before reading a script.
pub(crate) struct Setting {
    /// The room's id (a `room` line's instead when `room_from_script`).
    pub(crate) room_id: u64,
    /// The host's handle, receiver of gifts and side of battles (a `room` line's
    /// `uniqueId` instead when `room_from_script`).
    pub(crate) host: String,
    /// A `room` line names the room and its host (demo-recording); else it is only
    /// returned as [`Script::room_info`] (the mock has `--room-id` and `--unique-id`).
    pub(crate) room_from_script: bool,
    /// Wall-clock time of `t` = 0 (battle start times, streak group ids).
    pub(crate) epoch_ms: i64,
    pub(crate) gifts: Catalog,
}

/// One message, placed on the timeline; its `common` has the display text, not yet the
/// ids (see [`Timed::stamped`]).
#[derive(Debug, Clone)]
pub(crate) struct Timed {
    pub(crate) t: u64,
    pub(crate) method: String,
    payload: Vec<u8>,
    /// A `raw` payload: only the ids are set, its own create time stays.
    foreign: bool,
}

impl Timed {
    /// The payload as message `msg_id` of room `room_id`, created at `create_time`: a
    /// second `common` field is appended, which protobuf merges into the first.
    pub(crate) fn stamped(&self, msg_id: u64, room_id: u64, create_time: i64) -> Vec<u8> {
        let common = if self.foreign {
            pb::Common {
                msg_id,
                room_id,
                ..Default::default()
            }
        } else {
            fixture::common_in_room(room_id, &self.method, msg_id, create_time, "", "", None)
                .unwrap_or_default()
        };
        let mut payload = self.payload.clone();
        frames::stamp_common(&mut payload, &common);
        payload
    }
}

/// A script read and encoded.
#[derive(Debug)]
pub(crate) struct Script {
    /// The `room` line as a `roomInfo` object (`"type":"roomInfo","isLive":true`).
    pub(crate) room_info: Option<Value>,
    /// The room id messages belong to (the `room` line's, else the setting's).
    pub(crate) room_id: u64,
    /// Every message, sorted by `t` (lines at the same time keep their order).
    pub(crate) timeline: Vec<Timed>,
}

/// Reads the text of a script. Errors name the line.
pub(crate) fn parse(text: &str, setting: &Setting) -> Result<Script, String> {
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let v: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: not JSON ({e})", n + 1))?;
        if !v.is_object() {
            return Err(format!(
                "line {}: expected a JSON object like {{\"type\":\"chat\",...}}",
                n + 1
            ));
        }
        lines.push((n + 1, v));
    }
    compile(&lines, setting)
}

/// Encodes lines already parsed (`(line number, object)`), e.g. made by a generator.
pub(crate) fn compile(lines: &[(usize, Value)], setting: &Setting) -> Result<Script, String> {
    let mut s = Session {
        setting,
        room_id: setting.room_id,
        host: setting.host.clone(),
        declared: lines.iter().any(|(_, v)| v["type"] == "user"),
        users: BTreeMap::new(),
        timeline: Vec::new(),
        t: 0,
        like_total: 0,
        battle_opponent: None,
        next_group: 1,
    };
    let mut room_info = None;
    for (n, v) in lines {
        if v["type"] == "room" {
            let room_id = str_field(v, "roomId")
                .and_then(|id| id.parse().map_err(|_| "roomId must be a decimal id".into()))
                .map_err(|e| format!("line {n}: {e}"))?;
            if setting.room_from_script {
                s.room_id = room_id;
                if let Some(h) = v["uniqueId"].as_str() {
                    s.host = h.trim().trim_start_matches('@').to_string();
                }
            }
            let mut info = v.clone();
            if let Some(o) = info.as_object_mut() {
                o.insert("type".into(), "roomInfo".into());
                o.insert("isLive".into(), true.into());
            }
            room_info = Some(info);
            continue;
        }
        s.line(v).map_err(|e| format!("line {n}: {e}"))?;
    }
    // Stable sort: lines at the same time keep their script order.
    s.timeline.sort_by_key(|m| m.t);
    Ok(Script {
        room_info,
        room_id: s.room_id,
        timeline: s.timeline,
    })
}

/// The line's type, for error messages.
fn kind(v: &Value) -> &str {
    v["type"].as_str().unwrap_or("line")
}

fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    match v.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(format!(
            "{}: \"{name}\" must be a non-empty string",
            kind(v)
        )),
        None => Err(format!("{} needs \"{name}\"", kind(v))),
    }
}

fn int_field(v: &Value, name: &str, default: Option<i64>) -> Result<i64, String> {
    match v.get(name) {
        Some(x) => x
            .as_i64()
            .ok_or_else(|| format!("{}: \"{name}\" must be an integer", kind(v))),
        None => default.ok_or_else(|| format!("{} needs \"{name}\"", kind(v))),
    }
}

fn small_field(v: &Value, name: &str, default: Option<i64>) -> Result<i32, String> {
    i32::try_from(int_field(v, name, default)?)
        .map_err(|_| format!("{}: \"{name}\" is out of range", kind(v)))
}

fn flag_field(v: &Value, name: &str, default: bool) -> Result<bool, String> {
    match v.get(name) {
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{}: \"{name}\" must be true or false", kind(v))),
        None => Ok(default),
    }
}

/// Standard base64, with or without padding, or URL-safe (corpus files use all three).
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let text = text.trim();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .or_else(|_| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))
        })
}

fn avatar(handle: &str) -> Option<pb::Image> {
    fixture::image(&format!("/assets/avatars/{handle}.svg"))
}

fn emote(id: &str) -> pb::Emote {
    pb::Emote {
        emote_id: id.into(),
        image: fixture::image(&format!("/assets/emotes/{id}.svg")),
        ..Default::default()
    }
}

/// A stable invented user id for a handle (FNV-1a, folded into a 19-digit range), so it
/// never depends on line order.
pub(crate) fn user_id(handle: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in handle.to_ascii_lowercase().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    7_100_000_000_000_000_000 + h % 1_000_000_000_000_000
}

/// An invented user for `handle`: stable id, nickname from the handle's first part.
pub(crate) fn invented_user(handle: &str) -> pb::User {
    let first = handle.split(['.', '_']).next().unwrap_or(handle);
    let mut nickname: String = first.chars().take(1).flat_map(char::to_uppercase).collect();
    nickname.extend(first.chars().skip(1));
    if nickname.is_empty() {
        nickname = handle.to_string();
    }
    let id = user_id(handle);
    fixture::user(id, handle, &nickname, (id % 30) as u32, false)
}

fn common(method: &str, key: &str, pattern: &str, user: Option<&pb::User>) -> Option<pb::Common> {
    // Ids and the time are set per message by `Timed::stamped`.
    fixture::common_in_room(0, method, 0, 0, key, pattern, user)
}

/// The encoder's state while it walks the script.
struct Session<'a> {
    setting: &'a Setting,
    room_id: u64,
    host: String,
    /// The script declares its users: an undeclared handle is a mistake.
    declared: bool,
    users: BTreeMap<String, pb::User>,
    timeline: Vec<Timed>,
    /// `t` of the previous line.
    t: u64,
    like_total: i64,
    battle_opponent: Option<pb::User>,
    next_group: u64,
}

impl Session<'_> {
    fn user_named(&self, handle: &str) -> Result<pb::User, String> {
        let handle = handle.trim().trim_start_matches('@');
        match self.users.get(handle) {
            Some(u) => Ok(u.clone()),
            None if self.declared => Err(format!(
                "unknown user \"{handle}\": add a {{\"type\":\"user\"}} line"
            )),
            None => Ok(invented_user(handle)),
        }
    }

    fn user(&self, v: &Value, field: &str) -> Result<pb::User, String> {
        self.user_named(str_field(v, field)?)
    }

    /// The host: its user line, else an invented user (the consumer names the host, so a
    /// script need not declare it).
    fn host(&self) -> pb::User {
        self.users
            .get(&self.host)
            .cloned()
            .unwrap_or_else(|| invented_user(&self.host))
    }

    fn push(&mut self, t: u64, method: &str, payload: Vec<u8>) {
        self.timeline.push(Timed {
            t,
            method: method.to_string(),
            payload,
            foreign: false,
        });
    }

    fn line(&mut self, v: &Value) -> Result<(), String> {
        let kind = v["type"].as_str().ok_or("missing string field \"type\"")?;
        if kind == "user" {
            let handle = str_field(v, "handle")?.trim().trim_start_matches('@');
            let level = int_field(v, "gifterLevel", Some(0))?;
            let mut user = fixture::user(
                user_id(handle),
                handle,
                str_field(v, "nickname")?,
                level as u32,
                v["moderator"].as_bool().unwrap_or(false),
            );
            if level == 0 {
                user.badge_list.retain(|b| b.scene_type != 8);
            }
            user.avatar_thumb = avatar(handle);
            user.is_subscribe = v["subscriber"].as_bool().unwrap_or(false);
            self.users.insert(handle.to_string(), user);
            return Ok(());
        }
        let t = match v.get("t") {
            Some(_) => u64::try_from(int_field(v, "t", None)?).map_err(|_| "t must be >= 0")?,
            None => self.t,
        };
        self.t = t;
        let epoch = self.setting.epoch_ms;
        match kind {
            "chat" => {
                let u = self.user(v, "user")?;
                let emotes = match v.get("emotes").and_then(Value::as_array) {
                    Some(list) => list
                        .iter()
                        .map(|e| {
                            Ok(pb::EmoteWithIndex {
                                index: int_field(e, "index", None)? as i32,
                                emote: Some(emote(str_field(e, "id")?)),
                            })
                        })
                        .collect::<Result<Vec<_>, String>>()?,
                    None => Vec::new(),
                };
                let m = "WebcastChatMessage";
                let p = pb::ChatMessage {
                    common: common(m, "", "", None),
                    user: Some(u),
                    content: v["comment"]
                        .as_str()
                        .ok_or("chat needs a string \"comment\"")?
                        .into(),
                    content_language: "en".into(),
                    emotes,
                    ..Default::default()
                };
                self.push(t, m, p.encode_to_vec());
            }
            "emote" => {
                let u = self.user(v, "user")?;
                let m = "WebcastEmoteChatMessage";
                let p = pb::EmoteChatMessage {
                    common: common(m, "", "", None),
                    user: Some(u),
                    emote_list: vec![emote(str_field(v, "emote")?)],
                    ..Default::default()
                };
                self.push(t, m, p.encode_to_vec());
            }
            "member" => {
                let u = self.user(v, "user")?;
                let m = "WebcastMemberMessage";
                let p = pb::MemberMessage {
                    common: common(m, "live_room_enter_toast", "{0:user} joined", Some(&u)),
                    user_id: u.id,
                    user: Some(u),
                    action: 1,
                    ..Default::default()
                };
                self.push(t, m, p.encode_to_vec());
            }
            "follow" | "share" => {
                let u = self.user(v, "user")?;
                let (action, key, pattern) = if kind == "follow" {
                    (
                        1,
                        "pm_main_follow_message_viewer_2",
                        "{0:user} followed the LIVE creator",
                    )
                } else {
                    (3, "pm_mt_guidance_share", "{0:user} shared the LIVE")
                };
                let m = "WebcastSocialMessage";
                let p = pb::SocialMessage {
                    common: common(m, key, pattern, Some(&u)),
                    user: Some(u),
                    action,
                    ..Default::default()
                };
                self.push(t, m, p.encode_to_vec());
            }
            "subscribe" => {
                let u = self.user(v, "user")?;
                let m = "WebcastSubNotifyMessage";
                let p = pb::SubNotifyMessage {
                    common: common(m, "", "", None),
                    user: Some(u),
                    sub_month: int_field(v, "months", Some(1))?,
                    ..Default::default()
                };
                self.push(t, m, p.encode_to_vec());
            }
            "like" => {
                let u = self.user(v, "user")?;
                let count = small_field(v, "count", Some(1))?;
                self.like_total += i64::from(count);
                if v.get("total").is_some() {
                    self.like_total = int_field(v, "total", None)?;
                }
                let m = "WebcastLikeMessage";
                let p = pb::LikeMessage {
                    common: common(m, "pm_mt_msg_viewer", "{0:user} liked the LIVE", Some(&u)),
                    count,
                    total: self.like_total,
                    user: Some(u),
                    ..Default::default()
                };
                self.push(t, m, p.encode_to_vec());
            }
            "roomUser" => {
                let viewers = int_field(v, "viewers", None)?;
                let m = "WebcastRoomUserSeqMessage";
                let p = pb::RoomUserSeqMessage {
                    common: common(m, "", "", None),
                    total: viewers,
                    total_user: viewers.saturating_mul(4),
                    ..Default::default()
                };
                self.push(t, m, p.encode_to_vec());
            }
            "gift" | "streak" => {
                let u = self.user(v, "user")?;
                let gift_id = u64::try_from(int_field(v, "giftId", Some(DEFAULT_GIFT as i64))?)
                    .map_err(|_| "giftId must be positive")?;
                let known = self.setting.gifts.get(&gift_id);
                let name = match (v.get("giftName"), known) {
                    (Some(_), _) => str_field(v, "giftName")?.to_string(),
                    (None, Some(g)) => g.name.clone(),
                    (None, None) => {
                        return Err(format!(
                            "gift {gift_id} is not in the gift catalog: add it there or give \"giftName\" and \"diamonds\""
                        ))
                    }
                };
                let diamonds = match v.get("diamonds") {
                    Some(_) => small_field(v, "diamonds", None)?,
                    None => known.map_or(1, |g| g.diamonds),
                };
                let image = known.map_or_else(
                    || format!("https://example.invalid/gifts/{gift_id}.webp"),
                    |g| g.image.clone(),
                );
                // (repeat count, ends the streak, time) of each message.
                let (streakable, group_id, steps) = if kind == "streak" {
                    let count = int_field(v, "count", None)?;
                    let every = u64::try_from(int_field(v, "every", Some(250))?)
                        .map_err(|_| "streak: \"every\" must be >= 0")?;
                    let group = epoch as u64 + t + self.next_group;
                    let steps: Vec<_> = (1..=count)
                        .map(|n| (n as i32, n == count, t + (n - 1) as u64 * every))
                        .collect();
                    (true, group, steps)
                } else {
                    let streakable = flag_field(v, "streakable", false)?;
                    let group =
                        u64::try_from(int_field(v, "groupId", Some(i64::from(streakable)))?)
                            .map_err(|_| "gift: \"groupId\" must be positive")?;
                    let repeat = small_field(v, "repeatCount", Some(1))?;
                    // A gift that cannot streak always ends its (one-message) streak.
                    let end = flag_field(v, "repeatEnd", true)? || !streakable;
                    (streakable, group, vec![(repeat, end, t)])
                };
                self.next_group += 1;
                let host = self.host();
                let m = "WebcastGiftMessage";
                let pattern = format!("{{0:user}} sent {name}");
                for (repeat, end, at) in steps {
                    let p = pb::GiftMessage {
                        common: common(m, "webcast_aweme_gift_send_message", &pattern, Some(&u)),
                        gift_id,
                        repeat_count: repeat,
                        combo_count: repeat,
                        group_count: 1,
                        repeat_end: i32::from(end),
                        group_id,
                        user: Some(u.clone()),
                        gift: Some(pb::GiftInfo {
                            id: gift_id,
                            name: name.clone(),
                            diamond_count: diamonds,
                            r#type: if streakable { 1 } else { 2 },
                            combo: streakable,
                            image: fixture::image(&image),
                            ..Default::default()
                        }),
                        monitor_info: Some(pb::GiftMonitorInfo {
                            anchor_id: host.id,
                            to_user_id: host.id,
                            ..Default::default()
                        }),
                        ..Default::default()
                    };
                    self.push(at, m, p.encode_to_vec());
                }
            }
            "battleStart" | "battleEnd" => {
                let battle_id: u64 = str_field(v, "battleId")?
                    .parse()
                    .map_err(|_| "battleId must be a decimal id")?;
                let host = self.host();
                let start = kind == "battleStart";
                if start {
                    self.battle_opponent = Some(self.user(v, "opponent")?);
                }
                let opponent = self
                    .battle_opponent
                    .clone()
                    .ok_or("battleEnd before battleStart")?;
                let anchor = |u: &pb::User, room: u64| pb::BattleAnchorEntry {
                    anchor_id: u.id,
                    info: Some(pb::BattleAnchorInfo {
                        user: Some(pb::BattleBaseUser {
                            user_id: u.id,
                            nick_name: u.nickname.clone(),
                            avatar_thumb: u.avatar_thumb.clone(),
                            display_id: u.display_id.clone(),
                            room_id: room,
                        }),
                    }),
                };
                let mut results = BTreeMap::new();
                if !start {
                    let (h, o) = (int_field(v, "host", None)?, int_field(v, "opponent", None)?);
                    let (rh, ro) = match h.cmp(&o) {
                        std::cmp::Ordering::Greater => (0, 1),
                        std::cmp::Ordering::Less => (1, 0),
                        std::cmp::Ordering::Equal => (2, 2),
                    };
                    for (u, r, s) in [(&host, rh, h), (&opponent, ro, o)] {
                        results.insert(
                            u.id,
                            pb::BattleResult {
                                user_id: u.id,
                                result: r,
                                score: s,
                                ..Default::default()
                            },
                        );
                    }
                }
                let m = "WebcastLinkMicBattle";
                let p = pb::LinkMicBattleMessage {
                    common: common(m, "", "", None),
                    battle_id,
                    battle_setting: Some(pb::BattleSetting {
                        battle_id,
                        start_time_ms: epoch + t as i64,
                        duration: small_field(v, "duration", Some(0))?,
                        status: if start { 1 } else { 2 },
                        battle_type: 1,
                        ..Default::default()
                    }),
                    action: if start { 4 } else { 5 },
                    battle_result: results,
                    anchors_info: vec![
                        anchor(&host, self.room_id),
                        anchor(&opponent, self.room_id + 1),
                    ],
                    ..Default::default()
                };
                self.push(t, m, p.encode_to_vec());
            }
            "battleScore" => {
                let battle_id: u64 = str_field(v, "battleId")?
                    .parse()
                    .map_err(|_| "battleId must be a decimal id")?;
                let host = self.host();
                let opponent = self
                    .battle_opponent
                    .clone()
                    .ok_or("battleScore before battleStart")?;
                let top = self.user(v, "top")?;
                let host_score = int_field(v, "host", None)?;
                let mut armies = BTreeMap::new();
                armies.insert(
                    host.id,
                    pb::BattleUserArmies {
                        user_armies: vec![pb::BattleUserArmy {
                            user_id: top.id,
                            score: host_score,
                            nickname: top.nickname.clone(),
                            avatar_thumb: top.avatar_thumb.clone(),
                            ..Default::default()
                        }],
                        host_score,
                        anchor_id_str: host.id.to_string(),
                    },
                );
                armies.insert(
                    opponent.id,
                    pb::BattleUserArmies {
                        host_score: int_field(v, "opponent", None)?,
                        anchor_id_str: opponent.id.to_string(),
                        ..Default::default()
                    },
                );
                let m = "WebcastLinkMicArmies";
                let p = pb::LinkMicArmiesMessage {
                    common: common(m, "", "", None),
                    battle_id,
                    armies,
                    trigger_reason: 1,
                    from_user_id: top.id,
                    battle_setting: Some(pb::BattleSetting {
                        battle_id,
                        status: 1,
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                self.push(t, m, p.encode_to_vec());
            }
            "streamEnd" | "control" => {
                let action = if kind == "streamEnd" {
                    3
                } else {
                    small_field(v, "action", None)?
                };
                let m = "WebcastControlMessage";
                let p = pb::ControlMessage {
                    common: common(m, "", "", None),
                    action,
                    ..Default::default()
                };
                self.push(t, m, p.encode_to_vec());
            }
            "raw" => {
                let method = str_field(v, "method")?.trim().to_string();
                let payload = match v.get("payload") {
                    Some(Value::String(s)) => decode_base64(s)
                        .map_err(|e| format!("raw: \"payload\" is not base64 ({e})"))?,
                    _ => return Err("raw needs a base64 string \"payload\"".into()),
                };
                self.timeline.push(Timed {
                    t,
                    method,
                    payload,
                    foreign: true,
                });
            }
            other => {
                return Err(format!(
                    "unknown type \"{other}\" (known: {})",
                    TYPES.join(", ")
                ))
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting() -> Setting {
        Setting {
            room_id: 7,
            host: "host".into(),
            room_from_script: true,
            epoch_ms: 1_767_225_600_000,
            gifts: parse_catalog(
                r#"[{"id":5655,"name":"Rose","diamondCount":1,"imageUrl":"/r.svg"}]"#,
            )
            .unwrap(),
        }
    }

    /// Each message of `text` decoded as the SDK sees it, stamped as message i.
    fn events(text: &str) -> Vec<Value> {
        let script = parse(text, &setting()).unwrap();
        script
            .timeline
            .iter()
            .enumerate()
            .flat_map(|(i, m)| {
                let payload = m.stamped(100 + i as u64, script.room_id, 5_000 + i as i64);
                tikcast_core::decode_message(&m.method, &payload)
            })
            .map(|e| serde_json::to_value(&e).unwrap())
            .collect()
    }

    #[test]
    fn lines_without_declarations_or_times_keep_their_order_with_invented_users() {
        let raw = pb::ChatMessage {
            common: Some(pb::Common {
                create_time: 3,
                ..Default::default()
            }),
            content: "raw hello".into(),
            ..Default::default()
        }
        .encode_to_vec();
        let raw = base64::engine::general_purpose::STANDARD.encode(raw);
        let text = format!(
            "# comment\n\n{{\"type\":\"chat\",\"user\":\"@alice\",\"comment\":\"hi\"}}\n\
             {{\"type\":\"like\",\"user\":\"bob\",\"count\":5,\"total\":100}}\n\
             {{\"type\":\"like\",\"user\":\"bob\",\"count\":2}}\n\
             {{\"type\":\"gift\",\"user\":\"carol\",\"streakable\":true,\"repeatCount\":2,\"repeatEnd\":false,\"groupId\":9}}\n\
             {{\"type\":\"gift\",\"user\":\"dan\",\"giftId\":6000,\"giftName\":\"Big\",\"diamonds\":500}}\n\
             {{\"type\":\"raw\",\"method\":\"WebcastChatMessage\",\"payload\":\"{raw}\"}}\n\
             {{\"type\":\"control\",\"action\":3}}\n"
        );
        let ev = events(&text);
        let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "chat",
                "like",
                "like",
                "gift",
                "gift",
                "chat",
                "controlMessage",
                "streamEnd"
            ]
        );
        assert_eq!(ev[0]["user"]["uniqueId"], "alice");
        assert_eq!(ev[0]["user"]["nickname"], "Alice");
        assert_eq!(ev[0]["user"]["userId"], user_id("alice").to_string());
        assert_eq!(
            (ev[0]["msgId"].as_str(), ev[0]["roomId"].as_str()),
            (Some("100"), Some("7"))
        );
        assert_eq!(ev[0]["createTime"], 5_000);
        assert_eq!(
            (
                ev[1]["totalLikeCount"].as_i64(),
                ev[2]["totalLikeCount"].as_i64()
            ),
            (Some(100), Some(102))
        );
        assert_eq!(ev[3]["giftName"], "Rose");
        assert_eq!(
            (ev[3]["repeatCount"].as_i64(), ev[3]["repeatEnd"].as_bool()),
            (Some(2), Some(false))
        );
        assert_eq!(
            (ev[4]["giftName"].as_str(), ev[4]["diamondCount"].as_i64()),
            (Some("Big"), Some(500))
        );
        assert_eq!(
            ev[4]["repeatEnd"], true,
            "a gift that cannot streak ends at once"
        );
        // A raw payload takes our ids and keeps its own time.
        assert_eq!(
            (ev[5]["comment"].as_str(), ev[5]["msgId"].as_str()),
            (Some("raw hello"), Some("105"))
        );
        assert_eq!(ev[5]["createTime"], 3);
    }

    #[test]
    fn times_order_the_timeline_and_streaks_spread_out() {
        let text = r#"{"type":"room","uniqueId":"host","roomId":"42"}
            {"type":"user","handle":"host","nickname":"Host"}
            {"type":"user","handle":"a","nickname":"A"}
            {"t":500,"type":"chat","user":"a","comment":"late"}
            {"t":0,"type":"streak","user":"a","count":3,"every":100}
            {"type":"member","user":"a"}"#;
        let script = parse(text, &setting()).unwrap();
        assert_eq!(script.room_id, 42);
        assert_eq!(script.room_info.as_ref().unwrap()["type"], "roomInfo");
        let ts: Vec<u64> = script.timeline.iter().map(|m| m.t).collect();
        // The member line has no `t`: it takes the streak line's 0 and stays after it.
        assert_eq!(ts, [0, 0, 100, 200, 500]);
        let methods: Vec<&str> = script.timeline.iter().map(|m| m.method.as_str()).collect();
        assert_eq!(methods[1], "WebcastMemberMessage");
    }

    #[test]
    fn errors_name_the_line_and_what_to_do() {
        let err = |text: &str| parse(text, &setting()).unwrap_err();
        assert!(
            err("{\"type\":\"chat\",\"user\":\"a\",\"comment\":\"x\"}\n{\"type\":\"dance\"}")
                .starts_with("line 2: unknown type \"dance\"")
        );
        assert_eq!(err("\n{\"type\":\"like\"}"), "line 2: like needs \"user\"");
        assert!(err("nope").starts_with("line 1: not JSON"));
        assert!(err("[1]").starts_with("line 1: expected a JSON object"));
        assert!(err("{\"type\":\"gift\",\"user\":\"a\",\"giftId\":1}")
            .starts_with("line 1: gift 1 is not in the gift catalog: add it there or give"));
        assert_eq!(
            err("{\"type\":\"user\",\"handle\":\"a\",\"nickname\":\"A\"}\n{\"type\":\"chat\",\"user\":\"b\",\"comment\":\"x\"}"),
            "line 2: unknown user \"b\": add a {\"type\":\"user\"} line"
        );
        assert_eq!(
            err("{\"t\":-1,\"type\":\"member\",\"user\":\"a\"}"),
            "line 1: t must be >= 0"
        );
    }

    #[test]
    fn every_line_type_is_documented_and_no_other() {
        let doc = include_str!("../../../docs/recording.md");
        let section = doc.split("## Session scripts").nth(1).unwrap();
        let mut documented: Vec<&str> = section
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .flat_map(|l| {
                let cell = l.split(" |").next().unwrap_or("");
                cell.split(", ").map(|t| t.trim_matches('`'))
            })
            .filter(|t| *t != "type")
            .collect();
        documented.sort_unstable();
        let mut known = TYPES.to_vec();
        known.sort_unstable();
        assert_eq!(documented, known);
        // And each is accepted (a known type never gets the unknown-type error).
        for t in TYPES {
            let line = format!("{{\"type\":\"{t}\"}}");
            let err = parse(&line, &setting()).err().unwrap_or_default();
            assert!(!err.contains("unknown type"), "{t}: {err}");
        }
    }
}
