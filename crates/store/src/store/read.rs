//! Reads: pulls through consume queues, lookups by offset, time and key.
//! Records come back as zero-copy [`Bytes`] slices of the mapped files.

use bytes::Bytes;
use rmq_model::{PhysicalOffset, QueueOffset};

use super::MessageStore;
use crate::consume_queue::CQ_UNIT;

/// Decides which messages a pull returns. The tag-code check runs on the
/// consume-queue entry; the optional record check on the full stored record
/// (SQL92 filters need properties).
pub trait MessageFilter {
    fn matches_tags_code(&self, tags_code: i64) -> bool;

    fn matches_record(&self, _record: &[u8]) -> bool {
        true
    }
}

/// Accepts every message (`*`).
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptAll;

impl MessageFilter for AcceptAll {
    fn matches_tags_code(&self, _: i64) -> bool {
        true
    }
}

/// The outcome of a pull at the store, as Java's
/// [`GetMessageStatus`](https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/store/src/main/java/org/apache/rocketmq/store/GetMessageStatus.java).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GetMessageStatus {
    Found,
    NoMatchedMessage,
    MessageWasRemoving,
    OffsetFoundNull,
    OffsetOverflowBadly,
    OffsetOverflowOne,
    OffsetTooSmall,
    NoMatchedLogicQueue,
    NoMessageInQueue,
}

impl GetMessageStatus {
    /// Java's enum name, which the broker puts in the response remark.
    pub fn as_str(self) -> &'static str {
        match self {
            GetMessageStatus::Found => "FOUND",
            GetMessageStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            GetMessageStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
            GetMessageStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
            GetMessageStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            GetMessageStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            GetMessageStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
            GetMessageStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            GetMessageStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        }
    }
}

/// What a pull found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetMessageResult {
    pub status: GetMessageStatus,
    pub next_begin_offset: QueueOffset,
    pub min_offset: QueueOffset,
    pub max_offset: QueueOffset,
    /// The stored records, one `Bytes` each, in queue order.
    pub messages: Vec<Bytes>,
    /// Queue offset of each record in `messages`.
    pub queue_offsets: Vec<QueueOffset>,
    /// Sum of the records' sizes.
    pub buffer_total_size: usize,
    /// The consumer is further behind than the in-memory window.
    pub suggest_pulling_from_slave: bool,
}

impl GetMessageResult {
    /// An answer with no messages: `status`, the next offset to ask for and
    /// the queue's bounds.
    pub fn empty(status: GetMessageStatus, next: u64, min: u64, max: u64) -> GetMessageResult {
        GetMessageResult {
            status,
            next_begin_offset: QueueOffset(next),
            min_offset: QueueOffset(min),
            max_offset: QueueOffset(max),
            messages: Vec::new(),
            queue_offsets: Vec::new(),
            buffer_total_size: 0,
            suggest_pulling_from_slave: false,
        }
    }
}

/// Records found by [`MessageStore::query_by_key`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryResult {
    pub messages: Vec<Bytes>,
    /// End timestamp of the newest index file.
    pub index_last_update_timestamp: i64,
    /// End CommitLog offset of the newest index file.
    pub index_last_update_phy_offset: i64,
}

