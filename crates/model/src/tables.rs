//! The config tables a broker persists under `store/config/` and serves to
//! slaves and admin tools: one JSON shape for both the file and the wire.
//!
//! Integer-keyed maps are `BTreeMap<i32, _>` so that [`crate::fastjson`] writes
//! them with unquoted keys, as Java does.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::{DataVersion, SubscriptionGroupConfig, TopicConfig};

/// `config/topics.json`; also the body of GET_ALL_TOPIC_CONFIG and the
/// `topicConfigSerializeWrapper` inside REGISTER_BROKER bodies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigSerializeWrapper {
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    pub data_version: DataVersion,
}

/// `config/consumerOffset.json` and the GET_ALL_CONSUMER_OFFSET body:
/// `"topic@group"` → queue id → committed offset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerOffsetSerializeWrapper {
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
    /// 5.x only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
}

/// `config/delayOffset.json` and the GET_ALL_DELAY_OFFSET body: delay level
/// (1-based) → offset consumed in `SCHEDULE_TOPIC_XXXX` queue `level - 1`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DelayOffsetSerializeWrapper {
    pub offset_table: BTreeMap<i32, i64>,
    /// 5.x only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
}

/// `config/subscriptionGroup.json` and the GET_ALL_SUBSCRIPTIONGROUP_CONFIG body.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupWrapper {
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    pub data_version: DataVersion,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastjson;

    #[test]
    fn consumer_offsets_use_unquoted_queue_ids() {
        let mut w = ConsumerOffsetSerializeWrapper::default();
        w.offset_table.insert("TopicTest@g".into(), BTreeMap::from([(0, 12), (1, 7)]));
        let text = fastjson::to_string(&w);
        assert_eq!(text, r#"{"offsetTable":{"TopicTest@g":{0:12,1:7}}}"#);
        assert_eq!(fastjson::from_str::<ConsumerOffsetSerializeWrapper>(&text).unwrap(), w);
    }

    #[test]
    fn reads_java_topics_json() {
        let java = "{\n\t\"dataVersion\":{\n\t\t\"counter\":2,\n\t\t\"timestamp\":1700000000000\n\t},\n\t\"topicConfigTable\":{\n\t\t\"TopicTest\":{\n\t\t\t\"order\":false,\n\t\t\t\"perm\":6,\n\t\t\t\"readQueueNums\":4,\n\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n\t\t\t\"topicName\":\"TopicTest\",\n\t\t\t\"topicSysFlag\":0,\n\t\t\t\"writeQueueNums\":4\n\t\t}\n\t}\n}";
        let w: TopicConfigSerializeWrapper = fastjson::from_str(java).unwrap();
        assert_eq!(w.data_version.counter, 2);
        assert_eq!(w.topic_config_table["TopicTest"].write_queue_nums, 4);
    }
}
