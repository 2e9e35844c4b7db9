//! `writeAllowedAddresses` (rmq's own): over real TCP, a peer outside the list
//! cannot register a broker, delete a topic or change KV config, and still
//! reads routes; a listed peer and 127.0.0.1 may write; the list is checked
//! when it is set.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use rmq_model::{DataVersion, TopicConfig};
use rmq_protocol::header::{DeleteTopicFromNamesrvRequestHeader, PutKvConfigRequestHeader};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode, frame};
use rmq_testkit::namesrv::{self, BrokerIdentity, TestNameServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const TIMEOUT: Duration = Duration::from_secs(3);

/// A connection to the NameServer from the local address `from` (any of
/// 127.0.0.0/8 works on Linux).
async fn connect_from(ns: &TestNameServer, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from.parse().unwrap(), 0)).unwrap();
    socket.connect(ns.addr).await.unwrap()
}

async fn call(stream: &mut TcpStream, request: RemotingCommand) -> RemotingCommand {
    let mut out = BytesMut::new();
    frame::encode(&request.with_opaque(9), &mut out).unwrap();
    stream.write_all(&out).await.unwrap();
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        if let Some(cmd) = frame::decode(&mut buf, rmq_protocol::DEFAULT_MAX_FRAME).unwrap() {
            return cmd;
        }
        let read = tokio::time::timeout(TIMEOUT, stream.read_buf(&mut buf)).await.unwrap().unwrap();
        assert_ne!(read, 0, "the NameServer closed the connection");
    }
}

fn register_request(addr: &str) -> RemotingCommand {
    let version = DataVersion { timestamp: 1_700_000_000_000, counter: 1, state_version: None };
    BrokerIdentity::new("broker-x", 0, addr).register_request(&[TopicConfig::new("Guarded", 4)], &version, false)
}

fn put_kv() -> RemotingCommand {
    let header = PutKvConfigRequestHeader { namespace: "ns".into(), key: "k".into(), value: "v".into() };
    RemotingCommand::request(RequestCode::PutKvConfig, &header)
}

fn delete_topic() -> RemotingCommand {
    let header = DeleteTopicFromNamesrvRequestHeader { topic: "Guarded".into(), cluster_name: None };
    RemotingCommand::request(RequestCode::DeleteTopicInNamesrv, &header)
}

fn cluster_info() -> RemotingCommand {
    RemotingCommand::bare_request(RequestCode::GetBrokerClusterInfo)
}

#[tokio::test]
async fn writes_only_from_listed_addresses_and_localhost() {
    let ns = namesrv::start_with(|c| c.write_allowed_addresses = "127.0.0.3, 10.0.0.0/8".into()).await;

    let mut stranger = connect_from(&ns, "127.0.0.2").await;
    for request in [register_request("127.0.0.2:10911"), put_kv(), delete_topic()] {
        let code = request.code;
        let answer = call(&mut stranger, request).await;
        assert_eq!(answer.response_code(), ResponseCode::NoPermission, "code {code}: {:?}", answer.remark);
        assert!(answer.remark.as_deref().unwrap_or("").contains("writeAllowedAddresses"), "{:?}", answer.remark);
    }
    // Reads are open, on the same connection, and show no trace of the attempt.
    let info = call(&mut stranger, cluster_info()).await;
    assert_eq!(info.response_code(), ResponseCode::Success);
    assert!(!String::from_utf8_lossy(&info.body.to_bytes()).contains("broker-x"));

    let mut listed = connect_from(&ns, "127.0.0.3").await;
    let answer = call(&mut listed, register_request("127.0.0.3:10911")).await;
    assert_eq!(answer.response_code(), ResponseCode::Success, "{:?}", answer.remark);
    let mut local = connect_from(&ns, "127.0.0.1").await;
    assert_eq!(call(&mut local, put_kv()).await.response_code(), ResponseCode::Success);
    let info = call(&mut stranger, cluster_info()).await;
    assert!(String::from_utf8_lossy(&info.body.to_bytes()).contains("broker-x"));
    ns.stop().await;
}

#[tokio::test]
async fn everyone_writes_by_default_and_a_bad_list_is_refused() {
    let ns = namesrv::start().await;
    let mut stranger = connect_from(&ns, "127.0.0.2").await;
    assert_eq!(call(&mut stranger, put_kv()).await.response_code(), ResponseCode::Success, "Java's default");

    // An update with an unparsable list is refused and changes nothing.
    let mut update = RemotingCommand::bare_request(RequestCode::UpdateNamesrvConfig);
    update = update.with_body(bytes::Bytes::from_static(b"writeAllowedAddresses=10.0.0.0/40\n"));
    let answer = call(&mut stranger, update).await;
    assert_ne!(answer.response_code(), ResponseCode::Success);
    assert!(answer.remark.as_deref().unwrap_or("").contains("10.0.0.0/40"), "{:?}", answer.remark);
    assert_eq!(call(&mut stranger, put_kv()).await.response_code(), ResponseCode::Success);

    // A good one takes effect for the next request.
    let mut update = RemotingCommand::bare_request(RequestCode::UpdateNamesrvConfig);
    update = update.with_body(bytes::Bytes::from_static(b"writeAllowedAddresses=10.1.2.3\n"));
    assert_eq!(call(&mut stranger, update).await.response_code(), ResponseCode::Success);
    assert_eq!(call(&mut stranger, put_kv()).await.response_code(), ResponseCode::NoPermission);
    ns.stop().await;
}
