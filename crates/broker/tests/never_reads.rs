//! A consumer that asks for large pulls and never reads the answers: the
//! responses queue up holding CommitLog data until
//! `serverChannelWriteTimeoutSeconds` passes without write progress, then
//! the broker closes the connection and drops them. Producers and consumers
//! on other connections are served all along.

mod common;

use bytes::BytesMut;
use common::{TestBroker, client, invoke, pull_request, send_request};
use rmq_protocol::body::kv::KvTable;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode, frame};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const TOPIC: &str = "Hoarded";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_never_reads_is_closed_and_the_others_are_served() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[("serverChannelWriteTimeoutSeconds", "1")]).await;
    let (c, _) = client();
    let body = vec![b'x'; 200 * 1024];
    for _ in 0..16 {
        let sent = invoke(&c, &broker.addr, send_request("pg", TOPIC, 0, 0, &[], &body)).await;
        assert_eq!(sent.response_code(), ResponseCode::Success);
    }

    // 300 pulls of about 200 KiB each (60 MB of answers), none of it read.
    let mut hoarder = TcpStream::connect(&broker.addr).await.unwrap();
    let mut pulls = BytesMut::new();
    for _ in 0..300 {
        frame::encode(&pull_request("hoarder", TOPIC, 0, 0, "*", "TAG"), &mut pulls).unwrap();
    }
    hoarder.write_all(&pulls).await.unwrap();

    // Others are answered in ordinary time meanwhile, for three write timeouts.
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(3) {
        let asked = Instant::now();
        let sent = invoke(&c, &broker.addr, send_request("pg", TOPIC, 1, 0, &[], b"small")).await;
        assert_eq!(sent.response_code(), ResponseCode::Success);
        // A record reaches the consume queue a moment after its SEND_OK (the
        // dispatcher runs apart): the pull may come first and find nothing yet.
        let mut pulled = invoke(&c, &broker.addr, pull_request("normal", TOPIC, 1, 0, "*", "TAG")).await;
        while pulled.response_code() != ResponseCode::Success && asked.elapsed() < Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(5)).await;
            pulled = invoke(&c, &broker.addr, pull_request("normal", TOPIC, 1, 0, "*", "TAG")).await;
        }
        assert_eq!(pulled.response_code(), ResponseCode::Success);
        slowest = slowest.max(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(slowest < Duration::from_secs(2), "a normal send and pull took {slowest:?}");

    // What the hoarder's socket holds is all it gets: then the broker's close.
    let mut sink = vec![0u8; 1 << 20];
    let mut received = 0usize;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match hoarder.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received += n,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection that read nothing is still open ({received} bytes read)");
    assert!(received < 300 * 200 * 1024, "it got every answer ({received} bytes): nothing was dropped");

    // mqadmin brokerStatus shows the close.
    let info = invoke(&c, &broker.addr, RemotingCommand::bare_request(RequestCode::GetBrokerRuntimeInfo)).await;
    let table = KvTable::decode(&info.body.to_bytes()).expect("runtime info").table;
    assert_eq!(table.get("writeTimeoutClosedConnections").map(String::as_str), Some("1"), "{table:?}");
    assert_eq!(table.get("frameTimeoutClosedConnections").map(String::as_str), Some("0"));
    broker.stop().await;
}
