//! Store throughput: appends (single, batch of 16, SYNC_FLUSH with 64 waiting
//! writers sharing group commits), pulls, and record decoding.
//!
//! `cargo bench -p rmq-store --bench store`; figures go to docs/benchmarks.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rmq_model::record::{self, NewMessage, Placement};
use rmq_model::{FlushDiskType, QueueOffset};
use rmq_store::{AcceptAll, MessageStore, StoreConfig, StoreHooks};

const PROPS: &[u8] = b"UNIQ_KEY\x01C0A8000A00002A9F00000000000000FF\x02WAIT\x01true\x02TAGS\x01TagA\x02";
const SIZES: [usize; 3] = [128, 1024, 4096];

fn message(body: &[u8]) -> NewMessage<'_> {
    NewMessage {
        topic: "BenchmarkTest",
        queue_id: 0,
        flag: 0,
        body,
        properties: PROPS,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.1:5000".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

fn store(dir: &std::path::Path, flush: FlushDiskType) -> MessageStore {
    let mut cfg = StoreConfig::new(dir);
    cfg.mapped_file_size_commit_log = 256 << 20;
    cfg.flush_disk_type = flush;
    MessageStore::open(cfg, StoreHooks::default()).unwrap()
}

fn append_async(c: &mut Criterion) {
    let mut g = c.benchmark_group("append_async_flush");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    for size in SIZES {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), FlushDiskType::AsyncFlush);
        let body = vec![b'x'; size];
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("single", size), |b| b.iter(|| s.put(&message(&body)).unwrap()));
        let batch: Vec<_> = (0..16).map(|_| message(&body)).collect();
        g.throughput(Throughput::Elements(16));
        g.bench_function(BenchmarkId::new("batch16", size), |b| b.iter(|| s.put_batch(&batch).unwrap()));
    }
    g.finish();
}

fn append_sync(c: &mut Criterion) {
    let mut g = c.benchmark_group("append_sync_flush");
    g.measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1)).sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    for size in SIZES {
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(store(dir.path(), FlushDiskType::SyncFlush));
        let body = Arc::new(vec![b'x'; size]);
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("one_writer", size), |b| b.iter(|| s.put_and_wait(&message(&body)).unwrap()));
        // 64 writers each waiting for its own flush: group commit shares fsyncs.
        g.bench_function(BenchmarkId::new("64_writers", size), |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(64);
                let start = Instant::now();
                let threads: Vec<_> = (0..64)
                    .map(|_| {
                        let (s, body) = (s.clone(), body.clone());
                        std::thread::spawn(move || {
                            for _ in 0..per {
                                s.put_and_wait(&message(&body)).unwrap();
                            }
                        })
                    })
                    .collect();
                for t in threads {
                    t.join().unwrap();
                }
                start.elapsed().mul_f64(iters as f64 / (per * 64) as f64)
            })
        });
        let stats = s.stats();
        eprintln!(
            "sync {size} B: {} messages, {} flushes ({:.1} messages per flush)",
            stats.put_messages,
            stats.flushes,
            stats.put_messages as f64 / stats.flushes.max(1) as f64
        );
    }
    g.finish();
}

fn read(c: &mut Criterion) {
    let mut g = c.benchmark_group("read");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path(), FlushDiskType::AsyncFlush);
    let body = vec![b'x'; 1024];
    let n = 100_000u64;
    for _ in 0..n / 16 {
        let batch: Vec<_> = (0..16).map(|_| message(&body)).collect();
        s.put_batch(&batch).unwrap();
    }
    assert!(s.wait_dispatched(s.max_physical_offset(), Duration::from_secs(60)));
    g.throughput(Throughput::Elements(32));
    let mut q = 0;
    g.bench_function("get_messages_32x1024", |b| {
        b.iter(|| {
            let r = s.get_messages("BenchmarkTest", 0, QueueOffset(q), 32, &AcceptAll);
            q = if r.next_begin_offset.0 + 32 >= n { 0 } else { r.next_begin_offset.0 };
            r
        })
    });
    g.finish();
}

fn decode(c: &mut Criterion) {
    let body = vec![b'x'; 1024];
    let at = Placement {
        queue_offset: 1,
        physical_offset: 2,
        store_timestamp: 3,
        store_host: "192.168.0.10:10911".parse().unwrap(),
    };
    let bytes = record::encode(&message(&body), &at).unwrap();
    let mut g = c.benchmark_group("record");
    g.measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_1024_crc", |b| b.iter(|| record::decode(&bytes, true).unwrap()));
    g.bench_function("decode_1024", |b| b.iter(|| record::decode(&bytes, false).unwrap()));
    let mut out = vec![0u8; bytes.len()];
    g.bench_function("encode_1024", |b| {
        b.iter(|| record::encode_into(&message(&body), &at, record::body_crc(&body), &mut out).unwrap())
    });
    g.finish();
}

criterion_group!(benches, append_async, append_sync, read, decode);
criterion_main!(benches);
