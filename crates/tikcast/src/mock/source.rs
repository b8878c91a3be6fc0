//! The mock's message list: every message the server will ever send, built once at
//! startup from a corpus directory, a script, or the built-in generator.
//!
//! Message `i` always has msg id [`FIRST_MSG_ID`]` + i`, in the envelope and in the
//! payload's `common.msg_id`, so a client can check ordering and de-duplication by id.
//! Our own encoder writes `common` directly; for payloads we did not encode (corpus
//! samples, `raw` script lines) we append one more top-level field 1 holding
//! `Common { msg_id, room_id }`: protobuf merges repeated embedded-message fields, so the
//! decoded `common` keeps every original field and takes our id and room.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use prost::Message;
use serde_json::Value;
use tikcast_core::pb;

use crate::fixture;
use crate::frames;

/// Msg id of message 0; message `i` has `FIRST_MSG_ID + i`.
pub(crate) const FIRST_MSG_ID: u64 = 7_400_000_000_000_000_001;

/// Messages made by the generator when `--messages` is not given.
pub(crate) const DEFAULT_GENERATED: usize = 1000;

/// Spacing of `common.create_time` between consecutive messages we encode.
const CREATE_TIME_STEP_MS: i64 = 100;

/// Where the messages come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Corpus(PathBuf),
    Script(PathBuf),
    Generated,
}

impl Source {
    pub(crate) fn describe(&self) -> String {
        match self {
            Source::Corpus(p) => format!("corpus {}", p.display()),
            Source::Script(p) => format!("script {}", p.display()),
            Source::Generated => "generated".to_string(),
        }
    }
}

/// The room the messages belong to.
#[derive(Debug, Clone)]
pub(crate) struct Room {
    pub(crate) room_id: u64,
    /// Handle of the (invented) host.
    pub(crate) host: String,
    /// `create_time` of message 0, ms since the epoch.
    pub(crate) base_ms: i64,
}

/// One message, ready to go into a fetch result.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) msg_id: u64,
    /// The encoded `MessageEnvelope`.
    pub(crate) encoded: Vec<u8>,
}

/// Builds the global message list: `count` messages (default: every sample of the corpus
/// or script, or [`DEFAULT_GENERATED`]), cycling through the samples when `count` is larger.
pub(crate) fn build(
    source: &Source,
    count: Option<usize>,
    room: &Room,
) -> Result<Vec<Prepared>, String> {
    match source {
        Source::Corpus(dir) => {
            let samples = corpus_samples(dir)?;
            let n = count.unwrap_or(samples.len());
            Ok((0..n)
                .map(|i| {
                    let (method, payload) = &samples[i % samples.len()];
                    prepare_foreign(i, method, payload, room)
                })
                .collect())
        }
        Source::Script(file) => {
            let events = read_script(file)?;
            let n = count.unwrap_or(events.len());
            if events.is_empty() && n > 0 {
                return Err(format!(
                    "script {} has no events: write one JSON object per line, e.g. {{\"type\":\"chat\",\"user\":\"alice\",\"comment\":\"hi\"}}",
                    file.display()
                ));
            }
            let mut enc = Encoder::new(room);
            Ok((0..n)
                .map(|i| enc.script(i, &events[i % events.len()]))
                .collect())
        }
        Source::Generated => {
            let n = count.unwrap_or(DEFAULT_GENERATED);
            let mut enc = Encoder::new(room);
            Ok((0..n).map(|i| enc.generated(i, n)).collect())
        }
    }
}

fn msg_id(index: usize) -> u64 {
    FIRST_MSG_ID + index as u64
}

fn finish(index: usize, method: &str, payload: Vec<u8>) -> Prepared {
    let id = msg_id(index);
    Prepared {
        msg_id: id,
        encoded: frames::envelope(method, id, payload),
    }
}

/// A payload we did not encode: patch `common.msg_id`/`room_id` by appending field 1,
/// unless field 1 of this payload is not an embedded message (then it goes unpatched).
fn prepare_foreign(index: usize, method: &str, payload: &[u8], room: &Room) -> Prepared {
    let mut payload = payload.to_vec();
    frames::stamp_common(
        &mut payload,
        &pb::Common {
            msg_id: msg_id(index),
            room_id: room.room_id,
            ..Default::default()
        },
    );
    finish(index, method, payload)
}

// ------------------------------------------------------------------------------ corpus

