//! SQL92 filtering (issue 5) through rocketmq-client-rust: a push consumer
//! subscribed with `MessageSelector::by_sql` receives exactly the messages
//! whose properties match; a malformed expression is refused when the
//! consumer subscribes (CHECK_CLIENT_CONFIG answers 23) and delivers nothing.
#![recursion_limit = "256"]
// The third-party client's futures are large; boxing every call would only add noise here.
#![allow(clippy::large_futures)]

mod common;

use common::client::Harness;
use common::servers::Cluster;
use rocketmq_client_rust::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
    MessageSelector,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::MessageTrait;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOPIC: &str = "SqlTopic";

type Inbox = Arc<Mutex<Vec<String>>>;

async fn sql_consumer(
    harness: &Harness,
    ns: &str,
    group: &str,
    sql: &str,
    inbox: &Inbox,
) -> (DefaultMQPushConsumer, bool) {
    let sink = inbox.clone();
    let mut consumer = DefaultMQPushConsumer::builder(harness.client_runtime())
        .consumer_group(group)
        .name_server_addr(ns)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    consumer.subscribe_with_selector(TOPIC, Some(MessageSelector::by_sql(sql))).await.expect("subscribe");
    consumer.register_message_listener_concurrently(move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
        let mut sink = sink.lock().unwrap();
        for m in msgs {
            sink.push(
                String::from_utf8_lossy(m.body().map(|b| b.to_vec()).unwrap_or_default().as_slice()).into_owned(),
            );
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    });
    let started = consumer.start().await.is_ok();
    (consumer, started)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sql92_subscription_receives_exactly_the_matching_messages() {
    let cluster = Cluster::start(&[("enablePropertyFilter", "true")]).await;
    let ns = cluster.namesrv_addr();
    let harness = Harness::new_tuned("sql92").expect("client runtime");
    let mut producer =
        DefaultMQProducer::builder(harness.client_runtime()).producer_group("sql-pg").name_server_addr(&ns).build();
    producer.start().await.expect("producer start");
    let mut expected = BTreeSet::new();
    for i in 0..40 {
        let tag = if i % 3 == 0 { "Skip" } else { "Keep" };
        let mut msg =
            Message::builder().topic(TOPIC).tags(tag).body_slice(format!("m{i}").as_bytes()).build_unchecked();
        msg.put_user_property("a".into(), i.to_string().into()).expect("property");
        if i % 7 == 0 {
            msg.put_user_property("region".into(), "north".into()).expect("property");
        }
        producer.send(msg).await.expect("send");
        if ((10..=25).contains(&i) && tag != "Skip") || i % 7 == 0 {
            expected.insert(format!("m{i}"));
        }
    }

    let inbox: Inbox = Arc::default();
    let sql = "(a BETWEEN 10 AND 25 AND TAGS <> 'Skip') OR region IN ('north', 'south')";
    let (mut good, started) = sql_consumer(&harness, &ns, "sql-cg", sql, &inbox).await;
    assert!(started, "a valid expression is accepted");
    let bad_inbox: Inbox = Arc::default();
    let (mut bad, bad_started) = sql_consumer(&harness, &ns, "sql-bad-cg", "a BETWEEN 5 AND", &bad_inbox).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    while inbox.lock().unwrap().len() < expected.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got: Vec<String> = inbox.lock().unwrap().clone();
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(got.len(), expected.len(), "no duplicates: {got:?}");
    assert!(bad_inbox.lock().unwrap().is_empty(), "a malformed expression receives nothing");
    eprintln!(
        "consumer with a malformed expression: start() {}",
        if bad_started { "succeeded (the client only logs the refusal)" } else { "failed" }
    );

    bad.shutdown().await;
    good.shutdown().await;
    producer.shutdown().await;
    harness.shutdown_async().await;
}
