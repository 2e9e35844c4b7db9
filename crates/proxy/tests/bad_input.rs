//! Bad input on the gRPC port, with Google's gRPC for Python as the client:
//! malformed protobuf, an unknown method, an unknown topic, a Telemetry
//! stream that never speaks, idle connections by the hundred. Each gets
//! Java's answer (or gRPC's), and the proxy goes on serving the others.

mod common;

use common::{IDLE_SOCKETS, RAW_CALL, SILENT_TELEMETRY, blocking, start, start_with};
use rmq_proxy::ProxyConfig;
use rmq_proxy::tls::TlsSettings;

const QUERY_ROUTE: &str = "/apache.rocketmq.v2.MessagingService/QueryRoute";

/// QueryRouteRequest { topic: Resource { name } } as protobuf, in hex.
fn route_request(topic: &str) -> String {
    let mut resource = vec![0x12, topic.len() as u8];
    resource.extend_from_slice(topic.as_bytes());
    let mut body = vec![0x0a, resource.len() as u8];
    body.extend(resource);
    body.iter().map(|b| format!("{b:02x}")).collect()
}

/// RecallMessageRequest { topic: Resource { name }, recall_handle } as protobuf, in hex.
fn recall_request(topic: &str, handle: &str) -> String {
    let mut field = vec![0x12, handle.len() as u8];
    field.extend_from_slice(handle.as_bytes());
    route_request(topic) + &field.iter().map(|b| format!("{b:02x}")).collect::<String>()
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_unknown_and_missing_things_get_their_codes() {
    let namesrv = rmq_testkit::namesrv::start().await;
    let (addr, stop) = start(TlsSettings::default(), Some(namesrv.addr_string())).await;
    let a = addr.to_string();
    // Truncated protobuf (a length-delimited field promising 10 bytes, 1 given).
    let got = blocking(RAW_CALL, args(&[&a, QUERY_ROUTE, "0a0a01", "c1"])).await;
    assert_eq!(got, "ERROR INTERNAL", "malformed protobuf");
    let got = blocking(RAW_CALL, args(&[&a, "/apache.rocketmq.v2.MessagingService/NoSuchCall", "", "c1"])).await;
    assert_eq!(got, "ERROR UNIMPLEMENTED", "unknown method");
    let got = blocking(RAW_CALL, args(&[&a, "/nope.Service/Call", "", "c1"])).await;
    assert_eq!(got, "ERROR UNIMPLEMENTED", "unknown service");
    let got = blocking(RAW_CALL, args(&[&a, QUERY_ROUTE, &route_request("NoSuchTopic"), "c1"])).await;
    assert_eq!(got, "CODE 40402", "TOPIC_NOT_FOUND");
    let got = blocking(RAW_CALL, args(&[&a, QUERY_ROUTE, &route_request("bad topic!"), "c1"])).await;
    assert_eq!(got, "CODE 40002", "ILLEGAL_TOPIC");
    let got = blocking(RAW_CALL, args(&[&a, QUERY_ROUTE, &route_request("NoSuchTopic"), "-"])).await;
    assert_eq!(got, "CODE 40017", "CLIENT_ID_REQUIRED");
    // Heartbeat before any Settings: UNRECOGNIZED_CLIENT_TYPE.
    let got = blocking(RAW_CALL, args(&[&a, "/apache.rocketmq.v2.MessagingService/Heartbeat", "1001", "c1"])).await;
    assert_eq!(got, "CODE 40015", "heartbeat without settings");
    // RecallMessage: an illegal topic; a topic the proxy cannot type (Java's
    // check wants DELAY) before the garbage handle is even read.
    const RECALL: &str = "/apache.rocketmq.v2.MessagingService/RecallMessage";
    let got = blocking(RAW_CALL, args(&[&a, RECALL, &recall_request("bad topic!", "x"), "c1"])).await;
    assert_eq!(got, "CODE 40002", "recall: ILLEGAL_TOPIC");
    let got = blocking(RAW_CALL, args(&[&a, RECALL, &recall_request("NoSuchTopic", "garbage"), "c1"])).await;
    assert_eq!(got, "CODE 40014", "recall: MESSAGE_PROPERTY_CONFLICT_WITH_TYPE");
    // After all that, a good call is still answered.
    let got = blocking(RAW_CALL, args(&[&a, QUERY_ROUTE, &route_request("NoSuchTopic"), "c2"])).await;
    assert_eq!(got, "CODE 40402");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_telemetry_stream_is_closed() {
    let config = ProxyConfig { settings_within_ms: 2_000, ..ProxyConfig::default() };
    let (addr, stop) = start_with(config).await;
    let got = blocking(SILENT_TELEMETRY, args(&[&addr.to_string()])).await;
    // Closed by the proxy after about 2 s, long before the client's 20 s.
    let parts: Vec<&str> = got.split(' ').collect();
    assert_eq!(parts[..2], ["ERROR", "DEADLINE_EXCEEDED"], "{got}");
    let secs: u64 = parts[2].parse().unwrap();
    assert!((1..=6).contains(&secs), "closed after {secs} s: {got}");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_do_not_hold_up_others_and_are_dropped() {
    let (addr, stop) = start(TlsSettings::default(), None).await;
    // 300 connections that never speak; the handshake bound is 10 s.
    let got = blocking(IDLE_SOCKETS, args(&[&addr.to_string(), "300", "12"])).await;
    let parts: Vec<&str> = got.split(' ').collect();
    assert_eq!((parts[0], parts[2]), ("SERVED", "CLOSED"), "{got}");
    let served_ms: u64 = parts[1].parse().unwrap();
    let closed: u32 = parts[3].parse().unwrap();
    assert!(served_ms < 2_000, "a call among 300 idle connections took {served_ms} ms");
    assert_eq!(closed, 300, "idle connections closed after the handshake bound: {got}");
    stop.cancel();
}
