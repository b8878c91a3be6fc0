//! The sans-IO session engine: everything protocol-shaped about a live connection.
//!
//! A [`Session`] is fed what happened (the socket opened, a frame or text arrived, the
//! socket closed, time passed) together with `now`, a monotonic millisecond count the
//! driver reads from its own clock. It answers with [`Output`]s (open a socket, send
//! this frame, close that socket, deliver these events, report this state, give up) and
//! with the next instant it wants to be woken at ([`Session::poll_timeout`]). It never
//! reads a clock, sleeps or touches a socket, so the browser driver, the native `watch`
//! command and the relay share this one implementation, and the tests drive it with a
//! fake clock.
//!
//! ```
//! use tikcast_core::session::{Mode, Output, Session, SessionConfig};
//!
//! let mut s = Session::new(SessionConfig { mode: Mode::Direct, room_id: 7, ..Default::default() });
//! s.start(0);
//! let conn = s.poll_outputs().iter().find_map(|o| match o {
//!     Output::Connect { conn, .. } => Some(*conn),
//!     _ => None,
//! }).unwrap();
//! // ... the driver fetches a fresh URL/credential and opens a socket ...
//! s.on_open(120, conn);
//! // enter-room and the first heartbeat are now queued as `Output::Send`.
//! assert_eq!(s.poll_timeout(), Some(120 + 10_000));
//! ```
//!
//! Rules (each has a fake-clock test in `tests/session.rs`):
//! - **Direct mode** (a TikTok-style socket): after open, send enter-room (with the
//!   resume cursor) and heartbeat 1, then a heartbeat every interval (10 s, or the
//!   server's `heartbeat_duration` hint); ack every frame that asks for it with its log
//!   id and the batch's internal ext; remember the newest cursor and internal ext.
//! - **Relay mode**: the relay does all that; the session only decodes, de-duplicates
//!   and watches liveness. The cursor is still remembered for drivers that can resume.
//! - **Liveness**: no frame (or text) for `liveness_timeout_ms` closes the socket and
//!   reconnects; so does a socket that does not open within `connect_timeout_ms`.
//! - **Reconnects** follow [`ReconnectPolicy`] by close-code class; each attempt is an
//!   [`Output::Connect`], for which the driver fetches a fresh credential.
//! - **Exactly once**: a window of recent msg ids ([`MsgIdWindow`]) drops duplicates
//!   before their payload is decoded, across reconnects; history messages are
//!   delivered flagged, or dropped when `process_initial_data` is false.
//! - **Gift streaks** ([`GiftStreaks`]) and optional **like aggregation**
//!   ([`LikeAggregator`]).

mod batch;
mod dedup;
mod likes;
mod policy;
mod streaks;

use alloc::borrow::Cow;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

pub use batch::Batch;
pub use dedup::MsgIdWindow;
pub use policy::{retry_after_ms, says_expired, CloseClass, Jitter, ReconnectPolicy};

use batch::{GiftAs, Item, Payload, Span};
use likes::LikeAggregator;
use streaks::GiftStreaks;

use crate::client::{ack_frame, enter_room_frame, heartbeat_frame, EnterRoom};
use crate::decode::{method_produces, DecodeOptions, EnvelopeInfo};
use crate::error::DecodeError;
use crate::reader::{slot, Index};
use crate::shape;
use crate::write::{envelope, open_batch, open_frame};

/// Who keeps the protocol alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// A TikTok-style socket: the session sends enter-room, heartbeats and acks.
    #[default]
    Direct,
    /// A relay that speaks to TikTok itself: the session only decodes and watches liveness.
    Relay,
}

