//! Index files: hash index from `topic#key` to CommitLog offsets, under
//! `index/<yyyyMMddHHmmssSSS>`, in the layout of Java's
//! [`IndexFile`](https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/store/src/main/java/org/apache/rocketmq/store/index/IndexFile.java).
//!
//! A file is a 40-byte header, `slots` 4-byte hash slots and `entries` 20-byte
//! entries; each slot holds the newest entry of its bucket and entries chain to
//! older ones. Slots are rewritten in place, so every access to the files goes
//! through one mutex: the dispatcher writes, queries read.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rmq_model::java::string_hash_code;

use crate::error::{Result, StoreError};
use crate::segment::Segment;

/// Bytes of the index file header.
pub const INDEX_HEADER_LEN: u64 = 40;
/// Bytes of one hash slot.
pub const INDEX_SLOT_LEN: u64 = 4;
/// Bytes of one index entry.
pub const INDEX_ENTRY_LEN: u64 = 20;

/// Size of an index file with these dimensions.
pub fn index_file_size(slots: u32, entries: u32) -> u64 {
    INDEX_HEADER_LEN + u64::from(slots) * INDEX_SLOT_LEN + u64::from(entries) * INDEX_ENTRY_LEN
}

/// `abs(String.hashCode(key))`, 0 where Java's `Math.abs` overflows.
pub fn key_hash(key: &str) -> i32 {
    let h = string_hash_code(key).wrapping_abs();
    h.max(0)
}

struct IndexFile {
    seg: Segment,
    slots: u32,
    entries: u32,
}

/// The 40-byte header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Header {
    begin_timestamp: i64,
    end_timestamp: i64,
    begin_phy_offset: i64,
    end_phy_offset: i64,
    hash_slot_count: i32,
    index_count: i32,
}

impl IndexFile {
    // All methods run under the service mutex, which makes each caller the
    // only one touching the mapping: that is the safety argument for every
    // `slice`/`slice_mut` below.

    fn read(&self, pos: u64, len: usize) -> &[u8] {
        // SAFETY: exclusive under the index mutex (see above).
        unsafe { self.seg.slice(pos, len) }
    }

    fn write(&self, pos: u64, bytes: &[u8]) {
        // SAFETY: exclusive under the index mutex (see above).
        unsafe { self.seg.slice_mut(pos, bytes.len()) }.copy_from_slice(bytes);
    }

    fn i32_at(&self, pos: u64) -> i32 {
        i32::from_be_bytes(self.read(pos, 4).try_into().unwrap_or_default())
    }

    fn i64_at(&self, pos: u64) -> i64 {
        i64::from_be_bytes(self.read(pos, 8).try_into().unwrap_or_default())
    }

    fn header(&self) -> Header {
        Header {
            begin_timestamp: self.i64_at(0),
            end_timestamp: self.i64_at(8),
            begin_phy_offset: self.i64_at(16),
            end_phy_offset: self.i64_at(24),
            hash_slot_count: self.i32_at(32),
            index_count: self.i32_at(36),
        }
    }

    fn set_header(&self, h: &Header) {
        self.write(0, &h.begin_timestamp.to_be_bytes());
        self.write(8, &h.end_timestamp.to_be_bytes());
        self.write(16, &h.begin_phy_offset.to_be_bytes());
        self.write(24, &h.end_phy_offset.to_be_bytes());
        self.write(32, &h.hash_slot_count.to_be_bytes());
        self.write(36, &h.index_count.to_be_bytes());
    }

    fn slot_pos(&self, hash: i32) -> u64 {
        INDEX_HEADER_LEN + (hash as u64 % u64::from(self.slots)) * INDEX_SLOT_LEN
    }

    fn entry_pos(&self, n: i32) -> u64 {
        INDEX_HEADER_LEN + u64::from(self.slots) * INDEX_SLOT_LEN + n as u64 * INDEX_ENTRY_LEN
    }

    fn is_full(&self) -> bool {
        self.header().index_count as u32 >= self.entries
    }

    /// Adds one key; `false` when the file is full.
    fn put(&self, key: &str, phy_offset: u64, store_timestamp: i64) -> bool {
        let mut h = self.header();
        if h.index_count as u32 >= self.entries {
            return false;
        }
        let hash = key_hash(key);
        let slot_pos = self.slot_pos(hash);
        let mut prev = self.i32_at(slot_pos);
        if prev <= 0 || prev > h.index_count {
            prev = 0;
        }
        if h.index_count <= 1 {
            h.begin_phy_offset = phy_offset as i64;
            h.begin_timestamp = store_timestamp;
        }
        let diff = if h.begin_timestamp <= 0 {
            0
        } else {
            ((store_timestamp - h.begin_timestamp) / 1000).clamp(0, i64::from(i32::MAX)) as i32
        };
        let n = h.index_count.max(1);
        let at = self.entry_pos(n);
        self.write(at, &hash.to_be_bytes());
        self.write(at + 4, &(phy_offset as i64).to_be_bytes());
        self.write(at + 12, &diff.to_be_bytes());
        self.write(at + 16, &prev.to_be_bytes());
        self.write(slot_pos, &n.to_be_bytes());
        if prev == 0 {
            h.hash_slot_count += 1;
        }
        h.index_count = n + 1;
        h.end_phy_offset = phy_offset as i64;
        h.end_timestamp = store_timestamp;
        self.set_header(&h);
        true
    }

