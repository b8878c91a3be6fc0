//! Upstreams: where a room's frames come from.
//!
//! * `mock:URL` — a relay-style socket (`tikcast mock`'s `/ws`, or any relay that sends a
//!   `roomInfo` text and raw push frames); resumed with `cursor` after a drop.
//! * `tiktok` — TikTok's push socket, driven by the core [`Session`] in direct mode
//!   (enter-room, heartbeats, acks, liveness, reconnects). Every attempt first asks a
//!   sign service for a fresh signed socket URL and cookies (`sign.rs`).
//! * `replay:FILE` — a recording, in real time or faster, optionally looped.
//!
//! The first two run on the native session driver (`crate::driver`), which `tikcast
//! record` and `tikcast watch` use too. A recording is played through a session too
//! ([`replay`]). Each room feeds a [`RoomSink`]: the hub (its viewers) and its
//! [`Recorder`]. Frames are forwarded exactly as received: the session decodes only
//! what the room needs (the cursor, control messages, the viewer count, and the events
//! its JSON viewers asked for, see `json.rs`).
//!
//! With `--cluster` the node holding a room's lease runs its upstream through [`run`]
//! with a [`Lead`]: every frame is also handed to the cluster's stream (`cluster.rs`), the
//! first dial resumes from the stream's last cursor, and losing the lease stops it.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tikcast_core::session::{GiveUp, GiveUpKind, Mode, SessionConfig};
use tikcast_core::{ConnId, Session};

use super::hub::{Hub, Room};
use super::metrics::add;
use super::UpstreamKind;
use crate::driver::{
    drive, session_config, take_outputs, Credential, Dialer, Ended, Info, Sink, Taken,
};
use crate::event_text::{EventText, Figures};
use crate::recording::{self, Kind};

/// A relay room's session: [`session_config`] with the SDK's event rules (`giftRaw`
/// too), since JSON viewers get its events as the SDK's listeners would.
fn room_session_config(mode: Mode, room_id: u64, liveness_ms: u64) -> SessionConfig {
    SessionConfig {
        gift_raw: SessionConfig::default().gift_raw,
        ..session_config(mode, room_id, liveness_ms)
    }
}

/// The close code viewers get when the upstream session gives up.
pub(crate) fn close_for(g: &GiveUp) -> (u16, String) {
    match g.kind {
        GiveUpKind::NotLive => (4404, "not live".into()),
        GiveUpKind::StreamEnded => (4005, "stream end".into()),
        _ => (4500, format!("upstream failed: {}", g.code())),
    }
}

// ------------------------------------------------------------------------------ relay glue

/// What a room's upstream produced, handed to the cluster's stream (see [`Lead`]).
pub(crate) enum Tee<'a> {
    /// The room description, as received.
    Info(&'a str),
    /// A frame and the stream position after it.
    Frame(&'a Bytes, &'a str),
}

