//! The checkpoints of messages in flight: which pop took which messages of a
//! queue, which of them were acked, and when the rest become visible again.
//! Kept in memory and rebuilt at startup from the revive log (see
//! [`super::recovery`]); each change is written there before it is applied.

use std::collections::{BTreeSet, HashMap};

/// Messages one checkpoint may hold: the width of [`Checkpoint::acked`].
const MAX_MESSAGES: usize = 64;

/// What names one pop of one queue: a receipt handle carries all of it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CkKey {
    pub group: String,
    /// The topic the messages lie in (the POP retry topic for retries).
    pub topic: String,
    pub queue_id: i32,
    pub start_offset: i64,
    pub pop_time: i64,
}

/// The messages of one pop still in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub invisible_time: i64,
    pub revive_qid: i32,
    /// Queue offsets of the messages, ascending.
    pub offsets: Vec<i64>,
    /// Bit i set: `offsets[i]` was acked. A pop takes at most 32 messages.
    pub acked: u64,
    /// Where the checkpoint's record lies in its revive queue.
    pub log_offset: i64,
}

impl Checkpoint {
    fn all_acked(&self) -> bool {
        self.acked.count_ones() as usize >= self.offsets.len()
    }

    /// Marks `offset` as done (acked or brought back).
    pub fn mark_acked(&mut self, offset: i64) {
        if let Some(i) = self.offsets.iter().position(|o| *o == offset) {
            self.acked |= 1 << i;
        }
    }

    /// The offsets not acked yet.
    pub fn unacked(&self) -> impl Iterator<Item = i64> + '_ {
        self.offsets.iter().enumerate().filter(|(i, _)| self.acked & (1 << i) == 0).map(|(_, o)| *o)
    }
}

/// The outcome of an ack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AckOutcome {
    Acked,
    /// Acked before: nothing changes.
    AlreadyAcked,
    /// No checkpoint with that key holds that offset: a forged handle, or one
    /// whose message was revived already.
    Unknown,
}

#[derive(Debug, Default)]
pub(crate) struct Ledger {
    checkpoints: HashMap<CkKey, Checkpoint>,
    /// Checkpoints by the time their unacked messages come back.
    due: BTreeSet<(i64, CkKey)>,
    /// Unacked messages per (group, topic, queue), for the stats commands.
    in_flight: HashMap<(String, String, i32), u64>,
}

impl Ledger {
    /// Adds the checkpoint of a pop; one already there (a replayed record) stays.
    pub fn add(&mut self, key: CkKey, ck: Checkpoint) {
        // At most 64 messages fit the acked bits (a pop takes 32); more is a forged record.
        if ck.all_acked() || ck.offsets.len() > MAX_MESSAGES || self.checkpoints.contains_key(&key) {
            return;
        }
        *self.in_flight.entry(flight_key(&key)).or_default() += ck.unacked().count() as u64;
        self.due.insert((key.pop_time.saturating_add(ck.invisible_time), key.clone()));
        self.checkpoints.insert(key, ck);
    }

    /// Whether `offset` is an unacked message of the checkpoint `key`.
    pub fn holds(&self, key: &CkKey, offset: i64) -> bool {
        self.checkpoints
            .get(key)
            .and_then(|ck| ck.offsets.iter().position(|o| *o == offset).map(|i| ck.acked & (1 << i) == 0))
            .unwrap_or(false)
    }

    pub fn get(&self, key: &CkKey) -> Option<&Checkpoint> {
        self.checkpoints.get(key)
    }

    pub fn ack(&mut self, key: &CkKey, offset: i64) -> AckOutcome {
        let Some(ck) = self.checkpoints.get_mut(key) else { return AckOutcome::Unknown };
        let Some(i) = ck.offsets.iter().position(|o| *o == offset) else { return AckOutcome::Unknown };
        if ck.acked & (1 << i) != 0 {
            return AckOutcome::AlreadyAcked;
        }
        ck.acked |= 1 << i;
        let done = ck.all_acked();
        if let Some(n) = self.in_flight.get_mut(&flight_key(key)) {
            *n = n.saturating_sub(1);
        }
        if done {
            self.remove(key);
        }
        AckOutcome::Acked
    }

    /// Takes out the checkpoints whose time has come (revive time ≤ `now`).
    pub fn take_due(&mut self, now: i64) -> Vec<(CkKey, Checkpoint)> {
        let mut out = Vec::new();
        while let Some((at, key)) = self.due.first().cloned() {
            if at > now {
                break;
            }
            if let Some(ck) = self.remove(&key) {
                out.push((key, ck));
            } else {
                self.due.pop_first();
            }
        }
        out
    }

