//! The metrics endpoints scraped by a real Prometheus (Debian's `prometheus`
//! package; scripts/ci-deps.sh installs it): 1,000 sends show as
//! `increase(rocketmq_messages_in_total[1m])` ≈ 1,000, a consumer group that
//! consumes nothing lags by exactly what was sent, a group that pulls them
//! all shows 1,000 in `rocketmq_messages_out_total`, and the NameServer's
//! endpoint reports the broker registered.
//!
//! Without `prometheus` on the PATH the test says so and passes: the
//! endpoints themselves are tested without it (crates/metrics/tests).

#[path = "admin_common/mod.rs"]
mod admin_common;

use admin_common::Servers;
use rmq_client::{Client, ClientOptions, Message, Producer, PullConsumer};
use rmq_testkit::prometheus::{self, Prometheus};
use std::time::Duration;

const TOPIC: &str = "MetricsTopic";
const STOPPED_GROUP: &str = "metrics_stopped_group";
const ACTIVE_GROUP: &str = "metrics_active_group";
const SENT: i64 = 1_000;

/// Commits offset 0 on every queue of the topic for a group that then
/// consumes nothing: its lag is everything sent afterwards.
fn commit_start_offsets(namesrv: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let consumer = PullConsumer::new(Client::new(ClientOptions::new(namesrv)), STOPPED_GROUP);
        let queues = consumer.queues(TOPIC).await.expect("the topic's queues");
        assert!(!queues.is_empty());
        for mq in &queues {
            consumer.commit_offset(mq, 0).await.expect("offset committed");
        }
    });
}

/// Sends `count` messages to the topic, one at a time, each acknowledged.
fn send(namesrv: &str, count: i64) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let producer = Producer::new(Client::new(ClientOptions::new(namesrv)), "metrics_producer");
        for i in 0..count {
            producer.send(&Message::new(TOPIC, format!("message {i}"))).await.expect("sent");
        }
    });
}

/// Pulls every message of the topic for a group (without committing);
/// returns how many came.
fn pull_all(namesrv: &str) -> i64 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let consumer = PullConsumer::new(Client::new(ClientOptions::new(namesrv)), ACTIVE_GROUP);
        let mut got = 0;
        for mq in consumer.queues(TOPIC).await.expect("the topic's queues") {
            let mut puller = consumer.puller(mq, "*", 0);
            loop {
                let batch = puller.next_batch().await.expect("pulled");
                if batch.is_empty() {
                    break;
                }
                got += batch.len() as i64;
            }
        }
        got
    })
}

#[test]
fn prometheus_scrapes_produce_rate_and_consumer_lag() {
    if !prometheus::installed() {
        eprintln!("SKIPPED: `prometheus` is not installed (apt-get install prometheus; scripts/ci-deps.sh does)");
        return;
    }
    let (broker_metrics, namesrv_metrics) = (rmq_testkit::ports::free_port(), rmq_testkit::ports::free_port());
    let servers = Servers::start_with(
        &format!(
            "metricsExporterType=PROM\nmetricsPromExporterHost=127.0.0.1\nmetricsPromExporterPort={namesrv_metrics}\n"
        ),
        &format!(
            "metricsExporterType=PROM\nmetricsPromExporterHost=127.0.0.1\nmetricsPromExporterPort={broker_metrics}\n\
             metricsExporter4xNames=true\n"
        ),
    );
    let created = servers.mqadmin(&["updateTopic", "-b", &servers.broker, "-t", TOPIC, "-r", "4", "-w", "4"]);
    assert_eq!(created.code, 0, "{created:?}");
    servers.wait_for_route(TOPIC);
    commit_start_offsets(&servers.namesrv);

    let prometheus = Prometheus::start(
        servers.home.path(),
        &[("broker", format!("127.0.0.1:{broker_metrics}")), ("namesrv", format!("127.0.0.1:{namesrv_metrics}"))],
    );
    let in_total = format!("rocketmq_messages_in_total{{topic=\"{TOPIC}\"}}");
    // The topic's series exists at 0 before anything is sent, so increase()
    // sees the whole rise.
    prometheus.wait_until(Duration::from_secs(30), "a scrape of the empty topic", |p| p.value(&in_total) == Some(0.0));

    send(&servers.namesrv, SENT);

    prometheus
        .wait_until(Duration::from_secs(30), "messages in reaching 1,000", |p| p.value(&in_total) == Some(SENT as f64));
    // increase() extrapolates to the window's edges: close to, not exactly, 1,000.
    let increase = format!("increase({in_total}[1m])");
    prometheus.wait_until(Duration::from_secs(30), "increase() near 1,000", |p| {
        p.value(&increase).is_some_and(|v| (950.0..=1_300.0).contains(&v))
    });
    let lag = format!("rocketmq_consumer_lag_messages{{topic=\"{TOPIC}\",consumer_group=\"{STOPPED_GROUP}\"}}");
    prometheus.wait_until(Duration::from_secs(30), "the stopped group's lag reaching 1,000", |p| {
        p.value(&lag) == Some(SENT as f64)
    });
    let labelled = "rocketmq_consumer_lag_messages{cluster=\"DefaultCluster\",node_type=\"broker\",node_id=\"broker-a\",\
                    is_retry=\"false\",is_system=\"false\",consumer_group=\"metrics_stopped_group\"}";
    assert_eq!(prometheus.value(labelled), Some(SENT as f64), "RocketMQ 5's labels");
    // Nothing popped: all of the lag is ready, none in flight, and the
    // oldest waiting message has an age.
    let group = format!("{{topic=\"{TOPIC}\",consumer_group=\"{STOPPED_GROUP}\"}}");
    assert_eq!(prometheus.value(&format!("rocketmq_consumer_ready_messages{group}")), Some(SENT as f64));
    assert_eq!(prometheus.value(&format!("rocketmq_consumer_inflight_messages{group}")), Some(0.0));
    for age in ["rocketmq_consumer_lag_latency", "rocketmq_consumer_queueing_latency"] {
        let ms = prometheus.value(&format!("{age}{group}")).unwrap_or(-1.0);
        assert!((1.0..600_000.0).contains(&ms), "{age}: {ms} ms");
    }
    assert_eq!(pull_all(&servers.namesrv), SENT);
    let out_total = format!("rocketmq_messages_out_total{{topic=\"{TOPIC}\",consumer_group=\"{ACTIVE_GROUP}\"}}");
    prometheus.wait_until(Duration::from_secs(30), "messages out reaching 1,000", |p| {
        p.value(&out_total) == Some(SENT as f64)
    });
    // Bytes out: every pulled record, at least its body, at most a stored record's size.
    let bytes_out = format!("rocketmq_throughput_out_total{{topic=\"{TOPIC}\",consumer_group=\"{ACTIVE_GROUP}\"}}");
    let bytes = prometheus.value(&bytes_out).expect("bytes out for the group");
    assert!((SENT as f64 * 11.0..=SENT as f64 * 400.0).contains(&bytes), "{bytes} bytes out");
    // Every message is small and normal: all 1,000 in the 1 KiB bucket.
    let sizes = format!("rocketmq_message_size_bucket{{topic=\"{TOPIC}\",message_type=\"normal\",le=\"1024.0\"}}");
    assert_eq!(prometheus.value(&sizes), Some(SENT as f64), "message sizes");
    // The sends' latencies: 1,000 answered SUCCESS, and a quantile PromQL can compute.
    let sends = "sum(rocketmq_rpc_latency_count{protocol_type=\"remoting\",request_code=\"send_message_v2\",\
                 response_code=\"success\"})";
    assert_eq!(prometheus.value(sends), Some(SENT as f64), "send latencies");
    let p99 = "histogram_quantile(0.99, sum by (le) (rocketmq_rpc_latency_bucket{request_code=\"send_message_v2\"}))";
    let p99 = prometheus.value(p99).expect("a send latency quantile");
    assert!((0.0..=3_000.0).contains(&p99), "p99 send latency {p99} ms");
    exporter_4x_names(&prometheus);
    prometheus.wait_until(Duration::from_secs(30), "the NameServer reporting the broker", |p| {
        p.value("rmq_namesrv_brokers{node_type=\"namesrv\"}") == Some(1.0)
    });
    assert_eq!(prometheus.value("up{job=\"broker\"}"), Some(1.0));
}

