//! Brings consume queues and index to disk and then says so in the
//! checkpoint: periodically from the dispatcher, and once more at shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::checkpoint::{Checkpoint, CheckpointFile};
use crate::commitlog::CommitLog;
use crate::consume_queue::QueueTable;
use crate::error::Result;
use crate::index::IndexService;

/// The checkpoint file and what it last said, with the queues and index whose
/// flushes it records.
pub(crate) struct Checkpointer {
    commitlog: Arc<CommitLog>,
    queues: Arc<QueueTable>,
    index: Option<Arc<IndexService>>,
    file: Mutex<(CheckpointFile, Checkpoint)>,
    /// A queue or index flush failed: the checkpoint is never advanced again,
    /// since a later flush that succeeds may not hold the pages the failed one
    /// dropped. Recovery after a machine crash then starts earlier, and
    /// re-dispatches what the queues may have lost.
    frozen: AtomicBool,
}

impl Checkpointer {
    /// `loaded` is what `file` said at open.
    pub fn new(
        commitlog: Arc<CommitLog>,
        queues: Arc<QueueTable>,
        index: Option<Arc<IndexService>>,
        file: CheckpointFile,
        loaded: Checkpoint,
    ) -> Checkpointer {
        Checkpointer { commitlog, queues, index, file: Mutex::new((file, loaded)), frozen: AtomicBool::new(false) }
    }

    fn lock(&self) -> MutexGuard<'_, (CheckpointFile, Checkpoint)> {
        self.file.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store time of a record known flushed in the CommitLog, written
    /// with the next [`Checkpointer::flush`].
    pub fn set_physic_timestamp(&self, store_timestamp: i64) {
        self.lock().1.physic_msg_timestamp = store_timestamp;
    }

    /// Flushes every consume queue with unflushed entries (and the index
    /// too with `flush_index`), then writes the checkpoint. With
    /// `logics_timestamp`, every queue was flushed up to that store time and
    /// the checkpoint says so.
    ///
    /// Queues are flushed whole each time, whatever `flushConsumeQueueLeastPages`
    /// says: a queue left with a dirty page would forbid the checkpoint to
    /// advance, and recovery after a machine crash starts from it. A flush of
    /// a page or two per active queue each `flushIntervalConsumeQueue` costs
    /// little; a stale checkpoint costs a re-dispatch of everything since.
    pub fn flush(&self, flush_index: bool, logics_timestamp: Option<i64>) -> Result<()> {
        let index_ts = self.flush_queues_and_index(flush_index).inspect_err(|_| {
            if !self.frozen.swap(true, Ordering::SeqCst) {
                tracing::error!("a consume queue or index flush failed: the checkpoint is not advanced again");
            }
        })?;
        if self.frozen.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut cp = self.lock();
        if let Some(ts) = logics_timestamp.filter(|t| *t > 0) {
            cp.1.logics_msg_timestamp = ts;
        }
        if let Some(ts) = index_ts.filter(|t| *t > 0) {
            cp.1.index_msg_timestamp = ts;
        }
        let snapshot = cp.1;
        cp.0.write(&snapshot)
    }

    /// Flushes the consume queues and, with `flush_index`, the index; the
    /// index's flushed timestamp if it was flushed.
    fn flush_queues_and_index(&self, flush_index: bool) -> Result<Option<i64>> {
        for cq in self.queues.all() {
            cq.flush(0)?;
        }
        match &self.index {
            Some(index) if flush_index => Ok(Some(index.flush()?)),
            _ => Ok(None),
        }
    }

    /// Shutdown, after the dispatcher stopped at `dispatched`: everything
    /// dispatched is flushed and the checkpoint brought up to the last
    /// dispatched record (the CommitLog's part only if it is flushed that far).
    pub fn flush_all(&self, dispatched: u64) -> Result<()> {
        let last_ts = self.last_dispatched_timestamp();
        if last_ts > 0 && self.commitlog.flushed_offset() >= dispatched {
            self.set_physic_timestamp(last_ts);
        }
        self.flush(true, Some(last_ts))
    }

    /// Store time of the last record below the dispatched offset (0 if none).
    fn last_dispatched_timestamp(&self) -> i64 {
        let cp = self.lock().1;
        let mut ts = cp.logics_msg_timestamp.max(cp.physic_msg_timestamp);
        // Walk the queues' last entries: the newest store time among them is the
        // last dispatched message's.
        for cq in self.queues.all() {
            let max = cq.max_offset();
            if max == 0 {
                continue;
            }
            if let Some(e) = cq.entry(max - 1)
                && let Some(t) = self.commitlog.store_time_at(e.physical_offset)
            {
                ts = ts.max(t);
            }
        }
        ts
    }
}