/// Session settings. `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    pub mode: Mode,
    /// The room to enter (direct mode). Relay mode does not need it.
    pub room_id: u64,
    /// Heartbeat period in direct mode. Default 10 s; a server `heartbeat_duration` hint
    /// between 1 s and 5 min replaces it.
    pub heartbeat_interval_ms: u64,
    /// No frame for this long means the connection is dead. Default 30 s.
    pub liveness_timeout_ms: u64,
    /// A socket that has not opened after this long is abandoned. Default 15 s.
    pub connect_timeout_ms: u64,
    pub reconnect: ReconnectPolicy,
    /// How many recent msg ids are remembered for de-duplication; 0 turns it off.
    /// Default 10,000.
    pub dedup_capacity: usize,
    /// Deliver history messages (flagged `isHistory`) replayed at connect. Default true.
    pub process_initial_data: bool,
    /// A streak whose end has not arrived this long after its last update is closed.
    /// Default 10 s.
    pub gift_streak_timeout_ms: u64,
    /// Also deliver every gift message as `giftRaw`. Default true.
    pub gift_raw: bool,
    /// Merge each user's likes over this window into `likeAggregate`. Default off.
    pub like_aggregate_ms: Option<u64>,
    pub decode: DecodeOptions,
    /// Seeds backoff jitter and the enter-room id; drivers pass a random value.
    pub seed: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            mode: Mode::Direct,
            room_id: 0,
            heartbeat_interval_ms: 10_000,
            liveness_timeout_ms: 30_000,
            connect_timeout_ms: 15_000,
            reconnect: ReconnectPolicy::default(),
            dedup_capacity: 10_000,
            process_initial_data: true,
            gift_streak_timeout_ms: 10_000,
            gift_raw: true,
            like_aggregate_ms: None,
            decode: DecodeOptions::default(),
            seed: 0x7469_6b63_6173_7401,
        }
    }
}

/// Identifies one socket. Inputs naming an older socket are ignored, so a late close
/// or frame from a socket the session already abandoned cannot disturb the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// What the session asks of its driver, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Fetch a fresh URL/credential now (signed URLs and relay JWTs expire within
    /// seconds) and open a socket; report it as `conn`. Resume with [`Session::cursor`]
    /// and [`Session::internal_ext`] where the upstream accepts them.
    Connect { conn: ConnId, attempt: u32 },
    /// Send this binary frame on `conn`.
    Send { conn: ConnId, frame: Vec<u8> },
    /// Close `conn` (with this code and reason, if the socket still can). The session
    /// has already moved on; the driver need not report the close.
    Close {
        conn: ConnId,
        code: u16,
        reason: String,
    },
    /// Events for the user, in order (one batch per frame or timer): write them with
    /// [`Batch::write`], or take them typed with [`Batch::to_events`].
    Events(Batch),
    /// A relay's text message (room description), passed through as received.
    RoomInfo(String),
    /// A connection state change for the user.
    State(StateChange),
    /// The session stopped for good; no more outputs follow.
    GiveUp(GiveUp),
}

/// Connection states, as the user sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        tag = "state",
        rename_all = "camelCase",
        rename_all_fields = "camelCase"
    )
)]
pub enum StateChange {
    /// Opening a socket; `attempt` is 0 for the first connect, n for the n-th retry.
    Connecting {
        attempt: u32,
    },
    Connected {
        attempt: u32,
    },
    /// The next attempt starts after `delay_ms`.
    Reconnecting {
        attempt: u32,
        delay_ms: u64,
        class: CloseClass,
        reason: String,
    },
    /// The socket closed (by the server, the network, or the session itself).
    Disconnected {
        code: u16,
        reason: String,
    },
    /// The stream ended (control message, or close 4005).
    StreamEnd,
    /// Something went wrong that the session survived (e.g. a malformed frame).
    Error {
        code: &'static str,
        message: String,
    },
}

impl StateChange {
    /// A frame whose events were dropped because it did not decode (or its events would
    /// pass the output budget): the connection carries on.
    pub fn frame_dropped(e: &DecodeError) -> StateChange {
        StateChange::Error {
            code: e.code(),
            message: format!("dropped a frame that did not decode: {e}"),
        }
    }
}

/// Why the session stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpKind {
    InvalidOptions,
    InvalidAuth,
    NoPermission,
    /// Another code the user configured as terminal.
    Terminal,
    NotLive,
    StreamEnded,
    AttemptsExhausted,
    /// The first socket never opened and `fail_fast` is on.
    Unreachable,
    /// The user stopped the session.
    Stopped,
}

