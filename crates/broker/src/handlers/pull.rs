//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361): checks in the order of
//! Java's `PullMessageProcessor` (broker readable, group, topic, queue id,
//! subscription), the store lookup with the subscription's filter, offset
//! commits piggy-backed on pulls, and long polling.

use rmq_model::sysflag::pull as pull_flag;
use rmq_model::{QueueOffset, perm};
use rmq_protocol::body::heartbeat::{MessageModel, SubscriptionData};
use rmq_protocol::header::{PullMessageRequestHeader, PullMessageResponseHeader};
use rmq_protocol::remark::FAQ_SUFFIX;
use rmq_protocol::{Body, RemotingCommand, ResponseCode};
use rmq_remoting::Connection;
use rmq_store::{GetMessageResult, GetMessageStatus};
use std::sync::Arc;
use std::time::Duration;

use super::{bad_header, reply};
use crate::admission::{Permits, busy};
use crate::clients::Clients;
use crate::filter::{CompiledFilters, PullFilter};
use crate::live_config::LiveConfig;
use crate::long_poll::PullWaiters;
use crate::message_log::MessageLog;
use crate::namesrv::BrokerIdentity;
use crate::now_ms;
use crate::offset_moved::OffsetMovedEvent;
use crate::stats::{BrokerStats, topic_at_group};
use crate::tables::{ConsumerOffsets, SubscriptionGroups, TopicTable};

/// The consumer side of the broker: pulls, held pulls, piggy-backed commits.
#[derive(Debug)]
pub(crate) struct Pulling {
    pub store: Arc<dyn MessageLog>,
    /// Broker permission, polling switches, slave reads, property filters.
    pub config: Arc<LiveConfig>,
    pub identity: Arc<BrokerIdentity>,
    /// Offsets are committed and corrected on masters only.
    pub is_master: bool,
    pub topics: Arc<TopicTable>,
    pub groups: Arc<SubscriptionGroups>,
    /// Where piggy-backed commits go.
    pub offsets: Arc<ConsumerOffsets>,
    /// The subscriptions consumers registered by heartbeat.
    pub clients: Arc<Clients>,
    pub stats: Arc<BrokerStats>,
    /// Held pulls, woken as messages are dispatched.
    pub waiters: Arc<PullWaiters>,
    pub filters: CompiledFilters,
    pub admission: Arc<Permits>,
}

impl Pulling {
    pub(crate) async fn handle(&self, conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        let h: PullMessageRequestHeader = match req.header() {
            Ok(h) => h,
            Err(e) => return Some(bad_header(e)),
        };
        let _permit = match self.admission.try_acquire_for(conn.id()) {
            Ok(permit) => permit,
            Err(refusal) => return Some(busy(conn, refusal)),
        };
        let filter = match self.check(&h) {
            Ok(filter) => filter,
            Err(refusal) => return Some(refusal),
        };
        // Java stores the piggy-backed offset before the pull is answered or held.
        self.commit_offset(&h);
        let result = self.lookup(&h, &filter);
        let may_hold =
            pull_flag::has_suspend(h.sys_flag) && code_of(result.status, h.queue_offset) == ResponseCode::PullNotFound;
        let result = if may_hold { self.hold(&h, &filter).await.unwrap_or(result) } else { result };
        Some(self.respond(&h, result))
    }

