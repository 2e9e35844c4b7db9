//! Retention and disk protection (protocol doc §5.8).
//!
//! Every `cleanResourceInterval` the cleaner measures the disk, marks the
//! store full above `diskSpaceWarningLevelRatio` (puts then fail with
//! SERVICE_NOT_AVAILABLE; reads go on), and deletes CommitLog files whose last
//! write is older than `fileReservedTime` hours — at the `deleteWhen` hours, or
//! at any hour once disk use passes `diskMaxUsedSpaceRatio`. Above
//! `diskSpaceCleanForciblyRatio` (with `cleanFileForciblyEnable`) the oldest
//! files go even if young. The newest file is never deleted. Consume-queue and
//! index files wholly below the new CommitLog start follow.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{TimeZone, Timelike};

use crate::error::{Result, StoreError};
use crate::store::Inner;

/// Files deleted per round at most (Java's `deleteFilesBatchMax`).
const DELETE_BATCH_MAX: usize = 10;

pub(crate) fn spawn_cleaner(inner: Arc<Inner>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("rmq-clean".into())
        .spawn(move || {
            loop {
                inner.cleaner.sleep(Duration::from_millis(inner.cfg.clean_resource_interval.max(1)), || {
                    inner.stop.load(Ordering::SeqCst) || inner.clean_now.load(Ordering::SeqCst)
                });
                if inner.stop.load(Ordering::SeqCst) {
                    return;
                }
                let manual = inner.clean_now.swap(false, Ordering::SeqCst);
                if let Err(e) = run_once(&inner, manual) {
                    tracing::error!(error = %e, "retention round failed");
                }
            }
        })
        .map_err(|e| StoreError::io("rmq-clean", "spawn thread", e))
}

/// Measures the CommitLog disk's use for the stats and marks the store full
/// (or no longer full) by `diskSpaceWarningLevelRatio`. Run at open too, so
/// that a store opened on a full disk refuses puts from the start.
pub(crate) fn measure_disk(inner: &Inner) -> f64 {
    let ratio = inner.hooks.disk.used_ratio(inner.commitlog.dir()).unwrap_or(0.0);
    inner.stats.disk_ratio_per_mille.store((ratio * 1000.0) as u64, Ordering::Relaxed);
    let full = ratio > inner.cfg.disk_space_warning_level_ratio;
    if inner.disk_full.swap(full, Ordering::Relaxed) != full {
        if full {
            tracing::error!(ratio, "disk full: puts refused until space is freed");
        } else {
            tracing::info!(ratio, "disk space back to normal: puts accepted");
        }
    }
    ratio
}

/// One retention round; returns the CommitLog files deleted.
pub(crate) fn run_once(inner: &Inner, manual: bool) -> Result<usize> {
    let cfg = &inner.cfg;
    let cl = &inner.commitlog;
    let now = inner.hooks.clock.now_millis();
    let ratio = measure_disk(inner);
    let forcibly = cfg.clean_file_forcibly_enable && ratio > cfg.disk_space_clean_forcibly_ratio;
    let space = forcibly || ratio > f64::from(cfg.disk_max_used_space_ratio) / 100.0;
    let hour = chrono::Local.timestamp_millis_opt(now).single().map(|t| t.hour());
    let time = hour.is_some_and(|h| cfg.delete_hours().unwrap_or_default().contains(&h));
    if !(time || space || manual) {
        return Ok(0);
    }
    let expire_ms = cfg.file_reserved_time as i64 * 3_600_000;
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
        if now < modified + expire_ms && !forcibly {
            break;
        }
        match cl.delete_oldest()? {
            Some(seg) => tracing::info!(file = %seg.path().display(), forcibly, "expired CommitLog file deleted"),
            None => break,
        }
        deleted += 1;
        if cfg.delete_commit_log_files_interval > 0 {
            std::thread::sleep(Duration::from_millis(cfg.delete_commit_log_files_interval));
        }
    }
    if deleted > 0 {
        let min = cl.min_offset();
        for cq in inner.queues.all() {
            cq.delete_expired(min)?;
        }
        if let Some(index) = &inner.index {
            index.delete_expired(min)?;
        }
    }
    Ok(deleted)
}
