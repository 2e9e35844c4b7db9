//! RocketMQ 5's POP consumption. The broker, not the client, picks the
//! messages; each popped message stays invisible to its group for the
//! invisible time and comes back unless acked.
//!
//! How rmq keeps it (documented in docs/compatibility.md, "POP"):
//! - A pop of a queue moves the group's offset there at once (the consumer
//!   offset table is the POP position) and writes a checkpoint record to the
//!   revive log, `rmq_sys_REVIVE_LOG_<cluster>`, in Java's JSON; an ack writes
//!   an ack record. The [`ledger::Ledger`] holds the live checkpoints in
//!   memory; it is rebuilt from the revive log at startup ([`recovery`]), from
//!   the oldest live checkpoint on, which the revive group's offset records.
//! - When a checkpoint's time comes, [`revive`] stores its unacked messages
//!   again in `%RETRY%<group>_<topic>` with `reconsumeTimes + 1` (in
//!   `%DLQ%<group>` past the group's `retryMaxTimes`), then records them as
//!   done. A POP takes from the retry topic too.
//! - FIFO pops ([`order`]) write no checkpoint: the queue blocks until acked.

pub(crate) mod ledger;
pub(crate) mod order;
pub(crate) mod records;
pub(crate) mod recovery;
pub(crate) mod revive;
mod take;

use rmq_model::record::NewMessage;
use rmq_model::{QueueOffset, perm};
use rmq_protocol::receipt::{ORDER_REVIVE_QUEUE, ReceiptHandle, RetryFlag, original_topic};
use rmq_store::StoreError;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

use crate::long_poll::PullWaiters;
use crate::message_log::MessageLog;
use crate::now_ms;
use crate::tables::{ConsumerOffsets, SubscriptionGroups, TopicTable};
use ledger::{AckOutcome, CkKey, Ledger};
use order::{OrderBook, QueueKey};
use records::{AckRecord, OrderAckRecord, ReviveRecord};

pub(crate) use take::{PopQuery, Popped};

/// The group whose offsets in the revive topic say where replay starts.
pub(crate) const REVIVE_GROUP: &str = "CID_RMQ_SYS_REVIVE_GROUP";
/// Most messages one POP may ask for (Java refuses more).
pub(crate) const MAX_POP_NUMS: i32 = 32;
/// Longest invisible time accepted: 12 hours, the 5.x proxy's limit.
pub(crate) const MAX_INVISIBLE_MS: i64 = 12 * 3600 * 1000;

/// Why an ack or invisible-time change was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PopError {
    #[error("the receipt handle is unknown or expired: {0}")]
    UnknownHandle(String),
    #[error("the revive log refused the record: {0}")]
    Store(#[from] StoreError),
}

/// The POP machinery of one broker.
#[derive(Debug)]
pub(crate) struct PopEngine {
    pub store: Arc<dyn MessageLog>,
    pub topics: Arc<TopicTable>,
    pub groups: Arc<SubscriptionGroups>,
    pub offsets: Arc<ConsumerOffsets>,
    pub waiters: Arc<PullWaiters>,
    pub broker_name: String,
    pub revive_topic: String,
    pub revive_queues: i32,
    /// Written as born and store host of revive-log records.
    pub store_host: SocketAddr,
    ledger: Mutex<Ledger>,
    order: Mutex<OrderBook>,
    /// Queues a pop is reading now: a second pop of the group skips them.
    busy: Mutex<HashSet<QueueKey>>,
    next_revive_qid: AtomicU64,
    /// Woken when a checkpoint may fall due sooner than the reviver sleeps.
    revive_wake: Notify,
    /// True once the ledger was rebuilt from the revive log (at once on slaves).
    ready: tokio::sync::watch::Sender<bool>,
    /// Held (shared) from writing a checkpoint record until the ledger has it,
    /// and (exclusive) while the replay start is recorded: a record written
    /// but not yet in the ledger is never skipped.
    progress_gate: std::sync::RwLock<()>,
}

/// Parts the engine is built from.
#[derive(Debug)]
pub(crate) struct PopParts {
    pub store: Arc<dyn MessageLog>,
    pub topics: Arc<TopicTable>,
    pub groups: Arc<SubscriptionGroups>,
    pub offsets: Arc<ConsumerOffsets>,
    pub waiters: Arc<PullWaiters>,
    pub broker_name: String,
    pub cluster_name: String,
    pub revive_queues: i32,
    pub store_host: SocketAddr,
}