    /// The checks before the store is asked, returning the filter the pull uses.
    fn check(&self, h: &PullMessageRequestHeader) -> Result<PullFilter, RemotingCommand> {
        let (broker_permission, auto_group, property_filter) = {
            let c = self.config.get();
            (c.broker_permission, c.auto_create_groups(), c.enable_property_filter)
        };
        if !perm::is_readable(broker_permission) {
            return Err(reply(
                ResponseCode::NoPermission,
                format!("the broker[{}] pulling message is forbidden", self.identity.broker_addr),
            ));
        }
        let (group, created) = self.groups.find_or_create(&h.consumer_group, auto_group, now_ms()).map_err(|why| {
            reply(
                ResponseCode::SubscriptionGroupNotExist,
                why.remark(format!("subscription group [{}] does not exist, {}", h.consumer_group, FAQ_SUFFIX)),
            )
        })?;
        if created {
            self.groups.persist();
        }
        if !group.consume_enable {
            return Err(reply(
                ResponseCode::NoPermission,
                format!("subscription group no permission, {}", h.consumer_group),
            ));
        }
        let Some(topic) = self.topics.get(&h.topic) else {
            return Err(reply(
                ResponseCode::TopicNotExist,
                format!("topic[{}] not exist, apply first please! {}", h.topic, FAQ_SUFFIX),
            ));
        };
        if !perm::is_readable(topic.perm) {
            return Err(reply(
                ResponseCode::NoPermission,
                format!("the topic[{}] pulling message is forbidden", h.topic),
            ));
        }
        if h.queue_id < 0 || h.queue_id >= topic.read_queue_nums as i32 {
            return Err(reply(
                ResponseCode::SystemError,
                format!(
                    "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                    h.queue_id, h.topic, topic.read_queue_nums, h.consumer_group
                ),
            ));
        }
        let subscription = self.subscription(h, group.consume_broadcast_enable)?;
        self.filters.for_subscription(property_filter, &subscription)
    }

    /// The subscription the pull filters with: carried in the header, or the one
    /// the group registered by heartbeat. A broadcasting group registered by
    /// heartbeat pulls only where its group config allows broadcast (`mqadmin
    /// updateSubGroup` turns it off unless `-d true`), as Java checks.
    fn subscription(
        &self,
        h: &PullMessageRequestHeader,
        broadcast_allowed: bool,
    ) -> Result<SubscriptionData, RemotingCommand> {
        if pull_flag::has_subscription(h.sys_flag) {
            let expression = h.subscription.as_deref().unwrap_or("*");
            let mut sub = SubscriptionData::tags(&h.topic, expression, h.sub_version.unwrap_or(0));
            if let Some(kind) = h.expression_type.as_deref().filter(|k| !k.is_empty()) {
                sub.expression_type = kind.to_owned();
            }
            return Ok(sub);
        }
        let Some(group) = self.clients.consumer_group(&h.consumer_group) else {
            return Err(reply(
                ResponseCode::SubscriptionNotExist,
                format!("the consumer's group info not exist {}", FAQ_SUFFIX),
            ));
        };
        if !broadcast_allowed && group.message_model == MessageModel::Broadcasting {
            return Err(reply(
                ResponseCode::NoPermission,
                format!("the consumer group[{}] can not consume by broadcast way", h.consumer_group),
            ));
        }
        let Some(sub) = group.subscriptions.get(&h.topic) else {
            return Err(reply(
                ResponseCode::SubscriptionNotExist,
                format!("the consumer's subscription not exist {}", FAQ_SUFFIX),
            ));
        };
        if sub.sub_version < h.sub_version.unwrap_or(0) {
            return Err(reply(ResponseCode::SubscriptionNotLatest, "the consumer's subscription not latest"));
        }
        Ok(sub.clone())
    }

    fn lookup(&self, h: &PullMessageRequestHeader, filter: &PullFilter) -> GetMessageResult {
        if h.queue_offset < 0 {
            // Below any queue's minimum: Java's store answers OFFSET_TOO_SMALL
            // (the client is moved to the minimum) unless the queue is empty.
            let (min, max) = (
                self.store.min_offset_in_queue(&h.topic, h.queue_id),
                self.store.max_offset_in_queue(&h.topic, h.queue_id),
            );
            if max.0 > 0 {
                return GetMessageResult::empty(GetMessageStatus::OffsetTooSmall, min.0, min.0, max.0);
            }
        }
        let offset = QueueOffset(h.queue_offset.max(0) as u64);
        let max = h.max_msg_nums.clamp(1, 1024) as u32;
        self.store.get_messages(&h.topic, h.queue_id, offset, max, filter)
    }

