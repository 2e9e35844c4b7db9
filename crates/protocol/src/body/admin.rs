//! Bodies of the broker's admin answers (Java's `AdminBrokerProcessor`) that `mqadmin` parses:
//! consume and topic statistics, connections, group lists, offset resets,
//! time spans, producer tables, consume-queue dumps and stats.
//!
//! Java writes them with fastjson: keys in alphabetical order, and maps keyed
//! by `MessageQueue` objects written with the key object inline
//! (`{{"brokerName":"b","queueId":0,"topic":"t"}:{…}}`) — not valid
//! JSON, but exactly what `mqadmin` reads. The bodies with such maps
//! ([`ConsumeStats`], [`TopicStatsTable`], [`ResetOffsetBody`],
//! [`GetConsumerStatusBody`], [`ConsumeStatsList`]) therefore have their own
//! `encode`; every `decode` accepts both that form and standard JSON.

use rmq_model::fastjson::{self, object_key};
use rmq_model::{MessageQueue, SubscriptionGroupConfig, TopicConfig};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::heartbeat::{ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData};

/// A `MessageQueue` written as fastjson writes it: keys in alphabetical order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueueJson<'a> {
    broker_name: &'a str,
    queue_id: i32,
    topic: &'a str,
}

impl<'a> From<&'a MessageQueue> for QueueJson<'a> {
    fn from(mq: &'a MessageQueue) -> QueueJson<'a> {
        QueueJson { broker_name: &mq.broker_name, queue_id: mq.queue_id, topic: &mq.topic }
    }
}

/// `serialize_with` for a `MessageQueue` value inside a body.
fn queue_in_order<S: serde::Serializer>(mq: &MessageQueue, s: S) -> Result<S::Ok, S::Error> {
    QueueJson::from(mq).serialize(s)
}

/// `{<queue>:<value>,…}` with inline object keys.
fn queue_map<V: Serialize>(table: &BTreeMap<MessageQueue, V>) -> String {
    let keys: Vec<QueueJson<'_>> = table.keys().map(QueueJson::from).collect();
    fastjson::write_object_key_map(keys.iter().zip(table.values()))
}

/// Java's `Double.toString` for the values these bodies carry: always a
/// decimal point (`0.0`, `12.5`).
fn java_double(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e7 { format!("{v:.1}") } else { v.to_string() }
}

/// One queue's progress in [`ConsumeStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    /// The queue's max offset.
    pub broker_offset: i64,
    /// The group's committed offset (0 when it has none).
    pub consumer_offset: i64,
    /// Store time of the last consumed message, 0 if unknown.
    pub last_timestamp: i64,
    /// 5.x: how far the group has taken messages; for POP groups
    /// `pullOffset - consumerOffset` are the messages in flight.
    pub pull_offset: i64,
}

/// GET_CONSUME_STATS (208): a group's progress on every read queue.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStats {
    pub consume_tps: f64,
    #[serde(deserialize_with = "object_key::map")]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
}

impl ConsumeStats {
    pub fn encode(&self) -> Vec<u8> {
        self.to_fastjson().into_bytes()
    }

    fn to_fastjson(&self) -> String {
        format!(r#"{{"consumeTps":{},"offsetTable":{}}}"#, java_double(self.consume_tps), queue_map(&self.offset_table))
    }

    pub fn decode(body: &[u8]) -> Result<ConsumeStats, serde_json::Error> {
        fastjson::from_slice(body)
    }

    /// Java's `computeTotalDiff`: messages not yet consumed, over all queues.
    pub fn total_diff(&self) -> i64 {
        self.offset_table.values().map(|o| o.broker_offset - o.consumer_offset).sum()
    }
}

/// One queue's offsets in [`TopicStatsTable`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    /// Store time of the newest message, 0 if the queue is empty.
    pub last_update_timestamp: i64,
    pub max_offset: i64,
    pub min_offset: i64,
}

