//! The timer log: an append-only sequence of fixed-size [`Entry`]s in
//! segment files, the only place where pending timers are kept. The wheel
//! is an index over it, rebuilt by one sequential scan when the broker
//! starts.
//!
//! Files: `<dir>/<20-digit byte position of the segment's first entry>`,
//! [`SEGMENT_BYTES`] each at most. Segments are written with positioned
//! writes (the broker crate forbids `unsafe`, so no mmap): an append is one
//! `pwrite`, a delivery reads one entry per message, and the page cache
//! serves both. A segment is deleted, oldest first, once every entry in it
//! waits in a slot that was delivered.
//!
//! Invariant: bytes below [`TimerLog::end`] are written entries (or, before
//! the first entry of a log that restarted after its files were deleted,
//! zeros that read as no entry); nothing lies beyond it.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::TimerError;
use super::entry::{ENTRY_SIZE, Entry, LogPos};

/// Entries per segment file: 131,072, so 6 MiB files.
pub(crate) const SEGMENT_ENTRIES: u64 = 1 << 17;
pub(crate) const SEGMENT_BYTES: u64 = SEGMENT_ENTRIES * ENTRY_SIZE;
/// Entries read per system call when scanning.
const SCAN_CHUNK_ENTRIES: u64 = 4096;

#[derive(Debug)]
struct Segment {
    base: u64,
    path: PathBuf,
    file: File,
    /// Highest `slot_tick` of the entries in it (known after the startup
    /// scan and kept up to date by appends): when that slot is delivered
    /// the whole file is done.
    max_slot_tick: i64,
    /// Written since the last flush.
    dirty: bool,
}

#[derive(Debug)]
pub(crate) struct TimerLog {
    dir: PathBuf,
    segment_bytes: u64,
    segments: VecDeque<Segment>,
    end: u64,
}

fn file_name(base: u64) -> String {
    format!("{base:020}")
}

impl TimerLog {
    /// Opens the log in `dir` keeping exactly the bytes below `end`, the
    /// length the last checkpoint vouched for; anything written after it
    /// is cut off, to be appended again from the timer topic.
    pub(crate) fn open(dir: &Path, end: LogPos, segment_bytes: u64) -> Result<TimerLog, TimerError> {
        assert!(segment_bytes > 0 && segment_bytes.is_multiple_of(ENTRY_SIZE), "segments hold whole entries");
        std::fs::create_dir_all(dir).map_err(|e| TimerError::io(dir, "create directory", e))?;
        let mut bases = Vec::new();
        for item in std::fs::read_dir(dir).map_err(|e| TimerError::io(dir, "list", e))? {
            let item = item.map_err(|e| TimerError::io(dir, "list", e))?;
            let name = item.file_name();
            match name.to_str().filter(|n| n.len() == 20).and_then(|n| n.parse::<u64>().ok()) {
                Some(base) if base.is_multiple_of(segment_bytes) => bases.push(base),
                _ => tracing::warn!("timer log: ignoring {}", item.path().display()),
            }
        }
        bases.sort_unstable();
        let mut segments = VecDeque::new();
        for base in bases {
            let path = dir.join(file_name(base));
            if base >= end.0 {
                std::fs::remove_file(&path).map_err(|e| TimerError::io(&path, "remove", e))?;
                continue;
            }
            let file =
                OpenOptions::new().read(true).write(true).open(&path).map_err(|e| TimerError::io(&path, "open", e))?;
            let len = file.metadata().map_err(|e| TimerError::io(&path, "stat", e))?.len();
            let keep = (end.0 - base).min(segment_bytes);
            if len < keep {
                return Err(TimerError::Corrupt {
                    path,
                    reason: format!("{len} bytes, but the checkpoint vouches for {keep}"),
                });
            }
            if len > keep {
                file.set_len(keep).map_err(|e| TimerError::io(&path, "truncate", e))?;
            }
            segments.push_back(Segment { base, path, file, max_slot_tick: i64::MIN, dirty: len > keep });
        }
        Ok(TimerLog { dir: dir.to_owned(), segment_bytes, segments, end: end.0 })
    }

    /// Position the next entry is appended at.
    pub(crate) fn end(&self) -> LogPos {
        LogPos(self.end)
    }

