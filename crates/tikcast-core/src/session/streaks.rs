//! Gift streaks: one final `gift` per streak, `giftStreak` updates while it runs.
//!
//! TikTok resends a streakable gift (type 1) with a growing `repeatCount` while the
//! viewer keeps tapping, and marks the last message `repeatEnd`. Overlays want one
//! "Ada sent 12 Roses" at the end, not twelve alerts; when the end never arrives (lost
//! message, dropped connection), the streak is closed after a timeout (or when the
//! session stops) with the last count seen, `timedOut: true` and `repeatEnd: true`: it is
//! a final gift, and code that tells a running streak by `!repeatEnd` must see it end.

use alloc::vec::Vec;

use super::batch::{GiftAs, Item, Payload};
use crate::decode::EnvelopeInfo;
use crate::shape::GiftFacts;
use crate::small::{sort_stable, VecMap};

/// A streak is one sender giving one gift in one group.
type StreakKey = (u64, u64, u64);

fn key(g: &GiftFacts) -> StreakKey {
    (g.user_id, g.gift_id, g.group_id)
}

/// A running streak: its last gift message (kept past its batch) and its deadline.
#[derive(Debug, Clone)]
struct Running {
    payload: Vec<u8>,
    env: EnvelopeInfo,
    deadline: u64,
}

/// Running streaks, bounded in number (hostile input cannot grow them without limit).
#[derive(Debug, Clone)]
pub(crate) struct GiftStreaks {
    timeout_ms: u64,
    running: VecMap<StreakKey, Running>,
    /// Streaks that already had their final gift (by end or timeout), until when late
    /// messages of theirs are still expected: those become `giftRaw` only, never a
    /// second final gift. Only streaks with a group id are remembered, since without
    /// one two streaks of the same gift by the same sender cannot be told apart.
    closed: VecMap<StreakKey, u64>,
}

/// Most streaks tracked at once; beyond it the oldest is closed as timed out.
pub(crate) const MAX_RUNNING: usize = 4096;
/// Most closed streaks remembered for late messages.
pub(crate) const MAX_CLOSED: usize = 4096;

impl GiftStreaks {
    pub(crate) fn new(timeout_ms: u64) -> Self {
        GiftStreaks {
            timeout_ms,
            running: VecMap::default(),
            closed: VecMap::default(),
        }
    }

    /// Takes one gift message; pushes the events it causes.
    /// `gift` is the message's facts, `payload` its bytes, `at` where its items find them
    /// (the batch, or a merged copy).
    pub(crate) fn on_gift(
        &mut self,
        now: u64,
        gift: GiftFacts,
        payload: &[u8],
        at: &Payload,
        env: EnvelopeInfo,
        out: &mut Vec<Item>,
    ) {
        let here = |as_| Item::Gift {
            as_,
            payload: at.clone(),
            env,
        };
        if gift.gift_type != 1 {
            out.push(here(GiftAs::Gift));
            return;
        }
        let k = key(&gift);
        if let Some(until) = self.closed.get_mut(&k) {
            if now < *until {
                // A late message of a streak that already had its final gift.
                *until = now.saturating_add(self.timeout_ms);
                return;
            }
            self.closed.remove(&k);
        }
        if gift.repeat_end {
            self.running.remove(&k);
            self.remember_closed(now, k);
            out.push(here(GiftAs::Gift));
            return;
        }
        if !self.running.contains_key(&k) && self.running.len() >= MAX_RUNNING {
            self.expire_oldest(now, out);
        }
        out.push(here(GiftAs::Streak));
        let deadline = now.saturating_add(self.timeout_ms);
        match self.running.get_mut(&k) {
            Some(r) => {
                r.payload.clear();
                r.payload.extend_from_slice(payload);
                r.env = env;
                r.deadline = deadline;
            }
            None => {
                self.running.insert(
                    k,
                    Running {
                        payload: payload.to_vec(),
                        env,
                        deadline,
                    },
                );
            }
        }
    }

    /// Closes the streaks whose end did not arrive in time, oldest deadline first.
    pub(crate) fn expire(&mut self, now: u64, out: &mut Vec<Item>) {
        let mut due: Vec<(u64, StreakKey)> = self
            .running
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(k, r)| (r.deadline, *k))
            .collect();
        sort_stable(&mut due, |a, b| a.cmp(b));
        for (_, k) in due {
            self.close_timed_out(now, k, out);
        }
    }

    /// Closes every running streak (the session is stopping).
    pub(crate) fn flush(&mut self, out: &mut Vec<Item>) {
        let mut all: Vec<(u64, StreakKey)> =
            self.running.iter().map(|(k, r)| (r.deadline, *k)).collect();
        sort_stable(&mut all, |a, b| a.cmp(b));
        for (_, k) in all {
            if let Some(r) = self.running.remove(&k) {
                out.push(timed_out(r));
            }
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.running.values().map(|r| r.deadline).min()
    }

    fn expire_oldest(&mut self, now: u64, out: &mut Vec<Item>) {
        let oldest = self
            .running
            .iter()
            .min_by_key(|(k, r)| (r.deadline, **k))
            .map(|(k, _)| *k);
        if let Some(k) = oldest {
            self.close_timed_out(now, k, out);
        }
    }

    fn close_timed_out(&mut self, now: u64, k: StreakKey, out: &mut Vec<Item>) {
        let Some(r) = self.running.remove(&k) else {
            return;
        };
        out.push(timed_out(r));
        self.remember_closed(now, k);
    }

    fn remember_closed(&mut self, now: u64, k: StreakKey) {
        if k.2 == 0 {
            return;
        }
        self.closed.retain(|_, until| *until > now);
        while self.closed.len() >= MAX_CLOSED {
            let first = self
                .closed
                .iter()
                .min_by_key(|(k, until)| (**until, **k))
                .map(|(k, _)| *k);
            match first {
                Some(f) => {
                    self.closed.remove(&f);
                }
                None => break,
            }
        }
        self.closed.insert(k, now.saturating_add(self.timeout_ms));
    }
}

/// The final `gift` of a streak closed without its end.
fn timed_out(r: Running) -> Item {
    Item::Gift {
        as_: GiftAs::TimedOut,
        payload: Payload::Owned(r.payload),
        env: r.env,
    }
}