/// GET_TOPIC_STATS_INFO (202): min/max offsets of every write queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicStatsTable {
    #[serde(deserialize_with = "object_key::map")]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
}

impl TopicStatsTable {
    pub fn encode(&self) -> Vec<u8> {
        format!(r#"{{"offsetTable":{}}}"#, queue_map(&self.offset_table)).into_bytes()
    }

    pub fn decode(body: &[u8]) -> Result<TopicStatsTable, serde_json::Error> {
        fastjson::from_slice(body)
    }
}

/// One client connection as admin bodies describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    /// `ip:port` of the client's socket.
    pub client_addr: String,
    pub client_id: String,
    /// Java's `LanguageCode` name (`JAVA`, `CPP`, `RUST`, …).
    pub language: String,
    /// The client's version ordinal.
    pub version: i32,
}

/// GET_CONSUMER_CONNECTION_LIST (203).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    pub connection_set: Vec<Connection>,
    pub consume_from_where: ConsumeFromWhere,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    /// Topic → the group's subscription to it.
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

/// Keys of a [`ConsumerRunningInfo`]'s `properties` (Java's constants):
/// `CONSUME_PASSIVELY` for a push consumer, `CONSUME_ACTIVELY` for a pull one.
pub const PROP_CONSUME_TYPE: &str = "PROP_CONSUME_TYPE";
/// Java's `PROP_CONSUME_ORDERLY`, whose key has no underscore after CONSUME.
pub const PROP_CONSUME_ORDERLY: &str = "PROP_CONSUMEORDERLY";
/// When the consumer started, in ms.
pub const PROP_CONSUMER_START_TIMESTAMP: &str = "PROP_CONSUMER_START_TIMESTAMP";
/// The client's version (`V5_0_0`).
pub const PROP_CLIENT_VERSION: &str = "PROP_CLIENT_VERSION";

/// GET_CONSUMER_RUNNING_INFO's answer (Java's `ConsumerRunningInfo`), as
/// written for a consumer that holds no queues of its own: a 5.x consumer
/// served by a proxy, whose queue tables are empty (`{}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerRunningInfo {
    /// The client's thread stacks, when they were asked for and it sent them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jstack: Option<String>,
    pub mq_table: BTreeMap<String, String>,
    /// `PROP_CONSUME_TYPE`, `PROP_CLIENT_VERSION`, … as Java's clients name them.
    pub properties: BTreeMap<String, String>,
    pub status_table: BTreeMap<String, String>,
    pub subscription_set: Vec<SubscriptionData>,
}

/// CONSUME_MESSAGE_DIRECTLY's answer (Java's `ConsumeMessageDirectlyResult`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeMessageDirectlyResult {
    pub auto_commit: bool,
    /// `CR_SUCCESS`, `CR_LATER`, `CR_ROLLBACK`, `CR_COMMIT`, `CR_THROW_EXCEPTION`, `CR_RETURN_NULL`.
    pub consume_result: Option<String>,
    pub order: bool,
    pub remark: Option<String>,
    pub spent_time_mills: i64,
}

impl Default for ConsumeMessageDirectlyResult {
    /// Java's field defaults.
    fn default() -> ConsumeMessageDirectlyResult {
        ConsumeMessageDirectlyResult {
            auto_commit: true,
            consume_result: None,
            order: false,
            remark: None,
            spent_time_mills: 0,
        }
    }
}

impl std::fmt::Display for ConsumeMessageDirectlyResult {
    /// Java's `toString`, which `mqadmin queryMsgById -g -d` prints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ConsumeMessageDirectlyResult [order={}, autoCommit={}, consumeResult={}, remark={}, spentTimeMills={}]",
            self.order,
            self.auto_commit,
            self.consume_result.as_deref().unwrap_or("null"),
            self.remark.as_deref().unwrap_or("null"),
            self.spent_time_mills
        )
    }
}

/// GET_PRODUCER_CONNECTION_LIST (204).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    pub connection_set: Vec<Connection>,
}

