//! Field-level checks on real captures. Two kinds of oracle, neither of them our decoder:
//! a tiny raw protobuf walker written here (field numbers from the protocol notes), run
//! over every sample of a method, and published readings (another decoder's golden JSON
//! in `more/signer/expected`, and values quoted in the protocol notes). No captured
//! personal data is copied into this file: values are read from the corpus at test time.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use tikcast_core::{decode_batch, decode_message, Event};

// ------------------------------------------------------------------ raw walker (oracle)

#[derive(Debug, Clone)]
enum Raw {
    Varint(u64),
    Bytes(Vec<u8>),
}

fn read_varint(b: &[u8], i: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = b[*i];
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    v
}

fn fields(b: &[u8]) -> Vec<(u32, Raw)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let key = read_varint(b, &mut i);
        let (num, wire) = ((key >> 3) as u32, key & 7);
        match wire {
            0 => out.push((num, Raw::Varint(read_varint(b, &mut i)))),
            1 => i += 8,
            5 => i += 4,
            2 => {
                let len = read_varint(b, &mut i) as usize;
                out.push((num, Raw::Bytes(b[i..i + len].to_vec())));
                i += len;
            }
            w => panic!("oracle: unexpected wire type {w}"),
        }
    }
    out
}

/// All values at `path` (each step a field number, descending into sub-messages).
fn values(b: &[u8], path: &[u32]) -> Vec<Raw> {
    let (first, rest) = path.split_first().expect("non-empty path");
    let here: Vec<Raw> = fields(b)
        .into_iter()
        .filter(|(n, _)| n == first)
        .map(|(_, v)| v)
        .collect();
    if rest.is_empty() {
        return here;
    }
    here.iter()
        .flat_map(|v| match v {
            Raw::Bytes(sub) => values(sub, rest),
            Raw::Varint(_) => Vec::new(),
        })
        .collect()
}

fn uint(b: &[u8], path: &[u32]) -> u64 {
    match values(b, path).last() {
        Some(Raw::Varint(v)) => *v,
        _ => 0,
    }
}

fn string(b: &[u8], path: &[u32]) -> String {
    match values(b, path).last() {
        Some(Raw::Bytes(s)) => String::from_utf8(s.clone()).expect("utf-8"),
        _ => String::new(),
    }
}

fn count(b: &[u8], path: &[u32]) -> usize {
    values(b, path).len()
}

// ------------------------------------------------------------------ helpers

fn samples() -> Option<BTreeMap<String, Vec<common::Sample>>> {
    common::corpus_dir().map(|d| common::load_samples(&d))
}

/// Runs `check` on every sample of `method` and returns how many were checked.
fn each(
    all: &BTreeMap<String, Vec<common::Sample>>,
    method: &str,
    mut check: impl FnMut(&[u8], &[Event]),
) -> usize {
    let list = all
        .get(method)
        .unwrap_or_else(|| panic!("corpus has no {method}"));
    for s in list {
        let events = decode_message(method, &s.payload);
        check(&s.payload, &events);
    }
    list.len()
}

macro_rules! expect_event {
    ($events:expr, $variant:ident) => {
        match $events.first() {
            Some(Event::$variant(e)) => e,
            other => panic!(
                "expected {}, got {:?}",
                stringify!($variant),
                other.map(Event::name)
            ),
        }
    };
}

// ------------------------------------------------------------------ every sample vs the oracle

#[test]
fn chat_text_and_sender_match_the_wire() {
    let Some(all) = samples() else { return };
    let n = each(&all, "WebcastChatMessage", |raw, ev| {
        let e = expect_event!(ev, Chat);
        assert_eq!(e.comment, string(raw, &[3]));
        assert_eq!(e.user.user_id, uint(raw, &[2, 1]));
        assert_eq!(e.user.unique_id, string(raw, &[2, 38]));
        assert_eq!(e.user.nickname, string(raw, &[2, 3]));
        assert_eq!(e.meta.room_id, uint(raw, &[1, 3]));
        assert_eq!(e.meta.create_time as u64, uint(raw, &[1, 4]));
        assert!(e.meta.msg_id != 0);
        assert_eq!(e.user.badges.len(), count(raw, &[2, 64]));
    });
    assert!(n >= 100);
}

