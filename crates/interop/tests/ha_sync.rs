//! 2m-2s-sync (conf/2m-2s-sync): SYNC_MASTER brokers with their slaves as
//! real processes. A send is acknowledged only once a slave holds it, so
//! SIGKILLing a master mid-stream loses no acknowledged message: all of them
//! are consumed from its slave, by a consumer that finds the master gone.
//!
//! Needs the binaries: `cargo build -p rmq-cli`, then
//! `cargo test -p rmq-interop --test ha_sync`.
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
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOPIC: &str = "HaSyncTopic";
const ACKED_TARGET: usize = 10_000;
const KILL_AFTER: usize = 3_000;
const SENDERS: usize = 8;

/// 10,000 acknowledged sends over two SYNC_MASTER groups; broker-a's master
/// is SIGKILLed after 3,000; every message acknowledged by broker-a is then
/// consumed from broker-a's slave (and broker-b's from broker-b).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_master_killed_mid_stream_loses_no_acknowledged_message() {
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let mut a = Broker::start(home.path(), &repo_conf("2m-2s-sync/broker-a.properties"), &ns.addr, &[]);
    let a_s = Broker::start(home.path(), &repo_conf("2m-2s-sync/broker-a-s.properties"), &ns.addr, &[]);
    let b = Broker::start(home.path(), &repo_conf("2m-2s-sync/broker-b.properties"), &ns.addr, &[]);
    let b_s = Broker::start(home.path(), &repo_conf("2m-2s-sync/broker-b-s.properties"), &ns.addr, &[]);
    let admin = admin::client();
    for master in [&a.addr, &b.addr] {
        admin::create_topic(&admin, master, TOPIC, 4).await;
    }
    admin::wait_replicating(&admin, &a.addr, &a_s.addr, TOPIC).await;
    admin::wait_replicating(&admin, &b.addr, &b_s.addr, TOPIC).await;

    let harness = Harness::new_tuned("ha-sync").expect("client runtime");
    let producer = Arc::new(clients::producer(&harness, &ns.addr, "ha-sync-pg").await);
    // UNIQ_KEY → broker name, for every SEND_OK.
    let acked: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let failures = Arc::new(AtomicUsize::new(0));
    let not_ok = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut senders = tokio::task::JoinSet::new();
    for s in 0..SENDERS {
        let (producer, acked, failures, not_ok) = (producer.clone(), acked.clone(), failures.clone(), not_ok.clone());
        senders.spawn(async move {
            let mut i = 0;
            while acked.lock().unwrap().len() < ACKED_TARGET && Instant::now() < deadline {
                i += 1;
                let body = format!("sender {s} message {i} {}", "x".repeat(100));
                let msg = Message::builder().topic(TOPIC).tags("TagA").body_slice(body.as_bytes()).build_unchecked();
                match Box::pin(producer.send(msg)).await {
                    Ok(Some(r)) if r.send_status == SendStatus::SendOk => {
                        let broker = r.message_queue.map(|q| q.broker_name().to_string()).unwrap_or_default();
                        acked.lock().unwrap().insert(r.msg_id.expect("msg id").to_string(), broker);
                    }
                    Ok(_) => {
                        not_ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
    }
    admin::wait_until("acknowledged sends before the kill", Duration::from_secs(60), || async {
        acked.lock().unwrap().len() >= KILL_AFTER
    })
    .await;
    a.process.kill();
    let killed_at = acked.lock().unwrap().len();
    while senders.join_next().await.is_some() {}
    let acked = acked.lock().unwrap().clone();
    eprintln!(
        "sent: {} SEND_OK ({} when broker-a's master was killed), {} other statuses, {} errors",
        acked.len(),
        killed_at,
        not_ok.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed)
    );
    assert!(acked.len() >= ACKED_TARGET, "sends did not go on after the kill");
    let on_a: BTreeSet<&String> = acked.iter().filter(|(_, b)| *b == "broker-a").map(|(k, _)| k).collect();
    assert!(on_a.len() > 100, "broker-a took part ({} messages)", on_a.len());

    let inbox: clients::Inbox = Arc::default();
    let mut consumer = clients::consumer(&harness, &ns.addr, "ha-sync-cg", TOPIC, &inbox).await;
    let wanted: BTreeSet<String> = acked.keys().cloned().collect();
    let consume_deadline = Instant::now() + Duration::from_secs(90);
    while !wanted.is_subset(&inbox.lock().unwrap()) && Instant::now() < consume_deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let got = inbox.lock().unwrap().clone();
    let missing: Vec<&String> = wanted.difference(&got).collect();
    let missing_on_a = missing.iter().filter(|k| on_a.contains(*k)).count();
    assert!(
        missing.is_empty(),
        "{} acknowledged messages not consumed ({missing_on_a} of them from broker-a), e.g. {:?}",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
    consumer.shutdown().await;
    Arc::try_unwrap(producer).ok().expect("sole owner").shutdown().await;
    harness.shutdown_async().await;
    drop((a_s, b, b_s, ns));
}

/// The other SYNC_MASTER answers (4.9.8 `CommitLog.submitReplicaRequest`):
/// SLAVE_NOT_AVAILABLE (11) with no slave, FLUSH_SLAVE_TIMEOUT (12) when the
/// slave does not confirm within `slaveTimeout`; the message is stored either
/// way. SEND_OK once a real slave follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_master_answers_slave_not_available_and_flush_slave_timeout() {
    use tokio::io::AsyncWriteExt;
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let extra = [("slaveTimeout", "500")];
    // The mute "slave" below is this test, not a registered broker: the
    // allow-list lets it in (rmq admits only known peers on the HA port).
    let admit_test = [("slaveTimeout", "500"), ("haAllowedAddresses", "127.0.0.1")];
    let master = Broker::start(home.path(), &repo_conf("2m-2s-sync/broker-a.properties"), &ns.addr, &admit_test);
    let client = admin::client();
    admin::create_topic(&client, &master.addr, TOPIC, 4).await;
    assert_eq!(admin::send(&client, &master.addr, TOPIC, 0, "k0", b"no slave").await, 11);
    admin::wait_until("stored all the same", Duration::from_secs(5), || async {
        admin::max_offset(&client, &master.addr, TOPIC, 0).await == 1
    })
    .await;

    // A "slave" that reports the master's end once and then says nothing.
    let end = admin::info_i64(&client, &master.addr, "commitLogMaxOffset").await;
    let mut mute = tokio::net::TcpStream::connect(("127.0.0.1", master.port + 1)).await.unwrap();
    mute.write_all(&end.to_be_bytes()).await.unwrap();
    admin::wait_until("mute slave counted", Duration::from_secs(5), || async {
        admin::info_i64(&client, &master.addr, "haReplicatedOffset").await == end
    })
    .await;
    let started = Instant::now();
    assert_eq!(admin::send(&client, &master.addr, TOPIC, 0, "k1", b"mute slave").await, 12);
    assert!(started.elapsed() >= Duration::from_millis(450), "waited slaveTimeout");
    drop(mute);

    let slave = Broker::start(home.path(), &repo_conf("2m-2s-sync/broker-a-s.properties"), &ns.addr, &extra);
    admin::wait_until("real slave in step", Duration::from_secs(20), || async {
        let m = admin::info_i64(&client, &master.addr, "commitLogMaxOffset").await;
        admin::info_i64(&client, &master.addr, "haReplicatedOffset").await == m
    })
    .await;
    assert_eq!(admin::send(&client, &master.addr, TOPIC, 0, "k2", b"slave").await, 0);
    drop((slave, master, ns));
}
