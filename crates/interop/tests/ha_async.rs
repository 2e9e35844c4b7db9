//! 2m-2s-async (conf/2m-2s-async): ASYNC_MASTER brokers and their slaves as
//! real processes. Replication lag under steady load (measured by the master,
//! read from its runtime info); a slave restarted catches up; a master
//! restarted is found again by its slave.
//!
//! Needs the binaries: `cargo build -p rmq-cli`, then
//! `cargo test -p rmq-interop --test ha_async -- --nocapture` (the lag
//! figures are printed). `sync_against_async_throughput` is ignored by
//! default: it is the benchmark behind docs/benchmarks.md.

mod common;
#[path = "common/processes.rs"]
mod processes;

use processes::{Broker, Namesrv, admin, repo_conf};
use std::path::Path;
use std::time::{Duration, Instant};

const TOPIC: &str = "HaAsyncTopic";

struct Group {
    ns: Namesrv,
    master: Broker,
    slave: Broker,
    client: rmq_remoting::Client,
}

async fn group(home: &Path, set: &str, extra: &[(&str, &str)]) -> Group {
    let ns = Namesrv::start(home);
    let master = Broker::start(home, &repo_conf(&format!("{set}/broker-a.properties")), &ns.addr, extra);
    let slave = Broker::start(home, &repo_conf(&format!("{set}/broker-a-s.properties")), &ns.addr, extra);
    let client = admin::client();
    admin::create_topic(&client, &master.addr, TOPIC, 4).await;
    admin::wait_replicating(&client, &master.addr, &slave.addr, TOPIC).await;
    Group { ns, master, slave, client }
}

impl Group {
    async fn max(&self, broker: &str) -> i64 {
        admin::info_i64(&self.client, broker, "commitLogMaxOffset").await
    }

    /// The slave's CommitLog ends where the master's does, and every queue
    /// has the same max offset on both (once both dispatchers caught up).
    async fn wait_in_step(&self, within: Duration) {
        admin::wait_until("slave in step with master", within, || async {
            let m = self.max(&self.master.addr).await;
            if m <= 0 || self.max(&self.slave.addr).await != m {
                return false;
            }
            for q in 0..4 {
                let master = admin::max_offset(&self.client, &self.master.addr, TOPIC, q).await;
                if master < 0 || admin::max_offset(&self.client, &self.slave.addr, TOPIC, q).await != master {
                    return false;
                }
            }
            true
        })
        .await;
    }

    async fn send(&self, n: usize, tag: &str) {
        for i in 0..n {
            let code =
                admin::send(&self.client, &self.master.addr, TOPIC, (i % 4) as i32, &format!("{tag}-{i}"), b"payload")
                    .await;
            assert_eq!(code, 0, "send {tag}-{i}");
        }
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return -1;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// (b): 10 s of steady load (8 senders, 1 KiB bodies) on an ASYNC_MASTER;
/// the master's `haReplicationLagMs` / `haReplicationLagBytes` are sampled
/// every 50 ms. The slave ends in step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_replication_lag_under_steady_load() {
    let home = tempfile::tempdir().unwrap();
    let g = group(home.path(), "2m-2s-async", &[]).await;
    let sampler = {
        let (client, master) = (admin::client(), g.master.addr.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                let info = admin::runtime_info(&client, &master).await;
                let get = |k: &str| info.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(-1);
                samples.push((get("haReplicationLagMs"), get("haReplicationLagBytes")));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            samples
        })
    };
    let load = admin::load(&g.client, &g.master.addr, TOPIC, 8, 1024, Duration::from_secs(10)).await;
    let samples = sampler.await.unwrap();
    let mut ms: Vec<i64> = samples.iter().map(|s| s.0).collect();
    let mut bytes: Vec<i64> = samples.iter().map(|s| s.1).collect();
    ms.sort_unstable();
    bytes.sort_unstable();
    eprintln!(
        "ASYNC_MASTER under load: {} msgs ({:.0} msg/s, {} failed); replication lag over {} samples: \
         ms p50 {} p99 {} max {}; bytes p50 {} p99 {} max {}",
        load.ok,
        load.rate(),
        load.not_ok,
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.last().unwrap_or(&-1),
        percentile(&bytes, 0.5),
        percentile(&bytes, 0.99),
        bytes.last().unwrap_or(&-1)
    );
    assert_eq!(load.not_ok, 0);
    assert!(ms.iter().all(|v| *v >= 0), "a slave was connected throughout");
    assert!(percentile(&ms, 0.99) < 1_000, "replication lags by more than a second");
    g.wait_in_step(Duration::from_secs(10)).await;
}

/// (c): a slave SIGKILLed while its master takes writes catches up after
/// its restart, consume queues included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_slave_catches_up() {
    let home = tempfile::tempdir().unwrap();
    let mut g = group(home.path(), "2m-2s-async", &[]).await;
    g.send(500, "before").await;
    g.wait_in_step(Duration::from_secs(10)).await;
    g.slave.process.kill();
    g.send(1500, "while-down").await;
    g.slave.restart();
    g.wait_in_step(Duration::from_secs(20)).await;
    g.send(200, "after").await;
    g.wait_in_step(Duration::from_secs(10)).await;
}