impl PopEngine {
    pub fn new(p: PopParts) -> PopEngine {
        let revive_topic = rmq_model::topic::revive_topic(&p.cluster_name);
        let (_, created) = p.topics.get_or_create(&revive_topic, p.revive_queues as u32, perm::READ_WRITE, now_ms());
        if created {
            p.topics.persist();
        }
        PopEngine {
            store: p.store,
            topics: p.topics,
            groups: p.groups,
            offsets: p.offsets,
            waiters: p.waiters,
            broker_name: p.broker_name,
            revive_topic,
            revive_queues: p.revive_queues.max(1),
            store_host: p.store_host,
            ledger: Mutex::default(),
            order: Mutex::default(),
            busy: Mutex::default(),
            next_revive_qid: AtomicU64::new(0),
            revive_wake: Notify::new(),
            ready: tokio::sync::watch::Sender::new(false),
            progress_gate: std::sync::RwLock::new(()),
        }
    }

    /// Resolves once the ledger holds what was in flight before the start:
    /// requests that read or change it wait for the replay.
    pub async fn ready(&self) {
        let mut ready = self.ready.subscribe();
        let _ = ready.wait_for(|r| *r).await;
    }

    /// Marks the ledger complete (after [`PopEngine::recover`], or on a slave).
    pub fn set_ready(&self) {
        self.ready.send_replace(true);
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn order(&self) -> MutexGuard<'_, OrderBook> {
        self.order.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The revive queue the next non-FIFO pop writes its checkpoints to.
    pub fn pick_revive_qid(&self) -> i32 {
        (self.next_revive_qid.fetch_add(1, Ordering::Relaxed) % self.revive_queues as u64) as i32
    }

    /// Appends a record to a revive queue; returns its offset there.
    fn write(&self, record: &ReviveRecord, revive_qid: i32) -> Result<i64, StoreError> {
        let (tag, body, key) = record.encode();
        let properties = records::properties(tag, &key);
        let now = now_ms();
        let msg = NewMessage {
            topic: &self.revive_topic,
            queue_id: revive_qid.clamp(0, self.revive_queues - 1),
            flag: 0,
            body: &body,
            properties: properties.as_bytes(),
            sys_flag: 0,
            born_timestamp: now,
            born_host: self.store_host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        Ok(self.store.put(&msg)?.queue_offset.as_i64())
    }

    /// ACK_MESSAGE for one message: `topic` as the client names it (the
    /// retry topic, or the topic with the handle's retry flag).
    pub fn ack(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        handle: &ReceiptHandle,
        offset: i64,
    ) -> Result<(), PopError> {
        self.ack_many(group, topic, queue_id, handle, &[offset])
    }

    /// Acks several messages of one pop of a queue with one revive-log
    /// record (a batch ack's entry). Offsets the checkpoint does not hold
    /// make it fail, after the others were acked.
    pub fn ack_many(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        handle: &ReceiptHandle,
        offsets: &[i64],
    ) -> Result<(), PopError> {
        let topic = real_topic(topic, group, handle.retry);
        if handle.is_order() {
            let mut outcome = Ok(());
            for &offset in offsets {
                if let Err(e) = self.ack_orderly(group, &topic, queue_id, handle.pop_time, offset) {
                    outcome = Err(e);
                }
            }
            return outcome;
        }
        let key = CkKey {
            group: group.to_owned(),
            topic: topic.clone(),
            queue_id,
            start_offset: handle.ck_offset,
            pop_time: handle.pop_time,
        };
        let (revive_qid, to_ack, unknown) = {
            let ledger = self.ledger();
            let Some(ck) = ledger.get(&key) else {
                return Err(PopError::UnknownHandle(handle.to_string()));
            };
            let to_ack: Vec<i64> = offsets.iter().copied().filter(|o| ledger.holds(&key, *o)).collect();
            // Offsets acked before are fine; offsets the pop never took are not.
            let unknown = offsets.iter().any(|o| !ck.offsets.contains(o));
            (ck.revive_qid, to_ack, unknown)
        };
        if !to_ack.is_empty() {
            let record = AckRecord {
                ack_offset: to_ack[0],
                ack_offset_list: if to_ack.len() > 1 { to_ack.clone() } else { Vec::new() },
                start_offset: handle.ck_offset,
                consumer_group: group.to_owned(),
                topic,
                queue_id,
                pop_time: handle.pop_time,
                broker_name: self.broker_name.clone(),
            };
            self.write(&ReviveRecord::Ack(record), revive_qid)?;
            let mut ledger = self.ledger();
            let revived = to_ack.iter().filter(|o| ledger.ack(&key, **o) == AckOutcome::Unknown).count();
            if revived > 0 {
                // Revived between the look and the ack: the retry copies stand.
                return Err(PopError::UnknownHandle(handle.to_string()));
            }
        }
        if unknown {
            return Err(PopError::UnknownHandle(handle.to_string()));
        }
        Ok(())
    }

    fn ack_orderly(&self, group: &str, topic: &str, queue_id: i32, pop_time: i64, offset: i64) -> Result<(), PopError> {
        let key: QueueKey = (group.to_owned(), topic.to_owned(), queue_id);
        let unknown = || PopError::UnknownHandle(format!("{pop_time} {queue_id} {offset}"));
        {
            // Under the order lock, so that two acks of one queue commit, and
            // log their states, in order.
            let _gate = self.progress_gate.read().unwrap_or_else(|e| e.into_inner());
            let mut book = self.order();
            if !book.knows(&key) {
                return Err(unknown());
            }
            let committed = self.offsets.query(group, topic, queue_id).unwrap_or(0);
            if offset < committed {
                // Acked before (the offset moved past it).
                return Ok(());
            }
            let next = book.ack(&key, offset, pop_time, committed).ok_or_else(unknown)?;
            if next > committed {
                self.offsets.commit(group, topic, queue_id, next);
            }
            self.log_order_state(&mut book, &key, next.max(committed))?;
        }
        self.waiters.arrived(topic, queue_id);
        Ok(())
    }

    /// Writes a FIFO queue's state to revive queue 0; the caller holds the
    /// progress gate (shared) and the order lock, so records follow changes.
    fn log_order_state(&self, book: &mut OrderBook, key: &QueueKey, committed: i64) -> Result<(), StoreError> {
        let state = book.state(key);
        let record = OrderAckRecord {
            consumer_group: key.0.clone(),
            topic: key.1.clone(),
            queue_id: key.2,
            next: committed,
            pop_time: state.pop_time,
            invisible_until: state.invisible_until,
            offsets: state.offsets,
            acked: state.acked,
            delivered_offsets: state.deliveries.iter().map(|d| d.0).collect(),
            delivered_counts: state.deliveries.iter().map(|d| d.1).collect(),
        };
        let log_offset = self.write(&ReviveRecord::OrderAck(record), 0)?;
        book.logged(key, log_offset);
        Ok(())
    }

    /// FIFO: a pop handed out `offsets`; logged before they leave.
    fn order_popped(&self, key: &QueueKey, pop_time: i64, invisible_time: i64, offsets: &[i64]) {
        let _gate = self.progress_gate.read().unwrap_or_else(|e| e.into_inner());
        let mut book = self.order();
        book.popped(key, pop_time, invisible_time, offsets);
        let committed = self.offsets.query(&key.0, &key.1, key.2).unwrap_or(0);
        if let Err(e) = self.log_order_state(&mut book, key, committed) {
            tracing::warn!("FIFO pop of {}:{} for {}: state not logged: {e}", key.1, key.2, key.0);
        }
    }

    /// CHANGE_MESSAGE_INVISIBLETIME: the message becomes visible
    /// `invisible_time` ms from now; returns the new pop time (the new handle
    /// is built from it, the message's offset as checkpoint start, and
    /// `invisible_time`).
    pub fn change_invisible(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        handle: &ReceiptHandle,
        offset: i64,
        invisible_time: i64,
    ) -> Result<i64, PopError> {
        let topic = real_topic(topic, group, handle.retry);
        let now = now_ms();
        if handle.is_order() {
            let key: QueueKey = (group.to_owned(), topic, queue_id);
            let _gate = self.progress_gate.read().unwrap_or_else(|e| e.into_inner());
            let mut book = self.order();
            if !book.change_invisible(&key, offset, handle.pop_time, now + invisible_time) {
                return Err(PopError::UnknownHandle(handle.to_string()));
            }
            let committed = self.offsets.query(group, &key.1, queue_id).unwrap_or(0);
            self.log_order_state(&mut book, &key, committed)?;
            return Ok(handle.pop_time);
        }
        let old = CkKey {
            group: group.to_owned(),
            topic: topic.clone(),
            queue_id,
            start_offset: handle.ck_offset,
            pop_time: handle.pop_time,
        };
        let (revive_qid, fresh) = {
            let ledger = self.ledger();
            let revive_qid = match ledger.get(&old) {
                // Only a message still in flight: an acked one must not come back.
                Some(ck) if ledger.holds(&old, offset) => ck.revive_qid,
                _ => return Err(PopError::UnknownHandle(handle.to_string())),
            };
            // A key no checkpoint has (two changes within a millisecond would collide).
            let mut fresh = CkKey { start_offset: offset, pop_time: now, ..old.clone() };
            while fresh == old || ledger.get(&fresh).is_some() {
                fresh.pop_time += 1;
            }
            (revive_qid, fresh)
        };
        // The new checkpoint first, then the ack of the old: a crash between
        // leaves the message covered twice (delivered again), never not at all.
        self.add_checkpoint(&fresh, invisible_time, revive_qid, &[offset])?;
        self.ack(group, &topic, queue_id, handle, offset)?;
        Ok(fresh.pop_time)
    }

    /// Records a pop of `offsets` in the revive log and the ledger.
    fn add_checkpoint(
        &self,
        key: &CkKey,
        invisible_time: i64,
        revive_qid: i32,
        offsets: &[i64],
    ) -> Result<(), StoreError> {
        let record = records::CkRecord {
            start_offset: key.start_offset,
            pop_time: key.pop_time,
            invisible_time,
            num: offsets.len() as i32,
            queue_id: key.queue_id,
            topic: key.topic.clone(),
            cid: key.group.clone(),
            queue_offset_diff: offsets.iter().map(|o| o - key.start_offset).collect(),
            broker_name: self.broker_name.clone(),
            ..records::CkRecord::default()
        };
        let _gate = self.progress_gate.read().unwrap_or_else(|e| e.into_inner());
        let log_offset = self.write(&ReviveRecord::Checkpoint(record), revive_qid)?;
        let ck = ledger::Checkpoint { invisible_time, revive_qid, offsets: offsets.to_vec(), acked: 0, log_offset };
        let sooner = self.ledger().next_due().is_none_or(|at| at > key.pop_time + invisible_time);
        self.ledger().add(key.clone(), ck);
        if sooner {
            self.revive_wake.notify_one();
        }
        Ok(())
    }

    /// Unacked messages `group` popped from a queue.
    pub fn in_flight(&self, group: &str, topic: &str, queue_id: i32) -> u64 {
        self.ledger().in_flight(group, topic, queue_id)
    }

    /// Every queue's unacked pops, keyed by (group, topic, queue).
    pub fn unacked_by_queue(&self) -> std::collections::HashMap<(String, String, i32), ledger::Unacked> {
        self.ledger().unacked_by_queue()
    }

    /// The queue's current max offset, as a signed number.
    fn max_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.store.max_offset_in_queue(topic, queue_id).as_i64()
    }

    fn min_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.store.min_offset_in_queue(topic, queue_id).as_i64()
    }

