//! Delivery of delayed messages (§8.1): one cursor per delay level over the
//! queues of `SCHEDULE_TOPIC_XXXX`. Each consume-queue entry's tag code is its
//! delivery time; when it has come, the message is stored again under its real
//! topic and queue, and the level's offset moves on. Offsets live in
//! `config/delayOffset.json`. Only masters deliver.

use rmq_model::QueueOffset;
use rmq_model::properties::keys;
use rmq_model::record::{self, NewMessage};
use rmq_model::tables::DelayOffsetSerializeWrapper;
use rmq_model::topic::SCHEDULE_TOPIC;
use rmq_store::{AcceptAll, GetMessageStatus};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::broker::Broker;
use crate::now_ms;

/// Longest sleep between looks at the levels: new messages are noticed this fast.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// Entries examined per level per round, so one busy level cannot starve others.
const BATCH: u32 = 32;

/// The delivery progress of every level: level (1-based) → next queue offset.
#[derive(Debug, Default)]
pub struct DelayOffsets {
    table: Mutex<BTreeMap<i32, i64>>,
}

impl DelayOffsets {
    pub fn load(stored: Option<DelayOffsetSerializeWrapper>) -> DelayOffsets {
        DelayOffsets { table: Mutex::new(stored.map(|w| w.offset_table).unwrap_or_default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, i64>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, level: i32) -> i64 {
        self.lock().get(&level).copied().unwrap_or(0)
    }

    fn set(&self, level: i32, offset: i64) {
        self.lock().insert(level, offset);
    }

    pub fn snapshot(&self) -> DelayOffsetSerializeWrapper {
        DelayOffsetSerializeWrapper { offset_table: self.lock().clone(), data_version: None }
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Replaces every level's offset with the master's (a slave's metadata sync).
    pub fn replace_all(&self, from_master: DelayOffsetSerializeWrapper) {
        *self.lock() = from_master.offset_table;
    }
}

/// Outcome of one look at a level.
enum Step {
    /// Delivered messages (or moved the cursor); look again at once.
    Delivered,
    /// The head of the queue is due in this many ms.
    NotDue(i64),
    /// Nothing queued at this level.
    Empty,
}

impl Broker {
    /// Delivers due messages until `stop`; persists offsets every
    /// `flushDelayOffsetInterval` and when stopping.
    pub(crate) async fn run_schedule(&self, stop: rmq_remoting::CancellationToken) {
        let levels = self.delay_level_count() as i32;
        let persist_every = Duration::from_millis(self.config().flush_delay_offset_interval.max(100));
        let mut last_persist = tokio::time::Instant::now();
        loop {
            let mut sleep = IDLE_POLL;
            for level in 1..=levels {
                match self.deliver_level(level) {
                    Step::Delivered => sleep = Duration::ZERO,
                    Step::NotDue(ms) => sleep = sleep.min(Duration::from_millis(ms.clamp(1, 100) as u64)),
                    Step::Empty => {}
                }
            }
            if last_persist.elapsed() >= persist_every {
                self.persist_delay_offsets();
                last_persist = tokio::time::Instant::now();
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(sleep) => {}
            }
        }
        self.persist_delay_offsets();
    }

    pub(crate) fn persist_delay_offsets(&self) {
        if let Err(e) = self.files.save_delay_offsets(&self.delay_offsets.snapshot()) {
            tracing::error!("persist delayOffset.json failed: {e}");
        }
    }

    fn deliver_level(&self, level: i32) -> Step {
        let queue_id = level - 1;
        let mut offset = self.delay_offsets.get(level);
        let got =
            self.store.get_messages(SCHEDULE_TOPIC, queue_id, QueueOffset(offset.max(0) as u64), BATCH, &AcceptAll);
        match got.status {
            GetMessageStatus::Found => {}
            GetMessageStatus::OffsetTooSmall | GetMessageStatus::OffsetOverflowBadly => {
                // Files were deleted or the offset is stale: continue from where the queue is.
                self.delay_offsets.set(level, got.next_begin_offset.as_i64());
                return Step::Delivered;
            }
            _ => return Step::Empty,
        }
        let now = now_ms();
        for (delivered, (stored, queue_offset)) in got.messages.iter().zip(&got.queue_offsets).enumerate() {
            let due = match record::decode_message(stored, false) {
                Ok(view) => self.due_time(level, view.store_timestamp),
                Err(_) => now,
            };
            if due > now {
                self.delay_offsets.set(level, offset);
                return if delivered > 0 { Step::Delivered } else { Step::NotDue(due - now) };
            }
            if let Err(e) = self.redeliver(stored) {
                tracing::warn!("delay level {level}: re-put of offset {} failed, retrying: {e}", queue_offset.0);
                self.delay_offsets.set(level, offset);
                return Step::NotDue(100);
            }
            offset = queue_offset.as_i64() + 1;
        }
        self.delay_offsets.set(level, got.next_begin_offset.as_i64().max(offset));
        Step::Delivered
    }

    fn due_time(&self, level: i32, store_timestamp: i64) -> i64 {
        let delays = self.store.config().delay_levels().unwrap_or_default();
        let delay = delays.get((level - 1) as usize).map_or(0, |d| d.as_millis() as i64);
        store_timestamp + delay
    }

    /// Stores a due message again under its real topic and queue.
    fn redeliver(&self, stored: &[u8]) -> Result<(), String> {
        let view = record::decode_message(stored, false).map_err(|e| e.to_string())?;
        let mut props = view.decode_properties();
        let topic = props.get(keys::REAL_TOPIC).map(str::to_owned).ok_or("no REAL_TOPIC property")?;
        let queue_id: i32 = props.get(keys::REAL_QUEUE_ID).and_then(|q| q.parse().ok()).unwrap_or(0);
        props.remove(keys::DELAY_TIME_LEVEL);
        props.insert(keys::WAIT_STORE_MSG_OK, "false");
        let properties = props.encode();
        let msg = NewMessage {
            topic: &topic,
            queue_id,
            flag: view.flag,
            body: view.body,
            properties: properties.as_bytes(),
            sys_flag: view.sys_flag,
            born_timestamp: view.born_timestamp,
            born_host: view.born_host,
            reconsume_times: view.reconsume_times,
            prepared_transaction_offset: view.prepared_transaction_offset,
        };
        self.store.put(&msg).map(|_| ()).map_err(|e| e.to_string())
    }

    /// `scheduleMessageOffset_<level>` values for GET_BROKER_RUNTIME_INFO.
    pub(crate) fn schedule_progress(&self) -> Vec<(i32, i64, i64)> {
        (1..=self.delay_level_count() as i32)
            .map(|level| {
                let max = self.store.max_offset_in_queue(SCHEDULE_TOPIC, level - 1).as_i64();
                (level, self.delay_offsets.get(level), max)
            })
            .collect()
    }
}