#[test]
fn gift_fields_match_the_wire() {
    let Some(all) = samples() else { return };
    let mut streak_ends = 0;
    each(&all, "WebcastGiftMessage", |raw, ev| {
        let e = expect_event!(ev, Gift);
        assert_eq!(e.gift_id, uint(raw, &[2]));
        assert_eq!(e.repeat_count as u64, uint(raw, &[5]));
        assert_eq!(e.combo_count as u64, uint(raw, &[6]));
        assert_eq!(e.repeat_end, uint(raw, &[9]) == 1);
        assert_eq!(e.group_id, uint(raw, &[11]));
        assert_eq!(e.diamond_count as u64, uint(raw, &[15, 12]));
        assert_eq!(e.gift_type as u64, uint(raw, &[15, 11]));
        assert_eq!(e.gift_name, string(raw, &[15, 16]));
        assert!(
            e.gift_picture_url.starts_with("https://"),
            "{}",
            e.gift_picture_url
        );
        assert_eq!(e.receiver_user_id, uint(raw, &[23, 8]));
        streak_ends += usize::from(e.repeat_end);
    });
    assert!(streak_ends > 0, "the corpus holds finished streaks");
}

#[test]
fn like_member_social_room_user_match_the_wire() {
    let Some(all) = samples() else { return };
    each(&all, "WebcastLikeMessage", |raw, ev| {
        let e = expect_event!(ev, Like);
        assert_eq!(e.like_count as u64, uint(raw, &[2]));
        assert_eq!(e.total_like_count as u64, uint(raw, &[3]));
        assert_eq!(e.user.user_id, uint(raw, &[5, 1]));
    });
    each(&all, "WebcastMemberMessage", |raw, ev| {
        let e = expect_event!(ev, Member);
        assert_eq!(e.user.user_id, uint(raw, &[2, 1]));
        assert_eq!(e.action_id as u64, uint(raw, &[10]));
        assert!(
            e.label.ends_with(" joined"),
            "join toast rendered: {:?}",
            e.label
        );
    });
    let (mut follows, mut shares) = (0, 0);
    each(&all, "WebcastSocialMessage", |raw, ev| {
        let e = expect_event!(ev, Social);
        let action = uint(raw, &[4]);
        assert_eq!(e.action as u64, action);
        assert_eq!(e.display_type, string(raw, &[1, 8, 1]));
        match action {
            1 => {
                follows += 1;
                assert!(
                    matches!(ev.get(1), Some(Event::Follow(_))),
                    "action 1 derives follow"
                );
                assert!(e.display_type.contains("follow"));
            }
            3 => {
                shares += 1;
                assert!(
                    matches!(ev.get(1), Some(Event::Share(_))),
                    "action 3 derives share"
                );
                assert!(e.display_type.contains("share"));
            }
            _ => assert_eq!(ev.len(), 1),
        }
    });
    assert!(follows > 0 && shares > 0);
    each(&all, "WebcastRoomUserSeqMessage", |raw, ev| {
        let e = expect_event!(ev, RoomUser);
        assert_eq!(e.viewer_count as u64, uint(raw, &[3]));
        assert_eq!(e.total_user as u64, uint(raw, &[7]));
        assert_eq!(e.top_viewers.len(), count(raw, &[2]));
    });
}

#[test]
fn control_derives_stream_end_only_for_end_actions() {
    let Some(all) = samples() else { return };
    let mut ends = 0;
    each(&all, "WebcastControlMessage", |raw, ev| {
        let e = expect_event!(ev, ControlMessage);
        let action = uint(raw, &[2]);
        assert_eq!(e.action as u64, action);
        let ended = matches!(ev.get(1), Some(Event::StreamEnd(_)));
        assert_eq!(ended, action == 3 || action == 4);
        ends += usize::from(ended);
    });
    assert!(ends > 0, "the corpus has a stream end (action 3)");
}

#[test]
fn battles_and_armies_match_the_wire() {
    let Some(all) = samples() else { return };
    each(&all, "WebcastLinkMicBattle", |raw, ev| {
        let e = expect_event!(ev, LinkMicBattle);
        assert_eq!(e.battle_id, uint(raw, &[2]));
        assert_eq!(e.action as u64, uint(raw, &[4]));
        assert_eq!(e.status as u64, uint(raw, &[3, 5]));
        assert_eq!(e.duration as u64, uint(raw, &[3, 3]));
        assert_eq!(e.results.len(), count(raw, &[5]));
        assert_eq!(e.hosts.len(), count(raw, &[10]));
    });
    let mut points = Vec::new();
    each(&all, "WebcastLinkMicArmies", |raw, ev| {
        let e = expect_event!(ev, LinkMicArmies);
        assert_eq!(e.battle_id, uint(raw, &[2]));
        assert_eq!(e.trigger_reason as u64, uint(raw, &[7]));
        assert_eq!(e.armies.len(), count(raw, &[3]));
        let mut wire: Vec<u64> = values(raw, &[3, 2, 2])
            .iter()
            .map(|v| if let Raw::Varint(v) = v { *v } else { 0 })
            .collect();
        let mut ours: Vec<u64> = e.armies.iter().map(|a| a.points as u64).collect();
        wire.sort();
        ours.sort();
        assert_eq!(ours, wire);
        points.extend(ours);
    });
    // Quoted in the protocol notes (§5.11): host scores 1883 and 23 in one capture.
    assert!(points.contains(&1883) && points.contains(&23));
}

