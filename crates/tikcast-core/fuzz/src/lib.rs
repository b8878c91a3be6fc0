//! The differential check shared by the fuzz targets: decoder v2's schema reader
//! (`write_frame`, `write_batch`, `write_message` into a `JsonSink`) against the typed
//! prost decoder, kept as the oracle (`decode_frame_filtered`, `decode_batch_with`,
//! `decode_message_into`, then serde_json of each event).
//!
//! The rule, for any input (a failed check panics, which libFuzzer records as a crash):
//! 1. The reader never panics, and every event text it writes parses as JSON.
//! 2. Frame and batch: both sides succeed or both fail, with the same
//!    `DecodeError::code()`; when both succeed, the frame and batch fields (`FrameInfo`:
//!    the oracle's `Decoded::info`) are equal. One exemption: when either side fails with
//!    `too_expensive`, nothing more is compared, because the two measure the expansion
//!    budget differently by design (the oracle estimates from the schema before
//!    decoding, the reader counts the bytes it writes).
//! 3. Events, message by message: the reader's events of a message equal the oracle's
//!    exactly, or the reader wrote one `decodeError` event for that message (with its
//!    method) and either the oracle refused it too (worded differently) or the reader's
//!    reason is the documented difference (a singular message field sent twice: prost
//!    merges, the reader refuses) or the expansion budget. A reader value that differs
//!    from the oracle's, a reader value where the oracle gave a `decodeError`, and a
//!    refusal by the reader alone for any other reason fail.
//!
//! For a frame or batch, the event lists are first compared whole; only when they
//! differ are they aligned message by message, with the messages as the oracle's own
//! prost types read them and each message's oracle events from `decode_message_into`
//! (whose concatenation must then equal the oracle's batch events).

use prost::Message;
use tikcast_core::decode::{decode_message_into, KNOWN_METHODS};
use tikcast_core::session::{Batch, Mode, Output, Session, SessionConfig};
use tikcast_core::{
    decode_batch_with, decode_frame_filtered, pb, write_batch, write_frame, write_message,
    DecodeError, DecodeOptions, Decoded, EnvelopeInfo, Event, FrameInfo, JsonSink, Sink,
};

/// The oracle's canonical JSON of `events`.
fn oracle_texts(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| serde_json::to_string(e).expect("oracle events serialize"))
        .collect()
}

/// The reader's event texts, each checked to parse as JSON.
fn reader_texts(sink: &JsonSink) -> Vec<String> {
    sink.texts()
        .map(|t| {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(t) {
                panic!("reader wrote an event that is not JSON ({e}): {t}");
            }
            t.to_owned()
        })
        .collect()
}

/// Is `text` a `decodeError` event for `method`?
fn is_decode_error_for(text: &str, method: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    v["type"] == "decodeError" && v["method"] == method
}

/// Rule 3: may the reader write `got` (its events of one message of `method`) where the
/// oracle wrote `want`? Equal, or one `decodeError` that the oracle shares or that gives
/// an allowed reason.
fn message_allowed(method: &str, want: &[String], got: &[String]) -> bool {
    if got == want {
        return true;
    }
    let [refusal] = got else {
        return false;
    };
    if !is_decode_error_for(refusal, method) {
        return false;
    }
    let oracle_refused = matches!(want, [w] if is_decode_error_for(w, method));
    oracle_refused
        || refusal.contains("singular message field sent twice")
        || refusal.contains("would need more than")
}

/// The method a `reader_message` input's first byte picks: one of `KNOWN_METHODS`, or
/// (the last value of the cycle) a method the decoder does not know.
pub fn method_for(selector: u8) -> &'static str {
    let i = usize::from(selector) % (KNOWN_METHODS.len() + 1);
    KNOWN_METHODS
        .get(i)
        .map(|(m, _)| *m)
        .unwrap_or("WebcastFuzzUnknownMessage")
}

/// One message: `write_message` against `decode_message_into`.
pub fn check_message(method: &str, payload: &[u8], env: EnvelopeInfo) {
    let mut events = Vec::new();
    decode_message_into(method, payload, env, &mut events);
    let want = oracle_texts(&events);
    let mut sink = JsonSink::new();
    write_message(method, payload, env, &mut sink);
    let got = reader_texts(&sink);
    assert!(
        message_allowed(method, &want, &got),
        "reader and oracle differ on {method} payload {}:\n  oracle: {}\n  reader: {}",
        hex(payload),
        want.join("\n          "),
        got.join("\n          ")
    );
}