/// Cluster: receives every record of a lease holder's upstream; `true` for a frame this
/// node's viewers should get at once, `false` when the stream's writer hands it to them
/// once appended (so a viewer's cursor is always one the stream holds).
pub(crate) type TeeFn = Box<dyn FnMut(Tee<'_>) -> bool + Send>;

/// Cluster: how the lease holder runs a room's upstream.
pub(crate) struct Lead {
    /// Where the first dial resumes (empty: from now), the stream's last cursor.
    pub(crate) cursor: String,
    /// Receives every record (see [`TeeFn`]).
    pub(crate) tee: TeeFn,
    /// Resolves when the lease is lost: the upstream stops (another node holds it).
    pub(crate) lost: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
}

/// Feeds a room (and its recording, when recording).
struct RoomSink {
    hub: Arc<Hub>,
    room: Arc<Room>,
    recorder: Recorder,
    /// The room's JSON generation last applied to the session's filter.
    json_gen: Option<u64>,
    /// Cluster: the lease holder's stream.
    tee: Option<TeeFn>,
}

impl Sink for RoomSink {
    fn info(&mut self, info: Info, raw: &str) {
        self.recorder.append(&self.hub, Kind::Text, raw.as_bytes());
        self.hub.set_info(&self.room, info);
        if let Some(tee) = self.tee.as_mut() {
            tee(Tee::Info(raw));
        }
    }

    fn frame(&mut self, bytes: Bytes, cursor: &str) {
        self.recorder.append(&self.hub, Kind::Frame, &bytes);
        let here = match self.tee.as_mut() {
            Some(tee) => tee(Tee::Frame(&bytes, cursor)),
            None => true,
        };
        if here {
            self.hub.frame(&self.room, bytes, cursor);
        }
    }

    fn events(&mut self, events: &[EventText]) {
        for e in events {
            if let Figures::RoomUser { viewers, .. } = e.figures {
                self.room.set_viewer_count(viewers.max(0) as u64);
            }
        }
        // The session totals a `live.end` webhook reports.
        self.room.observe(events);
        self.hub.events(&self.room, events);
    }

    fn wanted_events(&mut self) -> Option<Option<Vec<String>>> {
        self.hub.wanted_events(&self.room, &mut self.json_gen)
    }
}

/// Writes a room's recording, created at the first record; a write error stops
/// recording that room (logged once), never the relay.
pub(crate) struct Recorder {
    dir: Option<PathBuf>,
    unique_id: String,
    writer: Option<recording::Writer>,
    upstream: &'static str,
}

static RECORDING_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Recorder {
    pub(crate) fn new(dir: Option<PathBuf>, unique_id: &str, upstream: &'static str) -> Self {
        Recorder {
            dir,
            unique_id: unique_id.to_string(),
            writer: None,
            upstream,
        }
    }

    fn append(&mut self, hub: &Hub, kind: Kind, body: &[u8]) {
        let Some(dir) = &self.dir else { return };
        if self.writer.is_none() {
            let started = crate::clock::now_ms();
            let n = RECORDING_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = dir.join(recording::file_name(&self.unique_id, started, n));
            let meta = serde_json::json!({
                "uniqueId": self.unique_id,
                "startedAtMs": started,
                "upstream": self.upstream,
                "recorder": format!("tikcast {}", env!("CARGO_PKG_VERSION")),
            });
            match recording::Writer::create(&path, &meta) {
                Ok(w) => {
                    eprintln!(
                        "relay: room {}: recording to {}",
                        self.unique_id,
                        path.display()
                    );
                    add(&hub.metrics.recorded_bytes, w.bytes());
                    self.writer = Some(w);
                }
                Err(e) => {
                    eprintln!("relay: room {}: {e}; not recording it", self.unique_id);
                    self.dir = None;
                    return;
                }
            }
        }
        if let Some(w) = self.writer.as_mut() {
            let before = w.bytes();
            if let Err(e) = w.append(kind, body) {
                eprintln!("relay: room {}: {e}; recording stopped", self.unique_id);
                self.writer = None;
                self.dir = None;
                return;
            }
            add(&hub.metrics.recorded_bytes, w.bytes() - before);
        }
    }

    fn finish(&mut self) {
        if let Some(w) = self.writer.take() {
            let path = w.path().display().to_string();
            match w.finish() {
                Ok(bytes) => eprintln!(
                    "relay: room {}: recording {path} closed ({bytes} bytes)",
                    self.unique_id
                ),
                Err(e) => eprintln!("relay: room {}: {e}", self.unique_id),
            }
        }
    }
}

/// How a room's upstream begins: a session to drive over sockets, or already over.
enum Start {
    Drive(Dialer, Box<Session>),
    Done(Option<(u16, String)>),
}

/// Starts the upstream of a new room.
pub(crate) fn spawn(hub: Arc<Hub>, room: Arc<Room>) {
    tokio::spawn(async move {
        if let Some((code, reason)) = run(&hub, &room, None).await {
            hub.end_room(&room, code, &reason);
        }
    });
}

/// Runs a room's upstream until the room stops (`None`), the lease of `lead` is lost
/// (`None`), or the upstream is over (`Some(close)` for its viewers).
pub(crate) async fn run(
    hub: &Arc<Hub>,
    room: &Arc<Room>,
    lead: Option<Lead>,
) -> Option<(u16, String)> {
    // One block: the body is the former `spawn` task's, unchanged.
    {
        let (cursor, tee, lost) = match lead {
            Some(l) => (l.cursor, Some(l.tee), Some(l.lost)),
            None => (String::new(), None, None),
        };
        let stop = {
            let room = Arc::clone(room);
            async move {
                match lost {
                    Some(lost) => tokio::select! {
                        _ = room.stopped() => {}
                        _ = lost => {}
                    },
                    None => room.stopped().await,
                }
            }
        };
        tokio::pin!(stop);
        let hub = Arc::clone(hub);
        let room = Arc::clone(room);
        let settings = Arc::clone(&hub.settings);
        let kind = match &settings.upstream {
            UpstreamKind::Relay { .. } => "mock",
            UpstreamKind::Tiktok { .. } => "tiktok",
            UpstreamKind::Replay { .. } => "replay",
        };
        let mut sink = RoomSink {
            hub: Arc::clone(&hub),
            room: Arc::clone(&room),
            recorder: Recorder::new(settings.record_dir.clone(), &room.unique_id, kind),
            json_gen: None,
            tee,
        };
        let label = format!("room {}", room.unique_id);
        let metrics = Arc::clone(&hub.metrics);
        let on_connect = move || add(&metrics.upstream_connects, 1);
        // Either a session to drive (one call below for every socket upstream) or an end.
        let start = match &settings.upstream {
            UpstreamKind::Relay { url, jwt_secret } => {
                // A lease holder taking a room over resumes from the stream's cursor; the
                // session's own cursor replaces it from its first frame on.
                let url = if cursor.is_empty() {
                    url.clone()
                } else {
                    crate::driver::with_query(url, &[("cursor", cursor.clone())])
                };
                let dialer = Dialer::Url {
                    url,
                    unique_id: Some(room.unique_id.clone()),
                    credential: match jwt_secret {
                        Some(secret) => Credential::Mint(secret.clone()),
                        None => Credential::None,
                    },
                    direct: false,
                    timeout: Duration::from_secs(10),
                };
                let session = Session::new(room_session_config(
                    Mode::Relay,
                    0,
                    settings.upstream_liveness_ms,
                ));
                eprintln!("relay: {label}: opening upstream (mock)");
                Start::Drive(dialer, Box::new(session))
            }
            UpstreamKind::Tiktok { signer } => {
                eprintln!(
                    "relay: {label}: asking the sign server for room {}",
                    room.unique_id
                );
                let first = tokio::select! {
                    r = signer.sign(&room.unique_id, None, &cursor) => Some(r),
                    _ = &mut stop => None,
                };
                match first {
                    None => Start::Done(None),
                    Some(Err((code, reason))) => {
                        eprintln!("relay: {label}: {reason}");
                        Start::Done(Some(if code == 4404 {
                            (4404, "not live".to_string())
                        } else {
                            (4500, "upstream failed: sign server".to_string())
                        }))
                    }
                    Some(Ok(signed)) => {
                        let room_id = signed.room_id;
                        let dialer = Dialer::Tiktok {
                            signer: signer.clone(),
                            unique_id: room.unique_id.clone(),
                            first: Some(signed),
                        };
                        let session = Session::new(room_session_config(
                            Mode::Direct,
                            room_id,
                            settings.upstream_liveness_ms,
                        ));
                        Start::Drive(dialer, Box::new(session))
                    }
                }
            }
            UpstreamKind::Replay {
                file,
                speed,
                looped,
            } => {
                add(&hub.metrics.upstream_connects, 1);
                Start::Done(replay(&mut sink, file, *speed, *looped, &mut stop).await)
            }
        };
        let ended = match start {
            Start::Drive(mut dialer, session) => {
                match drive(*session, &mut dialer, &mut sink, stop, &on_connect, &label).await {
                    Ended::GaveUp(g, _) => Some(close_for(&g)),
                    Ended::Stopped(_) => None,
                }
            }
            Start::Done(ended) => ended,
        };
        sink.recorder.finish();
        ended
    }
}

/// Plays a recording into `sink` at `speed`; `Some(close)` when it is over.
///
/// Frames go through a relay-mode [`Session`] (one per pass, so a loop delivers its
/// events again) whose clock is the recording's own (`t_ms`): de-duplication, gift
/// streaks and their timeouts act as they did live, and every speed gives the same
/// events. The session decodes only what the sink wants (see `json.rs`).
pub(crate) async fn replay(
    sink: &mut dyn Sink,
    file: &std::path::Path,
    speed: f64,
    looped: bool,
    stop: impl Future<Output = ()>,
) -> Option<(u16, String)> {
    let rec = match recording::read(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("relay: {e}");
            return Some((4500, "upstream failed: recording unreadable".into()));
        }
    };
    if rec.torn_bytes > 0 {
        eprintln!(
            "relay: {}: skipping a torn tail of {} bytes ({})",
            file.display(),
            rec.torn_bytes,
            rec.torn_reason.unwrap_or("")
        );
    }
    tokio::pin!(stop);
    let records = Arc::new(rec.records);
    // What the sink last asked the session to decode (`None`: everything); a new pass's
    // session starts with it.
    let mut wanted: Option<Vec<String>> = None;
    loop {
        let start = tokio::time::Instant::now();
        let due = |t_ms: u64| start + Duration::from_secs_f64(t_ms as f64 / 1000.0 / speed);
        let mut player = Some(Box::new(Player::new()));
        if let Some(p) = player.as_mut() {
            p.session.set_wanted_events(wanted.clone());
        }
        let mut last_t = 0;
        for i in 0..records.len() {
            let Some(r) = records.get(i) else { break };
            last_t = r.t_ms;
            // Session timers (gift streaks) that fall before this record fire first.
            loop {
                let timer = player
                    .as_ref()
                    .and_then(|p| p.session.poll_timeout())
                    .filter(|&t| t <= r.t_ms);
                tokio::select! {
                    _ = tokio::time::sleep_until(due(timer.unwrap_or(r.t_ms))) => {}
                    _ = &mut stop => return None,
                }
                let (Some(t), Some(p)) = (timer, player.as_mut()) else {
                    break;
                };
                p.session.handle_timeout(t);
                p.deliver(sink);
                if p.session.poll_timeout() == Some(t) {
                    break;
                }
            }
            match r.kind {
                Kind::Text => {
                    let text = String::from_utf8_lossy(&r.body);
                    let info = match serde_json::from_str::<serde_json::Value>(&text) {
                        Ok(serde_json::Value::Object(m)) => m,
                        _ => Info::new(),
                    };
                    sink.info(info, &text);
                }
                Kind::Frame => {
                    let Some(mut p) = player.take() else { break };
                    if let Some(w) = sink.wanted_events() {
                        wanted = w;
                        p.session.set_wanted_events(wanted.clone());
                    }
                    // Off the runtime's workers, like live frames (see `drive`).
                    let (recs, t) = (Arc::clone(&records), r.t_ms);
                    let decoded = tokio::task::spawn_blocking(move || {
                        let before = p.session.cursor().to_string();
                        if let Some(r) = recs.get(i) {
                            p.session.on_frame(t, p.conn, &r.body);
                        }
                        // Ring entries need this frame's own cursor (none: not resumable).
                        let cursor = p.session.cursor();
                        let cursor = if cursor == before {
                            String::new()
                        } else {
                            cursor.to_string()
                        };
                        let events = p.take_events();
                        (p, cursor, events)
                    })
                    .await;
                    let Ok((p, cursor, events)) = decoded else {
                        // Only a panic in the decoder gets here; the room ends.
                        return Some((4500, "upstream failed: decoder".into()));
                    };
                    player = Some(p);
                    sink.frame(Bytes::from(r.body.clone()), &cursor);
                    for events in &events {
                        sink.events(events);
                    }
                }
            }
        }
        // The recording is over: close what is still open (gift streaks).
        if let Some(p) = player.as_mut() {
            p.session.stop(last_t);
            p.deliver(sink);
        }
        if !looped || records.is_empty() {
            return Some((4005, "stream end".into()));
        }
    }
}

