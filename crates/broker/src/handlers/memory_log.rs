//! An in-memory [`MessageLog`] for the handlers' unit tests: records encoded
//! in RocketMQ's layout (so what a handler stores can be decoded and checked
//! as the store would hold it), one list of entries per queue, and a switch
//! that makes puts fail as a full disk does.

use bytes::Bytes;
use rmq_model::record::{self, NewMessage, Placement};
use rmq_model::{PhysicalOffset, QueueOffset, java};
use rmq_store::{GetMessageResult, GetMessageStatus, MessageFilter, PutResult, StoreError, Unavailable};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Mutex;

use crate::message_log::MessageLog;

#[derive(Debug, Default)]
struct Entry {
    physical: u64,
    tags_code: i64,
    store_timestamp: i64,
}

#[derive(Debug, Default)]
struct State {
    records: BTreeMap<u64, Bytes>,
    next_physical: u64,
    queues: HashMap<(String, i32), Vec<Entry>>,
    full: bool,
    clock_ms: i64,
}

#[derive(Debug)]
pub(crate) struct MemoryLog {
    state: Mutex<State>,
    host: SocketAddr,
}

impl MemoryLog {
    pub(crate) fn new() -> MemoryLog {
        MemoryLog {
            state: Mutex::new(State { clock_ms: 1_700_000_000_000, ..State::default() }),
            host: "127.0.0.1:10911".parse().expect("an address"),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From now on puts fail as on a full disk (SERVICE_NOT_AVAILABLE).
    pub(crate) fn fill_disk(&self) {
        self.state().full = true;
    }

    /// Every record of a queue, decoded as stored.
    pub(crate) fn queue(&self, topic: &str, queue_id: i32) -> Vec<Bytes> {
        let state = self.state();
        let Some(entries) = state.queues.get(&(topic.to_owned(), queue_id)) else { return Vec::new() };
        entries.iter().map(|e| state.records[&e.physical].clone()).collect()
    }

    /// The queues that hold at least one message, as (topic, queue id).
    pub(crate) fn queues(&self) -> Vec<(String, i32)> {
        let mut queues: Vec<_> = self.state().queues.keys().cloned().collect();
        queues.sort();
        queues
    }
}

impl MessageLog for MemoryLog {
    fn put(&self, msg: &NewMessage<'_>) -> Result<PutResult, StoreError> {
        self.put_batch(std::slice::from_ref(msg))
    }

    fn put_batch(&self, msgs: &[NewMessage<'_>]) -> Result<PutResult, StoreError> {
        let mut state = self.state();
        if state.full {
            return Err(StoreError::ServiceNotAvailable(Unavailable::DiskFull));
        }
        state.clock_ms += 1;
        let mut first = None;
        let mut sizes = Vec::new();
        for msg in msgs {
            let key = (msg.topic.to_owned(), msg.queue_id);
            let at = Placement {
                queue_offset: state.queues.get(&key).map_or(0, Vec::len) as i64,
                physical_offset: state.next_physical as i64,
                store_timestamp: state.clock_ms,
                store_host: self.host,
            };
            let stored = record::encode(msg, &at).map_err(|e| StoreError::MessageIllegal(e.to_string()))?;
            let view = record::decode_message(&stored, false).map_err(|e| StoreError::MessageIllegal(e.to_string()))?;
            let tags_code =
                view.property("TAGS").map_or(0, |t| i64::from(java::string_hash_code(&String::from_utf8_lossy(t))));
            state.queues.entry(key).or_default().push(Entry {
                physical: at.physical_offset as u64,
                tags_code,
                store_timestamp: at.store_timestamp,
            });
            state.next_physical += stored.len() as u64;
            state.records.insert(at.physical_offset as u64, Bytes::from(stored.clone()));
            sizes.push(stored.len() as u64);
            first.get_or_insert(at);
        }
        let first = first.ok_or_else(|| StoreError::MessageIllegal("no message".into()))?;
        Ok(PutResult::of_records(&first, &sizes))
    }

    fn message_at(&self, offset: PhysicalOffset) -> Option<Bytes> {
        self.state().records.get(&offset.0).cloned()
    }

    fn commitlog_offset_in_queue(&self, topic: &str, queue_id: i32, offset: QueueOffset) -> Option<PhysicalOffset> {
        let state = self.state();
        let entry = state.queues.get(&(topic.to_owned(), queue_id))?.get(usize::try_from(offset.0).ok()?)?;
        Some(PhysicalOffset(entry.physical))
    }

    fn get_messages(
        &self,
        topic: &str,
        queue_id: i32,
        offset: QueueOffset,
        max: u32,
        filter: &dyn MessageFilter,
    ) -> GetMessageResult {
        let state = self.state();
        let entries = state.queues.get(&(topic.to_owned(), queue_id)).map_or(&[][..], Vec::as_slice);
        let (next, max_offset) = (offset.0, entries.len() as u64);
        let status = match () {
            _ if entries.is_empty() => Some(GetMessageStatus::NoMessageInQueue),
            _ if next == max_offset => Some(GetMessageStatus::OffsetOverflowOne),
            _ if next > max_offset => Some(GetMessageStatus::OffsetOverflowBadly),
            _ => None,
        };
        if let Some(status) = status {
            let next = if status == GetMessageStatus::OffsetOverflowBadly { max_offset } else { next };
            return GetMessageResult::empty(status, next, 0, max_offset);
        }
        let mut result = GetMessageResult::empty(GetMessageStatus::NoMatchedMessage, next, 0, max_offset);
        for (q, entry) in entries.iter().enumerate().skip(next as usize).take(max as usize) {
            result.next_begin_offset = QueueOffset(q as u64 + 1);
            let stored = &state.records[&entry.physical];
            if filter.matches_tags_code(entry.tags_code) && filter.matches_record(stored) {
                result.buffer_total_size += stored.len();
                result.messages.push(stored.clone());
                result.queue_offsets.push(QueueOffset(q as u64));
            }
        }
        if !result.messages.is_empty() {
            result.status = GetMessageStatus::Found;
        }
        result
    }

    fn min_offset_in_queue(&self, _topic: &str, _queue_id: i32) -> QueueOffset {
        QueueOffset(0)
    }

    fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> QueueOffset {
        QueueOffset(self.state().queues.get(&(topic.to_owned(), queue_id)).map_or(0, Vec::len) as u64)
    }

    fn is_in_memory_window(&self, _topic: &str, _queue_id: i32, _offset: QueueOffset) -> bool {
        true
    }

    fn earliest_message_time_in_queue(&self, topic: &str, queue_id: i32) -> Option<i64> {
        self.state().queues.get(&(topic.to_owned(), queue_id))?.first().map(|e| e.store_timestamp)
    }

    fn offset_by_time(&self, topic: &str, queue_id: i32, timestamp: i64) -> QueueOffset {
        let state = self.state();
        let entries = state.queues.get(&(topic.to_owned(), queue_id)).map_or(&[][..], Vec::as_slice);
        QueueOffset(entries.iter().position(|e| e.store_timestamp >= timestamp).unwrap_or(entries.len()) as u64)
    }

    fn max_message_size(&self) -> usize {
        4 * 1024 * 1024
    }
}
