//! Delayed messages: a message with `DELAY` = level L is parked in
//! `SCHEDULE_TOPIC_XXXX` queue L-1 with its real topic and queue kept in
//! properties (Java's `CommitLog.putMessage` rewrite, kept as `REAL_TOPIC` and
//! `REAL_QID`); [`crate::schedule`] delivers it when due.

use rmq_model::Properties;
use rmq_model::properties::keys;
use rmq_model::topic::SCHEDULE_TOPIC;
use rmq_store::StoreConfig;
use std::time::Duration;

/// The delay of each level (`messageDelayLevel`, `1s 5s 10s 30s 1m …`),
/// parsed once at startup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DelayLevels {
    delays: Vec<Duration>,
}

/// Java's level count, used if `messageDelayLevel` could not be read.
const DEFAULT_LEVELS: usize = 18;

impl DelayLevels {
    pub(crate) fn new(delays: Vec<Duration>) -> DelayLevels {
        DelayLevels { delays }
    }

    pub(crate) fn of(store: &StoreConfig) -> DelayLevels {
        DelayLevels::new(store.delay_levels().unwrap_or_default())
    }

    /// The highest level; a message asking for more is delayed by this one.
    pub(crate) fn count(&self) -> u32 {
        (if self.delays.is_empty() { DEFAULT_LEVELS } else { self.delays.len() }) as u32
    }

    /// How long a message of `level` (1-based) waits; zero if unknown.
    pub(crate) fn delay_of(&self, level: i32) -> Duration {
        usize::try_from(level - 1).ok().and_then(|i| self.delays.get(i)).copied().unwrap_or_default()
    }
}

/// Where a message is stored after the delay rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parked {
    pub topic: String,
    pub queue_id: i32,
}

/// Rewrites a message with a positive `DELAY` towards the schedule topic,
/// clamping the level to the highest configured. Returns `None` (and leaves
/// the properties alone) when the message has no delay.
pub(crate) fn park(props: &mut Properties, topic: &str, queue_id: i32, levels: &DelayLevels) -> Option<Parked> {
    let level = props.delay_level()?.min(levels.count().max(1));
    props.insert(keys::DELAY_TIME_LEVEL, level.to_string());
    props.insert(keys::REAL_TOPIC, topic);
    props.insert(keys::REAL_QUEUE_ID, queue_id.to_string());
    Some(Parked { topic: SCHEDULE_TOPIC.to_owned(), queue_id: level as i32 - 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parks_with_real_topic_and_clamped_level() {
        let mut p = Properties::decode("DELAY\u{1}25\u{2}TAGS\u{1}A\u{2}");
        let levels = DelayLevels::new(Vec::new());
        let parked = park(&mut p, "TopicTest", 3, &levels).unwrap();
        assert_eq!(parked, Parked { topic: SCHEDULE_TOPIC.into(), queue_id: 17 });
        assert_eq!(p.get(keys::REAL_TOPIC), Some("TopicTest"));
        assert_eq!(p.get(keys::REAL_QUEUE_ID), Some("3"));
        assert_eq!(p.get(keys::DELAY_TIME_LEVEL), Some("18"));
        assert!(park(&mut Properties::decode("TAGS\u{1}A\u{2}"), "T", 0, &levels).is_none());
        let two = DelayLevels::new(vec![Duration::from_secs(1), Duration::from_secs(5)]);
        assert_eq!((two.count(), two.delay_of(2), two.delay_of(3)), (2, Duration::from_secs(5), Duration::ZERO));
    }
}
