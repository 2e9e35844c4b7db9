//! [`MessageStore`]: opening (lock, recovery, the background services), and
//! shutdown. Puts are in `write`, reads in `read`.

#[cfg(test)]
mod fault_tests;
mod read;
mod write;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::background::{
    CleanRequests, Cleaner, CommitLogFlusher, Dispatcher, FlushPolicy, FlushRequests, Lifecycle, Preparer,
    QueueFlushPolicy, Services, Wakeups,
};
use crate::checkpoint::CheckpointFile;
use crate::checkpointer::Checkpointer;
use crate::commitlog::CommitLog;
use crate::config::StoreConfig;
use crate::consume_queue::QueueTable;
use crate::dispatch::{Dispatch, Progress};
use crate::error::{Result, StoreError};
use crate::hooks::{Clock, StoreHooks};
use crate::index::IndexService;
use crate::recovery::{self, Exit};
use crate::retention::{Retention, RetentionPolicy};
use crate::signal::{OffsetSignal, Wake};
use crate::stats::{Stats, StoreStats};

pub use read::{AcceptAll, GetMessageResult, GetMessageStatus, MessageFilter, QueryResult};
pub use write::PutResult;

/// A RocketMQ store directory, open for puts and reads.
///
/// ```no_run
/// use rmq_model::record::NewMessage;
/// use rmq_model::QueueOffset;
/// use rmq_store::{AcceptAll, MessageStore, StoreConfig, StoreHooks};
///
/// let store = MessageStore::open(StoreConfig::new("/tmp/store"), StoreHooks::default())?;
/// let msg = NewMessage {
///     topic: "TopicTest", queue_id: 0, flag: 0, body: b"hello",
///     properties: b"TAGS\x01TagA\x02", sys_flag: 0, born_timestamp: 0,
///     born_host: "127.0.0.1:5000".parse().unwrap(), reconsume_times: 0,
///     prepared_transaction_offset: 0,
/// };
/// let put = store.put(&msg)?;
/// store.wait_flushed(put.end_offset, std::time::Duration::from_secs(5))?;
/// store.wait_dispatched(put.end_offset, std::time::Duration::from_secs(1));
/// let got = store.get_messages("TopicTest", 0, QueueOffset(0), 32, &AcceptAll);
/// assert_eq!(got.messages.len(), 1);
/// store.shutdown()?;
/// # Ok::<(), rmq_store::StoreError>(())
/// ```
pub struct MessageStore {
    cfg: StoreConfig,
    clock: Arc<dyn Clock>,
    commitlog: Arc<CommitLog>,
    queues: Arc<QueueTable>,
    index: Option<Arc<IndexService>>,
    /// Everything below is in the consume queues and index (the dispatcher
    /// publishes it).
    dispatched: Arc<OffsetSignal>,
    checkpointer: Arc<Checkpointer>,
    retention: Arc<Retention>,
    stats: Arc<Stats>,
    wakeups: Wakeups,
    services: Mutex<Services>,
    /// Set once by [`MessageStore::shutdown`]: puts are refused from then on.
    shut_down: AtomicBool,
    /// A slave's store: client puts are refused, replicated bytes taken.
    read_only: AtomicBool,
    /// Puts are taken only while it holds.
    lease: Option<Arc<crate::WriteLease>>,
    /// Bytes of RAM behind the CommitLog end that count as "in memory".
    memory_window: u64,
    /// What recovery at open did.
    recovered: recovery::Recovered,
    /// Holds the exclusive lock on `<root>/lock` while open.
    _lock: File,
}

impl std::fmt::Debug for MessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStore").field("root", &self.cfg.store_path_root_dir).finish()
    }
}

fn abort_path(cfg: &StoreConfig) -> PathBuf {
    cfg.store_path_root_dir.join("abort")
}