#[test]
fn question_emote_envelope_intro_pin_delete_caption_barrage_match_the_wire() {
    let Some(all) = samples() else { return };
    each(&all, "WebcastQuestionNewMessage", |raw, ev| {
        let e = expect_event!(ev, QuestionNew);
        assert_eq!(e.question_text, string(raw, &[2, 2]));
        assert_eq!(e.question_id, uint(raw, &[2, 1]));
        assert_eq!(
            e.user.as_ref().map(|u| u.user_id),
            Some(uint(raw, &[2, 5, 1]))
        );
    });
    each(&all, "WebcastEmoteChatMessage", |raw, ev| {
        let e = expect_event!(ev, Emote);
        assert_eq!(
            e.emotes.first().map(|x| x.emote_id.clone()),
            Some(string(raw, &[3, 1]))
        );
        assert!(e.emotes[0].image_url.starts_with("https://"));
    });
    let mut chest = false;
    each(&all, "WebcastEnvelopeMessage", |raw, ev| {
        let e = expect_event!(ev, Envelope);
        assert_eq!(e.diamond_count as u64, uint(raw, &[2, 5]));
        assert_eq!(e.people_count as u64, uint(raw, &[2, 6]));
        assert_eq!(e.envelope_id, string(raw, &[2, 1]));
        chest |= e.diamond_count == 20 && e.people_count == 16; // quoted in the protocol notes (§5.14)
    });
    assert!(chest);
    each(&all, "WebcastLiveIntroMessage", |raw, ev| {
        let e = expect_event!(ev, LiveIntro);
        assert_eq!(e.description, string(raw, &[4]));
        assert_eq!(e.language, string(raw, &[8]));
        assert_eq!(e.host.as_ref().map(|h| h.user_id), Some(uint(raw, &[5, 1])));
    });
    each(&all, "WebcastRoomPinMessage", |raw, ev| {
        let e = expect_event!(ev, RoomPin);
        assert_eq!(e.action as u64, uint(raw, &[33]));
        assert_eq!(e.pinned_method, string(raw, &[30]));
        assert_eq!(e.pinned_msg_id, uint(raw, &[35]));
        if e.pinned_method == "WebcastChatMessage" && count(raw, &[2]) > 0 {
            assert_eq!(e.pinned_comment, string(raw, &[2, 3]));
        }
    });
    each(&all, "WebcastImDeleteMessage", |raw, ev| {
        let e = expect_event!(ev, ImDelete);
        // field 3 is a packed list of user ids
        let packed = match values(raw, &[3]).first() {
            Some(Raw::Bytes(b)) => b.clone(),
            _ => Vec::new(),
        };
        let mut i = 0;
        let mut ids = Vec::new();
        while i < packed.len() {
            ids.push(read_varint(&packed, &mut i));
        }
        assert_eq!(e.delete_user_ids, ids);
        assert!(!ids.is_empty());
    });
    each(&all, "WebcastCaptionMessage", |raw, ev| {
        let e = expect_event!(ev, Caption);
        assert_eq!(e.timestamp_ms as u64, uint(raw, &[2]));
        assert_eq!(e.duration_ms as u64, uint(raw, &[3]));
        assert_eq!(
            e.content
                .first()
                .map(|c| c.text.clone())
                .unwrap_or_default(),
            string(raw, &[4, 2])
        );
    });
    each(&all, "WebcastBarrageMessage", |raw, ev| {
        let e = expect_event!(ev, Barrage);
        assert_eq!(e.msg_type as u64, uint(raw, &[3]));
        assert_eq!(e.display_type, string(raw, &[5, 1]));
    });
}

