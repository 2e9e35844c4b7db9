//! Throughput and latency of RocketMQ 5's gRPC path with the official Rust
//! client: `n` sends with `k` in flight through one producer, then a simple
//! consumer (batches of 32) receiving and acking them all. Prints progress
//! every second and a summary line per phase.
//!
//! ```text
//! cargo run --release -p rmq-interop-v5 --example bench_v5 -- 127.0.0.1:8081 BenchV5 100000 64 1024
//! ```

use hdrhistogram::Histogram;
use rocketmq::conf::{ClientOption, ProducerOption, SimpleConsumerOption};
use rocketmq::model::common::{FilterExpression, FilterType};
use rocketmq::model::message::MessageBuilder;
use rocketmq::{Producer, SimpleConsumer};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: bench_v5 <proxy host:port> <topic> [messages=100000] [in flight=64] [body bytes=1024]");
        std::process::exit(2);
    }
    let (url, topic) = (args[0].clone(), args[1].clone());
    let n: u64 = args.get(2).map_or(100_000, |a| a.parse().expect("messages"));
    let k: u64 = args.get(3).map_or(64, |a| a.parse().expect("in flight"));
    let size: usize = args.get(4).map_or(1024, |a| a.parse().expect("body bytes"));
    let mut client = ClientOption::default();
    client.set_access_url(&url);
    client.set_enable_tls(false);
    client.set_timeout(Duration::from_secs(10));
    client.set_long_polling_timeout(Duration::from_secs(6));

    let mut option = ProducerOption::default();
    option.set_topics(vec![topic.clone()]);
    let mut producer = Producer::new(option, client.clone()).expect("producer");
    producer.start().await.expect("producer start");
    let producer = Arc::new(producer);
    let latencies = Arc::new(Mutex::new(Histogram::<u64>::new(3).unwrap()));
    let (sent, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let body = vec![b'x'; size];
    let started = Instant::now();
    let progress = tokio::spawn(report("send", sent.clone(), n));
    let mut tasks = Vec::new();
    for w in 0..k {
        let (producer, latencies, sent, failed, body, topic) =
            (producer.clone(), latencies.clone(), sent.clone(), failed.clone(), body.clone(), topic.clone());
        let share = n / k + u64::from(w < n % k);
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                let message =
                    MessageBuilder::builder().set_topic(topic.as_str()).set_body(body.clone()).build().unwrap();
                let t = Instant::now();
                match producer.send(message).await {
                    Ok(_) => {
                        latencies.lock().unwrap().record(t.elapsed().as_micros() as u64).unwrap();
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    progress.abort();
    let secs = started.elapsed().as_secs_f64();
    let h = latencies.lock().unwrap().clone();
    println!(
        "send: {} msgs ({} failed) of {size} B, {k} in flight, {:.1} s: {:.0} msg/s; latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms",
        sent.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        secs,
        sent.load(Ordering::Relaxed) as f64 / secs,
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.value_at_quantile(0.999) as f64 / 1000.0,
    );

    let mut option = SimpleConsumerOption::default();
    option.set_topics(vec![topic.clone()]);
    option.set_consumer_group(format!("BenchV5Group{}", std::process::id()));
    let mut consumer = SimpleConsumer::new(option, client).expect("consumer");
    consumer.start().await.expect("consumer start");
    let consumer = Arc::new(consumer);
    let received = Arc::new(AtomicU64::new(0));
    let target = sent.load(Ordering::Relaxed);
    let started = Instant::now();
    let progress = tokio::spawn(report("receive+ack", received.clone(), target));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (consumer, received, topic) = (consumer.clone(), received.clone(), topic.clone());
        tasks.push(tokio::spawn(async move {
            let filter = FilterExpression::new(FilterType::Tag, "*");
            let deadline = Instant::now() + Duration::from_secs(600);
            while received.load(Ordering::Relaxed) < target && Instant::now() < deadline {
                let Ok(messages) = consumer.receive_with(topic.as_str(), &filter, 32, Duration::from_secs(30)).await
                else {
                    continue;
                };
                for m in messages {
                    if consumer.ack(&m).await.is_ok() {
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    progress.abort();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "receive+ack: {} msgs, 4 receivers, {:.1} s: {:.0} msg/s",
        received.load(Ordering::Relaxed),
        secs,
        received.load(Ordering::Relaxed) as f64 / secs
    );
}

/// Prints `phase: done/total` once a second until aborted.
async fn report(phase: &'static str, done: Arc<AtomicU64>, total: u64) {
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let d = done.load(Ordering::Relaxed);
        eprintln!(
            "{phase}: {d}/{total} after {:.0} s ({:.0}/s)",
            started.elapsed().as_secs_f64(),
            d as f64 / started.elapsed().as_secs_f64()
        );
    }
}
