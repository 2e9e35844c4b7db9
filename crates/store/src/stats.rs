//! Runtime counters of the store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters the put and pull paths and the flusher add to, read by
/// [`crate::MessageStore::stats`]. Relaxed: they are reported, never used to
/// order anything.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    puts: AtomicU64,
    put_messages: AtomicU64,
    put_bytes: AtomicU64,
    put_failures: AtomicU64,
    put_latency_max_ns: AtomicU64,
    put_latency_total_ns: AtomicU64,
    gets: AtomicU64,
    get_found: AtomicU64,
    get_messages: AtomicU64,
    flushes: AtomicU64,
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

    pub fn record_put_failure(&self) {
        self.put_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// A `get_messages` call.
    pub fn record_get(&self) {
        self.gets.fetch_add(1, Ordering::Relaxed);
    }

    /// A `get_messages` call that found `messages`.
    pub fn record_found(&self, messages: usize) {
        self.get_found.fetch_add(1, Ordering::Relaxed);
        self.get_messages.fetch_add(messages as u64, Ordering::Relaxed);
    }

    /// A background flush of the CommitLog (one group commit under SYNC_FLUSH).
    pub fn record_flush(&self) {
        self.flushes.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters; offsets and disk state are the caller's to fill in.
    pub fn counters(&self) -> StoreStats {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let puts = load(&self.puts);
        StoreStats {
            puts,
            put_messages: load(&self.put_messages),
            put_bytes: load(&self.put_bytes),
            put_failures: load(&self.put_failures),
            put_latency_max_us: load(&self.put_latency_max_ns) / 1000,
            put_latency_avg_us: if puts == 0 {
                0.0
            } else {
                load(&self.put_latency_total_ns) as f64 / puts as f64 / 1000.0
            },
            gets: load(&self.gets),
            get_found: load(&self.get_found),
            get_messages: load(&self.get_messages),
            flushes: load(&self.flushes),
            ..StoreStats::default()
        }
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
    /// What recovery at open went through: CommitLog bytes scanned, and
    /// bytes dispatched again into consume queues and index. Both stay small
    /// whatever the store's size, unless queues or index had to be rebuilt.
    pub recovery_scanned_bytes: u64,
    pub recovery_redispatched_bytes: u64,
}