#[test]
fn poll_goal_rank_generic_payloads_match_the_wire() {
    let Some(all) = samples() else { return };
    each(&all, "WebcastPollMessage", |raw, ev| {
        let e = expect_event!(ev, Poll);
        assert_eq!(e.data.poll_id, uint(raw, &[3]));
        let options = e.data.start_content.as_ref().map_or(0, |s| s.options.len());
        assert_eq!(options, count(raw, &[4, 3]));
    });
    each(&all, "WebcastGoalUpdateMessage", |raw, ev| {
        let e = expect_event!(ev, GoalUpdate);
        assert_eq!(e.data.contributor_id, uint(raw, &[4]));
        assert_eq!(
            e.data.goal.as_ref().map(|g| g.description.clone()),
            Some(string(raw, &[3, 5]))
        );
    });
    each(&all, "WebcastWeeklyRankRewardMessage", |raw, ev| {
        // the one method whose header is field 3, not 1
        let e = expect_event!(ev, WeeklyRankReward);
        assert_eq!(e.meta.room_id, uint(raw, &[3, 3]));
        assert!(e.meta.room_id != 0);
    });
}

/// Issue 14's fields, each against the wire in every sample that has it: gift
/// `transactionId` (the log id, field 16, set on every captured gift) and
/// `roomFanTicketCount` (13); member `entryAction` (20) and `entryType` (21); social
/// `shareDisplayStyle` (7); control `floatStyle` (9); the user's `followInfo` (22),
/// identity flags (chat 18: 1 gift giver, 6 anchor) and badge colours (combine badge 11
/// and 12, colour code 2).
#[test]
fn issue_14_fields_match_the_wire() {
    let Some(all) = samples() else { return };
    let mut log_ids = std::collections::BTreeSet::new();
    let mut fan_tickets = 0;
    each(&all, "WebcastGiftMessage", |raw, ev| {
        let e = expect_event!(ev, Gift);
        assert_eq!(e.transaction_id, string(raw, &[16]));
        assert_eq!(e.transaction_id.len(), 34, "{}", e.transaction_id);
        log_ids.insert(e.transaction_id.clone());
        assert_eq!(e.room_fan_ticket_count as u64, uint(raw, &[13]));
        fan_tickets += usize::from(e.room_fan_ticket_count > 0);
    });
    // 81 distinct log ids over 94 distinct gifts: a streak's steps each get their own.
    assert!(log_ids.len() >= 50, "{} log ids", log_ids.len());
    assert!(fan_tickets >= 50, "{fan_tickets} gifts with fan tickets");

    let mut actions = BTreeMap::new();
    each(&all, "WebcastMemberMessage", |raw, ev| {
        let e = expect_event!(ev, Member);
        assert_eq!(e.entry_action, string(raw, &[20]));
        assert_eq!(e.entry_type, string(raw, &[21]));
        *actions.entry(e.entry_action.clone()).or_insert(0) += 1;
    });
    assert!(
        actions.contains_key("click") && actions.contains_key("draw"),
        "{actions:?}"
    );
    each(&all, "WebcastSocialMessage", |raw, ev| {
        let e = expect_event!(ev, Social);
        assert_eq!(e.share_display_style as u64, uint(raw, &[7]));
    });
    each(&all, "WebcastControlMessage", |raw, ev| {
        let e = expect_event!(ev, ControlMessage);
        assert_eq!(e.float_style as u64, uint(raw, &[9]));
    });

    let (mut anchors, mut givers, mut followers, mut colours) = (0, 0, 0, 0);
    each(&all, "WebcastChatMessage", |raw, ev| {
        let e = expect_event!(ev, Chat);
        let u = &e.user;
        assert_eq!(u.following_count as u64, uint(raw, &[2, 22, 1]));
        assert_eq!(u.follower_count as u64, uint(raw, &[2, 22, 2]));
        assert_eq!(u.is_anchor, uint(raw, &[18, 6]) == 1);
        assert_eq!(u.is_gift_giver_of_anchor, uint(raw, &[18, 1]) == 1);
        assert!(!u.is_anonymous);
        anchors += usize::from(u.is_anchor);
        givers += usize::from(u.is_gift_giver_of_anchor);
        followers += usize::from(u.follower_count > 0);
        let badges = values(raw, &[2, 64]);
        assert_eq!(badges.len(), u.badges.len());
        for (b, raw_badge) in u.badges.iter().zip(&badges) {
            let Raw::Bytes(rb) = raw_badge else {
                panic!("badge is a message")
            };
            let fill = string(rb, &[23, 11, 2]);
            let dark = string(rb, &[23, 12, 2]);
            assert_eq!(
                (b.primary_color.as_str(), b.secondary_color.as_str()),
                (fill.as_str(), dark.as_str())
            );
            if !fill.is_empty() {
                assert!(fill.starts_with('#') && fill.len() == 9, "{fill}");
                colours += 1;
            }
        }
    });
    assert!(anchors >= 1 && givers >= 10 && followers >= 90 && colours >= 50,
        "anchors {anchors}, gift givers {givers}, with followers {followers}, badge colours {colours}");
}

