//! The epoch file of a broker in controller mode (Java's `EpochFileCache`
//! over a `CheckpointFile`, `<storePathRootDir>/epochFileCheckpoint`): which
//! master epoch wrote which stretch of the CommitLog.
//!
//! Each time a broker becomes master at epoch `e`, it appends `(e, its end
//! offset)`. When an old master comes back as a replica of a newer one, the
//! two lists tell how far their logs agree: the last epoch both hold with the
//! same start offset, up to where the shorter of the two stretches ends.
//! Everything the returning broker wrote past that point, the new master
//! never had: it is cut before replication resumes.
//!
//! The file is Java's: the entry count, a CRC32 of the entry lines, then one
//! `epoch-startOffset` line per entry; a `.bak` beside it is read when the
//! file is missing or damaged. Writes go through a temporary file renamed
//! into place, so a crash leaves the old list or the new one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An epoch's stretch of the log: `[start, end)`; `end` is [`OPEN_END`] for
/// the last epoch (Java's `Long.MAX_VALUE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start: i64,
    pub end: i64,
}

/// The end of the last epoch's stretch: it is still being written.
pub const OPEN_END: i64 = i64::MAX;

#[derive(Debug, thiserror::Error)]
pub enum EpochError {
    #[error("epoch file {path}: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error("epoch file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("epoch {epoch} from offset {start} does not follow the last entry {last:?}")]
    NotIncreasing { epoch: i32, start: i64, last: EpochEntry },
}

/// The epochs of this broker's log, kept on disk.
#[derive(Debug)]
pub struct EpochFile {
    path: PathBuf,
    entries: BTreeMap<i32, EpochEntry>,
}

impl EpochFile {
    /// Reads the file (or its `.bak`); a missing file is an empty list.
    pub fn open(path: &Path) -> Result<EpochFile, EpochError> {
        let starts = match read_checkpoint(path) {
            Ok(Some(entries)) => entries,
            first => match read_checkpoint(&backup_path(path)) {
                Ok(Some(entries)) => entries,
                _ => first?.unwrap_or_default(),
            },
        };
        Ok(EpochFile { path: path.to_owned(), entries: chain(starts) })
    }

    /// Every entry, oldest first, the last one open-ended.
    pub fn entries(&self) -> Vec<EpochEntry> {
        self.entries.values().copied().collect()
    }

    /// The latest epoch, -1 with none (Java's `lastEpoch`).
    pub fn last_epoch(&self) -> i32 {
        self.entries.keys().next_back().copied().unwrap_or(-1)
    }

    /// Records that the master of `epoch` writes from `start` on.
    pub fn append(&mut self, epoch: i32, start: i64) -> Result<(), EpochError> {
        if let Some(last) = self.entries.values().next_back()
            && (last.epoch >= epoch || last.start > start)
        {
            return Err(EpochError::NotIncreasing { epoch, start, last: *last });
        }
        // A master elected twice without writing anything in between: the
        // older, empty stretch is replaced, as its start equals the new one.
        self.entries.retain(|_, e| e.start < start);
        self.entries.insert(epoch, EpochEntry { epoch, start, end: OPEN_END });
        self.entries = chain(self.entries.values().map(|e| (e.epoch, e.start)).collect());
        self.persist()
    }

    /// Takes a master's list as this log's own: after the cut to the
    /// consistent point, this log is a prefix of the master's.
    pub fn adopt(&mut self, theirs: &[EpochEntry]) -> Result<(), EpochError> {
        self.entries = chain(theirs.iter().map(|e| (e.epoch, e.start)).collect());
        self.persist()
    }

    /// Drops the epochs that start at or after `offset` (the log was cut
    /// there).
    pub fn truncate_from(&mut self, offset: i64) -> Result<(), EpochError> {
        let before = self.entries.len();
        self.entries.retain(|_, e| e.start < offset);
        if self.entries.len() == before {
            return Ok(());
        }
        self.entries = chain(self.entries.values().map(|e| (e.epoch, e.start)).collect());
        self.persist()
    }

