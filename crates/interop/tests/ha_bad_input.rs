//! Replication refusing what it must not accept, with real processes: a
//! slave with brokerId 0, two masters claiming one brokerName, garbage on the
//! HA port. Each gives a clear log line and a refused or dropped connection,
//! and neither store is damaged. (Divergent offsets, a slave ahead of its
//! master, stalled peers and garbage from a master are covered over loopback
//! in crates/replication/tests/loopback.rs.)
//!
//! Needs the binaries: `cargo build -p rmq-cli`, then
//! `cargo test -p rmq-interop --test ha_bad_input`.

mod common;
#[path = "common/processes.rs"]
mod processes;

use processes::{Broker, Namesrv, admin, repo_conf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOPIC: &str = "HaBadTopic";

/// Java's BrokerStartup refuses it with this line; so does rmq.
#[tokio::test]
async fn a_slave_with_broker_id_0_does_not_start() {
    let home = tempfile::tempdir().unwrap();
    let (code, out) = Broker::run_to_exit(
        home.path(),
        &repo_conf("2m-2s-sync/broker-a-s.properties"),
        "127.0.0.1:9",
        &[("brokerId", "0")],
    );
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("Slave's brokerId must be > 0"), "{out}");
}

/// Garbage on a master's HA port from an admitted peer: the connection is
/// dropped with a log line and the master serves on, its store intact. (A
/// peer that is neither a registered slave nor in `haAllowedAddresses` is
/// closed before it is read at all: crates/broker/tests/ha_guard.rs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_ha_port_is_dropped() {
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let conf = repo_conf("2m-2s-async/broker-a.properties");
    let master = Broker::start(home.path(), &conf, &ns.addr, &[("haAllowedAddresses", "127.0.0.1")]);
    let client = admin::client();
    admin::create_topic(&client, &master.addr, TOPIC, 4).await;
    assert_eq!(admin::send(&client, &master.addr, TOPIC, 0, "k", b"v").await, 0);
    let before = admin::info_i64(&client, &master.addr, "commitLogMaxOffset").await;
    let mut peer = tokio::net::TcpStream::connect(("127.0.0.1", master.port + 1)).await.unwrap();
    peer.write_all(b"\xff\xff\xff\xff\xff\xff\xff\xffjunk").await.unwrap();
    let mut buf = [0u8; 1024];
    let eof = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match peer.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(eof.is_ok(), "the master kept a connection that sent garbage");
    admin::wait_until("log line", Duration::from_secs(5), || async {
        master.process.printed("HA: dropping slave") && master.process.printed("garbage")
    })
    .await;
    assert_eq!(admin::info_i64(&client, &master.addr, "commitLogMaxOffset").await, before);
    assert_eq!(admin::send(&client, &master.addr, TOPIC, 0, "k2", b"v").await, 0, "the master serves on");
    drop(ns);
}

/// Two masters register the same brokerName: the NameServer names whichever
/// registered last. The slave stays with the master it follows while it is
/// connected, and says so; when that master dies, the other one (whose log
/// is not the slave's) refuses it, and the slave's store is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_masters_claiming_one_broker_name() {
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let base = repo_conf("2m-2s-async/broker-a.properties");
    // The second master and the slave register every 10 s, the first every
    // 30 s (the default): the NameServer mostly names the second.
    let fast = [("registerNameServerPeriod", "10000")];
    let mut first = Broker::start(home.path(), &base, &ns.addr, &[]);
    let slave = Broker::start(home.path(), &repo_conf("2m-2s-async/broker-a-s.properties"), &ns.addr, &fast);
    let client = admin::client();
    admin::create_topic(&client, &first.addr, TOPIC, 4).await;
    admin::wait_replicating(&client, &first.addr, &slave.addr, TOPIC).await;
    for i in 0..200 {
        assert_eq!(admin::send(&client, &first.addr, TOPIC, i % 4, &format!("a{i}"), b"first master").await, 0);
    }
    let second = Broker::start(home.path(), &base, &ns.addr, &fast);
    admin::wait_until("the slave notices the second claim", Duration::from_secs(25), || async {
        slave.process.printed("two masters with one brokerName")
    })
    .await;
    // Still replicating from the first.
    for i in 0..100 {
        assert_eq!(admin::send(&client, &first.addr, TOPIC, i % 4, &format!("b{i}"), b"first master").await, 0);
    }
    let max = |addr: String| {
        let client = client.clone();
        async move { admin::info_i64(&client, &addr, "commitLogMaxOffset").await }
    };
    let first_end = max(first.addr.clone()).await;
    admin::wait_until("slave follows the first master", Duration::from_secs(10), || async {
        max(slave.addr.clone()).await == first_end
    })
    .await;
    assert_eq!(admin::info_i64(&client, &second.addr, "haConnectionCount").await, 0);
    // The first master dies: the slave tries the second, which refuses it.
    first.process.kill();
    admin::wait_until("the second master refuses the slave", Duration::from_secs(40), || async {
        second.process.printed("beyond this master's CommitLog end")
    })
    .await;
    assert_eq!(max(slave.addr.clone()).await, first_end, "the slave's store is untouched");
    assert!(
        slave.process.printed("HA: dropping the connection to master")
            || slave.process.printed("closed the connection")
    );
    drop(ns);
}
