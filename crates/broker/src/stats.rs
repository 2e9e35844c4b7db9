//! Broker statistics for GET_BROKER_RUNTIME_INFO and `mqadmin clusterList`:
//! totals of messages put and got, and their rates over the last 10 s, 1 min
//! and 10 min (Java prints three space-separated numbers for every `*Tps`);
//! and, per `topic@group`, the messages each group pulled, whose rate over the
//! last minute is the `consumeTps` of GET_CONSUME_STATS (Java's
//! `GROUP_GET_NUMS`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::metrics::RequestMetrics;

/// How often [`BrokerStats::sample`] is expected to run, ms.
pub const SAMPLE_PERIOD_MS: i64 = 1_000;
/// Samples kept: enough for the 10-minute window.
const SAMPLES: usize = 601;
/// Samples kept per `topic@group`: the one-minute window Java's
/// `consumeTps` uses, so that many groups cost little memory.
const KEYED_SAMPLES: usize = 61;

/// One monotonically growing counter and its recent history.
#[derive(Debug, Default)]
pub struct Counter {
    total: AtomicU64,
    history: Mutex<VecDeque<(i64, u64)>>,
}

impl Counter {
    pub fn add(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
    }

    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    fn sample(&self, now_ms: i64) {
        self.sample_keeping(now_ms, SAMPLES);
    }

    /// Records the total, keeping the last `keep` samples; true when the
    /// counter did not move over all of them (it is idle).
    fn sample_keeping(&self, now_ms: i64, keep: usize) -> bool {
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        h.push_back((now_ms, self.total()));
        while h.len() > keep {
            h.pop_front();
        }
        h.len() == keep && h.front().map(|f| f.1) == h.back().map(|b| b.1)
    }

    /// Average per second over the last `window_ms` (shorter if the broker is younger).
    pub fn rate(&self, now_ms: i64, window_ms: i64) -> f64 {
        let Some((since_ms, increase)) = self.increase(now_ms, window_ms) else { return 0.0 };
        // At least a second: a burst counted within the same millisecond as
        // its first sample is a rate, not a division by zero.
        let secs = (now_ms - since_ms).max(1_000) as f64 / 1000.0;
        increase as f64 / secs
    }

    /// How much the counter grew over the last `window_ms`, or over the
    /// history kept if that is shorter, and since when.
    pub fn increase(&self, now_ms: i64, window_ms: i64) -> Option<(i64, u64)> {
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let total = self.total();
        let &(t0, c0) = h.iter().find(|(t, _)| now_ms - t <= window_ms).or(h.front())?;
        Some((t0, total.saturating_sub(c0)))
    }

    /// Java's `*Tps` text: rates over 10 s, 1 min and 10 min.
    pub fn tps_text(&self, now_ms: i64) -> String {
        format!("{:.2} {:.2} {:.2}", self.rate(now_ms, 10_000), self.rate(now_ms, 60_000), self.rate(now_ms, 600_000))
    }
}

/// Counters by name, made on first use and dropped once idle for the whole
/// window (an idle counter's rate is 0, the answer for an unknown name too).
#[derive(Debug, Default)]
pub struct KeyedCounters {
    counters: RwLock<HashMap<String, Arc<Counter>>>,
}

impl KeyedCounters {
    /// Adds `n` to `key`'s counter. A new counter starts with a sample of 0
    /// at `now_ms`, so that its first burst counts before the next sampling.
    pub fn add(&self, key: &str, n: u64, now_ms: i64) {
        let found = self.counters.read().unwrap_or_else(|e| e.into_inner()).get(key).cloned();
        let counter = match found {
            Some(counter) => counter,
            None => {
                let mut map = self.counters.write().unwrap_or_else(|e| e.into_inner());
                map.entry(key.to_owned())
                    .or_insert_with(|| {
                        let counter = Counter::default();
                        counter.sample_keeping(now_ms, KEYED_SAMPLES);
                        Arc::new(counter)
                    })
                    .clone()
            }
        };
        counter.add(n);
    }

    /// Average per second of `key` over the last `window_ms` (at most a minute).
    pub fn rate(&self, key: &str, now_ms: i64, window_ms: i64) -> f64 {
        self.counter(key).map_or(0.0, |c| c.rate(now_ms, window_ms))
    }

    /// Every key with its average per second over the last `window_ms` (at
    /// most a minute), idle ones included until they are dropped.
    pub fn rates(&self, now_ms: i64, window_ms: i64) -> Vec<(String, f64)> {
        let map = self.counters.read().unwrap_or_else(|e| e.into_inner());
        let mut rates: Vec<(String, f64)> =
            map.iter().map(|(key, counter)| (key.clone(), counter.rate(now_ms, window_ms))).collect();
        rates.sort_by(|a, b| a.0.cmp(&b.0));
        rates
    }

    /// How much `key` grew over the last `window_ms` (at most a minute).
    pub fn increase(&self, key: &str, now_ms: i64, window_ms: i64) -> u64 {
        self.counter(key).and_then(|c| c.increase(now_ms, window_ms)).map_or(0, |(_, n)| n)
    }

    fn counter(&self, key: &str) -> Option<Arc<Counter>> {
        self.counters.read().unwrap_or_else(|e| e.into_inner()).get(key).cloned()
    }