/// Issue 14's battle fields against the wire: `matchId` (the channel id, armies 4 and the
/// battle setting's 4), `durationSec` (setting 3), `secsRemaining` (setting start 2 plus
/// the length, against the score time 6), `transactionId` (armies 17) and the teams of a
/// team battle (armies 14, battle 18 and 17) with `teamIdx` on each side.
#[test]
fn battle_match_time_and_team_fields_match_the_wire() {
    let Some(all) = samples() else { return };
    let mut matches = std::collections::BTreeMap::<u64, std::collections::BTreeSet<u64>>::new();
    let (mut team_armies, mut team_battles) = (0, 0);
    each(&all, "WebcastLinkMicArmies", |raw, ev| {
        let e = expect_event!(ev, LinkMicArmies);
        assert_eq!(e.match_id, uint(raw, &[4]));
        assert_eq!(e.match_id, uint(raw, &[18, 4]));
        assert_eq!(e.transaction_id, string(raw, &[17]));
        assert_eq!(e.transaction_id.len(), 34, "{}", e.transaction_id);
        assert_eq!(
            e.duration_sec as u64,
            uint(raw, &[18, 3]) + uint(raw, &[18, 9])
        );
        assert_eq!(e.server_ts_ms as u64, uint(raw, &[6]));
        let end = uint(raw, &[18, 2]) + 1000 * e.duration_sec as u64;
        let left = end.saturating_sub(uint(raw, &[6]));
        assert_eq!(e.secs_remaining, Some(left.div_ceil(1000) as i64));
        assert!((0..=e.duration_sec).contains(&e.secs_remaining.unwrap()));
        assert_eq!(e.teams.len(), count(raw, &[14]));
        for (i, t) in e.teams.iter().enumerate() {
            assert_eq!(t.team_idx as usize, i);
            assert_eq!(t.result, None);
            assert_eq!(t.hosts.iter().map(|h| h.score).sum::<i64>(), t.total_score);
        }
        for a in &e.armies {
            if let Some(t) = e
                .teams
                .iter()
                .find(|t| t.hosts.iter().any(|h| h.user_id == a.host_user_id))
            {
                assert_eq!(a.team_idx, t.team_idx);
            }
        }
        team_armies += usize::from(!e.teams.is_empty());
        matches.entry(e.match_id).or_default().insert(e.battle_id);
    });
    each(&all, "WebcastLinkMicBattle", |raw, ev| {
        let e = expect_event!(ev, LinkMicBattle);
        assert_eq!(e.match_id, uint(raw, &[3, 4]));
        let teams = count(raw, &[18]).max(count(raw, &[17]));
        assert_eq!(e.teams.len(), teams);
        team_battles += usize::from(teams > 0);
        if e.match_id != 0 && e.battle_id != 0 {
            matches.entry(e.match_id).or_default().insert(e.battle_id);
        }
    });
    // One capture of each is a team battle; some links ran more than one battle.
    assert!(
        team_armies >= 1 && team_battles >= 1,
        "{team_armies} {team_battles}"
    );
    assert!(matches.values().any(|b| b.len() > 1), "{matches:?}");
}

