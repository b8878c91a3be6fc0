//! Optional like aggregation: one `likeAggregate` per user per window.

use alloc::vec::Vec;

use super::batch::{Item, Payload};
use crate::decode::EnvelopeInfo;
use crate::shape::LikeFacts;
use crate::small::{sort_stable, VecMap};

/// An open window: the user's last like message (its meta, user and room total are the
/// aggregate's) and the sums so far.
#[derive(Debug, Clone)]
struct Window {
    payload: Vec<u8>,
    env: EnvelopeInfo,
    like_count: i64,
    batches: u32,
    deadline: u64,
}

impl Window {
    fn close(self) -> Item {
        Item::LikeAggregate {
            payload: Payload::Owned(self.payload),
            env: self.env,
            like_count: self.like_count,
            batches: self.batches,
        }
    }
}

/// Merges like batches per user; a window opens at a user's first like and closes
/// `window_ms` later. Bounded: beyond [`MAX_USERS`] open windows, the oldest closes early.
#[derive(Debug, Clone)]
pub(crate) struct LikeAggregator {
    window_ms: u64,
    open: VecMap<u64, Window>,
}

pub(crate) const MAX_USERS: usize = 4096;

impl LikeAggregator {
    pub(crate) fn new(window_ms: u64) -> Self {
        LikeAggregator {
            window_ms,
            open: VecMap::default(),
        }
    }

    /// Adds one like message (`payload`, already checked by `shape::like_facts`).
    pub(crate) fn add(
        &mut self,
        now: u64,
        like: LikeFacts,
        payload: &[u8],
        env: EnvelopeInfo,
        out: &mut Vec<Item>,
    ) {
        let uid = like.user_id;
        if !self.open.contains_key(&uid) && self.open.len() >= MAX_USERS {
            let oldest = self
                .open
                .iter()
                .min_by_key(|(k, w)| (w.deadline, **k))
                .map(|(k, _)| *k);
            if let Some(w) = oldest.and_then(|k| self.open.remove(&k)) {
                out.push(w.close());
            }
        }
        let window_ms = self.window_ms;
        if !self.open.contains_key(&uid) {
            self.open.insert(
                uid,
                Window {
                    payload: Vec::new(),
                    env,
                    like_count: 0,
                    batches: 0,
                    deadline: now.saturating_add(window_ms),
                },
            );
        }
        let Some(w) = self.open.get_mut(&uid) else {
            return;
        };
        w.payload.clear();
        w.payload.extend_from_slice(payload);
        w.env = env;
        w.like_count = w.like_count.saturating_add(i64::from(like.like_count));
        w.batches = w.batches.saturating_add(1);
    }

    /// Closes the windows that are due, oldest first.
    pub(crate) fn expire(&mut self, now: u64, out: &mut Vec<Item>) {
        let mut due: Vec<(u64, u64)> = self
            .open
            .iter()
            .filter(|(_, w)| w.deadline <= now)
            .map(|(k, w)| (w.deadline, *k))
            .collect();
        sort_stable(&mut due, |a, b| a.cmp(b));
        for (_, k) in due {
            if let Some(w) = self.open.remove(&k) {
                out.push(w.close());
            }
        }
    }

    /// Closes every window (the session stops).
    pub(crate) fn flush(&mut self, out: &mut Vec<Item>) {
        self.expire(u64::MAX, out);
    }

    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.open.values().map(|w| w.deadline).min()
    }
}
