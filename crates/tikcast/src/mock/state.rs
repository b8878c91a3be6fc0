//! State shared by every connection of one mock run: the configuration, the message
//! list, which messages went out at least once (the fault triggers count those), and
//! the counters behind `GET /stats`.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use super::source::Prepared;
use super::GzipMode;

/// The validated `tikcast mock` settings.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) room_id: u64,
    pub(crate) unique_id: String,
    /// Seconds between message frames per message (0 = no pacing).
    pub(crate) seconds_per_message: f64,
    pub(crate) batch: usize,
    pub(crate) gzip: GzipMode,
    pub(crate) drop_after: Option<u64>,
    pub(crate) duplicate_rate: f64,
    pub(crate) stall_after: Option<u64>,
    pub(crate) close_code: Option<u16>,
    pub(crate) seed: u64,
    pub(crate) jwt_secret: Option<Vec<u8>>,
    pub(crate) hb_timeout: Duration,
    pub(crate) ack_timeout: Duration,
    /// Wall-clock start of the run, ms since the epoch (the relay's `startedAt`).
    pub(crate) started_ms: i64,
    /// Handles that exist but are not live (`--offline`), normalised.
    pub(crate) offline: Vec<String>,
    /// Handles that name no user (`--missing`), normalised.
    pub(crate) missing: Vec<String>,
}

/// What happens to a connection right after a message frame was written and flushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterFrame {
    Continue,
    /// `--drop-after`: close the TCP connection without a close frame.
    Drop,
    /// `--stall-after`: go silent, keep the socket open.
    Stall,
}

#[derive(Default)]
struct Counters {
    messages_sent: u64,
    duplicates_sent: u64,
    frames_sent: u64,
    connections: u64,
    reconnects_served: u64,
    drops: u64,
    stalls: u64,
    closes: BTreeMap<u16, u64>,
    heartbeats: u64,
    acks: u64,
    user_lookups: u64,
    gift_lists: u64,
}

struct Progress {
    /// `sent[i]`: message `i` went out at least once (on any connection).
    sent: Vec<bool>,
    unique: u64,
    unique_ids: HashSet<u64>,
    stalled_once: bool,
    counters: Counters,
}

pub(crate) struct Shared {
    pub(crate) cfg: Config,
    pub(crate) messages: Vec<Prepared>,
    next_log_id: AtomicU64,
    next_conn_id: AtomicU64,
    progress: Mutex<Progress>,
    active: AtomicUsize,
    /// Signalled whenever a WebSocket connection ends (for `--exit-when-done`).
    pub(crate) connection_ended: Notify,
}

/// First `log_id` of a run; every frame the server sends gets the next one.
const FIRST_LOG_ID: u64 = 7_301_000_000_000_000_001;

