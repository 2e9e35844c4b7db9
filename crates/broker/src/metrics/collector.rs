//! What a scrape of the broker reads: RocketMQ 5's metric families
//! (`BrokerMetricsConstant`, `DefaultStoreMetricsConstant`) and rmq's own
//! (`rmq_*`), each built from state the broker keeps anyway.
//!
//! Nothing here runs on a request's path. Messages in are the ends of the
//! topics' consume queues (messages ever stored, which survive restarts);
//! messages and bytes out, message sizes and RPC latencies are what requests
//! record in `recorded` (atomics, never forgotten); lag compares committed
//! offsets with queue ends. Every family with a
//! topic or group label holds at most `metricsOtelCardinalityLimit` series.

use rmq_metrics::prometheus_client::collector::Collector;
use rmq_metrics::prometheus_client::encoding::DescriptorEncoder;
use rmq_metrics::{CappedFamily, HistogramFamily, Labels};
use rmq_model::{QueueOffset, topic};
use rmq_protocol::{RequestCode, ResponseCode};
use rmq_store::MessageStore;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use super::lag::{QueueState, consumer_lag};
use super::recorded::{MESSAGE_SIZE_BOUNDS, MessageType, RPC_LATENCY_BOUNDS_MS};
use crate::admission::Permits;
use crate::broker::Broker;
use crate::clients::Clients;
use crate::ha::Replication;
use crate::live_config::LiveConfig;
use crate::now_ms;
use crate::pop::PopEngine;
use crate::port_limits::PortLimits;
use crate::stats::BrokerStats;
use crate::tables::{ConsumerOffsets, SubscriptionGroups, TopicTable};

/// The broker's state as the metrics endpoint reads it.
#[derive(Debug)]
pub(crate) struct BrokerCollector {
    store: Arc<MessageStore>,
    config: Arc<LiveConfig>,
    topics: Arc<TopicTable>,
    groups: Arc<SubscriptionGroups>,
    offsets: Arc<ConsumerOffsets>,
    clients: Arc<Clients>,
    stats: Arc<BrokerStats>,
    replication: Arc<Replication>,
    pop: Arc<PopEngine>,
    sends: Arc<Permits>,
    pulls: Arc<Permits>,
    ports: Arc<PortLimits>,
    store_open_ms: u64,
    is_master: bool,
    boot_ms: i64,
    /// Most labelled series per family.
    limit: usize,
}

impl BrokerCollector {
    pub(crate) fn of(broker: &Broker, limit: usize) -> BrokerCollector {
        let admin = &broker.handlers.admin;
        BrokerCollector {
            store: broker.store.clone(),
            config: broker.config.clone(),
            topics: broker.tables.topics.clone(),
            groups: broker.tables.groups.clone(),
            offsets: broker.tables.offsets.clone(),
            clients: broker.clients.clone(),
            stats: broker.stats.clone(),
            replication: broker.replication.clone(),
            pop: broker.pop.clone(),
            sends: admin.runtime.sends.clone(),
            pulls: admin.runtime.pulls.clone(),
            ports: admin.runtime.ports.clone(),
            store_open_ms: admin.runtime.store_open_ms,
            is_master: broker.is_master(),
            boot_ms: admin.runtime.boot_ms,
            limit,
        }
    }

    /// Java's `isSystem`: a system topic or a `CID_RMQ_SYS_` group.
    fn is_system(&self, topic: &str, group: &str) -> bool {
        self.topics.is_system_topic(topic) || group.to_ascii_lowercase().starts_with("cid_rmq_sys_")
    }

    fn messages_in(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let mut family = CappedFamily::counter("rocketmq_messages_in", "Total number of incoming messages", self.limit);
        // A slave's queues hold what its master took in: counting them too
        // would count every message twice in a cluster-wide sum.
        if self.is_master {
            for (name, config) in &self.topics.snapshot().topic_config_table {
                let queues = config.read_queue_nums.max(config.write_queue_nums) as i32;
                // Empty topics too: a series that exists from the topic's
                // creation at 0 lets increase() count its first messages.
                let stored: i64 = (0..queues).map(|q| self.store.max_offset_in_queue(name, q).as_i64()).sum();
                if family.has_room() {
                    let is_system = self.is_system(name, "");
                    family.push(vec![("topic", name.clone()), ("is_system", is_system.to_string())], stored);
                } else {
                    family.push_overflow(stored);
                }
            }
        }
        family.encode(encoder)?;
        let mut bytes =
            CappedFamily::counter("rocketmq_throughput_in", "Total traffic of incoming messages, bytes", self.limit);
        bytes.push(Labels::new(), self.stats.put_size.total() as i64);
        bytes.encode(encoder)
    }

