//! Delayed messages: a message with `DELAY` = level L is parked in
//! `SCHEDULE_TOPIC_XXXX` queue L-1 with its real topic and queue kept in
//! properties (§8.1); [`crate::schedule`] delivers it when due.

use rmq_model::Properties;
use rmq_model::properties::keys;
use rmq_model::topic::SCHEDULE_TOPIC;

/// Where a message is stored after the delay rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parked {
    pub topic: String,
    pub queue_id: i32,
}

/// Rewrites a message with a positive `DELAY` towards the schedule topic,
/// clamping the level to the highest configured. Returns `None` (and leaves
/// the properties alone) when the message has no delay.
pub(crate) fn park(props: &mut Properties, topic: &str, queue_id: i32, max_level: u32) -> Option<Parked> {
    let level = props.delay_level()?.min(max_level.max(1));
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
        let parked = park(&mut p, "TopicTest", 3, 18).unwrap();
        assert_eq!(parked, Parked { topic: SCHEDULE_TOPIC.into(), queue_id: 17 });
        assert_eq!(p.get(keys::REAL_TOPIC), Some("TopicTest"));
        assert_eq!(p.get(keys::REAL_QUEUE_ID), Some("3"));
        assert_eq!(p.get(keys::DELAY_TIME_LEVEL), Some("18"));
        assert!(park(&mut Properties::decode("TAGS\u{1}A\u{2}"), "T", 0, 18).is_none());
    }
}
