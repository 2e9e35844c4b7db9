//! POP_MESSAGE (200050) and PEEK_MESSAGE (200052): checks in the order of
//! Java 5's `PopMessageProcessor`, the pop itself ([`crate::pop`]), and long
//! polling on the topic and the group's retry topic.

use rmq_model::perm;
use rmq_protocol::body::heartbeat::SubscriptionData;
use rmq_protocol::header::{PeekMessageRequestHeader, PopMessageRequestHeader, PopMessageResponseHeader};
use rmq_protocol::receipt::pop_retry_topic;
use rmq_protocol::remark::FAQ_SUFFIX;
use rmq_protocol::{Body, RemotingCommand, ResponseCode};
use rmq_remoting::Connection;
use rmq_store::{AcceptAll, GetMessageStatus};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{header_or_reply, reply};
use crate::admission::{Permits, busy};
use crate::filter::{CompiledFilters, PullFilter};
use crate::live_config::LiveConfig;
use crate::long_poll::PullWaiters;
use crate::namesrv::BrokerIdentity;
use crate::now_ms;
use crate::pop::{MAX_INVISIBLE_MS, MAX_POP_NUMS, PopEngine, PopQuery, Popped};
use crate::stats::{BrokerStats, topic_at_group};
use crate::tables::{AutoCreate, SubscriptionGroups, TopicTable};

/// Longest a POP or NOTIFICATION is held, whatever its poll time.
const MAX_HOLD_MS: i64 = 60_000;
/// Share of pops that look at the retry topic first (Java's `popFromRetryProbability`).
const RETRY_FIRST_PERCENT: u32 = 20;

/// The POP side of the broker.
#[derive(Debug)]
pub(crate) struct Popping {
    pub engine: Arc<PopEngine>,
    pub config: Arc<LiveConfig>,
    pub identity: Arc<BrokerIdentity>,
    pub topics: Arc<TopicTable>,
    pub groups: Arc<SubscriptionGroups>,
    pub stats: Arc<BrokerStats>,
    pub waiters: Arc<PullWaiters>,
    pub filters: CompiledFilters,
    /// Shared with pulls: held POPs count against `pullThreadPoolQueueCapacity`.
    pub admission: Arc<Permits>,
    /// POPs held now, per (topic, group, queue id), for POLLING_INFO.
    pub held: HeldPops,
    /// Only a master keeps POP state; a slave refuses POP and its acks.
    pub is_master: bool,
}

/// Counts of held POPs; an entry goes when its count does.
#[derive(Debug, Default)]
pub(crate) struct HeldPops(Mutex<HashMap<(String, String, i32), i32>>);

impl HeldPops {
    /// Counts a POP as held until the returned guard drops.
    fn hold(&self, topic: &str, group: &str, queue_id: i32) -> HeldGuard<'_> {
        let key = (topic.to_owned(), group.to_owned(), queue_id);
        *self.0.lock().unwrap_or_else(|e| e.into_inner()).entry(key.clone()).or_default() += 1;
        HeldGuard { held: self, key }
    }

    pub(crate) fn count(&self, topic: &str, group: &str, queue_id: i32) -> i32 {
        let held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        held.get(&(topic.to_owned(), group.to_owned(), queue_id)).copied().unwrap_or(0)
    }
}

struct HeldGuard<'a> {
    held: &'a HeldPops,
    key: (String, String, i32),
}

impl Drop for HeldGuard<'_> {
    fn drop(&mut self) {
        let mut held = self.held.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = held.get_mut(&self.key) {
            *n -= 1;
            if *n <= 0 {
                held.remove(&self.key);
            }
        }
    }
}

impl Popping {
    /// The refusal of a POP-family request on a slave.
    pub(crate) fn on_slave(&self) -> Option<RemotingCommand> {
        (!self.is_master).then(|| {
            reply(
                ResponseCode::ServiceNotAvailable,
                format!("the broker[{}] is a slave: POP is served by its master", self.identity.broker_addr),
            )
        })
    }

    pub(crate) async fn pop(&self, conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
        if let Some(refusal) = self.on_slave() {
            return refusal;
        }
        let h = header_or_reply!(req, PopMessageRequestHeader);
        let _permit = match self.admission.try_acquire_for(conn.id()) {
            Ok(permit) => permit,
            Err(refusal) => return busy(conn, refusal),
        };
        let (filter, read_queues, order) = match self.check(&h) {
            Ok(checked) => checked,
            Err(refusal) => return refusal,
        };
        self.engine.ready().await;
        let (popped, pop_time, revive_qid) = self
            .look_until_arrival(&h.topic, &h.consumer_group, h.queue_id, h.poll_time, || {
                let taken = self.take(&h, &filter, read_queues, order);
                (!taken.0.messages.is_empty(), taken)
            })
            .await;
        self.respond(&h, popped, pop_time, revive_qid, order)
    }

