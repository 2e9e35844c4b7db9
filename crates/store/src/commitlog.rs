//! The CommitLog: every message of every topic, appended to a chain of
//! fixed-size files named by their start offset (file N starts at N ×
//! `mappedFileSizeCommitLog`), as Java's
//! [`CommitLog`](https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/store/src/main/java/org/apache/rocketmq/store/CommitLog.java).
//!
//! Offsets: `min ≤ flushed ≤ written`. `written` is the CommitLog's max offset,
//! published after the bytes below it are complete; `flushed` is what reached
//! the disk. Puts hold the writer lock only to place, encode and publish.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use bytes::Bytes;
use rmq_model::PhysicalOffset;
use rmq_model::record::{self, BLANK_LEN, Decoded, NewMessage, Placement, RecordError};
use rmq_model::sysflag::message as sysflag;
use tokio::sync::watch;

use crate::error::{Result, StoreError};
use crate::segment::{self, Segment, load_segments};
use crate::signal::{OffsetSignal, OffsetWaiter, Waited};

/// How far ahead of the writer pages are pre-faulted.
pub(crate) const PREPARE_AHEAD: u64 = 16 << 20;
/// Pre-fault step, so the writer never waits long for the preparing thread.
const PREPARE_CHUNK: u64 = 2 << 20;

pub(crate) struct CommitLog {
    dir: PathBuf,
    file_size: u64,
    /// Contiguous segments, oldest first. Readers clone an `Arc` out and drop
    /// the lock before touching bytes.
    segments: RwLock<Vec<Arc<Segment>>>,
    writer: Mutex<Writer>,
    /// The next file, created ahead of need by [`CommitLog::prepare_ahead`].
    next: Mutex<Option<Arc<Segment>>>,
    /// Bytes below this offset are pre-faulted.
    populated: AtomicU64,
    populate_supported: std::sync::atomic::AtomicBool,
    /// Start of the file prepared ahead (0 when none).
    prepared_next: AtomicU64,
    /// The max offset: every byte below it is complete. Only puts and
    /// replication (under the writer lock) and recovery publish it.
    written: OffsetSignal,
    /// Every byte below it is on disk. Only [`CommitLog::flush_to`] and
    /// recovery publish it.
    flushed: OffsetSignal,
    /// Milliseconds since the epoch when the current put took the lock, 0 if free.
    locked_since: AtomicU64,
}

/// State only the put path changes, under the writer lock.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    /// Next byte to write; equals the published `written` between puts.
    pos: u64,
    /// The segment holding `pos` (saves a lookup per put).
    current: Option<Arc<Segment>>,
    /// `topic → queue id → next queue offset`.
    queue_offsets: HashMap<String, HashMap<i32, u64>>,
    /// Store timestamps never go backwards in file order.
    last_store_timestamp: i64,
}

