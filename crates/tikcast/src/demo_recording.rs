//! `tikcast demo-recording`: turns the demo session script (`tests/fixtures/demo-session.jsonl`,
//! invented users and content) into a recording (docs/recording.md) that `tikcast relay
//! --upstream replay:FILE` serves to the overlay. Everything is encoded by our own schema
//! types and gzipped like TikTok's push server; ids, timestamps and cursors are fixed, so
//! the same script always gives the same bytes (a test keeps the committed file current).
//!
//! Script lines (JSON, one per line; `#` lines are comments; `t` = ms since the start):
//!
//! - `{"type":"room","uniqueId","nickname","roomId","title","viewerCount"}`: the room
//!   (the recording's `roomInfo` text record at 0 ms);
//! - `{"type":"user","handle","nickname","gifterLevel","moderator","subscriber"}`;
//! - `{"t","type":"chat","user","comment","emotes":[{"index","id"}]}`, `emote` (`emote`),
//!   `member`, `follow`, `share`, `subscribe` (`months`), `like` (`count`; the total is
//!   the running sum), `roomUser` (`viewers`);
//! - `{"t","type":"gift","user","giftId"}` (one gift) and `{"t","type":"streak","user",
//!   "giftId","count","every"}` (a streak: `count` messages `every` ms apart, the last one
//!   ends it); names, diamonds and images come from the gift catalog;
//! - `battleStart` (`battleId`, `opponent`, `duration` s), `battleScore` (`host`,
//!   `opponent`, `top`: the top contributor's handle), `battleEnd` (`host`, `opponent`);
//! - `streamEnd`: control action 3.
//!
//! Messages at the same `t` share one push frame.

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message;
use serde_json::Value;
use tikcast_core::pb;

use crate::fixture;
use crate::frames::{self, Compression};
use crate::recording::{encode_header, encode_record, Kind};

/// Wall-clock start of the demo session (2026-01-01T00:00:00Z).
const T0: i64 = 1_767_225_600_000;
/// Msg id of the first message; message `i` has `FIRST_MSG_ID + i`.
const FIRST_MSG_ID: u64 = 7_400_000_000_000_100_001;
/// Log id of the first frame.
const FIRST_LOG_ID: u64 = 7_301_000_000_000_000_001;

#[derive(Clone)]
struct UserDef {
    user: pb::User,
}

#[derive(Clone)]
struct GiftDef {
    name: String,
    diamonds: i32,
    image: String,
}

/// One message, placed on the timeline.
struct Timed {
    t: u64,
    method: &'static str,
    payload: Vec<u8>,
}

/// Reads `script` and the gift catalog `gifts` (`[{id, name, diamondCount, imageUrl}]`)
/// and returns the recording's bytes.
pub fn build(script: &Path, gifts: &Path) -> Result<Vec<u8>, String> {
    let text = std::fs::read_to_string(script)
        .map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let catalog = std::fs::read_to_string(gifts)
        .map_err(|e| format!("cannot read {}: {e}", gifts.display()))?;
    encode(&text, &catalog).map_err(|e| format!("{}: {e}", script.display()))
}

fn parse_catalog(text: &str) -> Result<BTreeMap<u64, GiftDef>, String> {
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

/// The encoder's state while it walks the script.
struct Demo {
    room_id: u64,
    host: Option<pb::User>,
    users: BTreeMap<String, UserDef>,
    gifts: BTreeMap<u64, GiftDef>,
    timeline: Vec<Timed>,
    like_total: i64,
    battle_opponent: Option<pb::User>,
    next_group: u64,
}

fn encode(text: &str, catalog: &str) -> Result<Vec<u8>, String> {
    let mut demo = Demo {
        room_id: 0,
        host: None,
        users: BTreeMap::new(),
        gifts: parse_catalog(catalog)?,
        timeline: Vec::new(),
        like_total: 0,
        battle_opponent: None,
        next_group: 1,
    };
    let mut room_info = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let v: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: not JSON ({e})", n + 1))?;
        if v["type"] == "room" {
            demo.room_id = str_field(&v, "roomId")?
                .parse()
                .map_err(|_| format!("line {}: roomId must be a decimal id", n + 1))?;
            let mut info = v.clone();
            let o = info.as_object_mut().ok_or("room must be an object")?;
            o.insert("type".into(), "roomInfo".into());
            o.insert("isLive".into(), true.into());
            room_info = Some(info);
            continue;
        }
        demo.line(&v).map_err(|e| format!("line {}: {e}", n + 1))?;
    }
    let info = room_info.ok_or("the script needs a {\"type\":\"room\",...} line")?;
    // Stable sort: lines at the same time keep their script order.
    demo.timeline.sort_by_key(|m| m.t);

    let meta = serde_json::json!({
        "uniqueId": info["uniqueId"],
        "startedAtMs": T0,
        "upstream": "record",
        "recorder": "tikcast demo-recording",
    });
    let mut out = encode_header(&meta);
    out.extend(encode_record(Kind::Text, 0, info.to_string().as_bytes()));
    let mut i = 0;
    let mut index = 0u64;
    let mut frame_no = 0u64;
    while i < demo.timeline.len() {
        let t = demo.timeline[i].t;
        let mut messages = Vec::new();
        while i < demo.timeline.len() && demo.timeline[i].t == t {
            let m = &demo.timeline[i];
            let id = FIRST_MSG_ID + index;
            messages.push(frames::envelope(m.method, id, set_ids(m, id, demo.room_id)));
            index += 1;
            i += 1;
        }
        frame_no += 1;
        let hints = pb::FetchResult {
            cursor: format!("t-{}_r-1_d-1_u-1_f-{frame_no}", T0 + t as i64),
            fetch_interval_ms: 1000,
            now_ms: T0 + t as i64,
            internal_ext: format!("internal_src:pushserver|wss_msg_type:r|demo:{frame_no}"),
            need_ack: true,
            ..Default::default()
        };
        let frame = frames::msg_frame(
            frame_no,
            FIRST_LOG_ID + frame_no,
            frames::batch(messages.iter().map(Vec::as_slice), &hints),
            Compression::Gzip,
        );
        out.extend(encode_record(Kind::Frame, t, &frame));
    }
    Ok(out)
}

