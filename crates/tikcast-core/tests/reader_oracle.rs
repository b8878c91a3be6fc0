//! Decoder v2's correctness guard: the schema reader (`write_*`, borrowed views straight
//! into a sink) must give exactly the canonical JSON of the typed (prost) decoder, which
//! stays as the oracle. Every corpus message of every method, whole frames (gzipped and
//! not, filtered), and damaged copies of real messages: on damage the reader gives the
//! oracle's events or a `decodeError` event, never a different successful value.

mod common;

use std::collections::BTreeMap;

use common::hostile::{envelope, gzip, push_frame};
use tikcast_core::decode::{decode_message_into, event_name_for_method, KNOWN_METHODS};
use tikcast_core::{
    decode_batch, decode_frame_filtered, write_batch, write_frame, write_message, DecodeOptions,
    EnvelopeInfo, Event, JsonSink, Sink,
};

fn oracle(method: &str, payload: &[u8], env: EnvelopeInfo) -> Vec<String> {
    let mut events = Vec::new();
    decode_message_into(method, payload, env, &mut events);
    events
        .iter()
        .map(|e| serde_json::to_string(e).expect("events serialize"))
        .collect()
}

fn reader(method: &str, payload: &[u8], env: EnvelopeInfo) -> Vec<String> {
    let mut sink = JsonSink::new();
    write_message(method, payload, env, &mut sink);
    sink.texts().map(str::to_owned).collect()
}

#[test]
fn every_corpus_message_gives_the_oracles_json() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let samples = common::load_samples(&dir);
    let mut total = 0;
    let mut methods = 0;
    let mut failures = Vec::new();
    for (method, list) in &samples {
        methods += 1;
        for (i, s) in list.iter().enumerate() {
            // Envelope fields vary, so the meta's precedence rules are covered too.
            let env = EnvelopeInfo {
                msg_id: if i % 2 == 0 { 0 } else { 1_000 + i as u64 },
                is_history: i % 3 == 0,
            };
            let want = oracle(method, &s.payload, env);
            let got = reader(method, &s.payload, env);
            total += 1;
            if want != got {
                failures.push(format!(
                    "{method} #{} ({}):\n  oracle: {}\n  reader: {}",
                    s.index,
                    s.file,
                    want.join("\n          "),
                    got.join("\n          ")
                ));
            }
        }
    }
    println!("{total} messages of {methods} methods compared");
    assert!(
        total >= 2_900,
        "expected the whole corpus (2,933), got {total}"
    );
    assert!(
        failures.is_empty(),
        "{} of {total} messages differ; first:\n{}",
        failures.len(),
        failures
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_known_method_is_routed_to_the_same_event() {
    for (method, name) in KNOWN_METHODS {
        let got = reader(method, &[], EnvelopeInfo::default());
        let want = oracle(method, &[], EnvelopeInfo::default());
        assert_eq!(got, want, "{method} (empty payload)");
        let first: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
        assert_eq!(first["type"], *name, "{method}");
        assert_eq!(event_name_for_method(method), Some(*name));
    }
    // An unknown method passes through the same way.
    assert_eq!(
        reader("WebcastNoSuchMessage", &[8, 1], EnvelopeInfo::default()),
        oracle("WebcastNoSuchMessage", &[8, 1], EnvelopeInfo::default())
    );
}

/// Every corpus message, 40 to a batch (msg ids 1, 2, ... in corpus order) with a cursor
/// and `need_ack` after the messages, as the server writes them: (batch, its push frame),
/// every other frame gzipped.
fn corpus_frames(samples: &BTreeMap<String, Vec<common::Sample>>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let all: Vec<(&str, &[u8])> = samples
        .iter()
        .flat_map(|(m, list)| list.iter().map(move |s| (m.as_str(), s.payload.as_slice())))
        .collect();
    all.chunks(40)
        .enumerate()
        .map(|(n, chunk)| {
            let mut batch = Vec::new();
            for (i, (method, payload)) in chunk.iter().enumerate() {
                envelope(&mut batch, method, payload, (n * 40 + i) as u64 + 1);
            }
            batch.extend_from_slice(&[0x12, 3, b'c', b'u', b'r', 0x48, 1]);
            let frame = if n % 2 == 0 {
                push_frame(&gzip(&batch), true)
            } else {
                push_frame(&batch, false)
            };
            (batch, frame)
        })
        .collect()
}

/// Frames built from the corpus: 40 messages each, gzipped or not, whole and filtered.
#[test]
fn frames_and_batches_give_the_oracles_json() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let samples = common::load_samples(&dir);
    let opts = DecodeOptions::default();
    let mut frames = 0;
    for (n, (batch, frame)) in corpus_frames(&samples).into_iter().enumerate() {
        for filtered in [false, true] {
            let keep =
                |_: EnvelopeInfo, m: &str| !filtered || m.contains("Gift") || m.contains("Chat");
            let want = decode_frame_filtered(&frame, &opts, keep).expect("oracle decodes");
            let mut sink = JsonSink::new();
            let got = write_frame(&frame, &opts, keep, &mut sink).expect("reader decodes");
            assert_eq!(got.cursor, "cur");
            assert!(got.need_ack);
            assert_eq!(
                (
                    got.seq_id,
                    got.log_id,
                    &got.payload_type,
                    &got.cursor,
                    got.need_ack
                ),
                (
                    want.seq_id,
                    want.log_id,
                    &want.payload_type,
                    &want.cursor,
                    want.need_ack
                )
            );
            let want: Vec<String> = want
                .events
                .iter()
                .map(|e| serde_json::to_string(e).unwrap())
                .collect();
            let got: Vec<&str> = sink.texts().collect();
            assert_eq!(got, want, "frame {n}, filtered {filtered}");
            frames += 1;
        }
        let want = decode_batch(&batch).unwrap();
        let mut sink = JsonSink::new();
        write_batch(&batch, &opts, |_, _| true, &mut sink).unwrap();
        assert_eq!(sink.texts().count(), want.events.len());
    }
    assert!(frames > 100);
}