impl CommitLog {
    /// Opens the files in `dir` (created if missing). The last file may be
    /// short (a crash while it was created or a truncated copy); it is extended
    /// with zeros and recovery decides what in it is valid. Any other file of
    /// the wrong size, a gap in the chain or a foreign file is an error.
    pub fn load(dir: &Path, file_size: u64) -> Result<CommitLog> {
        let segments = load_segments(dir, file_size, "CommitLog")?;
        let written = segments.last().map_or(0, |s| s.end());
        Ok(CommitLog {
            dir: dir.to_owned(),
            file_size,
            segments: RwLock::new(segments),
            writer: Mutex::new(Writer { pos: written, ..Writer::default() }),
            next: Mutex::new(None),
            populated: AtomicU64::new(written),
            populate_supported: std::sync::atomic::AtomicBool::new(true),
            prepared_next: AtomicU64::new(0),
            written: OffsetSignal::new(written),
            flushed: OffsetSignal::new(written),
            locked_since: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The max offset (next byte to write).
    pub fn written_offset(&self) -> u64 {
        self.written.get()
    }

    /// Everything below this offset is on disk.
    pub fn flushed_offset(&self) -> u64 {
        self.flushed.get()
    }

    /// Blocks until the flushed offset reaches `target` or `timeout` passes,
    /// or a flush fails.
    pub fn wait_flushed(&self, target: u64, timeout: std::time::Duration) -> Waited {
        self.flushed.wait_until(target, timeout)
    }

    /// Why a flush failed, once one did: the flushed offset never moves again.
    pub fn flush_failure(&self) -> Option<&str> {
        self.flushed.failure()
    }

    /// Waits for the flushed offset from async code, learning of a failure.
    pub fn flushed_waiter(&self) -> OffsetWaiter {
        self.flushed.waiter()
    }

    pub fn subscribe_written(&self) -> watch::Receiver<PhysicalOffset> {
        self.written.subscribe()
    }

    pub fn subscribe_flushed(&self) -> watch::Receiver<PhysicalOffset> {
        self.flushed.subscribe()
    }

    /// Store time of the record at `offset`, read from its header.
    pub fn store_time_at(&self, offset: u64) -> Option<i64> {
        let rec = self.record_at(offset)?;
        let sys_flag = i32::from_be_bytes(rec.get(record::pos::SYS_FLAG..record::pos::SYS_FLAG + 4)?.try_into().ok()?);
        let at = record::store_timestamp_pos(sys_flag);
        Some(i64::from_be_bytes(rec.get(at..at + 8)?.try_into().ok()?))
    }

    /// A snapshot of the segment list.
    pub fn segments(&self) -> Vec<Arc<Segment>> {
        self.segments.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The first offset still stored (start of the oldest file).
    pub fn min_offset(&self) -> u64 {
        let segs = self.segments.read().unwrap_or_else(|p| p.into_inner());
        segs.first().map_or_else(|| self.written.get(), |s| s.base())
    }

    /// The segment holding `offset`, if it is still stored.
    pub fn segment_for(&self, offset: u64) -> Option<Arc<Segment>> {
        let segs = self.segments.read().unwrap_or_else(|p| p.into_inner());
        let first = segs.first()?.base();
        let idx = usize::try_from(offset.checked_sub(first)? / self.file_size).ok()?;
        segs.get(idx).filter(|s| s.base() <= offset && offset < s.end()).cloned()
    }

    /// Start of the file after the one holding `offset` (Java's `rollNextFile`).
    pub fn roll_next_file(&self, offset: u64) -> u64 {
        offset - offset % self.file_size + self.file_size
    }

    pub fn lock_writer(&self, now_ms: u64) -> WriterGuard<'_> {
        let guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.locked_since.store(now_ms.max(1), Ordering::Relaxed);
        WriterGuard { log: self, guard }
    }

    /// How long the current put has held the lock, in ms (0 if none).
    pub fn lock_held_ms(&self, now_ms: u64) -> u64 {
        match self.locked_since.load(Ordering::Relaxed) {
            0 => 0,
            since => now_ms.saturating_sub(since),
        }
    }

    /// Up to `max_len` published bytes starting at `offset`, within one file.
    pub fn read_raw(&self, offset: u64, max_len: usize) -> Option<Bytes> {
        let seg = self.segment_for(offset)?;
        let end = self.written.get().min(seg.end());
        let len = (end.checked_sub(offset)? as usize).min(max_len);
        if len == 0 {
            return None;
        }
        // SAFETY: [offset, offset + len) is below the published written offset.
        Some(unsafe { seg.bytes(offset - seg.base(), len) })
    }

    /// The record starting at `offset`, sized by its TOTALSIZE, if it is stored
    /// and complete.
    pub fn record_at(&self, offset: u64) -> Option<Bytes> {
        let seg = self.segment_for(offset)?;
        let avail = self.written.get().min(seg.end()).checked_sub(offset)?;
        if avail < 8 {
            return None;
        }
        // SAFETY: the 8 bytes are below the published written offset.
        let (size, magic) = unsafe {
            let pos = offset - seg.base();
            (seg.read_u32(pos) as u64, seg.read_u32(pos + 4) as i32)
        };
        if (magic != record::MAGIC_V1 && magic != record::MAGIC_V2) || size < 8 || size > avail {
            return None;
        }
        // SAFETY: the whole record is below the published written offset.
        Some(unsafe { seg.bytes(offset - seg.base(), size as usize) })
    }

    /// Like [`CommitLog::record_at`], but trusting a size known from elsewhere
    /// (a consume-queue entry) and skipping the header read.
    pub fn record_sized(&self, offset: u64, size: u32) -> Option<Bytes> {
        let seg = self.segment_for(offset)?;
        let end = offset.checked_add(u64::from(size))?;
        if end > self.written.get() || end > seg.end() || size == 0 {
            return None;
        }
        // SAFETY: the range is below the published written offset.
        Some(unsafe { seg.bytes(offset - seg.base(), size as usize) })
    }

    /// Decodes what lies at `offset` (a record, a blank or garbage) using the
    /// published bytes only. `None` when `offset` is not stored.
    pub fn decode_at<T>(
        &self,
        offset: u64,
        check_crc: bool,
        f: impl FnOnce(std::result::Result<Decoded<'_>, RecordError>, &Segment) -> T,
    ) -> Option<T> {
        let seg = self.segment_for(offset)?;
        let end = self.written.get().min(seg.end());
        let len = end.checked_sub(offset)? as usize;
        // SAFETY: [offset, end) is below the published written offset.
        let bytes = unsafe { seg.slice(offset - seg.base(), len) };
        Some(f(record::decode(bytes, check_crc), &seg))
    }

    /// Forces everything written up to `target` to disk and publishes it.
    /// Only the flusher (and shutdown, after it stopped) call this.
    ///
    /// The first failure is final ("fsyncgate"): after a failed msync the
    /// kernel may have dropped the dirty pages it could not write, and a
    /// retry can succeed without them. The flushed offset then stays below
    /// the failure for good, its waiters learn why at once, and every later
    /// call fails without touching the disk.
    pub fn flush_to(&self, target: u64) -> Result<u64> {
        if let Some(reason) = self.flush_failure() {
            return Err(StoreError::FlushFailed { reason: reason.to_owned() });
        }
        let from = self.flushed.get();
        let target = target.min(self.written.get());
        if target <= from {
            return Ok(from);
        }
        let mut at = from.max(self.min_offset());
        while at < target {
            let Some(seg) = self.segment_for(at) else { break };
            let hi = target.min(seg.end());
            if let Err(e) = seg.flush(at - seg.base(), hi - seg.base()) {
                let reason = format!("{e}, flushing [{at}, {hi})");
                self.flushed.fail(reason.clone());
                return Err(StoreError::FlushFailed { reason });
            }
            at = hi;
        }
        debug_assert!(target <= self.written.get(), "flushed must not pass written");
        self.flushed.publish(target);
        Ok(target)
    }

    /// Sets the end after recovery: files past `end` are deleted, the tail of
    /// the file holding it is zeroed, and written = flushed = `end`.
    ///
    /// Must run before any reader exists.
    /// `dirty` bounds the bytes past `end` that can be non-zero (after a
    /// process crash, one interrupted put); `None` zeroes the file's rest.
    pub fn truncate_after_recovery(&self, end: u64, dirty: Option<u64>) -> Result<()> {
        let mut segs = self.segments.write().unwrap_or_else(|p| p.into_inner());
        while let Some(last) = segs.last() {
            if last.base() >= end {
                tracing::warn!(file = %last.path().display(), "deleting CommitLog file past the recovered end {end}");
                last.delete_file()?;
                segs.pop();
            } else {
                break;
            }
        }
        if let Some(last) = segs.last().filter(|s| end < s.end()) {
            let from = end - last.base();
            let to = dirty.map_or(last.size(), |len| from.saturating_add(len));
            // SAFETY: recovery runs before the store serves any reader.
            unsafe { last.zero_range(from, to)? };
        }
        drop(segs);
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        w.pos = end;
        w.current = None;
        drop(w);
        self.populated.store(end, Ordering::Release);
        self.written.publish(end);
        self.flushed.publish(end);
        Ok(())
    }

    /// Whether the writer is within half a window of the pre-faulted range
    /// (or near a file end), so the preparing thread should run.
    pub fn needs_preparing(&self) -> bool {
        let written = self.written.get();
        let in_file = written % self.file_size;
        let current_end = written - in_file + self.file_size;
        let next_ready = self.prepared_next.load(Ordering::Relaxed) == current_end;
        if in_file >= self.file_size / 4 * 3 && !next_ready {
            return true;
        }
        // Pages can be pre-faulted up to the end of the current file, or of
        // the next one once it exists.
        let limit = if next_ready { current_end + self.file_size } else { current_end };
        let populated = self.populated.load(Ordering::Acquire);
        self.populate_supported.load(Ordering::Relaxed) && written + PREPARE_AHEAD / 2 > populated && populated < limit
    }

    /// Keeps the writer's path free of slow work: creates the next file once
    /// the writer is in the last quarter of the current one (or has filled it
    /// to its end), and pre-faults up to [`PREPARE_AHEAD`] bytes past the
    /// written offset. Run by one thread. Says whether it did anything: before
    /// the first put there is no file to prepare, and the caller must then wait
    /// for puts instead of asking again at once.
    pub fn prepare_ahead(&self) -> Result<bool> {
        let written = self.written.get();
        let mut progressed = false;
        let next_base = match self.segment_for(written) {
            Some(current) if written - current.base() >= self.file_size / 4 * 3 => Some(current.end()),
            Some(_) => None,
            // The writer filled a file to its end; its next put rolls to the
            // file starting here.
            None if self
                .segments
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .last()
                .is_some_and(|s| s.end() == written) =>
            {
                Some(written)
            }
            None => return Ok(false),
        };
        if let Some(base) = next_base {
            progressed |= self.prepare_file_at(base);
        }
        if !self.populate_supported.load(Ordering::Relaxed) {
            return Ok(progressed);
        }
        let mut from = self.populated.load(Ordering::Acquire).max(written);
        let target = written + PREPARE_AHEAD;
        while from < target {
            let seg = match self.segment_for(from) {
                Some(s) => s,
                None => match self.next.lock().unwrap_or_else(|p| p.into_inner()).clone() {
                    Some(n) if n.base() <= from && from < n.end() => n,
                    _ => break,
                },
            };
            let to = target.min(seg.end()).min(from + PREPARE_CHUNK);
            if !seg.populate(from - seg.base(), to - seg.base()) {
                self.populate_supported.store(false, Ordering::Relaxed);
                break;
            }
            from = to;
            self.populated.store(from, Ordering::Release);
            progressed = true;
        }
        Ok(progressed)
    }

    /// Creates the file starting at `base` ahead of the writer, unless it (or
    /// a later one) is already there. Whether it created it.
    fn prepare_file_at(&self, base: u64) -> bool {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        if next.as_ref().is_some_and(|n| n.base() >= base) || self.segment_for(base).is_some() {
            return false;
        }
        self.prepared_next.store(base, Ordering::Relaxed);
        let path = self.dir.join(segment::file_name(base));
        match Segment::create(path, base, self.file_size) {
            Ok(seg) => {
                *next = Some(Arc::new(seg));
                self.prepared_next.store(base, Ordering::Relaxed);
                true
            }
            // Leave it to the writer, which reports the error to a put.
            Err(e) => {
                self.prepared_next.store(0, Ordering::Relaxed);
                tracing::warn!(error = %e, "could not create the next CommitLog file ahead");
                false
            }
        }
    }

    /// Deletes the file prepared ahead if the writer never reached it
    /// (shutdown; recovery would delete it anyway).
    pub fn discard_prepared(&self) -> Result<()> {
        if let Some(seg) = self.next.lock().unwrap_or_else(|p| p.into_inner()).take()
            && self.segment_for(seg.base()).is_none()
        {
            seg.delete_file()?;
        }
        self.prepared_next.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// Removes the oldest segment from the chain (its mapping lives on in
    /// outstanding readers) and deletes its file.
    pub fn delete_oldest(&self) -> Result<Option<Arc<Segment>>> {
        let mut segs = self.segments.write().unwrap_or_else(|p| p.into_inner());
        if segs.len() <= 1 {
            return Ok(None);
        }
        let seg = segs.remove(0);
        drop(segs);
        seg.delete_file()?;
        Ok(Some(seg))
    }

    /// Replication into an empty CommitLog: moves its (empty) end to
    /// `offset`, the start of one of the master's files, so that the master's
    /// bytes can be appended at their own offsets. Refused unless no file
    /// exists and nothing was written.
    pub fn start_empty_at(&self, offset: u64) -> Result<()> {
        if !offset.is_multiple_of(self.file_size) {
            return Err(StoreError::MessageIllegal(format!(
                "a replica can only start at a file boundary, {offset} is not a multiple of {}",
                self.file_size
            )));
        }
        let mut w = self.lock_writer(1);
        let empty = self.segments.read().unwrap_or_else(|p| p.into_inner()).is_empty();
        if !empty || w.guard.pos != 0 {
            return Err(StoreError::MessageIllegal(format!(
                "a replica can only move the start of an empty CommitLog (it ends at {})",
                w.guard.pos
            )));
        }
        w.guard.pos = offset;
        w.guard.current = None;
        self.populated.store(offset, Ordering::Release);
        self.flushed.publish(offset);
        self.written.publish(offset);
        Ok(())
    }

    /// Appends bytes a master wrote at the same offsets (replication).
    pub fn append_raw(&self, offset: u64, mut data: &[u8], now_ms: u64) -> Result<u64> {
        let mut w = self.lock_writer(now_ms);
        if offset != w.guard.pos {
            return Err(StoreError::MessageIllegal(format!(
                "replicated bytes start at {offset}, but the CommitLog ends at {}",
                w.guard.pos
            )));
        }
        while !data.is_empty() {
            let seg = w.segment_at_pos()?;
            let pos = w.guard.pos - seg.base();
            let n = ((seg.size() - pos) as usize).min(data.len());
            // SAFETY: single writer under the lock, above the published offset.
            unsafe { seg.slice_mut(pos, n) }.copy_from_slice(&data[..n]);
            w.guard.pos += n as u64;
            data = &data[n..];
        }
        let end = w.guard.pos;
        self.written.publish(end);
        Ok(end)
    }
}

/// The put lock. Placing, encoding and publishing happen through it.
pub(crate) struct WriterGuard<'a> {
    log: &'a CommitLog,
    guard: MutexGuard<'a, Writer>,
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        self.log.locked_since.store(0, Ordering::Relaxed);
    }
}

impl WriterGuard<'_> {
    /// Store timestamp for the next put: `now`, never older than the last one.
    pub fn store_timestamp(&mut self, now: i64) -> i64 {
        let ts = now.max(self.guard.last_store_timestamp);
        self.guard.last_store_timestamp = ts;
        ts
    }

    /// Replaces every queue's next offset, `topic → queue id → offset`, with
    /// the consume queues' (at open, and when a slave turns master:
    /// replication may have grown them).
    pub fn restore_queue_offsets(&mut self, next_offsets: HashMap<String, HashMap<i32, u64>>) {
        self.guard.queue_offsets = next_offsets;
    }

    /// Forgets the queue offsets of a deleted topic: it starts again at 0.
    pub fn forget_topic(&mut self, topic: &str) {
        self.guard.queue_offsets.remove(topic);
    }

    /// Assigns `count` consecutive queue offsets, or 0 without advancing for
    /// prepared/rollback transaction records: they never enter a consume queue.
    pub fn next_queue_offset(&mut self, topic: &str, queue_id: i32, sys_flag: i32, count: u64) -> u64 {
        let kind = sysflag::transaction_type(sys_flag);
        if kind == sysflag::TRANSACTION_PREPARED_TYPE || kind == sysflag::TRANSACTION_ROLLBACK_TYPE {
            return 0;
        }
        let queues = match self.guard.queue_offsets.get_mut(topic) {
            Some(q) => q,
            None => self.guard.queue_offsets.entry(topic.to_owned()).or_default(),
        };
        let next = queues.entry(queue_id).or_insert(0);
        let first = *next;
        *next += count;
        first
    }

    /// The segment holding the write position, creating it at a file boundary
    /// (or taking the one prepared ahead).
    fn segment_at_pos(&mut self) -> Result<Arc<Segment>> {
        let pos = self.guard.pos;
        if let Some(seg) = self.guard.current.as_ref().filter(|s| s.base() <= pos && pos < s.end()) {
            return Ok(seg.clone());
        }
        let seg = match self.log.segment_for(pos) {
            Some(seg) => seg,
            None => {
                debug_assert_eq!(pos % self.log.file_size, 0, "new files start at file boundaries");
                // Held until the new file is in the chain: the preparer checks
                // the chain under this lock before it creates the same file,
                // which would fail one of the two creations.
                let mut prepared = self.log.next.lock().unwrap_or_else(|p| p.into_inner());
                let seg = match prepared.take().filter(|s| s.base() == pos) {
                    Some(seg) => seg,
                    None => {
                        let path = self.log.dir.join(segment::file_name(pos));
                        Arc::new(Segment::create(path, pos, self.log.file_size)?)
                    }
                };
                self.log.segments.write().unwrap_or_else(|p| p.into_inner()).push(seg.clone());
                drop(prepared);
                seg
            }
        };
        self.guard.current = Some(seg.clone());
        Ok(seg)
    }

    /// Reserves `len` bytes in one file for one record or one whole batch,
    /// writing the end-of-file blank and moving to a new file when the current
    /// one cannot hold them plus a blank marker. Returns the segment and the
    /// global offset of the reserved bytes.
    pub fn reserve(&mut self, len: usize) -> Result<(Arc<Segment>, u64)> {
        if len as u64 + BLANK_LEN as u64 > self.log.file_size {
            return Err(StoreError::MessageIllegal(format!(
                "a record of {len} bytes does not fit into a CommitLog file of {} bytes",
                self.log.file_size
            )));
        }
        let seg = self.segment_at_pos()?;
        let pos = self.guard.pos - seg.base();
        let left = seg.size() - pos;
        if len as u64 + BLANK_LEN as u64 <= left {
            return Ok((seg, self.guard.pos));
        }
        let blank = record::encode_blank(left as u32);
        // SAFETY: single writer under the lock, above the published offset.
        unsafe { seg.slice_mut(pos, BLANK_LEN) }.copy_from_slice(&blank);
        self.guard.pos = seg.end();
        let next = self.segment_at_pos()?;
        Ok((next, self.guard.pos))
    }

    /// Encodes `msgs` back to back at the reserved `offset`, advances the write
    /// position and publishes it. `crcs[i]` is the body CRC of `msgs[i]`.
    #[allow(clippy::too_many_arguments)]
    pub fn write_records(
        &mut self,
        seg: &Segment,
        offset: u64,
        msgs: &[NewMessage<'_>],
        crcs: &[i32],
        first_queue_offset: u64,
        store_timestamp: i64,
        store_host: std::net::SocketAddr,
    ) -> Result<u64> {
        let mut at = offset;
        let transactional = msgs.first().is_some_and(|m| {
            let kind = sysflag::transaction_type(m.sys_flag);
            kind == sysflag::TRANSACTION_PREPARED_TYPE || kind == sysflag::TRANSACTION_ROLLBACK_TYPE
        });
        for (i, (msg, crc)) in msgs.iter().zip(crcs).enumerate() {
            let len = msg.record_len(store_host);
            let placement = Placement {
                queue_offset: if transactional { 0 } else { (first_queue_offset + i as u64) as i64 },
                physical_offset: at as i64,
                store_timestamp,
                store_host,
            };
            // SAFETY: the range was reserved above the published offset and the
            // lock makes us the only writer.
            let out = unsafe { seg.slice_mut(at - seg.base(), len) };
            record::encode_into(msg, &placement, *crc, out)?;
            at += len as u64;
        }
        self.guard.pos = at;
        self.log.written.publish(at);
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_the_first_put_there_is_nothing_to_prepare() {
        let dir = tempfile::tempdir().unwrap();
        let commitlog = CommitLog::load(dir.path(), 64 * 1024).unwrap();
        // No file yet: the round does nothing and says so, so that the
        // preparer waits for a put instead of asking again at once.
        assert!(!commitlog.prepare_ahead().unwrap());
        assert!(!commitlog.prepare_ahead().unwrap());
        assert!(commitlog.segments().is_empty(), "no file made before the first put");
    }
}