    fn sample(&self, now_ms: i64) {
        let mut map = self.counters.write().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, counter| !counter.sample_keeping(now_ms, KEYED_SAMPLES));
    }

    /// Every key with messages in the last minute, and how many (`stats.log`).
    pub fn last_minute(&self, now_ms: i64) -> Vec<(String, u64)> {
        let map = self.counters.read().unwrap_or_else(|e| e.into_inner());
        let mut sums: Vec<(String, u64)> = map
            .iter()
            .map(|(key, counter)| (key.clone(), (counter.rate(now_ms, 60_000) * 60.0).round() as u64))
            .filter(|(_, sum)| *sum > 0)
            .collect();
        sums.sort();
        sums
    }

    /// Keys with a counter now (tests check that idle keys are dropped).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.counters.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Java's key of per-group statistics.
pub fn topic_at_group(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

/// The counters a broker keeps.
#[derive(Debug, Default)]
pub struct BrokerStats {
    /// Messages stored by sends.
    pub put_nums: Counter,
    /// Bytes stored by sends.
    pub put_size: Counter,
    /// Messages returned by pulls.
    pub get_transferred: Counter,
    /// Pulls that found messages.
    pub get_found: Counter,
    /// Pulls that found nothing.
    pub get_miss: Counter,
    /// Sends that failed.
    pub put_failures: Counter,
    /// Messages returned by pulls, per `topic@group`.
    pub group_get: KeyedCounters,
    /// Messages stored by sends, per topic (Java's `TOPIC_PUT_NUMS`).
    pub topic_put: KeyedCounters,
    /// Totals at the start of today and yesterday (for `msgPutTotal*`).
    pub day_marks: Mutex<DayMarks>,
    /// What the metrics endpoint needs recorded per request (latencies,
    /// sizes, deliveries per `topic@group`, never forgotten).
    pub requests: RequestMetrics,
}

/// Totals recorded at local midnights.
#[derive(Debug, Default, Clone, Copy)]
pub struct DayMarks {
    pub day: i64,
    pub put_yesterday_morning: u64,
    pub put_today_morning: u64,
    pub get_yesterday_morning: u64,
    pub get_today_morning: u64,
}

impl BrokerStats {
    /// With at most `series_limit` (`metricsOtelCardinalityLimit`) keys in
    /// each per-topic or per-group metrics table, or with no request-path
    /// recording when `series_limit` is `None` (no exporter is configured).
    pub(crate) fn with_series_limit(series_limit: Option<usize>) -> BrokerStats {
        let requests = series_limit.map_or_else(RequestMetrics::disabled, RequestMetrics::new);
        BrokerStats { requests, ..BrokerStats::default() }
    }

    /// Records the current totals; run every [`SAMPLE_PERIOD_MS`].
    pub fn sample(&self, now_ms: i64) {
        for c in [&self.put_nums, &self.put_size, &self.get_transferred, &self.get_found, &self.get_miss] {
            c.sample(now_ms);
        }
        self.group_get.sample(now_ms);
        self.topic_put.sample(now_ms);
        let day = now_ms / 86_400_000;
        let mut marks = self.day_marks.lock().unwrap_or_else(|e| e.into_inner());
        if marks.day != day {
            marks.put_yesterday_morning = if marks.day == 0 { 0 } else { marks.put_today_morning };
            marks.get_yesterday_morning = if marks.day == 0 { 0 } else { marks.get_today_morning };
            marks.put_today_morning = if marks.day == 0 { 0 } else { self.put_nums.total() };
            marks.get_today_morning = if marks.day == 0 { 0 } else { self.get_transferred.total() };
            marks.day = day;
        }
    }

    pub fn day_marks(&self) -> DayMarks {
        *self.day_marks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_over_windows() {
        let c = Counter::default();
        c.sample(0);
        c.add(100);
        c.sample(10_000);
        assert_eq!(c.rate(10_000, 10_000), 10.0);
        assert_eq!(c.tps_text(10_000), "10.00 10.00 10.00");
        assert_eq!(Counter::default().rate(5, 10_000), 0.0);
    }

    #[test]
    fn keyed_counters_rate_per_key_and_forget_idle_keys() {
        let k = KeyedCounters::default();
        k.add("T@g", 10, 0);
        assert_eq!(k.len(), 1, "made on first use");
        assert_eq!(k.rate("T@g", 1_000, 60_000), 10.0, "the first burst counts before any sampling");
        k.add("T@h", 7, 500);
        assert_eq!(k.rate("T@h", 500, 60_000), 7.0, "asked within the same millisecond: over a second");
        k.sample(1_000);
        k.add("T@g", 40, 1_500);
        k.sample(5_000);
        assert_eq!(k.rate("T@g", 5_000, 60_000), 10.0);
        assert_eq!(k.rate("T@other", 5_000, 60_000), 0.0);
        // Idle for a whole window: forgotten, and its rate reads 0.
        for second in 6..6 + KEYED_SAMPLES as i64 {
            k.sample(second * 1_000);
        }
        assert_eq!(k.len(), 0);
        assert_eq!(k.rate("T@g", 70_000, 60_000), 0.0);
    }

    /// The bug this guards against: `rocketmq_messages_out_total` read the
    /// per-group rate counters, which are forgotten after a minute idle, so
    /// the series restarted at 0 (a counter reset to Prometheus).
    #[test]
    fn delivered_totals_survive_an_idle_minute() {
        use std::sync::atomic::Ordering::Relaxed;
        let stats = BrokerStats::with_series_limit(Some(10));
        stats.group_get.add("T@g", 7, 0);
        stats.requests.delivered("T", "g", 7, 700);
        for second in 0..=2 * KEYED_SAMPLES as i64 {
            stats.sample(second * 1_000);
        }
        assert_eq!(stats.group_get.len(), 0, "the rate counter is forgotten");
        let d = stats.requests.delivered.get(&("T", "g"));
        assert_eq!((d.messages.load(Relaxed), d.bytes.load(Relaxed)), (7, 700), "the metrics total is not");
    }
}