impl MessageStore {
    /// Opens (or creates) the store: takes `<root>/lock`, loads every file,
    /// recovers (normally, or abnormally when `abort` was left behind), creates
    /// `abort` and starts the background services.
    pub fn open(cfg: StoreConfig, hooks: StoreHooks) -> Result<MessageStore> {
        cfg.validate()?;
        let root = cfg.store_path_root_dir.clone();
        let lock = lock_root(&root)?;
        let exit = Exit::of(&abort_path(&cfg));
        let commitlog = Arc::new(CommitLog::load(&cfg.store_path_commit_log, cfg.mapped_file_size_commit_log)?);
        let queues = Arc::new(QueueTable::load(&cfg.consume_queue_dir(), cfg.cq_file_size())?);
        let (cp_file, cp) = CheckpointFile::open(&root.join("checkpoint"))?;
        let index = if cfg.message_index_enable {
            // Only after the machine went down can an index file hold pages
            // that never reached the disk.
            let delete_after = (exit == Exit::Unclean).then_some(cp.index_msg_timestamp);
            Some(Arc::new(IndexService::load(
                &cfg.index_dir(),
                cfg.max_hash_slot_num,
                cfg.max_index_num,
                delete_after,
            )?))
        } else {
            None
        };
        let delay_ms = cfg.delay_levels()?.iter().map(|d| d.as_millis() as i64).collect();
        let dispatch = Dispatch::new(
            commitlog.clone(),
            queues.clone(),
            index.clone(),
            hooks.listener.clone(),
            hooks.clock.clone(),
            delay_ms,
        );
        let recovered = recovery::recover(&dispatch, &cfg, exit, &cp)?;
        {
            let mut w = commitlog.lock_writer(1);
            w.restore_queue_offsets(queues.next_offsets());
            w.store_timestamp(recovered.last_store_timestamp);
        }
        create_abort(&cfg)?;

        let checkpointer = Arc::new(Checkpointer::new(commitlog.clone(), queues.clone(), index.clone(), cp_file, cp));
        let retention = Arc::new(Retention::new(
            commitlog.clone(),
            queues.clone(),
            index.clone(),
            RetentionPolicy::from_config(&cfg),
            hooks.clock.clone(),
            hooks.disk.clone(),
        ));
        retention.measure_disk();
        let stats = Arc::new(Stats::default());
        let dispatched = Arc::new(OffsetSignal::new(recovered.dispatch_from));
        let lifecycle = Arc::new(Lifecycle::default());
        let flush_policy = FlushPolicy::from_config(&cfg);
        let flush_requests = Arc::new(FlushRequests::new(flush_policy));
        let dispatcher_wake = Arc::new(Wake::default());
        let clean_requests = Arc::new(CleanRequests::default());
        let preparer_wake = Arc::new(Wake::default());
        let mut services = Services::new(lifecycle.clone());
        services.start(CommitLogFlusher::new(
            commitlog.clone(),
            flush_policy,
            flush_requests.clone(),
            stats.clone(),
            lifecycle.clone(),
        ))?;
        services.start(Dispatcher::new(
            dispatch,
            Progress::resume_at(recovered.dispatch_from, recovered.last_store_timestamp),
            dispatched.clone(),
            checkpointer.clone(),
            QueueFlushPolicy::from_config(&cfg),
            dispatcher_wake.clone(),
            lifecycle.clone(),
        ))?;
        services.start(Cleaner::new(
            retention.clone(),
            Duration::from_millis(cfg.clean_resource_interval),
            clean_requests.clone(),
            lifecycle.clone(),
        ))?;
        services.start(Preparer::new(commitlog.clone(), preparer_wake.clone(), lifecycle))?;

        let memory_window = total_memory() / 100 * cfg.access_message_in_memory_max_ratio;
        let read_only = cfg.broker_role == rmq_model::BrokerRole::Slave;
        Ok(MessageStore {
            clock: hooks.clock,
            commitlog,
            queues,
            index,
            dispatched,
            checkpointer,
            retention,
            stats,
            wakeups: Wakeups::new(flush_requests, dispatcher_wake, clean_requests, preparer_wake),
            services: Mutex::new(services),
            shut_down: AtomicBool::new(false),
            read_only: AtomicBool::new(read_only),
            lease: hooks.lease,
            memory_window,
            recovered,
            _lock: lock,
            cfg,
        })
    }

    pub fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    /// Whether the disk passed `diskSpaceWarningLevelRatio` (puts refused).
    pub fn is_disk_full(&self) -> bool {
        self.retention.is_disk_full()
    }

    /// Runs retention (and the disk check) now, on the calling thread, as if
    /// it were a `deleteWhen` hour; returns the CommitLog files deleted.
    pub fn run_retention_now(&self) -> Result<usize> {
        self.retention.run_once(true)
    }

