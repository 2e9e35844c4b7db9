//! The consumer gauges of a POP group, scraped from a real broker over TCP:
//! popped and not acked messages are in flight, the rest ready, both in the
//! lag; the pops count as messages and bytes out.

mod common;

use common::{TestBroker, client, create_topic_request, invoke, send_request};
use rmq_protocol::header::{OffsetResponseHeader, QueueRequestHeader};
use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_testkit::pop::{PopAsk, pop_request, popped};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOPIC: &str = "MetricsPopT";
const GROUP: &str = "metrics-pop-group";

async fn scrape(port: u16) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("the metrics port accepts");
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    text
}

/// The value of `name`'s series for the test's topic and group.
fn value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| l.contains(&format!("topic=\"{TOPIC}\"")) && l.contains(&format!("consumer_group=\"{GROUP}\"")))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn popped_messages_are_in_flight_until_acked() {
    let home = tempfile::tempdir().unwrap();
    let port = rmq_testkit::ports::free_port().to_string();
    let metrics = [("metricsExporterType", "PROM"), ("metricsPromExporterHost", "127.0.0.1")];
    let mut configure = metrics.to_vec();
    configure.push(("metricsPromExporterPort", &port));
    let broker = TestBroker::start(home.path(), &configure).await;
    let (c, _) = client();
    assert_eq!(invoke(&c, &broker.addr, create_topic_request(TOPIC, 1, 6)).await.code, 0);
    for i in 0..5 {
        let send = send_request("metrics-producer", TOPIC, 0, 0, &[], format!("m{i}").as_bytes());
        assert_eq!(invoke(&c, &broker.addr, send).await.code, 0);
    }
    // A pop takes what the consume queue already holds, and the dispatch may
    // trail the SEND_OKs by a fraction of a millisecond: wait for all five.
    let max = || {
        let header = QueueRequestHeader { topic: TOPIC.into(), queue_id: 0, committed: None };
        RemotingCommand::request(RequestCode::GetMaxOffset, &header)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while invoke(&c, &broker.addr, max()).await.header::<OffsetResponseHeader>().map_or(0, |h| h.offset) < 5 {
        assert!(std::time::Instant::now() < deadline, "the five sends never reached the consume queue");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let ask =
        PopAsk { group: GROUP, topic: TOPIC, queue_id: 0, max: 3, invisible_ms: 60_000, poll_ms: 1_000, order: false };
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while got.is_empty() && std::time::Instant::now() < deadline {
        got = popped(&invoke(&c, &broker.addr, pop_request(&ask)).await, "broker-a");
    }
    assert_eq!(got.len(), 3, "a pop of 3");

    let port: u16 = port.parse().unwrap();
    let text = scrape(port).await;
    assert_eq!(value(&text, "rocketmq_consumer_inflight_messages"), Some(3.0), "{text}");
    assert_eq!(value(&text, "rocketmq_consumer_ready_messages"), Some(2.0), "{text}");
    assert_eq!(value(&text, "rocketmq_consumer_lag_messages"), Some(5.0), "{text}");
    assert_eq!(value(&text, "rocketmq_messages_out_total"), Some(3.0), "{text}");
    let bytes = value(&text, "rocketmq_throughput_out_total").unwrap_or(0.0);
    assert!(bytes >= 3.0 * 2.0, "the popped records' bytes: {bytes}");
    for age in ["rocketmq_consumer_lag_latency", "rocketmq_consumer_queueing_latency"] {
        assert!(value(&text, age).is_some_and(|ms| ms >= 0.0), "{age}: {text}");
    }
    broker.stop().await;
}

/// The value of `name`'s series whose labels include `label`.
fn labelled(text: &str, name: &str, label: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| l.contains(label))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn refused_connections_and_the_store_open_time_are_served() {
    let home = tempfile::tempdir().unwrap();
    let port = rmq_testkit::ports::free_port().to_string();
    let configure = [
        ("metricsExporterType", "PROM"),
        ("metricsPromExporterHost", "127.0.0.1"),
        ("metricsPromExporterPort", port.as_str()),
        ("maxConnectionsPerIp", "2"),
    ];
    let broker = TestBroker::start(home.path(), &configure).await;
    // Two connections are allowed from this address; the next ones are refused.
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(tokio::net::TcpStream::connect(&broker.addr).await.unwrap());
    }
    let port: u16 = port.parse().unwrap();
    let refused = r#"reason="max_connections_per_ip""#;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut text = scrape(port).await;
    while labelled(&text, "rmq_connections_refused_total", refused).unwrap_or(0.0) < 3.0
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        text = scrape(port).await;
    }
    assert_eq!(labelled(&text, "rmq_connections_refused_total", refused), Some(3.0), "{text}");
    assert_eq!(labelled(&text, "rmq_connections_refused_total", r#"reason="write_timeout""#), Some(0.0));
    let open = text.lines().find(|l| l.starts_with("rmq_store_open_seconds{")).expect("the store's open time");
    let seconds: f64 = open.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((0.0..30.0).contains(&seconds), "{open}");
    drop(held);
    broker.stop().await;
}
