//! Rooms and fan-out. One [`Room`] per creator handle holds the viewers watching it, a
//! ring of recent frames (for cursor resume) and the upstream's `roomInfo`; its upstream
//! task (see `upstream.rs`) pushes frames in, and every viewer gets them through its own
//! bounded queue. A queue that is full means the viewer is not reading fast enough: it
//! is cut off with 4008 rather than allowed to slow the room down or grow memory.
//! A room whose upstream delivers no frame for `--upstream-idle-close` is ended with
//! 4006, as the hosted relays do ([`Hub::watch_idle`]).
//! JSON viewers (`format=json`, see `json.rs`) get the events of the room's session
//! instead of frames ([`Hub::events`]), through the same kind of bounded queue; what
//! they want decides what the session decodes ([`Hub::wanted_events`]).
//!
//! A room going live and a room whose stream ended are reported to the webhooks
//! ([`Hub::set_notes`], `webhook.rs`); a `--watch` room ([`Hub::watch`]) has no viewers
//! and is never closed for lack of them.
//!
//! With `--cluster` (`cluster.rs`) a room's frames may come from another node's upstream
//! through Redis: such a room is [`Room::set_relayed`], and its `live.start`/`live.end`
//! are left to the node holding the upstream, so each is sent once cluster-wide.
//!
//! Lock order: the hub's room map, then a room's state. Nothing awaits under a lock.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::event_text::EventText;
use bytes::Bytes;
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::json::{self, Format, RoomWants};
use super::metrics::{add, sub, Metrics};
use super::webhook::{self, Notes, Totals};
use super::Settings;

/// Close code for a viewer whose queue overflowed (ours; documented in docs/relay.md). 4008 echoes RFC 6455's 1008 "policy violation".
pub(crate) const CLOSE_SLOW: u16 = 4008;

/// Close code for a room whose upstream delivered nothing for the idle window (the
/// hosted relays' "no messages received" close).
pub(crate) const CLOSE_UPSTREAM_IDLE: u16 = 4006;

/// What a viewer's socket task is asked to write.
#[derive(Debug)]
pub(crate) enum Out {
    Info(String),
    Frame(Bytes),
    /// JSON mode: the events of one upstream frame (or timer) this viewer wants, each
    /// text shared with every other viewer that wants it.
    Events(Vec<Utf8Bytes>),
    Close(u16, String),
}

/// Lets the room cut a viewer off at once, even while its socket write is blocked.
#[derive(Default)]
pub(crate) struct ViewerCtl {
    cut: Notify,
    why: Mutex<Option<(u16, String)>>,
}

impl ViewerCtl {
    pub(crate) fn cut(&self, code: u16, reason: &str) {
        let mut why = self.why.lock().unwrap_or_else(|p| p.into_inner());
        if why.is_none() {
            *why = Some((code, reason.to_string()));
            self.cut.notify_one();
        }
    }

    /// The cut-off code, if the viewer was cut off.
    pub(crate) fn peek(&self) -> Option<(u16, String)> {
        self.why.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) async fn cut_off(&self) -> (u16, String) {
        self.cut.notified().await;
        self.why
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or((1011, "internal error".into()))
    }
}

struct Viewer {
    id: u64,
    tx: mpsc::Sender<Out>,
    ctl: Arc<ViewerCtl>,
    /// The cursor it asked to resume from, until the room is live.
    cursor: Option<String>,
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Live,
    Ended,
}

struct State {
    phase: Phase,
    info: serde_json::Map<String, serde_json::Value>,
    viewers: Vec<Viewer>,
    ring: VecDeque<(String, Bytes)>,
    grace_gen: u64,
    /// TikTok's viewer count, from the newest `roomUser` event.
    viewer_count: Option<u64>,
    /// When the upstream last delivered a frame (the room's opening before the first).
    last_frame: tokio::time::Instant,
    /// When the room went live (unix ms), and what its upstream told of the session.
    live_at_ms: i64,
    totals: Totals,
    /// Bumped whenever a JSON viewer joins or leaves (see [`Hub::wanted_events`]).
    json_gen: u64,
}

