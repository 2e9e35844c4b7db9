//! Send throughput with many sends in flight on one producer (ignored by
//! default; run `cargo test --release -p rmq-client --test throughput --
//! --ignored --nocapture`).

mod common;

use rmq_client::{Client, ClientOptions, Message, Producer};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn twenty_thousand_sends_sixty_four_in_flight() {
    let cluster = common::Cluster::start().await;
    let producer = Producer::new(Client::new(ClientOptions::new(&cluster.namesrv_addr())), "throughput");
    let msg = Message::new("BenchmarkTest", vec![b'x'; 128]);
    producer.send(&msg).await.expect("warm-up send");
    let (n, k) = (20_000, 64);
    let permits = Arc::new(Semaphore::new(k));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for _ in 0..n {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let (producer, msg) = (producer.clone(), msg.clone());
        tasks.spawn(async move {
            let result = producer.send(&msg).await;
            drop(permit);
            result
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().expect("send");
    }
    let took = started.elapsed();
    println!("{n} sends, {k} in flight: {:.0} msg/s ({took:?})", n as f64 / took.as_secs_f64());
    cluster.stop().await;
}
