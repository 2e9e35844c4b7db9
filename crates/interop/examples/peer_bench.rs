//! Load from a client we did not write: rocketmq-client-rust 1.0 producers
//! (and optionally a push consumer) against any NameServer, so rmq's figures
//! can be checked with more than our own `mqbench` (docs/benchmarks.md,
//! "Third-party client").
//!
//! ```sh
//! cargo run --release -p rmq-interop --example peer_bench -- NAMESRV TOPIC [IN_FLIGHT] [SECONDS] [consume]
//! ```
//!
//! `IN_FLIGHT` tasks (64) each send 1 KB messages one after another for
//! `SECONDS` (15), a line of progress every second, then the rate and the
//! send latency percentiles. With `consume`, a push consumer of a fresh group
//! receives them too and the end-to-end latency (the send's start, stamped
//! in the body, to the listener's call) is printed. The topic must exist.
#![allow(clippy::large_futures)]

#[path = "../tests/common/client.rs"]
#[allow(dead_code)]
mod client;

use hdrhistogram::Histogram;
use rocketmq_client_rust::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
    SendStatus,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BODY: usize = 1024;

fn micros_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

fn summary(what: &str, h: &Histogram<u64>) -> String {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    format!(
        "{what} (ms): p50 {:.3} p99 {:.3} p99.9 {:.3} max {:.3} over {} messages",
        ms(0.5),
        ms(0.99),
        ms(0.999),
        h.max() as f64 / 1000.0,
        h.len()
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: peer_bench NAMESRV TOPIC [IN_FLIGHT] [SECONDS] [consume]");
        std::process::exit(2);
    }
    let (ns, topic) = (args[0].clone(), args[1].clone());
    let in_flight: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64);
    let seconds: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(15);
    let consume = args.iter().any(|a| a == "consume");
    let harness = client::Harness::new_tuned("peer-bench").expect("client runtime");
    harness.block_on(run(&harness, ns, topic, in_flight, seconds, consume));
    harness.shutdown_blocking();
}

async fn run(harness: &client::Harness, ns: String, topic: String, in_flight: usize, seconds: u64, consume: bool) {
    let e2e = Arc::new(Mutex::new(histogram()));
    let consumer = if consume { Some(consumer(harness, &ns, &topic, &e2e).await) } else { None };
    let mut producer = DefaultMQProducer::builder(harness.client_runtime())
        .producer_group("peer-bench-pg")
        .name_server_addr(ns.as_str())
        .send_msg_timeout(3_000)
        .build();
    producer.start().await.expect("producer start");
    let producer = Arc::new(producer);
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..in_flight {
        let (producer, topic) = (producer.clone(), topic.clone());
        let (sent, failed, stop) = (sent.clone(), failed.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut latency = histogram();
            while !stop.load(Ordering::Relaxed) {
                let mut body = vec![b'x'; BODY];
                let begun = Instant::now();
                body[..8].copy_from_slice(&micros_now().to_be_bytes());
                let msg = Message::builder().topic(topic.as_str()).tags("B").body(body).build_unchecked();
                match producer.send(msg).await {
                    Ok(Some(r)) if r.send_status == SendStatus::SendOk => {
                        sent.fetch_add(1, Ordering::Relaxed);
                        let _ = latency.record((begun.elapsed().as_micros() as u64).max(1));
                    }
                    other => {
                        // The first few failures say why.
                        if failed.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("send failed: {other:?}");
                        }
                    }
                }
            }
            latency
        }));
    }
    let mut last = 0;
    for second in 1..=seconds {
        tokio::time::sleep_until((started + Duration::from_secs(second)).into()).await;
        let now = sent.load(Ordering::Relaxed);
        eprintln!("{second:>3} s  {:>7} msg/s  failed {}", now - last, failed.load(Ordering::Relaxed));
        last = now;
    }
    stop.store(true, Ordering::Relaxed);
    let mut latency = histogram();
    for w in workers {
        latency.add(w.await.expect("sender")).expect("same bounds");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = sent.load(Ordering::Relaxed);
    println!(
        "sent {total} in {elapsed:.1} s, {:.0} msg/s, failed {}, {in_flight} in flight",
        total as f64 / elapsed,
        failed.load(Ordering::Relaxed)
    );
    println!("{}", summary("send", &latency));
    if let Some(mut consumer) = consumer {
        // Lets the consumer catch up with the last sends.
        tokio::time::sleep(Duration::from_secs(3)).await;
        consumer.shutdown().await;
        println!("{}", summary("end to end", &e2e.lock().unwrap()));
    }
}

/// A push consumer of a fresh group from the last offset, recording each
/// message's latency from its stamped send start.
async fn consumer(
    harness: &client::Harness,
    ns: &str,
    topic: &str,
    e2e: &Arc<Mutex<Histogram<u64>>>,
) -> DefaultMQPushConsumer {
    let sink = e2e.clone();
    let group = format!("peer-bench-cg-{}", micros_now());
    let mut consumer = DefaultMQPushConsumer::builder(harness.client_runtime())
        .consumer_group(group.as_str())
        .name_server_addr(ns)
        .consume_from_where(ConsumeFromWhere::ConsumeFromLastOffset)
        .build();
    consumer.subscribe(topic, "*").await.expect("subscribe");
    consumer.register_message_listener_concurrently(move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
        let now = micros_now();
        let mut e2e = sink.lock().unwrap();
        for m in msgs {
            if let Some(body) = m.body().filter(|b| b.len() >= 8) {
                let stamp = u64::from_be_bytes(body[..8].try_into().unwrap_or_default());
                // Messages of other senders on the topic carry no stamp of ours.
                if stamp <= now && now - stamp < 600_000_000 {
                    let _ = e2e.record((now - stamp).max(1));
                }
            }
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    });
    consumer.start().await.expect("consumer start");
    // Rebalancing assigns the queues a moment after the start.
    tokio::time::sleep(Duration::from_secs(3)).await;
    consumer
}
