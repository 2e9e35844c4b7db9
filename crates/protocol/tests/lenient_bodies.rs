//! Every request body rmq reads, in the forms non-Java clients write it.
//!
//! Each case starts from a body as Java writes it (fastjson: keys sorted,
//! enums by name, numbers as numbers) and rewrites it the way other clients
//! do: numbers as strings (with stray spaces), enums as ordinals, booleans as
//! `1`/`"true"`, keys in another case or snake_case, unknown keys added, a
//! field dropped or `null`, whitespace and a trailing newline. The rewritten
//! body must decode to the same value as the original (a dropped or `null`
//! field to the type's default for it), exactly as Java's fastjson binds it.
//! A second property mangles bodies arbitrarily: decoding may fail, never panic.
//!
//! Samples keep their map keys (topic, group and broker names) out of the
//! shape `^[a-z][a-zA-Z]*$`, which the key rewriting takes for field names.

use proptest::prelude::*;
use rmq_model::fastjson;
use rmq_model::tables::{
    ConsumerOffsetSerializeWrapper, DelayOffsetSerializeWrapper, SubscriptionGroupWrapper, TopicConfigSerializeWrapper,
};
use rmq_model::{DataVersion, SubscriptionGroupConfig, TopicConfig};
use rmq_protocol::body::admin::{CreateTopicListRequestBody, GetConsumerStatusBody, ResetOffsetBody};
use rmq_protocol::body::cluster::ClusterInfo;
use rmq_protocol::body::heartbeat::{CheckClientRequestBody, ConsumerData, HeartbeatData, SubscriptionData};
use rmq_protocol::body::kv::KvTable;
use rmq_protocol::body::lock::LockBatchRequestBody;
use rmq_protocol::body::register::{RegisterBrokerBody, VERSION_REGISTER_BODY};
use rmq_protocol::body::route::TopicRouteData;
use rmq_protocol::body::topic_list::TopicList;
use rmq_testkit::json_forms::{self, Rewrite, apply, render};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt::Debug;

const DATA_VERSION: &str = r#"{"counter":3,"stateVersion":0,"timestamp":1700000000000}"#;
const SUBSCRIPTION: &str = r#"{"classFilterMode":false,"codeSet":[2598919,2598920],"expressionType":"TAG","subString":"TagA || TagB","subVersion":1700000000000,"tagsSet":["TagA","TagB"],"topic":"TopicTest"}"#;
const TOPIC_CONFIG: &str = r#"{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"MULTI_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":8}"#;
const GROUP_CONFIG: &str = r#"{"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":false,"consumeFromMinEnable":true,"groupName":"GroupA","notifyConsumerIdsChangedEnable":true,"retryMaxTimes":3,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}"#;

fn heartbeat() -> String {
    format!(
        r#"{{"clientID":"192.168.0.2@1234","consumerDataSet":[{{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"GroupA","messageModel":"BROADCASTING","subscriptionDataSet":[{SUBSCRIPTION}],"unitMode":false}}],"producerDataSet":[{{"groupName":"ProducerA"}}]}}"#
    )
}

/// A Java-shaped body rewritten by `r` decodes to the value the original does.
fn same_meaning<T: DeserializeOwned + PartialEq + Debug>(java: &str, r: Rewrite, seed: u64) {
    let expected: T = fastjson::from_str(java).unwrap_or_else(|e| panic!("the Java sample must decode: {e}\n{java}"));
    let original: Value = serde_json::from_str(&fastjson::normalize(java)).unwrap();
    let mut rng = fastrand::Rng::with_seed(seed);
    let text = render(&apply(&original, r, &mut rng), r);
    let decoded: T = fastjson::from_str(&text).unwrap_or_else(|e| panic!("{r:?}: {e}\n{text}"));
    assert_eq!(decoded, expected, "{r:?}\n{text}");
}

/// Dropping a top-level field, or writing `null` for it, gives the type's
/// default for that field (what Java's constructor sets).
fn missing_means_default<T: DeserializeOwned + Serialize + Default + PartialEq + Debug>(java: &str, seed: u64) {
    let original: Value = serde_json::from_str(&fastjson::normalize(java)).unwrap();
    let Value::Object(fields) = &original else { panic!("a body is an object") };
    let defaults = serde_json::to_value(T::default()).unwrap();
    let key = fields.keys().nth(seed as usize % fields.len()).unwrap().clone();
    let mut reset = fields.clone();
    match defaults.get(&key) {
        Some(default) => reset.insert(key.clone(), default.clone()),
        None => reset.remove(&key),
    };
    let expected: T = fastjson::from_value(&Value::Object(reset)).unwrap();
    let mut dropped = fields.clone();
    dropped.remove(&key);
    let mut nulled = fields.clone();
    nulled.insert(key.clone(), Value::Null);
    for (form, body) in [("dropped", dropped), ("null", nulled)] {
        let decoded: T = fastjson::from_value(&Value::Object(body)).unwrap_or_else(|e| panic!("{key} {form}: {e}"));
        assert_eq!(decoded, expected, "{key} {form}");
    }
}

/// Mangled bodies: decoding answers Ok or Err, it does not panic.
fn mangle_never_panics<T: DeserializeOwned>(java: &str, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    for body in json_forms::mangle(&fastjson::normalize(java), &mut rng) {
        let _ = fastjson::from_slice::<T>(&body);
    }
}

