//! Ordered consumption (issue 5) through rocketmq-client-rust: two orderly
//! push consumers of one group share a topic while the second joins mid-way;
//! the broker's queue locks (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ) must keep every
//! queue with one consumer at a time, so no message of an order is consumed
//! before the one sent ahead of it.
#![recursion_limit = "256"]
// The third-party client's futures are large; boxing every call would only add noise here.
#![allow(clippy::large_futures)]

mod common;

use common::client::Harness;
use common::servers::Cluster;
use rocketmq_client_rust::{
    ConsumeOrderlyContext, ConsumeOrderlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOPIC: &str = "OrderedTopic";
const GROUP: &str = "orderly-cg";
const ORDERS: u64 = 8;
const PER_ORDER: usize = 60;

/// What the consumers did, in the order they did it.
#[derive(Default)]
struct Journal {
    /// (order, sequence, consumer) per consumed message.
    events: Mutex<Vec<(u64, usize, &'static str)>>,
    /// Which consumer is inside its listener for a queue right now.
    busy: Mutex<HashMap<i32, &'static str>>,
    /// Times a queue was consumed by two consumers at once.
    overlaps: AtomicUsize,
}

impl Journal {
    fn consume(&self, who: &'static str, msgs: &[&MessageExt]) {
        for m in msgs {
            let queue = m.queue_id();
            let previous = self.busy.lock().unwrap().insert(queue, who);
            if previous.is_some_and(|other| other != who) {
                self.overlaps.fetch_add(1, Ordering::SeqCst);
            }
            let body =
                String::from_utf8_lossy(m.body().map(|b| b.to_vec()).unwrap_or_default().as_slice()).into_owned();
            let (order, seq) = body.split_once(':').expect("order:seq body");
            self.events.lock().unwrap().push((order.parse().unwrap(), seq.parse().unwrap(), who));
            std::thread::sleep(Duration::from_millis(2));
            let mut busy = self.busy.lock().unwrap();
            if busy.get(&queue) == Some(&who) {
                busy.remove(&queue);
            }
        }
    }

    fn distinct(&self) -> usize {
        self.events.lock().unwrap().iter().map(|(o, s, _)| (*o, *s)).collect::<BTreeSet<_>>().len()
    }
}

async fn orderly_consumer(
    harness: &Harness,
    ns: &str,
    who: &'static str,
    journal: &Arc<Journal>,
) -> DefaultMQPushConsumer {
    let journal = journal.clone();
    let mut consumer = DefaultMQPushConsumer::builder(harness.client_runtime())
        .consumer_group(GROUP)
        .name_server_addr(ns)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    consumer.subscribe(TOPIC, "*").await.expect("subscribe");
    consumer.register_message_listener_orderly(move |msgs: &[&MessageExt], ctx: &mut ConsumeOrderlyContext| {
        ctx.set_auto_commit(true);
        journal.consume(who, msgs);
        Ok(ConsumeOrderlyStatus::Success)
    });
    consumer.start().await.expect("consumer start");
    consumer
}

/// Sends `sequences` of every order, pausing `pace` between rounds.
async fn send_orders(producer: &DefaultMQProducer, sequences: std::ops::Range<usize>, pace: Duration) {
    for seq in sequences {
        tokio::time::sleep(pace).await;
        for order in 0..ORDERS {
            let msg = Message::builder()
                .topic(TOPIC)
                .tags("Order")
                .key(format!("order-{order}"))
                .body_slice(format!("{order}:{seq}").as_bytes())
                .build_unchecked();
            producer
                .send_with_selector(
                    msg,
                    |mqs: &[MessageQueue], _m: &Message, id: &u64| Some(mqs[*id as usize % mqs.len()].clone()),
                    order,
                )
                .await
                .expect("ordered send");
        }
    }
}

async fn wait_until(within: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !done() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_orderly_consumers_rebalancing_never_consume_out_of_order() {
    // Rebalance and re-lock every 2 s instead of 20 s, so the hand-over of
    // queues from the first consumer to the second happens within the test.
    // SAFETY: set before any client exists; this test binary has this one test.
    unsafe {
        std::env::set_var("rocketmq.client.rebalance.waitInterval", "2000");
        std::env::set_var("rocketmq.client.rebalance.lockInterval", "2000");
    }
    common::client::init_logging();
    let cluster = Cluster::start(&[]).await;
    let ns = cluster.namesrv_addr();
    let harness = Harness::new_tuned("orderly").expect("client runtime");
    let mut producer =
        DefaultMQProducer::builder(harness.client_runtime()).producer_group("orderly-pg").name_server_addr(&ns).build();
    producer.start().await.expect("producer start");
    send_orders(&producer, 0..PER_ORDER / 2, Duration::ZERO).await;

    let journal = Arc::new(Journal::default());
    let mut first = orderly_consumer(&harness, &ns, "first", &journal).await;
    wait_until(Duration::from_secs(20), || journal.distinct() >= 40).await;
    assert!(journal.distinct() >= 40, "the first consumer consumes");
    let mut second = orderly_consumer(&harness, &ns, "second", &journal).await;
    // Keep sending while the group rebalances and the queues change hands.
    send_orders(&producer, PER_ORDER / 2..PER_ORDER, Duration::from_millis(100)).await;
    let total = ORDERS as usize * PER_ORDER;
    wait_until(Duration::from_secs(40), || {
        journal.distinct() >= total && journal.events.lock().unwrap().iter().any(|e| e.2 == "second")
    })
    .await;

    let events = journal.events.lock().unwrap().clone();
    assert_eq!(journal.distinct(), total, "every message is consumed");
    assert!(events.iter().any(|e| e.2 == "second"), "the second consumer took over some queues");
    assert_eq!(journal.overlaps.load(Ordering::SeqCst), 0, "a queue was consumed by two consumers at once");
    // No message of an order is consumed before the one sent ahead of it
    // (a re-delivery of an already consumed message is allowed).
    let mut highest: BTreeMap<u64, i64> = BTreeMap::new();
    for (order, seq, who) in &events {
        let top = highest.entry(*order).or_insert(-1);
        assert!(*seq as i64 <= *top + 1, "order {order}: {who} consumed {seq} before {}", *top + 1);
        *top = (*top).max(*seq as i64);
    }
    second.shutdown().await;
    first.shutdown().await;
    producer.shutdown().await;
    harness.shutdown_async().await;
}