impl MessageStore {
    /// Up to `max_count` messages of a queue from `offset` that pass `filter`,
    /// with the statuses and next-offset rules of Java's
    /// [`DefaultMessageStore.getMessage`](https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/store/src/main/java/org/apache/rocketmq/store/DefaultMessageStore.java), the
    /// transfer caps (`maxTransfer*`), and the slave suggestion for lagging
    /// consumers.
    pub fn get_messages(
        &self,
        topic: &str,
        queue_id: i32,
        offset: QueueOffset,
        max_count: u32,
        filter: &dyn MessageFilter,
    ) -> GetMessageResult {
        use GetMessageStatus::*;
        self.stats.record_get();
        let offset = offset.0;
        let Some(cq) = self.queues.get(topic, queue_id) else {
            return GetMessageResult::empty(NoMatchedLogicQueue, 0, 0, 0);
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        if max == 0 {
            return GetMessageResult::empty(NoMessageInQueue, 0, min, max);
        }
        if offset < min {
            return GetMessageResult::empty(OffsetTooSmall, min, min, max);
        }
        if offset == max {
            return GetMessageResult::empty(OffsetOverflowOne, offset, min, max);
        }
        if offset > max {
            // Back to max, as Java 5.x does. Some 4.x releases sent a queue
            // whose min is 0 back to 0 instead, re-delivering everything.
            return GetMessageResult::empty(OffsetOverflowBadly, max, min, max);
        }
        let Some(entries) = cq.entries_from(offset) else {
            return GetMessageResult::empty(OffsetFoundNull, cq.roll_next_file(offset), min, max);
        };
        let cfg = &self.cfg;
        let cl = &self.commitlog;
        let max_phy = cl.written_offset();
        let mut result = GetMessageResult::empty(NoMatchedMessage, offset, min, max);
        let max_scan = (16_000 / CQ_UNIT).max(u64::from(max_count) * 20 / CQ_UNIT);
        let mut next_file_start: Option<u64> = None;
        let mut last_phy = 0;
        let mut scanned = 0;
        while scanned < entries.count && scanned < max_scan {
            let e = entries.get(scanned);
            let q = offset + scanned;
            scanned += 1;
            last_phy = e.physical_offset;
            if next_file_start.is_some_and(|s| e.physical_offset < s) {
                continue;
            }
            let in_disk = max_phy.saturating_sub(e.physical_offset) > self.memory_window;
            let (cap_bytes, cap_count) = if in_disk {
                (cfg.max_transfer_bytes_on_message_in_disk, cfg.max_transfer_count_on_message_in_disk)
            } else {
                (cfg.max_transfer_bytes_on_message_in_memory, cfg.max_transfer_count_on_message_in_memory)
            };
            let (total, count) = (result.buffer_total_size as u64, result.messages.len() as u64);
            if total > 0
                && count > 0
                && (count >= u64::from(max_count) || total + u64::from(e.size) > cap_bytes || count >= cap_count)
            {
                scanned -= 1;
                break;
            }
            if !filter.matches_tags_code(e.tags_code) {
                if result.buffer_total_size == 0 {
                    result.status = NoMatchedMessage;
                }
                continue;
            }
            let Some(rec) = cl.record_sized(e.physical_offset, e.size) else {
                if result.buffer_total_size == 0 {
                    result.status = MessageWasRemoving;
                }
                next_file_start = Some(cl.roll_next_file(e.physical_offset));
                continue;
            };
            if !filter.matches_record(&rec) {
                if result.buffer_total_size == 0 {
                    result.status = NoMatchedMessage;
                }
                continue;
            }
            result.buffer_total_size += rec.len();
            result.messages.push(rec);
            result.queue_offsets.push(QueueOffset(q));
            result.status = Found;
            next_file_start = None;
        }
        result.next_begin_offset = QueueOffset(offset + scanned);
        result.suggest_pulling_from_slave = max_phy.saturating_sub(last_phy) > self.memory_window;
        if result.status == Found {
            self.stats.record_found(result.messages.len());
        }
        result
    }

    /// Next queue offset of a queue (0 if it does not exist).
    pub fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> QueueOffset {
        QueueOffset(self.queues.get(topic, queue_id).map_or(0, |q| q.max_offset()))
    }

    /// First queue offset still stored (0 if the queue does not exist).
    pub fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> QueueOffset {
        QueueOffset(self.queues.get(topic, queue_id).map_or(0, |q| q.min_offset()))
    }

    /// CommitLog offset of the record at a queue offset.
    pub fn commitlog_offset_in_queue(&self, topic: &str, queue_id: i32, offset: QueueOffset) -> Option<PhysicalOffset> {
        let e = self.queues.get(topic, queue_id)?.entry(offset.0)?;
        Some(PhysicalOffset(e.physical_offset))
    }

    /// Whether the message at a queue offset lies within the newest
    /// `accessMessageInMemoryMaxRatio` of memory's worth of CommitLog (Java's
    /// in-memory test); false when there is no such message. A new consumer
    /// group starts from 0 only while the queue's first message is this young.
    pub fn is_in_memory_window(&self, topic: &str, queue_id: i32, offset: QueueOffset) -> bool {
        self.commitlog_offset_in_queue(topic, queue_id, offset)
            .is_some_and(|phy| self.commitlog.written_offset().saturating_sub(phy.0) <= self.memory_window)
    }

    /// Store time of the message at a queue offset.
    pub fn message_store_time(&self, topic: &str, queue_id: i32, offset: QueueOffset) -> Option<i64> {
        let phy = self.commitlog_offset_in_queue(topic, queue_id, offset)?;
        self.commitlog.store_time_at(phy.0)
    }

    /// Store time of the oldest message still in a queue.
    pub fn earliest_message_time_in_queue(&self, topic: &str, queue_id: i32) -> Option<i64> {
        let min = self.min_offset_in_queue(topic, queue_id);
        self.message_store_time(topic, queue_id, min)
    }

    /// Store time of the oldest record in the CommitLog.
    pub fn earliest_message_time(&self) -> Option<i64> {
        self.commitlog.store_time_at(self.commitlog.min_offset())
    }

    /// The first queue offset whose message was stored at or after
    /// `timestamp` (ms); the queue's max offset when all are older (binary
    /// search: store times grow along a queue).
    pub fn offset_by_time(&self, topic: &str, queue_id: i32, timestamp: i64) -> QueueOffset {
        let Some(cq) = self.queues.get(topic, queue_id) else {
            return QueueOffset(0);
        };
        let cl = &self.commitlog;
        let (mut lo, mut hi) = (cq.min_offset(), cq.max_offset());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let time = cq.entry(mid).and_then(|e| cl.store_time_at(e.physical_offset));
            match time {
                Some(t) if t >= timestamp => hi = mid,
                // Records already removed count as older than anything asked for.
                _ => lo = mid + 1,
            }
        }
        QueueOffset(lo)
    }