/// Every truncation and a few byte replacements of real messages (deterministic): the
/// reader gives the oracle's events or one `decodeError` event, never a different
/// successful value, and never panics.
#[test]
fn damaged_messages_give_the_oracles_events_or_a_decode_error() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let samples = common::load_samples(&dir);
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let (mut same, mut both_refused, mut refused, mut cases) = (0usize, 0usize, 0usize, 0usize);
    let env = EnvelopeInfo::default();
    let is_error =
        |events: &[String]| events.len() == 1 && events[0].starts_with(r#"{"type":"decodeError""#);
    for (method, list) in &samples {
        // One sample a method keeps this test to seconds in a debug build; the reader's
        // fuzz target (bench) runs for minutes.
        let Some(s) = list.iter().max_by_key(|s| s.payload.len()) else {
            continue;
        };
        let p = &s.payload;
        let mut check = |damaged: &[u8]| {
            cases += 1;
            let want = oracle(method, damaged, env);
            let got = reader(method, damaged, env);
            if got == want {
                same += 1;
            } else if is_error(&got) && is_error(&want) {
                // Both refuse; the reasons are worded differently.
                both_refused += 1;
            } else {
                assert!(
                    is_error(&got),
                    "{method}: reader gave {got:?}, oracle {want:?}"
                );
                refused += 1;
            }
        };
        // Every truncation of the first 150 bytes, then 250 more spread over the rest.
        let stride = (p.len() / 250).max(1);
        for cut in (0..p.len()).filter(|&c| c < 150 || c % stride == 0) {
            check(&p[..cut]);
        }
        for _ in 0..(5 * p.len()).min(250) {
            let mut d = p.clone();
            let at = (next() as usize) % d.len().max(1);
            if let Some(b) = d.get_mut(at) {
                *b = next() as u8;
            }
            check(&d);
        }
    }
    println!(
        "{cases} damaged messages: {same} identical, {both_refused} refused by both, {refused} refused by the reader only"
    );
    assert!(cases > 15_000, "{cases}");
    // Refusing what prost accepts is the documented exception only (a singular message
    // field sent twice), which random damage rarely makes.
    assert!(
        refused * 100 < cases,
        "{refused} of {cases} refused by the reader only"
    );
}

