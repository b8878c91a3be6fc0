//! A session batch as the text the native outputs send: each event's canonical JSON
//! (`docs/events.md`), written by the core's [`JsonSink`] straight from the frame's bytes
//! (no typed [`tikcast_core::Event`] on the way), wrapped as the relay's JSON message
//! `{"event":NAME,"data":EVENT}`. While writing, a few top-level figures are picked up
//! on the way past (the viewer count, the totals a `live.end` webhook reports), so the
//! relay never reads an event back.

use tikcast_core::session::Batch;
use tikcast_core::{DecodeError, Event, JsonSink, Sink};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// The figures of an event that the relay keeps (webhook totals, `/api/rooms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Figures {
    #[default]
    None,
    Chat,
    Like {
        count: i64,
        total: i64,
    },
    Gift {
        repeat: i64,
        diamonds: i64,
    },
    RoomUser {
        viewers: i64,
        total: i64,
    },
}

/// One event as text.
#[derive(Debug, Clone)]
pub(crate) struct EventText {
    /// The event name (`type`), one of [`Event::NAMES`].
    pub(crate) name: &'static str,
    /// `{"event":NAME,"data":EVENT}`.
    pub(crate) message: Utf8Bytes,
    pub(crate) figures: Figures,
}

impl EventText {
    /// The canonical event JSON alone (the message's `data`).
    pub(crate) fn data(&self) -> &str {
        let m = self.message.as_str();
        let head = PREFIX.len() + self.name.len() + MIDDLE.len();
        m.get(head..m.len().saturating_sub(1)).unwrap_or("")
    }
}

const PREFIX: &str = "{\"event\":\"";
const MIDDLE: &str = "\",\"data\":";

/// Writes every event of `batch`. Fails only when the batch passes the output budget
/// (`DecodeOptions::max_expansion`); then nothing of it is returned.
pub(crate) fn write(batch: &Batch) -> Result<Vec<EventText>, DecodeError> {
    let mut sink = Picker {
        json: JsonSink::new(),
        depth: 0,
        key: Key::Other,
        name: "",
        a: 0,
        b: 0,
        picked: Vec::new(),
    };
    batch.write(&mut sink)?;
    let Picker { json, picked, .. } = sink;
    Ok(json
        .events
        .iter()
        .zip(picked)
        .map(|(&(from, to), (name, figures))| {
            let data = json.out.get(from..to).unwrap_or("{}");
            let mut m =
                String::with_capacity(PREFIX.len() + name.len() + MIDDLE.len() + data.len() + 1);
            m.push_str(PREFIX);
            m.push_str(name);
            m.push_str(MIDDLE);
            m.push_str(data);
            m.push('}');
            EventText {
                name,
                message: Utf8Bytes::from(m),
                figures,
            }
        })
        .collect())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Type,
    A,
    B,
    Other,
}

/// A [`JsonSink`] that also notes each event's name and figures from its top level.
struct Picker {
    json: JsonSink,
    /// Object/array depth inside the current event (1 = its top level).
    depth: u32,
    /// What the last top-level key was.
    key: Key,
    name: &'static str,
    a: i64,
    b: i64,
    picked: Vec<(&'static str, Figures)>,
}

impl Picker {
    /// The figures of the event just written, from its name and top-level numbers.
    fn figures(&self) -> Figures {
        let (a, b) = (self.a, self.b);
        match self.name {
            "chat" => Figures::Chat,
            "like" => Figures::Like { count: a, total: b },
            "gift" => Figures::Gift {
                repeat: a,
                diamonds: b,
            },
            "roomUser" => Figures::RoomUser {
                viewers: a,
                total: b,
            },
            _ => Figures::None,
        }
    }

    fn number(&mut self, v: i64) {
        if self.depth == 1 {
            match self.key {
                Key::A => self.a = v,
                Key::B => self.b = v,
                _ => {}
            }
        }
    }
}

/// The event name as the static string of [`Event::NAMES`] (every name the writer
/// gives is one of them; anything else is `unknown`).
fn static_name(v: &str) -> &'static str {
    crate::relay::json::index_of(v)
        .and_then(|i| Event::NAMES.get(i))
        .copied()
        .unwrap_or("unknown")
}