    /// Long polling for POP and NOTIFICATION: `look` until it finds
    /// something or `poll_ms` (at most 60 s) passed, woken by arrivals in
    /// `topic` and the group's POP retry topic, registered before each look
    /// so none is missed in between. Counted as held (POLLING_INFO) while it
    /// waits. Returns the last look's answer.
    pub(crate) async fn look_until_arrival<T>(
        &self,
        topic: &str,
        group: &str,
        queue_id: i32,
        poll_ms: i64,
        mut look: impl FnMut() -> (bool, T),
    ) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(poll_ms.clamp(0, MAX_HOLD_MS) as u64);
        let (topic_arrivals, retry_arrivals) =
            (self.waiters.topic_notifier(topic), self.waiters.topic_notifier(&pop_retry_topic(topic, group)));
        loop {
            let (a, b) = (topic_arrivals.notified(), retry_arrivals.notified());
            tokio::pin!(a, b);
            a.as_mut().enable();
            b.as_mut().enable();
            let (found, answer) = look();
            if found || tokio::time::Instant::now() >= deadline {
                return answer;
            }
            let _held = self.held.hold(topic, group, queue_id);
            tokio::select! {
                _ = a => {}
                _ = b => {}
                _ = tokio::time::sleep_until(deadline) => {}
            }
        }
    }

    /// The checks before anything is taken; the filter and the topic's read queues.
    fn check(&self, h: &PopMessageRequestHeader) -> Result<(PullFilter, u32, bool), RemotingCommand> {
        let (broker_permission, auto_group, property_filter) = {
            let c = self.config.get();
            (c.broker_permission, c.auto_create_groups(), c.enable_property_filter)
        };
        let addr = &self.identity.broker_addr;
        if !perm::is_readable(broker_permission) {
            return Err(reply(ResponseCode::NoPermission, format!("the broker[{addr}] pop message is forbidden")));
        }
        if h.max_msg_nums > MAX_POP_NUMS || h.max_msg_nums <= 0 {
            return Err(reply(
                ResponseCode::InvalidParameter,
                format!("the broker[{addr}] pop message's num is greater than 32 or not positive: {}", h.max_msg_nums),
            ));
        }
        if h.invisible_time <= 0 || h.invisible_time > MAX_INVISIBLE_MS {
            return Err(reply(
                ResponseCode::InvalidParameter,
                format!("invisibleTime {} ms is out of range (0, {MAX_INVISIBLE_MS}]", h.invisible_time),
            ));
        }
        let read_queues = self.check_topic(&h.topic, h.queue_id)?;
        let orderly_group = self.check_group(&h.consumer_group, auto_group)?;
        let expression = h.exp.as_deref().filter(|e| !e.trim().is_empty()).unwrap_or("*");
        let mut sub = SubscriptionData::tags(&h.topic, expression, 0);
        if let Some(kind) = h.exp_type.as_deref().filter(|k| !k.is_empty()) {
            sub.expression_type = kind.to_owned();
        }
        // FIFO when the client asks, or when the group is set to consume orderly.
        let order = h.order.unwrap_or(false) || orderly_group;
        Ok((self.filters.for_subscription(property_filter, &sub)?, read_queues, order))
    }

    fn check_topic(&self, topic: &str, queue_id: i32) -> Result<u32, RemotingCommand> {
        let Some(config) = self.topics.get(topic) else {
            return Err(reply(
                ResponseCode::TopicNotExist,
                format!("topic[{topic}] not exist, apply first please! {FAQ_SUFFIX}"),
            ));
        };
        if !perm::is_readable(config.perm) {
            return Err(reply(ResponseCode::NoPermission, format!("the topic[{topic}] peeking message is forbidden")));
        }
        if queue_id >= config.read_queue_nums as i32 || queue_id < -1 {
            return Err(reply(
                ResponseCode::InvalidParameter,
                format!(
                    "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}]",
                    config.read_queue_nums
                ),
            ));
        }
        Ok(config.read_queue_nums)
    }

    /// Whether the group may consume here; true if it consumes orderly.
    fn check_group(&self, group: &str, auto_group: AutoCreate) -> Result<bool, RemotingCommand> {
        let (config, created) = self.groups.find_or_create(group, auto_group, now_ms()).map_err(|why| {
            reply(
                ResponseCode::SubscriptionGroupNotExist,
                why.remark(format!("subscription group [{group}] does not exist, {FAQ_SUFFIX}")),
            )
        })?;
        if created {
            self.groups.persist();
        }
        if !config.consume_enable {
            return Err(reply(ResponseCode::NoPermission, format!("subscription group no permission, {group}")));
        }
        Ok(config.consume_message_orderly)
    }

    /// One look at the queues: the retry topic first now and then, the
    /// topic's queues from a random one on, the retry topic after if room is left.
    fn take(
        &self,
        h: &PopMessageRequestHeader,
        filter: &PullFilter,
        read_queues: u32,
        order: bool,
    ) -> (Popped, i64, i32) {
        let pop_time = now_ms();
        let revive_qid = PopEngine::revive_qid_of(order, self.engine.pick_revive_qid());
        let q = PopQuery {
            group: &h.consumer_group,
            topic: &h.topic,
            invisible_time: h.invisible_time,
            max: h.max_msg_nums as usize,
            order,
            init_mode: h.init_mode.unwrap_or(0),
            filter,
            pop_time,
            revive_qid,
        };
        let queues: Vec<i32> = if h.queue_id < 0 {
            let n = read_queues.max(1) as i32;
            let first = fastrand::i32(0..n);
            (0..n).map(|i| (first + i) % n).collect()
        } else {
            vec![h.queue_id]
        };
        let mut out = Popped::default();
        let retry_first = !order && fastrand::u32(0..100) < RETRY_FIRST_PERCENT;
        let (retry, retry_queues) = self.engine.retry_queues(&q);
        if retry_first {
            self.engine.pop_topic(&q, &retry, &retry_queues, &mut out);
        }
        self.engine.pop_topic(&q, &h.topic, &queues, &mut out);
        if !retry_first && !order && out.messages.len() < q.max {
            self.engine.pop_topic(&q, &retry, &retry_queues, &mut out);
        }
        (out, pop_time, revive_qid)
    }

    fn respond(
        &self,
        h: &PopMessageRequestHeader,
        popped: Popped,
        pop_time: i64,
        revive_qid: i32,
        order: bool,
    ) -> RemotingCommand {
        let found = !popped.messages.is_empty();
        let header = PopMessageResponseHeader {
            pop_time,
            invisible_time: h.invisible_time,
            revive_qid,
            rest_num: popped.rest,
            start_offset_info: Some(popped.info.start_offsets),
            msg_offset_info: Some(popped.info.msg_offsets),
            order_count_info: (order && !popped.info.order_counts.is_empty()).then_some(popped.info.order_counts),
        };
        if !found {
            self.stats.get_miss.add(1);
            return RemotingCommand::response(ResponseCode::POLLING_TIMEOUT, Some("NO_MESSAGE_IN_QUEUE".into()))
                .with_header(&header);
        }
        let count = popped.messages.len() as u64;
        self.stats.get_found.add(1);
        self.stats.get_transferred.add(count);
        self.stats.group_get.add(&topic_at_group(&h.topic, &h.consumer_group), count, now_ms());
        let bytes = popped.messages.iter().map(|m| m.len() as u64).sum();
        self.stats.requests.delivered(&h.topic, &h.consumer_group, count, bytes);
        RemotingCommand::response(ResponseCode::Success, Some(GetMessageStatus::Found.as_str().into()))
            .with_header(&header)
            .with_body(Body::Chunks(popped.messages))
    }

    /// PEEK_MESSAGE: messages from the group's POP position, taking nothing.
    pub(crate) fn peek(&self, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, PeekMessageRequestHeader);
        let read_queues = match self.check_topic(&h.topic, h.queue_id) {
            Ok(n) => n,
            Err(refusal) => return refusal,
        };
        let max = h.max_msg_nums.clamp(1, MAX_POP_NUMS) as u32;
        let queues: Vec<i32> = if h.queue_id < 0 { (0..read_queues as i32).collect() } else { vec![h.queue_id] };
        let mut messages = Vec::new();
        let mut rest = 0;
        for queue_id in queues {
            let from = self.engine.position(&h.consumer_group, &h.topic, queue_id);
            let room = max.saturating_sub(messages.len() as u32);
            let got =
                self.engine.store.get_messages(&h.topic, queue_id, rmq_model::QueueOffset(from), room, &AcceptAll);
            rest += got.max_offset.0.saturating_sub(got.next_begin_offset.0) as i64;
            messages.extend(got.messages);
        }
        let header = PopMessageResponseHeader {
            pop_time: now_ms(),
            invisible_time: 0,
            revive_qid: 0,
            rest_num: rest,
            ..PopMessageResponseHeader::default()
        };
        if messages.is_empty() {
            return RemotingCommand::response(ResponseCode::POLLING_TIMEOUT, Some("NO_MESSAGE_IN_QUEUE".into()))
                .with_header(&header);
        }
        RemotingCommand::response(ResponseCode::Success, None).with_header(&header).with_body(Body::Chunks(messages))
    }
}
