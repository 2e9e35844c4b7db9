//! Reading from a slave (`suggestWhichBrokerId` in pull responses, Java's
//! `PullMessageProcessor`), with real processes and
//! rocketmq-client-rust consumers: a consumer lagging past memory is told to
//! pull from the slave (slaveReadEnable); with its master down, a consumer
//! goes on from the slave by itself, and the offsets it commits meanwhile
//! survive the master's return (the slave hands them back).
//!
//! Needs the binaries: `cargo build -p rmq-cli`, then
//! `cargo test -p rmq-interop --test ha_read`.
#![recursion_limit = "256"]

#[path = "common/v4_clients.rs"]
mod clients;
mod common;
#[path = "common/processes.rs"]
mod processes;

use common::client::Harness;
use processes::{Broker, Namesrv, admin, repo_conf};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const TOPIC: &str = "HaReadTopic";
const GROUP: &str = "ha-read-cg";

async fn send(client: &rmq_remoting::Client, master: &str, tag: &str, n: usize) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for i in 0..n {
        let key = format!("{tag}-{i}");
        assert_eq!(admin::send(client, master, TOPIC, (i % 4) as i32, &key, b"read me").await, 0, "send {key}");
        keys.insert(key);
    }
    keys
}

/// Every queue's committed offset on `broker` equals the queue's max offset.
async fn wait_committed(client: &rmq_remoting::Client, broker: &str, of: &str, within: Duration) {
    admin::wait_until(&format!("offsets committed up to the end on {of}"), within, || async {
        for q in 0..4 {
            let max = admin::max_offset(client, broker, TOPIC, q).await;
            if max <= 0 || admin::consumer_offset(client, broker, GROUP, TOPIC, q).await != max {
                return false;
            }
        }
        true
    })
    .await;
}

async fn wait_keys(inbox: &clients::Inbox, keys: &BTreeSet<String>, within: Duration) {
    admin::wait_until("consumed", within, || async { keys.is_subset(&inbox.lock().unwrap()) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_go_on_from_the_slave_and_their_offsets_survive_the_master() {
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let mut master = Broker::start(home.path(), &repo_conf("2m-2s-async/broker-a.properties"), &ns.addr, &[]);
    let slave = Broker::start(home.path(), &repo_conf("2m-2s-async/broker-a-s.properties"), &ns.addr, &[]);
    let client = admin::client();
    admin::create_topic(&client, &master.addr, TOPIC, 4).await;
    admin::wait_replicating(&client, &master.addr, &slave.addr, TOPIC).await;
    let harness = Harness::new_tuned("ha-read").expect("client runtime");

    // 1. Consumed through the master; offsets reach the slave by its sync.
    let first = send(&client, &master.addr, "first", 200).await;
    let inbox: clients::Inbox = Arc::default();
    let mut c = clients::consumer(&harness, &ns.addr, GROUP, TOPIC, &inbox).await;
    wait_keys(&inbox, &first, Duration::from_secs(30)).await;
    wait_committed(&client, &master.addr, "the master", Duration::from_secs(20)).await;
    c.shutdown().await;
    wait_committed(&client, &slave.addr, "the slave", Duration::from_secs(20)).await;

    // 2. The master dies with messages not yet consumed; the consumer reads
    // them from the slave, with nobody doing anything.
    let second = send(&client, &master.addr, "second", 200).await;
    admin::wait_until("slave in step", Duration::from_secs(10), || async {
        let m = admin::info_i64(&client, &master.addr, "commitLogMaxOffset").await;
        admin::info_i64(&client, &slave.addr, "commitLogMaxOffset").await == m
    })
    .await;
    master.process.kill();
    let inbox: clients::Inbox = Arc::default();
    let mut c = clients::consumer(&harness, &ns.addr, GROUP, TOPIC, &inbox).await;
    wait_keys(&inbox, &second, Duration::from_secs(60)).await;
    let again = inbox.lock().unwrap().intersection(&first).count();
    assert_eq!(again, 0, "the consumer resumed at the offsets synced to the slave");
    // Its commits go to the slave meanwhile.
    wait_committed(&client, &slave.addr, "the slave, by the consumer", Duration::from_secs(20)).await;
    c.shutdown().await;

    // 3. The master returns with its old offsets; the slave hands the newer
    // ones back, so a consumer started now gets nothing again.
    master.restart();
    wait_committed(&client, &master.addr, "the master, handed back by the slave", Duration::from_secs(30)).await;
    let inbox: clients::Inbox = Arc::default();
    let mut c = clients::consumer(&harness, &ns.addr, GROUP, TOPIC, &inbox).await;
    let third = send(&client, &master.addr, "third", 20).await;
    wait_keys(&inbox, &third, Duration::from_secs(60)).await;
    let replayed = inbox.lock().unwrap().iter().filter(|k| !third.contains(*k)).count();
    assert_eq!(replayed, 0, "no message consumed twice after the master's return");
    c.shutdown().await;
    harness.shutdown_async().await;
    drop((slave, ns));
}

/// With `slaveReadEnable`, a consumer further behind than the in-memory
/// window (here 0 % of RAM, so any lag) is told to pull from broker id 1,
/// and a push consumer then really reads from the slave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_consumer_is_sent_to_the_slave() {
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let extra = [("slaveReadEnable", "true"), ("accessMessageInMemoryMaxRatio", "0")];
    let master = Broker::start(home.path(), &repo_conf("2m-2s-async/broker-a.properties"), &ns.addr, &extra);
    let slave = Broker::start(home.path(), &repo_conf("2m-2s-async/broker-a-s.properties"), &ns.addr, &extra);
    let client = admin::client();
    admin::create_topic(&client, &master.addr, TOPIC, 4).await;
    admin::wait_replicating(&client, &master.addr, &slave.addr, TOPIC).await;
    let keys = send(&client, &master.addr, "lag", 400).await;
    let (code, suggested) = admin::pull_one(&client, &master.addr, "probe-cg", TOPIC, 0, 0).await;
    assert_eq!((code, suggested), (0, 1), "the master points a lagging consumer at the slave");
    // Queue 0 holds 100 messages: at 100 the consumer has caught up.
    let (_, caught_up) = admin::pull_one(&client, &master.addr, "probe-cg", TOPIC, 0, 100).await;
    assert_eq!(caught_up, 0, "a consumer at the end is kept on the master");

    let harness = Harness::new_tuned("ha-read-slave").expect("client runtime");
    let inbox: clients::Inbox = Arc::default();
    let mut c = clients::consumer(&harness, &ns.addr, GROUP, TOPIC, &inbox).await;
    wait_keys(&inbox, &keys, Duration::from_secs(60)).await;
    let served = admin::info_i64(&client, &slave.addr, "msgGetTotalTodayNow").await;
    assert!(served > 0, "the slave served pulls ({served})");
    c.shutdown().await;
    harness.shutdown_async().await;
    drop((master, slave, ns));
}