/// QUERY_TOPIC_CONSUME_BY_WHO (300): consumer groups of a topic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupList {
    pub group_list: BTreeSet<String>,
}

/// INVOKE_BROKER_TO_RESET_OFFSET's answer and RESET_CONSUMER_CLIENT_OFFSET's
/// body: the new offset of every queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResetOffsetBody {
    #[serde(deserialize_with = "object_key::map")]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

impl ResetOffsetBody {
    pub fn encode(&self) -> Vec<u8> {
        format!(r#"{{"offsetTable":{}}}"#, queue_map(&self.offset_table)).into_bytes()
    }

    pub fn decode(body: &[u8]) -> Result<ResetOffsetBody, serde_json::Error> {
        fastjson::from_slice(body)
    }
}

/// INVOKE_BROKER_TO_GET_CONSUMER_STATUS's answer (`consumerTable`, client id
/// → its queues' offsets) and GET_CONSUMER_STATUS_FROM_CLIENT's
/// (`messageQueueTable`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GetConsumerStatusBody {
    #[serde(deserialize_with = "object_key_nested")]
    pub consumer_table: BTreeMap<String, BTreeMap<MessageQueue, i64>>,
    #[serde(deserialize_with = "object_key::map")]
    pub message_queue_table: BTreeMap<MessageQueue, i64>,
}

/// `{"client":{<queue>:offset}}`: string keys outside, object keys inside.
fn object_key_nested<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, BTreeMap<MessageQueue, i64>>, D::Error> {
    #[derive(Deserialize)]
    struct Inner(#[serde(deserialize_with = "object_key::map")] BTreeMap<MessageQueue, i64>);
    let outer: BTreeMap<String, Inner> = Deserialize::deserialize(d)?;
    Ok(outer.into_iter().map(|(k, v)| (k, v.0)).collect())
}

impl GetConsumerStatusBody {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::from(r#"{"consumerTable":{"#);
        for (i, (client, table)) in self.consumer_table.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&fastjson::to_string(client));
            out.push(':');
            out.push_str(&queue_map(table));
        }
        out.push_str(r#"},"messageQueueTable":"#);
        out.push_str(&queue_map(&self.message_queue_table));
        out.push('}');
        out.into_bytes()
    }

    pub fn decode(body: &[u8]) -> Result<GetConsumerStatusBody, serde_json::Error> {
        fastjson::from_slice(body)
    }
}

/// One queue's times in [`QueryConsumeTimeSpanBody`]; -1 where unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueTimeSpan {
    pub consume_time_stamp: i64,
    pub delay_time: i64,
    pub max_time_stamp: i64,
    #[serde(serialize_with = "queue_in_order")]
    pub message_queue: MessageQueue,
    pub min_time_stamp: i64,
}

/// QUERY_CONSUME_TIME_SPAN (303).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryConsumeTimeSpanBody {
    pub consume_time_span_set: Vec<QueueTimeSpan>,
}

/// One producer in [`ProducerTableInfo`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerInfo {
    pub client_id: String,
    pub language: String,
    pub last_update_timestamp: i64,
    #[serde(rename = "remoteIP")]
    pub remote_ip: String,
    pub version: i32,
}

/// GET_ALL_PRODUCER_INFO (328): producer group → its producers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerTableInfo {
    pub data: BTreeMap<String, Vec<ProducerInfo>>,
}

/// QUERY_CORRECTION_OFFSET (308): queue id → the lowest offset among the
/// groups asked about (`Long.MAX_VALUE` where the compared group is behind).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryCorrectionOffsetBody {
    pub correction_offsets: BTreeMap<i32, i64>,
}

/// GET_BROKER_CONSUME_STATS (317): per subscription group, one
/// [`ConsumeStats`] per topic it consumes.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStatsList {
    pub broker_addr: String,
    pub consume_stats_list: Vec<BTreeMap<String, Vec<ConsumeStats>>>,
    pub total_diff: i64,
}