/// Reads every `*.json` file of `dir` (sorted by name): objects keyed by method name, each
/// value a list of `{"eventData": base64 payload, ...}`. Returns the samples interleaved
/// round-robin across methods (alphabetical), so any prefix is varied.
fn corpus_samples(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "cannot read corpus directory {}: {e}; pass a directory of *.json message logs",
            dir.display()
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut by_method: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    let mut bad = 0usize;
    for file in &files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read corpus file {}: {e}", file.display()))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| format!("corpus file {} is not JSON: {e}", file.display()))?;
        let Value::Object(map) = value else {
            return Err(format!(
                "corpus file {} is not a JSON object keyed by method name",
                file.display()
            ));
        };
        for (method, samples) in map {
            let Value::Array(samples) = samples else {
                continue;
            };
            for sample in samples {
                let data = sample.get("eventData").and_then(Value::as_str);
                match data.and_then(|d| decode_base64(d).ok()) {
                    Some(bytes) => by_method.entry(method.clone()).or_default().push(bytes),
                    None => bad += 1,
                }
            }
        }
    }
    if bad > 0 {
        eprintln!("mock: skipped {bad} corpus samples without valid base64 eventData");
    }
    let total: usize = by_method.values().map(Vec::len).sum();
    if total == 0 {
        return Err(format!(
            "corpus {} has no samples: expected *.json files keyed by method name, each a list of {{\"eventData\": base64}}",
            dir.display()
        ));
    }
    let mut out = Vec::with_capacity(total);
    let longest = by_method.values().map(Vec::len).max().unwrap_or(0);
    for round in 0..longest {
        for (method, samples) in &by_method {
            if let Some(s) = samples.get(round) {
                out.push((method.clone(), s.clone()));
            }
        }
    }
    Ok(out)
}

fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let text = text.trim();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .or_else(|_| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))
        })
}

// ------------------------------------------------------------------------------ script

/// One line of a `--script` file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ScriptEvent {
    Chat {
        user: String,
        comment: String,
    },
    Like {
        user: String,
        count: i32,
        total: Option<i64>,
    },
    Gift {
        user: String,
        gift_id: u64,
        gift_name: String,
        diamonds: i32,
        streakable: bool,
        repeat_count: i32,
        repeat_end: bool,
        group_id: u64,
    },
    Member {
        user: String,
    },
    Follow {
        user: String,
    },
    Share {
        user: String,
    },
    RoomUser {
        viewers: i64,
    },
    Control {
        action: i32,
    },
    Raw {
        method: String,
        payload: Vec<u8>,
    },
}

fn read_script(file: &Path) -> Result<Vec<ScriptEvent>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read script {}: {e}", file.display()))?;
    parse_script(&text).map_err(|e| format!("script {}: {e}", file.display()))
}

/// Parses JSON Lines; blank lines and lines starting with `#` are skipped.
pub(crate) fn parse_script(text: &str) -> Result<Vec<ScriptEvent>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let event = parse_line(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        out.push(event);
    }
    Ok(out)
}

