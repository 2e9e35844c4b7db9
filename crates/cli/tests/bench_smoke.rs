//! `mqbench` runs a short, bounded load against real `mqnamesrv`/`mqbroker`
//! processes: the producer sends an exact count and stops by itself, the
//! consumer started before it sees every message, and both print their
//! per-second lines and a summary.

#[path = "admin_common/mod.rs"]
mod admin_common;

use admin_common::Servers;
use std::process::{Command, Stdio};
use std::time::Duration;

const MQBENCH: &str = env!("CARGO_BIN_EXE_mqbench");

#[test]
fn producer_and_consumer_run_a_bounded_load() {
    let servers = Servers::start();
    let ns = servers.namesrv.as_str();
    assert_eq!(
        servers.mqadmin(&["updateTopic", "-b", &servers.broker, "-t", "BenchSmoke", "-r", "4", "-w", "4"]).code,
        0
    );
    servers.wait_for_route("BenchSmoke");
    let consumer = Command::new(MQBENCH)
        .args(["consumer", "-n", ns, "-t", "BenchSmoke", "-g", "bench_smoke", "-q", "3000", "--duration", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mqbench consumer");
    // Let the consumer find the queues' ends before messages arrive.
    std::thread::sleep(Duration::from_secs(2));
    let producer = Command::new(MQBENCH)
        .args(["producer", "-n", ns, "-t", "BenchSmoke", "-w", "8", "-s", "256", "-q", "3000", "--duration", "60"])
        .output()
        .expect("mqbench producer");
    let out = String::from_utf8_lossy(&producer.stdout);
    assert!(producer.status.success(), "producer failed: {out}\n{}", String::from_utf8_lossy(&producer.stderr));
    let summary = out.lines().last().unwrap_or_default();
    assert!(summary.starts_with("Summary: sent 3000 "), "{out}");
    assert!(summary.contains("failed 0"), "{summary}");
    assert!(summary.contains("p99.9"), "{summary}");
    let consumed = consumer.wait_with_output().expect("consumer ends by itself");
    let out = String::from_utf8_lossy(&consumed.stdout);
    assert!(consumed.status.success(), "consumer failed: {out}");
    assert!(out.contains("Consume TPS"), "{out}");
    let summary = out.lines().last().unwrap_or_default();
    let count: u64 = summary
        .strip_prefix("Summary: consumed ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(count >= 3000, "the consumer saw every message: {summary}");
}