    /// Asks the cleaner thread for a retention round at once, whatever the
    /// hour (DELETE_EXPIRED_COMMITLOG); returns without waiting.
    pub fn request_retention(&self) {
        self.wakeups.clean_now();
    }

    /// Current counters and offsets.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            disk_ratio: self.retention.disk_ratio(),
            min_physical_offset: self.min_physical_offset().0,
            max_physical_offset: self.max_physical_offset().0,
            flushed_offset: self.flushed_offset().0,
            dispatch_behind_bytes: self.dispatch_behind_bytes(),
            disk_full: self.is_disk_full(),
            recovery_scanned_bytes: self.recovered.end - self.recovered.scanned_from.min(self.recovered.end),
            recovery_redispatched_bytes: self.recovered.end - self.recovered.redispatched_from,
            ..self.stats.counters()
        }
    }

    /// Stops the services, flushes everything, writes the checkpoint and, if
    /// all was flushed and dispatched, removes `abort` (a clean exit). Safe to
    /// call twice.
    pub fn shutdown(&self) -> Result<()> {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // Puts check `shut_down` under the writer lock: one that got the lock
        // first completes before the final flush, none starts after.
        drop(self.commitlog.lock_writer(1));
        let clean = self.services.lock().unwrap_or_else(|p| p.into_inner()).stop();
        self.commitlog.discard_prepared()?;
        let written = self.commitlog.written_offset();
        // After a failed CommitLog flush the queues and checkpoint are still
        // flushed (the checkpoint names no unflushed record), and the error
        // is returned with `abort` kept.
        let flushed = self.commitlog.flush_to(written);
        let dispatched = self.dispatched.get();
        self.checkpointer.flush_all(dispatched)?;
        if let Err(e) = flushed {
            mark_abort_unclean(&self.cfg);
            return Err(e);
        }
        if clean && dispatched >= written && self.commitlog.flushed_offset() >= written {
            let abort = abort_path(&self.cfg);
            if let Err(e) = std::fs::remove_file(&abort) {
                return Err(StoreError::io(abort, "remove", e));
            }
            crate::segment::sync_dir(&self.cfg.store_path_root_dir)?;
        } else {
            tracing::warn!("store shut down with work left: abort file kept, next start recovers abnormally");
        }
        Ok(())
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, "store shutdown on drop failed");
        }
    }
}

/// Takes the exclusive lock on `<root>/lock`; creating it proves the root is writable.
fn lock_root(root: &Path) -> Result<File> {
    std::fs::create_dir_all(root).map_err(|e| StoreError::NotWritable { path: root.to_owned(), source: e })?;
    let path = root.join("lock");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::NotWritable { path: path.clone(), source: e })?;
    use std::os::fd::AsRawFd;
    // SAFETY: plain syscall on an open descriptor.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(StoreError::Locked { path });
    }
    Ok(file)
}

/// Creates `abort`, which a clean shutdown removes. It holds this boot's id,
/// so that the next start can tell a process crash from a machine crash
/// ([`Exit`]); Java only looks at whether the file exists.
fn create_abort(cfg: &StoreConfig) -> Result<()> {
    let path = abort_path(cfg);
    let mut file = File::create(&path).map_err(|e| StoreError::NotWritable { path: path.clone(), source: e })?;
    if let Some(id) = recovery::boot_id() {
        use std::io::Write;
        file.write_all(id.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| StoreError::io(&path, "write", e))?;
    }
    crate::segment::sync_dir(&cfg.store_path_root_dir)
}

/// Empties `abort`, as a machine crash or Java leaves it: after a failed
/// flush the next start must not take this boot's page cache for what is on
/// disk, and recovers from the checkpoint, which never passed the failure.
fn mark_abort_unclean(cfg: &StoreConfig) {
    let path = abort_path(cfg);
    if let Err(e) = File::create(&path).and_then(|f| f.sync_all()) {
        tracing::error!(file = %path.display(), error = %e, "could not mark the abort file for a full recovery");
    }
}

fn total_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, page) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    if pages <= 0 || page <= 0 { 8 << 30 } else { pages as u64 * page as u64 }
}
