//! Taking messages for a POP: queue by queue (the topic's and the group's
//! retry topic's), each under a try-lock so that two pops of one group never
//! take the same messages, moving the group's offset and recording the
//! checkpoint (or, FIFO, the order state) before the messages leave.

use bytes::Bytes;
use rmq_model::properties::keys;
use rmq_model::record::{self, NewMessage, Placement};
use rmq_model::{QueueOffset, perm, topic as topics};
use rmq_protocol::receipt::{PopOffsetInfo, ReceiptHandle, RetryFlag, pop_retry_topic};
use rmq_store::{GetMessageStatus, MessageFilter};

use super::order::QueueKey;
use super::{PopEngine, ledger::CkKey};
use crate::now_ms;

/// What one POP asks for.
pub(crate) struct PopQuery<'a> {
    pub group: &'a str,
    /// The topic as the client names it (never the retry topic).
    pub topic: &'a str,
    pub invisible_time: i64,
    pub max: usize,
    pub order: bool,
    pub init_mode: i32,
    pub filter: &'a dyn MessageFilter,
    pub pop_time: i64,
    pub revive_qid: i32,
}

/// What a POP took.
#[derive(Debug, Default)]
pub(crate) struct Popped {
    pub messages: Vec<Bytes>,
    pub info: PopOffsetInfo,
    /// Messages left behind in the queues looked at.
    pub rest: i64,
}

impl PopEngine {
    /// Pops from `queue_ids` of `topic` (the client's topic or its retry
    /// topic), appending to `out` until `q.max` messages are there.
    pub fn pop_topic(&self, q: &PopQuery<'_>, topic: &str, queue_ids: &[i32], out: &mut Popped) {
        for &queue_id in queue_ids {
            self.pop_queue(q, topic, queue_id, out);
        }
    }

    /// The retry topic's queues, if the group has a retry topic here.
    pub fn retry_queues(&self, q: &PopQuery<'_>) -> (String, Vec<i32>) {
        let retry = pop_retry_topic(q.topic, q.group);
        let queues = self.topics.get(&retry).map(|t| (0..t.read_queue_nums as i32).collect()).unwrap_or_default();
        (retry, queues)
    }

    fn pop_queue(&self, q: &PopQuery<'_>, topic: &str, queue_id: i32, out: &mut Popped) {
        let key: QueueKey = (q.group.to_owned(), topic.to_owned(), queue_id);
        let offset = self.pop_offset(q, topic, queue_id);
        if out.messages.len() >= q.max || !self.try_lock(&key) {
            out.rest += (self.max_offset(topic, queue_id) - offset).max(0);
            return;
        }
        let _unlock = Unlock { engine: self, key: key.clone() };
        if q.order && self.order().blocked(&key, now_ms()) {
            return;
        }
        let offset = self.pop_offset(q, topic, queue_id);
        let want = (q.max - out.messages.len()) as u32;
        let mut got = self.store.get_messages(topic, queue_id, QueueOffset(offset.max(0) as u64), want, q.filter);
        if matches!(
            got.status,
            GetMessageStatus::OffsetTooSmall
                | GetMessageStatus::OffsetOverflowBadly
                | GetMessageStatus::OffsetFoundNull
        ) {
            // The stored offset is off the queue (files deleted, queue reset): start over from where it is.
            self.offsets.commit(q.group, topic, queue_id, got.next_begin_offset.as_i64());
            got = self.store.get_messages(topic, queue_id, got.next_begin_offset, want, q.filter);
        }
        let next = got.next_begin_offset.as_i64();
        out.rest += (got.max_offset.as_i64() - next).max(0);
        if got.messages.is_empty() {
            if next > offset && got.status != GetMessageStatus::OffsetOverflowOne {
                // Filtered out or gone: the group moves past them.
                self.offsets.commit(q.group, topic, queue_id, next);
            }
            return;
        }
        let mut taken: Vec<(i64, Bytes)> =
            got.queue_offsets.iter().map(|o| o.as_i64()).zip(got.messages.iter().cloned()).collect();
        if q.order {
            self.take_in_order(q, &key, &mut taken, out);
            return;
        }
        let offsets: Vec<i64> = taken.iter().map(|(o, _)| *o).collect();
        let ck = CkKey {
            group: q.group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
            start_offset: offset,
            pop_time: q.pop_time,
        };
        if let Err(e) = self.add_checkpoint(&ck, q.invisible_time, q.revive_qid, &offsets) {
            tracing::warn!("pop of {topic}:{queue_id} for {}: checkpoint not stored, nothing taken: {e}", q.group);
            return;
        }
        self.offsets.commit(q.group, topic, queue_id, next);
        out.info.add_queue(topic, queue_id, offset, &offsets);
        self.hand_out(q, topic, offset, taken, out);
    }

