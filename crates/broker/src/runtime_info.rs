//! GET_BROKER_RUNTIME_INFO's table (the keys of Java's
//! `BrokerController.getRuntimeInfo` that `mqadmin clusterList` and
//! `brokerStatus` read) and GET_BROKER_CONFIG's text.

use rmq_model::topic::SCHEDULE_TOPIC;
use rmq_store::MessageStore;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::admission::Permits;
use crate::delay::DelayLevels;
use crate::ha::Replication;
use crate::live_config::LiveConfig;
use crate::now_ms;
use crate::port_limits::PortLimits;
use crate::stats::BrokerStats;
use crate::tables::DelayOffsets;

/// The version this broker reports, as Java's `MQVersion` names it.
pub const BROKER_VERSION_DESC: &str = "V4_9_8";

/// What the runtime table reports on.
#[derive(Debug, Clone)]
pub(crate) struct RuntimeInfo {
    pub store: Arc<MessageStore>,
    pub config: Arc<LiveConfig>,
    pub stats: Arc<BrokerStats>,
    pub replication: Arc<Replication>,
    /// Delivery progress of each delay level.
    pub delay_offsets: Arc<DelayOffsets>,
    pub delay_levels: Arc<DelayLevels>,
    /// Sends and pulls in progress.
    pub sends: Arc<Permits>,
    pub pulls: Arc<Permits>,
    /// What the remoting ports' connection limits refused or closed.
    pub ports: Arc<PortLimits>,
    pub boot_ms: i64,
    /// How long opening the store took at start, recovery included.
    pub store_open_ms: u64,
}

impl RuntimeInfo {
    /// Every key `mqadmin clusterList` and `brokerStatus` read, as strings.
    pub(crate) fn table(&self) -> BTreeMap<String, String> {
        let now = now_ms();
        let s = &self.stats;
        let store = self.store.stats();
        let marks = s.day_marks();
        let mut t = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            t.insert(k.to_owned(), v);
        };
        put("brokerVersionDesc", BROKER_VERSION_DESC.to_owned());
        put("brokerVersion", rmq_protocol::RMQ_VERSION.to_string());
        put("bootTimestamp", self.boot_ms.to_string());
        put("runtime", runtime_text(now - self.boot_ms));
        put("putTps", s.put_nums.tps_text(now));
        let get_tps = s.get_transferred.tps_text(now);
        put("getTransferedTps", get_tps.clone());
        put("getTransferredTps", get_tps);
        put("getFoundTps", s.get_found.tps_text(now));
        put("getMissTps", s.get_miss.tps_text(now));
        let total = |window| s.get_found.rate(now, window) + s.get_miss.rate(now, window);
        put("getTotalTps", format!("{:.2} {:.2} {:.2}", total(10_000), total(60_000), total(600_000)));
        put("putMessageTimesTotal", s.put_nums.total().to_string());
        put("putMessageSizeTotal", s.put_size.total().to_string());
        put("putMessageFailedTimes", s.put_failures.total().to_string());
        let avg = if s.put_nums.total() == 0 { 0.0 } else { s.put_size.total() as f64 / s.put_nums.total() as f64 };
        put("putMessageAverageSize", format!("{avg:.2}"));
        put("putMessageEntireTimeMax", (store.put_latency_max_us / 1000).to_string());
        put("msgPutTotalYesterdayMorning", marks.put_yesterday_morning.to_string());
        put("msgPutTotalTodayMorning", marks.put_today_morning.to_string());
        put("msgPutTotalTodayNow", s.put_nums.total().to_string());
        put("msgGetTotalYesterdayMorning", marks.get_yesterday_morning.to_string());
        put("msgGetTotalTodayMorning", marks.get_today_morning.to_string());
        put("msgGetTotalTodayNow", s.get_transferred.total().to_string());
        put("commitLogMinOffset", self.store.min_physical_offset().to_string());
        put("commitLogMaxOffset", self.store.max_physical_offset().to_string());
        put("dispatchBehindBytes", self.store.dispatch_behind_bytes().to_string());
        put("remainHowManyDataToFlush", (self.store.max_physical_offset() - self.store.flushed_offset()).to_string());
        put("commitLogDiskRatio", format!("{:.4}", store.disk_ratio));
        put("earliestMessageTimeStamp", self.store.earliest_message_time().unwrap_or(0).to_string());
        let (start_accept, send_capacity, pull_capacity) = {
            let c = self.config.get();
            (
                c.start_accept_send_request_time_stamp,
                c.send_thread_pool_queue_capacity,
                c.pull_thread_pool_queue_capacity,
            )
        };
        put("startAcceptSendRequestTimeStamp", start_accept.to_string());
        put("pageCacheLockTimeMills", "0".to_owned());
        put("sendThreadPoolQueueSize", self.sends.in_flight().to_string());
        put("sendThreadPoolQueueCapacity", send_capacity.to_string());
        put("pullThreadPoolQueueSize", self.pulls.in_flight().to_string());
        put("pullThreadPoolQueueCapacity", pull_capacity.to_string());
        for k in [
            "sendThreadPoolQueueHeadWaitTimeMills",
            "pullThreadPoolQueueHeadWaitTimeMills",
            "queryThreadPoolQueueHeadWaitTimeMills",
        ] {
            put(k, "0".to_owned());
        }
        for (level, offset, max) in self.schedule_progress() {
            put(&format!("scheduleMessageOffset_{level}"), format!("{offset},{max}"));
        }
        for (k, v) in self.replication.runtime_entries(&self.store) {
            put(k, v);
        }
        for (k, count) in self.ports.entries() {
            put(k, count.to_string());
        }
        put("queryThreadPoolQueueSize", "0".to_owned());
        put("queryThreadPoolQueueCapacity", "20000".to_owned());
        t
    }

    /// Every configuration key with its value, one `key=value` per line.
    pub(crate) fn config_text(&self) -> String {
        let mut text = String::new();
        for (key, value) in self.config.get().entries() {
            text.push_str(key);
            text.push('=');
            text.push_str(&value);
            text.push('\n');
        }
        for (key, value) in store_config_entries(self.store.config()) {
            text.push_str(key);
            text.push('=');
            text.push_str(&value);
            text.push('\n');
        }
        text
    }

    /// Each delay level with its delivery offset and its queue's end
    /// (`scheduleMessageOffset_<level>`).
    fn schedule_progress(&self) -> Vec<(i32, i64, i64)> {
        (1..=self.delay_levels.count() as i32)
            .map(|level| {
                let max = self.store.max_offset_in_queue(SCHEDULE_TOPIC, level - 1).as_i64();
                (level, self.delay_offsets.get(level), max)
            })
            .collect()
    }
}

/// The store's keys and values, for GET_BROKER_CONFIG and `-p`.
pub fn store_config_entries(c: &rmq_store::StoreConfig) -> Vec<(&'static str, String)> {
    c.entries()
}

fn runtime_text(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    format!(
        "[ {} days, {} hours, {} minutes, {} seconds ]",
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}
