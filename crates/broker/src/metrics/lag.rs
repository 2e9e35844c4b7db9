//! Consumer lag as RocketMQ 5 reports it, per topic and group: messages not
//! consumed yet, split into those delivered and not acked (POP in flight) and
//! those waiting to be delivered (ready), and how old the oldest of each is.

use std::collections::{BTreeMap, HashMap};

use crate::pop::ledger::Unacked;

/// One group's lag on one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupLag {
    pub topic: String,
    pub group: String,
    /// Messages stored but not yet consumed: `ready + inflight`.
    pub messages: i64,
    /// Popped and not acked yet (POP consumers; pulled messages are not
    /// seen by the broker until committed, so they count as ready).
    pub inflight: i64,
    /// Stored past the group's offset: not delivered yet.
    pub ready: i64,
    /// Store time of the oldest message not consumed (in flight or ready).
    pub oldest_unconsumed_ms: Option<i64>,
    /// Store time of the oldest ready message.
    pub oldest_ready_ms: Option<i64>,
}

/// What the broker's state says about the queues, for [`consumer_lag`].
pub(crate) trait QueueState {
    /// The queue's max offset.
    fn end(&self, topic: &str, queue: i32) -> i64;
    /// When the message at `offset` was stored, if it is still there.
    fn store_time(&self, topic: &str, queue: i32, offset: i64) -> Option<i64>;
}

/// The lag of every `topic@group` in the offset table. A committed offset
/// past the queue's end (a queue truncated, a slave behind) counts 0, never
/// a negative lag. `unacked` is the POP ledger by (group, topic, queue).
pub(crate) fn consumer_lag(
    offsets: &BTreeMap<String, BTreeMap<i32, i64>>,
    unacked: &HashMap<(String, String, i32), Unacked>,
    queues: &impl QueueState,
) -> Vec<GroupLag> {
    offsets
        .iter()
        .filter_map(|(key, committed)| {
            let (topic, group) = key.split_once('@')?;
            let mut lag = GroupLag {
                topic: topic.to_owned(),
                group: group.to_owned(),
                messages: 0,
                inflight: 0,
                ready: 0,
                oldest_unconsumed_ms: None,
                oldest_ready_ms: None,
            };
            for (&queue, &offset) in committed {
                let ready = (queues.end(topic, queue) - offset).max(0);
                lag.ready += ready;
                if ready > 0 {
                    lag.oldest_ready_ms = earliest(lag.oldest_ready_ms, queues.store_time(topic, queue, offset));
                }
                // The ledger is keyed by owned strings: a lookup per queue
                // with lag-worthy state, at scrape time only.
                let flying = unacked.get(&(group.to_owned(), topic.to_owned(), queue));
                if let Some(flying) = flying {
                    lag.inflight += flying.count as i64;
                    let first = queues.store_time(topic, queue, flying.lowest_offset);
                    lag.oldest_unconsumed_ms = earliest(lag.oldest_unconsumed_ms, first);
                }
            }
            lag.oldest_unconsumed_ms = earliest(lag.oldest_unconsumed_ms, lag.oldest_ready_ms);
            lag.messages = lag.ready + lag.inflight;
            Some(lag)
        })
        .collect()
}

fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Queue ends, and every message stored at `1_000 + offset`.
    struct Ends;

    impl QueueState for Ends {
        fn end(&self, topic: &str, queue: i32) -> i64 {
            match (topic, queue) {
                ("T", 0) => 25,
                ("T", 1) => 5,
                ("T", 2) => 40, // behind the commit: 0
                ("%RETRY%g", 0) => 3,
                _ => 0,
            }
        }
        fn store_time(&self, _topic: &str, _queue: i32, offset: i64) -> Option<i64> {
            Some(1_000 + offset)
        }
    }

    #[test]
    fn lag_sums_queues_and_never_goes_negative() {
        let mut offsets = BTreeMap::new();
        offsets.insert("T@g".to_owned(), BTreeMap::from([(0, 10), (1, 0), (2, 50)]));
        offsets.insert("%RETRY%g@g".to_owned(), BTreeMap::from([(0, 3)]));
        offsets.insert("malformed".to_owned(), BTreeMap::from([(0, 3)]));
        let lag = consumer_lag(&offsets, &HashMap::new(), &Ends);
        assert_eq!(lag.len(), 2);
        assert_eq!((lag[0].topic.as_str(), lag[0].messages, lag[0].oldest_unconsumed_ms), ("%RETRY%g", 0, None));
        let t = &lag[1];
        assert_eq!((t.messages, t.ready, t.inflight), (20, 20, 0));
        assert_eq!(t.oldest_ready_ms, Some(1_000), "queue 1's first message, at offset 0");
        assert_eq!(t.oldest_unconsumed_ms, Some(1_000));
    }

    #[test]
    fn pops_in_flight_count_in_the_lag_and_its_age() {
        let offsets = BTreeMap::from([("T@g".to_owned(), BTreeMap::from([(0, 20), (1, 5)]))]);
        let unacked = HashMap::from([(("g".to_owned(), "T".to_owned(), 0), Unacked { count: 3, lowest_offset: 12 })]);
        let lag = consumer_lag(&offsets, &unacked, &Ends);
        let t = &lag[0];
        assert_eq!((t.ready, t.inflight, t.messages), (5, 3, 8));
        assert_eq!(t.oldest_ready_ms, Some(1_020));
        assert_eq!(t.oldest_unconsumed_ms, Some(1_012), "the oldest unacked message is older than any ready one");
    }
}
