//! The broker's connection limit keys reach its ports: `maxConnectionsPerIp`
//! refuses a host's connections past the cap, `serverFrameReadTimeoutSeconds`
//! cuts off a frame left half-sent, and both are counted in the runtime info while
//! a client on another address is served.

mod common;

use common::{TestBroker, client, invoke, send_request};
use rmq_protocol::body::kv::KvTable;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A connection from 127.0.0.2, which plays another host.
async fn connect_from_other_host(broker: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    socket.connect(broker.parse::<SocketAddr>().unwrap()).await.unwrap()
}

/// True once the broker closed `stream` (within 5 s).
async fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
}

async fn runtime_count(c: &rmq_remoting::Client, broker: &str, key: &str) -> u64 {
    let info = invoke(c, broker, RemotingCommand::bare_request(RequestCode::GetBrokerRuntimeInfo)).await;
    let table = KvTable::decode(&info.body.to_bytes()).expect("runtime info").table;
    table.get(key).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{key} in {table:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosts_connections_past_the_cap_and_a_half_frame_are_refused_and_counted() {
    let home = tempfile::tempdir().unwrap();
    let broker =
        TestBroker::start(home.path(), &[("maxConnectionsPerIp", "2"), ("serverFrameReadTimeoutSeconds", "1")]).await;

    // Two connections of the other host are kept; the third and fourth closed.
    let mut kept = Vec::new();
    for _ in 0..2 {
        kept.push(connect_from_other_host(&broker.addr).await);
    }
    for _ in 0..2 {
        let mut refused = connect_from_other_host(&broker.addr).await;
        assert!(closed(&mut refused).await, "a connection past the cap stays open");
    }

    // One kept connection starts a frame and stops; the broker cuts it off.
    let trickler = &mut kept[0];
    trickler.write_all(&100_000i32.to_be_bytes()).await.unwrap();
    assert!(closed(trickler).await, "the half frame was not cut off");

    let (c, _) = client();
    let sent = invoke(&c, &broker.addr, send_request("pg", "Limited", 0, 0, &[], b"served")).await;
    assert_eq!(sent.response_code(), ResponseCode::Success);
    assert_eq!(runtime_count(&c, &broker.addr, "refusedConnectionsPerIp").await, 2);
    assert_eq!(runtime_count(&c, &broker.addr, "frameTimeoutClosedConnections").await, 1);
    broker.stop().await;
}
