//! A fixed-size, lock-free table of per-label recorders, for values that are
//! recorded on a request's path (a histogram bucket, a byte count).
//!
//! A request must not pay for metrics: no lock, no allocation, no `String`
//! built to look a series up. The table is allocated once with one slot per
//! allowed series; a slot is filled on a key's first use (the only moment a
//! key is allocated) and never emptied, so a counter in it stays monotonic
//! for the process's life. Keys past the capacity, or whose probe finds no
//! free slot within [`MAX_PROBES`], share one overflow recorder: memory and
//! the cost of a lookup stay bounded whatever the number of topics or groups.
//!
//! Keys are hashed with foldhash, seeded per table: a few nanoseconds for a
//! topic name where std's SipHash takes several times that, and still not
//! predictable by a client choosing topic names. Its `quality` variant, not
//! `fast`: under some process seeds `fast` leaves the low bits of small keys
//! so poorly mixed that 40 keys in 64 slots overran the probe limit in a
//! fifth of the tables (measured over 20,000 tables per process); `quality`'s
//! final mix costs one multiply more.

use std::hash::{BuildHasher, Hash};
use std::sync::OnceLock;

/// The hasher of every [`SlotTable`].
pub type SlotHasher = foldhash::quality::RandomState;

/// Slots looked at before a key is counted in the overflow recorder.
pub const MAX_PROBES: usize = 32;

/// How a borrowed query finds its owned key in a [`SlotTable`] without
/// building it: hashed from the borrowed parts, compared part by part.
pub trait SlotKey<K> {
    fn slot_hash(&self, state: &SlotHasher) -> u64;
    fn matches(&self, key: &K) -> bool;
    fn to_key(&self) -> K;
}

impl SlotKey<String> for str {
    fn slot_hash(&self, state: &SlotHasher) -> u64 {
        state.hash_one(self)
    }
    fn matches(&self, key: &String) -> bool {
        self == key
    }
    fn to_key(&self) -> String {
        self.to_owned()
    }
}

impl SlotKey<(String, String)> for (&str, &str) {
    fn slot_hash(&self, state: &SlotHasher) -> u64 {
        state.hash_one(self)
    }
    fn matches(&self, key: &(String, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
    fn to_key(&self) -> (String, String) {
        (self.0.to_owned(), self.1.to_owned())
    }
}

impl SlotKey<(String, u8)> for (&str, u8) {
    fn slot_hash(&self, state: &SlotHasher) -> u64 {
        state.hash_one(self)
    }
    fn matches(&self, key: &(String, u8)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
    fn to_key(&self) -> (String, u8) {
        (self.0.to_owned(), self.1)
    }
}

impl<A: Hash + Eq + Copy, B: Hash + Eq + Copy> SlotKey<(A, B)> for (A, B) {
    fn slot_hash(&self, state: &SlotHasher) -> u64 {
        state.hash_one(self)
    }
    fn matches(&self, key: &(A, B)) -> bool {
        self == key
    }
    fn to_key(&self) -> (A, B) {
        *self
    }
}

/// One slot: empty, or a key and its recorder (boxed, so an empty slot
/// costs a pointer and the `OnceLock`'s state).
type Slot<K, V> = OnceLock<Box<(K, V)>>;

/// At most `capacity` keys, each with its recorder `V`, plus one overflow
/// recorder for every key that found no slot.
///
/// ```
/// use rmq_metrics::SlotTable;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// let bytes: SlotTable<String, AtomicU64> = SlotTable::new(1);
/// bytes.get("T1").fetch_add(10, Ordering::Relaxed);
/// bytes.get("T2").fetch_add(5, Ordering::Relaxed); // no room: the overflow recorder
/// assert_eq!(bytes.entries().count(), 1);
/// assert_eq!(bytes.overflow().load(Ordering::Relaxed), 5);
/// ```
#[derive(Debug)]
pub struct SlotTable<K, V> {
    slots: Box<[Slot<K, V>]>,
    hasher: SlotHasher,
    overflow: V,
}

impl<K, V: Default> SlotTable<K, V> {
    /// A table for `capacity` keys (at least one): one pointer-sized slot
    /// each, allocated now; keys and recorders are allocated on first use.
    pub fn new(capacity: usize) -> SlotTable<K, V> {
        let slots = (0..capacity.max(1)).map(|_| OnceLock::new()).collect();
        SlotTable { slots, hasher: SlotHasher::default(), overflow: V::default() }
    }

    /// The recorder of `query`'s key, made on first use; the overflow
    /// recorder when no slot is left for it.
    pub fn get<Q: SlotKey<K> + ?Sized>(&self, query: &Q) -> &V {
        let len = self.slots.len();
        let start = (query.slot_hash(&self.hasher) % len as u64) as usize;
        for i in 0..len.min(MAX_PROBES) {
            let slot = &self.slots[(start + i) % len];
            // Another thread may fill an empty slot with another key first:
            // then the probe goes on.
            let entry = slot.get_or_init(|| Box::new((query.to_key(), V::default())));
            if query.matches(&entry.0) {
                return &entry.1;
            }
        }
        &self.overflow
    }

    /// Every key with its recorder, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (&K, &V)> {
        self.slots.iter().filter_map(|slot| slot.get()).map(|entry| (&entry.0, &entry.1))
    }

    /// What keys without a slot recorded.
    pub fn overflow(&self) -> &V {
        &self.overflow
    }

    /// Most keys held.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn keys_keep_their_recorder_and_the_rest_overflow() {
        let table: SlotTable<(String, String), AtomicU64> = SlotTable::new(8);
        for i in 0..20u64 {
            let topic = format!("T{i}");
            table.get(&(topic.as_str(), "g")).fetch_add(i, Ordering::Relaxed);
        }
        table.get(&("T3", "g")).fetch_add(100, Ordering::Relaxed);
        let held: Vec<_> = table.entries().collect();
        assert_eq!(held.len(), 8, "every slot used, none past the capacity");
        let sum: u64 =
            held.iter().map(|(_, v)| v.load(Ordering::Relaxed)).sum::<u64>() + table.overflow().load(Ordering::Relaxed);
        assert_eq!(sum, (0..20).sum::<u64>() + 100, "nothing lost");
    }

    #[test]
    fn threads_racing_for_slots_count_everything_once() {
        // As many slots as one probe visits, so every key finds a slot
        // whatever the hash seed: only the race is under test.
        let table: Arc<SlotTable<(i32, i32), AtomicU64>> = Arc::new(SlotTable::new(MAX_PROBES));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let table = table.clone();
                std::thread::spawn(move || {
                    for n in 0..10_000 {
                        table.get(&(n % 25, 0)).fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let keys: std::collections::HashSet<_> = table.entries().map(|(k, _)| *k).collect();
        assert_eq!(keys.len(), 25, "one slot per key, however the race went");
        let total: u64 = table.entries().map(|(_, v)| v.load(Ordering::Relaxed)).sum();
        assert_eq!(total + table.overflow().load(Ordering::Relaxed), 40_000);
        assert_eq!(table.overflow().load(Ordering::Relaxed), 0);
    }
}
