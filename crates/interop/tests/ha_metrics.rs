//! Replication in the metrics endpoints of a master and its slave (real
//! processes, conf/2m-2s-async): the master reports its connected slave and
//! a lag that returns to 0 once the slave caught up, the slave how far it is
//! behind its master, and only the master counts messages in; the master has
//! one per-slave lag series, by slave address. A broker that
//! must export metrics (`metricsExporterRequired=true`) and cannot bind the
//! port refuses to start, naming it.
//!
//! Needs the binaries: `cargo build -p rmq-cli`.

mod common;
#[path = "common/processes.rs"]
mod processes;

use processes::{Broker, Namesrv, admin, free_port, repo_conf};
use rmq_testkit::prometheus::{self, Prometheus};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const TOPIC: &str = "HaMetricsTopic";
const SENT: usize = 200;

/// `GET /metrics` on `127.0.0.1:port`.
fn scrape(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the metrics port accepts");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

/// The value of the one series of `name` (no `{` after it: a family of one
/// series), if served.
fn value(text: &str, name: &str) -> Option<i64> {
    text.lines().find(|l| l.starts_with(&format!("{name}{{"))).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

fn wait_for(what: &str, within: Duration, check: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "{what} did not happen within {within:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every metric the Grafana dashboard and the example alerts query is one a
/// master or its slave serves (all but those that need clients connected or
/// consuming), so a renamed metric cannot leave a panel silently empty.
fn dashboard_names_are_served(scrapes: &[&str]) {
    const NEED_CLIENTS: [&str; 8] = [
        "rocketmq_producer_connections",
        "rocketmq_consumer_connections",
        "rocketmq_messages_out_total",
        "rocketmq_throughput_out_total",
        "rocketmq_consumer_lag_latency",
        "rocketmq_consumer_queueing_latency",
        "rocketmq_consumer_ready_messages",
        "rocketmq_consumer_inflight_messages",
    ];
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let served: std::collections::BTreeSet<&str> = scrapes
        .iter()
        .flat_map(|text| text.lines())
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    for file in ["deploy/grafana/rmq-dashboard.json", "deploy/prometheus/rmq-alerts.yml"] {
        let text = std::fs::read_to_string(repo.join(file)).unwrap();
        let names = text
            .split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .filter(|word| word.starts_with("rocketmq_") || word.starts_with("rmq_"));
        for name in names {
            assert!(
                served.contains(name) || NEED_CLIENTS.contains(&name),
                "{file} queries {name}, which is not served"
            );
        }
    }
}

/// The HA lag as an operator queries it: a real Prometheus scraping master
/// and slave answers PromQL over the per-slave series (skipped, said, when
/// `prometheus` is not installed).
fn ha_lag_through_prometheus(home: &std::path::Path, master_metrics: u16, slave_metrics: u16) {
    if !prometheus::installed() {
        eprintln!("SKIPPED the PromQL part: `prometheus` is not installed (scripts/ci-deps.sh installs it)");
        return;
    }
    let targets = [("master", format!("127.0.0.1:{master_metrics}")), ("slave", format!("127.0.0.1:{slave_metrics}"))];
    let prometheus = Prometheus::start(home, &targets);
    let within = Duration::from_secs(30);
    // Each query waits for its answer: on a loaded machine a scrape can miss
    // its 1 s timeout, and Prometheus then marks that target's series stale.
    prometheus.wait_until(within, "one slave of broker-a, not behind", |p| {
        p.value("count(rmq_ha_slave_behind_bytes{node_id=\"broker-a\",slave_addr=~\"127.0.0.1:.+\"})") == Some(1.0)
            && p.value("max by (node_id) (rmq_ha_slave_behind_bytes)") == Some(0.0)
    });
    prometheus.wait_until(within, "the slave 0 ms behind", |p| {
        p.value("max by (node_id) (rmq_ha_slave_behind_ms)") == Some(0.0)
    });
    // The slave's own view agrees, and an alert-style query finds no slave behind.
    prometheus.wait_until(within, "the slave's own view", |p| {
        p.value("rmq_ha_behind_master_bytes{job=\"slave\"}") == Some(0.0)
    });
    let behind = prometheus.get("/api/v1/query?query=rmq_ha_slave_behind_bytes%20%3E%2067108864").unwrap_or_default();
    assert!(behind.contains("\"result\":[]"), "{behind}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_and_slave_report_replication() {
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let (master_metrics, slave_metrics) = (free_port(), free_port());
    let metrics = |port: u16| {
        [
            ("metricsExporterType", "PROM".to_owned()),
            ("metricsPromExporterHost", "127.0.0.1".to_owned()),
            ("metricsPromExporterPort", port.to_string()),
        ]
    };
    let master_extra = metrics(master_metrics);
    let master_extra: Vec<(&str, &str)> = master_extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let slave_extra = metrics(slave_metrics);
    let slave_extra: Vec<(&str, &str)> = slave_extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let master = Broker::start(home.path(), &repo_conf("2m-2s-async/broker-a.properties"), &ns.addr, &master_extra);
    let slave = Broker::start(home.path(), &repo_conf("2m-2s-async/broker-a-s.properties"), &ns.addr, &slave_extra);
    let client = admin::client();
    admin::create_topic(&client, &master.addr, TOPIC, 4).await;
    admin::wait_replicating(&client, &master.addr, &slave.addr, TOPIC).await;
    for i in 0..SENT {
        let code = admin::send(&client, &master.addr, TOPIC, (i % 4) as i32, &format!("k{i}"), b"payload").await;
        assert_eq!(code, 0, "send {i}");
    }

    let home_path = home.path().to_owned();
    tokio::task::spawn_blocking(move || {
        let home = home_path;
        wait_for("the master's slave caught up", Duration::from_secs(20), || {
            let text = scrape(master_metrics);
            value(&text, "rmq_ha_connections") == Some(1) && value(&text, "rmq_ha_slave_lag_bytes") == Some(0)
        });
        let master_text = scrape(master_metrics);
        // One series per slave, named by the address it connects from.
        let per_slave: Vec<&str> =
            master_text.lines().filter(|l| l.starts_with("rmq_ha_slave_behind_bytes{")).collect();
        assert_eq!(per_slave.len(), 1, "{master_text}");
        assert!(per_slave[0].contains("slave_addr=\"127.0.0.1:") && per_slave[0].ends_with(" 0"), "{master_text}");
        assert!(master_text.lines().any(|l| l.starts_with("rmq_ha_slave_behind_ms{") && l.ends_with(" 0")));
        let in_line = format!("rocketmq_messages_in_total{{cluster=\"DefaultCluster\",node_type=\"broker\",node_id=\"broker-a\",topic=\"{TOPIC}\"");
        let sent = master_text.lines().find(|l| l.starts_with(&in_line)).and_then(|l| l.rsplit(' ').next());
        assert_eq!(sent, Some(SENT.to_string().as_str()), "{master_text}");
        wait_for("the slave no longer behind", Duration::from_secs(20), || {
            let text = scrape(slave_metrics);
            value(&text, "rmq_ha_connections") == Some(1) && value(&text, "rmq_ha_behind_master_bytes") == Some(0)
        });
        let slave_text = scrape(slave_metrics);
        assert!(!slave_text.contains("rocketmq_messages_in_total{"), "a slave counts no messages in:\n{slave_text}");
        assert!(!slave_text.contains("rmq_ha_slave_lag_bytes"), "{slave_text}");
        dashboard_names_are_served(&[&master_text, &slave_text]);
        ha_lag_through_prometheus(&home, master_metrics, slave_metrics);
    })
    .await
    .unwrap();
    drop((slave, master, ns));
}

#[test]
fn a_required_exporter_on_a_port_in_use_refuses_to_start() {
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let extra = [
        ("metricsExporterType", "PROM"),
        ("metricsPromExporterHost", "127.0.0.1"),
        ("metricsPromExporterPort", port.as_str()),
        ("metricsExporterRequired", "true"),
    ];
    let (code, output) = Broker::run_to_exit(home.path(), &repo_conf("broker.conf"), &ns.addr, &extra);
    assert_ne!(code, Some(0), "{output}");
    assert!(output.contains(&format!("cannot listen on 127.0.0.1:{port} for metrics")), "{output}");
}
