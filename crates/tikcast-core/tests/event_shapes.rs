//! Holds the shape description (`tikcast_core::schema`, from which docs/events.md and
//! js/src/events.generated.ts are generated) to the truth: every event the reader writes
//! for every corpus message, for an empty payload of every known method and for the
//! derived/passthrough triggers, and every event of a short `Session` run (gift streaks,
//! timed-out streaks, raw gifts, aggregated likes), is checked against its declared
//! shape at run time: every declared key present with its declared type, no undeclared
//! key, nested objects and lists all the way down. A writer that changes without its
//! row in `shape.rs` (or a schema change the tables do not follow) fails here.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use serde_json::Value;
use tikcast_core::decode::KNOWN_METHODS;
use tikcast_core::schema::{self, Base, FieldShape, Ty};
use tikcast_core::session::{Mode, Output, Session, SessionConfig};
use tikcast_core::{pb, write_message, EnvelopeInfo, Event, JsonSink};

/// What the checks saw: errors, and every shape / message they checked a real object of.
#[derive(Default)]
struct Check {
    errors: Vec<String>,
    seen: BTreeSet<String>,
}

impl Check {
    fn fail(&mut self, path: &str, what: String) {
        if self.errors.len() < 50 {
            self.errors.push(format!("{path}: {what}"));
        }
    }

    fn object(&mut self, name: &str, fields: &[FieldShape], v: &Value, path: &str) {
        let Some(obj) = v.as_object() else {
            return self.fail(path, format!("expected a {name} object, got {v}"));
        };
        self.seen.insert(name.to_string());
        for f in fields {
            match obj.get(f.key) {
                Some(x) => self.value(f.ty, x, &format!("{path}.{}", f.key)),
                None => self.fail(path, format!("{name} lacks `{}`", f.key)),
            }
        }
        for k in obj.keys() {
            if !fields.iter().any(|f| f.key == k) {
                self.fail(path, format!("{name} has undeclared key `{k}`"));
            }
        }
    }

    fn value(&mut self, ty: Ty, v: &Value, path: &str) {
        if v.is_null() {
            if !ty.nullable {
                self.fail(path, format!("null where {ty:?} is declared"));
            }
            return;
        }
        if ty.list {
            let Some(items) = v.as_array() else {
                return self.fail(path, format!("expected a list, got {v}"));
            };
            for (i, x) in items.iter().enumerate() {
                self.value(Ty::of(ty.base), x, &format!("{path}[{i}]"));
            }
            return;
        }
        match ty.base {
            Base::Number if v.is_number() => {}
            Base::Bool if v.is_boolean() => {}
            Base::Str if v.is_string() => {}
            Base::Id
                if v.as_str()
                    .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())) => {}
            Base::Base64
                if v.as_str().is_some_and(|s| {
                    s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                }) => {}
            Base::ByteValues
                if v.as_array()
                    .is_some_and(|a| a.iter().all(|b| b.as_u64().is_some_and(|b| b <= 255))) => {}
            Base::User => self.named("User", v, path),
            Base::Shape(name) => self.named(name, v, path),
            Base::Message(row) => {
                let info = schema::message(row).expect("a message row");
                self.object(info.ts_name, &schema::message_fields(row), v, path);
            }
            Base::Map(entry) => match v.as_object() {
                Some(o) => {
                    for (k, x) in o {
                        self.value(schema::map_value(entry), x, &format!("{path}[{k:?}]"));
                    }
                }
                None => self.fail(path, format!("expected a map object, got {v}")),
            },
            other => self.fail(path, format!("expected {other:?}, got {v}")),
        }
    }

    fn named(&mut self, name: &str, v: &Value, path: &str) {
        match schema::named(name) {
            Some(s) => self.object(name, s.fields, v, path),
            None => self.fail(path, format!("no shape named {name}")),
        }
    }

    /// One event: the event base plus its declared fields.
    fn event(&mut self, shapes: &BTreeMap<&str, Vec<FieldShape>>, v: &Value, path: &str) {
        let Some(name) = v.get("type").and_then(Value::as_str) else {
            return self.fail(path, format!("event without a type: {v}"));
        };
        let Some(fields) = shapes.get(name) else {
            return self.fail(path, format!("event `{name}` is not declared"));
        };
        let mut all = schema::named("EventBase")
            .expect("EventBase")
            .fields
            .to_vec();
        all.extend(fields.iter().copied());
        self.object(&format!("event {name}"), &all, v, path);
        self.seen.insert(format!("event {name}"));
    }
}

fn shapes() -> BTreeMap<&'static str, Vec<FieldShape>> {
    schema::events()
        .iter()
        .map(|e| (e.name, e.fields()))
        .collect()
}

