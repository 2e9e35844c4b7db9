//! Consume queues: per (topic, queue id), the 20-byte entries that point into
//! the CommitLog (offset, size, tag code), under
//! `consumequeue/<topic>/<queueId>/`, as Java's
//! [`ConsumeQueue`](https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/store/src/main/java/org/apache/rocketmq/store/ConsumeQueue.java).
//!
//! Entry `n` (the queue offset) lives at byte `n * 20` of the queue's stream,
//! which is cut into files named by their start byte. Only the dispatcher
//! writes; entries below the published `max` never change, so pulls read
//! them without locks. Invariant: `min ≤ max`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::error::{Result, StoreError};
use crate::segment::{self, Segment, load_segments};

/// Bytes per consume-queue entry (`CQ_STORE_UNIT_SIZE`).
pub const CQ_UNIT: u64 = 20;

/// One consume-queue entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CqEntry {
    /// CommitLog offset of the record.
    pub physical_offset: u64,
    /// Record size in bytes.
    pub size: u32,
    /// Tag hash, or the delivery time for `SCHEDULE_TOPIC_XXXX`.
    pub tags_code: i64,
}

impl CqEntry {
    /// What Java writes for positions before a queue's first real entry.
    const BLANK: CqEntry = CqEntry { physical_offset: 0, size: i32::MAX as u32, tags_code: 0 };

    fn encode(&self) -> [u8; 20] {
        let mut out = [0; 20];
        out[..8].copy_from_slice(&self.physical_offset.to_be_bytes());
        out[8..12].copy_from_slice(&self.size.to_be_bytes());
        out[12..].copy_from_slice(&self.tags_code.to_be_bytes());
        out
    }

    fn decode(b: &[u8]) -> CqEntry {
        let mut p = [0; 8];
        p.copy_from_slice(&b[..8]);
        let mut s = [0; 4];
        s.copy_from_slice(&b[8..12]);
        let mut t = [0; 8];
        t.copy_from_slice(&b[12..20]);
        CqEntry {
            physical_offset: u64::from_be_bytes(p),
            size: u32::from_be_bytes(s),
            tags_code: i64::from_be_bytes(t),
        }
    }

    /// Java's recovery test: offset ≥ 0 and size > 0.
    fn is_valid(&self) -> bool {
        (self.physical_offset as i64) >= 0 && (self.size as i32) > 0
    }
}

pub(crate) struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    dir: PathBuf,
    file_size: u64,
    segments: RwLock<Vec<Arc<Segment>>>,
    /// Next queue offset (entries written), published with release ordering.
    max: AtomicU64,
    min: AtomicU64,
    /// Bytes of the stream known flushed.
    flushed: AtomicU64,
    /// End (offset + size) of the last entry's record.
    max_physical_end: AtomicU64,
}

impl std::fmt::Debug for ConsumeQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConsumeQueue({}:{})", self.topic, self.queue_id)
    }
}

/// A run of published entries inside one file, for pulls.
pub(crate) struct EntrySlice {
    seg: Arc<Segment>,
    pos: u64,
    pub count: u64,
}

impl EntrySlice {
    pub fn get(&self, i: u64) -> CqEntry {
        assert!(i < self.count);
        // SAFETY: the slice was built from entries below the published max.
        CqEntry::decode(unsafe { self.seg.slice(self.pos + i * CQ_UNIT, CQ_UNIT as usize) })
    }
}

impl ConsumeQueue {
    pub fn new(root: &Path, topic: &str, queue_id: i32, file_size: u64) -> ConsumeQueue {
        ConsumeQueue {
            topic: topic.to_owned(),
            queue_id,
            dir: root.join(topic).join(queue_id.to_string()),
            file_size,
            segments: RwLock::new(Vec::new()),
            max: AtomicU64::new(0),
            min: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            max_physical_end: AtomicU64::new(0),
        }
    }

    /// Loads the queue's files and finds its end: scanning from the third-last
    /// file, the first invalid entry ends the queue; what follows is zeroed.
    pub fn load(root: &Path, topic: &str, queue_id: i32, file_size: u64) -> Result<ConsumeQueue> {
        let cq = ConsumeQueue::new(root, topic, queue_id, file_size);
        let segs = load_segments(&cq.dir, file_size, "consume queue")?;
        let Some(first) = segs.first() else {
            return Ok(cq);
        };
        cq.min.store(first.base() / CQ_UNIT, Ordering::Relaxed);
        let start = segs.len().saturating_sub(3);
        let mut end = segs[start].base();
        let mut max_physical_end = 0;
        'files: for seg in &segs[start..] {
            let mut pos = 0;
            while pos + CQ_UNIT <= seg.size() {
                // SAFETY: loading, no other thread sees this queue yet.
                let entry = CqEntry::decode(unsafe { seg.slice(pos, CQ_UNIT as usize) });
                if !entry.is_valid() {
                    end = seg.base() + pos;
                    break 'files;
                }
                if entry != CqEntry::BLANK {
                    max_physical_end = entry.physical_offset + u64::from(entry.size);
                }
                pos += CQ_UNIT;
            }
            end = seg.end();
        }
        *cq.segments.write().unwrap_or_else(|p| p.into_inner()) = segs;
        cq.max_physical_end.store(max_physical_end, Ordering::Relaxed);
        cq.cut_at(end / CQ_UNIT)?;
        Ok(cq)
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    pub fn min_offset(&self) -> u64 {
        self.min.load(Ordering::Acquire)
    }

