//! rocketmq-client-rust producers and consumers as the HA tests use them:
//! route polling at the client's 10 s minimum so failovers show quickly.

#![allow(dead_code)]

use crate::common::client::Harness;
use rocketmq_client_rust::ClientConfig;
use rocketmq_client_rust::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::MessageTrait;
use rocketmq_model::common::message::message_ext::MessageExt;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// UNIQ_KEYs a consumer received.
pub type Inbox = Arc<Mutex<BTreeSet<String>>>;

fn config() -> ClientConfig {
    ClientConfig::builder().poll_name_server_interval(10_000).build_unvalidated()
}

pub async fn producer(harness: &Harness, ns: &str, group: &str) -> DefaultMQProducer {
    let mut producer = DefaultMQProducer::builder(harness.client_runtime())
        .client_config(config())
        .producer_group(group)
        .name_server_addr(ns)
        .send_msg_timeout(3_000)
        .build();
    producer.start().await.expect("producer start");
    producer
}

/// A push consumer from the first offset, recording UNIQ_KEYs.
pub async fn consumer(harness: &Harness, ns: &str, group: &str, topic: &str, inbox: &Inbox) -> DefaultMQPushConsumer {
    let sink = inbox.clone();
    let mut consumer = DefaultMQPushConsumer::builder(harness.client_runtime())
        .client_config(config())
        .consumer_group(group)
        .name_server_addr(ns)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    consumer.subscribe(topic, "*").await.expect("subscribe");
    consumer.register_message_listener_concurrently(move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
        let mut inbox = sink.lock().unwrap();
        for m in msgs {
            if let Some(k) = m.property(&"UNIQ_KEY".into()) {
                inbox.insert(k.to_string());
            }
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    });
    consumer.start().await.expect("consumer start");
    consumer
}