/// Fills in `common.msg_id` and `common.room_id`, which depend on the message's place.
fn set_ids(m: &Timed, msg_id: u64, room_id: u64) -> Vec<u8> {
    let common = fixture::common_in_room(room_id, m.method, msg_id, T0 + m.t as i64, "", "", None)
        .unwrap_or_default();
    // The display text set by the encoder stays, the ids and the time come from here.
    let mut payload = m.payload.clone();
    frames::stamp_common(&mut payload, &common);
    payload
}

fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    v[name]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{} needs a string \"{name}\"", v["type"]))
}

fn int_field(v: &Value, name: &str, default: Option<i64>) -> Result<i64, String> {
    match v.get(name) {
        Some(x) => x
            .as_i64()
            .ok_or_else(|| format!("{}: \"{name}\" must be an integer", v["type"])),
        None => default.ok_or_else(|| format!("{} needs \"{name}\"", v["type"])),
    }
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

/// A user id derived from the handle, so it never depends on line order.
fn user_id(handle: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in handle.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    7_100_000_000_000_000_000 + h % 1_000_000_000_000_000
}

fn common(method: &str, key: &str, pattern: &str, user: Option<&pb::User>) -> Option<pb::Common> {
    // Ids and the time are set per message by `set_ids`.
    fixture::common_in_room(0, method, 0, 0, key, pattern, user)
}

impl Demo {
    fn user(&self, v: &Value, field: &str) -> Result<pb::User, String> {
        let handle = str_field(v, field)?;
        self.users
            .get(handle)
            .map(|u| u.user.clone())
            .ok_or_else(|| format!("unknown user \"{handle}\": add a {{\"type\":\"user\"}} line"))
    }

    fn host(&self) -> Result<pb::User, String> {
        self.host
            .clone()
            .ok_or_else(|| "the host's user line must come first".to_string())
    }

    fn push(&mut self, t: u64, method: &'static str, payload: Vec<u8>) {
        self.timeline.push(Timed { t, method, payload });
    }

    fn line(&mut self, v: &Value) -> Result<(), String> {
        let kind = v["type"].as_str().ok_or("missing string field \"type\"")?;
        if kind == "user" {
            let handle = str_field(v, "handle")?;
            let mut user = fixture::user(
                user_id(handle),
                handle,
                str_field(v, "nickname")?,
                int_field(v, "gifterLevel", Some(0))? as u32,
                v["moderator"].as_bool().unwrap_or(false),
            );
            if int_field(v, "gifterLevel", Some(0))? == 0 {
                user.badge_list.retain(|b| b.scene_type != 8);
            }
            user.avatar_thumb = avatar(handle);
            user.is_subscribe = v["subscriber"].as_bool().unwrap_or(false);
            if self.host.is_none() {
                self.host = Some(user.clone());
            }
            self.users
                .insert(handle.to_string(), UserDef { user: user.clone() });
            return Ok(());
        }
        let t = u64::try_from(int_field(v, "t", None)?).map_err(|_| "t must be >= 0")?;
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
                let count = int_field(v, "count", Some(1))?;
                self.like_total += count;
                let m = "WebcastLikeMessage";
                let p = pb::LikeMessage {
                    common: common(m, "pm_mt_msg_viewer", "{0:user} liked the LIVE", Some(&u)),
                    count: count as i32,
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
                    total_user: viewers * 4,
                    ..Default::default()
                };
                self.push(t, m, p.encode_to_vec());
            }
            "gift" | "streak" => {
                let u = self.user(v, "user")?;
                let gift_id = u64::try_from(int_field(v, "giftId", None)?)
                    .map_err(|_| "giftId must be positive")?;
                let g = self
                    .gifts
                    .get(&gift_id)
                    .cloned()
                    .ok_or_else(|| format!("gift {gift_id} is not in the gift catalog"))?;
                let streak = kind == "streak";
                let (count, every) = if streak {
                    (
                        int_field(v, "count", None)?,
                        int_field(v, "every", Some(250))?,
                    )
                } else {
                    (1, 0)
                };
                let group_id = if streak {
                    T0 as u64 + t + self.next_group
                } else {
                    0
                };
                self.next_group += 1;
                let host = self.host()?;
                let m = "WebcastGiftMessage";
                for n in 1..=count {
                    let pattern = format!("{{0:user}} sent {}", g.name);
                    let p = pb::GiftMessage {
                        common: common(m, "webcast_aweme_gift_send_message", &pattern, Some(&u)),
                        gift_id,
                        repeat_count: n as i32,
                        combo_count: n as i32,
                        group_count: 1,
                        repeat_end: i32::from(n == count),
                        group_id,
                        user: Some(u.clone()),
                        gift: Some(pb::GiftInfo {
                            id: gift_id,
                            name: g.name.clone(),
                            diamond_count: g.diamonds,
                            r#type: if streak { 1 } else { 2 },
                            combo: streak,
                            image: fixture::image(&g.image),
                            ..Default::default()
                        }),
                        monitor_info: Some(pb::GiftMonitorInfo {
                            anchor_id: host.id,
                            to_user_id: host.id,
                            ..Default::default()
                        }),
                        ..Default::default()
                    };
                    self.push(t + (n - 1) as u64 * every as u64, m, p.encode_to_vec());
                }
            }
            "battleStart" | "battleEnd" => {
                let battle_id: u64 = str_field(v, "battleId")?
                    .parse()
                    .map_err(|_| "battleId must be a decimal id")?;
                let host = self.host()?;
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
                        start_time_ms: T0 + t as i64,
                        duration: int_field(v, "duration", Some(0))? as i32,
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
                let host = self.host()?;
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
            "streamEnd" => {
                let m = "WebcastControlMessage";
                let p = pb::ControlMessage {
                    common: common(m, "", "", None),
                    action: 3,
                    ..Default::default()
                };
                self.push(t, m, p.encode_to_vec());
            }
            other => return Err(format!("unknown type \"{other}\"")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &str = r#"[{"id":5655,"name":"Rose","diamondCount":1,"imageUrl":"/r.svg"}]"#;

    #[test]
    fn a_small_script_round_trips_through_the_decoder() {
        let script = r#"
            {"type":"room","uniqueId":"h","roomId":"7","title":"x"}
            {"type":"user","handle":"h","nickname":"H"}
            {"type":"user","handle":"a","nickname":"A <b>","gifterLevel":4,"moderator":true}
            {"t":0,"type":"chat","user":"a","comment":"<img src=x>","emotes":[{"index":1,"id":"e"}]}
            {"t":0,"type":"like","user":"a","count":3}
            {"t":10,"type":"streak","user":"a","giftId":5655,"count":3,"every":5}
            {"t":30,"type":"streamEnd"}
        "#;
        let bytes = encode(script, CATALOG).unwrap();
        assert_eq!(bytes, encode(script, CATALOG).unwrap(), "deterministic");
        let rec = crate::recording::parse(&bytes).unwrap();
        assert_eq!(rec.records[0].kind, Kind::Text);
        let ts: Vec<u64> = rec.records[1..].iter().map(|r| r.t_ms).collect();
        assert_eq!(ts, vec![0, 10, 15, 20, 30]);
        let mut events = Vec::new();
        for r in &rec.records[1..] {
            let d = tikcast_core::decode_frame(&r.body).unwrap();
            assert!(!d.cursor.is_empty());
            events.extend(d.events.iter().map(|e| serde_json::to_value(e).unwrap()));
        }
        assert_eq!(events[0]["type"], "chat");
        assert_eq!(events[0]["comment"], "<img src=x>");
        assert_eq!(events[0]["roomId"], "7");
        assert_eq!(events[0]["user"]["isModerator"], true);
        assert_eq!(events[0]["user"]["gifterLevel"], 4);
        assert_eq!(events[0]["emotes"][0]["imageUrl"], "/assets/emotes/e.svg");
        assert_eq!(events[1]["totalLikeCount"], 3);
        assert_eq!(events[4]["repeatCount"], 3);
        assert_eq!(events[4]["repeatEnd"], true);
        assert_eq!(events[4]["giftName"], "Rose");
        assert_eq!(events.last().unwrap()["type"], "streamEnd");
        let ids: std::collections::BTreeSet<_> =
            events.iter().map(|e| e["msgId"].to_string()).collect();
        assert_eq!(
            ids.len(),
            6,
            "one msg id per message (streamEnd repeats controlMessage's)"
        );
    }

    #[test]
    fn script_errors_name_the_line() {
        let err = encode("{\"type\":\"room\",\"roomId\":\"1\"}\n{\"t\":0,\"type\":\"chat\",\"user\":\"nobody\",\"comment\":\"x\"}", CATALOG).unwrap_err();
        assert!(err.starts_with("line 2: unknown user"), "{err}");
    }
}