fn parse_line(line: &str) -> Result<ScriptEvent, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    let Value::Object(obj) = value else {
        return Err("expected a JSON object like {\"type\":\"chat\",...}".into());
    };
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or("missing string field \"type\"")?;
    let string = |name: &str| -> Result<String, String> {
        match obj.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Some(_) => Err(format!("{kind}: \"{name}\" must be a non-empty string")),
            None => Err(format!("{kind} needs \"{name}\"")),
        }
    };
    let int = |name: &str, default: Option<i64>| -> Result<i64, String> {
        match obj.get(name) {
            Some(v) => v
                .as_i64()
                .ok_or_else(|| format!("{kind}: \"{name}\" must be an integer")),
            None => default.ok_or_else(|| format!("{kind} needs \"{name}\"")),
        }
    };
    let small = |name: &str, default: Option<i64>| -> Result<i32, String> {
        i32::try_from(int(name, default)?)
            .map_err(|_| format!("{kind}: \"{name}\" is out of range"))
    };
    let flag = |name: &str, default: bool| -> Result<bool, String> {
        match obj.get(name) {
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(format!("{kind}: \"{name}\" must be true or false")),
            None => Ok(default),
        }
    };
    let user = || string("user").map(|u| u.trim_start_matches('@').to_string());
    Ok(match kind {
        "chat" => ScriptEvent::Chat {
            user: user()?,
            comment: match obj.get("comment") {
                Some(Value::String(s)) => s.clone(),
                _ => return Err("chat needs a string \"comment\"".into()),
            },
        },
        "like" => ScriptEvent::Like {
            user: user()?,
            count: small("count", Some(1))?,
            total: match obj.get("total") {
                Some(_) => Some(int("total", None)?),
                None => None,
            },
        },
        "gift" => {
            let streakable = flag("streakable", false)?;
            ScriptEvent::Gift {
                user: user()?,
                gift_id: u64::try_from(int("giftId", Some(5655))?)
                    .map_err(|_| "gift: \"giftId\" must be positive".to_string())?,
                gift_name: match obj.get("giftName") {
                    Some(_) => string("giftName")?,
                    None => "Rose".to_string(),
                },
                diamonds: small("diamonds", Some(1))?,
                streakable,
                repeat_count: small("repeatCount", Some(1))?,
                // A non-streakable gift always ends its (one-message) streak.
                repeat_end: flag("repeatEnd", true)? || !streakable,
                group_id: u64::try_from(int("groupId", Some(1))?)
                    .map_err(|_| "gift: \"groupId\" must be positive".to_string())?,
            }
        }
        "member" => ScriptEvent::Member { user: user()? },
        "follow" => ScriptEvent::Follow { user: user()? },
        "share" => ScriptEvent::Share { user: user()? },
        "roomUser" => ScriptEvent::RoomUser {
            viewers: int("viewers", None)?,
        },
        "control" => ScriptEvent::Control {
            action: small("action", None)?,
        },
        "raw" => ScriptEvent::Raw {
            method: string("method")?,
            payload: decode_base64(&string("payload").or_else(|e| {
                // An empty payload is a valid (all-default) message.
                match obj.get("payload") {
                    Some(Value::String(s)) if s.is_empty() => Ok(String::new()),
                    _ => Err(e),
                }
            })?)
            .map_err(|e| format!("raw: \"payload\" is not base64 ({e})"))?,
        },
        other => {
            return Err(format!(
                "unknown type \"{other}\" (known: chat, like, gift, member, follow, share, roomUser, control, raw)"
            ))
        }
    })
}

// ------------------------------------------------------------------------------ encoder

/// Invented handles for generated traffic (no real users).
const VIEWERS: [&str; 8] = [
    "ada.mock", "bo.mock", "cy.mock", "dee.mock", "eli.mock", "fay.mock", "gus.mock", "hal.mock",
];

const COMMENTS: [&str; 8] = [
    "hello from the mock room",
    "first time here!",
    "what song is this?",
    "greetings from the test suite",
    "gg",
    "love this stream",
    "how long have you been live?",
    "👋 hi everyone",
];

/// One step of the generator's cycle.
#[derive(Debug, Clone, Copy)]
enum Step {
    Member,
    Chat,
    Like,
    SingleGift,
    Follow,
    StreakGift(i32),
    Share,
    RoomUser,
}

/// The generator's cycle: every kind of event, with one complete three-step Rose streak.
const CYCLE: [Step; 12] = [
    Step::Member,
    Step::Chat,
    Step::Like,
    Step::SingleGift,
    Step::Chat,
    Step::Follow,
    Step::StreakGift(1),
    Step::StreakGift(2),
    Step::StreakGift(3),
    Step::Share,
    Step::RoomUser,
    Step::Like,
];

/// Length of the Rose streak in [`CYCLE`].
const STREAK_LEN: i32 = 3;

struct Encoder<'a> {
    room: &'a Room,
    like_total: i64,
}

/// A stable invented user id for a handle (FNV-1a, folded into a 19-digit range).
fn user_id(handle: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in handle.to_ascii_lowercase().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    7_100_000_000_000_000_000 + h % 1_000_000_000_000_000
}

/// An invented user for `handle`: stable id, nickname from the handle's first part.
fn invented_user(handle: &str) -> pb::User {
    let first = handle.split(['.', '_']).next().unwrap_or(handle);
    let mut nickname: String = first.chars().take(1).flat_map(char::to_uppercase).collect();
    nickname.extend(first.chars().skip(1));
    if nickname.is_empty() {
        nickname = handle.to_string();
    }
    let id = user_id(handle);
    fixture::user(id, handle, &nickname, (id % 30) as u32, false)
}

impl<'a> Encoder<'a> {
    fn new(room: &'a Room) -> Self {
        Encoder {
            room,
            like_total: 0,
        }
    }

    fn common(
        &self,
        index: usize,
        method: &str,
        key: &str,
        pattern: &str,
        user: Option<&pb::User>,
    ) -> Option<pb::Common> {
        fixture::common_in_room(
            self.room.room_id,
            method,
            msg_id(index),
            self.room.base_ms + CREATE_TIME_STEP_MS * index as i64,
            key,
            pattern,
            user,
        )
    }

    fn host(&self) -> pb::User {
        invented_user(&self.room.host)
    }

