//! Small collections for the browser build: a standard stable sort and `BTreeMap` are
//! generic, and every type they are used with adds kilobytes of code to the module (sorts
//! ~3-5 kB an instantiation, B-tree maps ~5-8 kB; bench/RESULTS.md, "size"). The session's
//! maps hold a few entries in practice (a handful of running gift streaks, the likers of
//! one window) and are capped in number, so a vector scanned linearly serves them; the
//! sorts go through one heapsort over indices.

use alloc::vec::Vec;
use core::cmp::Ordering;

/// Sorts `v` stably by `cmp`: equal elements keep their order. O(n log n), one shared
/// (non-generic) heapsort over indices.
pub(crate) fn sort_stable<T: Copy>(v: &mut Vec<T>, cmp: impl Fn(&T, &T) -> Ordering) {
    if v.len() < 2 {
        return;
    }
    let items: &[T] = v;
    let mut order: Vec<u32> = (0..items.len() as u32).collect();
    heapsort(&mut order, &|a, b| match (items.get(a), items.get(b)) {
        (Some(x), Some(y)) => cmp(x, y).then(a.cmp(&b)),
        _ => a.cmp(&b),
    });
    let sorted: Vec<T> = order
        .iter()
        .filter_map(|&i| items.get(i as usize).copied())
        .collect();
    *v = sorted;
}

/// In-place heapsort of indices by `cmp` (a total order: ties are broken by index).
fn heapsort(v: &mut [u32], cmp: &dyn Fn(usize, usize) -> Ordering) {
    let less = |v: &[u32], i: usize, j: usize| match (v.get(i), v.get(j)) {
        (Some(&a), Some(&b)) => cmp(a as usize, b as usize) == Ordering::Less,
        _ => false,
    };
    let sift = |v: &mut [u32], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            break;
        }
        if child + 1 < end && less(v, child, child + 1) {
            child += 1;
        }
        if !less(v, root, child) {
            break;
        }
        v.swap(root, child);
        root = child;
    };
    let n = v.len();
    for i in (0..n / 2).rev() {
        sift(v, i, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

/// A map over a vector: insertion order, linear lookup. For the few-entry maps of the
/// session (capped in number by their owners).
#[derive(Debug, Clone)]
pub(crate) struct VecMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap {
            entries: Vec::new(),
        }
    }
}

impl<K: PartialEq + Copy, V> VecMap<K, V> {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn position(&self, k: &K) -> Option<usize> {
        self.entries.iter().position(|(key, _)| key == k)
    }

    pub(crate) fn contains_key(&self, k: &K) -> bool {
        self.position(k).is_some()
    }

    pub(crate) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.entries
            .iter_mut()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v)
    }

    /// Inserts or replaces.
    pub(crate) fn insert(&mut self, k: K, v: V) {
        match self.get_mut(&k) {
            Some(slot) => *slot = v,
            None => self.entries.push((k, v)),
        }
    }

    pub(crate) fn remove(&mut self, k: &K) -> Option<V> {
        let i = self.position(k)?;
        Some(self.entries.swap_remove(i).1)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sort_is_stable_and_sorts() {
        let mut seed = 7u64;
        for n in [0usize, 1, 2, 3, 10, 100, 1000] {
            let mut v: Vec<(u8, usize)> = (0..n)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    ((seed >> 59) as u8, i)
                })
                .collect();
            let mut want = v.clone();
            want.sort_by_key(|e| e.0);
            sort_stable(&mut v, |a, b| a.0.cmp(&b.0));
            assert_eq!(v, want, "n = {n}");
        }
    }

    #[test]
    fn the_map_inserts_replaces_and_removes() {
        let mut m: VecMap<u64, &str> = VecMap::default();
        m.insert(3, "a");
        m.insert(1, "b");
        m.insert(3, "c");
        assert_eq!(m.len(), 2);
        assert_eq!(m.get_mut(&3).map(|v| *v), Some("c"));
        assert_eq!(m.remove(&3), Some("c"));
        assert!(!m.contains_key(&3) && m.contains_key(&1));
        m.retain(|k, _| *k != 1);
        assert_eq!(m.len(), 0);
    }
}