/// The fields issue 14 gave the events that had none beyond the common ones, read from
/// the captures by field number: each JSON path against the raw value at its wire path,
/// on every sample, with at least `min` samples carrying a non-empty value.
#[test]
fn filled_in_generic_events_match_the_wire() {
    let Some(all) = samples() else { return };
    // (method, JSON path, wire path, at least this many non-empty samples)
    let cases: &[(&str, &[&str], &[u32], usize)] = &[
        (
            "WebcastAnchorToolModificationMessage",
            &["tool", "itemId"],
            &[2, 5],
            10,
        ),
        (
            "WebcastAnchorToolModificationMessage",
            &["tool", "title"],
            &[2, 4],
            10,
        ),
        (
            "WebcastAnchorToolModificationMessage",
            &["tool", "toolType"],
            &[2, 26],
            10,
        ),
        (
            "WebcastRoomStickerMessage",
            &["sticker", "label"],
            &[2, 2],
            9,
        ),
        (
            "WebcastRoomStickerMessage",
            &["sticker", "textColor"],
            &[2, 6],
            5,
        ),
        (
            "WebcastEcShortItemRefreshMessage",
            &["refresh", "itemKey"],
            &[2, 2],
            8,
        ),
        (
            "WebcastGiftCollectionUpdateMessage",
            &["update", "gift", "name"],
            &[2, 3, 16],
            10,
        ),
        (
            "WebcastLinkMicBattleItemCard",
            &["criticalStrike", "card", "cardNameKey"],
            &[5, 1, 1],
            6,
        ),
        (
            "WebcastLinkMicBattleItemCard",
            &["award", "displayContent", "defaultPattern"],
            &[7, 1, 2],
            4,
        ),
        (
            "WebcastLinkmicBattleNoticeMessage",
            &["text", "content", "defaultPattern"],
            &[8, 1, 2],
            10,
        ),
        ("WebcastLinkMicMethod", &["userId"], &[5], 90),
        ("LinkMicMethod", &["fromUserId"], &[24], 1),
    ];
    for (method, json_path, wire, min) in cases {
        let mut filled = 0;
        each(&all, method, |raw, _| {
            let v = written(method, raw);
            let got = json_path.iter().fold(&v[0], |v, k| &v[*k]);
            let want = match values(raw, wire).last() {
                Some(Raw::Bytes(b)) => {
                    serde_json::Value::String(String::from_utf8(b.clone()).unwrap())
                }
                Some(Raw::Varint(n)) => serde_json::Value::String(n.to_string()),
                None => serde_json::Value::Null,
            };
            match &want {
                serde_json::Value::Null => {}
                w => {
                    assert_eq!(got, w, "{method} {json_path:?}");
                    filled += usize::from(w != "" && w != "0");
                }
            }
        });
        assert!(
            filled >= *min,
            "{method} {json_path:?}: {filled} samples with a value"
        );
    }
}

/// The events of one payload as the schema reader writes them (the JSON the SDK and the
/// relay give; `reader_oracle.rs` holds it equal to the typed model's), as one JSON array.
fn written(method: &str, payload: &[u8]) -> serde_json::Value {
    let mut sink = tikcast_core::JsonSink::new();
    let env = tikcast_core::EnvelopeInfo {
        msg_id: 1,
        is_history: false,
    };
    tikcast_core::write_message(method, payload, env, &mut sink);
    serde_json::Value::Array(
        sink.texts()
            .map(|t| serde_json::from_str(t).unwrap())
            .collect(),
    )
}

/// Every user object in `v`, however deep (event users, top viewers, battle users, ...).
fn users_in<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
    match v {
        serde_json::Value::Object(o) => {
            if o.contains_key("topGifterRank") && o.contains_key("badges") {
                out.push(v);
            }
            o.values().for_each(|x| users_in(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| users_in(x, out)),
        _ => {}
    }
}

/// Issue 14's first bug: the current top-gifter badge (`…/new_top_gifter_version_2.png`,
/// a combine badge labelled "No. 1") gave `topGifterRank: null`. Every user in the corpus
/// who wears it must get the rank its label shows (the lowest, if several), and nobody
/// gets one from the design's version number.
#[test]
fn top_gifter_rank_from_the_current_badge() {
    let Some(all) = samples() else { return };
    let mut users = std::collections::BTreeSet::new();
    let mut checked = 0;
    for (method, list) in &all {
        for s in list {
            let json = written(method, &s.payload);
            let mut found = Vec::new();
            users_in(&json, &mut found);
            for u in found {
                let badges = u["badges"].as_array().unwrap();
                let ranks: Vec<u64> = badges
                    .iter()
                    .filter(|b| b["url"].as_str().unwrap().contains("/new_top_gifter_"))
                    .filter_map(|b| {
                        let label = b["label"].as_str().unwrap();
                        let digits = label.trim_start_matches(|c: char| !c.is_ascii_digit());
                        let end = digits
                            .find(|c: char| !c.is_ascii_digit())
                            .unwrap_or(digits.len());
                        digits[..end].parse().ok()
                    })
                    .collect();
                if badges
                    .iter()
                    .any(|b| b["url"].as_str().unwrap().contains("ranklist_top_gifter_"))
                {
                    continue; // the older design: covered by its own rule
                }
                let expected = ranks.iter().min().copied();
                assert_eq!(
                    u["topGifterRank"].as_u64(),
                    expected,
                    "{method} {}#{}: {:?}",
                    s.file,
                    s.index,
                    u["badges"]
                );
                if let Some(r) = expected {
                    assert!(
                        (1..=3).contains(&r),
                        "{method} {}#{}: rank {r}",
                        s.file,
                        s.index
                    );
                    users.insert(u["userId"].as_str().unwrap().to_owned());
                    checked += 1;
                }
            }
        }
    }
    // 14 distinct users wear it in the 2023 captures (No. 1 to No. 3).
    assert!(
        users.len() >= 6,
        "only {} users with the badge",
        users.len()
    );
    assert!(checked >= users.len());
}

#[test]
fn published_values_from_the_protocol_notes() {
    let Some(all) = samples() else { return };
    // §5.3: a streak message of gift 5827, "Ice Cream Cone", 1 diamond, streakable.
    let mut ice_cream = false;
    each(&all, "WebcastGiftMessage", |_, ev| {
        let e = expect_event!(ev, Gift);
        if e.gift_id == 5827 {
            assert_eq!(
                (e.gift_name.as_str(), e.diamond_count, e.gift_type),
                ("Ice Cream Cone", 1, 1)
            );
            ice_cream = true;
        }
    });
    assert!(ice_cream);
    // §5.7: total 1565 viewers, 44730 cumulative, 16 ranks.
    let mut seen = false;
    each(&all, "WebcastRoomUserSeqMessage", |_, ev| {
        let e = expect_event!(ev, RoomUser);
        if e.viewer_count == 1565 && e.total_user == 44730 {
            assert_eq!(e.top_viewers.len(), 16);
            seen = true;
        }
    });
    assert!(seen);
}

#[test]
fn like_message_b64_reads_count_15_total_11641() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    use base64::Engine;
    let text =
        std::fs::read_to_string(dir.join("more/like-message.b64")).expect("like-message.b64");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .expect("base64");
    let ev = decode_message("WebcastLikeMessage", &bytes);
    let e = expect_event!(ev, Like);
    assert_eq!((e.like_count, e.total_like_count), (15, 11641));
}

