//! Exactly-once delivery: a bounded window of recently seen message ids.

use alloc::collections::BTreeMap;

/// The most recently seen message ids, least recently seen evicted first. A hit counts
/// as a sighting, so an id that keeps being resent stays in the window.
#[derive(Debug, Clone, Default)]
pub struct MsgIdWindow {
    capacity: usize,
    tick: u64,
    last_seen: BTreeMap<u64, u64>,
    by_tick: BTreeMap<u64, u64>,
}

impl MsgIdWindow {
    /// A window of `capacity` ids; 0 turns de-duplication off.
    pub fn new(capacity: usize) -> Self {
        MsgIdWindow {
            capacity,
            ..Default::default()
        }
    }

    /// Records a sighting of `id`; true when it was not in the window (deliver it).
    pub fn first_sighting(&mut self, id: u64) -> bool {
        if self.capacity == 0 {
            return true;
        }
        self.tick += 1;
        let fresh = match self.last_seen.insert(id, self.tick) {
            Some(old) => {
                self.by_tick.remove(&old);
                false
            }
            None => true,
        };
        self.by_tick.insert(self.tick, id);
        while self.last_seen.len() > self.capacity {
            let Some((_, oldest)) = self.by_tick.pop_first() else {
                break;
            };
            self.last_seen.remove(&oldest);
        }
        fresh
    }

    pub fn len(&self) -> usize {
        self.last_seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.last_seen.is_empty()
    }
}
