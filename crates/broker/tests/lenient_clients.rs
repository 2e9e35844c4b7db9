//! Clients that write RocketMQ's JSON their own way, over real TCP: the C++
//! client (and the Python, Node and PHP wrappers built on it) sends enums as
//! ordinals, numbers as strings and JSON headers ending in a newline. Java's
//! broker accepts all of it through fastjson, so rmq must too.

mod common;

use common::{TestBroker, client, create_topic_request, invoke, pulled_bodies, send_request};
use rmq_model::fastjson;
use rmq_protocol::body::admin::ConsumerConnection;
use rmq_protocol::body::heartbeat::{ConsumeFromWhere, ConsumeType, ConsumerIdList, MessageModel};
use rmq_protocol::{RequestCode, ResponseCode};
use rmq_testkit::json_forms::{self, Rewrite};
use rmq_testkit::raw::RawClient;
use serde_json::Value;
use std::collections::BTreeSet;

const TOPIC: &str = "SNIFF_T";
const SUB_VERSION: i64 = 1796488531996;

/// A heartbeat exactly as rocketmq-client-cpp 2.x writes it (captured).
fn cpp_heartbeat(client_id: &str, group: &str) -> String {
    format!(
        r#"{{"clientID":"{client_id}","consumerDataSet":[{{"consumeFromWhere":0,"consumeType":1,"groupName":"{group}","messageModel":1,"subscriptionDataSet":[{{"subString":"*","subVersion":"{SUB_VERSION}","topic":"%RETRY%{group}"}},{{"subString":"*","subVersion":"{SUB_VERSION}","topic":"{TOPIC}"}}]}}]}}"#
    ) + "\n"
}

/// The same consumer as Java writes it, for the rewrites to start from.
fn java_heartbeat(client_id: &str, group: &str) -> String {
    format!(
        r#"{{"clientID":"{client_id}","consumerDataSet":[{{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"{group}","messageModel":"CLUSTERING","subscriptionDataSet":[{{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":{SUB_VERSION},"tagsSet":[],"topic":"{TOPIC}"}}],"unitMode":false}}],"producerDataSet":[]}}"#
    )
}

fn ext(pairs: &[(&str, String)]) -> String {
    let map: serde_json::Map<String, Value> =
        pairs.iter().map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect();
    Value::Object(map).to_string()
}

async fn consumer_ids(raw: &mut RawClient, group: &str) -> Vec<String> {
    let r = raw.call(38, &ext(&[("consumerGroup", group.into())]), b"").await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success, "{group}: {:?}", r.remark);
    fastjson::from_slice::<ConsumerIdList>(&r.body.to_bytes()).unwrap().consumer_id_list
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_in_every_client_form_register_the_consumer() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let mut raw = RawClient::connect(&broker.addr).await.unwrap();
    let mut forms: Vec<(String, Rewrite)> = (0..6)
        .map(|i| {
            let mut flags = [false; 6];
            flags[i] = true;
            (format!("form-{i}"), Rewrite::from_flags(flags))
        })
        .collect();
    forms.push(("all-forms".into(), Rewrite::all()));
    let mut rng = fastrand::Rng::with_seed(13);
    for (i, (name, rewrite)) in forms.iter().enumerate() {
        // Some clients write the language as its ordinal (CPP = 1).
        raw.language = if i % 2 == 0 { "\"CPP\"".into() } else { "1".into() };
        let group = format!("CG_{name}");
        let client_id = format!("10.0.0.{i}@{name}");
        let java: Value = serde_json::from_str(&java_heartbeat(&client_id, &group)).unwrap();
        let body = json_forms::render(&json_forms::apply(&java, *rewrite, &mut rng), *rewrite);
        let r = raw.call(34, "{}", body.as_bytes()).await.unwrap();
        assert_eq!(r.response_code(), ResponseCode::Success, "{name}: {:?}\n{body}", r.remark);
        assert_eq!(consumer_ids(&mut raw, &group).await, vec![client_id.clone()], "{name}");

        let r = raw.call(203, &ext(&[("consumerGroup", group.clone())]), b"").await.unwrap();
        let connection: ConsumerConnection = fastjson::from_slice(&r.body.to_bytes()).unwrap();
        assert_eq!(connection.consume_type, ConsumeType::ConsumePassively, "{name}");
        assert_eq!(connection.message_model, MessageModel::Clustering, "{name}");
        assert_eq!(connection.consume_from_where, ConsumeFromWhere::FirstOffset, "{name}");
        assert_eq!(connection.subscription_table[TOPIC].sub_version, SUB_VERSION, "{name}");
    }

    // The captured C++ heartbeat itself.
    let r = raw.call(34, "{}", cpp_heartbeat("19803-127.0.0.1@DEFAULT", "SNIFF_CG").as_bytes()).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(consumer_ids(&mut raw, "SNIFF_CG").await, vec!["19803-127.0.0.1@DEFAULT"]);
    broker.stop().await;
}