    /// Message `index` of `total` generated messages.
    fn generated(&mut self, index: usize, total: usize) -> Prepared {
        let round = index / CYCLE.len();
        let viewer = VIEWERS[(index * 5 + round) % VIEWERS.len()];
        let event = match CYCLE[index % CYCLE.len()] {
            Step::Member => ScriptEvent::Member {
                user: viewer.into(),
            },
            Step::Chat => ScriptEvent::Chat {
                user: viewer.into(),
                comment: COMMENTS[(index / 3) % COMMENTS.len()].into(),
            },
            Step::Like => ScriptEvent::Like {
                user: viewer.into(),
                count: 1 + (index % 15) as i32,
                total: None,
            },
            Step::SingleGift => ScriptEvent::Gift {
                user: viewer.into(),
                gift_id: 9_000_001,
                gift_name: "Mock Rocket".into(),
                diamonds: 500,
                streakable: false,
                repeat_count: 1,
                repeat_end: true,
                group_id: 0,
            },
            Step::StreakGift(n) => ScriptEvent::Gift {
                // The same sender for the whole streak.
                user: VIEWERS[(round + 3) % VIEWERS.len()].into(),
                gift_id: 5655,
                gift_name: "Rose".into(),
                diamonds: 1,
                streakable: true,
                repeat_count: n,
                // A streak cut short by --messages still ends on the last message.
                repeat_end: n == STREAK_LEN || index + 1 == total,
                group_id: 1_000 + round as u64,
            },
            Step::Follow => ScriptEvent::Follow {
                user: viewer.into(),
            },
            Step::Share => ScriptEvent::Share {
                user: viewer.into(),
            },
            Step::RoomUser => ScriptEvent::RoomUser {
                viewers: 100 + (round as i64 * 7) % 900,
            },
        };
        self.script(index, &event)
    }

