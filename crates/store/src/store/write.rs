//! The write side of [`MessageStore`]: puts, replicated appends, waiting for
//! the flush, and the offsets and watches callers wait on.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rmq_model::record::{self, NewMessage};
use rmq_model::{FlushDiskType, PhysicalOffset, QueueOffset};
use tokio::sync::watch;

use super::MessageStore;
use crate::error::{Result, StoreError, Unavailable};
use crate::signal::Waited;

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
    /// What storing records of `sizes` bytes, the first placed at `first`
    /// and the rest right after it, comes to. The store builds its results
    /// itself; this is for stores that answer in its terms (test doubles of
    /// the broker's handlers).
    pub fn of_records(first: &rmq_model::record::Placement, sizes: &[u64]) -> PutResult {
        let start = first.physical_offset.max(0) as u64;
        let mut offsets = Vec::with_capacity(sizes.len());
        let mut end = start;
        for size in sizes {
            offsets.push(end);
            end += size;
        }
        PutResult {
            offset: PhysicalOffset(start),
            bytes: end - start,
            queue_offset: QueueOffset(first.queue_offset.max(0) as u64),
            count: sizes.len() as u32,
            store_timestamp: first.store_timestamp,
            end_offset: PhysicalOffset(end),
            store_host: first.store_host,
            record_offsets: if offsets.len() > 1 { offsets } else { Vec::new() },
        }
    }

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

impl MessageStore {
    fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    fn check_writable(&self) -> Result<()> {
        if self.is_shut_down() {
            return Err(StoreError::ServiceNotAvailable(Unavailable::ShutDown));
        }
        if self.read_only.load(Ordering::Relaxed) {
            return Err(StoreError::ServiceNotAvailable(Unavailable::ReadOnly));
        }
        if self.lease.as_ref().is_some_and(|lease| lease.lapsed()) {
            return Err(StoreError::ServiceNotAvailable(Unavailable::LeaseLapsed));
        }
        if self.retention.is_disk_full() {
            return Err(StoreError::ServiceNotAvailable(Unavailable::DiskFull));
        }
        if self.commitlog.flush_failure().is_some() {
            return Err(StoreError::ServiceNotAvailable(Unavailable::FlushFailed));
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
            self.stats.record_put_failure();
        }
        result
    }

