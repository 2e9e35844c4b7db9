//! CONSUMER_SEND_MSG_BACK (36): a consumer hands back a message it could not
//! consume. It goes to `%RETRY%<group>` with a delay of level
//! `3 + reconsumeTimes` (10 s, 30 s, 1 min, 2 min, …), or to `%DLQ%<group>`
//! once it was delivered `maxReconsumeTimes` times (§8.2).

use rmq_model::properties::keys;
use rmq_model::record::{self, NewMessage};
use rmq_model::{PhysicalOffset, perm, topic as topics};
use rmq_protocol::header::ConsumerSendMsgBackRequestHeader;
use rmq_protocol::{RemotingCommand, ResponseCode};
use std::sync::Arc;

use super::{header_or_reply, reply};
use crate::broker::Broker;
use crate::{delay, now_ms};

pub(crate) fn handle(b: &Arc<Broker>, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, ConsumerSendMsgBackRequestHeader);
    let now = now_ms();
    let (auto_group, broker_permission) = {
        let c = b.config();
        (c.auto_create_subscription_group, c.broker_permission)
    };
    let Some((group, _)) = b.groups.find_or_create(&h.group, auto_group, now) else {
        return reply(ResponseCode::SubscriptionGroupNotExist, format!("subscription group not exist, {}", h.group));
    };
    if !perm::is_writeable(broker_permission) {
        return reply(
            ResponseCode::NoPermission,
            format!("the broker[{}] sending message is forbidden", b.identity.broker_addr),
        );
    }
    if group.retry_queue_nums == 0 {
        return RemotingCommand::success();
    }
    let Some(stored) = u64::try_from(h.offset).ok().and_then(|o| b.store.message_at(PhysicalOffset(o))) else {
        return reply(ResponseCode::SystemError, format!("look message by offset failed, {}", h.offset));
    };
    let original = match record::decode_message(&stored, false) {
        Ok(view) => view,
        Err(e) => return reply(ResponseCode::SystemError, format!("look message by offset failed, {}: {e}", h.offset)),
    };
    let mut props = original.decode_properties();
    if !props.contains(keys::RETRY_TOPIC) {
        props.insert(keys::RETRY_TOPIC, original.topic);
    }
    props.remove(keys::WAIT_STORE_MSG_OK);
    let max_reconsume = h.max_reconsume_times.unwrap_or(group.retry_max_times);
    let (mut topic, mut queue_id) = if original.reconsume_times >= max_reconsume || h.delay_level < 0 {
        let dlq = topics::dlq_topic(&h.group);
        let (_, new) = b.topics.get_or_create(&dlq, 1, perm::READ_WRITE, now);
        if new {
            b.topics_changed();
        }
        props.remove(keys::DELAY_TIME_LEVEL);
        (dlq, 0)
    } else {
        let retry = topics::retry_topic(&h.group);
        let (config, new) = b.topics.get_or_create(&retry, group.retry_queue_nums, perm::READ_WRITE, now);
        if new {
            b.topics_changed();
        }
        let level = if h.delay_level == 0 { 3 + original.reconsume_times } else { h.delay_level };
        props.insert(keys::DELAY_TIME_LEVEL, level.to_string());
        let queue = fastrand::i32(0..config.write_queue_nums.max(1) as i32);
        (retry, queue)
    };
    let origin_id = props.get(keys::ORIGIN_MESSAGE_ID).map(str::to_owned);
    let origin_id = origin_id.or(h.origin_msg_id.clone()).unwrap_or_else(|| original.offset_msg_id());
    props.insert(keys::ORIGIN_MESSAGE_ID, origin_id);
    if let Some(parked) = delay::park(&mut props, &topic, queue_id, b.delay_level_count()) {
        topic = parked.topic;
        queue_id = parked.queue_id;
    }
    let properties = props.encode();
    let msg = NewMessage {
        topic: &topic,
        queue_id,
        flag: original.flag,
        body: original.body,
        properties: properties.as_bytes(),
        sys_flag: original.sys_flag,
        born_timestamp: original.born_timestamp,
        born_host: original.born_host,
        reconsume_times: original.reconsume_times + 1,
        prepared_transaction_offset: 0,
    };
    match b.store.put(&msg) {
        Ok(_) => RemotingCommand::success(),
        Err(e) => reply(ResponseCode::SystemError, e.put_status().as_str()),
    }
}
