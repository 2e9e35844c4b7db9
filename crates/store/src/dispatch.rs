//! Dispatch ("reput"): follows the CommitLog and turns each record into a
//! consume-queue entry and index keys, then tells the listener so that held
//! pulls wake up. Recovery uses the same code to rebuild what a crash lost.

use std::sync::Arc;

use rmq_model::java::string_hash_code;
use rmq_model::properties::keys;
use rmq_model::record::{Decoded, RecordView};
use rmq_model::sysflag::message as sysflag;

use crate::commitlog::CommitLog;
use crate::consume_queue::{CqEntry, QueueTable};
use crate::error::{Result, StoreError};
use crate::hooks::{Clock, DispatchListener, Dispatched};
use crate::index::IndexService;

/// The topic delayed messages wait in; its tag codes are delivery times.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// Turns CommitLog records into consume-queue entries and index keys: the
/// dispatcher's work, which recovery also does to rebuild what a crash lost.
pub(crate) struct Dispatch {
    commitlog: Arc<CommitLog>,
    queues: Arc<QueueTable>,
    index: Option<Arc<IndexService>>,
    listener: Option<Arc<dyn DispatchListener>>,
    /// Index entries are dated by it.
    clock: Arc<dyn Clock>,
    /// Delay of levels 1..=n in ms: SCHEDULE_TOPIC_XXXX tag codes are
    /// delivery times.
    delay_ms: Vec<i64>,
}

/// Where dispatch stopped and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Everything up to the written offset is dispatched.
    CaughtUp,
    /// The bytes at this offset do not decode (logged).
    Broken,
}

/// How far dispatch got, and the end and store time of the last record
/// dispatched (blanks at file ends move `offset` only).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Progress {
    pub offset: u64,
    pub last_end: u64,
    pub last_store_timestamp: i64,
}

impl Progress {
    /// Resumes at `offset`, the end of a record stored at `last_store_timestamp`.
    pub fn resume_at(offset: u64, last_store_timestamp: i64) -> Progress {
        Progress { offset, last_end: offset, last_store_timestamp }
    }
}

impl Dispatch {
    pub fn new(
        commitlog: Arc<CommitLog>,
        queues: Arc<QueueTable>,
        index: Option<Arc<IndexService>>,
        listener: Option<Arc<dyn DispatchListener>>,
        clock: Arc<dyn Clock>,
        delay_ms: Vec<i64>,
    ) -> Dispatch {
        Dispatch { commitlog, queues, index, listener, clock, delay_ms }
    }

    pub fn commitlog(&self) -> &Arc<CommitLog> {
        &self.commitlog
    }

    pub fn queues(&self) -> &QueueTable {
        &self.queues
    }

    pub fn index(&self) -> Option<&IndexService> {
        self.index.as_deref()
    }