    /// When the next checkpoint falls due.
    pub fn next_due(&self) -> Option<i64> {
        self.due.first().map(|(at, _)| *at)
    }

    fn remove(&mut self, key: &CkKey) -> Option<Checkpoint> {
        let ck = self.checkpoints.remove(key)?;
        self.due.remove(&(key.pop_time.saturating_add(ck.invisible_time), key.clone()));
        self.forget_counts(key, &ck);
        Some(ck)
    }

    fn forget_counts(&mut self, key: &CkKey, ck: &Checkpoint) {
        let k = flight_key(key);
        if let Some(n) = self.in_flight.get_mut(&k) {
            *n = n.saturating_sub(ck.unacked().count() as u64);
            if *n == 0 {
                self.in_flight.remove(&k);
            }
        }
    }

    /// The first revive-log offset, per revive queue, that a replay must
    /// read from to see every live checkpoint; `None` for queues with none.
    pub fn replay_start(&self, revive_qid: i32) -> Option<i64> {
        self.checkpoints.values().filter(|ck| ck.revive_qid == revive_qid).map(|ck| ck.log_offset).min()
    }

    /// Unacked messages of `group` popped from a queue.
    pub fn in_flight(&self, group: &str, topic: &str, queue_id: i32) -> u64 {
        self.in_flight.get(&(group.to_owned(), topic.to_owned(), queue_id)).copied().unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        self.checkpoints.len()
    }

    /// Per (group, topic, queue): the unacked messages and the lowest queue
    /// offset among them (the metrics endpoint's in-flight figures).
    pub fn unacked_by_queue(&self) -> HashMap<(String, String, i32), Unacked> {
        let mut by_queue: HashMap<(String, String, i32), Unacked> = HashMap::new();
        for (key, ck) in &self.checkpoints {
            for offset in ck.unacked() {
                let entry = by_queue.entry(flight_key(key)).or_insert(Unacked { count: 0, lowest_offset: offset });
                entry.count += 1;
                entry.lowest_offset = entry.lowest_offset.min(offset);
            }
        }
        by_queue
    }
}

/// The popped and not yet acked messages of one queue for one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Unacked {
    pub count: u64,
    pub lowest_offset: i64,
}

fn flight_key(key: &CkKey) -> (String, String, i32) {
    (key.group.clone(), key.topic.clone(), key.queue_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(start: i64, pop_time: i64) -> CkKey {
        CkKey { group: "G".into(), topic: "T".into(), queue_id: 0, start_offset: start, pop_time }
    }

    fn ck(offsets: Vec<i64>, invisible: i64) -> Checkpoint {
        Checkpoint { invisible_time: invisible, revive_qid: 0, offsets, acked: 0, log_offset: 7 }
    }

    #[test]
    fn acks_clear_and_the_rest_falls_due() {
        let mut l = Ledger::default();
        l.add(key(10, 1000), ck(vec![10, 11, 13], 500));
        l.add(key(20, 1000), ck(vec![20], 900));
        assert_eq!(l.in_flight("G", "T", 0), 4);
        assert_eq!(l.ack(&key(10, 1000), 11), AckOutcome::Acked);
        assert_eq!(l.ack(&key(10, 1000), 11), AckOutcome::AlreadyAcked);
        // A handle with another pop time, or an offset outside the pop, acks nothing.
        assert_eq!(l.ack(&key(10, 1001), 10), AckOutcome::Unknown);
        assert_eq!(l.ack(&key(10, 1000), 12), AckOutcome::Unknown);
        assert_eq!(l.next_due(), Some(1500));
        assert!(l.take_due(1499).is_empty());
        let due = l.take_due(1500);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].1.unacked().collect::<Vec<_>>(), vec![10, 13]);
        assert_eq!(l.in_flight("G", "T", 0), 1);
        assert_eq!(l.ack(&key(20, 1000), 20), AckOutcome::Acked);
        assert_eq!((l.len(), l.next_due(), l.in_flight("G", "T", 0)), (0, None, 0));
    }

    #[test]
    fn replay_start_is_the_oldest_live_record() {
        let mut l = Ledger::default();
        assert_eq!(l.replay_start(0), None);
        l.add(key(1, 1), Checkpoint { log_offset: 5, ..ck(vec![1], 10) });
        l.add(key(2, 1), Checkpoint { log_offset: 9, ..ck(vec![2], 10) });
        assert_eq!(l.replay_start(0), Some(5));
        l.ack(&key(1, 1), 1);
        assert_eq!(l.replay_start(0), Some(9));
    }
}
