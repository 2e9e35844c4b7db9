//! `TopicList` (`topicList`, optional `brokerAddr`): the body of the
//! NameServer's topic-list requests (GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
//! GET_TOPICS_BY_CLUSTER, GET_SYSTEM_TOPIC_LIST_FROM_NS, the unit lists) and
//! of the broker's GET_SYSTEM_TOPIC_LIST_FROM_BROKER.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use rmq_model::fastjson;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    /// Set only by GET_SYSTEM_TOPIC_LIST_FROM_NS: the address of some broker,
    /// which tools then ask for the broker-side system topics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    pub topic_list: BTreeSet<String>,
}

impl TopicList {
    pub fn encode(&self) -> Vec<u8> {
        fastjson::to_vec(self)
    }

    pub fn decode(body: &[u8]) -> Result<TopicList, serde_json::Error> {
        fastjson::from_slice(body)
    }
}

impl FromIterator<String> for TopicList {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> TopicList {
        TopicList { broker_addr: None, topic_list: iter.into_iter().collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_bytes() {
        let list: TopicList = ["TopicTest".to_owned(), "TBW102".to_owned()].into_iter().collect();
        let java = r#"{"topicList":["TBW102","TopicTest"]}"#;
        assert_eq!(String::from_utf8(list.encode()).unwrap(), java);
        assert_eq!(TopicList::decode(java.as_bytes()).unwrap(), list);

        let system = TopicList { broker_addr: Some("10.0.0.1:10911".into()), ..list };
        let java = r#"{"brokerAddr":"10.0.0.1:10911","topicList":["TBW102","TopicTest"]}"#;
        assert_eq!(String::from_utf8(system.encode()).unwrap(), java);
        assert_eq!(TopicList::decode(java.as_bytes()).unwrap(), system);
    }
}