/// The 2026 capture (`more/signer`) against another decoder's reading of it.
#[test]
fn signer_payloads_match_published_golden_json() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let signer = dir.join("more/signer");
    let golden = |name: &str| -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(signer.join("expected").join(format!("{name}.json"))).unwrap(),
        )
        .unwrap()
    };
    let payload = |name: &str| std::fs::read(signer.join(format!("{name}.pb"))).unwrap();
    let s = |v: &serde_json::Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    };
    let check_user = |u: &tikcast_core::User, g: &serde_json::Value| {
        assert_eq!(u.user_id.to_string(), s(&g["id"]));
        assert_eq!(u.nickname, s(&g["nickname"]));
        assert_eq!(u.unique_id, s(&g["unique_id"]));
        assert_eq!(u.sec_uid, s(&g["sec_uid"]));
    };

    let g = golden("gift");
    let ev = decode_message("WebcastGiftMessage", &payload("gift"));
    let e = expect_event!(ev, Gift);
    check_user(&e.user, &g["user"]);
    assert_eq!(e.gift_id.to_string(), s(&g["gift_id"]));
    assert_eq!(e.gift_name, s(&g["gift_name"]));
    assert_eq!(e.diamond_count.to_string(), s(&g["diamond_count"]));
    assert_eq!(e.repeat_count.to_string(), s(&g["repeat_count"]));
    assert_eq!(e.combo_count.to_string(), s(&g["combo_count"]));
    assert_eq!(e.group_id.to_string(), s(&g["group_id"]));
    assert_eq!(e.repeat_end, g["repeat_end"].as_bool().unwrap());

    let g = golden("like");
    let ev = decode_message("WebcastLikeMessage", &payload("like"));
    let e = expect_event!(ev, Like);
    check_user(&e.user, &g["user"]);
    assert_eq!(e.like_count.to_string(), s(&g["count"]));
    assert_eq!(e.total_like_count.to_string(), s(&g["total"]));

    let g = golden("member");
    let ev = decode_message("WebcastMemberMessage", &payload("member"));
    let e = expect_event!(ev, Member);
    check_user(&e.user, &g["user"]);
    assert_eq!(e.member_count.to_string(), s(&g["member_count"]));
    assert_eq!(e.action_id.to_string(), s(&g["action"]));

    let g = golden("social");
    let ev = decode_message("WebcastSocialMessage", &payload("social"));
    let e = expect_event!(ev, Social);
    check_user(&e.user, &g["user"]);
    assert_eq!(e.action.to_string(), s(&g["action"]));
    assert_eq!(e.follow_count.to_string(), s(&g["follow_count"]));
    assert_eq!(e.share_count.to_string(), s(&g["share_count"]));
    assert!(matches!(ev.get(1), Some(Event::Follow(_))));

    let g = golden("room-user");
    let ev = decode_message("WebcastRoomUserSeqMessage", &payload("room-user"));
    let e = expect_event!(ev, RoomUser);
    assert_eq!(e.viewer_count.to_string(), s(&g["total"]));
    assert_eq!(e.popularity.to_string(), s(&g["popularity"]));
    assert_eq!(e.total_user.to_string(), s(&g["total_user"]));

    let g = golden("chat");
    let ev = decode_message("WebcastChatMessage", &payload("chat"));
    let e = expect_event!(ev, Chat);
    check_user(&e.user, &g["user"]);
    assert_eq!(e.comment, s(&g["comment"]));
}