    /// The consume-queue tag code of a record.
    pub fn tags_code(&self, view: &RecordView<'_>) -> i64 {
        if view.topic == SCHEDULE_TOPIC {
            let level = view
                .property(keys::DELAY_TIME_LEVEL)
                .and_then(|v| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
                .filter(|l| *l > 0)
                .unwrap_or(view.queue_id.max(0) as usize + 1);
            let level = level.min(self.delay_ms.len());
            let delay = level.checked_sub(1).and_then(|i| self.delay_ms.get(i)).copied().unwrap_or(0);
            return view.store_timestamp + delay;
        }
        match view.property(keys::TAGS) {
            Some(tags) => string_hash_code(&String::from_utf8_lossy(tags)).into(),
            None => 0,
        }
    }

    /// Dispatches one record found at `offset`.
    pub fn record(&self, view: &RecordView<'_>, offset: u64) -> Result<()> {
        let kind = sysflag::transaction_type(view.sys_flag);
        if !is_path_safe(view.topic) {
            // Only a broken or hostile replication source writes such a
            // record; its topic must not name a path outside the store.
            tracing::error!(offset, topic = view.topic, "record with a topic unfit for a file name not dispatched");
            return Ok(());
        }
        // Index keys first, then the consume-queue entry: after a process
        // crash the furthest entry then vouches for the index below it
        // (recovery resumes there).
        if let Some(index) = &self.index
            && kind != sysflag::TRANSACTION_ROLLBACK_TYPE
        {
            let uniq = view.property(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).and_then(|v| std::str::from_utf8(v).ok());
            let keys_value = view.property(keys::KEYS).and_then(|v| std::str::from_utf8(v).ok()).unwrap_or("");
            let all = uniq.into_iter().chain(keys_value.split(' ').filter(|k| !k.is_empty()));
            index.add(view.topic, all, offset, view.store_timestamp, self.clock.now_millis())?;
        }
        if kind == sysflag::TRANSACTION_NOT_TYPE || kind == sysflag::TRANSACTION_COMMIT_TYPE {
            let tags_code = self.tags_code(view);
            let cq = self.queues.get_or_create(view.topic, view.queue_id);
            let entry = CqEntry { physical_offset: offset, size: view.total_size, tags_code };
            if let Some(q) = cq.put(view.queue_offset.max(0) as u64, entry)?
                && let Some(listener) = &self.listener
            {
                listener.on_dispatch(&Dispatched {
                    topic: view.topic,
                    queue_id: view.queue_id,
                    queue_offset: q,
                    next_queue_offset: q + 1,
                    tags_code,
                    store_timestamp: view.store_timestamp,
                    physical_offset: offset,
                    size: view.total_size,
                    properties: view.properties,
                });
            }
        }
        Ok(())
    }

    /// Dispatches records from `progress.offset` up to `limit` (at most the
    /// written offset), at most `max_records` of them.
    pub fn run(&self, progress: &mut Progress, limit: u64, max_records: usize) -> Result<Stop> {
        for _ in 0..max_records {
            let offset = progress.offset;
            if offset >= limit.min(self.commitlog.written_offset()) {
                return Ok(Stop::CaughtUp);
            }
            let step = self.commitlog.decode_at(offset, false, |decoded, seg| match decoded {
                Ok(Decoded::Message(view)) => self
                    .record(&view, offset)
                    .map(|()| Some((offset + u64::from(view.total_size), view.store_timestamp))),
                Ok(Decoded::EndOfFile { .. }) => Ok(Some((seg.end(), 0))),
                // Incomplete: replicated bytes arrive in pieces. Unless the
                // file is complete, in which case it never will be.
                Err(rmq_model::record::RecordError::Truncated { .. })
                    if self.commitlog.written_offset() < seg.end() =>
                {
                    Ok(None)
                }
                Err(source) => {
                    Err(StoreError::Corrupt { path: seg.path().to_owned(), offset: offset - seg.base(), source })
                }
            });
            match step {
                None => {
                    // Below the CommitLog's first file: retention moved on.
                    let min = self.commitlog.min_offset();
                    if offset < min {
                        progress.offset = min;
                        continue;
                    }
                    return Ok(Stop::CaughtUp);
                }
                // A record not yet complete (replicated bytes arrive in pieces).
                Some(Ok(None)) => return Ok(Stop::CaughtUp),
                Some(Ok(Some((end, ts)))) => {
                    progress.offset = end;
                    if ts != 0 {
                        progress.last_end = end;
                        progress.last_store_timestamp = ts;
                    }
                }
                Some(Err(e)) => {
                    tracing::error!(error = %e, "dispatch stopped at an undecodable record");
                    return Ok(Stop::Broken);
                }
            }
        }
        Ok(Stop::CaughtUp)
    }
}

/// Whether `topic` can name a consume-queue directory: not empty, not `.` or
/// `..`, no path separator or NUL. Looser than the send path's validation on
/// purpose: records written by other brokers are taken as they are.
fn is_path_safe(topic: &str) -> bool {
    !topic.is_empty() && topic != "." && topic != ".." && !topic.contains(['/', '\\', '\0'])
}

#[cfg(test)]
mod path_tests {
    use super::is_path_safe;

    #[test]
    fn topics_that_would_leave_the_store_are_unsafe() {
        for ok in ["T", "%RETRY%g", "rmq_sys_x", "a.b", "odd name"] {
            assert!(is_path_safe(ok), "{ok}");
        }
        for bad in ["", ".", "..", "/etc/x", "../x", "a/b", "a\\b", "a\0b"] {
            assert!(!is_path_safe(bad), "{bad:?}");
        }
    }
}
