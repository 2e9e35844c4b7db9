//! The metric names of RocketMQ 4's separate `rocketmq-exporter`, served by
//! the broker itself when `metricsExporter4xNames=true`, so the Grafana
//! dashboards and alert rules written for that exporter keep working.
//!
//! The exporter asked every master of a cluster for its statistics once a
//! minute and published them under its own names, all gauges: per-minute
//! rates (`TOPIC_PUT_NUMS`, `GROUP_GET_NUMS`, ... as `mqadmin statsAll`
//! reads them), queue offsets, consumer diffs, and the broker's runtime table
//! as `rocketmq_brokeruntime_*`. Here each broker publishes its own share
//! with the exporter's names and label order; the dashboards' sums over
//! brokers (`sum(rocketmq_group_diff) by (group, topic)`) add them up as
//! they added the exporter's.
//!
//! Byte rates (`rocketmq_producer_message_size`, `rocketmq_consumer_message_size`)
//! have no per-minute counter in the broker: they are the growth of the
//! byte totals the request-path recorders keep, measured between scrapes
//! over the last minute ([`ScrapeRates`]); the first scrape reports 0.

use rmq_metrics::prometheus_client::collector::Collector;
use rmq_metrics::prometheus_client::encoding::DescriptorEncoder;
use rmq_metrics::{CappedFamily, Labels};
use rmq_model::topic;
use rmq_protocol::body::heartbeat::MessageModel;
use rmq_store::MessageStore;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use super::collector::StoreQueues;
use super::lag::consumer_lag;
use crate::broker::Broker;
use crate::clients::Clients;
use crate::ha::Replication;
use crate::live_config::LiveConfig;
use crate::now_ms;
use crate::pop::PopEngine;
use crate::runtime_info::RuntimeInfo;
use crate::stats::BrokerStats;
use crate::tables::{ConsumerOffsets, TopicTable};

/// The window of the exporter's rates: Java's `getStatsMinute()`.
const MINUTE_MS: i64 = 60_000;

/// The broker's state as the 4.x names read it.
#[derive(Debug)]
pub(crate) struct Exporter4xCollector {
    store: Arc<MessageStore>,
    config: Arc<LiveConfig>,
    topics: Arc<TopicTable>,
    offsets: Arc<ConsumerOffsets>,
    clients: Arc<Clients>,
    stats: Arc<BrokerStats>,
    replication: Arc<Replication>,
    pop: Arc<PopEngine>,
    runtime: RuntimeInfo,
    broker_name: String,
    broker_addr: String,
    is_master: bool,
    /// Byte totals seen at recent scrapes, for the byte rates.
    put_bytes: ScrapeRates,
    get_bytes: ScrapeRates,
    limit: usize,
}

impl Exporter4xCollector {
    pub(crate) fn of(broker: &Broker, limit: usize) -> Exporter4xCollector {
        Exporter4xCollector {
            store: broker.store.clone(),
            config: broker.config.clone(),
            topics: broker.tables.topics.clone(),
            offsets: broker.tables.offsets.clone(),
            clients: broker.clients.clone(),
            stats: broker.stats.clone(),
            replication: broker.replication.clone(),
            pop: broker.pop.clone(),
            runtime: broker.handlers.admin.runtime.clone(),
            broker_name: broker.identity.broker_name.clone(),
            broker_addr: broker.identity.broker_addr.clone(),
            is_master: broker.is_master(),
            put_bytes: ScrapeRates::new(limit),
            get_bytes: ScrapeRates::new(limit),
            limit,
        }
    }

    fn cluster(&self) -> String {
        self.config.get().broker_cluster_name.clone()
    }