impl State {
    /// What the room's JSON viewers want, together.
    fn wants(&self) -> RoomWants {
        let mut w = RoomWants::default();
        for v in &self.viewers {
            w.add(&v.format);
        }
        w
    }

    /// Removes viewers for which `keep` is false; a JSON viewer's leaving changes what
    /// the room decodes.
    fn retain_viewers(&mut self, mut keep: impl FnMut(&Viewer) -> bool) {
        let mut json_left = false;
        self.viewers.retain(|v| {
            let k = keep(v);
            json_left |= !k && v.format != Format::Binary;
            k
        });
        if json_left {
            self.json_gen += 1;
        }
    }
}

pub(crate) struct Room {
    pub(crate) unique_id: String,
    state: Mutex<State>,
    stopped: AtomicBool,
    stop: Notify,
    /// Opened by `--watch`: kept without viewers.
    watched: AtomicBool,
    /// Cluster: the frames come from another node's upstream (see the module header).
    relayed: AtomicBool,
}

impl Room {
    fn new(unique_id: &str) -> Room {
        Room {
            unique_id: unique_id.to_string(),
            state: Mutex::new(State {
                phase: Phase::Connecting,
                info: serde_json::Map::new(),
                viewers: Vec::new(),
                ring: VecDeque::new(),
                grace_gen: 0,
                viewer_count: None,
                last_frame: tokio::time::Instant::now(),
                live_at_ms: 0,
                totals: Totals::default(),
                json_gen: 0,
            }),
            stopped: AtomicBool::new(false),
            stop: Notify::new(),
            watched: AtomicBool::new(false),
            relayed: AtomicBool::new(false),
        }
    }

    /// Cluster: whether another node holds this room's upstream (its webhooks are that
    /// node's).
    pub(crate) fn set_relayed(&self, relayed: bool) {
        self.relayed.store(relayed, Ordering::SeqCst);
    }

    fn relayed(&self) -> bool {
        self.relayed.load(Ordering::SeqCst)
    }

    /// Whether the room no longer wants its upstream (closed, ended).
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Whether the room has been described (greeted its viewers) already.
    pub(crate) fn is_live(&self) -> bool {
        self.lock().phase == Phase::Live
    }

    /// Counts the session's events into the totals `live.end` reports.
    pub(crate) fn observe(&self, events: &[EventText]) {
        self.lock().totals.observe(events);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resolves once the room no longer wants its upstream.
    pub(crate) async fn stopped(&self) {
        if !self.stopped.load(Ordering::SeqCst) {
            self.stop.notified().await;
        }
    }

    /// The newest room description (`None` before the upstream described it).
    pub(crate) fn info(&self) -> Option<serde_json::Value> {
        let s = self.lock();
        if s.info.is_empty() {
            return None;
        }
        let mut info = s.info.clone();
        if let Some(n) = s.viewer_count {
            info.insert("viewerCount".into(), n.into());
        }
        Some(info.into())
    }

    pub(crate) fn set_viewer_count(&self, n: u64) {
        self.lock().viewer_count = Some(n);
    }
}

/// A viewer's handle on the room it joined.
pub(crate) struct Joined {
    pub(crate) room: Arc<Room>,
    pub(crate) id: u64,
    pub(crate) rx: mpsc::Receiver<Out>,
    pub(crate) ctl: Arc<ViewerCtl>,
}

pub(crate) struct Hub {
    pub(crate) settings: Arc<Settings>,
    pub(crate) metrics: Arc<Metrics>,
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    next_viewer: AtomicU64,
    /// Spawns the upstream task of a new room.
    spawn_upstream: Box<dyn Fn(Arc<Hub>, Arc<Room>) + Send + Sync>,
    /// Where live and ended rooms are reported (webhooks), when configured.
    notes: OnceLock<Notes>,
}

impl Hub {
    pub(crate) fn new(
        settings: Arc<Settings>,
        metrics: Arc<Metrics>,
        spawn_upstream: Box<dyn Fn(Arc<Hub>, Arc<Room>) + Send + Sync>,
    ) -> Arc<Hub> {
        Arc::new(Hub {
            settings,
            metrics,
            rooms: Mutex::new(HashMap::new()),
            next_viewer: AtomicU64::new(1),
            spawn_upstream,
            notes: OnceLock::new(),
        })
    }

