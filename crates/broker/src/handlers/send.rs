//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320): checks
//! in the order of Java's `SendMessageProcessor` (broker permission, topic
//! name, auto-creation from the default topic, queue id), retry/DLQ
//! redirection, delay and transaction rewrites, the put, then the waits the
//! message asked for (SYNC_FLUSH, SYNC_MASTER), and the response with msgId,
//! queue id and offset. CONSUMER_SEND_MSG_BACK ([`send_back`](super::send_back))
//! shares this subsystem.

use bytes::Bytes;
use rmq_model::properties::keys;
use rmq_model::record::{self, NewMessage};
use rmq_model::sysflag::message as sysflag;
use rmq_model::topic::{self as topics, TopicFilterType};
use rmq_model::{Properties, TopicConfig, perm};
use rmq_protocol::header::{SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader};
use rmq_protocol::recall::RecallHandle;
use rmq_protocol::remark::{FAQ_SUFFIX, OVERLOAD};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::Connection;
use rmq_store::{PutResult, StoreError};
use std::sync::Arc;
use tokio::sync::Semaphore;

use super::{bad_header, reply, store_error};
use crate::admission::Permits;
use crate::delay::{self, DelayLevels};
use crate::durability::Durability;
use crate::live_config::LiveConfig;
use crate::message_log::MessageLog;
use crate::metrics::MessageType;
use crate::namesrv::BrokerIdentity;
use crate::now_ms;
use crate::stats::BrokerStats;
use crate::tables::{CreateTopicError, SubscriptionGroups, TopicTable};
use crate::timer::{self, TimerRules};

/// The producer side of the broker: sends and consumers' hand-backs.
#[derive(Debug)]
pub(crate) struct Sending {
    pub store: Arc<dyn MessageLog>,
    /// Broker permission, auto-creation switches, region and trace flags.
    pub config: Arc<LiveConfig>,
    pub identity: Arc<BrokerIdentity>,
    /// Topics are checked and, on the first send, created here.
    pub topics: Arc<TopicTable>,
    /// Retry sends and hand-backs find (or create) their group here.
    pub groups: Arc<SubscriptionGroups>,
    pub stats: Arc<BrokerStats>,
    /// The waits a stored message was promised.
    pub durability: Arc<Durability>,
    pub delay_levels: Arc<DelayLevels>,
    /// `timerWheelEnable`, `timerPrecisionMs`, `timerMaxDelaySec`.
    pub timer_rules: TimerRules,
    pub admission: Admission,
}

/// What keeps a send flood from growing memory: a bound on sends in
/// progress and on the bytes of their bodies.
#[derive(Debug)]
pub(crate) struct Admission {
    pub requests: Arc<Permits>,
    /// KiB of bodies held by sends in progress.
    bytes: Semaphore,
}

/// How many maximum-size messages may be in flight at once: with the
/// default 4 MiB `maxMessageSize`, 256 MiB of bodies.
const SEND_BYTES_IN_FLIGHT_PER_MAX_MESSAGE: usize = 64;

impl Admission {
    pub(crate) fn new(capacity: usize, max_message_size: usize) -> Admission {
        let kib = (max_message_size.saturating_mul(SEND_BYTES_IN_FLIGHT_PER_MAX_MESSAGE) / 1024)
            .clamp(1024, Semaphore::MAX_PERMITS);
        Admission { requests: Arc::new(Permits::new(capacity)), bytes: Semaphore::new(kib) }
    }
}

/// Where a send goes once the checks passed.
struct Target {
    topic: Arc<TopicConfig>,
    queue_id: i32,
}

/// The message as it will be stored, after the broker's rewrites.
struct Prepared {
    topic: String,
    queue_id: i32,
    properties: String,
    sys_flag: i32,
    wait: bool,
    /// For a message the timer parked: the handle that recalls it.
    recall_handle: Option<String>,
}

