//! Exactly-once delivery: a bounded window of recently seen message ids.
//!
//! An open-addressing hash table (linear probing, backward-shift deletion) from id to the
//! tick of its last sighting, and a queue of sightings in tick order from which the least
//! recently seen id is evicted (queue entries made stale by a later sighting are skipped).
//! No `BTreeMap`: in the browser build every map type adds kilobytes of code.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

/// The most recently seen message ids, least recently seen evicted first. A hit counts
/// as a sighting, so an id that keeps being resent stays in the window.
#[derive(Debug, Clone, Default)]
pub struct MsgIdWindow {
    capacity: usize,
    tick: u64,
    /// (id, tick of its last sighting); id 0 marks an empty slot (id 0 is never kept).
    slots: Vec<(u64, u64)>,
    /// Ids in the window.
    len: usize,
    /// Every sighting, oldest first: (id, tick).
    queue: VecDeque<(u64, u64)>,
}

impl MsgIdWindow {
    /// A window of `capacity` ids; 0 turns de-duplication off.
    pub fn new(capacity: usize) -> Self {
        MsgIdWindow {
            capacity,
            ..Default::default()
        }
    }

    /// Records a sighting of `id`; true when it was not in the window (deliver it). Id 0
    /// (no id) is always delivered and never kept.
    pub fn first_sighting(&mut self, id: u64) -> bool {
        if self.capacity == 0 || id == 0 {
            return true;
        }
        if self.slots.is_empty() {
            // At most half full, so probes stay short.
            let size = self.capacity.saturating_mul(2).next_power_of_two().max(8);
            self.slots = vec![(0, 0); size];
        }
        self.tick += 1;
        let tick = self.tick;
        let i = self.find(id);
        let fresh = match self.slots.get_mut(i) {
            Some(slot) if slot.0 == id => {
                slot.1 = tick;
                false
            }
            Some(slot) => {
                *slot = (id, tick);
                self.len += 1;
                true
            }
            None => return true,
        };
        self.queue.push_back((id, tick));
        while self.len > self.capacity {
            let Some((old, at)) = self.queue.pop_front() else {
                break;
            };
            let j = self.find(old);
            if self.slots.get(j).is_some_and(|s| *s == (old, at)) {
                self.remove_at(j);
            }
        }
        // Stale sightings (of ids seen again since) are dropped before the queue grows
        // past twice the window.
        if self.queue.len() > self.capacity.saturating_mul(2) {
            let slots = &self.slots;
            let mask = slots.len() - 1;
            self.queue.retain(|&(id, at)| {
                let mut i = hash(id) & mask;
                loop {
                    match slots.get(i) {
                        Some(&(0, _)) | None => return false,
                        Some(&(k, t)) if k == id => return t == at,
                        Some(_) => i = (i + 1) & mask,
                    }
                }
            });
        }
        fresh
    }

    /// The slot holding `id`, or the empty slot where it would go.
    fn find(&self, id: u64) -> usize {
        let mask = self.slots.len().saturating_sub(1);
        let mut i = hash(id) & mask;
        for _ in 0..self.slots.len() {
            match self.slots.get(i) {
                Some(&(k, _)) if k == id || k == 0 => return i,
                _ => i = (i + 1) & mask,
            }
        }
        i
    }

    /// Empties slot `i`, moving later entries of its probe run back (no tombstones).
    fn remove_at(&mut self, mut i: usize) {
        let mask = self.slots.len() - 1;
        if let Some(s) = self.slots.get_mut(i) {
            *s = (0, 0);
            self.len -= 1;
        }
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let Some(&(k, t)) = self.slots.get(j) else {
                return;
            };
            if k == 0 {
                return;
            }
            let home = hash(k) & mask;
            // Move the entry at j back to i unless its home lies cyclically in (i, j].
            let stays = if i <= j {
                i < home && home <= j
            } else {
                i < home || home <= j
            };
            if !stays {
                if let Some(s) = self.slots.get_mut(i) {
                    *s = (k, t);
                }
                if let Some(s) = self.slots.get_mut(j) {
                    *s = (0, 0);
                }
                i = j;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Fibonacci hashing (ids from the wire: well spread, but hostile ones only cost probes).
fn hash(id: u64) -> usize {
    (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;

    /// The window against a plain model (a map of last sightings, evicting the oldest).
    #[test]
    fn the_window_equals_a_model_of_it() {
        for capacity in [1usize, 2, 3, 7, 64] {
            let mut w = MsgIdWindow::new(capacity);
            let mut model: BTreeMap<u64, u64> = BTreeMap::new();
            let mut seed = 11u64;
            for tick in 1..20_000u64 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let id = (seed >> 33) % (capacity as u64 * 3) + 1;
                let want = !model.contains_key(&id);
                model.insert(id, tick);
                while model.len() > capacity {
                    let oldest = model.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k);
                    if let Some(k) = oldest {
                        model.remove(&k);
                    }
                }
                assert_eq!(
                    w.first_sighting(id),
                    want,
                    "capacity {capacity}, tick {tick}"
                );
                assert_eq!(w.len(), model.len());
            }
            assert!(w.queue.len() <= capacity * 2 + 1);
        }
    }
}
