//! [`MessageStore`]: opening (lock, recovery), puts, and the background
//! threads (CommitLog flush, dispatch, retention) with their shutdown.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rmq_model::record::{self, NewMessage};
use rmq_model::{BrokerRole, FlushDiskType, PhysicalOffset, QueueOffset};
use tokio::sync::watch;

use crate::checkpoint::{Checkpoint, CheckpointFile};
use crate::commitlog::CommitLog;
use crate::config::StoreConfig;
use crate::consume_queue::QueueTable;
use crate::dispatch::Dispatch;
use crate::error::{Result, StoreError, Unavailable};
use crate::hooks::StoreHooks;
use crate::index::IndexService;
use crate::signal::{OffsetSignal, Wake};
use crate::stats::Stats;
use crate::{flush, recovery, retention};

/// What a put stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutResult {
    /// CommitLog offset of the first record.
    pub offset: PhysicalOffset,
    /// Bytes of all records written.
    pub bytes: u64,
    /// Queue offset of the first message (0 for prepared/rollback records).
    pub queue_offset: QueueOffset,
    /// Messages stored.
    pub count: u32,
    pub store_timestamp: i64,
    /// CommitLog offset after the last record: wait for flushed (or a slave's
    /// acknowledged offset) to reach it.
    pub end_offset: PhysicalOffset,
    store_host: SocketAddr,
    /// Offsets of every record, only for batches.
    record_offsets: Vec<u64>,
}

impl PutResult {
    /// The offset msgId of the first record.
    pub fn msg_id(&self) -> String {
        rmq_model::msg_id::encode_offset_msg_id(self.store_host, self.offset)
    }

    /// The offset msgIds of all records, comma-separated as in batch responses.
    pub fn msg_ids(&self) -> String {
        if self.record_offsets.is_empty() {
            return self.msg_id();
        }
        let ids: Vec<String> = self
            .record_offsets
            .iter()
            .map(|o| rmq_model::msg_id::encode_offset_msg_id(self.store_host, PhysicalOffset(*o)))
            .collect();
        ids.join(",")
    }

    /// CommitLog offsets of every record.
    pub fn record_offsets(&self) -> Vec<PhysicalOffset> {
        if self.record_offsets.is_empty() {
            vec![self.offset]
        } else {
            self.record_offsets.iter().map(|o| PhysicalOffset(*o)).collect()
        }
    }
}

const RUNNING: u8 = 0;
const SHUT_DOWN: u8 = 1;

pub(crate) struct Inner {
    pub cfg: StoreConfig,
    pub hooks: StoreHooks,
    pub commitlog: Arc<CommitLog>,
    pub queues: Arc<QueueTable>,
    pub index: Option<Arc<IndexService>>,
    pub dispatch: Dispatch,
    pub dispatched: OffsetSignal,
    pub checkpoint: Mutex<(CheckpointFile, Checkpoint)>,
    pub stats: Stats,
    state: AtomicU8,
    pub disk_full: AtomicBool,
    read_only: AtomicBool,
    pub stop: AtomicBool,
    pub flusher: Wake,
    pub dispatcher: Wake,
    pub cleaner: Wake,
    pub preparer: Wake,
    /// Set when retention should run at once (manual trigger or tests).
    pub clean_now: AtomicBool,
    /// A caller waits for the flush: the ASYNC_FLUSH flusher ignores its page minimum.
    pub flush_requested: AtomicBool,
    /// Bytes of RAM behind the CommitLog end that count as "in memory".
    pub memory_window: u64,
    /// Last error of a background thread, kept for shutdown's verdict.
    pub background_failed: AtomicBool,
    _lock: File,
}

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
    pub(crate) inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for MessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStore").field("root", &self.inner.cfg.store_path_root_dir).finish()
    }
}

fn abort_path(cfg: &StoreConfig) -> PathBuf {
    cfg.store_path_root_dir.join("abort")
}

