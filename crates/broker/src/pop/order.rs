//! FIFO POP (`order=true`): a queue hands out its next messages only when
//! the ones before are acked or their invisible time ran out; then the same
//! messages come again, in the same order, from the group's committed
//! offset. No checkpoint is written: the committed offset is the state
//! (Java's `ConsumerOrderInfoManager`), with the delivery counts kept here.

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