fn written(method: &str, payload: &[u8]) -> Vec<Value> {
    let mut sink = JsonSink::new();
    let env = EnvelopeInfo {
        msg_id: 7,
        is_history: false,
    };
    write_message(method, payload, env, &mut sink);
    sink.texts()
        .map(|t| serde_json::from_str(t).expect("the reader writes JSON"))
        .collect()
}

#[test]
fn the_description_names_every_event_and_method_once() {
    let events = schema::events();
    let names: BTreeSet<&str> = events.iter().map(|e| e.name).collect();
    assert_eq!(names.len(), events.len(), "an event is described twice");
    let model: BTreeSet<&str> = Event::NAMES.iter().copied().collect();
    assert_eq!(
        names, model,
        "described events differ from the event model's"
    );
    // Every known method is described with the event it produces first.
    for (method, name) in KNOWN_METHODS {
        let e = events
            .iter()
            .find(|e| e.from.contains(method))
            .unwrap_or_else(|| panic!("{method} is not described"));
        assert_eq!(e.name, *name, "{method}");
    }
    // ... and no other method (the route table and the oracle's table agree).
    let routed: BTreeSet<&str> = events
        .iter()
        .flat_map(|e| e.from.iter().copied())
        .filter(|m| !m.contains(' '))
        .collect();
    let known: BTreeSet<&str> = KNOWN_METHODS.iter().map(|(m, _)| *m).collect();
    assert_eq!(routed, known, "routed methods vs KNOWN_METHODS");
    // Every TS name is unique (the generator names an interface after each); the wire
    // `User` never gets one, the canonical `User` stands for it.
    let mut ts: BTreeSet<&str> = BTreeSet::new();
    for row in 0..schema::message_count() {
        let name = schema::message(row).unwrap().ts_name;
        assert!(name == "User" || ts.insert(name), "{name} twice");
    }
    for s in schema::named_shapes() {
        assert!(ts.insert(s.name), "{} clashes with a message name", s.name);
    }
}

#[test]
fn the_checker_rejects_a_missing_an_undeclared_and_a_mistyped_key() {
    let shapes = shapes();
    let good = written("WebcastLikeMessage", &[0x10, 0x05, 0x18, 0x2a]);
    let mut c = Check::default();
    c.event(&shapes, &good[0], "like");
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    for bad in [
        |v: &mut Value| {
            v.as_object_mut().unwrap().remove("likeCount");
        },
        |v: &mut Value| {
            v["extra"] = Value::Bool(true);
        },
        |v: &mut Value| v["likeCount"] = Value::String("5".into()),
        |v: &mut Value| v["user"]["badges"] = serde_json::json!([{ "kind": "image" }]),
        |v: &mut Value| v["user"]["userId"] = serde_json::json!(5),
    ] {
        let mut v = good[0].clone();
        bad(&mut v);
        let mut c = Check::default();
        c.event(&shapes, &v, "like");
        assert!(!c.errors.is_empty(), "accepted {v}");
    }
}

#[test]
fn every_event_the_reader_writes_has_its_declared_shape() {
    let shapes = shapes();
    let mut c = Check::default();
    let mut events = 0;
    // Defaults: an empty payload of every known method (nulls, empty lists, zeros).
    for (method, _) in KNOWN_METHODS {
        for v in written(method, &[]) {
            c.event(&shapes, &v, method);
            events += 1;
        }
    }
    // The derived, passthrough and error events.
    let triggers: &[(&str, &[u8])] = &[
        ("WebcastSocialMessage", &[0x20, 0x01]),
        ("WebcastSocialMessage", &[0x20, 0x03]),
        ("WebcastControlMessage", &[0x10, 0x03]),
        ("WebcastEnvelopeMessage", &[0x12, 0x02, 0x10, 0x13]),
        ("WebcastBarrageMessage", b"\x2a\x11\x0a\x0fttlive_superfan"),
        (
            "WebcastBarrageMessage",
            b"\x2a\x2d\x0a\x2bttlive_superfan_commentnotif_superfanjoined",
        ),
        ("WebcastOecLiveShoppingMessage", &[0x10, 0x01, 0x22, 0x00]),
        ("WebcastNotYetKnownMessage", &[1, 2, 3]),
        ("WebcastChatMessage", &[0x1a, 0x05]),
    ];
    for (method, payload) in triggers {
        for v in written(method, payload) {
            c.event(&shapes, &v, method);
            events += 1;
        }
    }
    for name in [
        "follow",
        "share",
        "streamEnd",
        "superFanBox",
        "superFan",
        "superFanJoin",
        "shopProduct",
        "unknown",
        "decodeError",
    ] {
        assert!(
            c.seen.contains(&format!("event {name}")),
            "no {name} written"
        );
    }
    // The whole corpus.
    let mut corpus = 0;
    if let Some(dir) = common::corpus_dir() {
        for (method, list) in common::load_samples(&dir) {
            for s in &list {
                for v in written(&method, &s.payload) {
                    c.event(&shapes, &v, &format!("{method} #{} ({})", s.index, s.file));
                    events += 1;
                }
                corpus += 1;
            }
        }
        assert!(
            corpus >= 2_900,
            "expected the whole corpus (2,933), got {corpus}"
        );
    }
    println!(
        "{events} events checked ({corpus} corpus messages); shapes and messages seen: {}",
        c.seen.len()
    );
    assert!(
        c.errors.is_empty(),
        "events differ from their declared shape:\n{}",
        c.errors.join("\n")
    );
    if corpus > 0 {
        // The corpus exercises the nested shapes, not only their defaults.
        for name in [
            "User",
            "UserBadge",
            "ChatEmote",
            "TopViewer",
            "BattleHost",
            "BattleArmy",
            "BattleContributor",
            "BattleTeam",
            "BattleTeamHost",
        ] {
            assert!(c.seen.contains(name), "no corpus event carried a {name}");
        }
    }
}