impl Sending {
    pub(crate) async fn handle(&self, conn: &Connection, req: RemotingCommand) -> RemotingCommand {
        let header = match req.request_code() {
            RequestCode::SendMessage => req.header::<SendMessageRequestHeader>(),
            _ => req.header::<SendMessageRequestHeaderV2>().map(|h| h.0),
        };
        let header = match header {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        let Some(_permit) = self.admission.requests.try_acquire() else {
            return reply(ResponseCode::SystemBusy, OVERLOAD);
        };
        let kib = u32::try_from(req.body.len().div_ceil(1024)).unwrap_or(u32::MAX);
        let Ok(_bytes) = self.admission.bytes.try_acquire_many(kib) else {
            return reply(ResponseCode::SystemBusy, OVERLOAD);
        };
        let batch = req.request_code() == RequestCode::SendBatchMessage || header.batch == Some(true);
        let response = match self.prepare(conn, &header) {
            Ok(target) if batch => self.send_batch(conn, &header, target, req.body.to_bytes()).await,
            Ok(target) => self.send_one(conn, &header, target, req.body.to_bytes()).await,
            Err(refusal) => refusal,
        };
        if response.code != 0 {
            self.stats.put_failures.add(1);
        }
        let (region, trace_on) = {
            let c = self.config.get();
            (c.region_id.clone(), c.trace_on)
        };
        response.with_ext(keys::MSG_REGION, region).with_ext(keys::TRACE_SWITCH, trace_on.to_string())
    }

    /// Java's `msgCheck`: broker and topic permission, topic name, the topic
    /// itself (created from its default topic if allowed), the queue id.
    fn prepare(&self, conn: &Connection, h: &SendMessageRequestHeader) -> Result<Target, RemotingCommand> {
        let now = now_ms();
        let (start_accept, broker_permission) = {
            let c = self.config.get();
            (c.start_accept_send_request_time_stamp, c.broker_permission)
        };
        if now < start_accept {
            return Err(reply(ResponseCode::SystemError, format!("broker unable to service, until {start_accept}")));
        }
        if !perm::is_writeable(broker_permission) && self.topics.get(&h.topic).is_some_and(|t| t.order) {
            return Err(reply(
                ResponseCode::NoPermission,
                format!("the broker[{}] sending message is forbidden", self.identity.broker_addr),
            ));
        }
        if let Err(e) = topics::validate_topic_name(&h.topic) {
            return Err(reply(ResponseCode::SystemError, e.to_string()));
        }
        if topics::is_not_allowed_send_topic(&h.topic) {
            return Err(reply(
                ResponseCode::NoPermission,
                format!("Sending message to topic[{}] is forbidden.", h.topic),
            ));
        }
        let topic = match self.topics.get(&h.topic) {
            Some(t) => t,
            None => self.create_topic(conn, h, now)?,
        };
        let queues = topic.read_queue_nums.max(topic.write_queue_nums) as i32;
        if h.queue_id >= queues {
            return Err(reply(
                ResponseCode::SystemError,
                format!(
                    "request queueId[{}] is illegal, {} Producer: {}",
                    h.queue_id,
                    topic.topic_name,
                    conn.remote_addr()
                ),
            ));
        }
        let queue_id = if h.queue_id < 0 { fastrand::i32(0..topic.write_queue_nums.max(1) as i32) } else { h.queue_id };
        Ok(Target { topic, queue_id })
    }

    /// Creates an unknown topic from its default topic (Java's
    /// `createTopicInSendMessageMethod`), or refuses.
    fn create_topic(
        &self,
        conn: &Connection,
        h: &SendMessageRequestHeader,
        now: i64,
    ) -> Result<Arc<TopicConfig>, RemotingCommand> {
        let max_count = self.config.get().auto_create_topic_max_count;
        let created = if topics::is_retry_topic(&h.topic) {
            self.topics.create_retry_on_send(&h.topic, max_count, now)
        } else {
            let default_topic = h.default_topic.as_deref().unwrap_or(topics::AUTO_CREATE_TOPIC_KEY_TOPIC);
            let queues = h.default_topic_queue_nums.unwrap_or(4).max(1) as u32;
            let sys_flag = if h.unit_mode == Some(true) { rmq_model::sysflag::topic::UNIT } else { 0 };
            self.topics.create_on_send(&h.topic, default_topic, (queues, sys_flag), max_count, now)
        };
        let (topic, new) = match created {
            Ok(created) => created,
            Err(why) => {
                tracing::warn!("send to unknown topic {} from {} refused", h.topic, conn.remote_addr());
                let java = format!("topic[{}] not exist, apply first please! {}", h.topic, FAQ_SUFFIX);
                let remark = match why {
                    CreateTopicError::Full(_) => format!("{java}; {why}"),
                    _ => java,
                };
                return Err(reply(ResponseCode::TopicNotExist, remark));
            }
        };
        if new {
            tracing::info!("create new topic {} by default topic, producer {}", h.topic, conn.remote_addr());
            self.topics.changed();
        }
        Ok(topic)
    }

    /// Applies the retry/DLQ rules (Java's `handleRetryAndDLQ`), the
    /// broker's properties (CLUSTER in, WAIT out), and the delay and
    /// transaction rewrites (to `SCHEDULE_TOPIC_XXXX`, to the half topic).
    fn rewrite(
        &self,
        h: &SendMessageRequestHeader,
        target: &Target,
        mut props: Properties,
    ) -> Result<Prepared, RemotingCommand> {
        if let Err(text) = props.delay_level_checked() {
            return Err(reply(
                ResponseCode::MessageIllegal,
                format!("the message property {} has an illegal value '{text}'", keys::DELAY_TIME_LEVEL),
            ));
        }
        let mut topic = target.topic.topic_name.clone();
        let mut queue_id = target.queue_id;
        let mut recall_handle = None;
        // Only the timer writes this mark; a client's would make a restart skip a timer.
        props.remove(crate::timer::DELIVERED_FROM);
        if let Some(group) = props.get(keys::SHARDING_KEY).filter(|g| !g.is_empty()) {
            queue_id = crate::message_group::queue_of(group, target.topic.write_queue_nums);
        }
        let mut sys_flag = h.sys_flag.unwrap_or(0);
        if target.topic.topic_filter_type == TopicFilterType::MultiTag {
            sys_flag |= sysflag::MULTI_TAGS;
        }
        if topics::is_retry_topic(&topic) {
            let group = &topic[topics::RETRY_GROUP_TOPIC_PREFIX.len()..];
            let auto_group = self.config.get().auto_create_groups();
            let (config, created) = self.groups.find_or_create(group, auto_group, now_ms()).map_err(|why| {
                reply(
                    ResponseCode::SubscriptionGroupNotExist,
                    why.remark(format!("subscription group not exist, {group} {}", FAQ_SUFFIX)),
                )
            })?;
            if created {
                self.groups.persist();
            }
            // Java honours the header's value from clients ≥ V3_4_9, i.e. all
            // that send it.
            let max = h.max_reconsume_times.unwrap_or(config.retry_max_times);
            if h.reconsume_times.unwrap_or(0) >= max {
                let dlq = topics::dlq_topic(group);
                let (_, new) = self.topics.get_or_create(&dlq, 1, perm::READ_WRITE, now_ms());
                if new {
                    self.topics.changed();
                }
                topic = dlq;
                queue_id = 0;
                props.remove(keys::DELAY_TIME_LEVEL);
            }
        }
        props.insert(keys::CLUSTER, self.identity.cluster_name.clone());
        let wait = props.wait_store_msg_ok();
        props.remove(keys::WAIT_STORE_MSG_OK);
        // A consumer re-sending a consumed transactional message (it still says
        // TRAN_MSG) with a retry delay is not a new half message (Java's guard
        // for clients before 4.6.1).
        let resent_for_retry = || h.reconsume_times.unwrap_or(0) > 0 && props.delay_level().is_some();
        if props.get(keys::TRANSACTION_PREPARED).is_some_and(|v| v.eq_ignore_ascii_case("true")) && !resent_for_retry()
        {
            if self.config.get().reject_transaction_message {
                return Err(reply(
                    ResponseCode::NoPermission,
                    format!("the broker[{}] sending transaction message is forbidden", self.identity.broker_addr),
                ));
            }
            props.insert(keys::REAL_TOPIC, topic);
            props.insert(keys::REAL_QUEUE_ID, queue_id.to_string());
            sys_flag = sysflag::with_transaction_type(sys_flag, sysflag::TRANSACTION_NOT_TYPE);
            topic = topics::TRANS_HALF_TOPIC.to_owned();
            queue_id = 0;
        } else {
            let kind = sysflag::transaction_type(sys_flag);
            if kind == sysflag::TRANSACTION_NOT_TYPE || kind == sysflag::TRANSACTION_COMMIT_TYPE {
                // The timer first: a DELAY level makes it drop its properties
                // and leaves the message to the delay rule.
                let timer = timer::park(&mut props, &topic, queue_id, &self.timer_rules, now_ms())
                    .map_err(|refusal| refusal.reply(&self.timer_rules))?;
                if timer.is_some() {
                    recall_handle = self.recall_handle(&topic, &props);
                }
                let parked = timer.or_else(|| delay::park(&mut props, &topic, queue_id, &self.delay_levels));
                if let Some(parked) = parked {
                    topic = parked.topic;
                    queue_id = parked.queue_id;
                }
            }
        }
        Ok(Prepared { topic, queue_id, properties: props.encode(), sys_flag, wait, recall_handle })
    }

    /// The recall handle of a message the timer just parked for `topic`, as
    /// Java's `attachRecallHandle` builds it: none for a retry topic's
    /// message (or one without a `UNIQ_KEY`, which nothing could name).
    fn recall_handle(&self, topic: &str, props: &Properties) -> Option<String> {
        if topics::is_retry_topic(topic) {
            return None;
        }
        let out_ms = props.get(keys::TIMER_OUT_MS)?.parse().ok()?;
        let id = props.unique_key()?;
        Some(RecallHandle::for_timer(topic, &self.identity.broker_name, out_ms, id).encode())
    }

    async fn send_one(
        &self,
        conn: &Connection,
        h: &SendMessageRequestHeader,
        target: Target,
        body: Bytes,
    ) -> RemotingCommand {
        let props = Properties::decode(h.properties.as_deref().unwrap_or(""));
        let kind = self.message_type(&props);
        let p = match self.rewrite(h, &target, props) {
            Ok(p) => p,
            Err(refusal) => return refusal,
        };
        if let Some(refusal) = self.durability.refusal(p.wait) {
            return refusal;
        }
        let msg = NewMessage {
            topic: &p.topic,
            queue_id: p.queue_id,
            flag: h.flag.unwrap_or(0),
            body: &body,
            properties: p.properties.as_bytes(),
            sys_flag: p.sys_flag,
            born_timestamp: h.born_timestamp.unwrap_or(0),
            born_host: conn.remote_addr(),
            reconsume_times: h.reconsume_times.unwrap_or(0),
            prepared_transaction_offset: 0,
        };
        let put = self.store.put(&msg);
        let response = self.finish(put, (&target.topic.topic_name, kind), target.queue_id, p.wait).await;
        // Java attaches it whenever the message was stored, waits that ran out included.
        let stored = matches!(
            response.response_code(),
            ResponseCode::Success
                | ResponseCode::FlushDiskTimeout
                | ResponseCode::FlushSlaveTimeout
                | ResponseCode::SlaveNotAvailable
        );
        match p.recall_handle {
            Some(handle) if stored => response.with_ext("recallHandle", handle),
            _ => response,
        }
    }

    async fn send_batch(
        &self,
        conn: &Connection,
        h: &SendMessageRequestHeader,
        target: Target,
        body: Bytes,
    ) -> RemotingCommand {
        let sys_flag = h.sys_flag.unwrap_or(0);
        let batch_props = Properties::decode(h.properties.as_deref().unwrap_or(""));
        if sysflag::transaction_type(sys_flag) != sysflag::TRANSACTION_NOT_TYPE || batch_props.delay_level().is_some() {
            return reply(ResponseCode::MessageIllegal, "batch message does not support delay or transaction messages");
        }
        let kind = self.message_type(&batch_props);
        let p = match self.rewrite(h, &target, batch_props) {
            Ok(p) => p,
            Err(refusal) => return refusal,
        };
        if let Some(refusal) = self.durability.refusal(p.wait) {
            return refusal;
        }
        let mut items = Vec::new();
        for item in record::decode_batch(&body) {
            match item {
                Ok(item) => items.push(item),
                Err(e) => return reply(ResponseCode::MessageIllegal, format!("the batch body is malformed: {e}")),
            }
        }
        if items.is_empty() {
            return reply(ResponseCode::MessageIllegal, "the batch body holds no message");
        }
        let batch_level = Properties::decode(&p.properties);
        let properties: Vec<Vec<u8>> =
            items.iter().map(|i| merge_batch_properties(&without_timer_mark(i.properties), &batch_level)).collect();
        let born_host = conn.remote_addr();
        let msgs: Vec<NewMessage<'_>> = items
            .iter()
            .zip(&properties)
            .map(|(item, props)| NewMessage {
                topic: &p.topic,
                queue_id: p.queue_id,
                flag: item.flag,
                body: item.body,
                properties: props,
                sys_flag: p.sys_flag,
                born_timestamp: h.born_timestamp.unwrap_or(0),
                born_host,
                reconsume_times: h.reconsume_times.unwrap_or(0),
                prepared_transaction_offset: 0,
            })
            .collect();
        let put = self.store.put_batch(&msgs);
        self.finish(put, (&target.topic.topic_name, kind), target.queue_id, p.wait).await
    }

    /// The message's type for `rocketmq_message_size`, told only when it is
    /// recorded.
    fn message_type(&self, props: &Properties) -> MessageType {
        if self.stats.requests.enabled() { MessageType::of(props) } else { MessageType::Normal }
    }

    /// Waits for what the message asked for and builds the response.
    async fn finish(
        &self,
        put: Result<PutResult, StoreError>,
        (topic, kind): (&str, MessageType),
        queue_id: i32,
        wait: bool,
    ) -> RemotingCommand {
        let put = match put {
            Ok(put) => put,
            Err(e) => return store_error::put_refused(&e, self.store.max_message_size()),
        };
        self.stats.put_nums.add(u64::from(put.count));
        self.stats.put_size.add(put.bytes);
        self.stats.topic_put.add(topic, u64::from(put.count), now_ms());
        self.stats.requests.stored(topic, kind, put.count, put.bytes);
        let (status, remark) =
            if wait { self.durability.wait_with_reason(&put).await } else { (ResponseCode::Success, None) };
        let header = SendMessageResponseHeader {
            msg_id: put.msg_ids(),
            queue_id,
            queue_offset: put.queue_offset.as_i64(),
            transaction_id: None,
            batch_uniq_id: None,
            recall_handle: None,
        };
        RemotingCommand::response(status, remark).with_header(&header)
    }
}

/// A batch item's properties without the timer's delivery mark (only the
/// timer may write it).
fn without_timer_mark(item: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if record::property_value(item, crate::timer::DELIVERED_FROM).is_none() {
        return std::borrow::Cow::Borrowed(item);
    }
    let mut props = Properties::decode(&String::from_utf8_lossy(item));
    props.remove(crate::timer::DELIVERED_FROM);
    std::borrow::Cow::Owned(props.encode().into_bytes())
}

/// The properties stored for one message of a batch: its own, plus those of
/// the batch (CLUSTER, the producer's batch-level keys) that it does not set
/// itself. The batch's own `UNIQ_KEY` is never copied: Java brokers before
/// apache/rocketmq#9416 appended it after each message's, so every message of
/// a batch was consumed under one id.
fn merge_batch_properties(item: &[u8], batch: &Properties) -> Vec<u8> {
    let mut out = Vec::with_capacity(item.len() + batch.encoded_len() + 1);
    out.extend_from_slice(item);
    for (name, value) in batch.iter() {
        if name == keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX || record::property_value(item, name).is_some() {
            continue;
        }
        if out.last().is_some_and(|b| *b != 2) {
            out.push(2);
        }
        out.extend_from_slice(name.as_bytes());
        out.push(1);
        out.extend_from_slice(value.as_bytes());
        out.push(2);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_items_keep_their_own_ids_and_gain_the_batch_keys() {
        let batch = Properties::decode("UNIQ_KEY\u{1}BATCH\u{2}CLUSTER\u{1}DefaultCluster\u{2}TAGS\u{1}B\u{2}");
        let merged = merge_batch_properties(b"UNIQ_KEY\x01ITEM\x02TAGS\x01A\x02", &batch);
        let props = Properties::decode(std::str::from_utf8(&merged).unwrap());
        assert_eq!(props.unique_key(), Some("ITEM"));
        assert_eq!(props.tags(), Some("A"));
        assert_eq!(props.get("CLUSTER"), Some("DefaultCluster"));
        assert_eq!(props.len(), 3);
        let no_separator = merge_batch_properties(b"K\x01V", &batch);
        assert_eq!(no_separator, b"K\x01V\x02CLUSTER\x01DefaultCluster\x02TAGS\x01B\x02");
    }
}