    /// The stored record at a CommitLog offset, sized by its TOTALSIZE
    /// (VIEW_MESSAGE_BY_ID, transactions, send-back).
    pub fn message_at(&self, offset: PhysicalOffset) -> Option<Bytes> {
        self.commitlog.record_at(offset.0)
    }

    /// Records indexed under `topic#key` (keys and UNIQ_KEY) stored between
    /// `begin` and `end` ms, newest first, at most `max`. Hash collisions are
    /// possible: callers re-check the key, as Java clients do.
    pub fn query_by_key(&self, topic: &str, key: &str, max: usize, begin: i64, end: i64) -> QueryResult {
        let Some(index) = &self.index else {
            return QueryResult::default();
        };
        let hits = index.query(topic, key, max, begin, end);
        QueryResult {
            messages: hits.offsets.iter().filter_map(|o| self.commitlog.record_at(*o)).collect(),
            index_last_update_timestamp: hits.last_update_timestamp,
            index_last_update_phy_offset: hits.last_update_phy_offset,
        }
    }

    /// Deletes the consume queues of `topic` (DELETE_TOPIC_IN_BROKER). Its
    /// CommitLog records stay until retention removes them.
    pub fn delete_topic(&self, topic: &str) -> crate::Result<()> {
        let now = self.clock.now_millis().max(1) as u64;
        self.commitlog.lock_writer(now).forget_topic(topic);
        for cq in self.queues.remove_topic(topic) {
            cq.destroy()?;
        }
        Ok(())
    }

    /// Topics that have consume queues.
    pub fn topics(&self) -> Vec<String> {
        self.queues.topics()
    }
}
