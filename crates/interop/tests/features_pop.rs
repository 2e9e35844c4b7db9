//! POP consumption (issue 15) through rocketmq-client-rust: a push consumer
//! with server-side rebalancing asks the broker for its assignment
//! (QUERY_ASSIGNMENT), is told POP, and consumes every message by
//! POP_MESSAGE with batch acks; messages its listener fails are handed back
//! with CHANGE_MESSAGE_INVISIBLETIME and come again with reconsumeTimes 1.
#![recursion_limit = "256"]
#![allow(clippy::large_futures)]

mod common;

use common::client::Harness;
use common::servers::Cluster;
use rocketmq_client_rust::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::MessageTrait;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOPIC: &str = "PopInteropTopic";
const GROUP: &str = "pop-interop-cg";
const COUNT: usize = 200;

/// Every delivery: body → reconsume times seen, in order.
type Deliveries = Arc<Mutex<BTreeMap<String, Vec<i32>>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_pop_consumer_gets_every_message_and_its_retries() {
    // SAFETY: set before any client exists; this test binary has this one test.
    unsafe {
        std::env::set_var("rocketmq.client.rebalance.waitInterval", "2000");
    }
    common::client::init_logging();
    // Every group without a setConsumeMode entry consumes by POP.
    let cluster = Cluster::start(&[("defaultMessageRequestMode", "POP")]).await;
    let ns = cluster.namesrv_addr();
    let harness = Harness::new_tuned("pop").expect("client runtime");
    let mut producer = DefaultMQProducer::builder(harness.client_runtime())
        .producer_group("pop-interop-pg")
        .name_server_addr(&ns)
        .build();
    producer.start().await.expect("producer start");
    for i in 0..COUNT {
        let body = if i % 20 == 0 { format!("fail-once-{i}") } else { format!("m-{i}") };
        let msg = Message::builder().topic(TOPIC).tags("T").body_slice(body.as_bytes()).build_unchecked();
        producer.send(msg).await.expect("send");
    }

    let seen: Deliveries = Arc::default();
    let sink = seen.clone();
    let mut consumer = DefaultMQPushConsumer::builder(harness.client_runtime())
        .consumer_group(GROUP)
        .name_server_addr(&ns)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .client_rebalance(false)
        .build();
    consumer.subscribe(TOPIC, "*").await.expect("subscribe");
    consumer.register_message_listener_concurrently(move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
        let mut seen = sink.lock().unwrap();
        let mut fail = false;
        for m in msgs {
            let body = String::from_utf8_lossy(m.body().as_deref().unwrap_or_default()).into_owned();
            fail |= body.starts_with("fail-once") && m.reconsume_times() == 0;
            // A popped message carries its receipt handle; a pulled one does not.
            assert!(
                m.property(&cheetah_string::CheetahString::from_static_str("POP_CK")).is_some(),
                "{body} was not popped"
            );
            seen.entry(body).or_default().push(m.reconsume_times());
        }
        Ok(if fail { ConsumeConcurrentlyStatus::ReconsumeLater } else { ConsumeConcurrentlyStatus::ConsumeSuccess })
    });
    consumer.start().await.expect("consumer start");

    let failing = COUNT / 20;
    let done = |seen: &BTreeMap<String, Vec<i32>>| {
        seen.len() == COUNT && seen.iter().filter(|(b, _)| b.starts_with("fail-once")).all(|(_, t)| t.contains(&1))
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done(&seen.lock().unwrap()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), COUNT, "every message is consumed");
    for (body, times) in &seen {
        if body.starts_with("fail-once") {
            assert!(times.contains(&1), "{body} came again after its failure: {times:?}");
        }
    }
    let redelivered = seen.values().filter(|t| t.len() > 1).count();
    assert!(redelivered >= failing, "{redelivered} messages were delivered more than once");
    consumer.shutdown().await;
    producer.shutdown().await;
    harness.shutdown_async().await;
}