fn rewrite_strategy() -> impl Strategy<Value = (Rewrite, u64)> {
    (any::<[bool; 6]>(), any::<u64>()).prop_map(|(flags, seed)| (Rewrite::from_flags(flags), seed))
}

macro_rules! body_cases {
    ($($name:ident: $ty:ty = $sample:expr;)*) => {$(
        mod $name {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(96))]
                #[test]
                fn rewritten_bodies_mean_the_same((r, seed) in rewrite_strategy()) {
                    same_meaning::<$ty>(&$sample, r, seed);
                }
                #[test]
                fn mangled_bodies_never_panic(seed in any::<u64>()) {
                    mangle_never_panics::<$ty>(&$sample, seed);
                }
            }
        }
    )*};
}

macro_rules! default_cases {
    ($($name:ident: $ty:ty = $sample:expr;)*) => {$(
        mod $name {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(32))]
                #[test]
                fn missing_or_null_fields_read_as_defaults(seed in any::<u64>()) {
                    missing_means_default::<$ty>(&$sample, seed);
                }
            }
        }
    )*};
}

fn register_body() -> String {
    format!(
        r#"{{"filterServerList":["10.0.0.1:20000"],"topicConfigSerializeWrapper":{{"dataVersion":{DATA_VERSION},"topicConfigTable":{{"TopicTest":{TOPIC_CONFIG}}}}}}}"#
    )
}

body_cases! {
    heartbeat_data: HeartbeatData = heartbeat();
    consumer_data: ConsumerData = serde_json::to_string(&serde_json::from_str::<Value>(&heartbeat()).unwrap()["consumerDataSet"][0]).unwrap();
    subscription_data: SubscriptionData = SUBSCRIPTION;
    check_client_config: CheckClientRequestBody = format!(r#"{{"clientId":"c1","group":"GroupA","subscriptionData":{SUBSCRIPTION}}}"#);
    lock_batch: LockBatchRequestBody = r#"{"clientId":"10.0.0.3@77","consumerGroup":"GroupA","mqSet":[{"brokerName":"broker-a","queueId":1,"topic":"TopicTest"},{"brokerName":"broker-a","queueId":2,"topic":"TopicTest"}],"onlyThisBroker":true}"#;
    topic_config: TopicConfig = TOPIC_CONFIG;
    topic_config_wrapper: TopicConfigSerializeWrapper = format!(r#"{{"dataVersion":{DATA_VERSION},"topicConfigTable":{{"TopicTest":{TOPIC_CONFIG}}}}}"#);
    register_broker: RegisterBrokerBody = register_body();
    create_topic_list: CreateTopicListRequestBody = format!(r#"{{"topicConfigList":[{TOPIC_CONFIG}]}}"#);
    subscription_group: SubscriptionGroupConfig = GROUP_CONFIG;
    subscription_group_wrapper: SubscriptionGroupWrapper = format!(r#"{{"dataVersion":{DATA_VERSION},"subscriptionGroupTable":{{"GroupA":{GROUP_CONFIG}}}}}"#);
    consumer_offsets: ConsumerOffsetSerializeWrapper = r#"{"offsetTable":{"TopicTest@GroupA":{0:12,1:7}}}"#;
    delay_offsets: DelayOffsetSerializeWrapper = r#"{"offsetTable":{1:100,2:200}}"#;
    data_version: DataVersion = DATA_VERSION;
    kv_table: KvTable = r#"{"table":{"TopicOrder":"broker-a:4;broker-b:4","TopicX":"broker-a:8"}}"#;
    topic_list: TopicList = r#"{"brokerAddr":"10.0.0.1:10911","topicList":["TopicTest","TBW102"]}"#;
    cluster_info: ClusterInfo = r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#;
    topic_route: TopicRouteData = r#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"orderTopicConf":"broker-a:4","queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;
    reset_offset: ResetOffsetBody = r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:12,{"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}:3}}"#;
    consumer_status: GetConsumerStatusBody = r#"{"consumerTable":{"10.0.0.3@77":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:12}},"messageQueueTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:12}}"#;
}

default_cases! {
    heartbeat_defaults: HeartbeatData = heartbeat();
    subscription_defaults: SubscriptionData = SUBSCRIPTION;
    lock_batch_defaults: LockBatchRequestBody = r#"{"clientId":"c","consumerGroup":"GroupA","mqSet":[{"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}],"onlyThisBroker":true}"#;
    topic_config_defaults: TopicConfig = TOPIC_CONFIG;
    group_config_defaults: SubscriptionGroupConfig = GROUP_CONFIG;
    data_version_defaults: DataVersion = DATA_VERSION;
}

/// The register body also travels in its pre-4.x-body form and through
/// `RegisterBrokerBody::decode`, which the NameServer calls.
#[test]
fn register_body_decodes_through_its_own_entry_point() {
    let mut rng = fastrand::Rng::with_seed(7);
    let r = Rewrite::all();
    let original: Value = serde_json::from_str(&register_body()).unwrap();
    let text = render(&apply(&original, r, &mut rng), r);
    let body = RegisterBrokerBody::decode(text.as_bytes(), false, VERSION_REGISTER_BODY).unwrap();
    let config = &body.topic_config_serialize_wrapper.topic_config_table["TopicTest"];
    assert_eq!((config.read_queue_nums, config.write_queue_nums, config.perm), (4, 8, 6));
    assert_eq!(config.topic_filter_type, rmq_model::TopicFilterType::MultiTag);
    assert_eq!(body.filter_server_list, vec!["10.0.0.1:20000"]);
}
