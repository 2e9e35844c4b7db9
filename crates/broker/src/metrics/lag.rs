//! Consumer lag as RocketMQ 5 reports it: per topic and group, the messages
//! between the group's committed offset and the end of each queue.

use std::collections::BTreeMap;

/// One group's lag on one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupLag {
    pub topic: String,
    pub group: String,
    /// Messages stored but not yet committed by the group, over all queues.
    pub messages: i64,
}

/// The lag of every `topic@group` in the offset table. `queue_end(topic,
/// queue)` is the queue's max offset; a committed offset past it (a queue
/// truncated, a slave behind) counts 0, never a negative lag.
pub(crate) fn consumer_lag(
    offsets: &BTreeMap<String, BTreeMap<i32, i64>>,
    queue_end: impl Fn(&str, i32) -> i64,
) -> Vec<GroupLag> {
    offsets
        .iter()
        .filter_map(|(key, queues)| {
            let (topic, group) = key.split_once('@')?;
            let messages = queues.iter().map(|(&queue, &committed)| (queue_end(topic, queue) - committed).max(0)).sum();
            Some(GroupLag { topic: topic.to_owned(), group: group.to_owned(), messages })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_sums_queues_and_never_goes_negative() {
        let mut offsets = BTreeMap::new();
        offsets.insert("T@g".to_owned(), BTreeMap::from([(0, 10), (1, 0), (2, 50)]));
        offsets.insert("%RETRY%g@g".to_owned(), BTreeMap::from([(0, 3)]));
        offsets.insert("malformed".to_owned(), BTreeMap::from([(0, 3)]));
        let ends = |topic: &str, queue: i32| match (topic, queue) {
            ("T", 0) => 25,
            ("T", 1) => 5,
            ("T", 2) => 40, // behind the commit: 0
            ("%RETRY%g", 0) => 3,
            _ => 0,
        };
        let lag = consumer_lag(&offsets, ends);
        assert_eq!(
            lag,
            vec![
                GroupLag { topic: "%RETRY%g".into(), group: "g".into(), messages: 0 },
                GroupLag { topic: "T".into(), group: "g".into(), messages: 20 },
            ]
        );
    }
}
