//! The NameServer over real TCP on 127.0.0.1: registrations and queries
//! through our remoting client, expiry under paused time, connection-close
//! removal, and bad input on raw sockets (4.9.8 `NettyDecoder`,
//! `DefaultRequestProcessor`, `RouteInfoManager`).

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rmq_model::{DataVersion, TopicConfig};
use rmq_protocol::body::cluster::ClusterInfo;
use rmq_protocol::body::route::TopicRouteData;
use rmq_protocol::header::{GetRouteInfoRequestHeader, RegisterBrokerResponseHeader};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode, frame};
use rmq_remoting::{Client, ClientConfig, RejectAll};
use rmq_testkit::namesrv::{self, BrokerIdentity, TestNameServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(3);
const A0: &str = "10.0.0.1:10911";
const A1: &str = "10.0.0.2:10911";
const B0: &str = "10.0.0.3:10911";

fn client() -> Client {
    Client::new(ClientConfig::default(), Arc::new(RejectAll))
}

fn version() -> DataVersion {
    DataVersion { timestamp: 1_700_000_000_000, counter: 1, state_version: None }
}

/// Registers `broker` with TopicTest (4 queues) and returns the answer.
async fn register(client: &Client, ns: &TestNameServer, broker: &BrokerIdentity) -> RemotingCommand {
    let request = broker.register_request(&[TopicConfig::new("TopicTest", 4)], &version(), false);
    let response = client.invoke(&ns.addr_string(), request, TIMEOUT).await.unwrap();
    assert_eq!(response.response_code(), ResponseCode::Success, "{:?}", response.remark);
    response
}

async fn cluster_info(client: &Client, ns: &TestNameServer) -> ClusterInfo {
    let request = RemotingCommand::bare_request(RequestCode::GetBrokerClusterInfo);
    let response = client.invoke(&ns.addr_string(), request, TIMEOUT).await.unwrap();
    ClusterInfo::decode(&response.body.to_bytes()).unwrap()
}

async fn route(client: &Client, ns: &TestNameServer, topic: &str, version: i32) -> RemotingCommand {
    let header = GetRouteInfoRequestHeader { topic: topic.into(), accept_standard_json_only: None };
    let mut request = RemotingCommand::request(RequestCode::GetRouteinfoByTopic, &header);
    request.version = version;
    client.invoke(&ns.addr_string(), request, TIMEOUT).await.unwrap()
}

#[tokio::test]
async fn two_groups_master_and_slave_routes_and_cluster_info() {
    let ns = namesrv::start().await;
    let client = client();
    register(&client, &ns, &BrokerIdentity::new("broker-a", 0, A0)).await;
    let slave = register(&client, &ns, &BrokerIdentity::new("broker-a", 1, A1)).await;
    let answer: RegisterBrokerResponseHeader = slave.header().unwrap();
    assert_eq!(answer.master_addr.as_deref(), Some(A0));
    assert_eq!(answer.ha_server_addr.as_deref(), Some("10.0.0.1:10912"));
    register(&client, &ns, &BrokerIdentity::new("broker-b", 0, B0)).await;

    // A 4.9.8 client (version 409) gets standard JSON, an old Go client (317)
    // fastjson's unquoted broker ids; both describe the same route.
    let new = route(&client, &ns, "TopicTest", 409).await;
    let old = route(&client, &ns, "TopicTest", 317).await;
    let new_text = String::from_utf8(new.body.to_bytes().to_vec()).unwrap();
    let old_text = String::from_utf8(old.body.to_bytes().to_vec()).unwrap();
    assert!(new_text.contains(r#"{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"}"#), "{new_text}");
    assert!(old_text.contains(r#"{0:"10.0.0.1:10911",1:"10.0.0.2:10911"}"#), "{old_text}");
    let parsed = TopicRouteData::decode(new_text.as_bytes()).unwrap();
    assert_eq!(parsed, TopicRouteData::decode(old_text.as_bytes()).unwrap());
    assert_eq!(parsed.queue_datas.len(), 2);
    assert_eq!(
        parsed.broker_datas.iter().map(|b| b.broker_name.as_str()).collect::<Vec<_>>(),
        ["broker-a", "broker-b"]
    );

    let info = cluster_info(&client, &ns).await;
    assert_eq!(info.cluster_addr_table["DefaultCluster"].len(), 2);
    assert_eq!(info.broker_addr_table["broker-a"].broker_addrs.len(), 2);

    let missing = route(&client, &ns, "NoSuchTopic", 409).await;
    assert_eq!(missing.response_code(), ResponseCode::TopicNotExist);
    assert!(missing.remark.unwrap().starts_with("No topic route info in name server for the topic: NoSuchTopic"));
    ns.stop().await;
}

#[tokio::test]
async fn unknown_codes_and_missing_fields_get_error_responses() {
    let ns = namesrv::start().await;
    let client = client();
    let unknown = RemotingCommand { code: 4242, version: 409, ..RemotingCommand::default() };
    let response = client.invoke(&ns.addr_string(), unknown, TIMEOUT).await.unwrap();
    assert_eq!((response.code, response.remark.as_deref()), (3, Some(" request type 4242 not supported")));

    let no_topic = RemotingCommand::bare_request(RequestCode::GetRouteinfoByTopic);
    let response = client.invoke(&ns.addr_string(), no_topic, TIMEOUT).await.unwrap();
    assert_eq!(response.response_code(), ResponseCode::SystemError);
    assert!(response.remark.as_deref().unwrap().contains("'topic'"), "{:?}", response.remark);

    let mut bad_body = BrokerIdentity::new("broker-a", 0, A0).register_request(&[], &version(), false);
    bad_body.body = b"{\"topicConfigSerializeWrapper\":[".to_vec().into();
    bad_body.ext_fields.remove("bodyCrc32");
    let response = client.invoke(&ns.addr_string(), bad_body, TIMEOUT).await.unwrap();
    assert_eq!(response.response_code(), ResponseCode::SystemError);
    assert!(cluster_info(&client, &ns).await.broker_addr_table.is_empty());
    ns.stop().await;
}

/// Writes `bytes` on a fresh connection and expects the server to close it.
async fn expect_closed_after(ns: &TestNameServer, bytes: &[u8]) {
    let mut raw = TcpStream::connect(ns.addr).await.unwrap();
    raw.write_all(bytes).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(TIMEOUT, raw.read(&mut buf)).await.expect("the server closes the connection");
    assert!(matches!(read, Ok(0) | Err(_)), "got a response instead of a close: {read:?}");
}

#[tokio::test]
async fn bad_frames_close_only_their_own_connection() {
    let ns = namesrv::start().await;
    let client = client();
    register(&client, &ns, &BrokerIdentity::new("broker-a", 0, A0)).await;

    // Oversized: a length prefix claiming 32 MiB (the cap is 16 MiB).
    expect_closed_after(&ns, &(32u32 << 20).to_be_bytes()).await;
    // Malformed: a length too small to hold the header-length word.
    expect_closed_after(&ns, &[0, 0, 0, 2, 0, 0]).await;
    // A header length past the end of the frame.
    expect_closed_after(&ns, &[0, 0, 0, 8, 0, 0, 0, 200, b'{', b'}', 0, 0]).await;
    // A JSON header that is not JSON.
    expect_closed_after(&ns, &[0, 0, 0, 9, 0, 0, 0, 5, b'{', b'o', b'o', b'p', b's']).await;

    // A well-formed frame on a raw socket is answered.
    let mut raw = TcpStream::connect(ns.addr).await.unwrap();
    let mut out = BytesMut::new();
    frame::encode(&RemotingCommand::bare_request(RequestCode::GetBrokerClusterInfo).with_opaque(77), &mut out).unwrap();
    raw.write_all(&out).await.unwrap();
    let mut buf = BytesMut::with_capacity(4096);
    let response = loop {
        if let Some(cmd) = frame::decode(&mut buf, rmq_protocol::DEFAULT_MAX_FRAME).unwrap() {
            break cmd;
        }
        assert_ne!(tokio::time::timeout(TIMEOUT, raw.read_buf(&mut buf)).await.unwrap().unwrap(), 0);
    };
    assert_eq!((response.opaque, response.code), (77, 0));

    // The client's connection was never disturbed.
    assert_eq!(cluster_info(&client, &ns).await.broker_addr_table["broker-a"].broker_addrs[&0], A0);
    ns.stop().await;
}

#[tokio::test]
async fn a_closed_connection_removes_its_brokers() {
    let ns = namesrv::start().await;
    let broker = client();
    let observer = client();
    register(&broker, &ns, &BrokerIdentity::new("broker-a", 0, A0)).await;
    register(&observer, &ns, &BrokerIdentity::new("broker-b", 0, B0)).await;
    broker.close_all();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let info = cluster_info(&observer, &ns).await;
        if !info.broker_addr_table.contains_key("broker-a") {
            assert!(info.broker_addr_table.contains_key("broker-b"));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "broker-a still routed after its connection closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ns.stop().await;
}

#[tokio::test]
async fn silent_brokers_expire_under_paused_time() {
    // Expiry (30 s) shorter than the idle timeout (120 s), so that only the
    // scan can remove the broker.
    let ns = namesrv::start_with(|c| {
        c.broker_channel_expired_time = 30_000;
        c.scan_not_active_broker_interval = 10_000;
    })
    .await;
    let broker = client();
    let observer = client();
    register(&broker, &ns, &BrokerIdentity::new("broker-a", 0, A0)).await;
    let observer_conn = observer.connection(&ns.addr_string()).await.unwrap();
    let broker_conn = broker.connection(&ns.addr_string()).await.unwrap();

    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(25)).await;
    tokio::task::yield_now().await;
    tokio::time::resume();
    assert!(cluster_info(&observer, &ns).await.broker_addr_table.contains_key("broker-a"), "not silent long enough");

    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(20)).await;
    tokio::task::yield_now().await;
    tokio::time::resume();
    assert!(cluster_info(&observer, &ns).await.broker_addr_table.is_empty(), "expired after 30 s of silence");
    assert_eq!(route(&observer, &ns, "TopicTest", 409).await.response_code(), ResponseCode::TopicNotExist);
    // The scan closed the expired broker's connection, not the observer's.
    tokio::time::timeout(TIMEOUT, broker_conn.closed()).await.expect("expired broker's connection closed");
    assert!(!observer_conn.is_closed());
    ns.stop().await;
}
