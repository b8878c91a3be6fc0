//! JSON event mode: `GET /ws?uniqueId=NAME&format=json[&events=chat,gift]`.
//!
//! A JSON viewer gets the room's `roomInfo` text first (as a binary viewer does), then one
//! text message per event, `{"event":"chat","data":{…}}`, `data` being the canonical event
//! JSON (`docs/events.md`, the object the SDK hands its listeners), written by the
//! core's JSON sink straight from the frame's bytes (`event_text.rs`). The events come
//! from the room's one upstream [`Session`] (`upstream.rs`), so they are de-duplicated,
//! gift streaks are folded and so on exactly as in the SDK, and each frame is decoded
//! once per room whatever the number of viewers.
//!
//! The room's session decodes only what someone needs ([`RoomWants`]): with no JSON
//! viewer, the viewer count (`roomUser`) and control messages (stream end); with JSON
//! viewers, also the union of their `events=` filters (or everything, when one of them
//! gave none). Each event a viewer wants is written once (`event_text.rs`) and the same
//! text (a reference-counted buffer) is queued to every JSON viewer that wants it.
//!
//! [`Session`]: tikcast_core::Session

use std::collections::HashMap;
use std::sync::OnceLock;

use tikcast_core::Event;

/// Events the relay itself needs from every room: the viewer count for `/api/rooms`.
/// (Control messages, for the stream end, are always decoded by the session; the cursor
/// is in every frame's header.)
const RELAY_NEEDS: &[&str] = &["roomUser"];

const WORDS: usize = 4;
// Every event name must have a bit.
const _: () = assert!(Event::NAMES.len() <= WORDS * 64);

/// A set of event names (bits indexed by position in [`Event::NAMES`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct EventSet([u64; WORDS]);

/// The position of an event name in [`Event::NAMES`] (one hash lookup).
pub(crate) fn index_of(name: &str) -> Option<usize> {
    static INDEX: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            Event::NAMES
                .iter()
                .enumerate()
                .map(|(i, n)| (*n, i))
                .collect()
        })
        .get(name)
        .copied()
}

impl EventSet {
    fn insert(&mut self, name: &str) -> bool {
        match index_of(name) {
            Some(i) => {
                if let Some(w) = self.0.get_mut(i / 64) {
                    *w |= 1 << (i % 64);
                }
                true
            }
            None => false,
        }
    }

    fn has(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        index_of(name).is_some_and(|i| self.has(i))
    }

    fn union(&mut self, other: &EventSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }

    fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        Event::NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.has(*i))
            .map(|(_, n)| *n)
    }
}

/// What a viewer asked to receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The upstream's push frames, unchanged (the default).
    Binary,
    /// One text message per event; `None` = every event.
    Json(Option<EventSet>),
}

/// Reads the `format` and `events` query parameters. The error is the body of the
/// HTTP 400 the handshake is refused with.
pub(crate) fn parse_format(format: Option<&str>, events: Option<&str>) -> Result<Format, String> {
    match format.map(str::trim) {
        None | Some("") | Some("binary") => {
            if events.is_some() {
                return Err("events= filters the json mode only: add format=json".into());
            }
            Ok(Format::Binary)
        }
        Some("json") => match events {
            None => Ok(Format::Json(None)),
            Some(list) => parse_events(list).map(|set| Format::Json(Some(set))),
        },
        Some(other) => Err(format!(
            "unknown format {:?}: use format=json (one text message per event) or leave it out (binary push frames)",
            other.chars().take(20).collect::<String>()
        )),
    }
}

fn parse_events(list: &str) -> Result<EventSet, String> {
    let mut set = EventSet::default();
    let mut unknown = Vec::new();
    let mut any = false;
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        any = true;
        if !set.insert(name) {
            unknown.push(name);
        }
    }
    if !unknown.is_empty() {
        let shown: Vec<String> = unknown
            .iter()
            .take(5)
            .map(|n| format!("{:?}", n.chars().take(40).collect::<String>()))
            .collect();
        return Err(format!(
            "unknown event name{} {} in events=; valid names: {}",
            if unknown.len() == 1 { "" } else { "s" },
            shown.join(", "),
            Event::NAMES.join(", ")
        ));
    }
    if !any {
        return Err(
            "events= is empty: name the events wanted (events=chat,gift) or leave it out for all"
                .into(),
        );
    }
    Ok(set)
}

