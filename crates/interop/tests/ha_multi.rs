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
use rocketmq_client_rust::SendStatus;
use rocketmq_model::common::message::message_single::Message;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    // (elapsed since the kill in ms or -1 before it, broker name) of every SEND_OK; failures likewise.
    let acked: Arc<Mutex<Vec<(i64, String, String)>>> = Arc::default();
    let failed: Arc<Mutex<Vec<i64>>> = Arc::default();
    let killed_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let since_kill = {
        let killed_at = killed_at.clone();
        move || killed_at.lock().unwrap().map_or(-1, |t| t.elapsed().as_millis() as i64)
    };
    let stop = Arc::new(AtomicUsize::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for s in 0..4 {
        let (producer, acked, failed, stop, since_kill) =
            (producer.clone(), acked.clone(), failed.clone(), stop.clone(), since_kill.clone());
        senders.spawn(async move {
            let mut i = 0;
            while stop.load(Ordering::Relaxed) == 0 {
                i += 1;
                let body = format!("sender {s} message {i}");
                let msg = Message::builder().topic(TOPIC).body_slice(body.as_bytes()).build_unchecked();
                match Box::pin(producer.send(msg)).await {
                    Ok(Some(r)) if r.send_status == SendStatus::SendOk => {
                        let broker = r.message_queue.map(|q| q.broker_name().to_string()).unwrap_or_default();
                        acked.lock().unwrap().push((since_kill(), broker, r.msg_id.expect("id").to_string()));
                    }
                    _ => {
                        failed.lock().unwrap().push(since_kill());
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        });
    }
    admin::wait_until("sends to both masters", Duration::from_secs(30), || async {
        let acked = acked.lock().unwrap();
        acked.len() > 500 && acked.iter().any(|a| a.1 == "broker-a") && acked.iter().any(|a| a.1 == "broker-b")
    })
    .await;
    // The first NameServer goes first: brokers and clients carry on with the second.
    ns1.process.kill();
    tokio::time::sleep(Duration::from_secs(1)).await;
    a.process.kill();
    *killed_at.lock().unwrap() = Some(Instant::now());
    // Two route refreshes (10 s each at the client's minimum) and some more.
    tokio::time::sleep(Duration::from_secs(25)).await;
    stop.store(1, Ordering::Relaxed);
    while senders.join_next().await.is_some() {}
    let acked = acked.lock().unwrap().clone();
    let failed = failed.lock().unwrap().clone();
    let after: Vec<&(i64, String, String)> = acked.iter().filter(|a| a.0 >= 0).collect();
    let failures_after = failed.iter().filter(|f| **f >= 0).count();
    let last_failure = failed.iter().copied().max().unwrap_or(-1);
    eprintln!(
        "{} sends acknowledged ({} after the kill), {} failed ({} after the kill, the last {} ms after it)",
        acked.len(),
        after.len(),
        failed.len(),
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
