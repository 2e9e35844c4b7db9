//! RECALL_MESSAGE (370, RocketMQ 5.3's `RecallMessageProcessor`): cancels a
//! timer message that is not yet due, by the handle its send answered with.
//!
//! The checks, codes and remarks are Java's, in Java's order: the switch
//! (`recallMessageEnable`, off by default), a slave, a broker not yet
//! accepting or not writable, the topic, then the handle (unreadable,
//! another topic, another broker, a time passed or beyond
//! `timerMaxDelaySec`). A recall that passes stores the marker Java stores:
//! a message of the topic due at the handle's time with
//! `TIMER_DEL_UNIQKEY` = `<topic>+<message id>`, which the timer parks like
//! any timer message and which cancels the one it names
//! ([`crate::timer::Recalls`]). The answer carries the message id.
//!
//! A second recall of a handle whose message is still parked answers
//! SUCCESS with the message id, as Java's does (a client retrying a recall
//! whose answer it lost must not see it fail), but stores no second marker
//! (Java stores another).

use rmq_model::properties::keys;
use rmq_model::record::NewMessage;
use rmq_model::{Properties, perm};
use rmq_protocol::header::{RecallMessageRequestHeader, RecallMessageResponseHeader};
use rmq_protocol::recall::RecallHandle;
use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_remoting::Connection;
use std::sync::Arc;

use super::{bad_header, reply};
use crate::durability::Durability;
use crate::live_config::LiveConfig;
use crate::message_log::MessageLog;
use crate::namesrv::BrokerIdentity;
use crate::now_ms;
use crate::stats::BrokerStats;
use crate::tables::TopicTable;
use crate::timer::{self, Recalls, TimerRules, recall_key};

/// The tag of a recall marker (Java's `RECALL_MESSAGE_TAG`).
const RECALL_TAG: &str = "_RECALL_TAG_";

/// The recall side of the broker.
#[derive(Debug)]
pub(crate) struct Recalling {
    pub store: Arc<dyn MessageLog>,
    /// `recallMessageEnable`, `allowRecallWhenBrokerNotWriteable`, the
    /// broker's permission and start time, the region.
    pub config: Arc<LiveConfig>,
    pub identity: Arc<BrokerIdentity>,
    pub topics: Arc<TopicTable>,
    pub stats: Arc<BrokerStats>,
    pub durability: Arc<Durability>,
    pub timer_rules: TimerRules,
    /// Shared with the timer, which skips the messages noted here.
    pub recalls: Arc<Recalls>,
    pub is_master: bool,
}

impl Recalling {
    pub(crate) async fn recall(&self, conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
        let region = self.config.get().region_id.clone();
        self.answer(conn, req).await.with_ext(keys::MSG_REGION, region)
    }

    async fn answer(&self, conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
        let h: RecallMessageRequestHeader = match req.header() {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        if let Some(refusal) = self.broker_refusal() {
            return refusal;
        }
        if self.topics.get(&h.topic).is_none() {
            return reply(ResponseCode::TopicNotExist, format!("recall failed, the topic[{}] not exist", h.topic));
        }
        let handle = match RecallHandle::decode(&h.recall_handle) {
            Ok(handle) => handle,
            Err(e) => return reply(ResponseCode::IllegalOperation, e.to_string()),
        };
        if handle.topic != h.topic {
            return reply(ResponseCode::IllegalOperation, "recall failed, topic not match");
        }
        if handle.broker_name != self.identity.broker_name {
            return reply(ResponseCode::IllegalOperation, "recall failed, broker service not available");
        }
        let now = now_ms();
        let time_left = handle.timestamp_ms().unwrap_or(-1).saturating_sub(now);
        if time_left <= 0 || time_left >= self.timer_rules.max_delay_ms {
            return reply(ResponseCode::IllegalOperation, "recall failed, timestamp invalid");
        }
        self.store_marker(conn, &h, &handle, now).await
    }

    /// Java's checks of the broker itself, before the request is read further.
    fn broker_refusal(&self) -> Option<RemotingCommand> {
        let c = self.config.get();
        let unavailable =
            || Some(reply(ResponseCode::ServiceNotAvailable, "recall failed, broker service not available"));
        if !c.recall_message_enable {
            return Some(reply(ResponseCode::NoPermission, "recall failed, operation is forbidden"));
        }
        if !self.is_master {
            return Some(reply(ResponseCode::SlaveNotAvailable, "recall failed, broker service not available"));
        }
        if now_ms() < c.start_accept_send_request_time_stamp {
            return unavailable();
        }
        if !perm::is_writeable(c.broker_permission) && !c.allow_recall_when_broker_not_writeable {
            return unavailable();
        }
        None
    }

    /// Stores the marker and answers with the recalled message's id.
    async fn store_marker(
        &self,
        conn: &Connection,
        h: &RecallMessageRequestHeader,
        handle: &RecallHandle,
        now: i64,
    ) -> RemotingCommand {
        let key = recall_key(&handle.topic, &handle.message_id);
        let mut props = Properties::new();
        props.insert(keys::TAGS, RECALL_TAG);
        props.insert(keys::TIMER_DEL_UNIQKEY, key.as_str());
        props.insert(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, handle.message_id.as_str());
        props.insert(keys::TIMER_DELIVER_MS, handle.timestamp.as_str());
        props.insert(keys::BORN_TIMESTAMP, now.to_string());
        props.insert(keys::TRACE_CONTEXT, "");
        if let Some(group) = &h.producer_group {
            props.insert(keys::PRODUCER_GROUP, group.as_str());
        }
        let parked = match timer::park(&mut props, &handle.topic, 0, &self.timer_rules, now) {
            Ok(Some(parked)) => parked,
            // The timer is off, or the time passed while checking: Java's put fails.
            Ok(None) | Err(_) => return reply(ResponseCode::SystemError, "recall failed, execute error"),
        };
        let out_ms: i64 = props.get(keys::TIMER_OUT_MS).and_then(|v| v.parse().ok()).unwrap_or(now);
        let tick = out_ms.div_euclid(self.timer_rules.precision_ms);
        let slot_end = tick.saturating_add(1).saturating_mul(self.timer_rules.precision_ms);
        if !self.recalls.note(&key, slot_end) {
            let header = RecallMessageResponseHeader { msg_id: handle.message_id.clone() };
            return RemotingCommand::success().with_header(&header);
        }
        let properties = props.encode();
        let msg = NewMessage {
            topic: &parked.topic,
            queue_id: parked.queue_id,
            flag: 0,
            body: b"0",
            properties: properties.as_bytes(),
            sys_flag: 0,
            born_timestamp: now,
            born_host: conn.remote_addr(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        let put = match self.store.put(&msg) {
            Ok(put) => put,
            Err(e) => {
                self.recalls.withdraw(&key);
                tracing::warn!("recall of {} in {} not stored: {e}", handle.message_id, handle.topic);
                return reply(ResponseCode::SystemError, "recall failed, execute error");
            }
        };
        self.stats.put_nums.add(u64::from(put.count));
        self.stats.put_size.add(put.bytes);
        self.stats.topic_put.add(&handle.topic, u64::from(put.count), now);
        // Java waits as for any message; a wait that runs out still succeeds.
        let _ = self.durability.wait(&put).await;
        let header = RecallMessageResponseHeader { msg_id: handle.message_id.clone() };
        RemotingCommand::success().with_header(&header)
    }
}