#[test]
fn a_hostile_expansion_is_refused_not_written() {
    // 1 MiB of empty top viewers: each 2 wire bytes would become a 37-byte object (19 MB
    // in all) if the budget did not stop it.
    let mut payload = Vec::new();
    for _ in 0..(1 << 19) {
        payload.extend_from_slice(&[0x12, 0x00]); // RoomUserSeqMessage.ranks, empty
    }
    let mut batch = Vec::new();
    envelope(&mut batch, "WebcastRoomUserSeqMessage", &payload, 1);
    let opts = DecodeOptions {
        max_expansion: 1 << 20,
        ..DecodeOptions::default()
    };
    let mut sink = JsonSink::new();
    let r = write_batch(&batch, &opts, |_, _| true, &mut sink);
    assert_eq!(r.unwrap_err().code(), "too_expensive");
    assert!(sink.out.is_empty(), "a refused batch writes nothing");
    // The same message alone, under the default 32 MiB budget, is written whole.
    let mut sink = JsonSink::new();
    write_message(
        "WebcastRoomUserSeqMessage",
        &payload,
        EnvelopeInfo::default(),
        &mut sink,
    );
    assert_eq!(sink.texts().count(), 1);
    assert!(sink.out.len() > 19_000_000);
    let _ = Event::NAMES;
}

/// The session's batches (messages kept by reference, gift streaks, like windows, the
/// streaks and windows it closes on timers and at stop) written by the reader equal the
/// oracle's typed events of the same batch, for every corpus message, unfiltered and
/// filtered by listener.
#[test]
fn the_sessions_batches_give_the_oracles_json() {
    use tikcast_core::session::{Mode, Output, Session, SessionConfig};
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let samples = common::load_samples(&dir);
    let frames = corpus_frames(&samples);
    for wanted in [None, Some(vec!["chat", "gift", "likeAggregate"])] {
        let mut s = Session::new(SessionConfig {
            mode: Mode::Relay,
            like_aggregate_ms: Some(2_000),
            gift_streak_timeout_ms: 3_000,
            ..Default::default()
        });
        s.set_wanted_events(wanted.clone());
        let conn = s.start_open(0).expect("the session connects");
        let mut outputs = Vec::new();
        let mut now = 0;
        for (_, frame) in &frames {
            now += 700;
            s.handle_timeout(now);
            s.on_frame(now, conn, frame);
            outputs.extend(s.poll_outputs());
        }
        s.stop(now);
        outputs.extend(s.poll_outputs());
        let mut names = std::collections::BTreeMap::<String, usize>::new();
        let mut events = 0;
        let mut repeated = 0;
        for o in &outputs {
            let Output::Events(b) = o else { continue };
            let want: Vec<String> = b
                .to_events()
                .iter()
                .map(|e| serde_json::to_string(e).unwrap())
                .collect();
            let mut sink = Repeats::default();
            b.write(&mut sink).expect("within the budget");
            let got: Vec<&str> = sink.json.texts().collect();
            assert_eq!(got, want, "wanted {wanted:?}");
            repeated += sink.copied;
            // The same, every event written in full.
            let mut full = Repeats {
                refuse: true,
                ..Default::default()
            };
            b.write(&mut full).expect("within the budget");
            assert_eq!(full.json.out, sink.json.out);
            assert_eq!(full.copied, 0);
            for e in b.to_events() {
                *names.entry(e.name().to_string()).or_default() += 1;
            }
            events += got.len();
        }
        let expected: &[&str] = match wanted {
            None => &[
                "gift",
                "giftRaw",
                "giftStreak",
                "likeAggregate",
                "like",
                "chat",
                "follow",
            ],
            Some(_) => &["gift", "chat", "likeAggregate"],
        };
        for name in expected {
            assert!(names.contains_key(*name), "no {name} in {names:?}");
        }
        let least = if wanted.is_none() { 2_000 } else { 300 };
        assert!(events > least, "{events} events");
        // Each gift message's `giftRaw` event is copied as its `gift` or `giftStreak`
        // (all 94 of the corpus; only a late message of a closed streak has no second).
        let raw = names.get("giftRaw").copied().unwrap_or(0);
        assert!(raw > 50 && repeated >= raw * 9 / 10, "{repeated} of {raw}");
    }
}

