//! END_TRANSACTION (37): commit or roll back a half message (Java's
//! `EndTransactionProcessor`).
//!
//! Java producers send it oneway, so its answer is mostly for logs and for
//! callers that wait: it says plainly why a request was refused (unknown
//! offset, wrong group, already settled) and nothing is stored then.

use rmq_model::properties::keys;
use rmq_model::record::{self, NewMessage, RecordView};
use rmq_model::sysflag::message as sysflag;
use rmq_model::topic::{TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC};
use rmq_model::{PhysicalOffset, perm};
use rmq_protocol::header::EndTransactionRequestHeader;
use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_remoting::Connection;
use rmq_store::PutResult;

use super::{OP_REMOVE_TAG, Transactions, origin_of};
use crate::handlers::{bad_header, reply, store_error};
use crate::timer::{self, TimerRules};
use crate::{delay, now_ms};

/// What the producer decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decision {
    Commit,
    Rollback,
}

impl Transactions {
    /// END_TRANSACTION (37). Java producers send it oneway; a response is still
    /// built so that callers that wait learn why a request was refused (the
    /// transport drops it for oneway requests).
    pub(crate) fn end(&self, conn: &Connection, req: &RemotingCommand) -> Option<RemotingCommand> {
        if !self.is_master {
            tracing::warn!("END_TRANSACTION from {} refused: this broker is a slave", conn.remote_addr());
            return Some(reply(
                ResponseCode::SlaveNotAvailable,
                "Message store is slave mode, so end transaction is forbidden.",
            ));
        }
        let h: EndTransactionRequestHeader = match req.header() {
            Ok(h) => h,
            Err(e) => return Some(bad_header(e)),
        };
        let from_check = h.from_transaction_check == Some(true);
        let decision = match h.commit_or_rollback {
            sysflag::TRANSACTION_COMMIT_TYPE => Decision::Commit,
            sysflag::TRANSACTION_ROLLBACK_TYPE => Decision::Rollback,
            sysflag::TRANSACTION_NOT_TYPE => {
                tracing::info!(
                    "producer {} ({}) left transaction {:?} unknown (from check: {from_check}); it will be checked back",
                    h.producer_group,
                    conn.remote_addr(),
                    h.msg_id
                );
                return Some(RemotingCommand::response(
                    ResponseCode::Success,
                    Some("the transaction state is unknown: the broker will check it back".to_owned()),
                ));
            }
            other => {
                return Some(reply(
                    ResponseCode::SystemError,
                    format!("illegal commitOrRollback {other}: expected 8 (commit), 12 (rollback) or 0 (unknown)"),
                ));
            }
        };
        let response = self.settle(&h, decision);
        if response.code != ResponseCode::Success.to_i32() {
            tracing::warn!(
                "END_TRANSACTION {decision:?} from {} ({}) for commitLogOffset {} refused: {}",
                h.producer_group,
                conn.remote_addr(),
                h.commit_log_offset,
                response.remark.as_deref().unwrap_or("")
            );
        }
        Some(response)
    }

    /// Checks the request against the half message and settles it once.
    fn settle(&self, h: &EndTransactionRequestHeader, decision: Decision) -> RemotingCommand {
        // A commit is a write as a send is; a master that may have been
        // replaced writes neither (the producer is checked back later).
        if let Some(refusal) = self.durability.refusal(false) {
            return refusal;
        }
        let not_found = || reply(ResponseCode::SystemError, "Find prepared transaction message failed");
        let Some(stored) = self.store.message_at(PhysicalOffset(h.commit_log_offset.max(0) as u64)) else {
            return not_found();
        };
        let Ok(half) = record::decode_message(&stored, false) else {
            return not_found();
        };
        if half.topic != TRANS_HALF_TOPIC || half.physical_offset != h.commit_log_offset {
            return reply(
                ResponseCode::SystemError,
                format!(
                    "Find prepared transaction message failed: no half message starts at commitLogOffset {}",
                    h.commit_log_offset
                ),
            );
        }
        let group = half.property(keys::PRODUCER_GROUP).map(String::from_utf8_lossy);
        if group.as_deref() != Some(h.producer_group.as_str()) {
            return reply(ResponseCode::SystemError, "The producer group wrong");
        }
        if half.queue_offset != h.tran_state_table_offset {
            return reply(ResponseCode::SystemError, "The transaction state table offset wrong");
        }
        let origin = origin_of(&half);
        let mut ledger = self.ledger();
        ledger.sync_ops(&self.store);
        if ledger.is_settled(origin) {
            return reply(
                ResponseCode::SystemError,
                format!(
                    "The transaction of half message {} (queue offset {origin}) was already committed or rolled back",
                    half.offset_msg_id()
                ),
            );
        }
        if ledger.is_finished(half.queue_offset, origin) {
            return reply(
                ResponseCode::SystemError,
                format!(
                    "The transaction of half message {} (queue offset {origin}) is already over: settled or given up after {} checks",
                    half.offset_msg_id(),
                    self.config.get().transaction_check_max
                ),
            );
        }
        if decision == Decision::Commit
            && let Err(refusal) = self.store_committed(&half)
        {
            return refusal;
        }
        match self.write_op(&half, origin) {
            Ok(put) => ledger.note(Some(origin), put.queue_offset.as_i64()),
            // The decision stands (a commit is stored); without its op message
            // the half message will be checked back again.
            Err(e) => tracing::error!("writing the op message of half message {} failed: {e}", half.offset_msg_id()),
        }
        RemotingCommand::success()
    }

