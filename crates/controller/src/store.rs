//! The controller's durable record: an append-only file of events, one JSON
//! line each (`{"index":n,"event":{…}}`), written and fsync'ed before the
//! events are applied, and replayed in order at start.
//!
//! This is the single-node stand-in for a consensus log: the indexes are
//! what a Raft log's entries will carry, and the state machine consumes the
//! same events either way. A last line cut short by a crash (no newline, or
//! not JSON) is dropped with a warning, since its change was never
//! acknowledged; a bad line anywhere else stops the start.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{ControllerError, Result};
use crate::event::Event;

/// The file under `controllerStorePath`.
pub const EVENT_LOG_FILE: &str = "controller-events.log";

#[derive(Serialize, Deserialize)]
struct Entry {
    index: u64,
    event: Event,
}

#[derive(Debug)]
pub struct EventLog {
    path: PathBuf,
    file: File,
    last_index: u64,
}

impl EventLog {
    /// Opens (creating) the log in `dir` and returns it with every event it holds.
    pub fn open(dir: &Path) -> Result<(EventLog, Vec<Event>)> {
        let path = dir.join(EVENT_LOG_FILE);
        let persist = |source| ControllerError::Persist { path: path.clone(), source };
        fs::create_dir_all(dir).map_err(persist)?;
        let mut events = Vec::new();
        let mut good_len = 0u64;
        let mut last_index = 0u64;
        if path.exists() {
            let replay = |reason: String| ControllerError::Replay { path: path.clone(), reason };
            let reader = BufReader::new(File::open(&path).map_err(persist)?);
            let mut lines = reader.split(b'\n').peekable();
            let total = fs::metadata(&path).map_err(persist)?.len();
            let mut offset = 0u64;
            let mut number = 0usize;
            while let Some(line) = lines.next() {
                let line = line.map_err(persist)?;
                number += 1;
                let complete = offset + (line.len() as u64) < total;
                let is_last = lines.peek().is_none();
                match (serde_json::from_slice::<Entry>(&line), complete) {
                    (Ok(entry), true) => {
                        if entry.index != last_index + 1 {
                            return Err(replay(format!("line {number}: index {} after {last_index}", entry.index)));
                        }
                        last_index = entry.index;
                        events.push(entry.event);
                        offset += line.len() as u64 + 1;
                        good_len = offset;
                    }
                    (Err(e), _) if !is_last => return Err(replay(format!("line {number}: {e}"))),
                    // Only the last line can lack its newline.
                    _ => tracing::warn!(
                        "{}: dropping an incomplete last line ({} bytes), left by a crash while writing",
                        path.display(),
                        line.len()
                    ),
                }
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(persist)?;
        if file.metadata().map_err(persist)?.len() > good_len {
            file.set_len(good_len).map_err(persist)?;
        }
        Ok((EventLog { path, file, last_index }, events))
    }

    /// A log writing to `file` (which replays nothing), for tests of write failures.
    #[cfg(test)]
    pub(crate) fn on_file(path: PathBuf, file: File) -> EventLog {
        EventLog { path, file, last_index: 0 }
    }

    /// Appends `events` and waits for them to reach the disk.
    pub fn append(&mut self, events: &[Event]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut text = Vec::new();
        let mut index = self.last_index;
        for event in events {
            index += 1;
            serde_json::to_writer(&mut text, &Entry { index, event: event.clone() })
                .map_err(|e| ControllerError::Persist { path: self.path.clone(), source: e.into() })?;
            text.push(b'\n');
        }
        let persist = |source| ControllerError::Persist { path: self.path.clone(), source };
        self.file.write_all(&text).map_err(persist)?;
        self.file.sync_data().map_err(persist)?;
        self.last_index = index;
        Ok(())
    }

    /// The index of the last durable event (0: none).
    pub fn last_index(&self) -> u64 {
        self.last_index
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str) -> Event {
        Event::ElectMaster { broker_name: name.into(), new_master_broker_id: Some(1) }
    }

    #[test]
    fn appends_replay_in_order_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, events) = EventLog::open(dir.path()).unwrap();
        assert!(events.is_empty());
        log.append(&[event("a"), event("b")]).unwrap();
        drop(log);
        let path = dir.path().join(EVENT_LOG_FILE);
        let mut text = fs::read(&path).unwrap();
        text.extend_from_slice(br#"{"index":3,"event":{"eventTy"#);
        fs::write(&path, &text).unwrap();

        let (mut log, events) = EventLog::open(dir.path()).unwrap();
        assert_eq!(events, [event("a"), event("b")]);
        assert_eq!(log.last_index(), 2);
        log.append(&[event("c")]).unwrap();
        let (_, events) = EventLog::open(dir.path()).unwrap();
        assert_eq!(events, [event("a"), event("b"), event("c")]);
    }

    #[test]
    fn a_bad_line_in_the_middle_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EVENT_LOG_FILE);
        fs::write(&path, "garbage\n{\"index\":1,\"event\":{\"eventType\":\"ELECT_MASTER_EVENT\",\"brokerName\":\"a\",\"newMasterBrokerId\":1}}\n").unwrap();
        let err = EventLog::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