    /// Messages and bytes delivered per `topic@group`, from counters kept
    /// for the broker's life (a group idle for a while keeps its series).
    fn messages_out(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let mut messages =
            CappedFamily::counter("rocketmq_messages_out", "Total number of outgoing messages", self.limit);
        let mut bytes =
            CappedFamily::counter("rocketmq_throughput_out", "Total traffic of outgoing messages, bytes", self.limit);
        let delivered = &self.stats.requests.delivered;
        for ((topic, group), d) in delivered.entries() {
            let (n, size) = (d.messages.load(Relaxed) as i64, d.bytes.load(Relaxed) as i64);
            if messages.has_room() {
                let labels = self.group_labels(topic, group);
                bytes.push(labels.clone(), size);
                messages.push(labels, n);
            } else {
                messages.push_overflow(n);
                bytes.push_overflow(size);
            }
        }
        let overflow = delivered.overflow();
        if overflow.messages.load(Relaxed) > 0 {
            messages.push_overflow(overflow.messages.load(Relaxed) as i64);
            bytes.push_overflow(overflow.bytes.load(Relaxed) as i64);
        }
        messages.encode(encoder)?;
        bytes.encode(encoder)
    }

    /// `rocketmq_message_size` (per topic and message type) and
    /// `rocketmq_rpc_latency` (per request and response code), from the
    /// histograms requests record.
    fn histograms(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let sizes = &self.stats.requests.message_size;
        let mut family = HistogramFamily::new(
            "rocketmq_message_size",
            "Incoming messages size, bytes",
            MESSAGE_SIZE_BOUNDS,
            self.limit,
        );
        for ((topic, kind), histogram) in sizes.entries() {
            if family.has_room() {
                family.push(
                    vec![("topic", topic.clone()), ("message_type", MessageType::label(*kind).to_owned())],
                    histogram,
                );
            } else {
                family.push_overflow(histogram);
            }
        }
        family.push_overflow(sizes.overflow());
        family.encode(encoder)?;
        let latencies = &self.stats.requests.rpc_latency;
        let mut family =
            HistogramFamily::new("rocketmq_rpc_latency", "Rpc latency, ms", RPC_LATENCY_BOUNDS_MS, self.limit);
        for ((request, response), histogram) in latencies.entries() {
            family.push(
                vec![
                    ("protocol_type", "remoting".to_owned()),
                    ("request_code", code_label(RequestCode::from(*request).java_name(), *request)),
                    ("response_code", code_label(ResponseCode::from(*response).java_name(), *response)),
                    ("is_long_polling", "false".to_owned()),
                ],
                histogram,
            );
        }
        family.push_overflow(latencies.overflow());
        family.encode(encoder)
    }

    fn group_labels(&self, topic: &str, group: &str) -> Labels {
        vec![
            ("topic", topic.to_owned()),
            ("consumer_group", group.to_owned()),
            ("is_retry", topic::is_retry_topic(topic).to_string()),
            ("is_system", self.is_system(topic, group).to_string()),
        ]
    }

