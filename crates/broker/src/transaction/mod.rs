//! Transactional messages (Java's `EndTransactionProcessor` and
//! `TransactionalMessageCheckService`): END_TRANSACTION and the check-back
//! service.
//!
//! Everything lives in the store, as in Java, so that a restart loses
//! nothing:
//! * half messages wait in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0 (the send path
//!   parks them there);
//! * every commit or rollback writes an *op message* to
//!   `RMQ_SYS_TRANS_OP_HALF_TOPIC` (tag `d`, body = the half message's queue
//!   offset); a commit first stores the message again under its real topic;
//! * the check-back service's progress is the internal group
//!   `CID_RMQ_SYS_TRANS`'s consumer offsets on the half and op queues.
//!
//! When a half message is checked back it is stored again (a *copy*) with
//! `TRANSACTION_CHECK_TIMES` raised, and the producer is asked about the copy.
//! Every copy carries `TRAN_PREPARED_QUEUE_OFFSET` = the queue offset of the
//! first half message of its transaction (its *origin*), so that a commit or
//! rollback of any copy, or of the original, settles the whole transaction
//! and a second answer is refused instead of committing twice.
//!
//! [`Ledger`] is the in-memory index of settled transactions, rebuilt from
//! the op queue (from the checker's op progress) at first use.

mod check;
mod end;
mod ledger;

use rmq_model::QueueOffset;
use rmq_model::properties::keys;
use rmq_model::record::RecordView;
use rmq_model::subscription::TRANSACTION_CHECK_GROUP;
use rmq_model::topic::{TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC};
use rmq_remoting::CancellationToken;
use rmq_store::MessageStore;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::task::JoinSet;

use crate::background::Background;
use crate::clients::Clients;
use crate::delay::DelayLevels;
use crate::durability::Durability;
use crate::live_config::LiveConfig;
use crate::tables::{ConsumerOffsets, TopicTable};
pub(crate) use ledger::Ledger;

/// The only half queue the send path uses.
const HALF_QUEUE: i32 = 0;
/// Tag of op messages that settle a half message (Java's `REMOVETAG`).
const OP_REMOVE_TAG: &str = "d";

/// END_TRANSACTION and the check-back service, sharing one ledger. Its
/// mutex serializes settling and checking, so a transaction is settled once.
#[derive(Debug)]
pub(crate) struct Transactions {
    pub store: Arc<MessageStore>,
    /// Check interval, timeout and maximum checks.
    pub config: Arc<LiveConfig>,
    /// Slaves refuse END_TRANSACTION and run no checker.
    pub is_master: bool,
    /// A leased master (controller mode) settles nothing once its lease lapsed.
    pub durability: Arc<Durability>,
    /// The half, op and give-up topics are made on first use.
    pub topics: Arc<TopicTable>,
    /// The checker's progress is `CID_RMQ_SYS_TRANS`'s offsets.
    pub offsets: Arc<ConsumerOffsets>,
    /// The producers a half message is checked back with.
    pub clients: Arc<Clients>,
    /// A committed message with a delay is parked for it.
    pub delay_levels: Arc<DelayLevels>,
    /// Check-back requests are sent here, oneway.
    pub background: Background,
    pub ledger: Mutex<Ledger>,
}

impl Transactions {
    /// The ledger, loaded from the store on first use.
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        if !ledger.is_loaded() {
            ledger.load(&Progress::read(&self.offsets, &self.store), &self.store);
        }
        ledger
    }

    /// Starts the check-back service, on masters only: every
    /// `transactionCheckInterval` it asks producers about half messages left
    /// unknown for longer than `transactionTimeOut`.
    pub(crate) fn spawn(self: &Arc<Self>, stop: &CancellationToken, tasks: &mut JoinSet<()>) {
        if !self.is_master {
            return;
        }
        let tx = self.clone();
        let stop = stop.clone();
        tasks.spawn(async move {
            loop {
                let interval = Duration::from_millis(tx.config.get().transaction_check_interval.max(100));
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(interval) => {}
                }
                let round = tx.clone();
                match tokio::task::spawn_blocking(move || round.check_round(crate::now_ms())).await {
                    Ok(checks) => {
                        for check in checks {
                            check.send(&tx.background);
                        }
                    }
                    Err(e) => tracing::error!("transaction check round failed: {e}"),
                }
            }
        });
    }
}

/// Where the checker stands: the next half and op queue offsets it has not
/// dealt with (`CID_RMQ_SYS_TRANS`'s offsets, or the queues' minimum).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    pub half: i64,
    pub op: i64,
}

impl Progress {
    fn read(offsets: &ConsumerOffsets, store: &MessageStore) -> Progress {
        let at = |topic: &str| {
            offsets
                .query(TRANSACTION_CHECK_GROUP, topic, HALF_QUEUE)
                .filter(|o| *o >= 0)
                .unwrap_or_else(|| store.min_offset_in_queue(topic, HALF_QUEUE).as_i64())
        };
        Progress { half: at(TRANS_HALF_TOPIC), op: at(TRANS_OP_HALF_TOPIC) }
    }

    fn write(&self, offsets: &ConsumerOffsets) {
        offsets.commit(TRANSACTION_CHECK_GROUP, TRANS_HALF_TOPIC, HALF_QUEUE, self.half);
        offsets.commit(TRANSACTION_CHECK_GROUP, TRANS_OP_HALF_TOPIC, HALF_QUEUE, self.op);
    }
}

/// The first half message of `view`'s transaction: its
/// `TRAN_PREPARED_QUEUE_OFFSET`, or its own queue offset.
fn origin_of(view: &RecordView<'_>) -> i64 {
    view.property(keys::TRANSACTION_PREPARED_QUEUE_OFFSET)
        .and_then(|v| std::str::from_utf8(v).ok()?.parse::<i64>().ok())
        .filter(|o| *o >= 0)
        .unwrap_or(view.queue_offset)
}

/// The origin of the half message at queue offset `offset`, if it is there.
fn origin_at(store: &MessageStore, offset: i64) -> Option<i64> {
    let phys = store.commitlog_offset_in_queue(TRANS_HALF_TOPIC, HALF_QUEUE, QueueOffset(offset.max(0) as u64))?;
    let stored = store.message_at(phys)?;
    let view = rmq_model::record::decode_message(&stored, false).ok()?;
    Some(origin_of(&view))
}
