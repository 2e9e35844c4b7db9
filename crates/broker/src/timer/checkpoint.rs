//! The timer's checkpoint: how far it got, written after the log data it
//! vouches for is on disk. A restart resumes from it:
//!
//! - `enqueued`: the next offset of the timer topic's queue to enqueue;
//!   entries appended after it are cut off the log (`log_end`) and
//!   appended again, in the same order, from the topic;
//! - `delivered_tick`: every slot up to this tick was delivered completely;
//! - `commitlog_end`: the CommitLog's end when that slot completed. Copies
//!   delivered after the checkpoint lie beyond it; recovery finds them there
//!   and does not deliver them again.
//!
//! File: `<timer dir>/checkpoint`, 56 bytes, big-endian: magic `RMQTIMER`,
//! version (u32), precision ms (u32), enqueued, log_end, delivered_tick,
//! commitlog_end (8 bytes each), CRC32 of everything before it. Replaced
//! by write, fsync, rename, so a crash leaves the old or the new one.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::TimerError;

const MAGIC: &[u8; 8] = b"RMQTIMER";
const VERSION: u32 = 1;
const LEN: usize = 56;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    /// The tick length the log's slot ticks are counted in.
    pub precision_ms: u32,
    pub enqueued: u64,
    pub log_end: u64,
    pub delivered_tick: i64,
    pub commitlog_end: u64,
}

impl Checkpoint {
    fn encode(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&VERSION.to_be_bytes());
        b[12..16].copy_from_slice(&self.precision_ms.to_be_bytes());
        b[16..24].copy_from_slice(&self.enqueued.to_be_bytes());
        b[24..32].copy_from_slice(&self.log_end.to_be_bytes());
        b[32..40].copy_from_slice(&self.delivered_tick.to_be_bytes());
        b[40..48].copy_from_slice(&self.commitlog_end.to_be_bytes());
        let crc = crc32fast::hash(&b[..48]);
        b[48..52].copy_from_slice(&crc.to_be_bytes());
        b
    }

    fn decode(b: &[u8], path: &Path) -> Result<Checkpoint, TimerError> {
        let bad = |reason: &str| TimerError::Corrupt { path: path.to_owned(), reason: reason.to_owned() };
        if b.len() != LEN || &b[0..8] != MAGIC {
            return Err(bad("not a timer checkpoint"));
        }
        let u32_at = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if u32_at(8) != VERSION {
            return Err(bad(&format!("version {} (this broker writes {VERSION})", u32_at(8))));
        }
        if u32_at(48) != crc32fast::hash(&b[..48]) {
            return Err(bad("CRC mismatch"));
        }
        Ok(Checkpoint {
            precision_ms: u32_at(12),
            enqueued: u64_at(16),
            log_end: u64_at(24),
            delivered_tick: u64_at(32) as i64,
            commitlog_end: u64_at(40),
        })
    }
}

/// The checkpoint file of one timer directory.
#[derive(Debug)]
pub(crate) struct CheckpointFile {
    path: PathBuf,
}

impl CheckpointFile {
    pub(crate) fn at(dir: &Path) -> CheckpointFile {
        CheckpointFile { path: dir.join("checkpoint") }
    }

    /// The saved checkpoint; `None` if there is none yet.
    pub(crate) fn load(&self) -> Result<Option<Checkpoint>, TimerError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Checkpoint::decode(&bytes, &self.path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(TimerError::io(&self.path, "read", e)),
        }
    }

    /// Replaces the checkpoint durably.
    pub(crate) fn save(&self, c: &Checkpoint) -> Result<(), TimerError> {
        let tmp = self.path.with_extension("tmp");
        let mut f = File::create(&tmp).map_err(|e| TimerError::io(&tmp, "create", e))?;
        f.write_all(&c.encode()).map_err(|e| TimerError::io(&tmp, "write", e))?;
        f.sync_all().map_err(|e| TimerError::io(&tmp, "fsync", e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| TimerError::io(&self.path, "rename", e))?;
        if let Some(dir) = self.path.parent() {
            File::open(dir).and_then(|d| d.sync_all()).map_err(|e| TimerError::io(dir, "fsync", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_loads_and_detects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let file = CheckpointFile::at(dir.path());
        assert_eq!(file.load().unwrap(), None);
        let c =
            Checkpoint { precision_ms: 1000, enqueued: 7, log_end: 336, delivered_tick: -3, commitlog_end: 1 << 33 };
        file.save(&c).unwrap();
        assert_eq!(file.load().unwrap(), Some(c));
        let path = dir.path().join("checkpoint");
        let mut bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), LEN);
        bytes[20] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(file.load().unwrap_err().to_string().contains("CRC"));
        std::fs::write(&path, b"junk").unwrap();
        assert!(file.load().unwrap_err().to_string().contains("not a timer checkpoint"));
    }
}
