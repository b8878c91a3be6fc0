//! The session engine under a fake clock: every rule of the module docs, plus property
//! tests of exactly-once delivery across duplicates and reconnects.

use proptest::prelude::*;
use prost::Message;
use tikcast_core::events::GiftEvent;
use tikcast_core::pb;
use tikcast_core::session::{
    CloseClass, ConnId, GiveUp, GiveUpKind, Jitter, Mode, Output, ReconnectPolicy, Session,
    SessionConfig, StateChange,
};
use tikcast_core::{ack_frame, enter_room_frame, heartbeat_frame, EnterRoom, Event};

const ROOM: u64 = 7_300_000_000_000_000_001;

// ---------------------------------------------------------------- frame builders

fn common(msg_id: u64) -> Option<pb::Common> {
    Some(pb::Common {
        msg_id,
        room_id: ROOM,
        ..Default::default()
    })
}

fn chat(msg_id: u64, text: &str) -> pb::MessageEnvelope {
    envelope(
        "WebcastChatMessage",
        msg_id,
        pb::ChatMessage {
            common: common(msg_id),
            content: text.into(),
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

fn user(id: u64) -> Option<pb::User> {
    Some(pb::User {
        id,
        display_id: format!("user{id}"),
        ..Default::default()
    })
}

/// A gift message in group 42; `streakable` gifts are type 1.
fn gift(msg_id: u64, from: u64, streakable: bool, count: i32, end: bool) -> pb::MessageEnvelope {
    gift_in(42, msg_id, from, streakable, count, end)
}

fn gift_in(
    group_id: u64,
    msg_id: u64,
    from: u64,
    streakable: bool,
    count: i32,
    end: bool,
) -> pb::MessageEnvelope {
    envelope(
        "WebcastGiftMessage",
        msg_id,
        pb::GiftMessage {
            common: common(msg_id),
            gift_id: 5655,
            repeat_count: count,
            repeat_end: i32::from(end),
            group_id,
            user: user(from),
            gift: Some(pb::GiftInfo {
                id: 5655,
                name: "Rose".into(),
                r#type: if streakable { 1 } else { 2 },
                diamond_count: 1,
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

fn like(msg_id: u64, from: u64, count: i32, total: i64) -> pb::MessageEnvelope {
    envelope(
        "WebcastLikeMessage",
        msg_id,
        pb::LikeMessage {
            common: common(msg_id),
            count,
            total,
            user: user(from),
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

fn control(msg_id: u64, action: i32) -> pb::MessageEnvelope {
    envelope(
        "WebcastControlMessage",
        msg_id,
        pb::ControlMessage {
            common: common(msg_id),
            action,
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

fn envelope(method: &str, msg_id: u64, payload: Vec<u8>) -> pb::MessageEnvelope {
    pb::MessageEnvelope {
        method: method.into(),
        payload,
        msg_id,
        ..Default::default()
    }
}

struct Batch {
    messages: Vec<pb::MessageEnvelope>,
    cursor: String,
    internal_ext: String,
    need_ack: bool,
    log_id: u64,
    heartbeat_duration: i64,
}

impl Batch {
    fn of(messages: Vec<pb::MessageEnvelope>) -> Self {
        Batch {
            messages,
            cursor: String::new(),
            internal_ext: String::new(),
            need_ack: false,
            log_id: 0,
            heartbeat_duration: 0,
        }
    }

    fn frame(self) -> Vec<u8> {
        pb::PushFrame {
            log_id: self.log_id,
            payload_encoding: "pb".into(),
            payload_type: "msg".into(),
            payload: pb::FetchResult {
                messages: self.messages,
                cursor: self.cursor,
                internal_ext: self.internal_ext,
                need_ack: self.need_ack,
                heartbeat_duration: self.heartbeat_duration,
                ..Default::default()
            }
            .encode_to_vec(),
            ..Default::default()
        }
        .encode_to_vec()
    }
}

// ---------------------------------------------------------------- harness

/// A session plus a fake clock and a record of what it asked for.
struct Harness {
    s: Session,
    now: u64,
    conn: Option<ConnId>,
}

impl Harness {
    fn new(config: SessionConfig) -> Self {
        Harness {
            s: Session::new(config),
            now: 1_000,
            conn: None,
        }
    }

    fn direct() -> Self {
        Self::new(SessionConfig {
            mode: Mode::Direct,
            room_id: ROOM,
            ..Default::default()
        })
    }

    fn relay() -> Self {
        Self::new(SessionConfig {
            mode: Mode::Relay,
            ..Default::default()
        })
    }

    fn drain(&mut self) -> Vec<Output> {
        let out = self.s.poll_outputs();
        for o in &out {
            if let Output::Connect { conn, .. } = o {
                self.conn = Some(*conn);
            }
        }
        out
    }

    /// start + open; returns the outputs of the open.
    fn connect(&mut self) -> Vec<Output> {
        self.s.start(self.now);
        let _ = self.drain();
        self.s
            .on_open(self.now, self.conn.expect("connect requested"));
        self.drain()
    }

    fn feed(&mut self, frame: &[u8]) -> Vec<Output> {
        self.s.on_frame(self.now, self.conn.unwrap(), frame);
        self.drain()
    }

    fn close(&mut self, code: u16, reason: &str) -> Vec<Output> {
        self.s.on_close(self.now, self.conn.unwrap(), code, reason);
        self.drain()
    }

    /// Moves the clock to `t` and fires the timer if it is due.
    fn advance_to(&mut self, t: u64) -> Vec<Output> {
        self.now = t;
        self.s.handle_timeout(t);
        self.drain()
    }

    /// Jumps to the next deadline and fires it.
    fn fire(&mut self) -> Vec<Output> {
        let t = self.s.poll_timeout().expect("a deadline");
        assert!(
            t >= self.now,
            "deadline {t} is in the past (now {})",
            self.now
        );
        self.advance_to(t)
    }
}

fn sends(out: &[Output]) -> Vec<pb::PushFrame> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { frame, .. } => Some(pb::PushFrame::decode(frame.as_slice()).unwrap()),
            _ => None,
        })
        .collect()
}

fn events(out: &[Output]) -> Vec<Event> {
    out.iter()
        .filter_map(|o| match o {
            Output::Events(e) => Some(e.to_events()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn names(out: &[Output]) -> Vec<&'static str> {
    events(out).iter().map(Event::name).collect()
}

fn states(out: &[Output]) -> Vec<StateChange> {
    out.iter()
        .filter_map(|o| match o {
            Output::State(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn give_up(out: &[Output]) -> Option<GiveUp> {
    out.iter().find_map(|o| match o {
        Output::GiveUp(g) => Some(g.clone()),
        _ => None,
    })
}

fn reconnect_delay(out: &[Output]) -> Option<(u32, u64, CloseClass)> {
    states(out).into_iter().find_map(|s| match s {
        StateChange::Reconnecting {
            attempt,
            delay_ms,
            class,
            ..
        } => Some((attempt, delay_ms, class)),
        _ => None,
    })
}

fn gifts(out: &[Output]) -> Vec<(&'static str, GiftEvent)> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            Event::Gift(g) => Some(("gift", g)),
            Event::GiftStreak(g) => Some(("giftStreak", g)),
            Event::GiftRaw(g) => Some(("giftRaw", g)),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------- direct mode

#[test]
fn open_sends_enter_room_then_first_heartbeat_byte_exact() {
    let mut h = Harness::direct();
    h.s.start(h.now);
    let out = h.drain();
    assert_eq!(
        states(&out),
        vec![StateChange::Connecting { attempt: 0 }],
        "first connect is attempt 0"
    );
    assert!(matches!(
        out.last(),
        Some(Output::Connect { attempt: 0, .. })
    ));

    let out = h.advance_to(1_250);
    assert!(out.is_empty(), "nothing happens while the socket opens");
    h.s.on_open(1_250, h.conn.unwrap());
    let out = h.drain();
    assert_eq!(states(&out), vec![StateChange::Connected { attempt: 0 }]);
    let raw: Vec<Vec<u8>> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { frame, .. } => Some(frame.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(raw.len(), 2);
    let enter = pb::PushFrame::decode(raw[0].as_slice()).unwrap();
    assert_eq!(enter.payload_type, "im_enter_room");
    let payload = pb::EnterRoomPayload::decode(enter.payload.as_slice()).unwrap();
    assert_eq!(payload.room_id, ROOM);
    assert!(payload.enter_unique_id > 0 && payload.enter_unique_id < 1 << 63);
    assert_eq!(payload.cursor, "");
    assert_eq!(
        raw[0],
        enter_room_frame(&EnterRoom {
            room_id: ROOM,
            enter_unique_id: payload.enter_unique_id,
            cursor: String::new()
        })
    );
    assert_eq!(raw[1], heartbeat_frame(ROOM, 1));
    assert_eq!(h.s.poll_timeout(), Some(1_250 + 10_000));
}

#[test]
fn heartbeat_every_ten_seconds_with_growing_seq() {
    let mut h = Harness::direct();
    h.connect();
    let opened = h.now;
    for seq in 2..=7u64 {
        // A frame every 5 s keeps liveness happy; heartbeats stay on their own cadence.
        let mid = h.now + 5_000;
        h.advance_to(mid);
        h.feed(&Batch::of(vec![]).frame());
        let out = h.fire();
        assert_eq!(
            h.now,
            opened + (seq - 1) * 10_000,
            "heartbeat {seq} on time"
        );
        let frames = sends(&out);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].payload_type, "hb");
        let hb = pb::HeartbeatPayload::decode(frames[0].payload.as_slice()).unwrap();
        assert_eq!((hb.room_id, hb.send_packet_seq_id), (ROOM, seq));
    }
    assert_eq!(h.s.stats().heartbeats_sent, 7);
}

#[test]
fn server_heartbeat_hint_changes_the_period_and_bogus_hints_are_ignored() {
    let mut h = Harness::direct();
    h.connect();
    let mut b = Batch::of(vec![]);
    b.heartbeat_duration = 20_000;
    h.feed(&b.frame());
    assert_eq!(h.s.heartbeat_interval_ms(), 20_000);
    assert_eq!(h.s.poll_timeout(), Some(h.now + 20_000));
    let mut b = Batch::of(vec![]);
    b.heartbeat_duration = 5; // 5 ms would flood the server
    h.feed(&b.frame());
    assert_eq!(h.s.heartbeat_interval_ms(), 20_000);
}

#[test]
fn acks_carry_log_id_and_internal_ext_and_cursor_is_remembered() {
    let mut h = Harness::direct();
    h.connect();
    let mut b = Batch::of(vec![chat(11, "hi")]);
    b.need_ack = true;
    b.log_id = 7_301_234_567_890_123_456;
    b.cursor = "cursor-1".into();
    b.internal_ext = "internal_ext_value".into();
    let out = h.feed(&b.frame());
    let raw: Vec<&Vec<u8>> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { frame, .. } => Some(frame),
            _ => None,
        })
        .collect();
    assert_eq!(
        raw,
        vec![&ack_frame(7_301_234_567_890_123_456, "internal_ext_value")]
    );
    assert_eq!(names(&out), vec!["chat"]);
    assert_eq!(h.s.cursor(), "cursor-1");
    assert_eq!(h.s.internal_ext(), "internal_ext_value");

    // No ack when not asked for.
    let mut b = Batch::of(vec![chat(12, "x")]);
    b.log_id = 5;
    assert!(sends(&h.feed(&b.frame())).is_empty());
    // An empty cursor does not erase the remembered one.
    assert_eq!(h.s.cursor(), "cursor-1");
    assert_eq!(h.s.stats().acks_sent, 1);

    // After a drop, enter-room presents the cursor.
    h.close(1006, "");
    let out = h.fire();
    assert!(matches!(
        out.last(),
        Some(Output::Connect { attempt: 1, .. })
    ));
    h.s.on_open(h.now, h.conn.unwrap());
    let frames = sends(&h.drain());
    let enter = pb::EnterRoomPayload::decode(frames[0].payload.as_slice()).unwrap();
    assert_eq!(enter.cursor, "cursor-1");
    let hb = pb::HeartbeatPayload::decode(frames[1].payload.as_slice()).unwrap();
    assert_eq!(hb.send_packet_seq_id, 1, "seq restarts on re-entering");
}

#[test]
fn relay_mode_sends_nothing_and_passes_room_info_through() {
    let mut h = Harness::relay();
    let out = h.connect();
    assert!(
        sends(&out).is_empty(),
        "no enter-room or heartbeat to a relay"
    );
    h.s.on_text(h.now, h.conn.unwrap(), r#"{"type":"roomInfo"}"#);
    assert_eq!(
        h.drain(),
        vec![Output::RoomInfo(r#"{"type":"roomInfo"}"#.into())]
    );
    let mut b = Batch::of(vec![chat(1, "a")]);
    b.need_ack = true;
    b.log_id = 9;
    b.cursor = "c9".into();
    let out = h.feed(&b.frame());
    assert!(sends(&out).is_empty(), "relays ack upstream themselves");
    assert_eq!(names(&out), vec!["chat"]);
    assert_eq!(h.s.cursor(), "c9");
    // Only liveness is watched.
    assert_eq!(h.s.poll_timeout(), Some(h.now + 30_000));
}

// ---------------------------------------------------------------- liveness

#[test]
fn silence_for_thirty_seconds_closes_and_reconnects() {
    let mut h = Harness::relay();
    h.connect();
    h.advance_to(h.now + 20_000);
    h.feed(&Batch::of(vec![]).frame());
    let last = h.now;
    let out = h.advance_to(last + 29_999);
    assert!(out.is_empty());
    let out = h.advance_to(last + 30_000);
    let conn = h.conn.unwrap();
    assert!(matches!(&out[0], Output::Close { conn: c, code: 1000, .. } if *c == conn));
    assert!(matches!(
        &states(&out)[0],
        StateChange::Disconnected { code: 4006, reason } if reason.contains("30000 ms")
    ));
    let (attempt, delay, class) = reconnect_delay(&out).unwrap();
    assert_eq!((attempt, class), (1, CloseClass::Transient));
    assert!(delay <= 1_000);
    // A close reported late for the abandoned socket changes nothing.
    h.s.on_close(h.now, conn, 1006, "");
    assert!(h.drain().is_empty());
    let out = h.fire();
    assert!(matches!(out.last(), Some(Output::Connect { attempt: 1, conn: c }) if *c != conn));
}

#[test]
fn a_socket_that_never_opens_is_abandoned() {
    let mut h = Harness::direct();
    h.s.start(h.now);
    h.drain();
    assert_eq!(h.s.poll_timeout(), Some(h.now + 15_000));
    let out = h.fire();
    assert!(matches!(
        &states(&out)[0],
        StateChange::Disconnected { code: 1006, .. }
    ));
    assert!(reconnect_delay(&out).is_some());
}

#[test]
fn inputs_for_other_sockets_are_ignored() {
    let mut h = Harness::direct();
    h.connect();
    let stale = ConnId(h.conn.unwrap().0 + 7);
    h.s.on_frame(h.now, stale, &Batch::of(vec![chat(1, "x")]).frame());
    h.s.on_close(h.now, stale, 4401, "");
    h.s.on_open(h.now, stale);
    assert!(h.drain().is_empty());
    assert!(!h.s.is_stopped());
}

// ---------------------------------------------------------------- close codes

fn close_once(code: u16, reason: &str, policy: ReconnectPolicy) -> Vec<Output> {
    let mut h = Harness::new(SessionConfig {
        mode: Mode::Relay,
        reconnect: policy,
        ..Default::default()
    });
    h.connect();
    h.close(code, reason)
}

#[test]
fn close_code_table() {
    for (code, kind) in [
        (4400, GiveUpKind::InvalidOptions),
        (4401, GiveUpKind::InvalidAuth),
        (4403, GiveUpKind::NoPermission),
    ] {
        let out = close_once(code, "", ReconnectPolicy::default());
        let g = give_up(&out).unwrap_or_else(|| panic!("{code} is terminal"));
        assert_eq!((g.kind, g.close_code), (kind, Some(code)));
        assert!(!out.iter().any(|o| matches!(o, Output::Connect { .. })));
        assert!(reconnect_delay(&out).is_none());
        let text = g.to_string();
        assert_eq!(text, text.to_lowercase());
    }
    for code in [4404, 4005] {
        let out = close_once(code, "", ReconnectPolicy::default());
        assert_eq!(
            reconnect_delay(&out),
            Some((1, 60_000, CloseClass::Waiting)),
            "{code}"
        );
        let stop = ReconnectPolicy {
            stop_when_offline: true,
            ..Default::default()
        };
        let g = give_up(&close_once(code, "", stop)).unwrap();
        let want = if code == 4404 {
            GiveUpKind::NotLive
        } else {
            GiveUpKind::StreamEnded
        };
        assert_eq!(g.kind, want);
    }
    assert!(
        states(&close_once(4005, "", ReconnectPolicy::default())).contains(&StateChange::StreamEnd)
    );

    let (_, delay, class) =
        reconnect_delay(&close_once(4429, "", ReconnectPolicy::default())).unwrap();
    assert_eq!(class, CloseClass::Throttled);
    assert!((30_000..=37_500).contains(&delay), "{delay}");
    let (_, delay, _) = reconnect_delay(&close_once(
        4429,
        "too many connections, retry-after: 120",
        ReconnectPolicy::default(),
    ))
    .unwrap();
    assert!(
        (120_000..=150_000).contains(&delay),
        "hint honoured: {delay}"
    );

    for code in [1000, 1001, 1006, 1011, 4006, 4500, 4555, 4556, 3000] {
        let (attempt, delay, class) =
            reconnect_delay(&close_once(code, "", ReconnectPolicy::default())).unwrap();
        assert_eq!((attempt, class), (1, CloseClass::Transient), "{code}");
        assert!(delay <= 1_000, "{code}: {delay}");
    }

    // 4005 is a stream end however it is configured, but its retry follows the policy.
    let not_waiting = ReconnectPolicy {
        waiting_codes: vec![4404],
        ..Default::default()
    };
    let out = close_once(4005, "", not_waiting);
    assert!(states(&out).contains(&StateChange::StreamEnd));
    assert_eq!(reconnect_delay(&out).unwrap().2, CloseClass::Transient);

    // Every class is configurable.
    let custom = ReconnectPolicy {
        terminal_codes: vec![4000],
        waiting_codes: vec![],
        ..Default::default()
    };
    assert_eq!(
        give_up(&close_once(4000, "", custom.clone())).unwrap().kind,
        GiveUpKind::Terminal
    );
    assert_eq!(
        reconnect_delay(&close_once(4404, "", custom)).unwrap().2,
        CloseClass::Transient
    );
}

#[test]
fn retry_after_hints() {
    use tikcast_core::session::retry_after_ms;
    assert_eq!(retry_after_ms("Retry-After: 120"), Some(120_000));
    assert_eq!(retry_after_ms("retryAfter=45"), Some(45_000));
    assert_eq!(retry_after_ms("slow down, retry after 1500ms"), Some(1_500));
    assert_eq!(retry_after_ms("too many connections"), None);
    assert_eq!(retry_after_ms("retry 3 times, after 120"), None);
    assert_eq!(retry_after_ms("retry_after 7"), Some(7_000));
    assert_eq!(retry_after_ms("retry-after: 99999999999"), None);
    assert_eq!(retry_after_ms("retry-after: 99999999999999999999999"), None);
}

#[test]
fn transient_backoff_is_full_jitter_within_doubling_bounds() {
    let policy = ReconnectPolicy::default();
    for failures in 1..=8u32 {
        let ceiling = (1_000u64 << (failures - 1)).min(30_000);
        let mut j = Jitter::new(u64::from(failures));
        let delays: Vec<u64> = (0..2_000)
            .map(|_| policy.delay_ms(CloseClass::Transient, failures, None, &mut j))
            .collect();
        let (lo, hi) = (*delays.iter().min().unwrap(), *delays.iter().max().unwrap());
        assert!(hi <= ceiling, "failure {failures}: {hi} > {ceiling}");
        assert!(lo <= ceiling / 20, "full jitter reaches near 0: {lo}");
        assert!(hi >= ceiling - ceiling / 20, "and near the ceiling: {hi}");
        let mean = delays.iter().sum::<u64>() as f64 / delays.len() as f64;
        let half = ceiling as f64 / 2.0;
        assert!((mean - half).abs() < half * 0.1, "uniform: mean {mean}");
    }
}

#[test]
fn attempt_budget_gives_up_and_resets_after_a_healthy_connection() {
    let mut h = Harness::new(SessionConfig {
        mode: Mode::Relay,
        reconnect: ReconnectPolicy {
            max_attempts: Some(4),
            ..Default::default()
        },
        ..Default::default()
    });
    h.connect();
    let mut previous_ceiling = 0;
    for attempt in 1..=3u32 {
        let out = h.close(1006, "");
        let (a, delay, _) = reconnect_delay(&out).unwrap();
        assert_eq!(a, attempt);
        assert!(delay <= 1_000 << (attempt - 1));
        previous_ceiling = 1_000 << (attempt - 1);
        h.fire();
        h.s.on_open(h.now, h.conn.unwrap());
        h.drain();
    }
    assert_eq!(previous_ceiling, 4_000);
    // A frame without messages does not prove the upstream works.
    h.feed(&Batch::of(vec![]).frame());
    let (a, _, _) = reconnect_delay(&h.close(1006, "")).unwrap();
    assert_eq!(a, 4);
    h.fire();
    h.s.on_open(h.now, h.conn.unwrap());
    h.drain();
    // A frame with messages resets the budget.
    h.feed(&Batch::of(vec![chat(1, "ok")]).frame());
    for attempt in 1..=4 {
        let (a, _, _) = reconnect_delay(&h.close(1011, "")).unwrap();
        assert_eq!(a, attempt, "counting starts again");
        h.fire();
        h.s.on_open(h.now, h.conn.unwrap());
        h.drain();
    }
    let out = h.close(1011, "");
    let g = give_up(&out).expect("fifth consecutive failure exhausts a budget of 4");
    assert_eq!(g.kind, GiveUpKind::AttemptsExhausted);
    assert_eq!((g.attempts, g.close_code), (4, Some(1011)));
    assert!(h.s.is_stopped());
    assert_eq!(h.s.poll_timeout(), None);
}

#[test]
fn running_out_of_attempts_on_throttling_is_rate_limited_with_the_hint() {
    let mut h = Harness::new(SessionConfig {
        mode: Mode::Relay,
        reconnect: ReconnectPolicy {
            max_attempts: Some(1),
            ..Default::default()
        },
        ..Default::default()
    });
    h.connect();
    h.close(4429, "too many connections; retry-after: 90");
    h.fire();
    h.s.on_open(h.now, h.conn.unwrap());
    h.drain();
    let g = give_up(&h.close(4429, "too many connections; retry-after: 90")).unwrap();
    assert_eq!((g.code(), g.retry_after_ms), ("rate_limited", Some(90_000)));
}

#[test]
fn only_messages_someone_listens_to_are_decoded() {
    let mut h = Harness::relay();
    h.connect();
    h.s.set_wanted_events(Some(["chat", "follow"]));
    let social = envelope(
        "WebcastSocialMessage",
        4,
        pb::SocialMessage {
            common: common(4),
            action: 1,
            ..Default::default()
        }
        .encode_to_vec(),
    );
    let frame = Batch::of(vec![
        chat(1, "a"),
        like(2, 9, 1, 1),
        gift(3, 9, false, 1, true),
        social,
        control(5, 3),
        envelope("WebcastSomethingNew", 6, vec![]),
    ])
    .frame();
    let out = h.feed(&frame);
    // Social decodes because `follow` derives from it; control always decodes.
    assert_eq!(
        names(&out),
        ["chat", "social", "follow", "controlMessage", "streamEnd"]
    );
    assert_eq!(h.s.stats().skipped, 3);
    // Skipped messages still count as seen: their resend is a duplicate.
    h.s.set_wanted_events(None::<Vec<String>>);
    let out = h.feed(&Batch::of(vec![like(2, 9, 1, 1), like(7, 9, 1, 2)]).frame());
    assert_eq!(
        events(&out)
            .iter()
            .map(|e| e.meta().msg_id)
            .collect::<Vec<_>>(),
        [7]
    );
    h.s.set_wanted_events(Some(["unknown"]));
    let out = h.feed(&Batch::of(vec![envelope("WebcastSomethingNew", 8, vec![])]).frame());
    assert_eq!(names(&out), ["unknown"]);
}

#[test]
fn jitter_is_deterministic_per_seed() {
    let run = |seed| {
        let mut h = Harness::new(SessionConfig {
            mode: Mode::Relay,
            seed,
            ..Default::default()
        });
        h.connect();
        (0..5)
            .map(|_| {
                let d = reconnect_delay(&h.close(1006, "")).unwrap().1;
                h.fire();
                h.s.on_open(h.now, h.conn.unwrap());
                h.drain();
                d
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

// ---------------------------------------------------------------- exactly once

#[test]
fn duplicates_are_dropped_within_frames_and_across_reconnects() {
    let mut h = Harness::direct();
    h.connect();
    let out = h.feed(&Batch::of(vec![chat(1, "a"), chat(2, "b"), chat(1, "a")]).frame());
    let ids: Vec<u64> = events(&out).iter().map(|e| e.meta().msg_id).collect();
    assert_eq!(ids, vec![1, 2]);
    h.close(1006, "");
    h.fire();
    h.s.on_open(h.now, h.conn.unwrap());
    h.drain();
    let out = h.feed(&Batch::of(vec![chat(2, "b"), chat(3, "c")]).frame());
    let ids: Vec<u64> = events(&out).iter().map(|e| e.meta().msg_id).collect();
    assert_eq!(ids, vec![3]);
    assert_eq!(h.s.stats().duplicates, 2);
    // Messages without an id cannot be de-duplicated and are always delivered.
    let out = h.feed(&Batch::of(vec![chat(0, "x"), chat(0, "x")]).frame());
    assert_eq!(names(&out), vec!["chat", "chat"]);
}

#[test]
fn dedup_window_is_bounded_and_least_recently_seen_goes_first() {
    let mut h = Harness::new(SessionConfig {
        dedup_capacity: 3,
        mode: Mode::Relay,
        ..Default::default()
    });
    h.connect();
    let ids =
        |out: &[Output]| -> Vec<u64> { events(out).iter().map(|e| e.meta().msg_id).collect() };
    assert_eq!(
        ids(&h.feed(&Batch::of(vec![chat(1, ""), chat(2, ""), chat(3, "")]).frame())),
        vec![1, 2, 3]
    );
    // Seeing 1 again refreshes it, so 2 is now the least recently seen.
    assert!(ids(&h.feed(&Batch::of(vec![chat(1, "")]).frame())).is_empty());
    assert_eq!(ids(&h.feed(&Batch::of(vec![chat(4, "")]).frame())), vec![4]);
    assert_eq!(
        ids(&h.feed(&Batch::of(vec![chat(1, ""), chat(2, "")]).frame())),
        vec![2]
    );

    let mut w = tikcast_core::session::MsgIdWindow::new(10_000);
    for id in 0..25_000u64 {
        assert!(w.first_sighting(id));
    }
    assert_eq!(w.len(), 10_000);
    assert!(w.first_sighting(0), "evicted long ago");
    assert!(!w.first_sighting(24_999));
}

#[test]
fn history_is_flagged_or_dropped_on_request() {
    let frame = || {
        let mut m = chat(5, "old");
        m.is_history = true;
        Batch::of(vec![m, chat(6, "new")]).frame()
    };
    let mut h = Harness::relay();
    h.connect();
    let ev = events(&h.feed(&frame()));
    assert_eq!(ev.len(), 2);
    assert!(ev[0].meta().is_history && !ev[1].meta().is_history);

    let mut h = Harness::new(SessionConfig {
        mode: Mode::Relay,
        process_initial_data: false,
        ..Default::default()
    });
    h.connect();
    let ev = events(&h.feed(&frame()));
    assert_eq!(
        ev.iter().map(|e| e.meta().msg_id).collect::<Vec<_>>(),
        vec![6]
    );
    assert_eq!(h.s.stats().history_dropped, 1);
}

// ---------------------------------------------------------------- gift streaks

#[test]
fn a_streak_gives_updates_and_exactly_one_final_gift() {
    let mut h = Harness::relay();
    h.connect();
    let mut seen = Vec::new();
    for (i, count) in [1, 2, 3].into_iter().enumerate() {
        seen.extend(gifts(&h.feed(
            &Batch::of(vec![gift(100 + i as u64, 9, true, count, false)]).frame(),
        )));
    }
    seen.extend(gifts(
        &h.feed(&Batch::of(vec![gift(103, 9, true, 4, true)]).frame()),
    ));
    let kinds: Vec<(&str, i32)> = seen.iter().map(|(k, g)| (*k, g.repeat_count)).collect();
    assert_eq!(
        kinds,
        vec![
            ("giftRaw", 1),
            ("giftStreak", 1),
            ("giftRaw", 2),
            ("giftStreak", 2),
            ("giftRaw", 3),
            ("giftStreak", 3),
            ("giftRaw", 4),
            ("gift", 4),
        ]
    );
    assert!(!seen.last().unwrap().1.timed_out);
    // Nothing left to time out.
    assert_eq!(h.s.poll_timeout(), Some(h.now + 30_000));

    // A non-streakable gift is one `gift` straight away.
    let g = gifts(&h.feed(&Batch::of(vec![gift(200, 9, false, 1, false)]).frame()));
    assert_eq!(
        g.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        vec!["giftRaw", "gift"]
    );
}

#[test]
fn a_streak_without_end_times_out_once() {
    let mut h = Harness::relay();
    h.connect();
    h.feed(&Batch::of(vec![gift(1, 9, true, 1, false)]).frame());
    h.advance_to(h.now + 4_000);
    h.feed(&Batch::of(vec![gift(2, 9, true, 5, false)]).frame());
    let last_update = h.now;
    assert_eq!(h.s.poll_timeout(), Some(last_update + 10_000));
    assert!(gifts(&h.advance_to(last_update + 9_999)).is_empty());
    let out = h.advance_to(last_update + 10_000);
    let g = gifts(&out);
    assert_eq!(g.len(), 1);
    assert_eq!(
        (
            g[0].0,
            g[0].1.repeat_count,
            g[0].1.timed_out,
            g[0].1.repeat_end
        ),
        ("gift", 5, true, true)
    );
    // The late end is still a raw gift but not a second final gift.
    let late = gifts(&h.feed(&Batch::of(vec![gift(3, 9, true, 6, true)]).frame()));
    assert_eq!(
        late.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        vec!["giftRaw"]
    );
}

#[test]
fn an_ended_streak_gets_no_second_final_gift_but_a_new_group_does() {
    let mut h = Harness::new(SessionConfig {
        mode: Mode::Relay,
        gift_raw: false,
        ..Default::default()
    });
    h.connect();
    let kinds = |h: &mut Harness, m: pb::MessageEnvelope| -> Vec<&'static str> {
        gifts(&h.feed(&Batch::of(vec![m]).frame()))
            .iter()
            .map(|(k, _)| *k)
            .collect()
    };
    assert_eq!(
        kinds(&mut h, gift_in(7, 1, 9, true, 1, false)),
        ["giftStreak"]
    );
    assert_eq!(kinds(&mut h, gift_in(7, 2, 9, true, 2, true)), ["gift"]);
    // The end resent under a new msg id, and a late update: nothing more.
    assert!(kinds(&mut h, gift_in(7, 3, 9, true, 2, true)).is_empty());
    assert!(kinds(&mut h, gift_in(7, 4, 9, true, 1, false)).is_empty());
    // The sender's next streak (a new group) is its own.
    assert_eq!(
        kinds(&mut h, gift_in(8, 5, 9, true, 1, false)),
        ["giftStreak"]
    );
    assert_eq!(kinds(&mut h, gift_in(8, 6, 9, true, 3, true)), ["gift"]);
    // Once the late window (the streak timeout) has passed, group 7 may start again.
    h.advance_to(h.now + 10_000);
    assert_eq!(
        kinds(&mut h, gift_in(7, 7, 9, true, 1, false)),
        ["giftStreak"]
    );
    // Without a group id two streaks cannot be told apart, so none is suppressed.
    assert_eq!(kinds(&mut h, gift_in(0, 8, 9, true, 1, true)), ["gift"]);
    assert_eq!(
        kinds(&mut h, gift_in(0, 9, 9, true, 1, false)),
        ["giftStreak"]
    );
}

#[test]
fn streaks_are_per_sender_and_flushed_on_stop() {
    let mut h = Harness::new(SessionConfig {
        mode: Mode::Relay,
        gift_raw: false,
        ..Default::default()
    });
    h.connect();
    h.feed(&Batch::of(vec![gift(1, 9, true, 1, false), gift(2, 8, true, 1, false)]).frame());
    h.feed(&Batch::of(vec![gift(3, 9, true, 2, true)]).frame());
    h.s.stop(h.now);
    let out = h.drain();
    let g = gifts(&out);
    assert_eq!(g.len(), 1, "only sender 8's streak was still running");
    // A final gift, so `repeatEnd` is set although the streak's end never arrived.
    assert_eq!(
        (g[0].1.user.user_id, g[0].1.timed_out, g[0].1.repeat_end),
        (8, true, true)
    );
    assert_eq!(give_up(&out).unwrap().kind, GiveUpKind::Stopped);
    assert!(matches!(&out[0], Output::Close { code: 1000, .. }));
}

// ---------------------------------------------------------------- likes

#[test]
fn like_aggregation_is_off_by_default_and_merges_per_user_when_on() {
    let mut h = Harness::relay();
    h.connect();
    let out = h.feed(&Batch::of(vec![like(1, 9, 5, 100), like(2, 9, 3, 103)]).frame());
    assert_eq!(names(&out), vec!["like", "like"]);
    assert_eq!(h.s.poll_timeout(), Some(h.now + 30_000));

    let mut h = Harness::new(SessionConfig {
        mode: Mode::Relay,
        like_aggregate_ms: Some(2_000),
        ..Default::default()
    });
    h.connect();
    let t0 = h.now;
    h.feed(&Batch::of(vec![like(1, 9, 5, 100), like(2, 8, 1, 101)]).frame());
    h.advance_to(t0 + 1_000);
    h.feed(&Batch::of(vec![like(3, 9, 3, 104)]).frame());
    let out = h.advance_to(t0 + 2_000);
    let merged: Vec<(u64, i64, i64, u32)> = events(&out)
        .into_iter()
        .filter_map(|e| match e {
            Event::LikeAggregate(l) => {
                Some((l.user.user_id, l.like_count, l.total_like_count, l.batches))
            }
            _ => None,
        })
        .collect();
    assert_eq!(merged.len(), 2);
    assert!(merged.contains(&(9, 8, 104, 2)));
    assert!(merged.contains(&(8, 1, 101, 1)));
}

// ---------------------------------------------------------------- stream end, errors, stop

#[test]
fn stream_end_is_a_state_and_can_stop_the_session() {
    let mut h = Harness::relay();
    h.connect();
    let out = h.feed(&Batch::of(vec![control(1, 3)]).frame());
    assert_eq!(names(&out), vec!["controlMessage", "streamEnd"]);
    assert_eq!(states(&out), vec![StateChange::StreamEnd]);
    // The close that follows a stream end waits, not hammers.
    let out = h.close(1000, "");
    assert_eq!(reconnect_delay(&out).unwrap().2, CloseClass::Waiting);

    // Messages after the end mean the stream goes on: a drop is a network fault again.
    let mut h = Harness::relay();
    h.connect();
    h.feed(&Batch::of(vec![control(1, 3)]).frame());
    h.feed(&Batch::of(vec![chat(2, "still live")]).frame());
    let out = h.close(1006, "");
    assert_eq!(reconnect_delay(&out).unwrap().2, CloseClass::Transient);

    let mut h = Harness::new(SessionConfig {
        mode: Mode::Relay,
        reconnect: ReconnectPolicy {
            stop_when_offline: true,
            ..Default::default()
        },
        ..Default::default()
    });
    h.connect();
    let out = h.feed(&Batch::of(vec![control(1, 3)]).frame());
    assert!(out.iter().any(|o| matches!(o, Output::Close { .. })));
    assert_eq!(give_up(&out).unwrap().kind, GiveUpKind::StreamEnded);
    assert!(h.s.is_stopped());
}

#[test]
fn a_bad_frame_is_an_error_state_and_the_connection_carries_on() {
    let mut h = Harness::direct();
    h.connect();
    let out = h.feed(&[0x0a, 0xff, 0xff]);
    let s = states(&out);
    assert_eq!(s.len(), 1);
    let StateChange::Error { code, message } = &s[0] else {
        panic!("{s:?}")
    };
    assert_eq!(*code, "protobuf");
    assert_eq!(message, &message.to_lowercase());
    assert!(!h.s.is_stopped());
    let out = h.feed(&Batch::of(vec![chat(1, "still here")]).frame());
    assert_eq!(names(&out), vec!["chat"]);
    assert_eq!(h.s.stats().bad_frames, 1);
}

#[test]
fn stop_before_connecting_and_twice_is_harmless() {
    let mut h = Harness::direct();
    h.s.stop(h.now);
    let out = h.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(give_up(&out).unwrap().kind, GiveUpKind::Stopped);
    h.s.stop(h.now);
    h.s.start(h.now);
    assert!(h.drain().is_empty());
}

// ---------------------------------------------------------------- properties

#[derive(Debug, Clone)]
enum Step {
    /// The server sends the next `n` messages (plus resends of the given earlier ones).
    Send { n: usize, dups: Vec<usize> },
    /// The connection drops (1006).
    Drop,
    /// The server goes silent until the liveness timeout fires.
    Stall,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (1usize..6, proptest::collection::vec(0usize..400, 0..3))
            .prop_map(|(n, dups)| Step::Send { n, dups }),
        1 => Just(Step::Drop),
        1 => Just(Step::Stall),
    ]
}

/// Runs a fake server over `total` messages; returns the msg ids the user received.
/// A resuming server continues from the client's cursor after a reconnect; otherwise
/// it restarts from `restart(pos)`.
fn run_server(
    total: usize,
    steps: &[Step],
    resume: bool,
    restart: impl Fn(usize) -> usize,
) -> Vec<u64> {
    let mut h = Harness::new(SessionConfig {
        mode: Mode::Direct,
        room_id: ROOM,
        reconnect: ReconnectPolicy {
            max_attempts: None,
            ..Default::default()
        },
        ..Default::default()
    });
    h.connect();
    let id = |i: usize| 1_000 + i as u64;
    let mut pos = 0usize;
    let mut delivered = Vec::new();
    let collect = |out: &[Output], delivered: &mut Vec<u64>| {
        for e in events(out) {
            if matches!(e, Event::Chat(_)) {
                delivered.push(e.meta().msg_id);
            }
        }
    };
    let reconnect = |h: &mut Harness, pos: &mut usize| {
        h.fire();
        h.s.on_open(h.now, h.conn.unwrap());
        h.drain();
        *pos = if resume {
            h.s.cursor().parse().unwrap_or(0)
        } else {
            restart(*pos).min(total)
        };
    };
    let mut all_steps: Vec<Step> = steps.to_vec();
    // Then deliver everything that is left.
    all_steps.push(Step::Send {
        n: total,
        dups: vec![],
    });
    for s in all_steps {
        match s {
            Step::Send { n, dups } => {
                let end = (pos + n).min(total);
                let mut msgs: Vec<pb::MessageEnvelope> =
                    (pos..end).map(|i| chat(id(i), "m")).collect();
                msgs.extend(dups.iter().filter(|&&d| d < end).map(|&d| chat(id(d), "m")));
                pos = end;
                let mut b = Batch::of(msgs);
                b.cursor = pos.to_string();
                b.need_ack = true;
                b.log_id = pos as u64 + 1;
                h.now += 10;
                let out = h.feed(&b.frame());
                collect(&out, &mut delivered);
            }
            Step::Drop => {
                h.close(1006, "");
                reconnect(&mut h, &mut pos);
            }
            Step::Stall => {
                let out = h.fire(); // a heartbeat, or the liveness timeout
                let out2 = if out.iter().any(|o| matches!(o, Output::Close { .. })) {
                    out
                } else {
                    h.advance_to(h.now + 30_000)
                };
                if out2.iter().any(|o| matches!(o, Output::Close { .. })) {
                    reconnect(&mut h, &mut pos);
                }
            }
        }
    }
    delivered
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn resuming_server_gives_every_message_exactly_once_in_order(
        total in 1usize..300,
        steps in proptest::collection::vec(step(), 0..60),
    ) {
        let got = run_server(total, &steps, true, |_| 0);
        let want: Vec<u64> = (0..total).map(|i| 1_000 + i as u64).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn any_server_gives_each_message_at_most_once(
        total in 1usize..300,
        steps in proptest::collection::vec(step(), 0..60),
        back in 0usize..50,
    ) {
        // This server replays from an earlier point (or from the start) after a drop.
        let got = run_server(total, &steps, false, |pos| pos.saturating_sub(back));
        let mut sorted = got.clone();
        sorted.sort_unstable();
        sorted.dedup();
        prop_assert_eq!(sorted.len(), got.len(), "a msg id was delivered twice");
        prop_assert!(got.len() <= total);
    }
}

#[test]
fn an_expired_token_on_a_working_socket_reconnects_at_once_with_the_cursor() {
    let mut h = Harness::relay();
    h.connect();
    let mut b = Batch::of(vec![chat(1, "before")]);
    b.cursor = "cur-1".into();
    assert_eq!(names(&h.feed(&b.frame())), ["chat"]);
    // The relay ends the socket when the token runs out: reconnect now, not give up.
    let out = h.close(4401, "token expired; connect again with a fresh token");
    assert!(give_up(&out).is_none(), "{out:?}");
    assert_eq!(reconnect_delay(&out), Some((1, 0, CloseClass::Transient)));
    let out = h.fire();
    let attempt = out.iter().find_map(|o| match o {
        Output::Connect { attempt, .. } => Some(*attempt),
        _ => None,
    });
    assert_eq!(attempt, Some(1), "a fresh credential is asked for: {out:?}");
    assert_eq!(h.s.cursor(), "cur-1");
    h.s.on_open(h.now, h.conn.unwrap());
    let _ = h.drain();
    // The new socket resumes; the message already seen is not delivered twice.
    let b = Batch::of(vec![chat(1, "before"), chat(2, "after")]);
    let got: Vec<String> = events(&h.feed(&b.frame()))
        .into_iter()
        .filter_map(|e| match e {
            Event::Chat(c) => Some(c.comment),
            _ => None,
        })
        .collect();
    assert_eq!(got, ["after"]);
    // A fresh token refused at once (the socket never delivered) is terminal.
    let out = h.close(4401, "token expired");
    let _ = out;
    h.fire();
    h.s.on_open(h.now, h.conn.unwrap());
    let _ = h.drain();
    let out = h.close(4401, "token expired");
    assert_eq!(give_up(&out).map(|g| g.kind), Some(GiveUpKind::InvalidAuth));
    // Other 4401 reasons on a working socket, or the rule switched off, stay terminal.
    for (reason, reauth) in [("invalid signature", true), ("token expired", false)] {
        let mut h = Harness::new(SessionConfig {
            mode: Mode::Relay,
            reconnect: ReconnectPolicy {
                reauth_on_expiry: reauth,
                ..Default::default()
            },
            ..Default::default()
        });
        h.connect();
        h.feed(&Batch::of(vec![chat(1, "x")]).frame());
        let out = h.close(4401, reason);
        assert_eq!(give_up(&out).map(|g| g.kind), Some(GiveUpKind::InvalidAuth));
    }
}

#[test]
fn fail_fast_gives_up_when_the_first_socket_never_opens_but_not_after_one_did() {
    let fast = || {
        Harness::new(SessionConfig {
            mode: Mode::Relay,
            reconnect: ReconnectPolicy {
                fail_fast: true,
                ..Default::default()
            },
            ..Default::default()
        })
    };
    // Refused before open: one attempt, then `unreachable`.
    let mut h = fast();
    h.s.start(h.now);
    let _ = h.drain();
    let out = h.close(1006, "");
    let g = give_up(&out).expect("gave up");
    assert_eq!((g.code(), g.close_code), ("unreachable", Some(1006)));
    assert!(g.to_string().contains("check the url"), "{g}");
    assert!(!out.iter().any(|o| matches!(o, Output::Connect { .. })));
    // The connect timeout on the first attempt is the same.
    let mut h = fast();
    h.s.start(h.now);
    let _ = h.drain();
    let out = h.fire();
    assert_eq!(give_up(&out).map(|g| g.kind), Some(GiveUpKind::Unreachable));
    // Once a socket opened, a later refusal is retried as usual.
    let mut h = fast();
    h.connect();
    h.feed(&Batch::of(vec![chat(1, "x")]).frame());
    h.close(1006, "");
    h.fire();
    let out = h.close(1006, "");
    assert!(give_up(&out).is_none());
    assert!(reconnect_delay(&out).is_some());
    // Off (the default): the first refusal is retried.
    let mut h = Harness::relay();
    h.s.start(h.now);
    let _ = h.drain();
    let out = h.close(1006, "");
    assert!(give_up(&out).is_none());
    assert_eq!(
        reconnect_delay(&out).map(|d| d.2),
        Some(CloseClass::Transient)
    );
}