/// What the room's session has to decode for its viewers: a union of JSON filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RoomWants {
    /// Some JSON viewer wants every event.
    all: bool,
    /// The union of the JSON viewers' filters.
    some: EventSet,
}

impl RoomWants {
    pub(crate) fn add(&mut self, format: &Format) {
        match format {
            Format::Binary => {}
            Format::Json(None) => self.all = true,
            Format::Json(Some(set)) => self.some.union(set),
        }
    }

    /// Whether some JSON viewer wants events of this name.
    pub(crate) fn wants(&self, name: &str) -> bool {
        self.all || self.some.contains(name)
    }

    pub(crate) fn is_empty(&self) -> bool {
        !self.all && self.some == EventSet::default()
    }

    /// The session's filter (`Session::set_wanted_events`): `None` decodes everything.
    /// `extra` names events the relay itself needs besides its own (webhook totals).
    pub(crate) fn session_filter(&self, extra: &[&str]) -> Option<Vec<String>> {
        if self.all {
            return None;
        }
        let mut names: Vec<String> = RELAY_NEEDS.iter().map(|n| n.to_string()).collect();
        let mut add = |n: &str| {
            if !names.iter().any(|m| m == n) {
                names.push(n.to_string());
            }
        };
        extra.iter().for_each(|n| add(n));
        self.some.names().for_each(add);
        Some(names)
    }
}

/// Whether a viewer with this format gets an event of this name.
pub(crate) fn viewer_wants(format: &Format, name: &str) -> bool {
    match format {
        Format::Binary => false,
        Format::Json(None) => true,
        Format::Json(Some(set)) => set.contains(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_filters_parse() {
        assert_eq!(parse_format(None, None), Ok(Format::Binary));
        assert_eq!(parse_format(Some("binary"), None), Ok(Format::Binary));
        assert_eq!(parse_format(Some("json"), None), Ok(Format::Json(None)));
        let Ok(Format::Json(Some(set))) = parse_format(Some("json"), Some("chat, gift,,")) else {
            panic!("a valid filter was refused");
        };
        assert!(set.contains("chat") && set.contains("gift"));
        assert!(!set.contains("like") && !set.contains("nope"));
        assert_eq!(set.names().collect::<Vec<_>>(), ["chat", "gift"]);

        let e = parse_format(Some("json"), Some("chat,bogus,gifts")).unwrap_err();
        assert!(
            e.starts_with(
                "unknown event names \"bogus\", \"gifts\" in events=; valid names: chat, gift,"
            ),
            "{e}"
        );
        assert!(e.contains("roomUser") && e.contains("streamEnd"), "{e}");
        assert!(parse_format(Some("json"), Some(" , ")).is_err());
        assert!(parse_format(None, Some("chat"))
            .unwrap_err()
            .contains("format=json"));
        assert!(parse_format(Some("xml"), None)
            .unwrap_err()
            .contains("unknown format \"xml\""));
    }

    #[test]
    fn room_wants_are_the_union_plus_what_the_relay_needs() {
        let mut w = RoomWants::default();
        assert!(w.is_empty());
        assert_eq!(w.session_filter(&[]), Some(vec!["roomUser".to_string()]));
        // Webhook totals add what they count, once each.
        assert_eq!(
            w.session_filter(&["chat", "roomUser"]),
            Some(vec!["roomUser".to_string(), "chat".to_string()])
        );
        w.add(&Format::Binary);
        assert!(w.is_empty());
        w.add(&parse_format(Some("json"), Some("gift,roomUser")).unwrap());
        w.add(&parse_format(Some("json"), Some("chat")).unwrap());
        assert!(w.wants("chat") && w.wants("gift") && !w.wants("like"));
        assert_eq!(
            w.session_filter(&[]),
            Some(vec!["roomUser".into(), "chat".into(), "gift".into()])
        );
        w.add(&Format::Json(None));
        assert!(w.wants("like"));
        assert_eq!(w.session_filter(&[]), None);
    }
}