/// A JSON sink that counts the events it copies ([`Sink::repeat_event`]), or refuses
/// to copy (the batch then writes every event in full).
#[derive(Default)]
struct Repeats {
    json: JsonSink,
    refuse: bool,
    copied: usize,
}

impl Sink for Repeats {
    fn event_start(&mut self) {
        self.json.event_start();
    }
    fn event_end(&mut self) {
        self.json.event_end();
    }
    fn begin_object(&mut self) {
        self.json.begin_object();
    }
    fn end_object(&mut self) {
        self.json.end_object();
    }
    fn begin_array(&mut self) {
        self.json.begin_array();
    }
    fn end_array(&mut self) {
        self.json.end_array();
    }
    fn key(&mut self, key: &'static str) {
        self.json.key(key);
    }
    fn key_str(&mut self, key: &str) {
        self.json.key_str(key);
    }
    fn str(&mut self, v: &str) {
        self.json.str(v);
    }
    fn id(&mut self, v: u64) {
        self.json.id(v);
    }
    fn int(&mut self, v: i64) {
        self.json.int(v);
    }
    fn uint(&mut self, v: u64) {
        self.json.uint(v);
    }
    fn bool(&mut self, v: bool) {
        self.json.bool(v);
    }
    fn null(&mut self) {
        self.json.null();
    }
    fn base64(&mut self, v: &[u8]) {
        self.json.base64(v);
    }
    fn size(&self) -> usize {
        self.json.size()
    }
    fn truncate(&mut self, mark: usize) {
        self.json.truncate(mark);
    }
    fn repeat_event(&mut self, name: &'static str) -> bool {
        let done = !self.refuse && self.json.repeat_event(name);
        self.copied += usize::from(done);
        done
    }
}