/// One push frame: `write_frame` against `decode_frame_filtered(.., |_, _| true)`.
pub fn check_frame(bytes: &[u8]) {
    let opts = DecodeOptions::default();
    let want = decode_frame_filtered(bytes, &opts, |_, _| true);
    let mut sink = JsonSink::new();
    let got = write_frame(bytes, &opts, |_, _| true, &mut sink);
    let texts = reader_texts(&sink);
    if let Some((want, got)) = same_outcome(want, got, &texts) {
        compare_batches(&want, &got, &texts, || frame_batch(bytes, &opts));
    }
}

/// One bare batch: `write_batch` against `decode_batch_with`.
pub fn check_batch(bytes: &[u8]) {
    let opts = DecodeOptions::default();
    let want = decode_batch_with(bytes, &opts);
    let mut sink = JsonSink::new();
    let got = write_batch(bytes, &opts, |_, _| true, &mut sink);
    let texts = reader_texts(&sink);
    if let Some((want, got)) = same_outcome(want, got, &texts) {
        compare_batches(&want, &got, &texts, || Some(bytes.to_vec()));
    }
}

/// One bare batch through the session the relay and the SDK run (`giftRaw` on, gift
/// streaks, like windows), carried by a push frame twice (the second time its messages
/// are repeats), then the timers and a stop. A session rule of its own, since the
/// session's items are not the oracle's per-message events: it never panics, every
/// batch it delivers writes the same text whether the sink copies events
/// (`Sink::repeat_event`, as the JSON sink does) or is made to write each in full, and
/// every event text parses as JSON.
pub fn check_session(bytes: &[u8]) {
    let frame = pb::PushFrame {
        payload_type: "msg".into(),
        payload: bytes.to_vec(),
        ..Default::default()
    }
    .encode_to_vec();
    let mut s = Session::new(SessionConfig {
        mode: Mode::Relay,
        gift_raw: true,
        like_aggregate_ms: Some(1_000),
        gift_streak_timeout_ms: 2_000,
        ..Default::default()
    });
    let conn = s.start_open(0).expect("a relay session connects at once");
    let mut outputs = Vec::new();
    for (now, step) in [(1, 0), (2, 0), (5_000, 1), (5_001, 2)] {
        match step {
            0 => s.on_frame(now, conn, &frame),
            1 => s.handle_timeout(now),
            _ => s.stop(now),
        }
        outputs.extend(s.poll_outputs());
    }
    for o in &outputs {
        if let Output::Events(batch) = o {
            check_copies(batch);
        }
    }
}

/// A batch written with copies and in full gives the same text (or both fail). As in
/// rule 2, nothing is compared when either runs out of the expansion budget: a copy is
/// checked against it whole, an event written in full on the way (`Batch::write`).
fn check_copies(batch: &Batch) {
    let mut copied = JsonSink::new();
    let a = batch.write(&mut copied);
    let mut full = Full(JsonSink::new());
    let b = batch.write(&mut full);
    let code = |r: &Result<(), DecodeError>| r.as_ref().err().map(DecodeError::code);
    if code(&a) == Some("too_expensive") || code(&b) == Some("too_expensive") {
        return;
    }
    assert_eq!(
        code(&a),
        code(&b),
        "written with copies and in full, the batch's outcomes differ"
    );
    if a.is_ok() {
        assert_eq!(copied.out, full.0.out, "copied events differ from written ones");
        for t in copied.texts() {
            serde_json::from_str::<serde_json::Value>(t)
                .unwrap_or_else(|e| panic!("an event is not JSON ({e}): {t}"));
        }
    }
}

/// A JSON sink that never copies an event (`repeat_event` keeps its default).
struct Full(JsonSink);

impl Sink for Full {
    fn event_start(&mut self) {
        self.0.event_start();
    }
    fn event_end(&mut self) {
        self.0.event_end();
    }
    fn begin_object(&mut self) {
        self.0.begin_object();
    }
    fn end_object(&mut self) {
        self.0.end_object();
    }
    fn begin_array(&mut self) {
        self.0.begin_array();
    }
    fn end_array(&mut self) {
        self.0.end_array();
    }
    fn key(&mut self, key: &'static str) {
        self.0.key(key);
    }
    fn key_str(&mut self, key: &str) {
        self.0.key_str(key);
    }
    fn str(&mut self, v: &str) {
        self.0.str(v);
    }
    fn text(&mut self, v: &[u8]) {
        self.0.text(v);
    }
    fn id(&mut self, v: u64) {
        self.0.id(v);
    }
    fn int(&mut self, v: i64) {
        self.0.int(v);
    }
    fn uint(&mut self, v: u64) {
        self.0.uint(v);
    }
    fn bool(&mut self, v: bool) {
        self.0.bool(v);
    }
    fn null(&mut self) {
        self.0.null();
    }
    fn base64(&mut self, v: &[u8]) {
        self.0.base64(v);
    }
    fn size(&self) -> usize {
        self.0.size()
    }
    fn truncate(&mut self, mark: usize) {
        self.0.truncate(mark);
    }
}

