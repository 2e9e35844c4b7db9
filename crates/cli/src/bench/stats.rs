//! What a benchmark counts: per-second snapshots from atomics, and the whole
//! run's latency distribution in an HDR histogram (microseconds, 3 digits).

use hdrhistogram::Histogram;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters shared by the workers and the reporter.
#[derive(Debug)]
pub struct Meter {
    ok: AtomicU64,
    failed: AtomicU64,
    latency_sum_us: AtomicU64,
    latency_max_us: AtomicU64,
    histogram: Mutex<Histogram<u64>>,
    /// Set once the first failure was printed; later ones are only counted.
    failure_logged: std::sync::atomic::AtomicBool,
}

/// One second's worth (or the run's worth) of counts.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub ok: u64,
    pub failed: u64,
    pub latency_sum_us: u64,
    pub latency_max_us: u64,
}

impl Snapshot {
    /// Mean latency in ms of the operations counted.
    pub fn avg_ms(&self) -> f64 {
        if self.ok == 0 { 0.0 } else { self.latency_sum_us as f64 / self.ok as f64 / 1000.0 }
    }
}

impl Default for Meter {
    fn default() -> Meter {
        Meter::new()
    }
}

impl Meter {
    pub fn new() -> Meter {
        Meter {
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            latency_sum_us: AtomicU64::new(0),
            latency_max_us: AtomicU64::new(0),
            failure_logged: std::sync::atomic::AtomicBool::new(false),
            // 1 µs .. 1 h, 3 significant digits: a few hundred KiB, allocated once.
            histogram: Mutex::new(Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap_or_else(|_| {
                Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits is a valid precision"))
            })),
        }
    }

    /// Records `n` messages done in one operation that took `took`.
    pub fn success(&self, n: u64, took: Duration) {
        let us = took.as_micros().min(u128::from(u64::MAX)) as u64;
        self.ok.fetch_add(n, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(us * n, Ordering::Relaxed);
        self.latency_max_us.fetch_max(us, Ordering::Relaxed);
        if let Ok(mut h) = self.histogram.lock() {
            let _ = h.record_n(us.max(1), n);
        }
    }

    pub fn failure(&self, n: u64) {
        self.failed.fetch_add(n, Ordering::Relaxed);
    }

    /// True exactly once: for the failure worth printing in full.
    pub fn first_failure(&self) -> bool {
        !self.failure_logged.swap(true, Ordering::Relaxed)
    }

    /// Totals so far; `max` is reset so that each report shows its own second.
    pub fn take(&self) -> Snapshot {
        Snapshot {
            ok: self.ok.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            latency_sum_us: self.latency_sum_us.load(Ordering::Relaxed),
            latency_max_us: self.latency_max_us.swap(0, Ordering::Relaxed),
        }
    }

    pub fn total_ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    /// Latency at `q` (0..1) over the run, in ms.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        self.histogram.lock().map(|h| h.value_at_quantile(q) as f64 / 1000.0).unwrap_or(0.0)
    }

    pub fn max_ms(&self) -> f64 {
        self.histogram.lock().map(|h| h.max() as f64 / 1000.0).unwrap_or(0.0)
    }
}

/// The difference of two cumulative snapshots (the max is already per period).
pub fn delta(now: Snapshot, before: Snapshot) -> Snapshot {
    Snapshot {
        ok: now.ok - before.ok,
        failed: now.failed - before.failed,
        latency_sum_us: now.latency_sum_us - before.latency_sum_us,
        latency_max_us: now.latency_max_us,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentiles() {
        let m = Meter::new();
        for i in 1..=100 {
            m.success(1, Duration::from_micros(i * 10));
        }
        m.failure(2);
        let s = m.take();
        assert_eq!((s.ok, s.failed, s.latency_max_us), (100, 2, 1000));
        assert!((s.avg_ms() - 0.505).abs() < 1e-9);
        assert!((m.percentile_ms(0.99) - 0.99).abs() < 0.01);
        assert_eq!(m.take().latency_max_us, 0, "max resets per report");
        let later = Snapshot { ok: 150, failed: 3, latency_sum_us: s.latency_sum_us + 500, latency_max_us: 7 };
        let d = delta(later, s);
        assert_eq!((d.ok, d.failed, d.latency_sum_us, d.latency_max_us), (50, 1, 500, 7));
    }
}
