//! The CommitLog flusher: ASYNC_FLUSH on a timer and a page minimum, SYNC_FLUSH
//! as group commit.
//!
//! Group commit: a SYNC_FLUSH put wakes the flusher, which flushes everything
//! written so far with one msync per touched file and publishes the flushed
//! offset; every put below it is released at once, however many there were.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rmq_model::FlushDiskType;

use super::{Lifecycle, Service};
use crate::commitlog::CommitLog;
use crate::config::StoreConfig;
use crate::signal::Wake;
use crate::stats::Stats;

const PAGE: u64 = 4096;

/// Least time between two ASYNC_FLUSH flushes woken by dirty pages.
const ASYNC_FLUSH_MIN_GAP: Duration = Duration::from_millis(10);

/// When the CommitLog is flushed (`flushDiskType`, `flushIntervalCommitLog`,
/// `flushCommitLogLeastPages`, `flushCommitLogThoroughInterval`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlushPolicy {
    mode: FlushDiskType,
    interval: Duration,
    least_pages: u64,
    thorough_interval: Duration,
}

impl FlushPolicy {
    pub fn from_config(cfg: &StoreConfig) -> FlushPolicy {
        FlushPolicy {
            mode: cfg.flush_disk_type,
            interval: Duration::from_millis(cfg.flush_interval_commit_log.max(1)),
            least_pages: cfg.flush_commit_log_least_pages,
            thorough_interval: Duration::from_millis(cfg.flush_commit_log_thorough_interval),
        }
    }

    /// ASYNC_FLUSH: whether `flushCommitLogLeastPages` pages wait to be flushed.
    fn async_flush_due(&self, commitlog: &CommitLog) -> bool {
        commitlog.written_offset().saturating_sub(commitlog.flushed_offset()) / PAGE >= self.least_pages.max(1)
    }
}

/// How puts and waiting callers reach the flusher.
#[derive(Debug)]
pub(crate) struct FlushRequests {
    wake: Wake,
    policy: FlushPolicy,
    /// A caller waits for the flush: ASYNC_FLUSH ignores its page minimum.
    caller_waits: AtomicBool,
}

impl FlushRequests {
    pub fn new(policy: FlushPolicy) -> FlushRequests {
        FlushRequests { wake: Wake::default(), policy, caller_waits: AtomicBool::new(false) }
    }

    /// SYNC_FLUSH: at once. ASYNC_FLUSH: once `flushCommitLogLeastPages` are
    /// dirty, as Java's put wakes its flush service; the interval only bounds
    /// how long fewer pages wait.
    pub fn after_append(&self, commitlog: &CommitLog) {
        if self.policy.mode == FlushDiskType::SyncFlush || self.policy.async_flush_due(commitlog) {
            self.wake.notify();
        }
    }

    /// A caller blocks until its bytes are flushed.
    pub fn flush_now(&self) {
        self.caller_waits.store(true, Ordering::SeqCst);
        self.wake.force();
    }
}

/// Flushes the CommitLog and publishes the flushed offset. Counts its
/// flushes in `stats`. A failed flush ends the service: it is recorded in the
/// lifecycle (shutdown keeps `abort`), the CommitLog answers its waiters and
/// the store refuses puts from then on; no flush after it could be trusted.
pub(crate) struct CommitLogFlusher {
    commitlog: Arc<CommitLog>,
    policy: FlushPolicy,
    requests: Arc<FlushRequests>,
    stats: Arc<Stats>,
    lifecycle: Arc<Lifecycle>,
}

impl Service for CommitLogFlusher {
    const NAME: &'static str = "rmq-flush-commitlog";

    fn run(self) {
        match self.policy.mode {
            FlushDiskType::SyncFlush => self.group_commit_loop(),
            FlushDiskType::AsyncFlush => self.async_flush_loop(),
        }
    }
}

