//! Topic configuration, topic name rules and the system topics (`TopicConfig`,
//! `TopicValidator`, `MixAll` in Java).

use crate::fastjson::scalar;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::perm;

/// Template topic that producers name as `defaultTopic` so that the broker
/// creates unknown topics on first send (`autoCreateTopicEnable`).
pub const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
pub const BENCHMARK_TOPIC: &str = "BenchmarkTest";
pub const OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
pub const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
pub const TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
pub const TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// Suffix of the request/reply topic each cluster gets: `<cluster>_REPLY_TOPIC`.
pub const REPLY_TOPIC_SUFFIX: &str = "_REPLY_TOPIC";
/// Prefix of 5.x system topics; any topic with it counts as a system topic.
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";

/// 5.x timer messages wait here (queue 0) until the timer delivers them.
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// 5.x POP checkpoints and acks: `rmq_sys_REVIVE_LOG_<cluster>`.
pub const REVIVE_TOPIC_PREFIX: &str = "rmq_sys_REVIVE_LOG_";

/// The revive topic of a cluster.
pub fn revive_topic(cluster: &str) -> String {
    format!("{REVIVE_TOPIC_PREFIX}{cluster}")
}

pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";

/// Longest topic name the V1 record layout can hold (its length is one byte).
pub const TOPIC_MAX_LENGTH: usize = 127;

/// Topics clients may never send to directly.
pub const NOT_ALLOWED_SEND_TOPICS: [&str; 6] = [
    SCHEDULE_TOPIC,
    TRANS_HALF_TOPIC,
    TRANS_OP_HALF_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    SELF_TEST_TOPIC,
    OFFSET_MOVED_EVENT,
];

/// Topics that are system topics whatever the broker's names are.
const FIXED_SYSTEM_TOPICS: [&str; 9] = [
    AUTO_CREATE_TOPIC_KEY_TOPIC,
    SCHEDULE_TOPIC,
    BENCHMARK_TOPIC,
    TRANS_HALF_TOPIC,
    TRANS_OP_HALF_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    SELF_TEST_TOPIC,
    OFFSET_MOVED_EVENT,
    TRACE_TOPIC,
];

/// Whether `topic` is one of the fixed system topics or carries the 5.x prefix.
/// Cluster- and broker-name topics are system topics too, but only the broker
/// knows those names.
pub fn is_fixed_system_topic(topic: &str) -> bool {
    FIXED_SYSTEM_TOPICS.contains(&topic) || topic.starts_with(SYSTEM_TOPIC_PREFIX)
}

/// Topics clients may never send to: Java's list, and the 5.x topics whose
/// records the broker trusts (the timer's parked messages, POP's revive log).
pub fn is_not_allowed_send_topic(topic: &str) -> bool {
    NOT_ALLOWED_SEND_TOPICS.contains(&topic) || topic == TIMER_TOPIC || topic.starts_with(REVIVE_TOPIC_PREFIX)
}

pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}

pub fn is_retry_topic(topic: &str) -> bool {
    topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
}

pub fn is_dlq_topic(topic: &str) -> bool {
    topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
}

/// Why a topic name was refused. The `Display` text is Java's remark, word for
/// word, because clients show it to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicNameError {
    #[error("The specified topic is blank.")]
    Blank,
    #[error("The specified topic contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$")]
    IllegalCharacters,
    #[error("The specified topic is longer than topic max length.")]
    TooLong,
}

/// Checks a topic name as Java's `TopicValidator.validateTopic` does.
pub fn validate_topic_name(topic: &str) -> Result<(), TopicNameError> {
    if topic.trim().is_empty() {
        return Err(TopicNameError::Blank);
    }
    let legal = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-');
    if !topic.bytes().all(legal) {
        return Err(TopicNameError::IllegalCharacters);
    }
    if topic.len() > TOPIC_MAX_LENGTH {
        return Err(TopicNameError::TooLong);
    }
    Ok(())
}

/// How consumers filter a topic by tag; MULTI_TAG topics get sysFlag bit 1.
/// Variants in Java's order (bodies may name them by ordinal).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TopicFilterType {
    #[default]
    #[serde(rename = "SINGLE_TAG")]
    SingleTag,
    #[serde(rename = "MULTI_TAG")]
    MultiTag,
}

impl TopicFilterType {
    pub fn as_str(self) -> &'static str {
        match self {
            TopicFilterType::SingleTag => "SINGLE_TAG",
            TopicFilterType::MultiTag => "MULTI_TAG",
        }
    }

    /// Parses Java's enum name; anything else is SINGLE_TAG, the default.
    pub fn parse_lenient(s: &str) -> TopicFilterType {
        if s.trim().eq_ignore_ascii_case("MULTI_TAG") { TopicFilterType::MultiTag } else { TopicFilterType::SingleTag }
    }
}