/// Rule 2: the same outcome. Returns both values when both succeeded and there is more
/// to compare.
fn same_outcome(
    want: Result<Decoded, DecodeError>,
    got: Result<FrameInfo, DecodeError>,
    texts: &[String],
) -> Option<(Decoded, FrameInfo)> {
    let want_code = want.as_ref().err().map(DecodeError::code);
    let got_code = got.as_ref().err().map(DecodeError::code);
    if want_code == Some("too_expensive") || got_code == Some("too_expensive") {
        return None;
    }
    match (want, got) {
        (Ok(want), Ok(got)) => Some((want, got)),
        (Err(w), Err(g)) => {
            assert_eq!(
                w.code(),
                g.code(),
                "both refuse, for different reasons: oracle `{w}`, reader `{g}`"
            );
            assert!(texts.is_empty(), "a refused input left events in the sink");
            None
        }
        (Ok(w), Err(g)) => panic!(
            "the reader refused (`{g}`) what the oracle decoded to {} events",
            w.events.len()
        ),
        (Err(w), Ok(_)) => panic!(
            "the reader decoded what the oracle refused (`{w}`): {}",
            texts.join("\n  ")
        ),
    }
}

/// Rules 2 and 3 for two successful decodes of the same frame or batch; `batch` gives
/// the batch bytes the frame carried (for the message-by-message alignment).
fn compare_batches(
    want: &Decoded,
    got: &FrameInfo,
    texts: &[String],
    batch: impl FnOnce() -> Option<Vec<u8>>,
) {
    assert_eq!(got, &want.info, "frame or batch fields differ");
    let want_texts = oracle_texts(&want.events);
    if texts == want_texts.as_slice() {
        return;
    }
    // Align message by message.
    let batch = batch().expect("the oracle decoded this batch, so it can be read again");
    let envelopes = pb::FetchResult::decode(batch.as_slice())
        .expect("the oracle decoded this batch")
        .messages;
    let mut concat = Vec::new();
    let mut at = 0;
    for m in &envelopes {
        let env = EnvelopeInfo {
            msg_id: m.msg_id,
            is_history: m.is_history,
        };
        let mut events = Vec::new();
        decode_message_into(&m.method, &m.payload, env, &mut events);
        let one = oracle_texts(&events);
        let rest = texts.get(at..).unwrap_or(&[]);
        if rest.starts_with(&one) {
            at += one.len();
        } else if message_allowed(&m.method, &one, rest.get(..1).unwrap_or(&[])) {
            at += 1;
        } else {
            panic!(
                "reader and oracle differ on message #{} ({}) of the batch, payload {}:\n  oracle: {}\n  reader (from here): {}",
                concat.len(),
                m.method,
                hex(&m.payload),
                one.join("\n          "),
                rest.iter().take(one.len().max(1)).cloned().collect::<Vec<_>>().join("\n          ")
            );
        }
        concat.push(one);
    }
    assert_eq!(
        at,
        texts.len(),
        "the reader wrote events after the batch's last message"
    );
    assert_eq!(
        concat.concat(),
        want_texts,
        "oracle inconsistent: its batch events are not its per-message events"
    );
}

/// The batch a frame carries, read the way the oracle reads it.
fn frame_batch(bytes: &[u8], opts: &DecodeOptions) -> Option<Vec<u8>> {
    let frame = pb::PushFrame::decode(bytes).ok()?;
    let compress = frame
        .headers
        .iter()
        .find(|h| h.key == "compress_type")
        .map(|h| h.value.as_str())
        .unwrap_or("");
    if compress == "gzip" || tikcast_core::gzip::looks_like_gzip(&frame.payload) {
        tikcast_core::gzip::gunzip_capped(
            &frame.payload,
            opts.max_inflated_bytes,
            opts.max_gzip_members,
        )
        .ok()
    } else {
        Some(frame.payload)
    }
}

/// Lowercase hex, for crash messages.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}