/// A singular message field sent more than once is merged, as prost merges it (the
/// demo and mock encoders stamp `common` this way): every corpus message with a second
/// `common`, and with its whole body sent again as the same field's second occurrence,
/// gives the oracle's events, never a `decodeError`.
#[test]
fn a_singular_message_field_sent_twice_is_merged_as_prost_merges_it() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let samples = common::load_samples(&dir);
    // common { msg_id: 77, room_id: 88 } as field 1, and again with create_time.
    let second_common = [0x0a, 0x04, 0x10, 77, 0x18, 88];
    let third_common = [0x0a, 0x02, 0x20, 99];
    let mut merged = 0;
    for (method, list) in &samples {
        for s in list.iter().take(5) {
            let mut payload = s.payload.clone();
            payload.extend_from_slice(&second_common);
            payload.extend_from_slice(&third_common);
            // The message's own fields again, after: scalars are replaced, nested
            // singular messages merged, repeated fields doubled.
            payload.extend_from_slice(&s.payload);
            let env = EnvelopeInfo::default();
            let want = oracle(method, &payload, env);
            let got = reader(method, &payload, env);
            let failed = |v: &[String]| v.iter().any(|e| e.contains(r#""type":"decodeError""#));
            if failed(&want) {
                // Field 1 of this message is not `common` (wrong wire type): both refuse
                // it, each in its own words.
                assert!(failed(&got) && got.len() == want.len(), "{method}: {got:?}");
            } else {
                assert_eq!(got, want, "{method} #{}", s.index);
                merged += 1;
            }
        }
    }
    assert!(merged > 200, "{merged} merged messages decoded");
}

#[test]
fn a_payload_too_wide_to_index_is_a_decode_error() {
    // 1 Mi + 8 empty top viewers: more nested messages than the reader indexes for one
    // message (prost would accept it; the reader refuses it, so its memory stays bound).
    let mut payload = Vec::new();
    for _ in 0..((1 << 20) + 8) {
        payload.extend_from_slice(&[0x12, 0x00]);
    }
    let mut sink = JsonSink::new();
    write_message(
        "WebcastRoomUserSeqMessage",
        &payload,
        EnvelopeInfo::default(),
        &mut sink,
    );
    let texts: Vec<&str> = sink.texts().collect();
    assert_eq!(texts.len(), 1);
    let event: serde_json::Value = serde_json::from_str(texts[0]).unwrap();
    assert_eq!(event["type"], "decodeError");
    assert_eq!(
        event["error"],
        "WebcastRoomUserSeqMessage: payload: malformed protobuf (too many nested messages and fields in one message)"
    );
}

/// Payloads the fuzzer found (2026-12-01, `bench/fuzz.sh`, target `reader_message`): a
/// singular message field (`common`, `user`, ...) sent several times, each occurrence
/// truncated on its own. prost decodes each occurrence before merging it and refuses;
/// the reader used to join the occurrences first, so one occurrence's missing bytes
/// were read from the next and the message decoded. Now it refuses too.
#[test]
fn a_truncated_occurrence_of_a_merged_field_is_refused_as_prost_refuses_it() {
    let cases: [(&str, &str); 5] = [
        (
            "WebcastEnvelopePortalMessage",
            concat!(
                "18180a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a",
                "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a30303030303030303030303030303030301830181818181803"
            ),
        ),
        (
            "WebcastEnvelopeMessage",
            concat!(
                "1268685b6868680a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a4a0a0a0a0a0a0a0a0a0a0a0a680a",
                "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a4a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a",
                "0a0a68686068686868686868680a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a",
                "0a0a0a0a0a0a0a0a0a0a0a0a0a0a6868680a0a0a0a0a0a0a0a0a0a0a0a6868606868686868686868",
                "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a",
                "0a686868686868686868686868686868"
            ),
        ),
        (
            "WebcastEnvelopeMessage",
            concat!(
                "1268685b6868680a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a4a0a0a0a0a0a0a0a0a0a0a0a0a0a",
                "0a0a0a0a0a0a0a0a0a66616e73436c75620a68686068686868686868680a0a0a0a0a0a0a0a0a0a0a",
                "0a0a0a0a0a0a0a4a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a686860686868686868",
                "68680a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a68686868686868",
                "6868686868686868"
            ),
        ),
        (
            "WebcastMemberMessage",
            concat!(
                "696c70616173794141414141414c4149414112121212121212121212696c70616173794141414141",
                "414c4149414112121212121212121212121212121212121212121212121212121212121212121212",
                "12121212121212121212121212121212121212121212121212121212121212121212121212121212",
                "1212121212121212121212121212121212121212121212121212121212122612121212414141ae60",
                "60606060606014"
            ),
        ),
        (
            "WebcastSubPinEventMessage",
            concat!(
                "10101010105d1010101010101010101010101010101010101010100a0a0a0a0a0a0a0a0a0a0a0a0a",
                "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a",
                "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a10101010101010"
            ),
        ),
    ];
    for (method, hex) in cases {
        let payload: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        let env = EnvelopeInfo::default();
        let want = oracle(method, &payload, env);
        let got = reader(method, &payload, env);
        assert_eq!(want.len(), 1, "{method}: {want:?}");
        assert!(
            want[0].contains(r#""type":"decodeError""#),
            "{method}: {want:?}"
        );
        assert_eq!(got.len(), 1, "{method}: {got:?}");
        assert!(
            got[0].contains(r#""type":"decodeError""#),
            "{method}: {got:?}"
        );
    }
}
