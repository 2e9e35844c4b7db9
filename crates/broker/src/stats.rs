//! Broker statistics for GET_BROKER_RUNTIME_INFO and `mqadmin clusterList`:
//! totals of messages put and got, and their rates over the last 10 s, 1 min
//! and 10 min (Java prints three space-separated numbers for every `*Tps`).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// How often [`BrokerStats::sample`] is expected to run, ms.
pub const SAMPLE_PERIOD_MS: i64 = 1_000;
/// Samples kept: enough for the 10-minute window.
const SAMPLES: usize = 601;

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
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        h.push_back((now_ms, self.total()));
        while h.len() > SAMPLES {
            h.pop_front();
        }
    }

    /// Average per second over the last `window_ms` (shorter if the broker is younger).
    pub fn rate(&self, now_ms: i64, window_ms: i64) -> f64 {
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let total = self.total();
        let Some(&(t0, c0)) = h.iter().find(|(t, _)| now_ms - t <= window_ms).or(h.front()) else {
            return 0.0;
        };
        let secs = (now_ms - t0) as f64 / 1000.0;
        if secs <= 0.0 { 0.0 } else { (total - c0) as f64 / secs }
    }

    /// Java's `*Tps` text: rates over 10 s, 1 min and 10 min.
    pub fn tps_text(&self, now_ms: i64) -> String {
        format!("{:.2} {:.2} {:.2}", self.rate(now_ms, 10_000), self.rate(now_ms, 60_000), self.rate(now_ms, 600_000))
    }
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
    /// Totals at the start of today and yesterday (for `msgPutTotal*`).
    pub day_marks: Mutex<DayMarks>,
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
    pub fn new() -> BrokerStats {
        BrokerStats::default()
    }

    /// Records the current totals; run every [`SAMPLE_PERIOD_MS`].
    pub fn sample(&self, now_ms: i64) {
        for c in [&self.put_nums, &self.put_size, &self.get_transferred, &self.get_found, &self.get_miss] {
            c.sample(now_ms);
        }
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
}