/// A topic as one broker hosts it: queue counts, permission and flags. The same
/// JSON object appears in `topics.json`, REGISTER_BROKER bodies and
/// GET_ALL_TOPIC_CONFIG answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    pub topic_name: String,
    pub read_queue_nums: u32,
    pub write_queue_nums: u32,
    pub perm: u32,
    pub topic_filter_type: TopicFilterType,
    pub topic_sys_flag: i32,
    pub order: bool,
    /// 5.x topic attributes; omitted when empty so 4.x peers see 4.x JSON.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// Queue count of `new TopicConfig()` in Java.
pub const DEFAULT_QUEUE_NUMS: u32 = 16;

impl Default for TopicConfig {
    fn default() -> TopicConfig {
        TopicConfig {
            topic_name: String::new(),
            read_queue_nums: DEFAULT_QUEUE_NUMS,
            write_queue_nums: DEFAULT_QUEUE_NUMS,
            perm: perm::READ_WRITE,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_sys_flag: 0,
            order: false,
            attributes: BTreeMap::new(),
        }
    }
}

impl TopicConfig {
    /// A read-write topic with `queues` read and write queues.
    pub fn new(name: impl Into<String>, queues: u32) -> TopicConfig {
        TopicConfig {
            topic_name: name.into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            ..TopicConfig::default()
        }
    }

    pub fn with_perm(mut self, perm: u32) -> TopicConfig {
        self.perm = perm;
        self
    }

    /// Java's `TopicConfig.encode()`: space-separated text used by compressed
    /// REGISTER_BROKER bodies (`name read write perm filterType[ attributesJson]`).
    pub fn encode_compact(&self) -> String {
        let mut s = format!(
            "{} {} {} {} {}",
            self.topic_name,
            self.read_queue_nums,
            self.write_queue_nums,
            self.perm,
            self.topic_filter_type.as_str()
        );
        if !self.attributes.is_empty() {
            s.push(' ');
            s.push_str(&serde_json::to_string(&self.attributes).unwrap_or_default());
        }
        s
    }

    /// Parses [`TopicConfig::encode_compact`]'s format.
    pub fn decode_compact(s: &str) -> Option<TopicConfig> {
        let mut parts = s.splitn(6, ' ');
        let topic_name = parts.next()?.to_owned();
        let read_queue_nums = scalar::integer_as(parts.next()?)?;
        let write_queue_nums = scalar::integer_as(parts.next()?)?;
        let perm = scalar::integer_as(parts.next()?)?;
        let topic_filter_type = TopicFilterType::parse_lenient(parts.next()?);
        let attributes = match parts.next() {
            Some(json) => crate::fastjson::from_str(json).ok()?,
            None => BTreeMap::new(),
        };
        Some(TopicConfig {
            topic_name,
            read_queue_nums,
            write_queue_nums,
            perm,
            topic_filter_type,
            attributes,
            ..TopicConfig::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_like_java() {
        assert_eq!(validate_topic_name("TopicTest"), Ok(()));
        assert_eq!(validate_topic_name("%RETRY%group_1-a|b"), Ok(()));
        assert_eq!(validate_topic_name("  "), Err(TopicNameError::Blank));
        assert_eq!(validate_topic_name("a b"), Err(TopicNameError::IllegalCharacters));
        assert_eq!(validate_topic_name("tôpic"), Err(TopicNameError::IllegalCharacters));
        assert_eq!(validate_topic_name(&"a".repeat(127)), Ok(()));
        assert_eq!(validate_topic_name(&"a".repeat(128)), Err(TopicNameError::TooLong));
    }

    #[test]
    fn json_shape_matches_topics_json() {
        let t = TopicConfig::new("TopicTest", 4);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"topicName":"TopicTest","readQueueNums":4,"writeQueueNums":4,"perm":6,"topicFilterType":"SINGLE_TAG","topicSysFlag":0,"order":false}"#
        );
        let parsed: TopicConfig =
            serde_json::from_str(r#"{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4,"future":1}"#)
                .unwrap();
        assert_eq!(parsed, t);
    }

    #[test]
    fn compact_form_round_trips() {
        let t = TopicConfig::new("T", 8).with_perm(7);
        assert_eq!(t.encode_compact(), "T 8 8 7 SINGLE_TAG");
        assert_eq!(TopicConfig::decode_compact(&t.encode_compact()), Some(t));
    }
}