impl ConsumeStatsList {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!(r#"{{"brokerAddr":{},"consumeStatsList":["#, fastjson::to_string(&self.broker_addr));
        for (i, groups) in self.consume_stats_list.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('{');
            for (j, (group, stats)) in groups.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str(&fastjson::to_string(group));
                out.push_str(":[");
                let parts: Vec<String> = stats.iter().map(ConsumeStats::to_fastjson).collect();
                out.push_str(&parts.join(","));
                out.push(']');
            }
            out.push('}');
        }
        out.push_str(&format!(r#"],"totalDiff":{}}}"#, self.total_diff));
        out.into_bytes()
    }

    pub fn decode(body: &[u8]) -> Result<ConsumeStatsList, serde_json::Error> {
        fastjson::from_slice(body)
    }
}

/// One consume-queue entry in [`QueryConsumeQueueResponseBody`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeQueueData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_map: Option<String>,
    pub eval: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extend_data_json: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    pub physic_offset: i64,
    pub physic_size: i32,
    pub tags_code: i64,
}

/// QUERY_CONSUME_QUEUE (321).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryConsumeQueueResponseBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_data: Option<String>,
    pub max_queue_index: i64,
    pub min_queue_index: i64,
    pub queue_data: Vec<ConsumeQueueData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<SubscriptionData>,
}

/// One window of [`BrokerStatsData`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatsItem {
    /// Average time per operation, ms.
    pub avgpt: f64,
    pub sum: i64,
    pub tps: f64,
}

/// VIEW_BROKER_STATS_DATA (315): one statistic over the last minute, hour and day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatsData {
    pub stats_day: BrokerStatsItem,
    pub stats_hour: BrokerStatsItem,
    pub stats_minute: BrokerStatsItem,
}

/// UPDATE_AND_CREATE_TOPIC_LIST (18, 5.x): several topics in one request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateTopicListRequestBody {
    pub topic_config_list: Vec<TopicConfig>,
}

json_codec!(
    ConsumerConnection,
    ProducerConnection,
    GroupList,
    QueryConsumeTimeSpanBody,
    ProducerTableInfo,
    QueryCorrectionOffsetBody,
    QueryConsumeQueueResponseBody,
    BrokerStatsData,
    CreateTopicListRequestBody
);