    fn time_matches(&self, begin: i64, end: i64) -> bool {
        let h = self.header();
        (begin < h.begin_timestamp && end > h.end_timestamp)
            || (begin >= h.begin_timestamp && begin <= h.end_timestamp)
            || (end >= h.begin_timestamp && end <= h.end_timestamp)
    }

    /// Walks the key's chain, newest first, collecting offsets in `[begin, end]`.
    fn select(&self, key: &str, max: usize, begin: i64, end: i64, out: &mut Vec<u64>) {
        let h = self.header();
        let hash = key_hash(key);
        let mut n = self.i32_at(self.slot_pos(hash));
        // Entry numbers read from the file are trusted only within both the
        // header's count and the file's capacity (a corrupted header must
        // not send the walk past the mapping).
        let last = i64::from(h.index_count).min(i64::from(self.entries) - 1);
        let valid = |n: i32| n > 0 && i64::from(n) <= last;
        if !valid(n) || h.index_count <= 1 {
            return;
        }
        // Every step moves to a strictly older entry, so the walk ends.
        let mut steps = 0u32;
        while out.len() < max && steps <= self.entries {
            steps += 1;
            let at = self.entry_pos(n);
            let read_hash = self.i32_at(at);
            let phy = self.i64_at(at + 4);
            let diff = self.i32_at(at + 12);
            let prev = self.i32_at(at + 16);
            if diff < 0 {
                break;
            }
            let time = h.begin_timestamp + i64::from(diff) * 1000;
            if read_hash == hash && time >= begin && time <= end && phy >= 0 {
                out.push(phy as u64);
            }
            if !valid(prev) || prev == n || time < begin {
                break;
            }
            n = prev;
        }
    }
}

/// Keys found by [`IndexService::query`], with the index's progress.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct IndexHits {
    pub offsets: Vec<u64>,
    pub last_update_timestamp: i64,
    pub last_update_phy_offset: i64,
}

pub(crate) struct IndexService {
    dir: PathBuf,
    slots: u32,
    entries: u32,
    files: Mutex<Vec<Arc<IndexFile>>>,
}

