//! Delivery of delayed messages (Java's `ScheduleMessageService`): one cursor
//! per delay level over the queues of `SCHEDULE_TOPIC_XXXX`. Each consume-queue entry's tag code is its
//! delivery time; when it has come, the message is stored again under its real
//! topic and queue, and the level's offset moves on. Offsets live in
//! `config/delayOffset.json`. Only masters deliver.

use rmq_model::QueueOffset;
use rmq_model::properties::keys;
use rmq_model::record;
use rmq_model::topic::SCHEDULE_TOPIC;
use rmq_remoting::CancellationToken;
use rmq_store::{AcceptAll, GetMessageStatus, MessageStore};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::delay::DelayLevels;
use crate::now_ms;
use crate::retry_log::RetryLog;
use crate::tables::DelayOffsets;

/// Longest sleep between looks at the levels: new messages are noticed this fast.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// Entries examined per level per round, so one busy level cannot starve others.
const BATCH: u32 = 32;

/// Outcome of one look at a level.
enum Step {
    /// Delivered messages (or moved the cursor); look again at once.
    Delivered,
    /// The head of the queue is due in this many ms.
    NotDue(i64),
    /// Nothing queued at this level.
    Empty,
}

/// Delivers delayed messages when they are due; masters only.
#[derive(Debug)]
pub(crate) struct DelayDelivery {
    pub store: Arc<MessageStore>,
    pub offsets: Arc<DelayOffsets>,
    pub levels: Arc<DelayLevels>,
    /// `flushDelayOffsetInterval`: how often the offsets are saved.
    pub persist_every: Duration,
    /// Re-puts the store refused in a row (disk full, lease lapsed).
    pub retries: Mutex<RetryLog>,
}

impl DelayDelivery {
    /// Delivers due messages until `stop`; saves the offsets every
    /// `persist_every` and when stopping.
    pub(crate) async fn run(self: Arc<Self>, stop: CancellationToken) {
        let levels = self.levels.count() as i32;
        let persist_every = self.persist_every;
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
                self.offsets.persist();
                last_persist = tokio::time::Instant::now();
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(sleep) => {}
            }
        }
        self.offsets.persist();
    }

    fn deliver_level(&self, level: i32) -> Step {
        let queue_id = level - 1;
        let mut offset = self.offsets.get(level);
        let got =
            self.store.get_messages(SCHEDULE_TOPIC, queue_id, QueueOffset(offset.max(0) as u64), BATCH, &AcceptAll);
        match got.status {
            GetMessageStatus::Found => {}
            GetMessageStatus::OffsetTooSmall | GetMessageStatus::OffsetOverflowBadly => {
                // Files were deleted or the offset is stale: continue from where the queue is.
                self.offsets.set(level, got.next_begin_offset.as_i64());
                return Step::Delivered;
            }
            _ => return Step::Empty,
        }
        let now = now_ms();
        let mut retries = self.retries.lock().unwrap_or_else(|e| e.into_inner());
        for (delivered, (stored, queue_offset)) in got.messages.iter().zip(&got.queue_offsets).enumerate() {
            let due = match record::decode_message(stored, false) {
                Ok(view) => self.due_time(level, view.store_timestamp),
                Err(_) => now,
            };
            if due > now {
                self.offsets.set(level, offset);
                return if delivered > 0 { Step::Delivered } else { Step::NotDue(due - now) };
            }
            if let Err(e) = self.redeliver(stored) {
                retries.refused(&format!("delay level {level}: re-put of offset {}", queue_offset.0), &e);
                self.offsets.set(level, offset);
                return Step::NotDue(100);
            }
            retries.taken("delay level delivery");
            offset = queue_offset.as_i64() + 1;
        }
        self.offsets.set(level, got.next_begin_offset.as_i64().max(offset));
        Step::Delivered
    }

    fn due_time(&self, level: i32, store_timestamp: i64) -> i64 {
        store_timestamp + self.levels.delay_of(level).as_millis() as i64
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
        let msg = view.stored_again(&topic, queue_id, properties.as_bytes());
        self.store.put(&msg).map(|_| ()).map_err(|e| e.to_string())
    }
}
