//! Retention and disk protection, as Java's `DefaultMessageStore.CleanCommitLogService`
//! (<https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/store/src/main/java/org/apache/rocketmq/store/DefaultMessageStore.java>).
//!
//! Each round measures the disk, marks the store full above
//! `diskSpaceWarningLevelRatio` (puts then fail with SERVICE_NOT_AVAILABLE;
//! reads go on), and deletes CommitLog files whose last write is older than
//! `fileReservedTime` hours — at the `deleteWhen` hours, or at any hour once
//! disk use passes `diskMaxUsedSpaceRatio`. Above `diskSpaceCleanForciblyRatio`
//! (with `cleanFileForciblyEnable`) the oldest files go even if young. The
//! newest file is never deleted. Consume-queue and index files wholly below
//! the new CommitLog start follow. The cleaner runs the rounds; the store runs
//! one on the caller's thread for tests and tools.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Timelike};

use crate::commitlog::CommitLog;
use crate::config::StoreConfig;
use crate::consume_queue::QueueTable;
use crate::error::Result;
use crate::hooks::{Clock, DiskUsage};
use crate::index::IndexService;

/// Files deleted per round at most (Java's `deleteFilesBatchMax`).
const DELETE_BATCH_MAX: usize = 10;

/// When files expire and how full the disk may get: the retention keys of
/// [`StoreConfig`], read once.
#[derive(Clone, Debug)]
pub(crate) struct RetentionPolicy {
    /// `fileReservedTime`, in ms.
    reserved_ms: i64,
    /// `deleteWhen`.
    delete_hours: Vec<u32>,
    /// `diskMaxUsedSpaceRatio`, as a ratio 0..1.
    max_used_ratio: f64,
    /// `diskSpaceCleanForciblyRatio` with `cleanFileForciblyEnable`.
    clean_forcibly_ratio: Option<f64>,
    /// `diskSpaceWarningLevelRatio`.
    warning_ratio: f64,
    /// `deleteCommitLogFilesInterval`.
    pause_between_deletes: Duration,
}

impl RetentionPolicy {
    pub fn from_config(cfg: &StoreConfig) -> RetentionPolicy {
        RetentionPolicy {
            reserved_ms: cfg.file_reserved_time as i64 * 3_600_000,
            delete_hours: cfg.delete_hours().unwrap_or_default(),
            max_used_ratio: f64::from(cfg.disk_max_used_space_ratio) / 100.0,
            clean_forcibly_ratio: cfg.clean_file_forcibly_enable.then_some(cfg.disk_space_clean_forcibly_ratio),
            warning_ratio: cfg.disk_space_warning_level_ratio,
            pause_between_deletes: Duration::from_millis(cfg.delete_commit_log_files_interval),
        }
    }
}

/// Deletes expired files and keeps the disk-full mark the put path checks.
pub(crate) struct Retention {
    commitlog: Arc<CommitLog>,
    queues: Arc<QueueTable>,
    index: Option<Arc<IndexService>>,
    policy: RetentionPolicy,
    clock: Arc<dyn Clock>,
    disk: Arc<dyn DiskUsage>,
    /// Disk use passed `diskSpaceWarningLevelRatio` at the last measure.
    disk_full: AtomicBool,
    /// The last measured disk use, per mille.
    disk_ratio_per_mille: AtomicU64,
}

impl Retention {
    pub fn new(
        commitlog: Arc<CommitLog>,
        queues: Arc<QueueTable>,
        index: Option<Arc<IndexService>>,
        policy: RetentionPolicy,
        clock: Arc<dyn Clock>,
        disk: Arc<dyn DiskUsage>,
    ) -> Retention {
        Retention {
            commitlog,
            queues,
            index,
            policy,
            clock,
            disk,
            disk_full: AtomicBool::new(false),
            disk_ratio_per_mille: AtomicU64::new(0),
        }
    }

    /// Whether puts are refused for lack of disk space.
    pub fn is_disk_full(&self) -> bool {
        self.disk_full.load(Ordering::Relaxed)
    }

    /// The last measured disk use of the CommitLog's filesystem (0..1).
    pub fn disk_ratio(&self) -> f64 {
        self.disk_ratio_per_mille.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// Measures the CommitLog disk's use and marks the store full (or no
    /// longer full) by `diskSpaceWarningLevelRatio`. Run at open too, so that
    /// a store opened on a full disk refuses puts from the start.
    pub fn measure_disk(&self) -> f64 {
        let ratio = self.disk.used_ratio(self.commitlog.dir()).unwrap_or(0.0);
        self.disk_ratio_per_mille.store((ratio * 1000.0) as u64, Ordering::Relaxed);
        let full = ratio > self.policy.warning_ratio;
        if self.disk_full.swap(full, Ordering::Relaxed) != full {
            if full {
                tracing::error!(ratio, "disk full: puts refused until space is freed");
            } else {
                tracing::info!(ratio, "disk space back to normal: puts accepted");
            }
        }
        ratio
    }

    /// One retention round; `manual` runs it whatever the hour. Returns the
    /// CommitLog files deleted.
    pub fn run_once(&self, manual: bool) -> Result<usize> {
        let policy = &self.policy;
        let cl = &self.commitlog;
        let now = self.clock.now_millis();
        let ratio = self.measure_disk();
        let forcibly = policy.clean_forcibly_ratio.is_some_and(|limit| ratio > limit);
        let space = forcibly || ratio > policy.max_used_ratio;
        let hour = chrono::Local.timestamp_millis_opt(now).single().map(|t| t.hour());
        let time = hour.is_some_and(|h| policy.delete_hours.contains(&h));
        if !(time || space || manual) {
            return Ok(0);
        }
        let mut deleted = 0;
        for seg in cl.segments().iter().take(cl.segments().len().saturating_sub(1)) {
            if deleted >= DELETE_BATCH_MAX {
                break;
            }
            let modified = std::fs::metadata(seg.path())
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64);
            if now < modified + policy.reserved_ms && !forcibly {
                break;
            }
            match cl.delete_oldest()? {
                Some(seg) => tracing::info!(file = %seg.path().display(), forcibly, "expired CommitLog file deleted"),
                None => break,
            }
            deleted += 1;
            if !policy.pause_between_deletes.is_zero() {
                std::thread::sleep(policy.pause_between_deletes);
            }
        }
        if deleted > 0 {
            let min = cl.min_offset();
            for cq in self.queues.all() {
                cq.delete_expired(min)?;
            }
            if let Some(index) = &self.index {
                index.delete_expired(min)?;
            }
        }
        Ok(deleted)
    }
}