/// The 4.x `rocketmq-exporter`'s names beside RocketMQ 5's, as its dashboards
/// query them (the stopped group committed 0 and consumed nothing; the
/// active one pulled without committing).
fn exporter_4x_names(prometheus: &Prometheus) {
    let produced =
        format!("rocketmq_producer_offset{{cluster=\"DefaultCluster\",broker=\"broker-a\",topic=\"{TOPIC}\"}}");
    assert_eq!(prometheus.value(&produced), Some(SENT as f64), "queue ends");
    let lag = format!(
        "sum(rocketmq_producer_offset) by (topic) - on(topic) group_right \
         sum(rocketmq_consumer_offset{{group=\"{STOPPED_GROUP}\"}}) by (group, topic)"
    );
    assert_eq!(prometheus.value(&lag), Some(SENT as f64), "the exporter's lag rule");
    let diff = format!(
        "rocketmq_group_diff{{group=\"{STOPPED_GROUP}\",topic=\"{TOPIC}\",countOfOnlineConsumers=\"0\",msgModel=\"1\"}}"
    );
    assert_eq!(prometheus.value(&diff), Some(SENT as f64), "group diff");
    let age = format!("rocketmq_group_get_latency_by_storetime{{group=\"{STOPPED_GROUP}\",topic=\"{TOPIC}\"}}");
    assert!(prometheus.value(&age).is_some_and(|ms| ms > 0.0), "the oldest unconsumed message's age");
    // Rates over the last minute: 1,000 sends within it.
    let tps = format!("rocketmq_producer_tps{{topic=\"{TOPIC}\"}}");
    assert!(prometheus.value(&tps).is_some_and(|v| v > 0.0), "{tps}");
    let broker_tps = "rocketmq_broker_tps{cluster=\"DefaultCluster\",broker=\"broker-a\"}";
    assert!(prometheus.value(broker_tps).is_some_and(|v| v > 0.0), "{broker_tps}");
    let consumer_tps = format!("rocketmq_consumer_tps{{topic=\"{TOPIC}\",group=\"{ACTIVE_GROUP}\"}}");
    prometheus.wait_until(Duration::from_secs(30), "the active group's tps", |p| {
        p.value(&consumer_tps).is_some_and(|v| v > 0.0)
    });
    let put_total = "rocketmq_brokeruntime_msg_put_total_today_now{cluster=\"DefaultCluster\",brokerHost=\"\"}";
    assert!(prometheus.value(put_total).is_some_and(|v| v >= SENT as f64), "{put_total}");
    // The bytes put per second: a rate between scrapes, above 0 once two have seen the sends.
    let size = format!("rocketmq_producer_message_size{{topic=\"{TOPIC}\"}}");
    prometheus.wait_until(Duration::from_secs(30), "a byte rate", |p| p.value(&size).is_some_and(|v| v > 0.0));
}
