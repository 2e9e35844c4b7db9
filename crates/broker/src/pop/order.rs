//! FIFO POP (`order=true`): a queue hands out its next messages only when
//! the ones before are acked or their invisible time ran out; then the same
//! messages come again, in the same order, from the group's committed
//! offset (Java's `ConsumerOrderInfoManager`). No checkpoint is written:
//! after each change the queue's [`OrderState`] goes to the revive log, and
//! the replay restores the last one.

use std::collections::{BTreeSet, HashMap};

/// (group, topic, queue id).
pub(crate) type QueueKey = (String, String, i32);

#[derive(Debug, Default)]
struct OrderQueue {
    pop_time: i64,
    /// The popped messages are invisible until then.
    invisible_until: i64,
    /// Offsets handed out by the last pop, ascending.
    offsets: Vec<i64>,
    /// Offsets acked since the committed offset (possibly out of order).
    acked: BTreeSet<i64>,
    /// How often each message was handed out.
    deliveries: HashMap<i64, u32>,
    /// Where the queue's last state record lies in revive queue 0.
    log_offset: i64,
}

/// A FIFO queue's state above its committed offset, as logged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OrderState {
    pub pop_time: i64,
    pub invisible_until: i64,
    pub offsets: Vec<i64>,
    pub acked: Vec<i64>,
    pub deliveries: Vec<(i64, u32)>,
}

impl OrderQueue {
    fn all_acked(&self) -> bool {
        self.offsets.iter().all(|o| self.acked.contains(o))
    }
}

#[derive(Debug, Default)]
pub(crate) struct OrderBook {
    queues: HashMap<QueueKey, OrderQueue>,
}

impl OrderBook {
    /// Whether the queue still has messages in flight.
    pub fn blocked(&self, key: &QueueKey, now: i64) -> bool {
        self.queues.get(key).is_some_and(|q| !q.all_acked() && q.invisible_until > now)
    }

    /// The queue's state, to be logged.
    pub fn state(&self, key: &QueueKey) -> OrderState {
        let Some(q) = self.queues.get(key) else { return OrderState::default() };
        let mut deliveries: Vec<(i64, u32)> = q.deliveries.iter().map(|(o, n)| (*o, *n)).collect();
        deliveries.sort_unstable();
        OrderState {
            pop_time: q.pop_time,
            invisible_until: q.invisible_until,
            offsets: q.offsets.clone(),
            acked: q.acked.iter().copied().collect(),
            deliveries,
        }
    }

    /// Puts back a logged state (the replay), whose record lies at `log_offset`.
    pub fn restore(&mut self, key: &QueueKey, state: OrderState, log_offset: i64) {
        let q = OrderQueue {
            pop_time: state.pop_time,
            invisible_until: state.invisible_until,
            offsets: state.offsets,
            acked: state.acked.into_iter().collect(),
            deliveries: state.deliveries.into_iter().collect(),
            log_offset,
        };
        self.queues.insert(key.clone(), q);
    }

    /// Notes where the queue's last state record was written.
    pub fn logged(&mut self, key: &QueueKey, log_offset: i64) {
        if let Some(q) = self.queues.get_mut(key) {
            q.log_offset = log_offset;
        }
    }

    /// The oldest state record a replay must read: that of the queue with
    /// messages in flight whose record is oldest.
    pub fn replay_start(&self) -> Option<i64> {
        self.queues.values().filter(|q| !q.all_acked()).map(|q| q.log_offset).min()
    }

    /// Whether the queue was popped in order since the broker started.
    pub fn knows(&self, key: &QueueKey) -> bool {
        self.queues.contains_key(key)
    }

    /// Whether `offset` was acked already (a re-pop skips it).
    pub fn is_acked(&self, key: &QueueKey, offset: i64) -> bool {
        self.queues.get(key).is_some_and(|q| q.acked.contains(&offset))
    }

    /// How often the message was handed out before.
    pub fn deliveries(&self, key: &QueueKey, offset: i64) -> u32 {
        self.queues.get(key).and_then(|q| q.deliveries.get(&offset)).copied().unwrap_or(0)
    }

    /// A pop handed out `offsets`.
    pub fn popped(&mut self, key: &QueueKey, pop_time: i64, invisible_time: i64, offsets: &[i64]) {
        let q = self.queues.entry(key.clone()).or_default();
        q.pop_time = pop_time;
        q.invisible_until = pop_time + invisible_time;
        q.offsets = offsets.to_vec();
        for o in offsets {
            *q.deliveries.entry(*o).or_default() += 1;
        }
    }

    /// Acks `offset` of the pop at `pop_time`; returns the offset the group
    /// may commit (the first one not acked), or `None` if the handle is not
    /// the queue's current pop.
    pub fn ack(&mut self, key: &QueueKey, offset: i64, pop_time: i64, committed: i64) -> Option<i64> {
        let q = self.queues.get_mut(key)?;
        if q.pop_time != pop_time || !q.offsets.contains(&offset) {
            return None;
        }
        q.acked.insert(offset);
        let next = q.offsets.iter().find(|o| !q.acked.contains(o)).copied();
        let next = next.unwrap_or_else(|| q.offsets.last().map_or(committed, |last| last + 1)).max(committed);
        // Below `next` all is done: forget it, so the pop counts as acked once all of it is.
        q.offsets.retain(|o| *o >= next);
        q.acked.retain(|o| *o >= next);
        q.deliveries.retain(|o, _| *o >= next);
        Some(next)
    }

    /// Moves the end of the current pop's invisibility; false if the handle is stale.
    pub fn change_invisible(&mut self, key: &QueueKey, offset: i64, pop_time: i64, until: i64) -> bool {
        match self.queues.get_mut(key) {
            Some(q) if q.pop_time == pop_time && q.offsets.contains(&offset) => {
                q.invisible_until = until;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_blocks_until_acked_or_expired() {
        let k: QueueKey = ("G".into(), "T".into(), 0);
        let mut book = OrderBook::default();
        book.popped(&k, 1000, 500, &[5, 6, 7]);
        assert!(book.blocked(&k, 1499));
        assert!(!book.blocked(&k, 1500), "expired: the same messages come again");
        assert_eq!(book.ack(&k, 6, 999, 5), None, "another pop's handle");
        assert_eq!(book.ack(&k, 6, 1000, 5), Some(5), "5 is still out");
        assert!(book.is_acked(&k, 6));
        assert_eq!(book.ack(&k, 5, 1000, 5), Some(7));
        assert_eq!(book.ack(&k, 7, 1000, 5), Some(8));
        assert!(!book.blocked(&k, 1001));
        book.popped(&k, 2000, 500, &[8]);
        book.popped(&k, 2600, 500, &[8]);
        assert_eq!(book.deliveries(&k, 8), 2);
    }
}