/// Two C++ clustering consumers split the topic's queues between them (the
/// client's averaging allocation, over the ids the broker lists) and between
/// them receive every message, each only from its own queues.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpp_clustering_consumers_share_the_queues_and_get_every_message() {
    const GROUP: &str = "SNIFF_CG";
    const QUEUES: i32 = 4;
    const MESSAGES: usize = 40;
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (producer, _) = client();
    assert_eq!(invoke(&producer, &broker.addr, create_topic_request(TOPIC, QUEUES, 6)).await.code, 0);

    let ids = ["19803-127.0.0.1@DEFAULT", "19804-127.0.0.1@DEFAULT"];
    let mut consumers = Vec::new();
    for id in ids {
        let mut raw = RawClient::connect(&broker.addr).await.unwrap();
        let r = raw.call(34, "{}", cpp_heartbeat(id, GROUP).as_bytes()).await.unwrap();
        assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
        consumers.push((id, raw));
    }
    let listed = consumer_ids(&mut consumers[0].1, GROUP).await;
    assert_eq!(
        listed.iter().collect::<BTreeSet<_>>(),
        ids.iter().map(|s| s.to_string()).collect::<Vec<_>>().iter().collect()
    );

    let mut sent = BTreeSet::new();
    for i in 0..MESSAGES {
        let body = format!("msg-{i}");
        let r = invoke(&producer, &broker.addr, send_request("pg", TOPIC, i as i32 % QUEUES, 0, &[], body.as_bytes()))
            .await;
        assert_eq!(r.code, 0, "{:?}", r.remark);
        sent.insert(body);
    }

    let mut received = BTreeSet::new();
    let mut sorted_ids = listed.clone();
    sorted_ids.sort();
    for (id, raw) in &mut consumers {
        let index = sorted_ids.iter().position(|s| s == id).unwrap() as i32;
        let per_client = QUEUES / sorted_ids.len() as i32;
        let mine: Vec<i32> = (index * per_client..(index + 1) * per_client).collect();
        for queue in mine {
            let got = consume_queue(raw, GROUP, queue).await;
            assert_eq!(got.len(), MESSAGES / QUEUES as usize, "{id} queue {queue}: {got:?}");
            for body in got {
                let n: usize = body.trim_start_matches("msg-").parse().unwrap();
                assert_eq!(n as i32 % QUEUES, queue, "only its own queue's messages");
                assert!(received.insert(body), "delivered once");
            }
        }
    }
    assert_eq!(received, sent);
    broker.stop().await;
}

