//! Request/response round trips over loopback: the transport's own ceiling.
//!
//! Server and client each get their own 2-worker tokio runtime in this one
//! process, as a broker and a client would on one 2-core machine. The request
//! carries a `SEND_MESSAGE_V2`-sized JSON header and a 1 KiB body; the service
//! answers at once with a small header and the body echoed back, so what is
//! measured is framing, dispatch, task hops and syscalls, no broker work.
//!
//! After criterion's throughput runs, a latency pass prints p50/p99/p999 per
//! request for 1 and 64 requests in flight.
//!
//! `cargo bench -p rmq-remoting --bench roundtrip`

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_remoting::{CancellationToken, Client, ClientConfig, Connection, RejectAll, Server, ServerConfig, Service};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

const BODY: usize = 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

struct Echo;

impl Service for Echo {
    async fn handle(&self, _conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        Some(
            RemotingCommand::response(ResponseCode::Success, None)
                .with_ext("msgId", "7F00000100002A9F0000000000000000")
                .with_ext("queueId", "0")
                .with_ext("queueOffset", "42")
                .with_body(request.body),
        )
    }
}

fn runtime(name: &str) -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name(name).enable_all().build().unwrap()
}

/// A request shaped like a producer's send: single-letter V2 header keys.
fn request(body: &Bytes) -> RemotingCommand {
    let mut cmd = RemotingCommand { code: 310, version: 409, ..RemotingCommand::default() };
    for (k, v) in [
        ("a", "please_rename_unique_group_name"),
        ("b", "BenchTopic"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "1"),
        ("f", "0"),
        ("g", "1700000000000"),
        ("h", "0"),
        ("i", "UNIQ_KEY\u{1}7F00000100002A9F0000000000000000\u{2}WAIT\u{1}true\u{2}"),
        ("j", "0"),
        ("k", "false"),
        ("m", "false"),
    ] {
        cmd.ext_fields.insert(k, v);
    }
    cmd.with_body(body.clone())
}

struct Bench {
    server_rt: Runtime,
    client_rt: Runtime,
    shutdown: CancellationToken,
    conn: Connection,
    body: Bytes,
}

fn setup() -> Bench {
    let server_rt = runtime("server");
    let client_rt = runtime("client");
    let shutdown = CancellationToken::new();
    let addr = server_rt.block_on(async {
        let server = Server::bind(ServerConfig::new("127.0.0.1:0".parse().unwrap())).await.unwrap();
        let addr = server.local_addr();
        tokio::spawn(server.run(Arc::new(Echo), shutdown.clone()));
        addr
    });
    let conn = client_rt.block_on(async {
        let client = Client::new(ClientConfig::default(), Arc::new(RejectAll));
        client.connection(&addr.to_string()).await.unwrap()
    });
    Bench { server_rt, client_rt, shutdown, conn, body: Bytes::from(vec![0x5a; BODY]) }
}

/// Sends `total` requests, `in_flight` at a time, each from its own task;
/// returns the elapsed time and every request's latency.
fn run(bench: &Bench, in_flight: usize, total: u64, record: bool) -> (Duration, Vec<Duration>) {
    bench.client_rt.block_on(async {
        let per_task = total.div_ceil(in_flight as u64);
        let start = Instant::now();
        let mut tasks = Vec::with_capacity(in_flight);
        for _ in 0..in_flight {
            let conn = bench.conn.clone();
            let body = bench.body.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(if record { per_task as usize } else { 0 });
                for _ in 0..per_task {
                    let sent = Instant::now();
                    let response = conn.request(request(&body), TIMEOUT).await.unwrap();
                    assert_eq!(response.body.len(), BODY);
                    if record {
                        latencies.push(sent.elapsed());
                    }
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        (start.elapsed(), all)
    })
}

fn throughput(c: &mut Criterion, bench: &Bench) {
    let mut group = c.benchmark_group("roundtrip_1KiB");
    group.throughput(Throughput::Elements(1));
    for in_flight in [1usize, 64] {
        group.bench_function(format!("{in_flight}_in_flight"), |b| {
            b.iter_custom(|iters| {
                let (elapsed, _) = run(bench, in_flight, iters.max(in_flight as u64), false);
                // Criterion divides by `iters`; with the rounding up to a
                // multiple of `in_flight` the rate is slightly understated.
                elapsed
            })
        });
    }
    group.finish();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// User and system CPU time of this process so far, in clock ticks (Linux).
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

fn latency_report(bench: &Bench) {
    println!("\nlatency per request (1 KiB request and response bodies, loopback):");
    for (in_flight, total) in [(1usize, 30_000u64), (64, 192_000)] {
        run(bench, in_flight, total / 10, false); // warm-up
        let before = cpu_ticks();
        let (elapsed, mut latencies) = run(bench, in_flight, total, true);
        let cpu = match (before, cpu_ticks()) {
            // Clock ticks are 10 ms on Linux.
            (Some((u0, s0)), Some((u1, s1))) => format!(
                "  cpu/round trip {:.1} µs ({:.0}% system)",
                (u1 + s1 - u0 - s0) as f64 * 10_000.0 / latencies.len() as f64,
                100.0 * (s1 - s0) as f64 / ((u1 + s1 - u0 - s0).max(1)) as f64
            ),
            _ => String::new(),
        };
        latencies.sort_unstable();
        println!(
            "  {in_flight:>2} in flight: {:>7.0} req/s  p50 {:>7.1?}  p99 {:>7.1?}  p99.9 {:>7.1?}  max {:>7.1?}{cpu}",
            latencies.len() as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            percentile(&latencies, 0.999),
            latencies[latencies.len() - 1],
        );
    }
}

fn main() {
    let bench = setup();
    let mut criterion = Criterion::default().configure_from_args();
    throughput(&mut criterion, &bench);
    criterion.final_summary();
    if std::env::args().any(|a| a == "--bench") {
        latency_report(&bench);
    }
    bench.shutdown.cancel();
    drop(bench.conn);
    bench.client_rt.shutdown_timeout(Duration::from_secs(1));
    bench.server_rt.shutdown_timeout(Duration::from_secs(1));
}
