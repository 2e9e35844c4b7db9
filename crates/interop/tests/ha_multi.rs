//! 2m-noslave (conf/2m-noslave): two masters, no slaves, two NameServers
//! given as a `;` list to brokers and clients. One master SIGKILLed: sends go
//! on through the other once routes refresh, with a bounded number of
//! failures; the first NameServer dies too and nobody notices.
//!
//! Needs the binaries: `cargo build -p rmq-cli`, then
//! `cargo test -p rmq-interop --test ha_multi`.
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

const TOPIC: &str = "HaMultiTopic";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_master_of_two_down_sends_go_on_through_the_other() {
    let home = tempfile::tempdir().unwrap();
    let mut ns1 = Namesrv::start(home.path());
    let ns2 = Namesrv::start(home.path());
    let list = format!("{};{}", ns1.addr, ns2.addr);
    let mut a = Broker::start(home.path(), &repo_conf("2m-noslave/broker-a.properties"), &list, &[]);
    let b = Broker::start(home.path(), &repo_conf("2m-noslave/broker-b.properties"), &list, &[]);
    let client = admin::client();
    for master in [&a.addr, &b.addr] {
        admin::create_topic(&client, master, TOPIC, 4).await;
    }
    let harness = Harness::new_tuned("ha-multi").expect("client runtime");
    let producer = Arc::new(clients::producer(&harness, &list, "ha-multi-pg").await);
    let sends = clients::SendLoop::start(producer.clone(), TOPIC, 4, Duration::ZERO);
    admin::wait_until("sends to both masters", Duration::from_secs(30), || async {
        let acked = sends.sent().acked;
        acked.len() > 500 && acked.iter().any(|a| a.1 == "broker-a") && acked.iter().any(|a| a.1 == "broker-b")
    })
    .await;
    // The first NameServer goes first: brokers and clients carry on with the second.
    ns1.process.kill();
    tokio::time::sleep(Duration::from_secs(1)).await;
    a.process.kill();
    sends.mark();
    // Two route refreshes (10 s each at the client's minimum) and some more.
    tokio::time::sleep(Duration::from_secs(25)).await;
    let sent = sends.stop().await;
    let after = sent.acked_after();
    let failures_after = sent.failed_after();
    let last_failure = sent.failed.iter().copied().max().unwrap_or(-1);
    eprintln!(
        "{} sends acknowledged ({} after the kill), {} failed ({} after the kill, the last {} ms after it)",
        sent.acked.len(),
        after.len(),
        sent.failed.len(),
        failures_after,
        last_failure
    );
    assert!(after.len() > 500, "sends went on after the kill");
    assert!(after.iter().filter(|a| a.0 > 1_000).all(|a| a.1 == "broker-b"), "nothing acknowledged by a dead broker");
    assert!(failures_after <= 100, "{failures_after} failed sends after the kill");
    assert!(last_failure < 15_000, "sends still failed {last_failure} ms after the kill");

    // A consumer given the same `;` list reads broker-b's messages.
    let wanted: BTreeSet<String> = after.iter().map(|a| a.2.clone()).collect();
    let inbox: clients::Inbox = Arc::default();
    let mut c = clients::consumer(&harness, &list, "ha-multi-cg", TOPIC, &inbox).await;
    admin::wait_until("consumed via the NameServer list", Duration::from_secs(60), || async {
        wanted.is_subset(&inbox.lock().unwrap())
    })
    .await;
    c.shutdown().await;
    Arc::try_unwrap(producer).ok().expect("sole owner").shutdown().await;
    harness.shutdown_async().await;
    drop((b, ns2));
}
