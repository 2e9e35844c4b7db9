//! The store operations replication needs, behind a narrow trait so that the
//! drivers can be tested against a real store or a deliberately broken one.

use bytes::Bytes;
use rmq_model::PhysicalOffset;
use rmq_store::{MessageStore, StoreError};
use tokio::sync::watch;

use crate::master::LogBounds;

/// A CommitLog as replication sees it: read raw bytes on the master, append
/// them verbatim on the slave.
pub trait ReplicaLog: Send + Sync + 'static {
    /// First stored offset, next offset to write, and the file size.
    fn bounds(&self) -> LogBounds;

    /// Next offset to write.
    fn max_offset(&self) -> PhysicalOffset {
        self.bounds().max
    }

    /// Up to `max_len` bytes from `offset`, within one file; `None` when
    /// `offset` is not stored (deleted, or at the end).
    fn read(&self, offset: PhysicalOffset, max_len: usize) -> Option<Bytes>;

    /// Appends a master's bytes at `offset`, which must be the current end.
    fn append(&self, offset: PhysicalOffset, data: &[u8]) -> Result<PhysicalOffset, StoreError>;

    /// Moves an empty log's start to `offset` (a file boundary).
    fn begin_at(&self, offset: PhysicalOffset) -> Result<(), StoreError>;

    /// Changes of the max offset.
    fn written(&self) -> watch::Receiver<PhysicalOffset>;
}

impl ReplicaLog for MessageStore {
    fn bounds(&self) -> LogBounds {
        // Max first: retention only moves min up, so min ≤ max holds.
        let max = self.max_physical_offset();
        let min = self.min_physical_offset().min(max);
        LogBounds { min, max, file_size: self.config().mapped_file_size_commit_log }
    }

    fn max_offset(&self) -> PhysicalOffset {
        self.max_physical_offset()
    }

    fn read(&self, offset: PhysicalOffset, max_len: usize) -> Option<Bytes> {
        self.read_raw(offset, max_len)
    }

    fn append(&self, offset: PhysicalOffset, data: &[u8]) -> Result<PhysicalOffset, StoreError> {
        self.append_replicated(offset, data)
    }

    fn begin_at(&self, offset: PhysicalOffset) -> Result<(), StoreError> {
        self.begin_replica_at(offset)
    }

    fn written(&self) -> watch::Receiver<PhysicalOffset> {
        self.written_watch()
    }
}