    /// Stores the half message again under its real topic and queue, with the
    /// COMMIT transaction type and a pointer back to the half message.
    fn store_committed(&self, half: &RecordView<'_>) -> Result<PutResult, RemotingCommand> {
        let mut props = half.decode_properties();
        let Some(topic) = props.remove(keys::REAL_TOPIC) else {
            return Err(reply(ResponseCode::SystemError, "the half message has no REAL_TOPIC property"));
        };
        let queue_id: i32 = props.remove(keys::REAL_QUEUE_ID).and_then(|q| q.parse().ok()).unwrap_or(0);
        // TRAN_MSG stays, as in the message Java stores: Java clients set a
        // consumed message's transactionId from it.
        props.remove(keys::TRANSACTION_CHECK_TIMES);
        props.remove(keys::TRANSACTION_PREPARED_QUEUE_OFFSET);
        // A commit goes through the timer rule as a plain send does (Java's
        // put hook sees the COMMIT type), then the delay rule.
        let timer_rules = TimerRules::of(self.store.config());
        let parked = timer::park(&mut props, &topic, queue_id, &timer_rules, now_ms())
            .map_err(|refusal| refusal.reply(&timer_rules))?
            .or_else(|| delay::park(&mut props, &topic, queue_id, &self.delay_levels));
        let (topic, queue_id) = match parked {
            Some(parked) => (parked.topic, parked.queue_id),
            None => (topic, queue_id),
        };
        let properties = props.encode();
        let msg = NewMessage {
            sys_flag: sysflag::with_transaction_type(half.sys_flag, sysflag::TRANSACTION_COMMIT_TYPE),
            prepared_transaction_offset: half.physical_offset,
            ..half.stored_again(&topic, queue_id, properties.as_bytes())
        };
        self.store.put(&msg).map_err(|e| {
            tracing::warn!("storing the committed message in {topic} failed: {e}");
            store_error::put_refused(&e, self.store.config().max_message_size)
        })
    }

    /// Writes the op message that settles `half` (tag `d`, body = its queue
    /// offset; the origin is kept as a property for rebuilding the ledger).
    fn write_op(&self, half: &RecordView<'_>, origin: i64) -> Result<PutResult, rmq_store::StoreError> {
        let (_, created) = self.topics.get_or_create(TRANS_OP_HALF_TOPIC, 1, perm::READ_WRITE, now_ms());
        if created {
            self.topics.persist();
        }
        let body = half.queue_offset.to_string();
        let properties = format!(
            "{}\u{1}{OP_REMOVE_TAG}\u{2}{}\u{1}{origin}\u{2}",
            keys::TAGS,
            keys::TRANSACTION_PREPARED_QUEUE_OFFSET
        );
        let store_host = self.store.config().store_host;
        self.store.put(&NewMessage {
            topic: TRANS_OP_HALF_TOPIC,
            queue_id: half.queue_id,
            flag: 0,
            body: body.as_bytes(),
            properties: properties.as_bytes(),
            sys_flag: 0,
            born_timestamp: now_ms(),
            born_host: store_host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        })
    }
}
