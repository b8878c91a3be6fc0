//! Gift streaks: one final `gift` per streak, `giftStreak` updates while it runs.
//!
//! TikTok resends a streakable gift (type 1) with a growing `repeatCount` while the
//! viewer keeps tapping, and marks the last message `repeatEnd`. Overlays want one
//! "Ada sent 12 Roses" at the end, not twelve alerts; when the end never arrives (lost
//! message, dropped connection), the streak is closed after a timeout (or when the
//! session stops) with the last count seen, `timedOut: true` and `repeatEnd: true`: it is
//! a final gift, and code that tells a running streak by `!repeatEnd` must see it end.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::events::{Event, GiftEvent};

/// A streak is one sender giving one gift in one group.
type StreakKey = (u64, u64, u64);

fn key(g: &GiftEvent) -> StreakKey {
    (g.user.user_id, g.gift_id, g.group_id)
}

#[derive(Debug, Clone)]
struct Running {
    last: GiftEvent,
    deadline: u64,
}

/// Running streaks, bounded in number (hostile input cannot grow them without limit).
#[derive(Debug, Clone)]
pub struct GiftStreaks {
    timeout_ms: u64,
    running: BTreeMap<StreakKey, Running>,
    /// Streaks that already had their final gift (by end or timeout), until when late
    /// messages of theirs are still expected: those become `giftRaw` only, never a
    /// second final gift. Only streaks with a group id are remembered, since without
    /// one two streaks of the same gift by the same sender cannot be told apart.
    closed: BTreeMap<StreakKey, u64>,
}

/// Most streaks tracked at once; beyond it the oldest is closed as timed out.
pub const MAX_RUNNING: usize = 4096;
/// Most closed streaks remembered for late messages.
pub const MAX_CLOSED: usize = 4096;

impl GiftStreaks {
    pub fn new(timeout_ms: u64) -> Self {
        GiftStreaks {
            timeout_ms,
            running: BTreeMap::new(),
            closed: BTreeMap::new(),
        }
    }

    /// Takes one gift message; pushes the events it causes.
    pub fn on_gift(&mut self, now: u64, gift: GiftEvent, out: &mut Vec<Event>) {
        if gift.gift_type != 1 {
            out.push(Event::Gift(gift));
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
            out.push(Event::Gift(gift));
            return;
        }
        if !self.running.contains_key(&k) && self.running.len() >= MAX_RUNNING {
            self.expire_oldest(now, out);
        }
        out.push(Event::GiftStreak(gift.clone()));
        self.running.insert(
            k,
            Running {
                last: gift,
                deadline: now.saturating_add(self.timeout_ms),
            },
        );
    }

    /// Closes the streaks whose end did not arrive in time, oldest deadline first.
    pub fn expire(&mut self, now: u64, out: &mut Vec<Event>) {
        let mut due: Vec<(u64, StreakKey)> = self
            .running
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(k, r)| (r.deadline, *k))
            .collect();
        due.sort_unstable();
        for (_, k) in due {
            self.close_timed_out(now, k, out);
        }
    }

    /// Closes every running streak (the session is stopping).
    pub fn flush(&mut self, out: &mut Vec<Event>) {
        let mut all: Vec<(u64, StreakKey)> =
            self.running.iter().map(|(k, r)| (r.deadline, *k)).collect();
        all.sort_unstable();
        for (_, k) in all {
            if let Some(r) = self.running.remove(&k) {
                let mut last = r.last;
                last.timed_out = true;
                last.repeat_end = true;
                out.push(Event::Gift(last));
            }
        }
    }

    pub fn next_deadline(&self) -> Option<u64> {
        self.running.values().map(|r| r.deadline).min()
    }

    pub fn running(&self) -> usize {
        self.running.len()
    }

    fn expire_oldest(&mut self, now: u64, out: &mut Vec<Event>) {
        let oldest = self
            .running
            .iter()
            .min_by_key(|(_, r)| r.deadline)
            .map(|(k, _)| *k);
        if let Some(k) = oldest {
            self.close_timed_out(now, k, out);
        }
    }

    fn close_timed_out(&mut self, now: u64, k: StreakKey, out: &mut Vec<Event>) {
        let Some(r) = self.running.remove(&k) else {
            return;
        };
        let mut last = r.last;
        last.timed_out = true;
        last.repeat_end = true;
        out.push(Event::Gift(last));
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
                .min_by_key(|(_, until)| **until)
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
