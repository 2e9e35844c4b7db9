//! Single-master mode (issue 4) through rocketmq-client-rust: sends of every
//! kind reach a push consumer intact; tag filtering; resuming at the committed
//! offset; retries through the retry topic.
#![recursion_limit = "256"]
// The third-party client's send futures are large; boxing each await adds
// nothing to what these tests check.
#![allow(clippy::large_futures)]

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
use std::sync::atomic::{AtomicUsize, Ordering};
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

fn message(topic: &str, tags: &str, key: &str, body: &[u8]) -> Message {
    Message::builder().topic(topic).tags(tags).key(key).body_slice(body).build_unchecked()
}

async fn producer(harness: &Harness, ns: &str, group: &str) -> DefaultMQProducer {
    let mut producer =
        DefaultMQProducer::builder(harness.client_runtime()).producer_group(group).name_server_addr(ns).build();
    producer.start().await.expect("producer start");
    producer
}

/// A push consumer from the first offset, recording what it consumes.
async fn consumer(
    harness: &Harness,
    ns: &str,
    group: &str,
    topic: &str,
    expression: &str,
    inbox: &Inbox,
) -> DefaultMQPushConsumer {
    let sink = inbox.clone();
    let mut consumer = DefaultMQPushConsumer::builder(harness.client_runtime())
        .consumer_group(group)
        .name_server_addr(ns)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    consumer.subscribe(topic, expression).await.expect("subscribe");
    consumer.register_message_listener_concurrently(move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
        record(&sink, msgs);
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    });
    consumer.start().await.expect("consumer start");
    consumer
}

/// 10,000 messages sent sync, async, oneway and in batches of 10 all reach a
/// push consumer with their exact bodies, tags and keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_of_every_send_kind_arrive_intact() {
    let cluster = Cluster::start(&[]).await;
    let harness = Harness::new_tuned("all-kinds").expect("client runtime");
    let ns = cluster.namesrv_addr();
    let topic = "AllKinds";
    let producer = Arc::new(producer(&harness, &ns, "all-kinds-pg").await);
    let mut expected = BTreeMap::new();
    let sent = |kind: &str, i: usize| -> (Message, Seen) {
        let body = format!("{kind}-{i}-{}", "x".repeat(i % 200)).into_bytes();
        let tags = format!("Tag{}", i % 3);
        let key = format!("{kind}-key-{i}");
        (message(topic, &tags, &key, &body), Seen { body, tags, keys: key })
    };
    // Sync.
    for i in 0..2500 {
        let (msg, seen) = sent("sync", i);
        let r = producer.send(msg).await.expect("sync send").expect("result");
        assert_eq!(r.send_status, SendStatus::SendOk);
        expected.insert(r.msg_id.expect("msg id").to_string(), seen);
    }
    // Async, with a callback.
    let acked = Arc::new(Mutex::new(BTreeMap::new()));
    let failures = Arc::new(AtomicUsize::new(0));
    // The client refuses async sends past its own admission queue
    // (`transport.admission.queue_saturated`), so keep 128 in flight.
    let in_flight = Arc::new(tokio::sync::Semaphore::new(128));
    for i in 0..2500 {
        let (msg, seen) = sent("async", i);
        let acked = acked.clone();
        let failures = failures.clone();
        let permit = in_flight.clone().acquire_owned().await.expect("semaphore");
        producer
            .send_with_callback(msg, move |res, err| match (res, err) {
                (Some(r), _) => {
                    acked.lock().unwrap().insert(r.msg_id.clone().expect("msg id").to_string(), seen.clone());
                    let _release = &permit;
                }
                (None, err) => {
                    let _release = &permit;
                    if failures.fetch_add(1, Ordering::SeqCst) == 0 {
                        eprintln!("first async send failure: {err:?}");
                    }
                }
            })
            .await
            .expect("async send accepted");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() + failures.load(Ordering::SeqCst) < 2500 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failures.load(Ordering::SeqCst), 0, "no async send fails");
    expected.extend(acked.lock().unwrap().clone());
    // Batches of 10.
    for b in 0..250 {
        let batch: Vec<(Message, Seen)> = (0..10).map(|j| sent("batch", b * 10 + j)).collect();
        let (msgs, seen): (Vec<Message>, Vec<Seen>) = batch.into_iter().unzip();
        let r = producer.send_batch(msgs).await.expect("batch send");
        assert_eq!(r.send_status, SendStatus::SendOk);
        let ids: Vec<String> = r.msg_id.expect("msg ids").as_str().split(',').map(str::to_owned).collect();
        assert_eq!(ids.len(), 10);
        expected.extend(ids.into_iter().zip(seen));
    }
    // Oneway: no msg id comes back; the consumer's UNIQ_KEYs are checked by body.
    let mut oneway_bodies = Vec::new();
    for i in 0..2500 {
        let (msg, seen) = sent("oneway", i);
        producer.send_oneway(msg).await.expect("oneway send");
        oneway_bodies.push(seen);
    }

    let inbox: Inbox = Arc::default();
    let mut c = consumer(&harness, &ns, "all-kinds-cg", topic, "*", &inbox).await;
    wait_for(&inbox, 10_000, Duration::from_secs(120)).await;
    let got = inbox.lock().unwrap().clone();
    assert_eq!(got.len(), 10_000, "every message is consumed exactly once by UNIQ_KEY");
    for (id, seen) in &expected {
        assert_eq!(got.get(id), Some(seen), "message {id}");
    }
    let oneway_got: Vec<&Seen> = got.iter().filter(|(id, _)| !expected.contains_key(*id)).map(|(_, s)| s).collect();
    assert_eq!(oneway_got.len(), 2500);
    for seen in &oneway_bodies {
        assert!(oneway_got.contains(&seen), "oneway message {:?} arrived", seen.keys);
    }

    c.shutdown().await;
    Arc::try_unwrap(producer).ok().expect("sole owner").shutdown().await;
    harness.shutdown_async().await;
    cluster.broker.stop().await;
}