impl Shared {
    pub(crate) fn new(cfg: Config, messages: Vec<Prepared>) -> Self {
        let n = messages.len();
        Shared {
            cfg,
            messages,
            next_log_id: AtomicU64::new(FIRST_LOG_ID),
            next_conn_id: AtomicU64::new(1),
            progress: Mutex::new(Progress {
                sent: vec![false; n],
                unique: 0,
                unique_ids: HashSet::new(),
                stalled_once: false,
                counters: Counters::default(),
            }),
            active: AtomicUsize::new(0),
            connection_ended: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Progress> {
        // A poisoned lock only means another task panicked mid-update; the counters are
        // still usable, and the mock must keep serving.
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn next_log_id(&self) -> u64 {
        self.next_log_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers a new WebSocket connection; the guard unregisters it when dropped.
    pub(crate) fn connection(self: &std::sync::Arc<Self>) -> (u64, ActiveGuard) {
        let id = self.next_conn_id.fetch_add(1, Ordering::Relaxed);
        self.active.fetch_add(1, Ordering::SeqCst);
        self.lock().counters.connections += 1;
        (
            id,
            ActiveGuard {
                shared: std::sync::Arc::clone(self),
            },
        )
    }

    pub(crate) fn count_resume(&self) {
        self.lock().counters.reconnects_served += 1;
    }

    pub(crate) fn count_close(&self, code: u16) {
        *self.lock().counters.closes.entry(code).or_default() += 1;
    }

    pub(crate) fn count_drop(&self) {
        self.lock().counters.drops += 1;
    }

    pub(crate) fn count_heartbeat(&self) {
        self.lock().counters.heartbeats += 1;
    }

    pub(crate) fn count_ack(&self) {
        self.lock().counters.acks += 1;
    }

    pub(crate) fn count_user_lookup(&self) {
        self.lock().counters.user_lookups += 1;
    }

    pub(crate) fn count_gift_list(&self) {
        self.lock().counters.gift_lists += 1;
    }

    /// Records a message frame that was written and flushed, carrying message indexes
    /// `fresh` (first time on this connection) and `dups` (`--duplicate-rate` resends),
    /// and decides the faults. Unique counts are global, so a resumed connection that
    /// resends old messages does not move the fault triggers.
    pub(crate) fn commit_frame(&self, fresh: &[usize], dups: usize) -> AfterFrame {
        let n = self.messages.len() as u64;
        let mut guard = self.lock();
        // Through a plain reference, so the fields can be borrowed separately.
        let p = &mut *guard;
        let before = p.unique;
        for &i in fresh {
            if let Some(flag) = p.sent.get_mut(i) {
                if !*flag {
                    *flag = true;
                    p.unique += 1;
                    let id = self.messages[i].msg_id;
                    p.unique_ids.insert(id);
                }
            }
        }
        let after = p.unique;
        let c = &mut p.counters;
        c.frames_sent += 1;
        c.messages_sent += (fresh.len() + dups) as u64;
        c.duplicates_sent += dups as u64;
        if let Some(m) = self.cfg.drop_after {
            if after / m > before / m && after < n {
                return AfterFrame::Drop;
            }
        }
        if let Some(m) = self.cfg.stall_after {
            if !p.stalled_once && before < m && after >= m {
                p.stalled_once = true;
                p.counters.stalls += 1;
                return AfterFrame::Stall;
            }
        }
        AfterFrame::Continue
    }

    /// Every message went out at least once.
    pub(crate) fn all_sent(&self) -> bool {
        self.lock().unique == self.messages.len() as u64
    }

    pub(crate) fn active_connections(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    pub(crate) fn connections_served(&self) -> u64 {
        self.lock().counters.connections
    }

    /// The object served by `GET /stats` and printed as the final `{"stats":…}` line:
    /// `messages` (list length), `messagesSent` (every envelope sent, resends after a
    /// resume and duplicates included), `uniqueMessagesSent` / `uniqueMsgIds` (distinct
    /// messages / msg ids sent), `duplicatesSent`, `framesSent` (message frames),
    /// `connections` (WebSocket upgrades), `reconnectsServed` (connections that started
    /// from a non-zero cursor), `drops`, `stalls`, `closes` (close frames we sent, by
    /// code), `heartbeats` and `acks` (valid ones received), `userLookups` and `giftLists`
    /// (plain-HTTP requests of `/api-live/user/room/` and `/webcast/gift/list/`).
    pub(crate) fn stats_json(&self) -> serde_json::Value {
        let p = self.lock();
        let c = &p.counters;
        let closes: serde_json::Map<String, serde_json::Value> = c
            .closes
            .iter()
            .map(|(code, n)| (code.to_string(), (*n).into()))
            .collect();
        serde_json::json!({
            "messages": self.messages.len(),
            "messagesSent": c.messages_sent,
            "uniqueMessagesSent": p.unique,
            "uniqueMsgIds": p.unique_ids.len(),
            "duplicatesSent": c.duplicates_sent,
            "framesSent": c.frames_sent,
            "connections": c.connections,
            "reconnectsServed": c.reconnects_served,
            "drops": c.drops,
            "stalls": c.stalls,
            "closes": closes,
            "heartbeats": c.heartbeats,
            "acks": c.acks,
            "userLookups": c.user_lookups,
            "giftLists": c.gift_lists,
        })
    }
}

/// Keeps a connection counted as active; dropping it wakes the `--exit-when-done` check.
pub(crate) struct ActiveGuard {
    shared: std::sync::Arc<Shared>,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.shared.active.fetch_sub(1, Ordering::SeqCst);
        self.shared.connection_ended.notify_one();
    }
}

/// splitmix64's output function: a well-mixed 64-bit hash of `x`.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Streams of the seeded generator, so decisions of one kind never shift another's.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Duplicate = 1,
    Gzip = 2,
}

/// A deterministic draw for (`seed`, `stream`, `n`): the same inputs always give the
/// same value, whatever order connections ask in.
pub(crate) fn draw(seed: u64, stream: Stream, n: u64) -> u64 {
    splitmix64(splitmix64(seed ^ ((stream as u64) << 56)) ^ n)
}

/// [`draw`] as a uniform float in `[0, 1)`.
pub(crate) fn draw_unit(seed: u64, stream: Stream, n: u64) -> f64 {
    (draw(seed, stream, n) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_deterministic_and_spread() {
        assert_eq!(draw(1, Stream::Duplicate, 5), draw(1, Stream::Duplicate, 5));
        assert_ne!(draw(1, Stream::Duplicate, 5), draw(2, Stream::Duplicate, 5));
        assert_ne!(draw(1, Stream::Duplicate, 5), draw(1, Stream::Gzip, 5));
        let hits = (0..10_000)
            .filter(|&n| draw_unit(7, Stream::Duplicate, n) < 0.25)
            .count();
        assert!((2_200..2_800).contains(&hits), "{hits}");
    }
}