impl Sink for Picker {
    fn event_start(&mut self) {
        self.depth = 0;
        self.name = "unknown";
        self.a = 0;
        self.b = 0;
        self.json.event_start();
    }
    fn event_end(&mut self) {
        self.picked.push((self.name, self.figures()));
        self.json.event_end();
    }
    fn begin_object(&mut self) {
        self.depth += 1;
        self.json.begin_object();
    }
    fn end_object(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.json.end_object();
    }
    fn begin_array(&mut self) {
        self.depth += 1;
        self.json.begin_array();
    }
    fn end_array(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.json.end_array();
    }
    fn key(&mut self, key: &'static str) {
        if self.depth == 1 {
            self.key = match (self.name, key) {
                (_, "type") => Key::Type,
                // The gift events' figures are picked for all three, so a copy under
                // another name (`repeat_event`) has its own.
                ("like", "likeCount")
                | ("gift" | "giftRaw" | "giftStreak", "repeatCount")
                | ("roomUser", "viewerCount") => Key::A,
                ("like", "totalLikeCount")
                | ("gift" | "giftRaw" | "giftStreak", "diamondCount")
                | ("roomUser", "totalUser") => Key::B,
                _ => Key::Other,
            };
        }
        self.json.key(key);
    }
    fn key_str(&mut self, key: &str) {
        if self.depth == 1 {
            self.key = Key::Other;
        }
        self.json.key_str(key);
    }
    fn str(&mut self, v: &str) {
        if self.depth == 1 && self.key == Key::Type {
            self.name = static_name(v);
        }
        self.json.str(v);
    }
    fn id(&mut self, v: u64) {
        self.json.id(v);
    }
    fn int(&mut self, v: i64) {
        self.number(v);
        self.json.int(v);
    }
    fn uint(&mut self, v: u64) {
        self.number(i64::try_from(v).unwrap_or(i64::MAX));
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
        // Only a whole batch is ever dropped (`Batch::write` fails): its events go too.
        while self
            .json
            .events
            .last()
            .is_some_and(|&(from, _)| from >= mark)
        {
            self.json.events.pop();
            self.picked.pop();
        }
        self.json.truncate(mark);
    }
    fn repeat_event(&mut self, name: &'static str) -> bool {
        if !self.json.repeat_event(name) {
            return false;
        }
        // The copy's top-level numbers are the event's own (`a`, `b` as it left them).
        self.name = static_name(name);
        self.picked.push((self.name, self.figures()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event of the demo recording, through the session: the text equals serde's
    /// JSON of the typed event (the oracle), and the figures equal the typed fields.
    #[test]
    fn texts_equal_the_typed_events_and_figures_are_picked() {
        let rec =
            crate::recording::parse(include_bytes!("../../../tests/fixtures/demo-session.tkrec"))
                .expect("the demo recording reads");
        // The replay upstream's session (relay mode, `giftRaw` on, never timing out).
        let crate::relay::upstream::Player { mut session, conn } =
            crate::relay::upstream::Player::new();
        let mut seen = std::collections::BTreeMap::<&str, usize>::new();
        let mut t = 0;
        for r in rec
            .records
            .iter()
            .filter(|r| r.kind == crate::recording::Kind::Frame)
        {
            t += 1;
            session.on_frame(t, conn, &r.body);
            for o in session.poll_outputs() {
                let tikcast_core::Output::Events(batch) = o else {
                    continue;
                };
                let texts = write(&batch).expect("within budget");
                let typed = batch.to_events();
                assert_eq!(texts.len(), typed.len());
                for (text, event) in texts.iter().zip(&typed) {
                    assert_eq!(text.name, event.name());
                    *seen.entry(text.name).or_default() += 1;
                    let v: serde_json::Value = serde_json::from_str(text.message.as_str()).unwrap();
                    assert_eq!(v["event"], event.name());
                    assert_eq!(v["data"], serde_json::to_value(event).unwrap());
                    let data: serde_json::Value = serde_json::from_str(text.data()).unwrap();
                    assert_eq!(data, v["data"]);
                    let want = match event {
                        Event::Chat(_) => Figures::Chat,
                        Event::Like(l) => Figures::Like {
                            count: l.like_count.into(),
                            total: l.total_like_count,
                        },
                        Event::Gift(g) => Figures::Gift {
                            repeat: g.repeat_count.into(),
                            diamonds: g.diamond_count.into(),
                        },
                        Event::RoomUser(r) => Figures::RoomUser {
                            viewers: r.viewer_count,
                            total: r.total_user,
                        },
                        _ => Figures::None,
                    };
                    assert_eq!(text.figures, want, "{}", text.message.as_str());
                }
            }
        }
        // The recording has each kind the relay counts, with non-zero figures.
        for name in ["chat", "like", "gift", "giftRaw", "roomUser", "member"] {
            assert!(seen.get(name).is_some_and(|n| *n > 0), "{name}: {seen:?}");
        }
    }
}