    fn put_inner(&self, msgs: &[NewMessage<'_>]) -> Result<PutResult> {
        self.check_writable()?;
        let Some(first) = msgs.first() else {
            return Err(StoreError::MessageIllegal("empty batch".into()));
        };
        let host = self.cfg.store_host;
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
            if msg.body.len() > self.cfg.max_message_size {
                return Err(StoreError::MessageIllegal(format!(
                    "body of {} bytes exceeds maxMessageSize {}",
                    msg.body.len(),
                    self.cfg.max_message_size
                )));
            }
            if msg.topic != first.topic || msg.queue_id != first.queue_id {
                return Err(StoreError::MessageIllegal("a batch must target one topic and queue".into()));
            }
            *crc = record::body_crc(msg.body);
            total += msg.record_len(host);
        }
        let started = Instant::now();
        let now = self.clock.now_millis();
        let mut w = self.commitlog.lock_writer(now.max(1) as u64);
        // Shutdown takes this lock after refusing new puts: a put that got
        // here first completes before the final flush, none starts after.
        if self.is_shut_down() {
            return Err(StoreError::ServiceNotAvailable(Unavailable::ShutDown));
        }
        let ts = w.store_timestamp(now);
        let (seg, offset) = w.reserve(total)?;
        let q = w.next_queue_offset(first.topic, first.queue_id, first.sys_flag, msgs.len() as u64);
        let end = w.write_records(&seg, offset, msgs, crcs, q, ts, host)?;
        drop(w);
        self.wakeups.after_append(&self.commitlog);
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
        self.stats.record_put(msgs.len() as u64, total as u64, started.elapsed());
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

    /// Puts and, in SYNC_FLUSH mode when the message's `WAIT` is not false,
    /// blocks until the flush (FLUSH_DISK_TIMEOUT after `syncFlushTimeout`).
    /// For blocking callers; async code awaits [`MessageStore::flushed_watch`].
    pub fn put_and_wait(&self, msg: &NewMessage<'_>) -> Result<PutResult> {
        let put = self.put(msg)?;
        let wait = rmq_model::record::property_value(msg.properties, "WAIT").is_none_or(|v| v != b"false");
        if self.cfg.flush_disk_type == FlushDiskType::SyncFlush && wait {
            self.wait_flushed(put.end_offset, Duration::from_millis(self.cfg.sync_flush_timeout))?;
        }
        Ok(put)
    }

    /// Blocks until everything below `end` is on disk. Fails at once, with
    /// [`StoreError::FlushFailed`], if a flush failed before it got there.
    pub fn wait_flushed(&self, end: PhysicalOffset, timeout: Duration) -> Result<()> {
        if self.commitlog.flushed_offset() >= end.0 {
            return Ok(());
        }
        self.wakeups.flush_now();
        match self.commitlog.wait_flushed(end.0, timeout) {
            Waited::Reached => Ok(()),
            Waited::TimedOut => Err(StoreError::FlushDiskTimeout { timeout_ms: timeout.as_millis() as u64 }),
            Waited::Failed => {
                Err(StoreError::FlushFailed { reason: self.commitlog.flush_failure().unwrap_or_default().to_owned() })
            }
        }
    }

    /// Why a CommitLog flush failed, once one did. From then on the store
    /// refuses puts ([`Unavailable::FlushFailed`]) and the flushed offset
    /// stays where the last good flush left it.
    pub fn flush_failure(&self) -> Option<String> {
        self.commitlog.flush_failure().map(str::to_owned)
    }

    /// Blocks until everything below `end` is in the consume queues.
    pub fn wait_dispatched(&self, end: PhysicalOffset, timeout: Duration) -> bool {
        self.dispatched.wait_for(end.0, timeout)
    }

    /// The flushed CommitLog offset, for async waiting:
    /// `timeout(t, rx.wait_for(|f| *f >= end))`. A waiter that must also learn
    /// of a failed flush (SYNC_FLUSH acknowledgements) uses
    /// [`MessageStore::flushed_waiter`].
    pub fn flushed_watch(&self) -> watch::Receiver<PhysicalOffset> {
        self.commitlog.subscribe_flushed()
    }

    /// Waits from async code for the flushed offset, and ends at once with
    /// the reason when a flush fails below the target.
    pub fn flushed_waiter(&self) -> crate::OffsetWaiter {
        self.commitlog.flushed_waiter()
    }

    /// The written (max) CommitLog offset, for replication.
    pub fn written_watch(&self) -> watch::Receiver<PhysicalOffset> {
        self.commitlog.subscribe_written()
    }

    /// The dispatched offset (everything below is in the consume queues).
    pub fn dispatched_watch(&self) -> watch::Receiver<PhysicalOffset> {
        self.dispatched.subscribe()
    }

    pub fn flushed_offset(&self) -> PhysicalOffset {
        PhysicalOffset(self.commitlog.flushed_offset())
    }

    pub fn dispatched_offset(&self) -> PhysicalOffset {
        PhysicalOffset(self.dispatched.get())
    }

    /// Bytes written but not yet dispatched.
    pub fn dispatch_behind_bytes(&self) -> u64 {
        self.commitlog.written_offset().saturating_sub(self.dispatched.get())
    }

    /// CommitLog max offset (next byte to write).
    pub fn max_physical_offset(&self) -> PhysicalOffset {
        PhysicalOffset(self.commitlog.written_offset())
    }

    /// CommitLog min offset (start of the oldest file).
    pub fn min_physical_offset(&self) -> PhysicalOffset {
        PhysicalOffset(self.commitlog.min_offset())
    }

    /// Up to `max_len` raw CommitLog bytes from `offset`, never crossing a file
    /// end (replication reads with this). `None` past the end or before the start.
    pub fn read_raw(&self, offset: PhysicalOffset, max_len: usize) -> Option<bytes::Bytes> {
        self.commitlog.read_raw(offset.0, max_len)
    }

    /// Appends a master's bytes verbatim at `offset`, which must equal the
    /// current max offset (a slave's path; allowed in read-only mode). The
    /// dispatcher builds consume queues and index from them as from puts.
    pub fn append_replicated(&self, offset: PhysicalOffset, data: &[u8]) -> Result<PhysicalOffset> {
        if self.is_shut_down() {
            return Err(StoreError::ServiceNotAvailable(Unavailable::ShutDown));
        }
        let now = self.clock.now_millis().max(1) as u64;
        let end = self.commitlog.append_raw(offset.0, data, now)?;
        self.wakeups.after_append(&self.commitlog);
        Ok(PhysicalOffset(end))
    }

    /// Replication addition: lets an empty slave store begin at `offset` (the
    /// start of the master's file it is sent first) instead of 0, as Java's
    /// slave creates its first file where the master's bytes start. Refused
    /// unless the CommitLog is empty and `offset` is a file boundary.
    pub fn begin_replica_at(&self, offset: PhysicalOffset) -> Result<()> {
        if self.is_shut_down() {
            return Err(StoreError::ServiceNotAvailable(Unavailable::ShutDown));
        }
        self.commitlog.start_empty_at(offset.0)
    }

    /// Refuse (true) or accept client puts, e.g. on a role change. A store
    /// that turns writable takes its queue counters from the consume queues,
    /// which may have grown by replication meanwhile.
    pub fn set_read_only(&self, read_only: bool) {
        if !read_only && self.read_only.load(Ordering::SeqCst) {
            self.wait_dispatched(self.max_physical_offset(), Duration::from_secs(5));
            let now = self.clock.now_millis().max(1) as u64;
            self.commitlog.lock_writer(now).restore_queue_offsets(self.queues.next_offsets());
        }
        self.read_only.store(read_only, Ordering::SeqCst);
    }

    /// Whether the current put has held the lock longer than
    /// `osPageCacheBusyTimeOutMills` (the broker answers OS_PAGECACHE_BUSY).
    pub fn is_os_page_cache_busy(&self) -> bool {
        let now = self.clock.now_millis().max(0) as u64;
        self.commitlog.lock_held_ms(now) > self.cfg.os_page_cache_busy_timeout_mills
    }
}