impl MessageStore {
    /// Opens (or creates) the store: takes `<root>/lock`, loads every file,
    /// recovers (normally, or abnormally when `abort` was left behind), creates
    /// `abort` and starts the background threads.
    pub fn open(cfg: StoreConfig, hooks: StoreHooks) -> Result<MessageStore> {
        cfg.validate()?;
        let root = cfg.store_path_root_dir.clone();
        let lock = lock_root(&root)?;
        let abnormal = abort_path(&cfg).exists();
        let commitlog = Arc::new(CommitLog::load(&cfg.store_path_commit_log, cfg.mapped_file_size_commit_log)?);
        let queues = Arc::new(QueueTable::load(&cfg.consume_queue_dir(), cfg.cq_file_size())?);
        let (cp_file, cp) = CheckpointFile::open(&root.join("checkpoint"))?;
        let index = if cfg.message_index_enable {
            let delete_after = abnormal.then_some(cp.index_msg_timestamp);
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
        let dispatch = Dispatch {
            commitlog: commitlog.clone(),
            queues: queues.clone(),
            index: index.clone(),
            listener: hooks.listener.clone(),
            clock: hooks.clock.clone(),
            cq_root: cfg.consume_queue_dir(),
            cq_file_size: cfg.cq_file_size(),
            delay_ms,
        };
        let recovered = recovery::recover(&dispatch, &cfg, abnormal, &cp)?;
        {
            let mut w = commitlog.lock_writer(1);
            for cq in queues.all() {
                w.guard.queue_offsets.entry(cq.topic.clone()).or_default().insert(cq.queue_id, cq.max_offset());
            }
            w.store_timestamp(recovered.last_store_timestamp);
        }
        create_abort(&cfg)?;
        let memory_window = total_memory() / 100 * cfg.access_message_in_memory_max_ratio;
        let read_only = cfg.broker_role == BrokerRole::Slave;
        let inner = Arc::new(Inner {
            dispatched: OffsetSignal::new(recovered.dispatch_from),
            checkpoint: Mutex::new((cp_file, cp)),
            stats: Stats::default(),
            state: AtomicU8::new(RUNNING),
            disk_full: AtomicBool::new(false),
            read_only: AtomicBool::new(read_only),
            stop: AtomicBool::new(false),
            flusher: Wake::default(),
            dispatcher: Wake::default(),
            cleaner: Wake::default(),
            preparer: Wake::default(),
            clean_now: AtomicBool::new(false),
            flush_requested: AtomicBool::new(false),
            memory_window,
            background_failed: AtomicBool::new(false),
            _lock: lock,
            cfg,
            hooks,
            commitlog,
            queues,
            index,
            dispatch,
        });
        let flusher = flush::spawn_commitlog_flusher(inner.clone())?;
        inner.flusher.register(flusher.thread().clone());
        let dispatcher = flush::spawn_dispatcher(inner.clone(), recovered.last_store_timestamp)?;
        inner.dispatcher.register(dispatcher.thread().clone());
        retention::measure_disk(&inner);
        let cleaner = retention::spawn_cleaner(inner.clone())?;
        inner.cleaner.register(cleaner.thread().clone());
        let preparer = flush::spawn_preparer(inner.clone())?;
        inner.preparer.register(preparer.thread().clone());
        let threads = vec![flusher, dispatcher, cleaner, preparer];
        Ok(MessageStore { inner, threads: Mutex::new(threads) })
    }

    pub fn config(&self) -> &StoreConfig {
        &self.inner.cfg
    }

    fn check_writable(&self) -> Result<()> {
        let inner = &self.inner;
        if inner.state.load(Ordering::Acquire) != RUNNING {
            return Err(StoreError::ServiceNotAvailable(Unavailable::ShutDown));
        }
        if inner.read_only.load(Ordering::Relaxed) {
            return Err(StoreError::ServiceNotAvailable(Unavailable::ReadOnly));
        }
        if inner.disk_full.load(Ordering::Relaxed) {
            return Err(StoreError::ServiceNotAvailable(Unavailable::DiskFull));
        }
        Ok(())
    }

    /// Appends one message. Does not wait for the flush: see
    /// [`MessageStore::wait_flushed`] / [`MessageStore::flushed_watch`].
    pub fn put(&self, msg: &NewMessage<'_>) -> Result<PutResult> {
        self.put_batch(std::slice::from_ref(msg))
    }

    /// Appends messages of one topic and queue as consecutive records with
    /// consecutive queue offsets, all in one file, under one lock.
    pub fn put_batch(&self, msgs: &[NewMessage<'_>]) -> Result<PutResult> {
        let result = self.put_inner(msgs);
        if result.is_err() {
            self.inner.stats.put_failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    fn put_inner(&self, msgs: &[NewMessage<'_>]) -> Result<PutResult> {
        self.check_writable()?;
        let Some(first) = msgs.first() else {
            return Err(StoreError::MessageIllegal("empty batch".into()));
        };
        let host = self.inner.cfg.store_host;
        let mut total = 0usize;
        let mut crc_one = [0i32; 1];
        let mut crc_many = Vec::new();
        let crcs: &mut [i32] = if msgs.len() == 1 {
            &mut crc_one
        } else {
            crc_many.resize(msgs.len(), 0);
            &mut crc_many
        };
        for (msg, crc) in msgs.iter().zip(crcs.iter_mut()) {
            msg.check_limits()?;
            if msg.body.len() > self.inner.cfg.max_message_size {
                return Err(StoreError::MessageIllegal(format!(
                    "body of {} bytes exceeds maxMessageSize {}",
                    msg.body.len(),
                    self.inner.cfg.max_message_size
                )));
            }
            if msg.topic != first.topic || msg.queue_id != first.queue_id {
                return Err(StoreError::MessageIllegal("a batch must target one topic and queue".into()));
            }
            *crc = record::body_crc(msg.body);
            total += msg.record_len(host);
        }
        let started = Instant::now();
        let now = self.inner.hooks.clock.now_millis();
        let mut w = self.inner.commitlog.lock_writer(now.max(1) as u64);
        // Shutdown takes this lock after refusing new puts: a put that got
        // here first completes before the final flush, none starts after.
        if self.inner.state.load(Ordering::Acquire) != RUNNING {
            return Err(StoreError::ServiceNotAvailable(Unavailable::ShutDown));
        }
        let ts = w.store_timestamp(now);
        let (seg, offset) = w.reserve(total)?;
        let q = w.next_queue_offset(first.topic, first.queue_id, first.sys_flag, msgs.len() as u64);
        let end = w.write_records(&seg, offset, msgs, crcs, q, ts, host)?;
        drop(w);
        self.wake_after_put();
        let record_offsets = if msgs.len() > 1 {
            let mut at = offset;
            msgs.iter()
                .map(|m| {
                    let o = at;
                    at += m.record_len(host) as u64;
                    o
                })
                .collect()
        } else {
            Vec::new()
        };
        self.inner.stats.record_put(msgs.len() as u64, total as u64, started.elapsed());
        Ok(PutResult {
            offset: PhysicalOffset(offset),
            bytes: total as u64,
            queue_offset: QueueOffset(q),
            count: msgs.len() as u32,
            store_timestamp: ts,
            end_offset: PhysicalOffset(end),
            store_host: host,
            record_offsets,
        })
    }

    fn wake_after_put(&self) {
        self.inner.dispatcher.notify();
        // SYNC_FLUSH: at once. ASYNC_FLUSH: once `flushCommitLogLeastPages`
        // are dirty, as Java's put wakes its flush service; the interval only
        // bounds how long fewer pages wait.
        if self.inner.cfg.flush_disk_type == FlushDiskType::SyncFlush || flush::async_flush_due(&self.inner) {
            self.inner.flusher.notify();
        }
        if self.inner.commitlog.needs_preparing() {
            self.inner.preparer.notify();
        }
    }

    /// Puts and, in SYNC_FLUSH mode when the message's `WAIT` is not false,
    /// blocks until the flush (FLUSH_DISK_TIMEOUT after `syncFlushTimeout`).
    /// For blocking callers; async code awaits [`MessageStore::flushed_watch`].
    pub fn put_and_wait(&self, msg: &NewMessage<'_>) -> Result<PutResult> {
        let put = self.put(msg)?;
        let wait = rmq_model::record::property_value(msg.properties, "WAIT").is_none_or(|v| v != b"false");
        if self.inner.cfg.flush_disk_type == FlushDiskType::SyncFlush && wait {
            self.wait_flushed(put.end_offset, Duration::from_millis(self.inner.cfg.sync_flush_timeout))?;
        }
        Ok(put)
    }

    /// Blocks until everything below `end` is on disk.
    pub fn wait_flushed(&self, end: PhysicalOffset, timeout: Duration) -> Result<()> {
        if self.inner.commitlog.flushed.get() >= end.0 {
            return Ok(());
        }
        self.inner.flush_requested.store(true, Ordering::SeqCst);
        self.inner.flusher.force();
        if self.inner.commitlog.flushed.wait_for(end.0, timeout) {
            Ok(())
        } else {
            Err(StoreError::FlushDiskTimeout { timeout_ms: timeout.as_millis() as u64 })
        }
    }

    /// Blocks until everything below `end` is in the consume queues.
    pub fn wait_dispatched(&self, end: PhysicalOffset, timeout: Duration) -> bool {
        self.inner.dispatched.wait_for(end.0, timeout)
    }

    /// The flushed CommitLog offset, for async waiting:
    /// `timeout(t, rx.wait_for(|f| *f >= end))`.
    pub fn flushed_watch(&self) -> watch::Receiver<PhysicalOffset> {
        self.inner.commitlog.flushed.subscribe()
    }

    /// The written (max) CommitLog offset, for replication.
    pub fn written_watch(&self) -> watch::Receiver<PhysicalOffset> {
        self.inner.commitlog.written.subscribe()
    }

    /// The dispatched offset (everything below is in the consume queues).
    pub fn dispatched_watch(&self) -> watch::Receiver<PhysicalOffset> {
        self.inner.dispatched.subscribe()
    }

    pub fn flushed_offset(&self) -> PhysicalOffset {
        PhysicalOffset(self.inner.commitlog.flushed.get())
    }

    pub fn dispatched_offset(&self) -> PhysicalOffset {
        PhysicalOffset(self.inner.dispatched.get())
    }

    /// Bytes written but not yet dispatched.
    pub fn dispatch_behind_bytes(&self) -> u64 {
        self.inner.commitlog.written.get().saturating_sub(self.inner.dispatched.get())
    }

    /// CommitLog max offset (next byte to write).
    pub fn max_physical_offset(&self) -> PhysicalOffset {
        PhysicalOffset(self.inner.commitlog.written.get())
    }

    /// CommitLog min offset (start of the oldest file).
    pub fn min_physical_offset(&self) -> PhysicalOffset {
        PhysicalOffset(self.inner.commitlog.min_offset())
    }

    /// Up to `max_len` raw CommitLog bytes from `offset`, never crossing a file
    /// end (replication reads with this). `None` past the end or before the start.
    pub fn read_raw(&self, offset: PhysicalOffset, max_len: usize) -> Option<bytes::Bytes> {
        self.inner.commitlog.read_raw(offset.0, max_len)
    }

    /// Appends a master's bytes verbatim at `offset`, which must equal the
    /// current max offset (a slave's path; allowed in read-only mode). The
    /// dispatcher builds consume queues and index from them as from puts.
    pub fn append_replicated(&self, offset: PhysicalOffset, data: &[u8]) -> Result<PhysicalOffset> {
        if self.inner.state.load(Ordering::Acquire) != RUNNING {
            return Err(StoreError::ServiceNotAvailable(Unavailable::ShutDown));
        }
        let now = self.inner.hooks.clock.now_millis().max(1) as u64;
        let end = self.inner.commitlog.append_raw(offset.0, data, now)?;
        self.wake_after_put();
        Ok(PhysicalOffset(end))
    }

    /// Replication addition: lets an empty slave store begin at `offset` (the
    /// start of the master's file it is sent first) instead of 0, as Java's
    /// slave creates its first file where the master's bytes start. Refused
    /// unless the CommitLog is empty and `offset` is a file boundary.
    pub fn begin_replica_at(&self, offset: PhysicalOffset) -> Result<()> {
        if self.inner.state.load(Ordering::Acquire) != RUNNING {
            return Err(StoreError::ServiceNotAvailable(Unavailable::ShutDown));
        }
        self.inner.commitlog.start_empty_at(offset.0)
    }

    /// Refuse (true) or accept client puts, e.g. on a role change. A store
    /// that turns writable takes its queue counters from the consume queues,
    /// which may have grown by replication meanwhile.
    pub fn set_read_only(&self, read_only: bool) {
        if !read_only && self.inner.read_only.load(Ordering::SeqCst) {
            self.wait_dispatched(self.max_physical_offset(), Duration::from_secs(5));
            let now = self.inner.hooks.clock.now_millis().max(1) as u64;
            let mut w = self.inner.commitlog.lock_writer(now);
            w.guard.queue_offsets.clear();
            for cq in self.inner.queues.all() {
                w.guard.queue_offsets.entry(cq.topic.clone()).or_default().insert(cq.queue_id, cq.max_offset());
            }
        }
        self.inner.read_only.store(read_only, Ordering::SeqCst);
    }

    /// Whether the disk passed `diskSpaceWarningLevelRatio` (puts refused).
    pub fn is_disk_full(&self) -> bool {
        self.inner.disk_full.load(Ordering::Relaxed)
    }

    /// Whether the current put has held the lock longer than
    /// `osPageCacheBusyTimeOutMills` (the broker answers OS_PAGECACHE_BUSY).
    pub fn is_os_page_cache_busy(&self) -> bool {
        let now = self.inner.hooks.clock.now_millis().max(0) as u64;
        self.inner.commitlog.lock_held_ms(now) > self.inner.cfg.os_page_cache_busy_timeout_mills
    }

    /// Runs retention (and the disk check) now, on the calling thread, as if
    /// it were a `deleteWhen` hour; returns the CommitLog files deleted.
    pub fn run_retention_now(&self) -> Result<usize> {
        retention::run_once(&self.inner, true)
    }

    /// Asks the cleaner thread for a retention round at once, whatever the
    /// hour (DELETE_EXPIRED_COMMITLOG); returns without waiting.
    pub fn request_retention(&self) {
        self.inner.clean_now.store(true, Ordering::SeqCst);
        self.inner.cleaner.force();
    }

    /// Stops the threads, flushes everything, writes the checkpoint and, if
    /// all was flushed and dispatched, removes `abort` (a clean exit). Safe to
    /// call twice.
    pub fn shutdown(&self) -> Result<()> {
        if self.inner.state.swap(SHUT_DOWN, Ordering::AcqRel) == SHUT_DOWN {
            return Ok(());
        }
        drop(self.inner.commitlog.lock_writer(1));
        self.inner.stop.store(true, Ordering::SeqCst);
        for wake in [&self.inner.flusher, &self.inner.dispatcher, &self.inner.cleaner, &self.inner.preparer] {
            wake.force();
        }
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        let mut clean = true;
        for t in threads {
            clean &= t.join().is_ok();
        }
        let inner = &self.inner;
        inner.commitlog.discard_prepared()?;
        let written = inner.commitlog.written.get();
        inner.commitlog.flush_to(written)?;
        flush::flush_consume_queues_and_checkpoint(inner)?;
        clean &= !inner.background_failed.load(Ordering::SeqCst);
        if clean && inner.dispatched.get() >= written && inner.commitlog.flushed.get() >= written {
            let abort = abort_path(&inner.cfg);
            if let Err(e) = std::fs::remove_file(&abort) {
                return Err(StoreError::io(abort, "remove", e));
            }
            crate::segment::sync_dir(&inner.cfg.store_path_root_dir)?;
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

fn create_abort(cfg: &StoreConfig) -> Result<()> {
    let path = abort_path(cfg);
    File::create(&path).map_err(|e| StoreError::NotWritable { path: path.clone(), source: e })?;
    crate::segment::sync_dir(&cfg.store_path_root_dir)
}

fn total_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, page) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    if pages <= 0 || page <= 0 { 8 << 30 } else { pages as u64 * page as u64 }
}