    pub fn max_offset(&self) -> u64 {
        self.max.load(Ordering::Acquire)
    }

    /// End of the CommitLog range this queue has indexed.
    pub fn max_physical_end(&self) -> u64 {
        self.max_physical_end.load(Ordering::Acquire)
    }

    fn segment_for(&self, byte: u64) -> Option<Arc<Segment>> {
        let segs = self.segments.read().unwrap_or_else(|p| p.into_inner());
        let first = segs.first()?.base();
        let idx = usize::try_from(byte.checked_sub(first)? / self.file_size).ok()?;
        segs.get(idx).filter(|s| s.base() <= byte && byte < s.end()).cloned()
    }

    /// The entry at queue offset `q`, if published and still stored.
    pub fn entry(&self, q: u64) -> Option<CqEntry> {
        if q >= self.max_offset() || q < self.min_offset() {
            return None;
        }
        let slice = self.entries_from(q)?;
        (slice.count > 0).then(|| slice.get(0))
    }

    /// The published entries from `q` to the end of the file holding it, or
    /// `None` when that file is gone (Java's `getIndexBuffer`).
    pub fn entries_from(&self, q: u64) -> Option<EntrySlice> {
        let max = self.max_offset();
        if q >= max {
            return None;
        }
        let byte = q * CQ_UNIT;
        let seg = self.segment_for(byte)?;
        let end = (max * CQ_UNIT).min(seg.end());
        Some(EntrySlice { pos: byte - seg.base(), count: (end - byte) / CQ_UNIT, seg })
    }

    /// Queue offset where the file after the one holding `q` starts.
    pub fn roll_next_file(&self, q: u64) -> u64 {
        let per_file = self.file_size / CQ_UNIT;
        q - q % per_file + per_file
    }

    /// Writes the entry for queue offset `q`. Entries already present (a
    /// re-dispatch after recovery) are skipped; a gap of up to one file's
    /// units is filled with blanks. A wider gap can only come from a broken
    /// or hostile source (a replicated record's claim): the entry is then
    /// appended at the queue's end, as Java does, rather than writing blanks
    /// without bound. Returns the queue offset written, `None` if the entry
    /// was already there. Dispatcher thread only.
    pub fn put(&self, q: u64, entry: CqEntry) -> Result<Option<u64>> {
        let max = self.max_offset();
        if q < max || (max > 0 && entry.physical_offset < self.max_physical_end()) {
            return Ok(None);
        }
        let per_file = self.file_size / CQ_UNIT;
        let mut q = q;
        let mut at = max;
        if q > max {
            if self.segments.read().unwrap_or_else(|p| p.into_inner()).is_empty() {
                at = q - q % per_file;
                self.min.store(q, Ordering::Release);
            } else if q - max > per_file {
                tracing::error!(queue = ?self, expected = max, got = q, "consume queue order wrong: entry appended at the end");
                q = max;
            } else {
                tracing::error!(queue = ?self, expected = max, got = q, "consume queue gap filled with blanks");
            }
            while at < q {
                self.write_at(at, CqEntry::BLANK)?;
                at += 1;
            }
        }
        self.write_at(q, entry)?;
        self.max_physical_end.store(entry.physical_offset + u64::from(entry.size), Ordering::Release);
        self.max.store(q + 1, Ordering::Release);
        Ok(Some(q))
    }

    fn write_at(&self, q: u64, entry: CqEntry) -> Result<()> {
        let byte = q * CQ_UNIT;
        let seg = match self.segment_for(byte) {
            Some(seg) => seg,
            None => {
                std::fs::create_dir_all(&self.dir).map_err(|e| StoreError::io(&self.dir, "create directory", e))?;
                let base = byte - byte % self.file_size;
                let seg = Arc::new(Segment::create(self.dir.join(segment::file_name(base)), base, self.file_size)?);
                self.segments.write().unwrap_or_else(|p| p.into_inner()).push(seg.clone());
                seg
            }
        };
        // SAFETY: the dispatcher is the only writer and `q` is at or above the
        // published max, which readers never pass.
        unsafe { seg.slice_mut(byte - seg.base(), CQ_UNIT as usize) }.copy_from_slice(&entry.encode());
        Ok(())
    }

