//! The broker's `/metrics` read directly, without Prometheus: a port in use
//! leaves the broker serving without metrics (and the log says which port),
//! and `metricsOtelCardinalityLimit` caps the series of a family.

#[path = "admin_common/mod.rs"]
mod admin_common;

use admin_common::Servers;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// The text of `GET /metrics` on `addr`.
fn scrape(addr: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("the metrics port accepts");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn a_port_in_use_leaves_the_broker_running_without_metrics() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let servers = Servers::start_with(
        "",
        &format!("metricsExporterType=PROM\nmetricsPromExporterHost=127.0.0.1\nmetricsPromExporterPort={port}\n"),
    );
    // Servers::start waited for the boot line and the registration: the
    // broker serves. Its log names the port it could not have.
    let log = servers.home.path().join("logs/rocketmqlogs/broker.log");
    let wanted = format!("metrics: cannot listen on 127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains(&wanted) {
            assert!(text.contains("the broker runs without metrics"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "no '{wanted}' in {}:\n{text}", log.display());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(servers.mqadmin(&["clusterList"]).code, 0);
}

#[test]
fn series_past_the_cardinality_limit_sum_into_one() {
    let port = rmq_testkit::ports::free_port();
    let servers = Servers::start_with(
        "",
        &format!(
            "metricsExporterType=PROM\nmetricsPromExporterHost=127.0.0.1\nmetricsPromExporterPort={port}\n\
             metricsOtelCardinalityLimit=3\nmetricsLabel=region:test\n"
        ),
    );
    for i in 0..5 {
        let topic = format!("CappedTopic{i}");
        assert_eq!(servers.mqadmin(&["updateTopic", "-b", &servers.broker, "-t", &topic]).code, 0);
    }
    let text = scrape(&format!("127.0.0.1:{port}"));
    let series: Vec<&str> = text.lines().filter(|l| l.starts_with("rocketmq_messages_in_total{")).collect();
    assert_eq!(series.len(), 4, "three topics and the overflow series:\n{text}");
    assert!(
        series.iter().any(|l| l.contains(r#"otel_metric_overflow="true""#)),
        "the rest summed into one series:\n{text}"
    );
    assert!(
        series
            .iter()
            .all(|l| l.contains(r#"cluster="DefaultCluster",node_type="broker",node_id="broker-a",region="test""#)),
        "constant labels, metricsLabel's among them:\n{text}"
    );
}