impl CommitLogFlusher {
    pub fn new(
        commitlog: Arc<CommitLog>,
        policy: FlushPolicy,
        requests: Arc<FlushRequests>,
        stats: Arc<Stats>,
        lifecycle: Arc<Lifecycle>,
    ) -> CommitLogFlusher {
        CommitLogFlusher { commitlog, policy, requests, stats, lifecycle }
    }

    /// Flushes up to `target`; false when the flush failed, which ends the
    /// service.
    fn flush_once(&self, target: u64) -> bool {
        match self.commitlog.flush_to(target) {
            Ok(_) => {
                self.stats.record_flush();
                true
            }
            Err(e) => {
                self.lifecycle.record_failure();
                tracing::error!(
                    error = %e,
                    flushed = self.commitlog.flushed_offset(),
                    written = self.commitlog.written_offset(),
                    "CommitLog flush failed: data past the flushed offset may be lost; waiting SYNC_FLUSH sends are \
                     answered FLUSH_DISK_TIMEOUT and every put is refused until the broker restarts and recovers \
                     from disk"
                );
                false
            }
        }
    }

    fn unflushed(&self) -> bool {
        self.commitlog.written_offset() > self.commitlog.flushed_offset()
    }

    /// SYNC_FLUSH: flush as soon as anything is unflushed.
    fn group_commit_loop(&self) {
        let cl = &self.commitlog;
        // Whether puts arrived while the last fsync ran: then several writers are
        // active and gathering pays; a lone writer is flushed at once.
        let mut concurrent = false;
        loop {
            let stop = self.lifecycle.stop_requested();
            let written = cl.written_offset();
            if written > cl.flushed_offset() {
                let target = if stop || !concurrent { written } else { self.gather(written) };
                if !self.flush_once(target) {
                    return;
                }
                concurrent = cl.written_offset() > target;
                continue;
            }
            if stop {
                return;
            }
            self.requests.wake.sleep(Duration::from_millis(10), || self.unflushed() || self.lifecycle.stop_requested());
        }
    }

    /// Waits while the log keeps growing, briefly, so that writers released by
    /// the previous flush can add their records and share the next fsync (which
    /// costs milliseconds on most disks).
    fn gather(&self, mut written: u64) -> u64 {
        const STEP: Duration = Duration::from_micros(20);
        const MAX: Duration = Duration::from_micros(500);
        let started = Instant::now();
        while started.elapsed() < MAX {
            std::thread::sleep(STEP);
            let now = self.commitlog.written_offset();
            if now == written {
                break;
            }
            written = now;
        }
        written
    }

    /// ASYNC_FLUSH: flush when enough pages are dirty (puts wake this thread),
    /// else every `flushIntervalCommitLog` once the thorough interval passed.
    fn async_flush_loop(&self) {
        let cl = &self.commitlog;
        let policy = &self.policy;
        let requests = &self.requests;
        let mut last_thorough = Instant::now();
        loop {
            requests.wake.sleep(policy.interval, || {
                requests.caller_waits.load(Ordering::SeqCst)
                    || self.lifecycle.stop_requested()
                    || policy.async_flush_due(cl)
            });
            let stop = self.lifecycle.stop_requested();
            let written = cl.written_offset();
            let dirty_pages = (written - cl.flushed_offset()) / PAGE;
            let requested = requests.caller_waits.swap(false, Ordering::SeqCst);
            let thorough = requested || last_thorough.elapsed() >= policy.thorough_interval;
            if thorough {
                last_thorough = Instant::now();
            }
            if written > cl.flushed_offset() && (stop || thorough || dirty_pages >= policy.least_pages) {
                if !self.flush_once(written) {
                    return;
                }
                // Paced: under steady load every put would find enough pages
                // dirty again at once, and back-to-back msyncs of the pages being
                // written slow the writers down (p99 2-3x here). A short gap
                // batches them; the window left unflushed stays milliseconds.
                if !stop {
                    std::thread::sleep(ASYNC_FLUSH_MIN_GAP);
                }
            }
            if stop {
                return;
            }
        }
    }
}