// ---------------------------------------------------------------- a short session

const ROOM: u64 = 7_300_000_000_000_000_001;

fn envelope(method: &str, msg_id: u64, payload: Vec<u8>) -> pb::MessageEnvelope {
    pb::MessageEnvelope {
        method: method.into(),
        payload,
        msg_id,
        ..Default::default()
    }
}

fn common(msg_id: u64) -> Option<pb::Common> {
    Some(pb::Common {
        msg_id,
        room_id: ROOM,
        ..Default::default()
    })
}

fn user(id: u64) -> Option<pb::User> {
    Some(pb::User {
        id,
        display_id: format!("user{id}"),
        ..Default::default()
    })
}

fn gift(msg_id: u64, group_id: u64, count: i32, end: bool) -> pb::MessageEnvelope {
    envelope(
        "WebcastGiftMessage",
        msg_id,
        pb::GiftMessage {
            common: common(msg_id),
            gift_id: 5655,
            repeat_count: count,
            repeat_end: i32::from(end),
            group_id,
            user: user(9),
            gift: Some(pb::GiftInfo {
                id: 5655,
                name: "Rose".into(),
                r#type: 1,
                diamond_count: 1,
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

fn like(msg_id: u64, count: i32, total: i64) -> pb::MessageEnvelope {
    envelope(
        "WebcastLikeMessage",
        msg_id,
        pb::LikeMessage {
            common: common(msg_id),
            count,
            total,
            user: user(9),
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

fn frame(messages: Vec<pb::MessageEnvelope>) -> Vec<u8> {
    pb::PushFrame {
        payload_encoding: "pb".into(),
        payload_type: "msg".into(),
        payload: pb::FetchResult {
            messages,
            ..Default::default()
        }
        .encode_to_vec(),
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn every_session_event_has_its_declared_shape() {
    let mut s = Session::new(SessionConfig {
        mode: Mode::Relay,
        gift_raw: true,
        like_aggregate_ms: Some(1_000),
        gift_streak_timeout_ms: 5_000,
        ..Default::default()
    });
    let mut now = 1_000;
    let mut out: Vec<Output> = Vec::new();
    s.start(now);
    out.extend(s.poll_outputs());
    let conn = out
        .iter()
        .find_map(|o| match o {
            Output::Connect { conn, .. } => Some(*conn),
            _ => None,
        })
        .expect("the session connects");
    s.on_open(now, conn);
    // A streak that ends, a streak that never ends (times out), likes to merge.
    s.on_frame(
        now,
        conn,
        &frame(vec![
            gift(1, 41, 1, false),
            gift(2, 41, 2, true),
            gift(3, 42, 1, false),
            like(4, 5, 100),
            like(5, 3, 103),
        ]),
    );
    out.extend(s.poll_outputs());
    for _ in 0..4 {
        now += 3_000;
        s.handle_timeout(now);
        out.extend(s.poll_outputs());
    }
    s.stop(now);
    out.extend(s.poll_outputs());
    let events: Vec<Value> = out
        .iter()
        .filter_map(|o| match o {
            Output::Events(e) => Some(e.to_events()),
            _ => None,
        })
        .flatten()
        .map(|e| serde_json::to_value(&e).expect("events serialize"))
        .collect();
    let shapes = shapes();
    let mut c = Check::default();
    for v in &events {
        c.event(&shapes, v, "session");
    }
    assert!(c.errors.is_empty(), "{}", c.errors.join("\n"));
    for name in ["gift", "giftStreak", "giftRaw", "likeAggregate"] {
        assert!(
            c.seen.contains(&format!("event {name}")),
            "no {name} in {events:?}"
        );
    }
    assert!(
        events
            .iter()
            .any(|v| v["type"] == "gift" && v["timedOut"] == true),
        "no timed-out gift in {events:?}"
    );
}
