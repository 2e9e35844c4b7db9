//! Requests no client should send, over real TCP: every body the broker reads
//! mangled (a value of another kind, the text cut short, a byte garbled) and
//! every header field of the common requests given values that cannot mean
//! anything (negative counts, numbers past their type, 300-character names,
//! paths). Each gets an answer on a connection that stays open; none makes
//! the broker panic; afterwards it still serves sends and pulls.

mod common;

use common::{TestBroker, client, create_topic_request, invoke, pull_all, send_request};
use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_testkit::json_forms;
use rmq_testkit::raw::RawClient;
use serde_json::Value;
use std::time::Duration;

const TOPIC: &str = "MangledTopic";

const SUBSCRIPTION: &str = r#"{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000000,"tagsSet":[],"topic":"MangledTopic"}"#;

/// (request code, a body Java would send).
fn bodies() -> Vec<(i32, String)> {
    let mq = r#"{"brokerName":"broker-a","queueId":0,"topic":"MangledTopic"}"#;
    vec![
        (
            34,
            format!(
                r#"{{"clientID":"10.0.0.9@1","consumerDataSet":[{{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"MangledGroup","messageModel":"CLUSTERING","subscriptionDataSet":[{SUBSCRIPTION}],"unitMode":false}}],"producerDataSet":[{{"groupName":"MangledProducer"}}]}}"#
            ),
        ),
        (46, format!(r#"{{"clientId":"10.0.0.9@1","group":"MangledGroup","subscriptionData":{SUBSCRIPTION}}}"#)),
        (41, format!(r#"{{"clientId":"10.0.0.9@1","consumerGroup":"MangledGroup","mqSet":[{mq}],"onlyThisBroker":true}}"#)),
        (42, format!(r#"{{"clientId":"10.0.0.9@1","consumerGroup":"MangledGroup","mqSet":[{mq}],"onlyThisBroker":true}}"#)),
        (
            200,
            r#"{"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"groupName":"MangledGroup2","notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}"#.to_owned(),
        ),
        (
            18,
            r#"{"topicConfigList":[{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"MangledList","topicSysFlag":0,"writeQueueNums":4}]}"#.to_owned(),
        ),
    ]
}

/// Header values that no field can sensibly hold.
fn odd_header_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        "-1",
        "0",
        "-2147483648",
        "2147483647",
        "2147483648",
        "9223372036854775807",
        "-9223372036854775808",
        "18446744073709551616",
        "abc",
        "1.5",
        " 7 ",
        "true",
        "null",
        "../../x",
        "%RETRY%",
        "TBW102",
        "a b",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    values.push("x".repeat(300));
    values
}

/// A request code, the header fields Java would send, and the fields left
/// alone. Pulls keep their suspend flag and timeout: a long poll is a valid
/// answer, only a late one.
type HeaderCase = (i32, Vec<(&'static str, String)>, &'static [&'static str]);

fn headers() -> Vec<HeaderCase> {
    let now = "1700000000000".to_owned();
    let s = |v: &str| v.to_owned();
    vec![
        (
            10,
            vec![
                ("producerGroup", s("pg")),
                ("topic", s(TOPIC)),
                ("defaultTopic", s("TBW102")),
                ("defaultTopicQueueNums", s("4")),
                ("queueId", s("0")),
                ("sysFlag", s("0")),
                ("bornTimestamp", now.clone()),
                ("flag", s("0")),
                ("properties", s("TAGS\u{1}A\u{2}")),
                ("reconsumeTimes", s("0")),
                ("unitMode", s("false")),
                ("batch", s("false")),
                ("maxReconsumeTimes", s("16")),
            ],
            &[],
        ),
        (
            320,
            vec![
                ("a", s("pg")),
                ("b", s(TOPIC)),
                ("c", s("TBW102")),
                ("d", s("4")),
                ("e", s("0")),
                ("f", s("0")),
                ("g", now.clone()),
                ("h", s("0")),
                ("i", s("")),
                ("j", s("0")),
                ("k", s("false")),
                ("m", s("true")),
            ],
            &[],
        ),
        (
            11,
            vec![
                ("consumerGroup", s("MangledGroup")),
                ("topic", s(TOPIC)),
                ("queueId", s("0")),
                ("queueOffset", s("0")),
                ("maxMsgNums", s("32")),
                ("sysFlag", s("2")),
                ("commitOffset", s("0")),
                ("suspendTimeoutMillis", s("0")),
                ("subscription", s("*")),
                ("subVersion", s("0")),
                ("expressionType", s("TAG")),
                ("maxMsgBytes", s("1048576")),
            ],
            &["sysFlag", "suspendTimeoutMillis"],
        ),
        (14, vec![("consumerGroup", s("MangledGroup")), ("topic", s(TOPIC)), ("queueId", s("0"))], &[]),
        (
            15,
            vec![
                ("consumerGroup", s("MangledGroup")),
                ("topic", s(TOPIC)),
                ("queueId", s("0")),
                ("commitOffset", s("1")),
            ],
            &[],
        ),
        (29, vec![("topic", s(TOPIC)), ("queueId", s("0")), ("timestamp", now.clone())], &[]),
        (30, vec![("topic", s(TOPIC)), ("queueId", s("0"))], &[]),
        (31, vec![("topic", s(TOPIC)), ("queueId", s("0"))], &[]),
        (32, vec![("topic", s(TOPIC)), ("queueId", s("0"))], &[]),
        (33, vec![("offset", s("0"))], &[]),
        (
            12,
            vec![
                ("topic", s(TOPIC)),
                ("key", s("k")),
                ("maxNum", s("32")),
                ("beginTimestamp", s("0")),
                ("endTimestamp", now.clone()),
            ],
            &[],
        ),
        (
            36,
            vec![
                ("offset", s("0")),
                ("group", s("MangledGroup")),
                ("delayLevel", s("0")),
                ("originTopic", s(TOPIC)),
                ("maxReconsumeTimes", s("16")),
            ],
            &[],
        ),
        (
            37,
            vec![
                ("producerGroup", s("pg")),
                ("tranStateTableOffset", s("0")),
                ("commitLogOffset", s("0")),
                ("commitOrRollback", s("8")),
                ("fromTransactionCheck", s("false")),
            ],
            &[],
        ),
        (
            17,
            vec![
                ("topic", s("MangledCreated")),
                ("readQueueNums", s("4")),
                ("writeQueueNums", s("4")),
                ("perm", s("6")),
                ("topicFilterType", s("SINGLE_TAG")),
                ("topicSysFlag", s("0")),
                ("order", s("false")),
            ],
            &[],
        ),
        (38, vec![("consumerGroup", s("MangledGroup"))], &[]),
        (202, vec![("topic", s(TOPIC))], &[]),
        (208, vec![("consumerGroup", s("MangledGroup")), ("topic", s(TOPIC))], &[]),
        (
            222,
            vec![
                ("topic", s(TOPIC)),
                ("group", s("MangledGroup")),
                ("timestamp", now.clone()),
                ("isForce", s("false")),
            ],
            &[],
        ),
        (303, vec![("topic", s(TOPIC)), ("group", s("MangledGroup"))], &[]),
        (
            321,
            vec![
                ("topic", s(TOPIC)),
                ("queueId", s("0")),
                ("index", s("0")),
                ("count", s("10")),
                ("consumerGroup", s("MangledGroup")),
            ],
            &[],
        ),
        (
            314,
            vec![
                ("srcGroup", s("MangledGroup")),
                ("destGroup", s("Other")),
                ("topic", s(TOPIC)),
                ("offline", s("false")),
            ],
            &[],
        ),
        (351, vec![("topic", s(TOPIC))], &[]),
    ]
}

fn ext(pairs: &[(&str, String)]) -> String {
    let map: serde_json::Map<String, Value> =
        pairs.iter().map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect();
    Value::Object(map).to_string()
}

/// The transport turns a handler's panic into SYSTEM_ERROR "handler
/// panicked: …" so the connection survives; here that still fails the test.
fn assert_no_panic(response: &RemotingCommand, what: impl Fn() -> String) {
    assert!(response.is_response());
    let remark = response.remark.as_deref().unwrap_or("");
    assert!(!remark.contains("panicked"), "{}: {remark}", what());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mangled_bodies_and_headers_get_answers_and_leave_the_broker_serving() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (producer, _) = client();
    assert_eq!(invoke(&producer, &broker.addr, create_topic_request(TOPIC, 2, 6)).await.code, 0);
    assert_eq!(invoke(&producer, &broker.addr, send_request("pg", TOPIC, 0, 0, &[], b"before")).await.code, 0);

    let mut raw = RawClient::connect(&broker.addr).await.unwrap();
    let mut rng = fastrand::Rng::with_seed(2026);
    let mut answered = 0;
    for (code, body) in bodies() {
        for _ in 0..40 {
            for mangled in json_forms::mangle(&body, &mut rng) {
                let r = raw.call(code, "{}", &mangled).await;
                let r = r.unwrap_or_else(|e| panic!("code {code}, body {}: {e}", String::from_utf8_lossy(&mangled)));
                assert_no_panic(&r, || format!("code {code}, body {}", String::from_utf8_lossy(&mangled)));
                answered += 1;
            }
        }
    }
    for (code, baseline, keep) in headers() {
        for (i, (key, _)) in baseline.iter().enumerate() {
            if keep.contains(key) {
                continue;
            }
            for value in odd_header_values() {
                let mut fields = baseline.clone();
                fields[i].1 = value.clone();
                let body: &[u8] = if matches!(code, 10 | 320) { b"mangled" } else { b"" };
                let r = raw.call(code, &ext(&fields), body).await;
                let r = r.unwrap_or_else(|e| panic!("code {code}, {key}={value:?}: {e}"));
                assert_no_panic(&r, || format!("code {code}, {key}={value:?}"));
                answered += 1;
            }
        }
    }
    assert!(answered > 2000, "{answered}");

    // The broker still serves a plain producer and consumer.
    assert_eq!(invoke(&producer, &broker.addr, send_request("pg", TOPIC, 1, 0, &[], b"after")).await.code, 0);
    let got = pull_all(&producer, &broker.addr, TOPIC, 1, ("*", "TAG"), 1, Duration::from_secs(5)).await;
    assert!(got.contains(&"after".to_owned()), "{got:?}");
    let r = raw.call(38, &ext(&[("consumerGroup", "nobody".into())]), b"").await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    broker.stop().await;
}
