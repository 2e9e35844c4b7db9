//! The master's HA port admits only its group's registered slaves (an rmq
//! extension; Java's master serves any TCP peer): a stranger gets no CommitLog
//! byte and settles no SYNC_MASTER send, and strangers knocking do not hold up
//! the real slave. A real master and slave in this process over loopback,
//! with a NameServer; strangers connect from 127.0.0.2 (Linux routes all of
//! 127/8 to this host), the brokers from 127.0.0.1.

mod common;

use common::{client, create_topic_request, invoke, send_request};
use rmq_protocol::body::kv::KvTable;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::Client;
use rmq_testkit::broker::TestBroker;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

const TOPIC: &str = "HaGuardTopic";

fn small_store() -> Vec<(&'static str, &'static str)> {
    vec![
        ("mappedFileSizeCommitLog", "16777216"),
        ("mappedFileSizeConsumeQueue", "60000"),
        ("maxIndexNum", "10000"),
        ("maxHashSlotNum", "2000"),
        ("slaveTimeout", "2000"),
    ]
}

async fn master(namesrv: &str, home: &std::path::Path) -> TestBroker {
    let mut pairs = small_store();
    pairs.push(("brokerRole", "SYNC_MASTER"));
    TestBroker::start(namesrv, home, &pairs).await
}

async fn slave(namesrv: &str, home: &std::path::Path) -> TestBroker {
    let mut pairs = small_store();
    pairs.extend([("brokerRole", "SLAVE"), ("brokerId", "1")]);
    TestBroker::start(namesrv, home, &pairs).await
}

async fn info(c: &Client, broker: &str, key: &str) -> i64 {
    let response = invoke(c, broker, RemotingCommand::bare_request(RequestCode::GetBrokerRuntimeInfo)).await;
    let table = KvTable::decode(&response.body.to_bytes()).expect("runtime info").table;
    table.get(key).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{key} in {table:?}"))
}

async fn send(c: &Client, broker: &str, i: usize) -> ResponseCode {
    invoke(c, broker, send_request("pg", TOPIC, (i % 4) as i32, 0, &[], b"replicate me")).await.response_code()
}

async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A fake slave from 127.0.0.2: reports offset 0, then after each transfer
/// claims to hold its end, as a real slave would, until the master closes
/// the connection. Returns the bytes it got.
async fn stranger(ha: SocketAddr) -> usize {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let Ok(mut peer) = socket.connect(ha).await else {
        return 0;
    };
    let _ = peer.write_all(&0u64.to_be_bytes()).await;
    let mut got = 0;
    let mut inbox = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = match peer.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            got += n;
            inbox.extend_from_slice(&buf[..n]);
            // Transfers: 8-byte offset, 4-byte length, the bytes.
            while inbox.len() >= 12 {
                let offset = u64::from_be_bytes(inbox[..8].try_into().unwrap());
                let len = u32::from_be_bytes(inbox[8..12].try_into().unwrap()) as usize;
                if inbox.len() < 12 + len {
                    break;
                }
                inbox.drain(..12 + len);
                let _ = peer.write_all(&(offset + len as u64).to_be_bytes()).await;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the master kept a stranger's connection open");
    got
}

fn ha_addr(broker: &TestBroker) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], broker.port + 1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_gets_no_bytes_and_settles_no_sync_send() {
    let ns = rmq_testkit::namesrv::start().await;
    let home = tempfile::tempdir().unwrap();
    let m = master(&ns.addr_string(), home.path()).await;
    let (c, _) = client();
    assert_eq!(invoke(&c, &m.addr, create_topic_request(TOPIC, 4, 6)).await.code, 0);
    // Data on the master: a peer admitted would be streamed it.
    for i in 0..20 {
        assert_eq!(send(&c, &m.addr, i).await, ResponseCode::SlaveNotAvailable);
    }
    assert_eq!(stranger(ha_addr(&m)).await, 0, "a stranger reads nothing of the CommitLog");
    // While strangers keep knocking, ready to acknowledge whatever they are
    // sent, a SYNC_MASTER send still finds no slave.
    let ha = ha_addr(&m);
    let knocking = tokio::spawn(async move {
        for _ in 0..10 {
            assert_eq!(stranger(ha).await, 0);
        }
    });
    for i in 0..5 {
        assert_eq!(send(&c, &m.addr, i).await, ResponseCode::SlaveNotAvailable);
    }
    knocking.await.unwrap();
    assert_eq!(info(&c, &m.addr, "haConnectionCount").await, 0);
    assert!(info(&c, &m.addr, "haRefusedConnections").await >= 11);
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slave_replicates_while_a_hundred_strangers_knock() {
    let ns = rmq_testkit::namesrv::start().await;
    let home = tempfile::tempdir().unwrap();
    let m = master(&ns.addr_string(), &home.path().join("m")).await;
    let s = slave(&ns.addr_string(), &home.path().join("s")).await;
    let (c, _) = client();
    assert_eq!(invoke(&c, &m.addr, create_topic_request(TOPIC, 4, 6)).await.code, 0);
    // The slave registered before it connected; the master admits it at
    // once or on its first retry, a second or two later.
    let started = Instant::now();
    wait_until("the slave connects", Duration::from_secs(8), || async {
        info(&c, &m.addr, "haConnectionCount").await == 1
    })
    .await;
    eprintln!("slave admitted after {:?}", started.elapsed());
    let ha = ha_addr(&m);
    let knockers = tokio::spawn(async move {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..100 {
            set.spawn(stranger(ha));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut got = 0;
        while let Some(n) = set.join_next().await {
            got += n.unwrap();
        }
        got
    });
    // Sends go on meanwhile, each confirmed by the real slave.
    let mut sent = 0;
    while !knockers.is_finished() || sent < 100 {
        assert_eq!(send(&c, &m.addr, sent).await, ResponseCode::Success, "send {sent}");
        sent += 1;
    }
    assert_eq!(knockers.await.unwrap(), 0, "no stranger read a byte");
    let end = info(&c, &m.addr, "commitLogMaxOffset").await;
    wait_until("the slave holds the master's end", Duration::from_secs(5), || async {
        info(&c, &s.addr, "commitLogMaxOffset").await == end
    })
    .await;
    assert_eq!(info(&c, &m.addr, "haConnectionCount").await, 1);
    assert!(info(&c, &m.addr, "haRefusedConnections").await >= 100);
    s.stop().await;
    m.stop().await;
}