    /// Reports rooms going live and ending to `notes` from now on.
    pub(crate) fn set_notes(&self, notes: Notes) {
        let _ = self.notes.set(notes);
    }

    /// Opens the room of `unique_id` for `--watch` (its upstream runs without viewers and
    /// is not closed for lack of them), or marks the open one so.
    pub(crate) fn watch(self: &Arc<Self>, unique_id: &str) -> Result<(), (u16, &'static str)> {
        let mut rooms = self.rooms();
        if let Some(room) = rooms.get(unique_id) {
            room.watched.store(true, Ordering::SeqCst);
            return Ok(());
        }
        if rooms.len() >= self.settings.limits.max_rooms {
            return Err((4429, "too many rooms on this relay"));
        }
        let room = Arc::new(Room::new(unique_id));
        room.watched.store(true, Ordering::SeqCst);
        rooms.insert(unique_id.to_string(), Arc::clone(&room));
        add(&self.metrics.rooms, 1);
        drop(rooms);
        eprintln!("relay: room {unique_id}: watching it (--watch)");
        (self.spawn_upstream)(Arc::clone(self), Arc::clone(&room));
        self.watch_idle(&room);
        Ok(())
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<String, Arc<Room>>> {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn room(&self, unique_id: &str) -> Option<Arc<Room>> {
        self.rooms().get(unique_id).cloned()
    }

    pub(crate) fn room_count(&self) -> usize {
        self.rooms().len()
    }

    /// Adds a viewer to the room of `unique_id`, opening the room (and its upstream) if
    /// it is the first. `Err` is the close code and reason to refuse with.
    pub(crate) fn join(
        self: &Arc<Self>,
        unique_id: &str,
        cursor: Option<String>,
        format: Format,
    ) -> Result<Joined, (u16, &'static str)> {
        let limits = &self.settings.limits;
        let (tx, rx) = mpsc::channel(limits.client_queue + limits.resume_frames + 2);
        let ctl = Arc::new(ViewerCtl::default());
        let id = self.next_viewer.fetch_add(1, Ordering::Relaxed);
        let mut rooms = self.rooms();
        let (room, created) = match rooms.get(unique_id) {
            Some(r) => (Arc::clone(r), false),
            None => {
                if rooms.len() >= limits.max_rooms {
                    return Err((4429, "too many rooms on this relay"));
                }
                let room = Arc::new(Room::new(unique_id));
                rooms.insert(unique_id.to_string(), Arc::clone(&room));
                add(&self.metrics.rooms, 1);
                (room, true)
            }
        };
        {
            let mut s = room.lock();
            s.grace_gen += 1;
            // JSON viewers get live events only: a frame ring replay means nothing to them.
            let cursor = cursor.filter(|_| format == Format::Binary);
            if format != Format::Binary {
                s.json_gen += 1;
            }
            let mut viewer = Viewer {
                id,
                tx,
                ctl: Arc::clone(&ctl),
                cursor,
                format,
            };
            if s.phase == Phase::Live {
                greet(
                    &s.info,
                    &s.ring,
                    &mut viewer,
                    &room.unique_id,
                    &self.metrics,
                );
            }
            s.viewers.push(viewer);
        }
        drop(rooms);
        if created {
            (self.spawn_upstream)(Arc::clone(self), Arc::clone(&room));
            self.watch_idle(&room);
        }
        Ok(Joined { room, id, rx, ctl })
    }

    /// A viewer left (its socket closed or was cut off).
    pub(crate) fn leave(self: &Arc<Self>, room: &Arc<Room>, id: u64) {
        let empty = {
            let mut s = room.lock();
            let before = s.viewers.len();
            s.retain_viewers(|v| v.id != id);
            before != s.viewers.len() && s.viewers.is_empty() && s.phase != Phase::Ended
        };
        if empty {
            self.schedule_grace(room);
        }
    }

    /// Closes the room a grace period after its last viewer left, unless one came back.
    fn schedule_grace(self: &Arc<Self>, room: &Arc<Room>) {
        let gen = {
            let mut s = room.lock();
            s.grace_gen += 1;
            s.grace_gen
        };
        let hub = Arc::clone(self);
        let room = Arc::clone(room);
        let grace = self.settings.limits.grace;
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let mut rooms = hub.rooms();
            let mut s = room.lock();
            if s.grace_gen != gen
                || !s.viewers.is_empty()
                || s.phase == Phase::Ended
                || room.watched.load(Ordering::SeqCst)
            {
                return;
            }
            if rooms
                .get(&room.unique_id)
                .is_some_and(|r| Arc::ptr_eq(r, &room))
            {
                rooms.remove(&room.unique_id);
            }
            s.phase = Phase::Ended;
            sub(&hub.metrics.rooms, 1);
            drop(s);
            drop(rooms);
            eprintln!(
                "relay: room {}: no viewer for {} ms, closing its upstream",
                room.unique_id,
                grace.as_millis()
            );
            room.stopped.store(true, Ordering::SeqCst);
            room.stop.notify_one();
        });
    }