/// A subscription to `TagA||TagB` receives exactly those messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_subscriptions_filter() {
    let cluster = Cluster::start(&[]).await;
    let harness = Harness::new_tuned("tags").expect("client runtime");
    let ns = cluster.namesrv_addr();
    let mut p = producer(&harness, &ns, "tags-pg").await;
    let mut wanted = BTreeMap::new();
    for i in 0..90 {
        let tags = ["TagA", "TagB", "TagC"][i % 3];
        let body = format!("tagged-{i}").into_bytes();
        let r = p.send(message("Tagged", tags, &format!("k{i}"), &body)).await.expect("send").expect("result");
        if tags != "TagC" {
            wanted.insert(r.msg_id.expect("id").to_string(), Seen { body, tags: tags.into(), keys: format!("k{i}") });
        }
    }
    let inbox: Inbox = Arc::default();
    // No spaces around `||`: this client hashes untrimmed tags (see common::client).
    let mut c = consumer(&harness, &ns, "tags-cg", "Tagged", "TagA||TagB", &inbox).await;
    wait_for(&inbox, wanted.len(), Duration::from_secs(60)).await;
    // Give a stray TagC message time to show up if filtering were broken.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(*inbox.lock().unwrap(), wanted);
    c.shutdown().await;
    p.shutdown().await;
    harness.shutdown_async().await;
    cluster.broker.stop().await;
}