/// The real 2026 fetch result decodes as a batch with its transport fields.
#[test]
fn signer_batch_decodes_as_fetch_result() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let bytes = std::fs::read(Path::new(&dir).join("more/signer/batch.pb")).unwrap();
    let d = decode_batch(&bytes).expect("batch.pb is a fetch result");
    assert_eq!(d.events.len(), 13);
    assert_eq!(d.fetch_interval_ms, 1000);
    assert!(d.is_first);
    assert!(!d.need_ack);
    assert_eq!(
        d.push_server,
        "wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/ws_reuse_supplement/"
    );
    let keys: Vec<&str> = d.route_params.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        keys.contains(&"wrss") && keys.contains(&"imprp"),
        "{keys:?}"
    );
    let chats = d
        .events
        .iter()
        .filter(|e| matches!(e, Event::Chat(_)))
        .count();
    assert_eq!(chats, 6);
    assert!(d
        .events
        .iter()
        .all(|e| !matches!(e, Event::DecodeError(_) | Event::Unknown(_))));
    assert!(
        d.events.iter().any(|e| e.name() == "roomMessage")
            && d.events.iter().any(|e| e.name() == "liveIntro")
    );
}

/// `isAnonymous` reads the user's Enigma info (User 1092, mask flag 1). The six chats of
/// the 2026 capture carry it with the mask off (an empty message); a chat built by our
/// encoder with the mask on is anonymous in both decoders, and the rest of its user is
/// read as usual.
#[test]
fn is_anonymous_reads_the_enigma_mask() {
    use common::hostile::{int_field, len_field};
    use tikcast_core::{write_message, EnvelopeInfo, JsonSink};
    if let Some(dir) = common::corpus_dir() {
        let bytes = std::fs::read(Path::new(&dir).join("more/signer/batch.pb")).unwrap();
        let d = decode_batch(&bytes).unwrap();
        let mut users = 0;
        for e in &d.events {
            if let Event::Chat(c) = e {
                assert!(!c.user.is_anonymous);
                users += 1;
            }
        }
        assert_eq!(users, 6);
    }
    let chat = |mask: Option<u64>| {
        let mut enigma = Vec::new();
        if let Some(m) = mask {
            int_field(&mut enigma, 1, m);
        }
        let mut user = Vec::new();
        int_field(&mut user, 1, 42);
        len_field(&mut user, 3, "Enigma TUYUL".as_bytes());
        len_field(&mut user, 1092, &enigma);
        let mut m = Vec::new();
        len_field(&mut m, 2, &user);
        len_field(&mut m, 3, b"hi");
        m
    };
    for (mask, anonymous) in [(Some(1), true), (Some(0), false), (None, false)] {
        let payload = chat(mask);
        let typed = expect_event!(decode_message("WebcastChatMessage", &payload), Chat).clone();
        assert_eq!(typed.user.is_anonymous, anonymous);
        assert_eq!(typed.user.nickname, "Enigma TUYUL");
        let mut sink = JsonSink::new();
        let env = EnvelopeInfo {
            msg_id: 1,
            is_history: false,
        };
        write_message("WebcastChatMessage", &payload, env, &mut sink);
        let written: serde_json::Value =
            serde_json::from_str(sink.texts().next().unwrap()).unwrap();
        assert_eq!(written["user"]["isAnonymous"], anonymous);
        assert_eq!(written["user"]["userId"], "42");
    }
}

/// gotiktoklive's 2022 examples (15 methods) decode too.
#[test]
fn gotiktoklive_examples_decode() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    use base64::Engine;
    let text = std::fs::read_to_string(dir.join("more/gotiktoklive-examples.json")).unwrap();
    let map: BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
    assert!(map.len() >= 10);
    for (method, b64) in map {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let ev = decode_message(&method, &bytes);
        assert!(
            !matches!(ev.first(), Some(Event::DecodeError(_))),
            "{method}: {:?}",
            ev.first()
        );
    }
}