    /// Ends the room with 4006 once its upstream has delivered no frame for
    /// `--upstream-idle-close` (the session's liveness reconnects a silent upstream long
    /// before; this tells viewers when even that brings nothing). Frames only: a `roomInfo`
    /// comes with every reconnect, so it does not show that the stream is alive.
    fn watch_idle(self: &Arc<Self>, room: &Arc<Room>) {
        let window = self.settings.upstream_idle_close;
        if window.is_zero() {
            return;
        }
        let hub = Arc::clone(self);
        let room = Arc::clone(room);
        tokio::spawn(async move {
            loop {
                let due = {
                    let s = room.lock();
                    if s.phase == Phase::Ended {
                        return;
                    }
                    s.last_frame + window
                };
                tokio::time::sleep_until(due).await;
                let idle = {
                    let s = room.lock();
                    s.phase != Phase::Ended && s.last_frame.elapsed() >= window
                };
                if idle {
                    let reason = format!("no upstream data for {} s", window.as_secs());
                    hub.end_room(&room, CLOSE_UPSTREAM_IDLE, &reason);
                    return;
                }
            }
        });
    }

    /// The upstream described the room (first `roomInfo`, or a refresh): viewers waiting
    /// for it are greeted; later descriptions only update what `/api/rooms` serves.
    pub(crate) fn set_info(&self, room: &Room, info: serde_json::Map<String, serde_json::Value>) {
        let mut s = room.lock();
        if s.phase == Phase::Ended {
            return;
        }
        s.info = info;
        if s.phase == Phase::Connecting {
            s.phase = Phase::Live;
            s.live_at_ms = crate::clock::now_ms();
            if let Some(notes) = self.notes.get().filter(|_| !room.relayed()) {
                notes.live(&room.unique_id, &s.info);
            }
            let state = &mut *s;
            for v in state.viewers.iter_mut() {
                greet(&state.info, &state.ring, v, &room.unique_id, &self.metrics);
            }
        }
    }