    /// Java's five consumer gauges, per topic and group: lag (ready and in
    /// flight), in flight (POP, not acked), ready (not delivered), and the
    /// age of the oldest unconsumed and oldest ready message, ms.
    fn lag(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let limit = self.limit;
        let mut lag_messages = CappedFamily::gauge(
            "rocketmq_consumer_lag_messages",
            "Messages stored but not yet consumed (committed or acked) by the group",
            limit,
        );
        let mut inflight =
            CappedFamily::gauge("rocketmq_consumer_inflight_messages", "Messages popped and not acked yet", limit);
        let mut ready =
            CappedFamily::gauge("rocketmq_consumer_ready_messages", "Messages stored and not delivered yet", limit);
        let mut lag_latency = CappedFamily::gauge(
            "rocketmq_consumer_lag_latency",
            "Age of the oldest message not consumed yet, ms",
            limit,
        );
        let mut queueing = CappedFamily::gauge(
            "rocketmq_consumer_queueing_latency",
            "Age of the oldest message waiting to be delivered, ms",
            limit,
        );
        let offsets = self.offsets.snapshot().offset_table;
        let unacked = self.pop.unacked_by_queue();
        let now = now_ms();
        let age = |stored: Option<i64>| stored.map_or(0, |t| (now - t).max(0));
        for lag in consumer_lag(&offsets, &unacked, &StoreQueues(&self.store)) {
            // (family, value, whether it is an age: ages do not add up, the
            // overflow series holds the oldest).
            let labels = lag_messages.has_room().then(|| self.group_labels(&lag.topic, &lag.group));
            let values = [
                (&mut lag_messages, lag.messages, false),
                (&mut inflight, lag.inflight, false),
                (&mut ready, lag.ready, false),
                (&mut lag_latency, age(lag.oldest_unconsumed_ms), true),
                (&mut queueing, age(lag.oldest_ready_ms), true),
            ];
            for (family, value, is_age) in values {
                match &labels {
                    Some(labels) => family.push(labels.clone(), value),
                    None if is_age => family.push_overflow_max(value),
                    None => family.push_overflow(value),
                }
            }
        }
        for family in [lag_messages, inflight, ready, lag_latency, queueing] {
            family.encode(encoder)?;
        }
        Ok(())
    }