/// GET_SUBSCRIPTIONGROUP_CONFIG's answer is a bare `SubscriptionGroupConfig`.
pub fn encode_group_config(config: &SubscriptionGroupConfig) -> Vec<u8> {
    fastjson::to_vec(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(topic: &str, queue_id: i32) -> MessageQueue {
        MessageQueue::new(topic, "broker-a", queue_id)
    }

    /// `ConsumeStats` as 5.x's fastjson writes it (`ConsumeStats`,
    /// `OffsetWrapper` with `pullOffset`, `MessageQueue`): object keys inline, fields sorted.
    #[test]
    fn consume_stats_java_bytes() {
        let wrapper = |broker_offset, consumer_offset, last_timestamp| OffsetWrapper {
            broker_offset,
            consumer_offset,
            last_timestamp,
            pull_offset: consumer_offset,
        };
        let stats = ConsumeStats {
            consume_tps: 0.0,
            offset_table: BTreeMap::from([(mq("T", 0), wrapper(10, 4, 1700000000000)), (mq("T", 1), wrapper(3, 3, 0))]),
        };
        let java = concat!(
            r#"{"consumeTps":0.0,"offsetTable":{"#,
            r#"{"brokerName":"broker-a","queueId":0,"topic":"T"}:{"brokerOffset":10,"consumerOffset":4,"lastTimestamp":1700000000000,"pullOffset":4},"#,
            r#"{"brokerName":"broker-a","queueId":1,"topic":"T"}:{"brokerOffset":3,"consumerOffset":3,"lastTimestamp":0,"pullOffset":3}}}"#
        );
        assert_eq!(String::from_utf8(stats.encode()).unwrap(), java);
        assert_eq!(ConsumeStats::decode(java.as_bytes()).unwrap(), stats);
        assert_eq!(stats.total_diff(), 6);
        // 4.x writes no pullOffset.
        let four = java.replace(r#","pullOffset":3}"#, "}");
        assert_eq!(ConsumeStats::decode(four.as_bytes()).unwrap().offset_table[&mq("T", 1)].pull_offset, 0);
        let tps = ConsumeStats { consume_tps: 12.5, offset_table: BTreeMap::new() };
        assert_eq!(String::from_utf8(tps.encode()).unwrap(), r#"{"consumeTps":12.5,"offsetTable":{}}"#);
    }

    #[test]
    fn topic_stats_and_reset_offset_java_bytes() {
        let table = TopicStatsTable {
            offset_table: BTreeMap::from([(
                mq("T", 0),
                TopicOffset { last_update_timestamp: 5, max_offset: 9, min_offset: 1 },
            )]),
        };
        let java = r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:{"lastUpdateTimestamp":5,"maxOffset":9,"minOffset":1}}}"#;
        assert_eq!(String::from_utf8(table.encode()).unwrap(), java);
        assert_eq!(TopicStatsTable::decode(java.as_bytes()).unwrap(), table);

        let reset = ResetOffsetBody { offset_table: BTreeMap::from([(mq("T", 0), 7), (mq("T", 1), 0)]) };
        let java = concat!(
            r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:7,"#,
            r#"{"brokerName":"broker-a","queueId":1,"topic":"T"}:0}}"#
        );
        assert_eq!(String::from_utf8(reset.encode()).unwrap(), java);
        assert_eq!(ResetOffsetBody::decode(java.as_bytes()).unwrap(), reset);
        assert_eq!(ResetOffsetBody::decode(b"{}").unwrap(), ResetOffsetBody::default());
    }

    #[test]
    fn consumer_status_nests_object_keys() {
        let body = GetConsumerStatusBody {
            consumer_table: BTreeMap::from([("10.0.0.1@1".to_owned(), BTreeMap::from([(mq("T", 0), 3)]))]),
            message_queue_table: BTreeMap::new(),
        };
        let java = r#"{"consumerTable":{"10.0.0.1@1":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:3}},"messageQueueTable":{}}"#;
        assert_eq!(String::from_utf8(body.encode()).unwrap(), java);
        assert_eq!(GetConsumerStatusBody::decode(java.as_bytes()).unwrap(), body);
    }

    #[test]
    fn connections_and_groups_java_bytes() {
        let conn = ConsumerConnection {
            connection_set: vec![Connection {
                client_addr: "127.0.0.1:50000".into(),
                client_id: "127.0.0.1@42".into(),
                language: "JAVA".into(),
                version: 409,
            }],
            consume_from_where: ConsumeFromWhere::FirstOffset,
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            subscription_table: BTreeMap::new(),
        };
        let java = concat!(
            r#"{"connectionSet":[{"clientAddr":"127.0.0.1:50000","clientId":"127.0.0.1@42","language":"JAVA","version":409}],"#,
            r#""consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","#,
            r#""subscriptionTable":{}}"#
        );
        assert_eq!(String::from_utf8(conn.encode()).unwrap(), java);
        assert_eq!(ConsumerConnection::decode(java.as_bytes()).unwrap(), conn);

        let groups = GroupList { group_list: BTreeSet::from(["g1".to_owned(), "g0".to_owned()]) };
        assert_eq!(String::from_utf8(groups.encode()).unwrap(), r#"{"groupList":["g0","g1"]}"#);

        let producers = ProducerTableInfo {
            data: BTreeMap::from([(
                "pg".to_owned(),
                vec![ProducerInfo {
                    client_id: "c".into(),
                    language: "JAVA".into(),
                    last_update_timestamp: 1,
                    remote_ip: "127.0.0.1:5".into(),
                    version: 409,
                }],
            )]),
        };
        let java = r#"{"data":{"pg":[{"clientId":"c","language":"JAVA","lastUpdateTimestamp":1,"remoteIP":"127.0.0.1:5","version":409}]}}"#;
        assert_eq!(String::from_utf8(producers.encode()).unwrap(), java);
        assert_eq!(ProducerTableInfo::decode(java.as_bytes()).unwrap(), producers);
    }

    #[test]
    fn time_span_writes_its_queue_sorted() {
        let body = QueryConsumeTimeSpanBody {
            consume_time_span_set: vec![QueueTimeSpan {
                consume_time_stamp: 3,
                delay_time: 0,
                max_time_stamp: 4,
                message_queue: mq("T", 2),
                min_time_stamp: 1,
            }],
        };
        let java = concat!(
            r#"{"consumeTimeSpanSet":[{"consumeTimeStamp":3,"delayTime":0,"maxTimeStamp":4,"#,
            r#""messageQueue":{"brokerName":"broker-a","queueId":2,"topic":"T"},"minTimeStamp":1}]}"#
        );
        assert_eq!(String::from_utf8(body.encode()).unwrap(), java);
        assert_eq!(QueryConsumeTimeSpanBody::decode(java.as_bytes()).unwrap(), body);
    }

    #[test]
    fn correction_offsets_have_unquoted_queue_ids() {
        let body = QueryCorrectionOffsetBody { correction_offsets: BTreeMap::from([(0, 5), (1, i64::MAX)]) };
        let java = r#"{"correctionOffsets":{0:5,1:9223372036854775807}}"#;
        assert_eq!(String::from_utf8(body.encode()).unwrap(), java);
        assert_eq!(QueryCorrectionOffsetBody::decode(java.as_bytes()).unwrap(), body);
    }

    #[test]
    fn consume_stats_list_round_trip() {
        let stats = ConsumeStats {
            consume_tps: 0.0,
            offset_table: BTreeMap::from([(mq("T", 0), OffsetWrapper { broker_offset: 2, ..Default::default() })]),
        };
        let list = ConsumeStatsList {
            broker_addr: "127.0.0.1:10911".into(),
            consume_stats_list: vec![BTreeMap::from([("g".to_owned(), vec![stats])])],
            total_diff: 2,
        };
        let java = concat!(
            r#"{"brokerAddr":"127.0.0.1:10911","consumeStatsList":[{"g":[{"consumeTps":0.0,"offsetTable":{"#,
            r#"{"brokerName":"broker-a","queueId":0,"topic":"T"}:{"brokerOffset":2,"consumerOffset":0,"lastTimestamp":0,"pullOffset":0}}}]}],"#,
            r#""totalDiff":2}"#
        );
        assert_eq!(String::from_utf8(list.encode()).unwrap(), java);
        assert_eq!(ConsumeStatsList::decode(java.as_bytes()).unwrap(), list);
    }

    #[test]
    fn stats_data_and_queue_dump() {
        let data = BrokerStatsData {
            stats_minute: BrokerStatsItem { sum: 3, tps: 0.05, avgpt: 0.0 },
            ..BrokerStatsData::default()
        };
        let text = String::from_utf8(data.encode()).unwrap();
        assert!(text.starts_with(r#"{"statsDay":{"avgpt":0.0,"sum":0,"tps":0.0}"#), "{text}");
        assert_eq!(BrokerStatsData::decode(text.as_bytes()).unwrap(), data);
        let dump = QueryConsumeQueueResponseBody {
            max_queue_index: 2,
            queue_data: vec![ConsumeQueueData {
                physic_offset: 0,
                physic_size: 100,
                tags_code: 7,
                ..Default::default()
            }],
            ..QueryConsumeQueueResponseBody::default()
        };
        let java = r#"{"maxQueueIndex":2,"minQueueIndex":0,"queueData":[{"eval":false,"physicOffset":0,"physicSize":100,"tagsCode":7}]}"#;
        assert_eq!(String::from_utf8(dump.encode()).unwrap(), java);
        assert_eq!(QueryConsumeQueueResponseBody::decode(java.as_bytes()).unwrap(), dump);
    }
}
