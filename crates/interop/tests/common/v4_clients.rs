//! rocketmq-client-rust producers and consumers as the HA tests use them:
//! route polling at the client's 10 s minimum so failovers show quickly.

#![allow(dead_code)]

use crate::common::client::Harness;
use rocketmq_client_rust::ClientConfig;
use rocketmq_client_rust::{
    AclClientRPCHook, LocalTransactionState, SendStatus, TransactionListener, TransactionMQProducer,
};
use rocketmq_client_rust::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::MessageTrait;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// What a [`SendLoop`] saw: each SEND_OK as (ms since [`SendLoop::mark`], or
/// -1 before it, the broker group, the message id), and each failure's ms.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    pub acked: Vec<(i64, String, String)>,
    pub failed: Vec<i64>,
}

impl Sent {
    /// The acknowledgements from the mark on.
    pub fn acked_after(&self) -> Vec<&(i64, String, String)> {
        self.acked.iter().filter(|a| a.0 >= 0).collect()
    }

    /// The failures from the mark on.
    pub fn failed_after(&self) -> usize {
        self.failed.iter().filter(|f| **f >= 0).count()
    }
}

/// `senders` tasks sending to `topic` one message after another (pausing
/// `pause` after each) until stopped, timing every outcome against a mark
/// (a kill) set while they run.
pub struct SendLoop {
    sent: Arc<Mutex<Sent>>,
    mark: Arc<Mutex<Option<std::time::Instant>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: tokio::task::JoinSet<()>,
}

impl SendLoop {
    pub fn start(producer: Arc<DefaultMQProducer>, topic: &str, senders: usize, pause: Duration) -> SendLoop {
        let (sent, mark): (Arc<Mutex<Sent>>, Arc<Mutex<Option<std::time::Instant>>>) = Default::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = tokio::task::JoinSet::new();
        for s in 0..senders {
            let (producer, sent, mark, stop) = (producer.clone(), sent.clone(), mark.clone(), stop.clone());
            let topic = topic.to_owned();
            tasks.spawn(async move {
                let since_mark = || mark.lock().unwrap().map_or(-1, |t| t.elapsed().as_millis() as i64);
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let body = format!("sender {s} message {i}");
                    let msg = Message::builder().topic(topic.as_str()).body_slice(body.as_bytes()).build_unchecked();
                    match Box::pin(producer.send(msg)).await {
                        Ok(Some(r)) if r.send_status == SendStatus::SendOk => {
                            let broker = r.message_queue.map(|q| q.broker_name().to_string()).unwrap_or_default();
                            let id = r.msg_id.expect("id").to_string();
                            sent.lock().unwrap().acked.push((since_mark(), broker, id));
                        }
                        _ => {
                            sent.lock().unwrap().failed.push(since_mark());
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                }
            });
        }
        SendLoop { sent, mark, stop, tasks }
    }

    /// What has been seen so far.
    pub fn sent(&self) -> Sent {
        self.sent.lock().unwrap().clone()
    }

    /// Times what follows from now (call it right after the kill).
    pub fn mark(&self) {
        *self.mark.lock().unwrap() = Some(std::time::Instant::now());
    }

    /// Stops the senders and returns everything seen.
    pub async fn stop(mut self) -> Sent {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        while self.tasks.join_next().await.is_some() {}
        self.sent()
    }
}

/// A message's body as text.
pub fn body_of(msg: &dyn MessageTrait) -> String {
    String::from_utf8_lossy(msg.get_body().map(|b| b.to_vec()).unwrap_or_default().as_slice()).into_owned()
}

/// A transaction listener deciding by the body: `commit*` commits,
/// `rollback*` rolls back, anything else is left unknown for the broker to
/// check back; a check commits bodies ending in `then-commit` and rolls
/// back the rest, counting the checks per body.
#[derive(Default, Clone)]
pub struct TxListener {
    pub checks: Arc<Mutex<std::collections::BTreeMap<String, u32>>>,
}

impl TransactionListener for TxListener {
    fn execute_local_transaction(
        &self,
        msg: &dyn MessageTrait,
        _arg: Option<&(dyn std::any::Any + Send + Sync)>,
    ) -> LocalTransactionState {
        match body_of(msg).as_str() {
            b if b.starts_with("commit") => LocalTransactionState::CommitMessage,
            b if b.starts_with("rollback") => LocalTransactionState::RollbackMessage,
            _ => LocalTransactionState::Unknown,
        }
    }

    fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState {
        let body = body_of(msg);
        *self.checks.lock().unwrap().entry(body.clone()).or_default() += 1;
        if body.ends_with("then-commit") {
            LocalTransactionState::CommitMessage
        } else {
            LocalTransactionState::RollbackMessage
        }
    }
}

/// Bodies a consumer received, in arrival order.
pub type Bodies = Arc<Mutex<Vec<String>>>;

/// A started push consumer of every tag of `topic` from the first offset,
/// signing with `signer` if given, recording the bodies it receives.
pub async fn body_consumer(
    harness: &Harness,
    ns: &str,
    group: &str,
    topic: &str,
    signer: Option<Arc<AclClientRPCHook>>,
) -> (DefaultMQPushConsumer, Bodies) {
    let received = Bodies::default();
    let sink = received.clone();
    let mut consumer = DefaultMQPushConsumer::builder(harness.client_runtime())
        .consumer_group(group)
        .name_server_addr(ns)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .rpc_hook(signer.map(|s| s as _))
        .build();
    consumer.subscribe(topic, "*").await.expect("subscribe");
    consumer.register_message_listener_concurrently(move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
        sink.lock().unwrap().extend(msgs.iter().map(|m| body_of(*m)));
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    });
    consumer.start().await.expect("consumer start");
    (consumer, received)
}

/// A started transactional producer of `topic` answering with `listener`.
pub async fn tx_producer(
    harness: &Harness,
    ns: &str,
    group: &str,
    topic: &str,
    listener: &TxListener,
) -> TransactionMQProducer {
    let mut producer = TransactionMQProducer::builder(harness.client_runtime())
        .producer_group(group)
        .name_server_addr(ns)
        .topics(vec![topic])
        .transaction_listener(listener.clone())
        .check_thread_pool_min_size(1)
        .check_thread_pool_max_size(2)
        .check_request_hold_max(100)
        .build();
    producer.start().await.expect("producer start");
    producer
}