    fn connections(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let mut producers: BTreeMap<(&'static str, i32), i64> = BTreeMap::new();
        for channels in self.clients.producer_groups().into_values() {
            for c in channels {
                *producers.entry((c.language.name(), c.version)).or_default() += 1;
            }
        }
        let mut family = CappedFamily::gauge("rocketmq_producer_connections", "Producer connections", self.limit);
        for ((language, version), n) in producers {
            family.push(
                vec![
                    ("language", language.to_ascii_lowercase()),
                    ("version", version.to_string()),
                    ("protocol_type", "remoting".to_owned()),
                ],
                n,
            );
        }
        family.encode(encoder)?;
        let mut consumers: BTreeMap<(String, &'static str, i32, &'static str), i64> = BTreeMap::new();
        for (group, info) in self.clients.consumer_groups() {
            let mode = consume_mode(info.consume_type);
            for c in info.channels.values() {
                *consumers.entry((group.clone(), c.language.name(), c.version, mode)).or_default() += 1;
            }
        }
        let mut family = CappedFamily::gauge("rocketmq_consumer_connections", "Consumer connections", self.limit);
        for ((group, language, version, mode), n) in consumers {
            if !family.has_room() {
                family.push_overflow(n);
                continue;
            }
            let is_system = self.is_system("", &group);
            family.push(
                vec![
                    ("consumer_group", group),
                    ("language", language.to_ascii_lowercase()),
                    ("version", version.to_string()),
                    ("consume_mode", mode.to_owned()),
                    ("protocol_type", "remoting".to_owned()),
                    ("is_system", is_system.to_string()),
                ],
                n,
            );
        }
        family.encode(encoder)
    }

    fn broker_state(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let limit = self.limit;
        let mut watermark = CappedFamily::gauge("rocketmq_processor_watermark", "Requests in progress", limit);
        watermark.push(vec![("processor", "send".to_owned())], self.sends.in_flight() as i64);
        watermark.push(vec![("processor", "pull".to_owned())], self.pulls.in_flight() as i64);
        watermark.encode(encoder)?;
        let permission = i64::from(self.config.get().broker_permission);
        single(encoder, CappedFamily::gauge("rocketmq_broker_permission", "Broker permission", 1), permission)?;
        let topics = self.topics.snapshot().topic_config_table.len() as i64;
        single(encoder, CappedFamily::gauge("rocketmq_topic_number", "Active topic number", 1), topics)?;
        let groups = self.groups.snapshot().subscription_group_table.len() as i64;
        let family = CappedFamily::gauge("rocketmq_consumer_group_number", "Active subscription group number", 1);
        single(encoder, family, groups)?;
        let mut refused = CappedFamily::counter(
            "rmq_system_busy",
            "Requests answered SYSTEM_BUSY because their processor's bound was reached",
            limit,
        );
        refused.push(vec![("processor", "send".to_owned())], self.sends.refused() as i64);
        refused.push(vec![("processor", "pull".to_owned())], self.pulls.refused() as i64);
        refused.encode(encoder)?;
        let boot = CappedFamily::gauge("rmq_boot_timestamp_seconds", "When the broker started, Unix time", 1);
        single(encoder, boot, self.boot_ms / 1000)?;
        let mut open = CappedFamily::float_gauge(
            "rmq_store_open_seconds",
            "How long opening the store took at the last start, recovery included",
            1,
        );
        open.push_fraction(Labels::new(), self.store_open_ms as f64 / 1000.0);
        open.encode(encoder)?;
        // The remoting ports' connection limits: what they refused or closed.
        let mut connections = CappedFamily::counter(
            "rmq_connections_refused",
            "Connections refused or closed by the remoting ports' limits, by reason",
            8,
        );
        for (key, count) in self.ports.entries() {
            connections.push(vec![("reason", connection_reason(key).to_owned())], count as i64);
        }
        connections.encode(encoder)
    }

    fn storage(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let stats = self.store.stats();
        let local = || vec![("storage_type", "local".to_owned()), ("storage_medium", "disk".to_owned())];
        let held = stats.max_physical_offset.saturating_sub(stats.min_physical_offset) as i64;
        let mut size = CappedFamily::gauge("rocketmq_storage_size", "CommitLog bytes held", 1);
        size.push(local(), held);
        size.encode(encoder)?;
        let flush_behind = stats.max_physical_offset.saturating_sub(stats.flushed_offset) as i64;
        let mut family = CappedFamily::gauge("rocketmq_storage_flush_behind_bytes", "Bytes not yet flushed", 1);
        family.push(local(), flush_behind);
        family.encode(encoder)?;
        let mut family =
            CappedFamily::gauge("rocketmq_storage_dispatch_behind_bytes", "Bytes not yet dispatched to queues", 1);
        family.push(local(), stats.dispatch_behind_bytes as i64);
        family.encode(encoder)?;
        if let Some(earliest) = self.store.earliest_message_time() {
            let mut family =
                CappedFamily::gauge("rocketmq_storage_message_reserve_time", "Age of the oldest message kept, ms", 1);
            family.push(local(), (now_ms() - earliest).max(0));
            family.encode(encoder)?;
        }
        let permille = (stats.disk_ratio * 1000.0).round() as i64;
        let ratio = CappedFamily::gauge("rmq_store_disk_used_permille", "Disk use of the CommitLog's filesystem, ‰", 1);
        single(encoder, ratio, permille)?;
        let full = CappedFamily::gauge("rmq_store_disk_full", "1 while the disk is too full for writes", 1);
        single(encoder, full, i64::from(stats.disk_full))?;
        let puts = CappedFamily::counter("rmq_store_puts", "Puts stored (a batch counts once)", 1);
        single(encoder, puts, stats.puts as i64)?;
        let messages = CappedFamily::counter("rmq_store_put_messages", "Messages stored by puts", 1);
        single(encoder, messages, stats.put_messages as i64)?;
        let failures = CappedFamily::counter("rmq_store_put_failures", "Puts refused or failed", 1);
        single(encoder, failures, stats.put_failures as i64)?;
        let flushes = CappedFamily::counter(
            "rmq_store_flushes",
            "CommitLog flushes (group commits under SYNC_FLUSH): messages per flush is the batch size",
            1,
        );
        single(encoder, flushes, stats.flushes as i64)?;
        let latency = CappedFamily::gauge("rmq_store_put_latency_max_microseconds", "Slowest put so far", 1);
        single(encoder, latency, stats.put_latency_max_us as i64)
    }

    fn pulls(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let mut family = CappedFamily::counter("rmq_pulls", "Pulls answered, by whether they found messages", 2);
        family.push(vec![("result", "found".to_owned())], self.stats.get_found.total() as i64);
        family.push(vec![("result", "miss".to_owned())], self.stats.get_miss.total() as i64);
        family.encode(encoder)
    }

    /// Replication, from the same figures `brokerStatus` prints.
    fn replication(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        const HELP: [(&str, &str, &str); 6] = [
            ("haConnectionCount", "rmq_ha_connections", "Slaves connected (a slave: 1 while connected)"),
            ("haReplicationLagBytes", "rmq_ha_slave_lag_bytes", "Bytes the furthest slave is behind"),
            ("haReplicationLagMs", "rmq_ha_slave_lag_ms", "How long the furthest slave is behind, ms"),
            ("haSyncWaiting", "rmq_ha_sync_waiting", "SYNC_MASTER sends waiting for a slave"),
            ("haRefusedConnections", "rmq_ha_refused_connections", "Peers of the HA port refused"),
            ("haSlaveBehindBytes", "rmq_ha_behind_master_bytes", "A slave: bytes behind its master"),
        ];
        for (key, value) in self.replication.runtime_entries(&self.store) {
            let Some((_, name, help)) = HELP.iter().find(|(k, _, _)| *k == key) else { continue };
            // -1 means "not known" (no slave yet): no sample rather than a false one.
            match value.parse::<i64>() {
                Ok(v) if v >= 0 => single(encoder, CappedFamily::gauge(name, help, 1), v)?,
                _ => {}
            }
        }
        // Per slave (a master only): as many series as slaves connected,
        // which the HA port's slave limit bounds.
        let slaves = self.replication.slave_lags(&self.store);
        let mut bytes =
            CappedFamily::gauge("rmq_ha_slave_behind_bytes", "Bytes a slave is behind, per slave", self.limit);
        let mut ms =
            CappedFamily::gauge("rmq_ha_slave_behind_ms", "How long a slave is behind, per slave, ms", self.limit);
        for slave in slaves {
            bytes.push(vec![("slave_addr", slave.address.clone())], slave.bytes as i64);
            ms.push(vec![("slave_addr", slave.address)], slave.ms as i64);
        }
        bytes.encode(encoder)?;
        ms.encode(encoder)
    }
}

/// The store's queues as the lag computation reads them.
pub(super) struct StoreQueues<'a>(pub(super) &'a MessageStore);