    /// Encodes one script event as message `index`.
    fn script(&mut self, index: usize, event: &ScriptEvent) -> Prepared {
        match event {
            ScriptEvent::Chat { user, comment } => {
                let u = invented_user(user);
                let m = "WebcastChatMessage";
                let payload = pb::ChatMessage {
                    common: self.common(index, m, "", "", None),
                    user: Some(u),
                    content: comment.clone(),
                    content_language: "en".into(),
                    ..Default::default()
                };
                finish(index, m, payload.encode_to_vec())
            }
            ScriptEvent::Like { user, count, total } => {
                self.like_total += i64::from(*count);
                if let Some(t) = total {
                    self.like_total = *t;
                }
                let u = invented_user(user);
                let m = "WebcastLikeMessage";
                let payload = pb::LikeMessage {
                    common: self.common(
                        index,
                        m,
                        "pm_mt_msg_viewer",
                        "{0:user} liked the LIVE",
                        Some(&u),
                    ),
                    count: *count,
                    total: self.like_total,
                    user: Some(u),
                    ..Default::default()
                };
                finish(index, m, payload.encode_to_vec())
            }
            ScriptEvent::Gift {
                user,
                gift_id,
                gift_name,
                diamonds,
                streakable,
                repeat_count,
                repeat_end,
                group_id,
            } => {
                let u = invented_user(user);
                let host = self.host();
                let m = "WebcastGiftMessage";
                let pattern = format!("{{0:user}} sent {gift_name}");
                let payload = pb::GiftMessage {
                    common: self.common(
                        index,
                        m,
                        "webcast_aweme_gift_send_message",
                        &pattern,
                        Some(&u),
                    ),
                    gift_id: *gift_id,
                    repeat_count: *repeat_count,
                    combo_count: *repeat_count,
                    group_count: 1,
                    repeat_end: i32::from(*repeat_end),
                    group_id: *group_id,
                    user: Some(u),
                    gift: Some(pb::GiftInfo {
                        id: *gift_id,
                        name: gift_name.clone(),
                        diamond_count: *diamonds,
                        r#type: if *streakable { 1 } else { 2 },
                        combo: *streakable,
                        image: fixture::image(&format!(
                            "https://example.invalid/gifts/{gift_id}.webp"
                        )),
                        ..Default::default()
                    }),
                    monitor_info: Some(pb::GiftMonitorInfo {
                        anchor_id: host.id,
                        to_user_id: host.id,
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                finish(index, m, payload.encode_to_vec())
            }
            ScriptEvent::Member { user } => {
                let u = invented_user(user);
                let m = "WebcastMemberMessage";
                let payload = pb::MemberMessage {
                    common: self.common(
                        index,
                        m,
                        "live_room_enter_toast",
                        "{0:user} joined",
                        Some(&u),
                    ),
                    user_id: u.id,
                    user: Some(u),
                    action: 1,
                    ..Default::default()
                };
                finish(index, m, payload.encode_to_vec())
            }
            ScriptEvent::Follow { user } | ScriptEvent::Share { user } => {
                let follow = matches!(event, ScriptEvent::Follow { .. });
                let (action, key, pattern) = if follow {
                    (
                        1,
                        "pm_main_follow_message_viewer_2",
                        "{0:user} followed the LIVE creator",
                    )
                } else {
                    (3, "pm_mt_guidance_share", "{0:user} shared the LIVE")
                };
                let u = invented_user(user);
                let m = "WebcastSocialMessage";
                let payload = pb::SocialMessage {
                    common: self.common(index, m, key, pattern, Some(&u)),
                    user: Some(u),
                    action,
                    ..Default::default()
                };
                finish(index, m, payload.encode_to_vec())
            }
            ScriptEvent::RoomUser { viewers } => {
                let m = "WebcastRoomUserSeqMessage";
                let payload = pb::RoomUserSeqMessage {
                    common: self.common(index, m, "", "", None),
                    total: *viewers,
                    total_user: viewers.saturating_mul(3),
                    ..Default::default()
                };
                finish(index, m, payload.encode_to_vec())
            }
            ScriptEvent::Control { action } => {
                let m = "WebcastControlMessage";
                let payload = pb::ControlMessage {
                    common: self.common(index, m, "", "", None),
                    action: *action,
                    ..Default::default()
                };
                finish(index, m, payload.encode_to_vec())
            }
            ScriptEvent::Raw { method, payload } => {
                prepare_foreign(index, method, payload, self.room)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room() -> Room {
        Room {
            room_id: 7_300_000_000_000_000_001,
            host: "mock.host".into(),
            base_ms: 1_767_225_600_000,
        }
    }

    #[test]
    fn generated_messages_decode_with_matching_ids() {
        let msgs = build(&Source::Generated, Some(30), &room()).unwrap();
        for (i, p) in msgs.iter().enumerate() {
            let env = pb::MessageEnvelope::decode(p.encoded.as_slice()).unwrap();
            assert_eq!(env.msg_id, FIRST_MSG_ID + i as u64);
            let events = tikcast_core::decode_message(&env.method, &env.payload);
            let json = serde_json::to_value(&events[0]).unwrap();
            assert_eq!(json["msgId"], env.msg_id.to_string(), "{json}");
            assert_ne!(json["type"], "decodeError", "{json}");
        }
    }

    #[test]
    fn foreign_payloads_get_our_msg_id_by_merging() {
        let original = pb::ChatMessage {
            common: Some(pb::Common {
                method: "WebcastChatMessage".into(),
                msg_id: 1,
                room_id: 2,
                create_time: 3,
                ..Default::default()
            }),
            content: "x".into(),
            ..Default::default()
        }
        .encode_to_vec();
        let p = prepare_foreign(4, "WebcastChatMessage", &original, &room());
        let env = pb::MessageEnvelope::decode(p.encoded.as_slice()).unwrap();
        let chat = pb::ChatMessage::decode(env.payload.as_slice()).unwrap();
        let common = chat.common.unwrap();
        assert_eq!(common.msg_id, FIRST_MSG_ID + 4);
        assert_eq!(common.room_id, room().room_id);
        assert_eq!(common.create_time, 3);
        assert_eq!(chat.content, "x");
    }

    #[test]
    fn script_lines_and_errors() {
        let text = "# comment\n\n{\"type\":\"chat\",\"user\":\"@alice\",\"comment\":\"hi\"}\n{\"type\":\"like\",\"user\":\"bob\",\"count\":5,\"total\":100}\n";
        let events = parse_script(text).unwrap();
        assert_eq!(
            events[0],
            ScriptEvent::Chat {
                user: "alice".into(),
                comment: "hi".into()
            }
        );
        assert_eq!(events.len(), 2);
        let err = parse_script(
            "{\"type\":\"chat\",\"user\":\"a\",\"comment\":\"x\"}\n{\"type\":\"dance\"}",
        )
        .unwrap_err();
        assert!(err.starts_with("line 2: unknown type \"dance\""), "{err}");
        let err = parse_script("\n{\"type\":\"like\"}").unwrap_err();
        assert_eq!(err, "line 2: like needs \"user\"");
        assert!(parse_script("nope")
            .unwrap_err()
            .starts_with("line 1: not JSON"));
    }
}