    /// Where a group with no offset starts popping (Java's `getInitOffset`):
    /// retry topics and `initMode` 1 from the first message; otherwise from
    /// the last one, or from 0 if the queue still holds its first message.
    fn init_offset(&self, topic: &str, queue_id: i32, init_mode: i32) -> i64 {
        let min = self.min_offset(topic, queue_id);
        if init_mode == 1 || RetryFlag::of(topic) != RetryFlag::Normal {
            return min;
        }
        if min <= 0 && self.store.is_in_memory_window(topic, queue_id, QueueOffset(0)) {
            return 0;
        }
        (self.max_offset(topic, queue_id) - 1).max(0)
    }

    /// Whether the revive machinery is for FIFO pops.
    pub fn revive_qid_of(order: bool, picked: i32) -> i32 {
        if order { ORDER_REVIVE_QUEUE } else { picked }
    }
}

/// The topic a message of a receipt handle lies in: a retry topic named by
/// the client is taken as it is; otherwise the handle's flag decides.
fn real_topic(topic: &str, group: &str, flag: RetryFlag) -> String {
    if RetryFlag::of(topic) != RetryFlag::Normal {
        return topic.to_owned();
    }
    flag.real_topic(original_topic(topic, group), group)
}

impl PopEngine {
    /// The group's POP position in a queue without initialising it.
    pub fn position(&self, group: &str, topic: &str, queue_id: i32) -> u64 {
        match self.offsets.query(group, topic, queue_id).filter(|o| *o >= 0) {
            Some(offset) => offset as u64,
            None => self.init_offset(topic, queue_id, 0).max(0) as u64,
        }
    }

    /// Whether the group has something to pop in `topic` (or its retry topic).
    pub fn has_message(&self, group: &str, topic: &str, queue_id: i32, read_queues: u32) -> bool {
        let queues: Vec<i32> = if queue_id < 0 { (0..read_queues as i32).collect() } else { vec![queue_id] };
        let pending = |t: &str, q: i32| self.max_offset(t, q) > self.position(group, t, q) as i64;
        let retry = rmq_protocol::receipt::pop_retry_topic(topic, group);
        queues.iter().any(|q| pending(topic, *q)) || pending(&retry, 0)
    }
}