/// A consumer restarted in the same group resumes at its committed offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_consumer_resumes_at_committed_offset() {
    let cluster = Cluster::start(&[]).await;
    let harness = Harness::new_tuned("resume").expect("client runtime");
    let ns = cluster.namesrv_addr();
    let mut p = producer(&harness, &ns, "resume-pg").await;
    let mut first = BTreeMap::new();
    for i in 0..100 {
        let body = format!("first-{i}").into_bytes();
        let r = p.send(message("Resume", "T", &format!("a{i}"), &body)).await.expect("send").expect("result");
        first.insert(r.msg_id.expect("id").to_string(), Seen { body, tags: "T".into(), keys: format!("a{i}") });
    }
    let inbox: Inbox = Arc::default();
    let mut c = consumer(&harness, &ns, "resume-cg", "Resume", "*", &inbox).await;
    wait_for(&inbox, first.len(), Duration::from_secs(60)).await;
    assert_eq!(*inbox.lock().unwrap(), first);
    // Let the client commit its offsets (pull piggy-back and the 5 s persist).
    tokio::time::sleep(Duration::from_secs(6)).await;
    c.shutdown().await;

    let mut second = BTreeMap::new();
    for i in 0..50 {
        let body = format!("second-{i}").into_bytes();
        let r = p.send(message("Resume", "T", &format!("b{i}"), &body)).await.expect("send").expect("result");
        second.insert(r.msg_id.expect("id").to_string(), Seen { body, tags: "T".into(), keys: format!("b{i}") });
    }
    let again: Inbox = Arc::default();
    let mut c = consumer(&harness, &ns, "resume-cg", "Resume", "*", &again).await;
    wait_for(&again, second.len(), Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(*again.lock().unwrap(), second, "only the new messages are delivered to the restarted consumer");
    c.shutdown().await;
    p.shutdown().await;
    harness.shutdown_async().await;
    cluster.broker.stop().await;
}

/// RECONSUME_LATER sends a message back; it returns through the retry topic
/// (level 3: 10 s later) with its reconsume count raised. A delay-level-2
/// message arrives no earlier than 5 s after it was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_and_delays_come_back_on_time() {
    let cluster = Cluster::start(&[]).await;
    let harness = Harness::new_tuned("retry").expect("client runtime");
    let ns = cluster.namesrv_addr();
    let mut p = producer(&harness, &ns, "retry-pg").await;

    let deliveries = Arc::new(Mutex::new(Vec::new()));
    let log = deliveries.clone();
    let mut c = DefaultMQPushConsumer::builder(harness.client_runtime())
        .consumer_group("retry-cg")
        .name_server_addr(ns.as_str())
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    c.subscribe("Retried", "*").await.expect("subscribe");
    c.register_message_listener_concurrently(move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
        let mut log = log.lock().unwrap();
        let mut later = false;
        for m in msgs {
            let body = String::from_utf8_lossy(m.body().as_deref().unwrap_or_default()).into_owned();
            log.push((body.clone(), m.reconsume_times(), Instant::now()));
            later |= body == "retry-me" && m.reconsume_times() == 0;
        }
        Ok(if later { ConsumeConcurrentlyStatus::ReconsumeLater } else { ConsumeConcurrentlyStatus::ConsumeSuccess })
    });
    c.start().await.expect("consumer start");
    tokio::time::sleep(Duration::from_secs(3)).await;

    let sent_at = Instant::now();
    p.send(message("Retried", "T", "r", b"retry-me")).await.expect("send").expect("result");
    let delayed =
        Message::builder().topic("Retried").tags("T").key("d").delay_level(2).body_slice(b"delayed").build_unchecked();
    p.send(delayed).await.expect("send delayed").expect("result");

    let deadline = Instant::now() + Duration::from_secs(60);
    let done = |log: &Vec<(String, i32, Instant)>| {
        log.iter().any(|(b, n, _)| b == "retry-me" && *n == 1) && log.iter().any(|(b, _, _)| b == "delayed")
    };
    while !done(&deliveries.lock().unwrap()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = deliveries.lock().unwrap().clone();
    let first = log.iter().find(|(b, n, _)| b == "retry-me" && *n == 0).expect("first delivery");
    let retry = log.iter().find(|(b, n, _)| b == "retry-me" && *n == 1).expect("retry delivery");
    assert!(retry.2.duration_since(first.2) >= Duration::from_secs(9), "retry came after its 10 s delay: {log:?}");
    let delayed = log.iter().find(|(b, _, _)| b == "delayed").expect("delayed delivery");
    assert!(delayed.2.duration_since(sent_at) >= Duration::from_secs(5), "delay level 2 is 5 s: {log:?}");

    c.shutdown().await;
    p.shutdown().await;
    harness.shutdown_async().await;
    cluster.broker.stop().await;
}
