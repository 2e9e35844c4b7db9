//! What the send, pull and offset handlers need of the store, as a trait:
//! the broker gives them its [`MessageStore`]; their unit tests give them an
//! in-memory log (`handlers::memory_log`), so the handlers' rules are tested
//! without files, threads or sockets. The store itself is tested on its own
//! and through the wire tests.

use bytes::Bytes;
use rmq_model::record::NewMessage;
use rmq_model::{PhysicalOffset, QueueOffset};
use rmq_store::{GetMessageResult, MessageFilter, MessageStore, PutResult, StoreError};

pub(crate) trait MessageLog: Send + Sync + std::fmt::Debug {
    fn put(&self, msg: &NewMessage<'_>) -> Result<PutResult, StoreError>;
    fn put_batch(&self, msgs: &[NewMessage<'_>]) -> Result<PutResult, StoreError>;
    /// The stored record at a CommitLog offset.
    fn message_at(&self, offset: PhysicalOffset) -> Option<Bytes>;
    /// Up to `max` messages of a queue from `offset` that pass `filter`.
    fn get_messages(
        &self,
        topic: &str,
        queue_id: i32,
        offset: QueueOffset,
        max: u32,
        filter: &dyn MessageFilter,
    ) -> GetMessageResult;
    fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> QueueOffset;
    fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> QueueOffset;
    /// Whether the message at `offset` is recent enough to be in memory
    /// (`accessMessageInMemoryMaxRatio`).
    fn is_in_memory_window(&self, topic: &str, queue_id: i32, offset: QueueOffset) -> bool;
    fn earliest_message_time_in_queue(&self, topic: &str, queue_id: i32) -> Option<i64>;
    /// The first queue offset whose message was stored at or after `timestamp`.
    fn offset_by_time(&self, topic: &str, queue_id: i32, timestamp: i64) -> QueueOffset;
    /// `maxMessageSize`, quoted when a message is refused.
    fn max_message_size(&self) -> usize;
    /// The CommitLog offset the consume queue holds at `offset`.
    fn commitlog_offset_in_queue(&self, topic: &str, queue_id: i32, offset: QueueOffset) -> Option<PhysicalOffset>;
}

impl MessageLog for MessageStore {
    fn commitlog_offset_in_queue(&self, topic: &str, queue_id: i32, offset: QueueOffset) -> Option<PhysicalOffset> {
        MessageStore::commitlog_offset_in_queue(self, topic, queue_id, offset)
    }

    fn put(&self, msg: &NewMessage<'_>) -> Result<PutResult, StoreError> {
        MessageStore::put(self, msg)
    }

    fn put_batch(&self, msgs: &[NewMessage<'_>]) -> Result<PutResult, StoreError> {
        MessageStore::put_batch(self, msgs)
    }

    fn message_at(&self, offset: PhysicalOffset) -> Option<Bytes> {
        MessageStore::message_at(self, offset)
    }

    fn get_messages(
        &self,
        topic: &str,
        queue_id: i32,
        offset: QueueOffset,
        max: u32,
        filter: &dyn MessageFilter,
    ) -> GetMessageResult {
        MessageStore::get_messages(self, topic, queue_id, offset, max, filter)
    }

    fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> QueueOffset {
        MessageStore::min_offset_in_queue(self, topic, queue_id)
    }

    fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> QueueOffset {
        MessageStore::max_offset_in_queue(self, topic, queue_id)
    }

    fn is_in_memory_window(&self, topic: &str, queue_id: i32, offset: QueueOffset) -> bool {
        MessageStore::is_in_memory_window(self, topic, queue_id, offset)
    }

    fn earliest_message_time_in_queue(&self, topic: &str, queue_id: i32) -> Option<i64> {
        MessageStore::earliest_message_time_in_queue(self, topic, queue_id)
    }

    fn offset_by_time(&self, topic: &str, queue_id: i32, timestamp: i64) -> QueueOffset {
        MessageStore::offset_by_time(self, topic, queue_id, timestamp)
    }

    fn max_message_size(&self) -> usize {
        self.config().max_message_size
    }
}
