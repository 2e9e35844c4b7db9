//! The Raft log and vote on disk, under `controllerStorePath/raft/`:
//! `log.jsonl` holds one entry per JSON line, appended and fsync'ed before
//! openraft is told the entries are durable; `vote.json`, `committed.json`
//! and `purged.json` are small files replaced atomically (write a temporary
//! file, fsync, rename). Truncating or purging rewrites `log.jsonl` the same
//! way: both are rare (a follower's conflicting tail, a snapshot's purge).
//!
//! All entries are also kept in memory, indexed: the controller's log is
//! small (one entry per decided request), and snapshots bound it.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{AnyError, LogId, LogState, RaftLogReader, StorageError, StorageIOError, Vote};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Entry, NodeId, TypeConfig};

const LOG_FILE: &str = "log.jsonl";
const VOTE_FILE: &str = "vote.json";
const COMMITTED_FILE: &str = "committed.json";
const PURGED_FILE: &str = "purged.json";

#[derive(Debug)]
struct Disk {
    dir: PathBuf,
    entries: BTreeMap<u64, Entry>,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId<NodeId>>,
    last_purged: Option<LogId<NodeId>>,
}

/// The log store; clones share the same files and index (openraft reads
/// through a clone while it appends through another).
#[derive(Clone, Debug)]
pub struct LogStore {
    disk: Arc<Mutex<Disk>>,
}

fn write_error(e: io::Error) -> StorageError<NodeId> {
    StorageError::IO { source: StorageIOError::write_logs(AnyError::new(&e)) }
}

/// Replaces `path` with `value` as JSON, durably.
pub(super) fn write_json_atomically(path: &Path, value: &impl Serialize) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    serde_json::to_writer(&mut file, value)?;
    file.sync_data()?;
    fs::rename(&tmp, path)
}

fn read_json<T: DeserializeOwned>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(io::Error::other),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl LogStore {
    /// Opens (creating) the store in `dir` and reads it back. A last line
    /// cut short by a crash is dropped: openraft never saw it acknowledged.
    pub fn open(dir: &Path) -> io::Result<LogStore> {
        fs::create_dir_all(dir)?;
        let mut entries = BTreeMap::new();
        let path = dir.join(LOG_FILE);
        if path.exists() {
            let text = fs::read(&path)?;
            // `split` leaves what follows the last newline: empty, or a torn line.
            let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
            let (complete, tail) = lines.split_at(lines.len() - 1);
            for (number, line) in complete.iter().enumerate() {
                let entry: Entry = serde_json::from_slice(line)
                    .map_err(|e| io::Error::other(format!("{} line {}: {e}", path.display(), number + 1)))?;
                entries.insert(entry.log_id.index, entry);
            }
            if !tail[0].is_empty() {
                tracing::warn!("{}: dropping a torn last line ({} bytes)", path.display(), tail[0].len());
            }
        }
        let disk = Disk {
            entries,
            vote: read_json(&dir.join(VOTE_FILE))?,
            committed: read_json(&dir.join(COMMITTED_FILE))?,
            last_purged: read_json(&dir.join(PURGED_FILE))?,
            dir: dir.to_owned(),
        };
        disk.rewrite_log()?;
        Ok(LogStore { disk: Arc::new(Mutex::new(disk)) })
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Disk {
    /// Writes `log.jsonl` anew from the index (after a truncate, a purge, or
    /// dropping a torn tail at open).
    fn rewrite_log(&self) -> io::Result<()> {
        let path = self.dir.join(LOG_FILE);
        let tmp = path.with_extension("tmp");
        let mut file = File::create(&tmp)?;
        for entry in self.entries.values() {
            serde_json::to_writer(&mut file, entry)?;
            file.write_all(b"\n")?;
        }
        file.sync_data()?;
        fs::rename(&tmp, &path)
    }

    fn append(&mut self, entries: Vec<Entry>) -> io::Result<()> {
        let mut text = Vec::new();
        for entry in &entries {
            serde_json::to_writer(&mut text, entry)?;
            text.push(b'\n');
        }
        let mut file = OpenOptions::new().create(true).append(true).open(self.dir.join(LOG_FILE))?;
        file.write_all(&text)?;
        file.sync_data()?;
        for entry in entries {
            self.entries.insert(entry.log_id.index, entry);
        }
        Ok(())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError<NodeId>> {
        Ok(self.disk().entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let disk = self.disk();
        let last = disk.entries.values().next_back().map(|e| e.log_id).or(disk.last_purged);
        Ok(LogState { last_purged_log_id: disk.last_purged, last_log_id: last })
    }

    async fn get_log_reader(&mut self) -> LogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut disk = self.disk();
        write_json_atomically(&disk.dir.join(VOTE_FILE), vote).map_err(write_error)?;
        disk.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.disk().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), StorageError<NodeId>> {
        let mut disk = self.disk();
        write_json_atomically(&disk.dir.join(COMMITTED_FILE), &committed).map_err(write_error)?;
        disk.committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.disk().committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let result = self.disk().append(entries.into_iter().collect());
        let failed = result.as_ref().err().map(|e| io::Error::new(e.kind(), e.to_string()));
        callback.log_io_completed(result);
        match failed {
            Some(e) => Err(write_error(e)),
            None => Ok(()),
        }
    }

    async fn truncate(&mut self, since: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut disk = self.disk();
        disk.entries.split_off(&since.index);
        disk.rewrite_log().map_err(write_error)
    }

    async fn purge(&mut self, upto: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut disk = self.disk();
        write_json_atomically(&disk.dir.join(PURGED_FILE), &upto).map_err(write_error)?;
        disk.last_purged = Some(upto);
        disk.entries = disk.entries.split_off(&(upto.index + 1));
        disk.rewrite_log().map_err(write_error)
    }
}

#[cfg(test)]
mod tests;