impl GiveUpKind {
    /// A stable machine-readable code (the JS `Error.code`).
    pub fn code(self) -> &'static str {
        match self {
            GiveUpKind::InvalidOptions => "invalid_options",
            GiveUpKind::InvalidAuth => "invalid_auth",
            GiveUpKind::NoPermission => "no_permission",
            GiveUpKind::Terminal => "terminal_close",
            GiveUpKind::NotLive => "not_live",
            GiveUpKind::StreamEnded => "stream_ended",
            GiveUpKind::AttemptsExhausted => "attempts_exhausted",
            GiveUpKind::Unreachable => "unreachable",
            GiveUpKind::Stopped => "stopped",
        }
    }
}

/// The typed reason a session gave up, with the close code that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiveUp {
    pub kind: GiveUpKind,
    pub close_code: Option<u16>,
    pub attempts: u32,
    /// The server's last retry-after hint, when it gave one.
    pub retry_after_ms: Option<u64>,
}

impl GiveUp {
    /// A stable machine-readable code: the kind's code, except that running out of
    /// attempts on a throttling close (4429) is `rate_limited`.
    pub fn code(&self) -> &'static str {
        match (self.kind, self.close_code) {
            (GiveUpKind::AttemptsExhausted, Some(4429)) => "rate_limited",
            (kind, _) => kind.code(),
        }
    }
}

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.close_code.unwrap_or(0);
        match self.kind {
            GiveUpKind::InvalidOptions => write!(
                f,
                "server rejected the connection options (close {code}); check the unique id and options"
            ),
            GiveUpKind::InvalidAuth => write!(
                f,
                "server rejected the credential (close {code}); create a new token or key and check that it has not expired"
            ),
            GiveUpKind::NoPermission => write!(
                f,
                "credential is not allowed for this creator (close {code}); add the creator to the token's allowed creators"
            ),
            GiveUpKind::Terminal => write!(
                f,
                "server closed with {code}, configured as terminal; not retrying"
            ),
            GiveUpKind::NotLive => write!(
                f,
                "creator is not live (close {code}); retrying was turned off"
            ),
            GiveUpKind::StreamEnded => write!(f, "stream ended; retrying was turned off"),
            GiveUpKind::AttemptsExhausted => write!(
                f,
                "gave up after {} failed attempts (last close {code}); check the network and the upstream",
                self.attempts
            ),
            GiveUpKind::Unreachable => write!(
                f,
                "could not open a connection (close {code}): the server refused it, is unreachable, or refused this page's origin or token; check the url, that the server runs and which origins it allows"
            ),
            GiveUpKind::Stopped => write!(f, "stopped by the client"),
        }
    }
}

/// Counters for dashboards and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct SessionStats {
    pub connects: u32,
    pub frames: u64,
    pub messages: u64,
    pub duplicates: u64,
    pub history_dropped: u64,
    pub bad_frames: u64,
    pub heartbeats_sent: u64,
    pub acks_sent: u64,
    /// Messages not decoded because no one listens to their events.
    pub skipped: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Connecting { conn: ConnId, deadline: u64 },
    Open { conn: ConnId },
    Waiting { until: u64 },
    Stopped,
}

/// Allowed range for a server heartbeat hint.
const HEARTBEAT_HINT_MS: core::ops::RangeInclusive<u64> = 1_000..=300_000;

/// The session engine. See the module docs.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    jitter: Jitter,
    phase: Phase,
    last_conn: u64,
    /// Reconnect attempts since the last connection that delivered a message frame.
    attempt: u32,
    /// Consecutive transient/throttled failures (backoff exponent and budget).
    failures: u32,
    heartbeat_interval_ms: u64,
    heartbeat_seq: u64,
    next_heartbeat: u64,
    last_rx: u64,
    healthy: bool,
    /// Some socket of this session has opened (`fail_fast` no longer applies).
    ever_opened: bool,
    stream_ended: bool,
    enter_unique_id: u64,
    cursor: String,
    internal_ext: String,
    dedup: MsgIdWindow,
    streaks: GiftStreaks,
    likes: Option<LikeAggregator>,
    stats: SessionStats,
    out: VecDeque<Output>,
    /// Event names someone listens to; `None` decodes everything.
    wanted: Option<Vec<String>>,
    /// The last retry-after hint a server gave.
    retry_after_ms: Option<u64>,
    /// Per-method answer to "is it wanted", bounded (method names come from the wire).
    wanted_methods: Vec<(String, bool)>,
    /// The index the gift, like and control facts are read through (buffers reused).
    scratch: Index,
}