    fn persist(&self) -> Result<(), EpochError> {
        let io = |source| EpochError::Io { path: self.path.clone(), source };
        let mut lines = String::new();
        for e in self.entries.values() {
            lines.push_str(&format!("{}-{}\n", e.epoch, e.start));
        }
        let crc = crc32fast::hash(lines.as_bytes()) as i32;
        let text = format!("{}\n{crc}\n{lines}", self.entries.len());
        if self.path.exists() {
            std::fs::copy(&self.path, backup_path(&self.path)).map_err(io)?;
        }
        let tmp = self.path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

/// Where two logs agree: the end of the shared part of the newest epoch
/// both hold from the same start. `mine` and `theirs` each have their last
/// entry ending at that broker's log end. `None`: they share nothing.
pub fn consistent_point(mine: &[EpochEntry], theirs: &[EpochEntry]) -> Option<i64> {
    mine.iter()
        .rev()
        .find_map(|m| theirs.iter().find(|t| t.epoch == m.epoch && t.start == m.start).map(|t| m.end.min(t.end)))
}

/// `entries` with the last one ending at `log_end` instead of open-ended:
/// the form [`consistent_point`] compares.
pub fn ending_at(mut entries: Vec<EpochEntry>, log_end: i64) -> Vec<EpochEntry> {
    if let Some(last) = entries.last_mut() {
        last.end = log_end.max(last.start);
    }
    entries
}

fn chain(starts: Vec<(i32, i64)>) -> BTreeMap<i32, EpochEntry> {
    let mut sorted = starts;
    sorted.sort_unstable();
    let mut entries = BTreeMap::new();
    for (i, (epoch, start)) in sorted.iter().enumerate() {
        let end = sorted.get(i + 1).map_or(OPEN_END, |next| next.1);
        entries.insert(*epoch, EpochEntry { epoch: *epoch, start: *start, end });
    }
    entries
}

fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

/// Java's `CheckpointFile.read`: count, CRC (0: not checked), entries.
/// `None`: no such file.
fn read_checkpoint(path: &Path) -> Result<Option<Vec<(i32, i64)>>, EpochError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(EpochError::Io { path: path.to_owned(), source }),
    };
    let damaged = |reason: String| EpochError::Damaged { path: path.to_owned(), reason };
    let mut lines = text.lines();
    let count: usize =
        lines.next().and_then(|l| l.trim().parse().ok()).ok_or_else(|| damaged("no entry count".into()))?;
    let crc: i32 = lines.next().and_then(|l| l.trim().parse().ok()).ok_or_else(|| damaged("no CRC".into()))?;
    let mut body = String::new();
    let mut entries = Vec::new();
    for line in lines {
        body.push_str(line);
        body.push('\n');
        if let Some((epoch, start)) = line.split_once('-')
            && let (Ok(epoch), Ok(start)) = (epoch.trim().parse(), start.trim().parse())
        {
            entries.push((epoch, start));
        }
    }
    if entries.len() != count {
        return Err(damaged(format!("{count} entries announced, {} found", entries.len())));
    }
    if crc != 0 && crc32fast::hash(body.as_bytes()) as i32 != crc {
        return Err(damaged("entries do not match their CRC".into()));
    }
    Ok(Some(entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(epoch: i32, start: i64, end: i64) -> EpochEntry {
        EpochEntry { epoch, start, end }
    }

    #[test]
    fn appends_persist_in_javas_format_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("epochFileCheckpoint");
        let mut file = EpochFile::open(&path).unwrap();
        assert_eq!(file.last_epoch(), -1);
        file.append(1, 0).unwrap();
        file.append(2, 4096).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = "1-0\n2-4096\n";
        assert_eq!(text, format!("2\n{}\n{lines}", crc32fast::hash(lines.as_bytes()) as i32));
        let again = EpochFile::open(&path).unwrap();
        assert_eq!(again.entries(), vec![e(1, 0, 4096), e(2, 4096, OPEN_END)]);
        assert!(matches!(file.append(2, 8192), Err(EpochError::NotIncreasing { .. })));
    }

    #[test]
    fn a_damaged_file_falls_back_to_its_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("epochFileCheckpoint");
        let mut file = EpochFile::open(&path).unwrap();
        file.append(1, 0).unwrap();
        file.append(3, 100).unwrap();
        std::fs::write(&path, "2\n12345\n1-0\n3-100\n").unwrap();
        assert_eq!(EpochFile::open(&path).unwrap().entries(), vec![e(1, 0, OPEN_END)]);
        std::fs::write(&path, "garbage").unwrap();
        std::fs::remove_file(backup_path(&path)).unwrap();
        assert!(matches!(EpochFile::open(&path), Err(EpochError::Damaged { .. })));
    }

    #[test]
    fn an_empty_stretch_is_replaced_and_truncation_reopens_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = EpochFile::open(&dir.path().join("epochs")).unwrap();
        file.append(1, 0).unwrap();
        file.append(2, 500).unwrap();
        file.append(3, 500).unwrap();
        assert_eq!(file.entries(), vec![e(1, 0, 500), e(3, 500, OPEN_END)]);
        file.truncate_from(500).unwrap();
        assert_eq!(file.entries(), vec![e(1, 0, OPEN_END)]);
        // An adopted empty list stays empty after a reopen (the backup is
        // for a damaged file, not an empty one).
        file.adopt(&[]).unwrap();
        assert_eq!(EpochFile::open(&dir.path().join("epochs")).unwrap().entries(), vec![]);
    }

    #[test]
    fn the_consistent_point_is_where_the_newest_shared_epoch_ends_on_either_side() {
        // The old master wrote epoch 1 up to 1000 and died; its replica had
        // 800 of it and became master at epoch 2, then wrote up to 1500.
        let old = ending_at(vec![e(1, 0, OPEN_END)], 1000);
        let new = ending_at(vec![e(1, 0, 800), e(2, 800, OPEN_END)], 1500);
        assert_eq!(consistent_point(&old, &new), Some(800));
        // A replica that is simply behind (its epochs are its master's)
        // keeps everything it has.
        let behind = ending_at(vec![e(1, 0, 800), e(2, 800, OPEN_END)], 900);
        assert_eq!(consistent_point(&behind, &new), Some(900));
        // Epochs that started at different offsets are not shared.
        assert_eq!(consistent_point(&[e(2, 10, 20)], &[e(2, 0, 20)]), None);
        assert_eq!(consistent_point(&[], &new), None);
    }
}