    /// Cluster: fills a room that is not live yet with recent frames (oldest first) read
    /// back from its stream, so a viewer resuming from a cursor another node gave it gets
    /// the frames after it, as from this node's own ring. Nothing is sent to viewers.
    pub(crate) fn prime(&self, room: &Room, frames: Vec<(String, Bytes)>) {
        let cap = self.settings.limits.resume_frames;
        let mut s = room.lock();
        if s.phase != Phase::Connecting || cap == 0 {
            return;
        }
        for (cursor, bytes) in frames.into_iter().filter(|(c, _)| !c.is_empty()) {
            s.ring.push_back((cursor, bytes));
        }
        while s.ring.len() > cap {
            s.ring.pop_front();
        }
    }

    /// Fans one upstream frame out to every viewer; `cursor` is the stream position after
    /// it (empty when unknown), kept for resuming viewers.
    pub(crate) fn frame(self: &Arc<Self>, room: &Arc<Room>, bytes: Bytes, cursor: &str) {
        add(&self.metrics.frames_in, 1);
        add(&self.metrics.bytes_in, bytes.len() as u64);
        let became_empty = {
            let mut s = room.lock();
            if s.phase == Phase::Ended {
                return;
            }
            s.last_frame = tokio::time::Instant::now();
            if s.phase == Phase::Connecting {
                // An upstream that sends frames without describing the room first.
                drop(s);
                let mut info = serde_json::Map::new();
                info.insert("type".into(), "roomInfo".into());
                self.set_info(room, info);
                s = room.lock();
            }
            let cap = self.settings.limits.resume_frames;
            if cap > 0 && !cursor.is_empty() {
                s.ring.push_back((cursor.to_string(), bytes.clone()));
                while s.ring.len() > cap {
                    s.ring.pop_front();
                }
            }
            let before = s.viewers.len();
            let metrics = &self.metrics;
            s.retain_viewers(|v| {
                if v.format != Format::Binary {
                    return true;
                }
                match v.tx.try_send(Out::Frame(bytes.clone())) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        add(&metrics.slow_viewer_drops, 1);
                        v.ctl.cut(CLOSE_SLOW, "slow consumer");
                        false
                    }
                    // The socket task is gone; `leave` will find nothing to remove.
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                }
            });
            before > 0 && s.viewers.is_empty()
        };
        if became_empty {
            self.schedule_grace(room);
        }
    }

    /// What the room's session should decode, when that changed since `seen` (the room's
    /// JSON generation the caller last applied, updated here): `Some(None)` decodes every
    /// message, `Some(Some(names))` only what produces those events. See `json.rs`.
    pub(crate) fn wanted_events(
        &self,
        room: &Room,
        seen: &mut Option<u64>,
    ) -> Option<Option<Vec<String>>> {
        let s = room.lock();
        if *seen == Some(s.json_gen) {
            return None;
        }
        *seen = Some(s.json_gen);
        // Webhooks report session totals, counted from these events.
        let extra: &[&str] = if self.notes.get().is_some() {
            webhook::TOTALS_NEED
        } else {
            &[]
        };
        Some(s.wants().session_filter(extra))
    }

    /// JSON mode: fans events of the room's session out to the JSON viewers that want
    /// them. Each event is serialized once, outside the room's lock, and the same text is
    /// queued to every viewer that wants it; a full queue cuts the viewer off with 4008,
    /// as for frames.
    pub(crate) fn events(self: &Arc<Self>, room: &Arc<Room>, events: &[EventText]) {
        let wants = {
            let s = room.lock();
            if s.phase != Phase::Live {
                return;
            }
            s.wants()
        };
        if wants.is_empty() {
            return;
        }
        let encoded: Vec<(&'static str, Utf8Bytes)> = events
            .iter()
            .filter(|e| wants.wants(e.name))
            .map(|e| (e.name, e.message.clone()))
            .collect();
        if encoded.is_empty() {
            return;
        }
        let became_empty = {
            let mut s = room.lock();
            if s.phase != Phase::Live {
                return;
            }
            let before = s.viewers.len();
            let metrics = &self.metrics;
            s.retain_viewers(|v| {
                let batch: Vec<Utf8Bytes> = encoded
                    .iter()
                    .filter(|(name, _)| json::viewer_wants(&v.format, name))
                    .map(|(_, text)| text.clone())
                    .collect();
                if batch.is_empty() {
                    return true;
                }
                match v.tx.try_send(Out::Events(batch)) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        add(&metrics.slow_viewer_drops, 1);
                        v.ctl.cut(CLOSE_SLOW, "slow consumer");
                        false
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                }
            });
            before > 0 && s.viewers.is_empty()
        };
        if became_empty {
            self.schedule_grace(room);
        }
    }

    /// The upstream is over: every viewer gets `code` after the frames already queued.
    pub(crate) fn end_room(&self, room: &Arc<Room>, code: u16, reason: &str) {
        let mut rooms = self.rooms();
        if rooms
            .get(&room.unique_id)
            .is_some_and(|r| Arc::ptr_eq(r, room))
        {
            rooms.remove(&room.unique_id);
        }
        let mut s = room.lock();
        drop(rooms);
        if s.phase == Phase::Ended {
            return;
        }
        if s.phase == Phase::Live && webhook::ends_the_stream(code) {
            if let Some(notes) = self.notes.get().filter(|_| !room.relayed()) {
                let totals = std::mem::take(&mut s.totals);
                notes.ended(&room.unique_id, &s.info, s.live_at_ms, code, totals);
            }
        }
        s.phase = Phase::Ended;
        sub(&self.metrics.rooms, 1);
        eprintln!(
            "relay: room {}: upstream ended, closing {} viewer(s) with {code} \"{reason}\"",
            room.unique_id,
            s.viewers.len()
        );
        for v in s.viewers.drain(..) {
            if v.tx.try_send(Out::Close(code, reason.to_string())).is_err() {
                v.ctl.cut(code, reason);
            }
        }
        drop(s);
        room.stopped.store(true, Ordering::SeqCst);
        room.stop.notify_one();
    }

    /// Ends every room (shutdown).
    pub(crate) fn end_all(&self, code: u16, reason: &str) {
        let rooms: Vec<Arc<Room>> = self.rooms().values().cloned().collect();
        for r in rooms {
            self.end_room(&r, code, reason);
        }
    }
}