    /// Number of segment files.
    pub(crate) fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Appends `entries` at [`TimerLog::end`], returning where the first went.
    pub(crate) fn append(&mut self, entries: &[Entry]) -> Result<LogPos, TimerError> {
        let first = LogPos(self.end);
        let mut bytes = Vec::with_capacity(entries.len() * ENTRY_SIZE as usize);
        let mut max_tick = i64::MIN;
        for (i, e) in entries.iter().enumerate() {
            bytes.extend_from_slice(&e.encode());
            max_tick = max_tick.max(e.slot_tick);
            // Flush a piece at each segment end, so no write spans two files.
            let pos = self.end + bytes.len() as u64;
            if pos.is_multiple_of(self.segment_bytes) || i + 1 == entries.len() {
                self.write_piece(&bytes, max_tick)?;
                bytes.clear();
                max_tick = i64::MIN;
            }
        }
        Ok(first)
    }

    fn write_piece(&mut self, bytes: &[u8], max_tick: i64) -> Result<(), TimerError> {
        if bytes.is_empty() {
            return Ok(());
        }
        let base = self.end - self.end % self.segment_bytes;
        if self.segments.back().is_none_or(|s| s.base != base) {
            let path = self.dir.join(file_name(base));
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| TimerError::io(&path, "create", e))?;
            self.segments.push_back(Segment { base, path, file, max_slot_tick: i64::MIN, dirty: true });
        }
        let seg = self.segments.back_mut().expect("just ensured");
        seg.file.write_all_at(bytes, self.end - base).map_err(|e| TimerError::io(&seg.path, "write", e))?;
        seg.max_slot_tick = seg.max_slot_tick.max(max_tick);
        seg.dirty = true;
        self.end += bytes.len() as u64;
        Ok(())
    }

    /// The entry at `pos`.
    pub(crate) fn read(&self, pos: LogPos) -> Result<Entry, TimerError> {
        let seg = self.segment_of(pos.0).ok_or_else(|| TimerError::Corrupt {
            path: self.dir.clone(),
            reason: format!("no segment holds position {}", pos.0),
        })?;
        let mut buf = [0u8; ENTRY_SIZE as usize];
        seg.file.read_exact_at(&mut buf, pos.0 - seg.base).map_err(|e| TimerError::io(&seg.path, "read", e))?;
        Entry::decode(&buf).ok_or_else(|| TimerError::Corrupt {
            path: seg.path.clone(),
            reason: format!("no entry at file offset {}", pos.0 - seg.base),
        })
    }

    fn segment_of(&self, pos: u64) -> Option<&Segment> {
        if pos >= self.end {
            return None;
        }
        let i = self.segments.partition_point(|s| s.base <= pos).checked_sub(1)?;
        self.segments.get(i)
    }

    /// Calls `f` with every entry, oldest first, and learns each segment's
    /// highest slot tick on the way (done once, when the broker starts).
    pub(crate) fn scan(&mut self, mut f: impl FnMut(LogPos, &Entry)) -> Result<(), TimerError> {
        let mut buf = vec![0u8; (SCAN_CHUNK_ENTRIES * ENTRY_SIZE) as usize];
        for seg in self.segments.iter_mut() {
            let len = (self.end - seg.base).min(self.segment_bytes);
            let mut at = 0;
            while at < len {
                let n = ((len - at) as usize).min(buf.len());
                seg.file.read_exact_at(&mut buf[..n], at).map_err(|e| TimerError::io(&seg.path, "read", e))?;
                for (i, chunk) in buf[..n].chunks_exact(ENTRY_SIZE as usize).enumerate() {
                    if let Some(e) = Entry::decode(chunk) {
                        seg.max_slot_tick = seg.max_slot_tick.max(e.slot_tick);
                        f(LogPos(seg.base + at + (i as u64) * ENTRY_SIZE), &e);
                    }
                }
                at += n as u64;
            }
        }
        Ok(())
    }

    /// Forces what was written to disk.
    pub(crate) fn flush(&mut self) -> Result<(), TimerError> {
        for seg in self.segments.iter_mut().filter(|s| s.dirty) {
            seg.file.sync_data().map_err(|e| TimerError::io(&seg.path, "fsync", e))?;
            seg.dirty = false;
        }
        Ok(())
    }

    /// Deletes the oldest segments whose every entry waits in a slot at or
    /// before `delivered_tick` (never the one being appended to). Call it
    /// only with a tick a written checkpoint vouches for: a restart resumes
    /// from the checkpoint and must still find what it did not deliver.
    pub(crate) fn drop_delivered(&mut self, delivered_tick: i64) -> Result<usize, TimerError> {
        let mut dropped = 0;
        while self.segments.len() > 1 && self.segments.front().is_some_and(|s| s.max_slot_tick <= delivered_tick) {
            let seg = self.segments.pop_front().expect("checked");
            std::fs::remove_file(&seg.path).map_err(|e| TimerError::io(&seg.path, "remove", e))?;
            dropped += 1;
        }
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(slot_tick: i64, offset: u64) -> Entry {
        Entry { slot_tick, deliver_ms: slot_tick * 1000, offset, size: 100, prev: None, enqueue_ms: 1, recall: false }
    }

    const SMALL: u64 = 4 * ENTRY_SIZE;

    #[test]
    fn appends_across_segments_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TimerLog::open(dir.path(), LogPos(0), SMALL).unwrap();
        let entries: Vec<Entry> = (0..10).map(|i| entry(100 + i, i as u64 * 1000)).collect();
        assert_eq!(log.append(&entries[..3]).unwrap(), LogPos(0));
        assert_eq!(log.append(&entries[3..]).unwrap(), LogPos(3 * ENTRY_SIZE));
        assert_eq!(log.end(), LogPos(10 * ENTRY_SIZE));
        assert_eq!(log.segment_count(), 3);
        assert_eq!(log.read(LogPos(7 * ENTRY_SIZE)).unwrap(), entries[7]);
        assert!(log.read(LogPos(10 * ENTRY_SIZE)).is_err(), "nothing lies beyond the end");
        let mut seen = Vec::new();
        log.scan(|pos, e| seen.push((pos, *e))).unwrap();
        assert_eq!(seen.len(), 10);
        assert_eq!(seen[9], (LogPos(9 * ENTRY_SIZE), entries[9]));
        assert!(dir.path().join("00000000000000000192").exists(), "files are named by their first byte");
    }

    #[test]
    fn reopening_cuts_what_the_checkpoint_does_not_vouch_for() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TimerLog::open(dir.path(), LogPos(0), SMALL).unwrap();
        log.append(&(0..10).map(|i| entry(i, i as u64)).collect::<Vec<_>>()).unwrap();
        log.flush().unwrap();
        drop(log);
        let mut log = TimerLog::open(dir.path(), LogPos(5 * ENTRY_SIZE), SMALL).unwrap();
        assert_eq!(log.end(), LogPos(5 * ENTRY_SIZE));
        assert_eq!(log.segment_count(), 2, "the third file lay wholly beyond the end");
        let mut count = 0;
        log.scan(|_, _| count += 1).unwrap();
        assert_eq!(count, 5);
        assert_eq!(log.append(&[entry(77, 7)]).unwrap(), LogPos(5 * ENTRY_SIZE));
        assert_eq!(log.read(LogPos(5 * ENTRY_SIZE)).unwrap().slot_tick, 77);
    }

    #[test]
    fn a_checkpoint_beyond_the_files_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TimerLog::open(dir.path(), LogPos(0), SMALL).unwrap();
        log.append(&[entry(1, 1)]).unwrap();
        drop(log);
        let err = TimerLog::open(dir.path(), LogPos(2 * ENTRY_SIZE), SMALL).unwrap_err();
        assert!(err.to_string().contains("vouches for 96"), "{err}");
    }

    #[test]
    fn delivered_segments_are_deleted_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TimerLog::open(dir.path(), LogPos(0), SMALL).unwrap();
        // Segment 0 waits up to tick 50, segment 1 up to 20, segment 2 up to 10.
        let ticks = [10, 50, 10, 10, 20, 10, 10, 10, 10];
        log.append(&ticks.iter().map(|t| entry(*t, 0)).collect::<Vec<_>>()).unwrap();
        assert_eq!(log.drop_delivered(20).unwrap(), 0, "the oldest still waits for tick 50");
        assert_eq!(log.drop_delivered(50).unwrap(), 2, "the segment being written stays");
        assert_eq!(log.segment_count(), 1);
        assert!(log.read(LogPos(0)).is_err());
        assert_eq!(log.read(LogPos(8 * ENTRY_SIZE)).unwrap().slot_tick, 10);
        // After a restart the maxima come from the scan.
        drop(log);
        let mut log = TimerLog::open(dir.path(), LogPos(9 * ENTRY_SIZE), SMALL).unwrap();
        log.append(&[entry(5, 0), entry(5, 0), entry(5, 0), entry(5, 0)]).unwrap();
        log.scan(|_, _| {}).unwrap();
        assert_eq!(log.drop_delivered(9).unwrap(), 0);
        assert_eq!(log.drop_delivered(10).unwrap(), 1);
    }
}