/// Most method names whose "wanted" answer is cached.
const WANTED_CACHE: usize = 256;

impl Session {
    /// A session with `config`. Timings below sane floors are raised to them (heartbeat
    /// and liveness 100 ms, connect timeout 100 ms) so no setting can make the session
    /// act at the same instant forever.
    pub fn new(mut config: SessionConfig) -> Self {
        config.liveness_timeout_ms = config.liveness_timeout_ms.max(100);
        config.connect_timeout_ms = config.connect_timeout_ms.max(100);
        let mut jitter = Jitter::new(config.seed);
        // A positive 63-bit id, as the web player sends; never 0.
        let enter_unique_id = (jitter.next_u64() >> 1).max(1);
        Session {
            jitter,
            phase: Phase::Idle,
            last_conn: 0,
            attempt: 0,
            failures: 0,
            heartbeat_interval_ms: config.heartbeat_interval_ms.clamp(100, 3_600_000),
            heartbeat_seq: 0,
            next_heartbeat: 0,
            last_rx: 0,
            healthy: false,
            ever_opened: false,
            stream_ended: false,
            enter_unique_id,
            cursor: String::new(),
            internal_ext: String::new(),
            dedup: MsgIdWindow::new(config.dedup_capacity),
            streaks: GiftStreaks::new(config.gift_streak_timeout_ms),
            likes: config.like_aggregate_ms.map(LikeAggregator::new),
            stats: SessionStats::default(),
            out: VecDeque::new(),
            wanted: None,
            retry_after_ms: None,
            wanted_methods: Vec::new(),
            scratch: Index::new(),
            config,
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// The newest cursor seen (empty before the first batch); present it on reconnect.
    pub fn cursor(&self) -> &str {
        &self.cursor
    }

    /// The newest internal ext seen; present it on reconnect.
    pub fn internal_ext(&self) -> &str {
        &self.internal_ext
    }

    /// The current heartbeat period (after any server hint).
    pub fn heartbeat_interval_ms(&self) -> u64 {
        self.heartbeat_interval_ms
    }

    /// True once the session has given up or been stopped.
    pub fn is_stopped(&self) -> bool {
        self.phase == Phase::Stopped
    }

    /// The socket the session currently wants, if any.
    pub fn current_conn(&self) -> Option<ConnId> {
        match self.phase {
            Phase::Connecting { conn, .. } | Phase::Open { conn } => Some(conn),
            _ => None,
        }
    }

    /// Decode only messages that can produce one of these events (`None`: everything).
    /// Skipped messages still count for de-duplication and liveness; control messages
    /// are always decoded, since the session needs `streamEnd` itself.
    pub fn set_wanted_events<I, S>(&mut self, names: Option<I>)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.wanted = names.map(|n| n.into_iter().map(Into::into).collect());
        self.wanted_methods.clear();
    }

    /// Begins the first connection attempt.
    pub fn start(&mut self, now: u64) {
        if self.phase == Phase::Idle {
            self.begin_connect(now);
        }
    }

    /// Starts the session and takes the connection it asks for as open at once, for a
    /// driver that has no socket to wait for (a replay, a test, a benchmark). The outputs
    /// until then are dropped. `None` when the session asked for no connection.
    pub fn start_open(&mut self, now: u64) -> Option<ConnId> {
        self.start(now);
        let conn = self.poll_outputs().into_iter().find_map(|o| match o {
            Output::Connect { conn, .. } => Some(conn),
            _ => None,
        })?;
        self.on_open(now, conn);
        Some(conn)
    }

    /// The user wants to stop: close the socket, close open streaks, give up.
    pub fn stop(&mut self, now: u64) {
        let _ = now;
        if self.phase == Phase::Stopped {
            return;
        }
        if let Some(conn) = self.current_conn() {
            self.out.push_back(Output::Close {
                conn,
                code: 1000,
                reason: "client stopped".to_string(),
            });
            self.state(StateChange::Disconnected {
                code: 1000,
                reason: "stopped by the client".to_string(),
            });
        }
        self.finish(GiveUpKind::Stopped, None);
    }

    /// The socket `conn` opened.
    pub fn on_open(&mut self, now: u64, conn: ConnId) {
        if !matches!(self.phase, Phase::Connecting { conn: c, .. } if c == conn) {
            return;
        }
        self.phase = Phase::Open { conn };
        self.ever_opened = true;
        self.last_rx = now;
        self.state(StateChange::Connected {
            attempt: self.attempt,
        });
        if self.config.mode == Mode::Direct {
            let enter = EnterRoom {
                room_id: self.config.room_id,
                enter_unique_id: self.enter_unique_id,
                cursor: self.cursor.clone(),
            };
            self.send(conn, enter_room_frame(&enter));
            self.heartbeat_seq = 0;
            self.heartbeat(now, conn);
        }
    }

    /// A binary message arrived on `conn`.
    pub fn on_frame(&mut self, now: u64, conn: ConnId, bytes: &[u8]) {
        if self.phase != (Phase::Open { conn }) {
            return;
        }
        self.last_rx = now;
        self.stats.frames += 1;
        let seen_before = self.seen_messages();
        let opts = &self.config.decode;
        let (mut decoded, batch) = match open_frame(bytes, opts) {
            Ok((head, Some(batch))) => (head, batch.into_owned()),
            Ok((head, None)) => (head, Vec::new()),
            Err(e) => return self.bad_frame(&e),
        };
        if !(decoded.payload_type.is_empty() || decoded.payload_type == "msg") {
            return;
        }
        let mut items = Vec::new();
        let mut gifts = Index::new();
        let mut ended = false;
        let mut live = false;
        if !batch.is_empty() {
            let mut ix = Index::new();
            let view = match open_batch(&mut ix, &batch, opts, &mut decoded) {
                Ok(v) => v,
                Err(e) => return self.bad_frame(&e),
            };
            for m in view.msgs(slot::FetchResult::messages) {
                let (method, payload, env) = envelope(&m);
                if !self.keep(env, method) {
                    continue;
                }
                let (Some(method_at), Some(at)) = (
                    Span::of(&batch, method.as_bytes()),
                    Span::of(&batch, payload),
                ) else {
                    continue;
                };
                let whole = Item::Message {
                    method: method_at,
                    payload: at,
                    env,
                };
                match method {
                    "WebcastGiftMessage" => {
                        live = true;
                        match shape::gift_facts(&mut gifts, payload) {
                            Some((facts, read, root)) => {
                                let here = match &read {
                                    Cow::Borrowed(_) => Payload::Indexed(at, root),
                                    // Rare: written from its bytes (indexed again).
                                    Cow::Owned(merged) => Payload::Owned(merged.clone()),
                                };
                                if self.config.gift_raw {
                                    items.push(Item::Gift {
                                        as_: GiftAs::Raw,
                                        payload: here.clone(),
                                        env,
                                    });
                                }
                                self.streaks
                                    .on_gift(now, facts, &read, &here, env, &mut items);
                            }
                            None => items.push(whole),
                        }
                    }
                    "WebcastLikeMessage" => {
                        live = true;
                        if let Some(likes) = &mut self.likes {
                            if let Some((facts, read)) =
                                shape::like_facts(&mut self.scratch, payload)
                            {
                                likes.add(now, facts, &read, env, &mut items);
                            }
                        }
                        items.push(whole);
                    }
                    "WebcastControlMessage" => {
                        match shape::control_ends(&mut self.scratch, payload) {
                            Some(end) => ended |= end,
                            // A malformed one is a `decodeError` event, as any message.
                            None => live = true,
                        }
                        items.push(whole);
                    }
                    _ => {
                        live = true;
                        items.push(whole);
                    }
                }
            }
        }
        let carried_messages = self.seen_messages() > seen_before;
        if !self.healthy && carried_messages {
            // Only a frame with messages proves the upstream works; an empty batch
            // followed by a drop must not reset the attempt budget forever.
            self.healthy = true;
            self.attempt = 0;
            self.failures = 0;
        }
        if self.config.mode == Mode::Direct && decoded.need_ack && decoded.log_id != 0 {
            self.stats.acks_sent += 1;
            self.send(conn, ack_frame(decoded.log_id, &decoded.internal_ext));
        }
        if !decoded.cursor.is_empty() {
            self.cursor = decoded.cursor;
        }
        if !decoded.internal_ext.is_empty() {
            self.internal_ext = decoded.internal_ext;
        }
        if let Ok(hint) = u64::try_from(decoded.heartbeat_duration) {
            if HEARTBEAT_HINT_MS.contains(&hint) && hint != self.heartbeat_interval_ms {
                self.heartbeat_interval_ms = hint;
                self.next_heartbeat = now.saturating_add(hint);
            }
        }
        if !items.is_empty() {
            let cap = self.config.decode.max_expansion;
            self.out
                .push_back(Output::Events(Batch::new(batch, items, gifts, cap)));
        }
        if !ended && live && self.stream_ended {
            // Messages kept coming after the end (a pause, or a replayed control
            // message): the stream is alive, so a later drop is a network fault again.
            self.stream_ended = false;
        }
        if ended && !self.stream_ended {
            self.stream_ended = true;
            self.state(StateChange::StreamEnd);
            if self.config.reconnect.stop_when_offline {
                self.out.push_back(Output::Close {
                    conn,
                    code: 1000,
                    reason: "stream ended".to_string(),
                });
                self.state(StateChange::Disconnected {
                    code: 1000,
                    reason: "stream ended".to_string(),
                });
                self.finish(GiveUpKind::StreamEnded, None);
            }
        }
    }

    /// Whether a message is delivered: not a duplicate, not unwanted history, and (when
    /// the user listens to some events only) able to produce one of them. Counts it.
    fn keep(&mut self, env: EnvelopeInfo, method: &str) -> bool {
        if env.msg_id != 0 && !self.dedup.first_sighting(env.msg_id) {
            self.stats.duplicates += 1;
            return false;
        }
        if env.is_history && !self.config.process_initial_data {
            self.stats.history_dropped += 1;
            return false;
        }
        if let Some(wanted) = &self.wanted {
            let cached = self.wanted_methods.iter().find(|(m, _)| m == method);
            let keep = match cached {
                Some((_, k)) => *k,
                None => {
                    let k = method == "WebcastControlMessage"
                        || method_produces(method, |e| wanted.iter().any(|w| w == e));
                    if self.wanted_methods.len() < WANTED_CACHE {
                        self.wanted_methods.push((method.to_string(), k));
                    }
                    k
                }
            };
            if !keep {
                self.stats.skipped += 1;
                return false;
            }
        }
        self.stats.messages += 1;
        true
    }

    fn bad_frame(&mut self, e: &DecodeError) {
        self.stats.bad_frames += 1;
        self.state(StateChange::frame_dropped(e));
    }

    /// A text message arrived on `conn` (a relay's room description).
    pub fn on_text(&mut self, now: u64, conn: ConnId, text: &str) {
        if self.phase != (Phase::Open { conn }) {
            return;
        }
        self.last_rx = now;
        if text.len() > self.config.decode.max_frame_bytes {
            self.stats.bad_frames += 1;
            self.state(StateChange::Error {
                code: "too_large",
                message: format!(
                    "dropped a {} byte text message over the frame cap",
                    text.len()
                ),
            });
            return;
        }
        self.out.push_back(Output::RoomInfo(text.to_string()));
    }

    /// The socket `conn` closed with `code` (1006 when it dropped without a close frame)
    /// and `reason` (untrusted server text; shown to the user, never parsed beyond a
    /// retry-after hint).
    pub fn on_close(&mut self, now: u64, conn: ConnId, code: u16, reason: &str) {
        if self.current_conn() != Some(conn) {
            return;
        }
        self.after_close(now, code, truncate(reason, 123));
    }

    /// Call at (or after) the instant [`poll_timeout`](Self::poll_timeout) returned.
    pub fn handle_timeout(&mut self, now: u64) {
        match self.phase {
            Phase::Connecting { conn, deadline } if now >= deadline => {
                let reason = format!(
                    "socket did not open within {} ms",
                    self.config.connect_timeout_ms
                );
                self.abandon(now, conn, 1006, reason);
            }
            Phase::Open { conn } => {
                if now >= self.last_rx.saturating_add(self.config.liveness_timeout_ms) {
                    let reason = format!(
                        "no frame for {} ms, connection presumed dead",
                        self.config.liveness_timeout_ms
                    );
                    self.abandon(now, conn, 4006, reason);
                } else if self.config.mode == Mode::Direct && now >= self.next_heartbeat {
                    self.heartbeat(now, conn);
                }
            }
            Phase::Waiting { until } if now >= until => self.begin_connect(now),
            _ => {}
        }
        let mut items = Vec::new();
        self.streaks.expire(now, &mut items);
        if let Some(likes) = &mut self.likes {
            likes.expire(now, &mut items);
        }
        self.timer_events(items);
    }

    /// The next instant the session must be woken at, if any.
    pub fn poll_timeout(&self) -> Option<u64> {
        let phase = match self.phase {
            Phase::Connecting { deadline, .. } => Some(deadline),
            Phase::Open { .. } => {
                let dead = self.last_rx.saturating_add(self.config.liveness_timeout_ms);
                Some(if self.config.mode == Mode::Direct {
                    dead.min(self.next_heartbeat)
                } else {
                    dead
                })
            }
            Phase::Waiting { until } => Some(until),
            Phase::Idle | Phase::Stopped => None,
        };
        [
            phase,
            self.streaks.next_deadline(),
            self.likes.as_ref().and_then(LikeAggregator::next_deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next output, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Every pending output, oldest first.
    pub fn poll_outputs(&mut self) -> Vec<Output> {
        self.out.drain(..).collect()
    }

    fn seen_messages(&self) -> u64 {
        self.stats.messages
            + self.stats.duplicates
            + self.stats.history_dropped
            + self.stats.skipped
    }

    /// Events the session made on its own (closed streaks, like windows): their
    /// payloads are kept by the items, so the batch has no bytes of its own.
    fn timer_events(&mut self, items: Vec<Item>) {
        if !items.is_empty() {
            let cap = self.config.decode.max_expansion;
            self.out.push_back(Output::Events(Batch::new(
                Vec::new(),
                items,
                Index::new(),
                cap,
            )));
        }
    }

    fn state(&mut self, s: StateChange) {
        self.out.push_back(Output::State(s));
    }

    fn send(&mut self, conn: ConnId, frame: Vec<u8>) {
        self.out.push_back(Output::Send { conn, frame });
    }

    fn heartbeat(&mut self, now: u64, conn: ConnId) {
        self.heartbeat_seq += 1;
        self.stats.heartbeats_sent += 1;
        self.next_heartbeat = now.saturating_add(self.heartbeat_interval_ms);
        let frame = heartbeat_frame(self.config.room_id, self.heartbeat_seq);
        self.send(conn, frame);
    }

    fn begin_connect(&mut self, now: u64) {
        self.last_conn += 1;
        let conn = ConnId(self.last_conn);
        self.phase = Phase::Connecting {
            conn,
            deadline: now.saturating_add(self.config.connect_timeout_ms),
        };
        self.healthy = false;
        self.stream_ended = false;
        self.stats.connects += 1;
        self.state(StateChange::Connecting {
            attempt: self.attempt,
        });
        self.out.push_back(Output::Connect {
            conn,
            attempt: self.attempt,
        });
    }

    /// The session itself ends a socket (timeout): close it, then treat it as closed.
    fn abandon(&mut self, now: u64, conn: ConnId, code: u16, reason: String) {
        self.out.push_back(Output::Close {
            conn,
            code: 1000,
            reason: reason.clone(),
        });
        self.after_close(now, code, reason);
    }

    fn after_close(&mut self, now: u64, code: u16, reason: String) {
        self.state(StateChange::Disconnected {
            code,
            reason: reason.clone(),
        });
        let policy = &self.config.reconnect;
        let mut class = policy.classify(code);
        if code == 4005 && !self.stream_ended {
            // The relay says the stream ended (how it is retried is up to the policy).
            self.stream_ended = true;
            self.state(StateChange::StreamEnd);
        } else if self.stream_ended && class == CloseClass::Transient {
            // A close after a stream-end message is the end, not a network fault.
            class = CloseClass::Waiting;
        }
        if code == 4401
            && self.healthy
            && self.config.reconnect.reauth_on_expiry
            && says_expired(&reason)
        {
            // The relay ended a working socket because its token ran out: connect again
            // at once with a fresh credential and the resume cursor. Not a failure; a
            // fresh token refused again is terminal (that connection never delivers).
            self.schedule(now, 0, CloseClass::Transient, code, &reason);
            return;
        }
        if self.config.reconnect.fail_fast
            && !self.ever_opened
            && matches!(class, CloseClass::Transient | CloseClass::Throttled)
        {
            self.finish(GiveUpKind::Unreachable, Some(code));
            return;
        }
        match class {
            CloseClass::Terminal => {
                let kind = match code {
                    4400 => GiveUpKind::InvalidOptions,
                    4401 => GiveUpKind::InvalidAuth,
                    4403 => GiveUpKind::NoPermission,
                    _ => GiveUpKind::Terminal,
                };
                self.finish(kind, Some(code));
            }
            CloseClass::Waiting if self.config.reconnect.stop_when_offline => {
                let kind = if self.stream_ended {
                    GiveUpKind::StreamEnded
                } else {
                    GiveUpKind::NotLive
                };
                self.finish(kind, Some(code));
            }
            CloseClass::Waiting => {
                let delay = self.config.reconnect.waiting_delay_ms;
                self.schedule(now, delay, class, code, &reason);
            }
            CloseClass::Throttled | CloseClass::Transient => {
                self.failures = self.failures.saturating_add(1);
                if self
                    .config
                    .reconnect
                    .max_attempts
                    .is_some_and(|max| self.failures > max)
                {
                    self.failures -= 1;
                    self.finish(GiveUpKind::AttemptsExhausted, Some(code));
                    return;
                }
                let hint = retry_after_ms(&reason);
                self.retry_after_ms = hint;
                let delay =
                    self.config
                        .reconnect
                        .delay_ms(class, self.failures, hint, &mut self.jitter);
                self.schedule(now, delay, class, code, &reason);
            }
        }
    }

    fn schedule(&mut self, now: u64, delay_ms: u64, class: CloseClass, code: u16, reason: &str) {
        self.attempt = self.attempt.saturating_add(1);
        self.phase = Phase::Waiting {
            until: now.saturating_add(delay_ms),
        };
        let reason = if reason.is_empty() {
            format!("closed with {code}")
        } else {
            format!("closed with {code}: {reason}")
        };
        self.state(StateChange::Reconnecting {
            attempt: self.attempt,
            delay_ms,
            class,
            reason,
        });
    }

    fn finish(&mut self, kind: GiveUpKind, close_code: Option<u16>) {
        let mut items = Vec::new();
        self.streaks.flush(&mut items);
        if let Some(likes) = &mut self.likes {
            likes.flush(&mut items);
        }
        self.timer_events(items);
        self.phase = Phase::Stopped;
        self.out.push_back(Output::GiveUp(GiveUp {
            kind,
            close_code,
            attempts: self.failures,
            retry_after_ms: self.retry_after_ms,
        }));
    }
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("").to_string()
}