/// A relay-mode session fed a recording's frames (or, in a cluster, the frames another
/// node's upstream appended to the room's stream): its one socket is "open" from the start
/// and never times out (the silences are real).
pub(crate) struct Player {
    pub(crate) session: Session,
    pub(crate) conn: ConnId,
}

impl Player {
    pub(crate) fn new() -> Player {
        let mut session = Session::new(SessionConfig {
            mode: Mode::Relay,
            liveness_timeout_ms: u64::MAX,
            seed: crate::relay::random_seed(),
            ..Default::default()
        });
        let conn = session.start_open(0).unwrap_or(ConnId(1));
        let _ = session.poll_outputs();
        Player { session, conn }
    }

    /// Hands the session's events to `sink` (nothing else it says matters here).
    fn deliver(&mut self, sink: &mut dyn Sink) {
        for events in self.take_events() {
            sink.events(&events);
        }
    }

    /// The session's events, decoded (nothing else it says matters here). Called on the
    /// blocking thread that fed it the frame: decoding is the slow part.
    pub(crate) fn take_events(&mut self) -> Vec<Vec<EventText>> {
        take_outputs(&mut self.session)
            .into_iter()
            .filter_map(|t| match t {
                Taken::Events(events) => Some(events),
                Taken::Output(_) => None,
            })
            .collect()
    }
}
