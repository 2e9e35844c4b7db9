//! `<root>/checkpoint`: how far CommitLog, consume queues and index are known
//! to be on disk, as store timestamps, in the layout of Java's
//! [`StoreCheckpoint`](https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/store/src/main/java/org/apache/rocketmq/store/StoreCheckpoint.java).
//! Abnormal recovery starts from the newest CommitLog file older than these.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// Size of the checkpoint file (one page).
pub const CHECKPOINT_FILE_LEN: u64 = 4096;
/// Margin Java subtracts from the checkpoint before trusting it.
const SAFETY_MARGIN_MS: i64 = 3000;

/// The checkpoint's fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Store time of the last CommitLog data known flushed.
    pub physic_msg_timestamp: i64,
    /// Store time of the last record dispatched and flushed to consume queues.
    pub logics_msg_timestamp: i64,
    /// End timestamp of the last flushed index file.
    pub index_msg_timestamp: i64,
}

impl Checkpoint {
    /// `min(physic, logics) − 3 s`, never negative.
    pub fn min_timestamp(&self) -> i64 {
        (self.physic_msg_timestamp.min(self.logics_msg_timestamp) - SAFETY_MARGIN_MS).max(0)
    }

    /// [`Checkpoint::min_timestamp`] also bounded by the index.
    pub fn min_timestamp_index(&self) -> i64 {
        self.min_timestamp().min(self.index_msg_timestamp)
    }

    fn encode(&self) -> [u8; 40] {
        let mut out = [0; 40];
        out[..8].copy_from_slice(&self.physic_msg_timestamp.to_be_bytes());
        out[8..16].copy_from_slice(&self.logics_msg_timestamp.to_be_bytes());
        out[16..24].copy_from_slice(&self.index_msg_timestamp.to_be_bytes());
        out
    }
}

/// The open checkpoint file.
#[derive(Debug)]
pub(crate) struct CheckpointFile {
    path: PathBuf,
    file: File,
}

impl CheckpointFile {
    /// Opens or creates the file and reads it (a missing file reads as zeros).
    pub fn open(path: &Path) -> Result<(CheckpointFile, Checkpoint)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io(path, "open", e))?;
        let mut buf = [0u8; 24];
        let len = file.metadata().map_err(|e| StoreError::io(path, "stat", e))?.len();
        if len >= 24 {
            file.read_exact_at(&mut buf, 0).map_err(|e| StoreError::io(path, "read", e))?;
        }
        if len < CHECKPOINT_FILE_LEN {
            file.set_len(CHECKPOINT_FILE_LEN).map_err(|e| StoreError::io(path, "extend", e))?;
        }
        let field = |i: usize| i64::from_be_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap_or_default());
        let cp = Checkpoint {
            physic_msg_timestamp: field(0),
            logics_msg_timestamp: field(1),
            index_msg_timestamp: field(2),
        };
        Ok((CheckpointFile { path: path.to_owned(), file }, cp))
    }

    /// Writes and fsyncs the checkpoint (5.x fields stay zero).
    pub fn write(&self, cp: &Checkpoint) -> Result<()> {
        self.file.write_all_at(&cp.encode(), 0).map_err(|e| StoreError::io(&self.path, "write", e))?;
        self.file.sync_data().map_err(|e| StoreError::io(&self.path, "fsync", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        let (f, cp) = CheckpointFile::open(&path).unwrap();
        assert_eq!(cp, Checkpoint::default());
        let cp = Checkpoint { physic_msg_timestamp: 10_000, logics_msg_timestamp: 9_000, index_msg_timestamp: 5_000 };
        f.write(&cp).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert_eq!(&bytes[..8], &10_000i64.to_be_bytes());
        assert_eq!(&bytes[16..24], &5_000i64.to_be_bytes());
        assert_eq!(CheckpointFile::open(&path).unwrap().1, cp);
        assert_eq!(cp.min_timestamp(), 6_000);
        assert_eq!(cp.min_timestamp_index(), 5_000);
    }
}
