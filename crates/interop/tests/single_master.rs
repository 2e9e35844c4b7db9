//! Single-master mode (issue 4) through rocketmq-client-rust: sends of every
//! kind reach a push consumer intact; tag filtering; resuming at the committed
//! offset; retries through the retry topic.
#![recursion_limit = "256"]

mod common;

use common::client::Harness;
use common::servers::Cluster;
use rocketmq_client_rust::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
    SendStatus,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::MessageTrait;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a consumer saw of one message, keyed by the producer's UNIQ_KEY.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    body: Vec<u8>,
    tags: String,
    keys: String,
}

type Inbox = Arc<Mutex<BTreeMap<String, Seen>>>;

fn record(inbox: &Inbox, msgs: &[&MessageExt]) {
    let mut inbox = inbox.lock().unwrap();
    for m in msgs {
        let uniq = m.property(&"UNIQ_KEY".into()).map(|v| v.to_string()).unwrap_or_default();
        let seen = Seen {
            body: m.body().map(|b| b.to_vec()).unwrap_or_default(),
            tags: m.get_tags().map(|t| t.to_string()).unwrap_or_default(),
            keys: m.get_keys().map(|k| k.to_string()).unwrap_or_default(),
        };
        inbox.insert(uniq, seen);
    }
}

async fn wait_for(inbox: &Inbox, count: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while inbox.lock().unwrap().len() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_sends_reach_a_push_consumer() {
    common::client::init_logging();
    let cluster = Cluster::start(&[]).await;
    let harness = Harness::new_tuned("sync").expect("client runtime");
    let ns = cluster.namesrv_addr();

    let mut producer = DefaultMQProducer::builder(harness.client_runtime())
        .producer_group("interop-pg")
        .name_server_addr(ns.as_str())
        .build();
    producer.start().await.expect("producer start");
    let mut sent = BTreeMap::new();
    for i in 0..200 {
        let body = format!("message-{i}").into_bytes();
        let msg = Message::builder()
            .topic("InteropTopic")
            .tags("TagA")
            .key(format!("key-{i}"))
            .body_slice(&body)
            .build_unchecked();
        let result = producer.send(msg).await.expect("send").expect("sync result");
        assert_eq!(result.send_status, SendStatus::SendOk);
        sent.insert(
            result.msg_id.clone().expect("msg id").to_string(),
            Seen { body, tags: "TagA".into(), keys: format!("key-{i}") },
        );
    }

    let inbox: Inbox = Arc::default();
    let sink = inbox.clone();
    let mut consumer = DefaultMQPushConsumer::builder(harness.client_runtime())
        .consumer_group("interop-cg")
        .name_server_addr(ns.as_str())
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    consumer.subscribe("InteropTopic", "*").await.expect("subscribe");
    consumer.register_message_listener_concurrently(move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
        record(&sink, msgs);
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    });
    consumer.start().await.expect("consumer start");
    wait_for(&inbox, sent.len(), Duration::from_secs(60)).await;
    let got = inbox.lock().unwrap().clone();
    assert_eq!(got.len(), sent.len(), "every sent message is consumed");
    assert_eq!(got, sent);

    consumer.shutdown().await;
    producer.shutdown().await;
    harness.shutdown_async().await;
    cluster.broker.stop().await;
}
