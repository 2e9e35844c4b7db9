//! One round of the check-back service (Java's
//! `TransactionalMessageServiceImpl.check`): walk the half queue
//! from the checker's progress, skip settled transactions, give up those
//! checked `transactionCheckMax` times, and ask the producer group about
//! those left unknown past `transactionTimeOut` (or their
//! `CHECK_IMMUNITY_TIME_IN_SECONDS`). Stops at the first message too young
//! to check, as Java does, so progress never passes an undecided message
//! without leaving a copy of it behind.

use rmq_model::QueueOffset;
use rmq_model::properties::keys;
use rmq_model::record::{self, Placement, RecordView};
use rmq_model::topic::{TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC};
use rmq_model::{Properties, perm};
use rmq_protocol::header::CheckTransactionStateRequestHeader;
use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_remoting::Connection;
use rmq_store::{AcceptAll, GetMessageStatus, PutResult};
use std::time::{Duration, Instant};

use super::{HALF_QUEUE, Transactions, origin_of};
use crate::background::Background;

/// Half messages read per store call (and per hold of the ledger lock).
const BATCH: u32 = 32;
/// Longest time one round may take (Java's `MAX_PROCESS_TIME_LIMIT`).
const ROUND_LIMIT: Duration = Duration::from_secs(60);

/// A CHECK_TRANSACTION_STATE to send, oneway, once the round is over.
#[derive(Debug)]
pub(crate) struct CheckBack {
    conn: Connection,
    request: RemotingCommand,
}

impl CheckBack {
    pub fn send(self, background: &Background) {
        background.spawn(async move {
            if let Err(e) = self.conn.oneway(self.request.into_oneway()).await {
                tracing::warn!("CHECK_TRANSACTION_STATE to {} failed: {e}", self.conn.remote_addr());
            }
        });
    }
}

/// What to do with one half message.
enum Step {
    /// Settled, given up or copied: move past it.
    Next,
    /// Too young, fresh, or a write failed: stop here until the next round.
    Stop,
}