    /// Recovery: drops entries that point at or past `physical_end`.
    pub fn truncate_dirty(&self, physical_end: u64) -> Result<()> {
        let mut max = self.max_offset();
        let min = self.min_offset();
        let mut new_end = 0;
        while max > min {
            match self.entry(max - 1) {
                Some(e) if e.physical_offset >= physical_end => max -= 1,
                Some(e) => {
                    new_end = e.physical_offset + u64::from(e.size);
                    break;
                }
                None => break,
            }
        }
        if max < self.max_offset() {
            tracing::warn!(queue = ?self, from = self.max_offset(), to = max, "consume queue entries past the CommitLog end cut");
            self.max_physical_end.store(new_end, Ordering::Release);
            self.cut_at(max)?;
        }
        Ok(())
    }

    /// Sets the end to `q`: later files deleted, the rest of its file zeroed.
    fn cut_at(&self, q: u64) -> Result<()> {
        let byte = q * CQ_UNIT;
        let mut segs = self.segments.write().unwrap_or_else(|p| p.into_inner());
        while segs.last().is_some_and(|s| s.base() > byte || (s.base() == byte && segs.len() > 1)) {
            if let Some(s) = segs.pop() {
                s.delete_file()?;
            }
        }
        if let Some(last) = segs.last().filter(|s| byte < s.end() && byte >= s.base()) {
            // SAFETY: recovery only; no reader sees entries at or past `q`.
            unsafe { last.zero_from(byte - last.base())? };
        }
        drop(segs);
        self.max.store(q, Ordering::Release);
        self.flushed.store(byte, Ordering::Release);
        if self.min_offset() > q {
            self.min.store(q, Ordering::Release);
        }
        Ok(())
    }

    /// Flushes written entries if at least `least_pages` 4 KiB pages are dirty.
    pub fn flush(&self, least_pages: u64) -> Result<()> {
        let end = self.max_offset() * CQ_UNIT;
        let from = self.flushed.load(Ordering::Acquire);
        if end <= from || (least_pages > 0 && (end - from) / 4096 < least_pages) {
            return Ok(());
        }
        let segs = self.segments.read().unwrap_or_else(|p| p.into_inner()).clone();
        for seg in segs {
            let (lo, hi) = (from.max(seg.base()), end.min(seg.end()));
            if lo < hi {
                seg.flush(lo - seg.base(), hi - seg.base())?;
            }
        }
        self.flushed.store(end, Ordering::Release);
        Ok(())
    }

    /// Retention: deletes whole files whose last entry points below
    /// `commitlog_min` (never the newest file), then moves `min` to the first
    /// entry still backed by the CommitLog. Returns the files deleted.
    pub fn delete_expired(&self, commitlog_min: u64) -> Result<usize> {
        let mut deleted = 0;
        loop {
            let mut segs = self.segments.write().unwrap_or_else(|p| p.into_inner());
            if segs.len() <= 1 {
                break;
            }
            let first = &segs[0];
            // SAFETY: a non-last file is full, so its last entry is published.
            let last = CqEntry::decode(unsafe { first.slice(first.size() - CQ_UNIT, CQ_UNIT as usize) });
            // A damaged entry (an end past u64) keeps its file, never deletes it.
            if last.physical_offset.checked_add(u64::from(last.size)).is_none_or(|end| end > commitlog_min) {
                break;
            }
            let seg = segs.remove(0);
            drop(segs);
            seg.delete_file()?;
            deleted += 1;
        }
        self.correct_min(commitlog_min);
        Ok(deleted)
    }

    /// Moves `min` to the first entry at or past `commitlog_min`.
    pub fn correct_min(&self, commitlog_min: u64) {
        let first_file = {
            let segs = self.segments.read().unwrap_or_else(|p| p.into_inner());
            segs.first().map(|s| s.base() / CQ_UNIT)
        };
        let Some(mut q) = first_file else { return };
        q = q.max(self.min_offset());
        let max = self.max_offset();
        while q < max {
            match self.entry_unchecked(q) {
                Some(e) if e != CqEntry::BLANK && e.physical_offset >= commitlog_min => break,
                Some(_) => q += 1,
                None => break,
            }
        }
        self.min.store(q.min(max), Ordering::Release);
    }

    fn entry_unchecked(&self, q: u64) -> Option<CqEntry> {
        let slice = self.entries_from(q)?;
        (slice.count > 0).then(|| slice.get(0))
    }

    /// Deletes every file of the queue and its directory.
    pub fn destroy(&self) -> Result<()> {
        let mut segs = self.segments.write().unwrap_or_else(|p| p.into_inner());
        for s in segs.drain(..) {
            s.delete_file()?;
        }
        let _ = std::fs::remove_dir(&self.dir);
        if let Some(parent) = self.dir.parent() {
            let _ = std::fs::remove_dir(parent);
        }
        Ok(())
    }
}