    /// FIFO: take the messages in order, skip those acked already (a re-pop
    /// after the invisible time), move those delivered too often to the DLQ.
    fn take_in_order(&self, q: &PopQuery<'_>, key: &QueueKey, taken: &mut Vec<(i64, Bytes)>, out: &mut Popped) {
        let (topic, queue_id) = (key.1.as_str(), key.2);
        let max_reconsume = self.groups.get(q.group).map_or(16, |g| g.retry_max_times).max(0) as u32;
        let mut kept = Vec::with_capacity(taken.len());
        for (offset, stored) in taken.drain(..) {
            let (acked, delivered) = {
                let book = self.order();
                (book.is_acked(key, offset), book.deliveries(key, offset))
            };
            if acked {
                continue;
            }
            if delivered > max_reconsume {
                // Delivered 1 + maxReconsumeTimes times: to the DLQ, and the
                // group moves past it; behind a message still to deliver it
                // waits for the next pop, so that order holds.
                if !kept.is_empty() {
                    break;
                }
                if let Err(e) = self.to_dlq(q.group, &stored) {
                    tracing::warn!("FIFO pop of {topic}:{queue_id}: DLQ of offset {offset} failed: {e}");
                    return;
                }
                self.order().popped(key, q.pop_time, 0, &[offset]);
                if let Err(e) = self.ack_orderly(q.group, topic, queue_id, q.pop_time, offset) {
                    tracing::warn!("FIFO pop of {topic}:{queue_id}: moving past offset {offset} failed: {e}");
                    return;
                }
                continue;
            }
            kept.push((offset, stored, delivered));
        }
        if kept.is_empty() {
            return;
        }
        let offsets: Vec<i64> = kept.iter().map(|(o, _, _)| *o).collect();
        let start = offsets[0];
        self.order_popped(key, q.pop_time, q.invisible_time, &offsets);
        out.info.add_queue(topic, queue_id, start, &offsets);
        for (offset, _, delivered) in &kept {
            out.info.add_order_count(topic, queue_id, *offset, *delivered);
        }
        self.hand_out(q, topic, start, kept.into_iter().map(|(o, b, _)| (o, b)).collect(), out);
    }

    /// Adds the messages to the response: as stored, except that retry-topic
    /// messages are rewritten to carry the client's topic and their receipt
    /// handle (`POP_CK`), as Java answers.
    fn hand_out(&self, q: &PopQuery<'_>, topic: &str, start: i64, taken: Vec<(i64, Bytes)>, out: &mut Popped) {
        if RetryFlag::of(topic) == RetryFlag::Normal {
            out.messages.extend(taken.into_iter().map(|(_, b)| b));
            return;
        }
        for (offset, stored) in taken {
            let handle = ReceiptHandle {
                ck_offset: start,
                pop_time: q.pop_time,
                invisible_time: q.invisible_time,
                revive_qid: q.revive_qid,
                retry: RetryFlag::of(topic),
                broker_name: self.broker_name.clone(),
                queue_id: record::decode_message(&stored, false).map(|v| v.queue_id).unwrap_or(0),
                offset: Some(offset),
            };
            match as_popped_retry(&stored, q.topic, &handle) {
                Some(rewritten) => out.messages.push(rewritten),
                None => out.messages.push(stored),
            }
        }
    }

    /// The group's POP position in a queue, initialised on first use.
    fn pop_offset(&self, q: &PopQuery<'_>, topic: &str, queue_id: i32) -> i64 {
        if let Some(offset) = self.offsets.query(q.group, topic, queue_id).filter(|o| *o >= 0) {
            return offset;
        }
        let offset = self.init_offset(topic, queue_id, q.init_mode);
        self.offsets.commit(q.group, topic, queue_id, offset);
        offset
    }

    fn try_lock(&self, key: &QueueKey) -> bool {
        self.busy.lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone())
    }

    /// Stores a message that exhausted its retries in the group's DLQ.
    pub(super) fn to_dlq(&self, group: &str, stored: &[u8]) -> Result<(), String> {
        let view = record::decode_message(stored, false).map_err(|e| e.to_string())?;
        let dlq = topics::dlq_topic(group);
        let (_, created) = self.topics.get_or_create(&dlq, 1, perm::READ_WRITE, now_ms());
        if created {
            self.topics.changed();
        }
        let mut props = view.decode_properties();
        if !props.contains(keys::RETRY_TOPIC) {
            props.insert(keys::RETRY_TOPIC, rmq_protocol::receipt::original_topic(view.topic, group));
        }
        if props.get(keys::ORIGIN_MESSAGE_ID).is_none_or(str::is_empty) {
            props.insert(keys::ORIGIN_MESSAGE_ID, view.offset_msg_id());
        }
        props.remove(keys::POP_CK);
        let properties = props.encode();
        let msg = NewMessage { prepared_transaction_offset: 0, ..view.stored_again(&dlq, 0, properties.as_bytes()) };
        self.store.put(&msg).map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Releases a queue's pop lock.
struct Unlock<'a> {
    engine: &'a PopEngine,
    key: QueueKey,
}

impl Drop for Unlock<'_> {
    fn drop(&mut self) {
        self.engine.busy.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.key);
    }
}

/// A retry-topic record re-encoded under `topic` with its `POP_CK`.
fn as_popped_retry(stored: &[u8], topic: &str, handle: &ReceiptHandle) -> Option<Bytes> {
    let view = record::decode_message(stored, false).ok()?;
    let mut props = view.decode_properties();
    if !props.contains(keys::POP_CK) {
        props.insert(keys::POP_CK, handle.to_string());
    }
    let properties = props.encode();
    let msg = view.stored_again(topic, view.queue_id, properties.as_bytes());
    let at = Placement {
        queue_offset: view.queue_offset,
        physical_offset: view.physical_offset,
        store_timestamp: view.store_timestamp,
        store_host: view.store_host,
    };
    record::encode(&msg, &at).ok().map(Bytes::from)
}