    /// `cluster, broker` and then `extra`, the exporter's order for topic
    /// and group families.
    fn at_broker(&self, extra: &[(&'static str, &str)]) -> Labels {
        let mut labels = vec![("cluster", self.cluster()), ("broker", self.broker_name.clone())];
        labels.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        labels
    }

    /// `cluster, brokerIP, broker`, the exporter's order for broker families.
    fn broker_labels(&self, broker_ip: &str) -> Labels {
        vec![("cluster", self.cluster()), ("brokerIP", broker_ip.to_owned()), ("broker", self.broker_name.clone())]
    }

    /// Messages put and got per second over the last minute, per broker,
    /// topic and `topic@group` (`BROKER_PUT_NUMS`, `BROKER_GET_NUMS`,
    /// `TOPIC_PUT_NUMS`, `GROUP_GET_NUMS`), with the byte rates beside them.
    fn rates(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let now = now_ms();
        let s = &self.stats;
        let mut tps = CappedFamily::float_gauge("rocketmq_broker_tps", "Messages put per second, last minute", 1);
        tps.push_fraction(self.broker_labels(&self.broker_addr), round2(s.put_nums.rate(now, MINUTE_MS)));
        tps.encode(encoder)?;
        let mut qps = CappedFamily::float_gauge("rocketmq_broker_qps", "Messages got per second, last minute", 1);
        qps.push_fraction(self.broker_labels(&self.broker_addr), round2(s.get_transferred.rate(now, MINUTE_MS)));
        qps.encode(encoder)?;

        let limit = self.limit;
        let mut producer_tps =
            CappedFamily::float_gauge("rocketmq_producer_tps", "Messages put per second per topic, last minute", limit);
        for (topic, rate) in s.topic_put.rates(now, MINUTE_MS) {
            producer_tps.push_fraction(self.at_broker(&[("topic", &topic)]), round2(rate));
        }
        producer_tps.encode(encoder)?;
        let mut producer_size = CappedFamily::float_gauge(
            "rocketmq_producer_message_size",
            "Bytes put per second per topic, last minute",
            limit,
        );
        let mut put_totals: BTreeMap<&str, u64> = BTreeMap::new();
        for ((topic, _kind), sizes) in s.requests.message_size.entries() {
            *put_totals.entry(topic).or_default() += sizes.sum();
        }
        for (topic, rate) in self.put_bytes.rates(put_totals.into_iter().map(|(t, b)| (t.to_owned(), b)), now) {
            producer_size.push_fraction(self.at_broker(&[("topic", &topic)]), round2(rate));
        }
        producer_size.encode(encoder)?;

        let mut consumer_tps = CappedFamily::float_gauge(
            "rocketmq_consumer_tps",
            "Messages got per second per topic and group, last minute",
            limit,
        );
        for (key, rate) in s.group_get.rates(now, MINUTE_MS) {
            let Some((topic, group)) = key.split_once('@') else { continue };
            consumer_tps.push_fraction(self.at_broker(&[("topic", topic), ("group", group)]), round2(rate));
        }
        consumer_tps.encode(encoder)?;
        let mut consumer_size = CappedFamily::float_gauge(
            "rocketmq_consumer_message_size",
            "Bytes got per second per topic and group, last minute",
            limit,
        );
        let get_totals = s.requests.delivered.entries().map(|((t, g), d)| (format!("{t}@{g}"), d.bytes.load(Relaxed)));
        for (key, rate) in self.get_bytes.rates(get_totals, now) {
            let Some((topic, group)) = key.split_once('@') else { continue };
            consumer_size.push_fraction(self.at_broker(&[("topic", topic), ("group", group)]), round2(rate));
        }
        consumer_size.encode(encoder)
    }

    /// Queue ends per topic (`rocketmq_producer_offset`, and the retry and
    /// DLQ topics apart) and committed offsets per `topic@group`.
    fn offsets(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let limit = self.limit;
        let mut produced =
            CappedFamily::gauge("rocketmq_producer_offset", "Sum of the topic's queue ends on this broker", limit);
        let mut retry =
            CappedFamily::gauge("rocketmq_topic_retry_offset", "Sum of the retry topic's queue ends", limit);
        let mut dlq = CappedFamily::gauge("rocketmq_topic_dlq_offset", "Sum of the group's DLQ queue ends", limit);
        for (name, config) in &self.topics.snapshot().topic_config_table {
            let queues = config.read_queue_nums.max(config.write_queue_nums) as i32;
            let end: i64 = (0..queues).map(|q| self.store.max_offset_in_queue(name, q).as_i64()).sum();
            if let Some(group) = name.strip_prefix(topic::DLQ_GROUP_TOPIC_PREFIX) {
                dlq.push(self.at_broker(&[("group", group)]), end);
            } else if topic::is_retry_topic(name) {
                retry.push(self.at_broker(&[("topic", name)]), end);
            } else {
                produced.push(self.at_broker(&[("topic", name)]), end);
            }
        }
        for family in [produced, retry, dlq] {
            family.encode(encoder)?;
        }
        let mut consumed =
            CappedFamily::gauge("rocketmq_consumer_offset", "Sum of the group's committed offsets", limit);
        for (key, queues) in &self.offsets.snapshot().offset_table {
            let Some((topic, group)) = key.split_once('@') else { continue };
            consumed.push(self.at_broker(&[("topic", topic), ("group", group)]), queues.values().sum());
        }
        consumed.encode(encoder)
    }

    /// `rocketmq_group_diff` (and `_retrydiff`) of clustering groups, with
    /// the group's consumers online here; the age of the oldest message not
    /// consumed; connections per group and producer group.
    fn groups(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let limit = self.limit;
        let online: HashMap<String, (MessageModel, Vec<(String, String)>)> = self
            .clients
            .consumer_groups()
            .into_iter()
            .map(|(group, info)| {
                let channels =
                    info.channels.values().map(|c| (c.conn.remote_addr().to_string(), c.client_id.clone())).collect();
                (group, (info.message_model, channels))
            })
            .collect();
        let mut diff = CappedFamily::gauge("rocketmq_group_diff", "Messages the group has not consumed", limit);
        let mut retry_diff =
            CappedFamily::gauge("rocketmq_group_retrydiff", "Messages of the group's retry topic not consumed", limit);
        let mut latency = CappedFamily::gauge(
            "rocketmq_group_get_latency_by_storetime",
            "Age of the oldest message the group has not consumed, ms",
            limit,
        );
        let offsets = self.offsets.snapshot().offset_table;
        let unacked = self.pop.unacked_by_queue();
        let now = now_ms();
        for lag in consumer_lag(&offsets, &unacked, &StoreQueues(&self.store)) {
            let (model, consumers) =
                online.get(&lag.group).map_or((MessageModel::Clustering, 0), |(m, c)| (*m, c.len()));
            if model != MessageModel::Clustering {
                continue;
            }
            let count = consumers.to_string();
            // Java's MessageModel ordinal: BROADCASTING 0, CLUSTERING 1.
            let labels = vec![
                ("group", lag.group.clone()),
                ("topic", lag.topic.clone()),
                ("countOfOnlineConsumers", count),
                ("msgModel", "1".to_owned()),
            ];
            if topic::is_retry_topic(&lag.topic) {
                retry_diff.push(labels, lag.messages);
            } else {
                diff.push(labels, lag.messages);
                let age = lag.oldest_unconsumed_ms.map_or(0, |t| (now - t).max(0));
                latency.push(self.at_broker(&[("topic", &lag.topic), ("group", &lag.group)]), age);
            }
        }
        for family in [diff, retry_diff, latency] {
            family.encode(encoder)?;
        }
        let mut count = CappedFamily::gauge("rocketmq_group_count", "Consumers of the group connected here", limit);
        for (group, (_, consumers)) in &online {
            let join = |pick: fn(&(String, String)) -> &str| consumers.iter().map(pick).collect::<Vec<_>>().join(",");
            let labels = vec![("caddr", join(|c| &c.0)), ("localaddr", join(|c| &c.1)), ("group", group.clone())];
            count.push(labels, consumers.len() as i64);
        }
        count.encode(encoder)?;
        let mut producers =
            CappedFamily::gauge("rocketmq_producer_count", "Producers of the group connected here", limit);
        for (group, channels) in self.clients.producer_groups() {
            producers.push(self.at_broker(&[("group", &group)]), channels.len() as i64);
        }
        producers.encode(encoder)
    }

    /// `rocketmq_broker_commitlog_diff`: bytes each slave is behind, with the
    /// slave's address as `brokerIP` as the exporter has it.
    fn replication(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let mut diff =
            CappedFamily::gauge("rocketmq_broker_commitlog_diff", "Bytes a slave is behind its master", self.limit);
        for slave in self.replication.slave_lags(&self.store) {
            diff.push(self.broker_labels(&slave.address), slave.bytes as i64);
        }
        diff.encode(encoder)
    }

    /// `rocketmq_brokeruntime_*`: the runtime table `mqadmin brokerStatus`
    /// prints, under the exporter's names and labels.
    fn runtime(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let table = self.runtime.table();
        let get = |key: &str| table.get(key).map(String::as_str).unwrap_or("");
        let labels = vec![
            ("cluster", self.cluster()),
            ("brokerIP", self.broker_addr.clone()),
            ("brokerHost", String::new()),
            ("des", get("brokerVersionDesc").to_owned()),
            ("boottime", get("bootTimestamp").to_owned()),
            ("broker_version", get("brokerVersion").to_owned()),
        ];
        let mut write = |name: &'static str, value: f64| {
            let mut family = CappedFamily::float_gauge(name, "The broker's runtime table (mqadmin brokerStatus)", 1);
            family.push_fraction(labels.clone(), value);
            family.encode(encoder)
        };
        for (key, names) in RUNTIME_RATES {
            let rates: Vec<f64> = get(key).split_whitespace().filter_map(|v| v.parse().ok()).collect();
            for (name, rate) in names.iter().zip(rates) {
                write(name, rate)?;
            }
        }
        for (key, name) in RUNTIME_VALUES {
            // The first number of the value (Java's remainHowManyDataToFlush
            // carries a unit after it).
            if let Some(value) = get(key).split_whitespace().next().and_then(|v| v.parse().ok()) {
                write(name, value)?;
            }
        }
        Ok(())
    }
}

/// Runtime keys holding Java's three rates (10 s, 1 min, 10 min) and the
/// exporter's name for each.
const RUNTIME_RATES: [(&str, [&str; 3]); 5] = [
    (
        "putTps",
        ["rocketmq_brokeruntime_put_tps10", "rocketmq_brokeruntime_put_tps60", "rocketmq_brokeruntime_put_tps600"],
    ),
    (
        "getMissTps",
        [
            "rocketmq_brokeruntime_getmiss_tps10",
            "rocketmq_brokeruntime_getmiss_tps60",
            "rocketmq_brokeruntime_getmiss_tps600",
        ],
    ),
    (
        "getTransferredTps",
        [
            "rocketmq_brokeruntime_gettransfered_tps10",
            "rocketmq_brokeruntime_gettransfered_tps60",
            "rocketmq_brokeruntime_gettransfered_tps600",
        ],
    ),
    (
        "getTotalTps",
        [
            "rocketmq_brokeruntime_gettotal_tps10",
            "rocketmq_brokeruntime_gettotal_tps60",
            "rocketmq_brokeruntime_gettotal_tps600",
        ],
    ),
    (
        "getFoundTps",
        [
            "rocketmq_brokeruntime_getfound_tps10",
            "rocketmq_brokeruntime_getfound_tps60",
            "rocketmq_brokeruntime_getfound_tps600",
        ],
    ),
];

/// Runtime keys holding one number and the exporter's name for it (its
/// spelling, inconsistent underscores included).
const RUNTIME_VALUES: [(&str, &str); 25] = [
    ("msgPutTotalTodayNow", "rocketmq_brokeruntime_msg_put_total_today_now"),
    ("msgGetTotalTodayNow", "rocketmq_brokeruntime_msg_gettotal_today_now"),
    ("msgPutTotalTodayMorning", "rocketmq_brokeruntime_msg_puttotal_todaymorning"),
    ("msgGetTotalTodayMorning", "rocketmq_brokeruntime_msg_gettotal_todaymorning"),
    ("msgPutTotalYesterdayMorning", "rocketmq_brokeruntime_msg_puttotal_yesterdaymorning"),
    ("msgGetTotalYesterdayMorning", "rocketmq_brokeruntime_msg_gettotal_yesterdaymorning"),
    ("dispatchBehindBytes", "rocketmq_brokeruntime_dispatch_behind_bytes"),
    ("putMessageSizeTotal", "rocketmq_brokeruntime_put_message_size_total"),
    ("putMessageAverageSize", "rocketmq_brokeruntime_put_message_average_size"),
    ("putMessageTimesTotal", "rocketmq_brokeruntime_putmessage_times_total"),
    ("putMessageEntireTimeMax", "rocketmq_brokeruntime_putmessage_entire_time_max"),
    ("pageCacheLockTimeMills", "rocketmq_brokeruntime_pagecache_lock_time_mills"),
    ("earliestMessageTimeStamp", "rocketmq_brokeruntime_earliest_message_timestamp"),
    ("startAcceptSendRequestTimeStamp", "rocketmq_brokeruntime_start_accept_sendrequest_time"),
    ("commitLogDiskRatio", "rocketmq_brokeruntime_commitlog_disk_ratio"),
    ("commitLogMaxOffset", "rocketmq_brokeruntime_commitlog_maxoffset"),
    ("commitLogMinOffset", "rocketmq_brokeruntime_commitlog_minoffset"),
    ("remainHowManyDataToFlush", "rocketmq_brokeruntime_remain_howmanydata_toflush"),
    ("sendThreadPoolQueueCapacity", "rocketmq_brokeruntime_send_threadpoolqueue_capacity"),
    ("pullThreadPoolQueueCapacity", "rocketmq_brokeruntime_pull_threadpoolqueue_capacity"),
    ("sendThreadPoolQueueSize", "rocketmq_brokeruntime_send_threadpool_queue_size"),
    ("pullThreadPoolQueueSize", "rocketmq_brokeruntime_pull_threadpoolqueue_size"),
    ("sendThreadPoolQueueHeadWaitTimeMills", "rocketmq_brokeruntime_send_threadpoolqueue_headwait_timemills"),
    ("pullThreadPoolQueueHeadWaitTimeMills", "rocketmq_brokeruntime_pull_threadpoolqueue_headwait_timemills"),
    ("queryThreadPoolQueueHeadWaitTimeMills", "rocketmq_brokeruntime_query_threadpoolqueue_headwait_timemills"),
];

/// Java's exporter rounds rates to two decimals.
fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

impl Collector for Exporter4xCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        // A slave's queues and statistics repeat its master's: the exporter
        // read masters only.
        if self.is_master {
            self.rates(&mut encoder)?;
            self.offsets(&mut encoder)?;
            self.groups(&mut encoder)?;
            self.replication(&mut encoder)?;
        }
        self.runtime(&mut encoder)
    }
}