/// What the C++ push consumer does for one queue: ask where the group stands,
/// pull from there with string-typed header values until nothing is left,
/// commit the offset, and read it back.
async fn consume_queue(raw: &mut RawClient, group: &str, queue: i32) -> Vec<String> {
    let where_ = ext(&[("consumerGroup", group.into()), ("topic", TOPIC.into()), ("queueId", queue.to_string())]);
    let r = raw.call(RequestCode::QueryConsumerOffset.to_i32(), &where_, b"").await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let mut offset: i64 = r.ext("offset").unwrap().parse().unwrap();
    let mut bodies = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while bodies.len() < 10 && tokio::time::Instant::now() < deadline {
        let pull = ext(&[
            ("consumerGroup", group.into()),
            ("topic", TOPIC.into()),
            ("queueId", format!(" {queue} ")),
            ("queueOffset", offset.to_string()),
            ("maxMsgNums", "32".into()),
            // Suspend, no subscription in the request: the broker filters by
            // what the heartbeat registered, as for the C++ push consumer.
            ("sysFlag", "2".into()),
            ("commitOffset", "0".into()),
            ("suspendTimeoutMillis", "0".into()),
            ("subscription", "*".into()),
            ("subVersion", SUB_VERSION.to_string()),
        ]);
        let r = raw.call(RequestCode::PullMessage.to_i32(), &pull, b"").await.unwrap();
        match r.response_code() {
            ResponseCode::Success => {
                bodies.extend(pulled_bodies(&r));
                offset = r.ext("nextBeginOffset").unwrap().parse().unwrap();
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    let commit = ext(&[
        ("consumerGroup", group.into()),
        ("topic", TOPIC.into()),
        ("queueId", queue.to_string()),
        ("commitOffset", offset.to_string()),
    ]);
    let r = raw.call(RequestCode::UpdateConsumerOffset.to_i32(), &commit, b"").await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let r = raw.call(RequestCode::QueryConsumerOffset.to_i32(), &where_, b"").await.unwrap();
    assert_eq!(r.ext("offset"), Some(offset.to_string().as_str()));
    bodies
}

/// Header values in the JSON types other clients write, and values no
/// conversion can read: the latter get SYSTEM_ERROR naming the field and the
/// value, and the connection goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_fields_in_client_forms_and_values_that_mean_nothing() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (producer, _) = client();
    assert_eq!(invoke(&producer, &broker.addr, create_topic_request("FormsTopic", 2, 6)).await.code, 0);
    let r = invoke(&producer, &broker.addr, send_request("pg", "FormsTopic", 1, 0, &[], b"hello")).await;
    assert_eq!(r.code, 0);

    let mut raw = RawClient::connect(&broker.addr).await.unwrap();
    // The header's own fields as strings, ext values as JSON numbers and
    // booleans, a newline after the header.
    let header = r#"{"code":"11","extFields":{"consumerGroup":"forms","topic":"FormsTopic","queueId":1,"queueOffset":" 0 ","maxMsgNums":32.0,"sysFlag":4,"commitOffset":0,"suspendTimeoutMillis":"0","subscription":"*","subVersion":1796488531996},"flag":"0","language":9,"opaque":"77","serializeTypeCurrentRPC":"JSON","version":"431"}"#;
    let mut dispatched = false;
    for _ in 0..100 {
        let r = raw.call_raw(format!("{header}\n").as_bytes(), b"", 77).await.unwrap();
        if r.response_code() == ResponseCode::Success {
            assert_eq!(pulled_bodies(&r), vec!["hello"]);
            dispatched = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(dispatched, "the pull in client forms found the message");

    for (key, value) in [("queueId", "abc"), ("queueId", "3000000000"), ("queueOffset", "1.5"), ("maxMsgNums", "x")] {
        let mut pairs = vec![
            ("consumerGroup", "forms".to_owned()),
            ("topic", "FormsTopic".to_owned()),
            ("queueId", "1".to_owned()),
            ("queueOffset", "0".to_owned()),
            ("maxMsgNums", "32".to_owned()),
            ("sysFlag", "4".to_owned()),
        ];
        pairs.retain(|(k, _)| *k != key);
        pairs.push((key, value.to_owned()));
        let r = raw.call(RequestCode::PullMessage.to_i32(), &ext(&pairs), b"").await.unwrap();
        assert_eq!(r.response_code(), ResponseCode::SystemError, "{key}={value}");
        let remark = r.remark.unwrap_or_default();
        assert!(remark.contains(key) && remark.contains(value), "{key}={value}: {remark}");
    }

    // A delay level that is no number is refused, naming it (Java's
    // Integer.parseInt fails the send).
    let r = invoke(&producer, &broker.addr, send_request("pg", "FormsTopic", 0, 0, &[("DELAY", "soon")], b"x")).await;
    assert_eq!(r.response_code(), ResponseCode::MessageIllegal);
    assert!(r.remark.unwrap_or_default().contains("DELAY has an illegal value 'soon'"));
    let r = invoke(
        &producer,
        &broker.addr,
        send_request("pg", "FormsTopic", 0, 0, &[("DELAY", " 1 "), ("WAIT", "FALSE")], b"x"),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);

    // A heartbeat body that cannot mean anything names the field and value.
    let bad = r#"{"clientID":"c","consumerDataSet":[{"groupName":"G","messageModel":7}]}"#;
    let r = raw.call(34, "{}", bad.as_bytes()).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    let remark = r.remark.unwrap_or_default();
    assert!(remark.contains("consumerDataSet[0].messageModel") && remark.contains('7'), "{remark}");
    let r = raw
        .call(34, "{}", br#"{"clientID":"c","consumerDataSet":[{"groupName":"G","consumeType":"PUSHY"}]}"#)
        .await
        .unwrap();
    assert!(r.remark.unwrap_or_default().contains("PUSHY"));

    // Still served after all of it.
    let r = raw.call(34, "{}", cpp_heartbeat("after@1", "AFTER").as_bytes()).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success);
    broker.stop().await;
}