impl QueueState for StoreQueues<'_> {
    fn end(&self, topic: &str, queue: i32) -> i64 {
        self.0.max_offset_in_queue(topic, queue).as_i64()
    }
    fn store_time(&self, topic: &str, queue: i32, offset: i64) -> Option<i64> {
        let offset = u64::try_from(offset).ok()?;
        self.0.message_store_time(topic, queue, QueueOffset(offset))
    }
}

/// Java's `RemotingHelper.getRequestCodeDesc`/`getResponseCodeDesc`: the
/// constant's name in lower case, or the number for a code it lacks.
fn code_label(java_name: &str, code: i32) -> String {
    if java_name == "UNKNOWN" { code.to_string() } else { java_name.to_ascii_lowercase() }
}

/// The `reason` label of a port-limit counter of the runtime table.
fn connection_reason(runtime_key: &str) -> &'static str {
    match runtime_key {
        "refusedConnections" => "max_connections",
        "refusedConnectionsPerIp" => "max_connections_per_ip",
        "writeTimeoutClosedConnections" => "write_timeout",
        "frameTimeoutClosedConnections" => "frame_timeout",
        "tlsRefusedPlaintextConnections" => "tls_plaintext",
        "tlsFailedHandshakes" => "tls_handshake",
        _ => "other",
    }
}

/// Writes a family of one unlabelled series.
fn single(encoder: &mut DescriptorEncoder<'_>, mut family: CappedFamily, value: i64) -> std::fmt::Result {
    family.push(Labels::new(), value);
    family.encode(encoder)
}

/// Java's `ConsumeType.getTypeCN()`, lower-cased.
fn consume_mode(kind: rmq_protocol::body::heartbeat::ConsumeType) -> &'static str {
    use rmq_protocol::body::heartbeat::ConsumeType;
    match kind {
        ConsumeType::ConsumeActively => "pull",
        ConsumeType::ConsumePassively => "push",
        ConsumeType::ConsumePop => "pop",
    }
}

impl Collector for BrokerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        self.messages_in(&mut encoder)?;
        self.messages_out(&mut encoder)?;
        self.histograms(&mut encoder)?;
        self.lag(&mut encoder)?;
        self.connections(&mut encoder)?;
        self.broker_state(&mut encoder)?;
        self.storage(&mut encoder)?;
        self.pulls(&mut encoder)?;
        self.replication(&mut encoder)
    }
}
