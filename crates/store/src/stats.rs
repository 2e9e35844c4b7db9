//! Runtime counters of the store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub puts: AtomicU64,
    pub put_messages: AtomicU64,
    pub put_bytes: AtomicU64,
    pub put_failures: AtomicU64,
    pub put_latency_max_ns: AtomicU64,
    pub put_latency_total_ns: AtomicU64,
    pub gets: AtomicU64,
    pub get_found: AtomicU64,
    pub get_messages: AtomicU64,
    pub flushes: AtomicU64,
    pub disk_ratio_per_mille: AtomicU64,
}

impl Stats {
    pub fn record_put(&self, messages: u64, bytes: u64, took: Duration) {
        let ns = took.as_nanos() as u64;
        self.puts.fetch_add(1, Ordering::Relaxed);
        self.put_messages.fetch_add(messages, Ordering::Relaxed);
        self.put_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.put_latency_total_ns.fetch_add(ns, Ordering::Relaxed);
        self.put_latency_max_ns.fetch_max(ns, Ordering::Relaxed);
    }
}

/// A snapshot of the store's counters (`runtimeInfo`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreStats {
    /// Put calls that succeeded (a batch counts once).
    pub puts: u64,
    /// Messages stored by those puts.
    pub put_messages: u64,
    /// Record bytes stored.
    pub put_bytes: u64,
    /// Puts refused or failed.
    pub put_failures: u64,
    /// Slowest put (lock + encode + publish), microseconds.
    pub put_latency_max_us: u64,
    /// Mean put latency, microseconds.
    pub put_latency_avg_us: f64,
    /// `get_messages` calls, those that found messages, and messages returned.
    pub gets: u64,
    pub get_found: u64,
    pub get_messages: u64,
    /// Group commits / background flushes of the CommitLog.
    pub flushes: u64,
    /// Last measured disk use of the CommitLog's filesystem (0..1).
    pub disk_ratio: f64,
    pub min_physical_offset: u64,
    pub max_physical_offset: u64,
    pub flushed_offset: u64,
    pub dispatch_behind_bytes: u64,
    pub disk_full: bool,
}

impl crate::MessageStore {
    /// Current counters and offsets.
    pub fn stats(&self) -> StoreStats {
        let s = &self.inner.stats;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let puts = load(&s.puts);
        StoreStats {
            puts,
            put_messages: load(&s.put_messages),
            put_bytes: load(&s.put_bytes),
            put_failures: load(&s.put_failures),
            put_latency_max_us: load(&s.put_latency_max_ns) / 1000,
            put_latency_avg_us: if puts == 0 {
                0.0
            } else {
                load(&s.put_latency_total_ns) as f64 / puts as f64 / 1000.0
            },
            gets: load(&s.gets),
            get_found: load(&s.get_found),
            get_messages: load(&s.get_messages),
            flushes: load(&s.flushes),
            disk_ratio: load(&s.disk_ratio_per_mille) as f64 / 1000.0,
            min_physical_offset: self.min_physical_offset().0,
            max_physical_offset: self.max_physical_offset().0,
            flushed_offset: self.flushed_offset().0,
            dispatch_behind_bytes: self.dispatch_behind_bytes(),
            disk_full: self.is_disk_full(),
        }
    }
}