    /// Long polling: parks the pull until a message for its queue is dispatched or
    /// its suspend time runs out, then looks again once. `None` if nothing came.
    async fn hold(&self, h: &PullMessageRequestHeader, filter: &PullFilter) -> Option<GetMessageResult> {
        let (long_polling, short_ms) = {
            let c = self.config.get();
            (c.long_polling_enable, c.short_polling_time_mills)
        };
        let wait_ms =
            if long_polling { h.suspend_timeout_millis.unwrap_or(15_000).clamp(0, 60_000) as u64 } else { short_ms };
        let notify = self.waiters.notifier(&h.topic, h.queue_id);
        let arrived = notify.notified();
        tokio::pin!(arrived);
        arrived.as_mut().enable();
        let requested = QueueOffset(h.queue_offset.max(0) as u64);
        if self.store.max_offset_in_queue(&h.topic, h.queue_id) <= requested {
            // Timed out or woken: either way, look again and answer what is there.
            let _ = tokio::time::timeout(Duration::from_millis(wait_ms), arrived).await;
        }
        Some(self.lookup(h, filter))
    }

    /// Stores the consumer offset carried by the pull, on masters only.
    fn commit_offset(&self, h: &PullMessageRequestHeader) {
        if pull_flag::has_commit_offset(h.sys_flag)
            && self.is_master
            && let Some(offset) = h.commit_offset.filter(|o| *o >= 0)
        {
            self.offsets.commit(&h.consumer_group, &h.topic, h.queue_id, offset);
        }
    }
}

/// The response code of a store status, as Java's `PullMessageProcessor` maps them.
fn code_of(status: GetMessageStatus, requested: i64) -> ResponseCode {
    use GetMessageStatus::*;
    match status {
        Found => ResponseCode::Success,
        NoMatchedMessage | MessageWasRemoving => ResponseCode::PullRetryImmediately,
        OffsetOverflowOne | OffsetFoundNull => ResponseCode::PullNotFound,
        NoMatchedLogicQueue | NoMessageInQueue if requested == 0 => ResponseCode::PullNotFound,
        NoMatchedLogicQueue | NoMessageInQueue | OffsetTooSmall | OffsetOverflowBadly => ResponseCode::PullOffsetMoved,
    }
}

impl Pulling {
    fn respond(&self, h: &PullMessageRequestHeader, r: GetMessageResult) -> RemotingCommand {
        let code = code_of(r.status, h.queue_offset);
        let mut next = r.next_begin_offset.as_i64();
        // A slave does not correct offsets unless told to (offsetCheckInSlave).
        let code =
            if !self.is_master && code == ResponseCode::PullOffsetMoved && !self.config.get().offset_check_in_slave {
                next = h.queue_offset;
                ResponseCode::PullRetryImmediately
            } else {
                code
            };
        let suggest = self.suggest_broker(h, r.suggest_pulling_from_slave);
        let header = PullMessageResponseHeader {
            suggest_which_broker_id: suggest as i64,
            next_begin_offset: next,
            min_offset: r.min_offset.as_i64(),
            max_offset: r.max_offset.as_i64(),
        };
        if code == ResponseCode::PullOffsetMoved && self.is_master {
            let event = OffsetMovedEvent {
                group: &h.consumer_group,
                topic: &h.topic,
                queue_id: h.queue_id,
                requested: h.queue_offset,
                moved_to: next,
            };
            event.store(self.store.as_ref(), &self.identity);
        }
        if code == ResponseCode::Success {
            self.stats.get_found.add(1);
            self.stats.get_transferred.add(r.messages.len() as u64);
            self.stats.group_get.add(&topic_at_group(&h.topic, &h.consumer_group), r.messages.len() as u64, now_ms());
            let bytes = r.messages.iter().map(|m| m.len() as u64).sum();
            self.stats.requests.delivered(&h.topic, &h.consumer_group, r.messages.len() as u64, bytes);
        } else {
            self.stats.get_miss.add(1);
        }
        let response = RemotingCommand::response(code, Some(r.status.as_str().to_owned())).with_header(&header);
        if code == ResponseCode::Success { response.with_body(Body::Chunks(r.messages)) } else { response }
    }

    /// `suggestWhichBrokerId`: the master, unless slave reads are enabled,
    /// in which case a lagging consumer is sent to `whichBrokerWhenConsumeSlowly`
    /// and a caught-up one to the group's `brokerId`.
    fn suggest_broker(&self, h: &PullMessageRequestHeader, lagging: bool) -> u64 {
        if !self.config.get().slave_read_enable {
            return 0;
        }
        match self.groups.get(&h.consumer_group) {
            Some(g) if lagging => g.which_broker_when_consume_slowly,
            Some(g) => g.broker_id,
            None => 0,
        }
    }
}