impl IndexService {
    /// Loads `index/`. Files of another size (other `maxHashSlotNum` /
    /// `maxIndexNum`) are skipped with a warning; after an abnormal exit files
    /// newer than the checkpoint are deleted (they are rebuilt by re-dispatch).
    pub fn load(dir: &Path, slots: u32, entries: u32, delete_after: Option<i64>) -> Result<IndexService> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, "create directory", e))?;
        let mut names = Vec::new();
        for e in std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, "list directory", e))? {
            let e = e.map_err(|e| StoreError::io(dir, "list directory", e))?;
            names.push(e.path());
        }
        names.sort();
        let size = index_file_size(slots, entries);
        let mut files = Vec::new();
        for path in names {
            let len = std::fs::metadata(&path).map_err(|e| StoreError::io(&path, "stat", e))?.len();
            if len != size {
                tracing::warn!(file = %path.display(), len, expected = size, "index file of another size skipped");
                continue;
            }
            let file = IndexFile { seg: Segment::open(path.clone(), 0)?, slots, entries };
            if delete_after.is_some_and(|ts| file.header().end_timestamp > ts) {
                tracing::info!(file = %path.display(), "deleting index file newer than the checkpoint");
                file.seg.delete_file()?;
                continue;
            }
            files.push(Arc::new(file));
        }
        Ok(IndexService { dir: dir.to_owned(), slots, entries, files: Mutex::new(files) })
    }

    /// Indexes `topic#key` for each key of one record. Skips records at or
    /// below what the newest file already holds (re-dispatch after recovery).
    pub fn add<'k>(
        &self,
        topic: &str,
        keys: impl Iterator<Item = &'k str>,
        phy_offset: u64,
        store_timestamp: i64,
        now_ms: i64,
    ) -> Result<()> {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if files.last().is_some_and(|f| phy_offset as i64 <= f.header().end_phy_offset && f.header().index_count > 1) {
            return Ok(());
        }
        let mut key = String::with_capacity(topic.len() + 40);
        for k in keys {
            key.clear();
            key.push_str(topic);
            key.push('#');
            key.push_str(k);
            if files.last().is_none_or(|f| f.is_full()) {
                let prev = files.last().map(|f| f.header());
                let file = self.create(now_ms, files.len())?;
                if let Some(prev) = prev {
                    let mut h = file.header();
                    h.begin_phy_offset = prev.end_phy_offset;
                    h.begin_timestamp = prev.end_timestamp;
                    h.end_phy_offset = prev.end_phy_offset;
                    h.end_timestamp = prev.end_timestamp;
                    file.set_header(&h);
                }
                files.push(Arc::new(file));
            }
            if let Some(f) = files.last() {
                f.put(&key, phy_offset, store_timestamp);
            }
        }
        Ok(())
    }

    fn create(&self, now_ms: i64, n: usize) -> Result<IndexFile> {
        use chrono::TimeZone;
        let time = chrono::Local.timestamp_millis_opt(now_ms).single().unwrap_or_else(chrono::Local::now);
        let mut name = time.format("%Y%m%d%H%M%S%3f").to_string();
        // Two files created in the same millisecond keep distinct, ordered names.
        while self.dir.join(&name).exists() {
            name.push_str(&format!("{n}"));
        }
        let seg = Segment::create(self.dir.join(name), 0, index_file_size(self.slots, self.entries))?;
        Ok(IndexFile { seg, slots: self.slots, entries: self.entries })
    }

    /// Offsets of records indexed under `topic#key` stored in `[begin, end]`
    /// (ms), newest file first, at most `max`.
    pub fn query(&self, topic: &str, key: &str, max: usize, begin: i64, end: i64) -> IndexHits {
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        let mut hits = IndexHits::default();
        if let Some(last) = files.last() {
            let h = last.header();
            hits.last_update_timestamp = h.end_timestamp;
            hits.last_update_phy_offset = h.end_phy_offset;
        }
        let full_key = format!("{topic}#{key}");
        for f in files.iter().rev() {
            if hits.offsets.len() >= max {
                break;
            }
            if f.time_matches(begin, end) {
                f.select(&full_key, max, begin, end, &mut hits.offsets);
            }
            if f.header().begin_timestamp < begin {
                break;
            }
        }
        hits
    }

    /// Flushes every file; returns the newest end timestamp (for the checkpoint).
    pub fn flush(&self) -> Result<i64> {
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        for f in files.iter() {
            f.seg.flush(0, f.seg.size())?;
        }
        Ok(files.last().map_or(0, |f| f.header().end_timestamp))
    }

    /// Retention: deletes files (never the newest) whose entries all point
    /// below `commitlog_min`.
    pub fn delete_expired(&self, commitlog_min: u64) -> Result<usize> {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        let mut deleted = 0;
        while files.len() > 1 && (files[0].header().end_phy_offset as u64) < commitlog_min {
            let f = files.remove(0);
            f.seg.delete_file()?;
            deleted += 1;
        }
        Ok(deleted)
    }

    /// Deletes every index file (the CommitLog is gone).
    pub fn destroy(&self) -> Result<()> {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        for f in files.drain(..) {
            f.seg.delete_file()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_chains() {
        let dir = tempfile::tempdir().unwrap();
        let svc = IndexService::load(dir.path(), 4, 8, None).unwrap();
        let t0 = 1_700_000_000_000;
        for i in 0..5u64 {
            svc.add("T", ["k1", "k2"].into_iter(), 100 * (i + 1), t0 + i as i64 * 1000, t0).unwrap();
        }
        // Re-adding an old offset is skipped.
        svc.add("T", ["k1"].into_iter(), 100, t0, t0).unwrap();
        let hits = svc.query("T", "k1", 10, 0, i64::MAX);
        // 8 entries per file, 7 usable (entry 0 unused): the second file holds the rest.
        assert_eq!(hits.offsets, vec![500, 400, 300, 200, 100]);
        assert_eq!(hits.last_update_phy_offset, 500);
        assert_eq!(svc.query("T", "k1", 2, 0, i64::MAX).offsets, vec![500, 400]);
        assert_eq!(svc.query("T", "k1", 10, t0 + 3000, i64::MAX).offsets, vec![500, 400]);
        assert!(svc.query("T", "nope", 10, 0, i64::MAX).offsets.is_empty());
        // The first file's header (40 bytes), slots (4 bytes) and entries (20
        // bytes: key hash, offset, seconds since the file began, previous entry).
        let files = svc.files.lock().unwrap();
        let f = &files[0];
        assert_eq!(f.seg.size(), 40 + 4 * 4 + 8 * 20);
        let h = f.header();
        assert_eq!((h.begin_timestamp, h.begin_phy_offset, h.index_count), (t0, 100, 8));
        let hash = key_hash("T#k1");
        let slot = f.i32_at(40 + (hash as u64 % 4) * 4);
        assert!(slot > 0);
        assert_eq!(f.i32_at(f.entry_pos(1)), hash);
        assert_eq!(f.i64_at(f.entry_pos(1) + 4), 100);
    }

    #[test]
    fn key_hash_is_java_abs() {
        assert_eq!(key_hash("TopicTest#key-1"), 204089217);
        assert!(key_hash("polygenelubricants") >= 0);
    }
}
