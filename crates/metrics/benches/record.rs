//! What a request pays for the metrics recorded on its path, as the broker
//! records them with an exporter configured: the RPC latency (two clock reads,
//! a lookup by request and response code, a histogram observation) and the
//! message size (a lookup by topic and message type, an observation).
//!
//! ```text
//! cargo bench -p rmq-metrics --bench record
//! ```

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use rmq_metrics::{AtomicHistogram, SlotTable};
use std::time::Instant;

/// The broker's bounds for `rocketmq_rpc_latency` (ms) and
/// `rocketmq_message_size` (bytes).
const LATENCY_BOUNDS: &[u64] = &[1, 3, 5, 7, 10, 100, 1_000, 2_000, 3_000];
const SIZE_BOUNDS: &[u64] = &[1 << 10, 4 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20];

fn record(c: &mut Criterion) {
    let latencies: SlotTable<(i32, i32), AtomicHistogram> = SlotTable::new(1_024);
    let sizes: SlotTable<(String, u8), AtomicHistogram> = SlotTable::new(50_000);
    // A broker with a hundred topics and a few request kinds already seen.
    for t in 0..100 {
        sizes.get(&(format!("Topic{t}").as_str(), 0)).observe(SIZE_BOUNDS, 1024);
    }
    for code in [10, 11, 310, 320, 11, 34, 200_050, 200_051] {
        latencies.get(&(code, 0)).observe(LATENCY_BOUNDS, 1);
    }
    let topic = String::from("Topic42");

    c.bench_function("rpc latency: clock twice, lookup, observe", |b| {
        b.iter(|| {
            let started = Instant::now();
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            latencies.get(&(black_box(310), black_box(0))).observe(LATENCY_BOUNDS, elapsed_ms);
        })
    });
    c.bench_function("message size: lookup by topic, observe", |b| {
        b.iter(|| sizes.get(&(black_box(topic.as_str()), 0u8)).observe_many(SIZE_BOUNDS, black_box(1024), 1))
    });
}

criterion_group!(benches, record);
criterion_main!(benches);