/// Sends a viewer joining a live room its `roomInfo`, then the frames after its cursor.
fn greet(
    info: &serde_json::Map<String, serde_json::Value>,
    ring: &VecDeque<(String, Bytes)>,
    v: &mut Viewer,
    unique_id: &str,
    metrics: &Metrics,
) {
    let cursor = v.cursor.take().filter(|c| !c.is_empty());
    let (resume, replay): (&str, Vec<Bytes>) = match cursor {
        None => ("none", Vec::new()),
        Some(c) => match ring.iter().rposition(|(rc, _)| *rc == c) {
            Some(i) => {
                add(&metrics.resumes_exact, 1);
                (
                    "exact",
                    ring.iter().skip(i + 1).map(|(_, b)| b.clone()).collect(),
                )
            }
            None => {
                add(&metrics.resumes_missed, 1);
                ("missed", Vec::new())
            }
        },
    };
    let mut msg = info.clone();
    msg.insert("type".into(), "roomInfo".into());
    msg.insert("uniqueId".into(), unique_id.into());
    let mut relay = serde_json::json!({
        "name": "tikcast",
        "version": env!("CARGO_PKG_VERSION"),
        "resume": resume,
        "replayed": replay.len(),
    });
    if v.format != Format::Binary {
        relay["format"] = "json".into();
    }
    msg.insert("relay".into(), relay);
    // The queue has room for the whole ring plus the greeting (see `join`).
    let _ =
        v.tx.try_send(Out::Info(serde_json::Value::Object(msg).to_string()));
    for b in replay {
        let _ = v.tx.try_send(Out::Frame(b));
    }
}