/// Rates of growing totals, from the totals seen at recent scrapes: per key,
/// the growth since the oldest sample within the last minute (or the oldest
/// kept, if scrapes are further apart). The totals come from tables that
/// never forget a key, so a key absent at the previous scrape stood at 0
/// then. Keys are capped at the series limit.
#[derive(Debug)]
pub(crate) struct ScrapeRates {
    seen: Mutex<Seen>,
    limit: usize,
}

#[derive(Debug, Default)]
struct Seen {
    samples: HashMap<String, VecDeque<(i64, u64)>>,
    last_scrape_ms: Option<i64>,
}

impl ScrapeRates {
    pub(crate) fn new(limit: usize) -> ScrapeRates {
        ScrapeRates { seen: Mutex::new(Seen::default()), limit }
    }

    /// Records `totals` at `now_ms` and returns each key's rate per second
    /// (0 at the first scrape).
    pub(crate) fn rates(&self, totals: impl Iterator<Item = (String, u64)>, now_ms: i64) -> Vec<(String, f64)> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let last_scrape = seen.last_scrape_ms.replace(now_ms);
        let samples = &mut seen.samples;
        let mut rates = Vec::new();
        for (key, total) in totals {
            if !samples.contains_key(&key) && samples.len() >= self.limit {
                continue;
            }
            let history =
                samples.entry(key.clone()).or_insert_with(|| last_scrape.map(|t| (t, 0)).into_iter().collect());
            // Keep one sample at least a minute old, and none older.
            while history.len() > 1 && history.get(1).is_some_and(|(t, _)| now_ms - t >= MINUTE_MS) {
                history.pop_front();
            }
            let rate = match history.front() {
                Some(&(t0, c0)) if now_ms > t0 => total.saturating_sub(c0) as f64 * 1000.0 / (now_ms - t0) as f64,
                _ => 0.0,
            };
            history.push_back((now_ms, total));
            rates.push((key, rate));
        }
        rates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrape_rates_measure_growth_over_the_last_minute() {
        let rates = ScrapeRates::new(10);
        let at = |t: i64, total: u64| rates.rates(std::iter::once(("T".to_owned(), total)), t)[0].1;
        assert_eq!(at(0, 1_000), 0.0, "the first scrape: no rate yet");
        assert_eq!(at(15_000, 16_000), 1_000.0);
        assert_eq!(at(30_000, 31_000), 1_000.0);
        // 75 s on: the sample at 0 is dropped for the one at 15 s.
        assert_eq!(at(75_000, 31_000), (31_000.0 - 16_000.0) / 60.0);
    }

    #[test]
    fn a_key_new_since_the_last_scrape_grew_from_zero() {
        let rates = ScrapeRates::new(10);
        assert!(rates.rates(std::iter::empty(), 0).is_empty());
        let got = rates.rates(std::iter::once(("T".to_owned(), 10_000)), 10_000);
        assert_eq!(got, vec![("T".to_owned(), 1_000.0)]);
    }

    #[test]
    fn scrape_rates_hold_at_most_the_limit() {
        let rates = ScrapeRates::new(2);
        let keys = (0..5).map(|i| (format!("T{i}"), 1));
        assert_eq!(rates.rates(keys, 0).len(), 2);
    }
}
