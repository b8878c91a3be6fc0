//! The mock's message list: every message the server will ever send, built once at
//! startup from a corpus directory, a session script ([`crate::script`]), or the built-in
//! generator (which writes script lines).
//!
//! Message `i` always has msg id [`FIRST_MSG_ID`]` + i`, in the envelope and in the
//! payload's `common.msg_id`, so a client can check ordering and de-duplication by id.
//! They are merged into the payload's `common` ([`frames::stamp_common`]), which keeps
//! every other field of it: a corpus sample keeps its create time, a message we encoded
//! gets `--rate`-independent create times 100 ms apart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tikcast_core::pb;

use super::web;
use crate::frames;
use crate::script::{self, Setting, Timed};

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
    /// A session script and, optionally, its gift catalog file.
    Script(PathBuf, Option<PathBuf>),
    Generated,
}

impl Source {
    pub(crate) fn describe(&self) -> String {
        match self {
            Source::Corpus(p) => format!("corpus {}", p.display()),
            Source::Script(p, _) => format!("script {}", p.display()),
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
        Source::Script(file, gifts) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read script {}: {e}", file.display()))?;
            let mut setting = setting(room);
            if let Some(gifts) = gifts {
                let catalog = std::fs::read_to_string(gifts)
                    .map_err(|e| format!("cannot read {}: {e}", gifts.display()))?;
                setting.gifts = script::parse_catalog(&catalog)
                    .map_err(|e| format!("{}: {e}", gifts.display()))?;
            }
            let script = script::parse(&text, &setting)
                .map_err(|e| format!("script {}: {e}", file.display()))?;
            let n = count.unwrap_or(script.timeline.len());
            if script.timeline.is_empty() && n > 0 {
                return Err(format!(
                    "script {} has no events: write one JSON object per line, e.g. {{\"type\":\"chat\",\"user\":\"alice\",\"comment\":\"hi\"}}",
                    file.display()
                ));
            }
            Ok((0..n)
                .map(|i| prepare_timed(i, &script.timeline[i % script.timeline.len()], room))
                .collect())
        }
        Source::Generated => {
            let n = count.unwrap_or(DEFAULT_GENERATED);
            let lines: Vec<(usize, Value)> = (0..n).map(|i| (i + 1, generated(i, n))).collect();
            let script =
                script::compile(&lines, &setting(room)).map_err(|e| format!("generator: {e}"))?;
            Ok(script
                .timeline
                .iter()
                .enumerate()
                .map(|(i, m)| prepare_timed(i, m, room))
                .collect())
        }
    }
}

/// What the mock fixes for a script: its room, host and gift catalog.
fn setting(room: &Room) -> Setting {
    Setting {
        room_id: room.room_id,
        host: room.host.clone(),
        room_from_script: false,
        epoch_ms: room.base_ms,
        gifts: web::catalog(),
    }
}

/// Script message `m` as message `index` of the mock's room.
fn prepare_timed(index: usize, m: &Timed, room: &Room) -> Prepared {
    let create_time = room.base_ms + CREATE_TIME_STEP_MS * index as i64;
    finish(
        index,
        &m.method,
        m.stamped(msg_id(index), room.room_id, create_time),
    )
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
                match data.and_then(|d| script::decode_base64(d).ok()) {
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

// ------------------------------------------------------------------------------ generator

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

/// Line `index` of the generator's script of `total` lines.
fn generated(index: usize, total: usize) -> Value {
    let round = index / CYCLE.len();
    let viewer = VIEWERS[(index * 5 + round) % VIEWERS.len()];
    match CYCLE[index % CYCLE.len()] {
        Step::Member => json!({"type": "member", "user": viewer}),
        Step::Chat => json!({
            "type": "chat",
            "user": viewer,
            "comment": COMMENTS[(index / 3) % COMMENTS.len()],
        }),
        Step::Like => json!({"type": "like", "user": viewer, "count": 1 + index % 15}),
        Step::SingleGift => json!({
            "type": "gift",
            "user": viewer,
            "giftId": 9_000_001,
            "giftName": "Mock Rocket",
            "diamonds": 500,
        }),
        Step::StreakGift(n) => json!({
            "type": "gift",
            // The same sender for the whole streak.
            "user": VIEWERS[(round + 3) % VIEWERS.len()],
            "giftId": 5655,
            "streakable": true,
            "repeatCount": n,
            // A streak cut short by --messages still ends on the last message.
            "repeatEnd": n == STREAK_LEN || index + 1 == total,
            "groupId": 1_000 + round,
        }),
        Step::Follow => json!({"type": "follow", "user": viewer}),
        Step::Share => json!({"type": "share", "user": viewer}),
        Step::RoomUser => json!({"type": "roomUser", "viewers": 100 + (round * 7) % 900}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

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
}