impl Transactions {
    /// Runs one round at time `now` (ms) and returns the check-backs to send.
    pub(crate) fn check_round(&self, now: i64) -> Vec<CheckBack> {
        if self.store.max_offset_in_queue(TRANS_HALF_TOPIC, HALF_QUEUE).as_i64() == 0 {
            return Vec::new();
        }
        let (_, created) = self.topics.get_or_create(TRANS_HALF_TOPIC, 1, perm::READ_WRITE, now);
        if created {
            self.topics.persist();
        }
        let deadline = Instant::now() + ROUND_LIMIT;
        let mut checks = Vec::new();
        let mut next = self.ledger().progress().half;
        'scan: loop {
            let got =
                self.store.get_messages(TRANS_HALF_TOPIC, HALF_QUEUE, QueueOffset(next as u64), BATCH, &AcceptAll);
            if got.status != GetMessageStatus::Found {
                if got.status != GetMessageStatus::OffsetOverflowOne && got.next_begin_offset.as_i64() > next {
                    next = got.next_begin_offset.as_i64();
                    continue;
                }
                break;
            }
            let mut ledger = self.ledger();
            ledger.sync_ops(&self.store);
            for (stored, offset) in got.messages.iter().zip(&got.queue_offsets) {
                if Instant::now() > deadline {
                    tracing::info!("transaction check round stops at half offset {next}: time limit reached");
                    break 'scan;
                }
                let step = match record::decode_message(stored, false) {
                    Ok(view) if ledger.is_settled(origin_of(&view)) => Step::Next,
                    Ok(view) => self.decide(&view, now, &mut checks),
                    Err(e) => {
                        tracing::error!("half message at queue offset {} does not decode: {e}", offset.0);
                        Step::Next
                    }
                };
                match step {
                    Step::Next => next = offset.as_i64() + 1,
                    Step::Stop => break 'scan,
                }
            }
            if got.next_begin_offset.as_i64() > next {
                next = got.next_begin_offset.as_i64();
            }
        }
        let progress = self.ledger().advance(next, &self.store);
        progress.write(&self.offsets);
        if !checks.is_empty() {
            tracing::info!(
                "transaction check round: {} half messages checked back, progress {progress:?}",
                checks.len()
            );
        }
        checks
    }

    fn decide(&self, half: &RecordView<'_>, now: i64, checks: &mut Vec<CheckBack>) -> Step {
        let (timeout, max_checks) = {
            let c = self.config.get();
            (c.transaction_time_out as i64, c.transaction_check_max)
        };
        let reserved_ms = self.store.config().file_reserved_time as i64 * 3_600_000;
        let age = now - half.born_timestamp;
        let mut props = half.decode_properties();
        let checked: u32 = props.get(keys::TRANSACTION_CHECK_TIMES).and_then(|v| v.parse().ok()).unwrap_or(0);
        if checked >= max_checks || age > reserved_ms {
            tracing::warn!(
                "half message {} given up after {checked} checks (born {age} ms ago): moved to {TRANS_CHECK_MAX_TIME_TOPIC}",
                half.offset_msg_id()
            );
            return match self.give_up(half) {
                Ok(()) => Step::Next,
                Err(e) => {
                    tracing::error!(
                        "moving half message {} to {TRANS_CHECK_MAX_TIME_TOPIC} failed: {e}",
                        half.offset_msg_id()
                    );
                    Step::Stop
                }
            };
        }
        if half.store_timestamp >= now {
            return Step::Stop;
        }
        let immunity = props.get(keys::CHECK_IMMUNITY_TIME_IN_SECONDS).and_then(|v| v.parse::<i64>().ok());
        if let Some(seconds) = immunity {
            let immune_ms = if seconds == -1 { timeout } else { seconds.saturating_mul(1000) };
            if age < immune_ms {
                // Not to be checked yet, but not to hold up the queue either.
                props.insert(keys::TRANSACTION_PREPARED_QUEUE_OFFSET, origin_of(half).to_string());
                return match self.copy(half, &props) {
                    Ok(_) => Step::Next,
                    Err(_) => Step::Stop,
                };
            }
        } else if (0..timeout).contains(&age) {
            return Step::Stop;
        }
        props.insert(keys::TRANSACTION_CHECK_TIMES, (checked + 1).to_string());
        props.insert(keys::TRANSACTION_PREPARED_QUEUE_OFFSET, origin_of(half).to_string());
        let put = match self.copy(half, &props) {
            Ok(put) => put,
            Err(_) => return Step::Stop,
        };
        match self.check_back(half, &props, &put) {
            Some(check) => checks.push(check),
            None => tracing::warn!(
                "no live producer of group {} to check half message {} with",
                props.get(keys::PRODUCER_GROUP).unwrap_or(""),
                half.offset_msg_id()
            ),
        }
        Step::Next
    }

    /// Stores a copy of the half message with `props` at the end of the half queue.
    fn copy(&self, half: &RecordView<'_>, props: &Properties) -> Result<PutResult, ()> {
        let properties = props.encode();
        let put = self.store.put(&half.stored_again(TRANS_HALF_TOPIC, half.queue_id, properties.as_bytes()));
        put.map_err(|e| tracing::error!("re-storing half message {} failed: {e}", half.offset_msg_id()))
    }

    /// Moves a half message checked too often to `TRANS_CHECK_MAX_TIME_TOPIC`.
    fn give_up(&self, half: &RecordView<'_>) -> Result<(), rmq_store::StoreError> {
        let (_, created) = self.topics.get_or_create(TRANS_CHECK_MAX_TIME_TOPIC, 1, perm::READ_WRITE, crate::now_ms());
        if created {
            self.topics.persist();
        }
        self.store.put(&half.stored_again(TRANS_CHECK_MAX_TIME_TOPIC, 0, half.properties)).map(|_| ())
    }

    /// CHECK_TRANSACTION_STATE about the copy at `put`, for one live channel of
    /// the message's producer group; the body is the copy as a client decodes a
    /// pulled message, under its real topic and queue.
    fn check_back(&self, half: &RecordView<'_>, props: &Properties, put: &PutResult) -> Option<CheckBack> {
        let group = props.get(keys::PRODUCER_GROUP)?;
        let mut channels: Vec<_> =
            self.clients.producer_channels(group).into_iter().filter(|c| !c.conn.is_closed()).collect();
        if channels.is_empty() {
            return None;
        }
        let channel = channels.swap_remove(fastrand::usize(..channels.len()));
        let topic = props.get(keys::REAL_TOPIC).unwrap_or(TRANS_HALF_TOPIC).to_owned();
        let queue_id: i32 = props.get(keys::REAL_QUEUE_ID).and_then(|q| q.parse().ok()).unwrap_or(0);
        let properties = props.encode();
        let store_host = self.store.config().store_host;
        let msg = half.stored_again(&topic, queue_id, properties.as_bytes());
        let at = Placement {
            queue_offset: put.queue_offset.as_i64(),
            physical_offset: put.offset.as_i64(),
            store_timestamp: put.store_timestamp,
            store_host,
        };
        let body = match record::encode(&msg, &at) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!("encoding the check-back body of {} failed: {e}", half.offset_msg_id());
                return None;
            }
        };
        let uniq = props.unique_key().map(str::to_owned);
        let header = CheckTransactionStateRequestHeader {
            tran_state_table_offset: put.queue_offset.as_i64(),
            commit_log_offset: put.offset.as_i64(),
            msg_id: uniq.clone(),
            transaction_id: uniq,
            offset_msg_id: Some(put.msg_id()),
            topic: Some(topic),
        };
        let request = RemotingCommand::request(RequestCode::CheckTransactionState, &header).with_body(body);
        Some(CheckBack { conn: channel.conn, request })
    }
}
