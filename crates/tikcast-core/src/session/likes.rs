//! Optional like aggregation: one `likeAggregate` per user per window.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::events::{Event, LikeAggregateEvent, LikeEvent};

#[derive(Debug, Clone)]
struct Window {
    merged: LikeAggregateEvent,
    deadline: u64,
}

/// Merges like batches per user; a window opens at a user's first like and closes
/// `window_ms` later. Bounded: beyond [`MAX_USERS`] open windows, the oldest closes early.
#[derive(Debug, Clone)]
pub struct LikeAggregator {
    window_ms: u64,
    open: BTreeMap<u64, Window>,
}

pub const MAX_USERS: usize = 4096;

impl LikeAggregator {
    pub fn new(window_ms: u64) -> Self {
        LikeAggregator {
            window_ms,
            open: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, now: u64, like: &LikeEvent, out: &mut Vec<Event>) {
        let uid = like.user.user_id;
        if !self.open.contains_key(&uid) && self.open.len() >= MAX_USERS {
            let oldest = self
                .open
                .iter()
                .min_by_key(|(_, w)| w.deadline)
                .map(|(k, _)| *k);
            if let Some(w) = oldest.and_then(|k| self.open.remove(&k)) {
                out.push(Event::LikeAggregate(w.merged));
            }
        }
        let window_ms = self.window_ms;
        let w = self.open.entry(uid).or_insert_with(|| Window {
            merged: LikeAggregateEvent::default(),
            deadline: now.saturating_add(window_ms),
        });
        w.merged.meta = like.meta.clone();
        w.merged.user = like.user.clone();
        w.merged.like_count = w
            .merged
            .like_count
            .saturating_add(i64::from(like.like_count));
        w.merged.total_like_count = like.total_like_count;
        w.merged.batches = w.merged.batches.saturating_add(1);
    }

    pub fn expire(&mut self, now: u64, out: &mut Vec<Event>) {
        let mut due: Vec<(u64, u64)> = self
            .open
            .iter()
            .filter(|(_, w)| w.deadline <= now)
            .map(|(k, w)| (w.deadline, *k))
            .collect();
        due.sort_unstable();
        for (_, k) in due {
            if let Some(w) = self.open.remove(&k) {
                out.push(Event::LikeAggregate(w.merged));
            }
        }
    }

    pub fn flush(&mut self, out: &mut Vec<Event>) {
        self.expire(u64::MAX, out);
    }

    pub fn next_deadline(&self) -> Option<u64> {
        self.open.values().map(|w| w.deadline).min()
    }
}