/// All consume queues: `topic → queue id → queue`, under one root directory,
/// all with files of one size.
pub(crate) struct QueueTable {
    root: PathBuf,
    file_size: u64,
    queues: RwLock<HashMap<String, HashMap<i32, Arc<ConsumeQueue>>>>,
}

impl QueueTable {
    /// Loads every queue under `root` (`<topic>/<queueId>/<files>`).
    pub fn load(root: &Path, file_size: u64) -> Result<QueueTable> {
        let table = QueueTable { root: root.to_owned(), file_size, queues: RwLock::default() };
        std::fs::create_dir_all(root).map_err(|e| StoreError::io(root, "create directory", e))?;
        let mut map = HashMap::new();
        for topic in std::fs::read_dir(root).map_err(|e| StoreError::io(root, "list directory", e))? {
            let topic = topic.map_err(|e| StoreError::io(root, "list directory", e))?;
            let topic_path = topic.path();
            let Some(topic_name) = topic.file_name().to_str().map(str::to_owned) else {
                return Err(StoreError::bad_file(topic_path, "topic directory name is not UTF-8"));
            };
            if !topic_path.is_dir() {
                return Err(StoreError::bad_file(topic_path, "foreign file in the consumequeue directory"));
            }
            let mut queues = HashMap::new();
            for queue in std::fs::read_dir(&topic_path).map_err(|e| StoreError::io(&topic_path, "list", e))? {
                let queue = queue.map_err(|e| StoreError::io(&topic_path, "list", e))?;
                let Some(id) = queue.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                    return Err(StoreError::bad_file(queue.path(), "queue directory name is not a queue id"));
                };
                queues.insert(id, Arc::new(ConsumeQueue::load(root, &topic_name, id, file_size)?));
            }
            map.insert(topic_name, queues);
        }
        *table.queues.write().unwrap_or_else(|p| p.into_inner()) = map;
        Ok(table)
    }

    pub fn get(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.queues.read().unwrap_or_else(|p| p.into_inner()).get(topic)?.get(&queue_id).cloned()
    }

    pub fn get_or_create(&self, topic: &str, queue_id: i32) -> Arc<ConsumeQueue> {
        if let Some(q) = self.get(topic, queue_id) {
            return q;
        }
        let mut map = self.queues.write().unwrap_or_else(|p| p.into_inner());
        map.entry(topic.to_owned())
            .or_default()
            .entry(queue_id)
            .or_insert_with(|| Arc::new(ConsumeQueue::new(&self.root, topic, queue_id, self.file_size)))
            .clone()
    }

    pub fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        let map = self.queues.read().unwrap_or_else(|p| p.into_inner());
        map.values().flat_map(|q| q.values().cloned()).collect()
    }

    /// Every queue's next offset (its max), `topic → queue id → offset`.
    pub fn next_offsets(&self) -> HashMap<String, HashMap<i32, u64>> {
        let map = self.queues.read().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .map(|(topic, queues)| (topic.clone(), queues.iter().map(|(id, q)| (*id, q.max_offset())).collect()))
            .collect()
    }

    pub fn topics(&self) -> Vec<String> {
        self.queues.read().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect()
    }

    pub fn remove_topic(&self, topic: &str) -> Vec<Arc<ConsumeQueue>> {
        let mut map = self.queues.write().unwrap_or_else(|p| p.into_inner());
        map.remove(topic).map(|q| q.into_values().collect()).unwrap_or_default()
    }

    pub fn remove_all(&self) -> Vec<Arc<ConsumeQueue>> {
        let mut map = self.queues.write().unwrap_or_else(|p| p.into_inner());
        map.drain().flat_map(|(_, q)| q.into_values()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(physical_offset: u64) -> CqEntry {
        CqEntry { physical_offset, size: 100, tags_code: 0 }
    }

    #[test]
    fn small_gaps_are_blanked_and_wild_offsets_append_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::new(dir.path(), "T", 0, 3_000 * CQ_UNIT);
        assert_eq!(cq.put(0, entry(0)).unwrap(), Some(0));
        assert_eq!(cq.put(0, entry(0)).unwrap(), None, "already there");
        assert_eq!(cq.put(5, entry(100)).unwrap(), Some(5), "a gap within a file is blanked");
        assert_eq!(cq.entry(3).map(|e| e.physical_offset), Some(CqEntry::BLANK.physical_offset));
        // A claim of offset 2^60 would otherwise write blanks for ever.
        assert_eq!(cq.put(1 << 60, entry(200)).unwrap(), Some(6));
        assert_eq!(cq.max_offset(), 7);
        assert_eq!(cq.entry(6).map(|e| e.physical_offset), Some(200));
    }
}