/// (d): a master SIGKILLed and restarted (same ports and store) is found
/// again by its slave, which then follows the new writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_master_is_reattached() {
    let home = tempfile::tempdir().unwrap();
    let mut g = group(home.path(), "2m-2s-async", &[]).await;
    g.send(500, "before").await;
    g.wait_in_step(Duration::from_secs(10)).await;
    g.master.process.kill();
    // Writes are refused by the slave meanwhile, as Java's slave refuses them.
    let refused = admin::send(&g.client, &g.slave.addr, TOPIC, 0, "to-slave", b"x").await;
    assert_eq!(refused, 14, "a slave answers SERVICE_NOT_AVAILABLE to sends");
    g.master.restart();
    g.send(500, "after").await;
    g.wait_in_step(Duration::from_secs(20)).await;
    assert_eq!(admin::info_i64(&g.client, &g.master.addr, "haConnectionCount").await, 1);
    drop(g.ns);
}

/// The slave's metadata sync (every 10 s from its master's VIP port): topic
/// configs, subscription groups, consumer offsets and delay offsets all
/// arrive on the slave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_follows_the_master() {
    use rmq_protocol::header::UpdateConsumerOffsetRequestHeader;
    use rmq_protocol::{RemotingCommand, RequestCode};
    let home = tempfile::tempdir().unwrap();
    let g = group(home.path(), "2m-2s-async", &[]).await;
    let (master, slave) = (g.master.addr.as_str(), g.slave.addr.as_str());
    let group_json = r#"{"groupName":"ha-meta-cg","consumeEnable":true,"retryQueueNums":1,"retryMaxTimes":16}"#;
    let create = RemotingCommand::bare_request(RequestCode::UpdateAndCreateSubscriptionGroup)
        .with_body(group_json.as_bytes().to_vec());
    assert_eq!(admin::call(&g.client, master, create).await, 0);
    g.send(10, "m").await;
    let header = UpdateConsumerOffsetRequestHeader {
        consumer_group: "ha-meta-cg".to_owned(),
        topic: TOPIC.to_owned(),
        queue_id: 1,
        commit_offset: 2,
    };
    let commit = RemotingCommand::request(RequestCode::UpdateConsumerOffset, &header);
    assert_eq!(admin::call(&g.client, master, commit).await, 0);
    // Delay level 1 (1 s): once delivered, the master's level-1 offset is 1.
    let code = admin::send_with(&g.client, master, TOPIC, 0, "delayed", "DELAY\u{1}1\u{2}", b"later").await;
    assert_eq!(code, 0);
    admin::wait_until("the master delivered the delayed message", Duration::from_secs(10), || async {
        admin::all_of(&g.client, master, RequestCode::GetAllDelayOffset).await.contains("1:1")
    })
    .await;
    admin::wait_until("the slave synced groups, offsets and delay offsets", Duration::from_secs(25), || async {
        let groups = admin::all_of(&g.client, slave, RequestCode::GetAllSubscriptionGroupConfig).await;
        let offsets = admin::consumer_offset(&g.client, slave, "ha-meta-cg", TOPIC, 1).await;
        let delay = admin::all_of(&g.client, slave, RequestCode::GetAllDelayOffset).await;
        groups.contains("ha-meta-cg") && offsets == 2 && delay.contains("1:1")
    })
    .await;
}

/// The benchmark of docs/benchmarks.md "## Replication": the same load (16
/// senders, 1 KiB bodies, 15 s) against a SYNC_MASTER and an ASYNC_MASTER,
/// each with its slave. Run with release binaries for figures worth
/// recording (see the doc for the command).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by hand"]
async fn sync_against_async_throughput() {
    let secs: u64 = std::env::var("HA_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(15);
    let senders: usize = std::env::var("HA_BENCH_SENDERS").ok().and_then(|s| s.parse().ok()).unwrap_or(16);
    let mut results = Vec::new();
    for set in ["2m-2s-async", "2m-2s-sync", "2m-2s-async", "2m-2s-sync"] {
        let home = tempfile::tempdir().unwrap();
        let g = group(home.path(), set, &[]).await;
        // Warm up: files mapped, connections open.
        admin::load(&g.client, &g.master.addr, TOPIC, senders, 1024, Duration::from_secs(2)).await;
        let load = admin::load(&g.client, &g.master.addr, TOPIC, senders, 1024, Duration::from_secs(secs)).await;
        eprintln!(
            "{set}: {} msgs in {:?}: {:.0} msg/s ({} not SEND_OK)",
            load.ok,
            load.elapsed,
            load.rate(),
            load.not_ok
        );
        results.push((set, load.rate()));
        g.wait_in_step(Duration::from_secs(30)).await;
    }
    let avg = |set: &str| {
        let v: Vec<f64> = results.iter().filter(|(s, _)| *s == set).map(|(_, r)| *r).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (a, s) = (avg("2m-2s-async"), avg("2m-2s-sync"));
    eprintln!("ASYNC_MASTER {a:.0} msg/s, SYNC_MASTER {s:.0} msg/s: sync is {:.1}% lower", (1.0 - s / a) * 100.0);
}
