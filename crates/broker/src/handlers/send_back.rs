//! CONSUMER_SEND_MSG_BACK (36): a consumer hands back a message it could not
//! consume. It goes to `%RETRY%<group>` with a delay of level
//! `3 + reconsumeTimes` (10 s, 30 s, 1 min, 2 min, …), or to `%DLQ%<group>`
//! once it was delivered `maxReconsumeTimes` times (Java's
//! `SendMessageProcessor.consumerSendMsgBack`). Under ACL the record handed
//! back must be one the caller may read: else any group could copy any
//! topic's record into its retry topic and pull it from there.

use rmq_model::properties::keys;
use rmq_model::record::{self, NewMessage};
use rmq_model::{PhysicalOffset, perm, topic as topics};
use rmq_protocol::header::ConsumerSendMsgBackRequestHeader;
use rmq_protocol::{RemotingCommand, ResponseCode};

use super::send::Sending;
use super::{ReadGate, header_or_reply, reply, store_error, vouched_topic};
use crate::{delay, now_ms};

impl Sending {
    pub(crate) async fn send_back(&self, req: &RemotingCommand, gate: Option<ReadGate<'_>>) -> RemotingCommand {
        let h = header_or_reply!(req, ConsumerSendMsgBackRequestHeader);
        let now = now_ms();
        let (auto_group, broker_permission) = {
            let c = self.config.get();
            (c.auto_create_groups(), c.broker_permission)
        };
        let group = match self.groups.find_or_create(&h.group, auto_group, now) {
            Ok((group, _)) => group,
            Err(why) => {
                let remark = why.remark(format!("subscription group not exist, {}", h.group));
                return reply(ResponseCode::SubscriptionGroupNotExist, remark);
            }
        };
        if !perm::is_writeable(broker_permission) {
            return reply(
                ResponseCode::NoPermission,
                format!("the broker[{}] sending message is forbidden", self.identity.broker_addr),
            );
        }
        if group.retry_queue_nums == 0 {
            return RemotingCommand::success();
        }
        // The retry topic is made (and must be writeable) whatever the message's
        // fate: an operator stops broker-side retries by making it read-only.
        let retry = topics::retry_topic(&h.group);
        let (retry_config, new) = self.topics.get_or_create(&retry, group.retry_queue_nums, perm::READ_WRITE, now);
        if new {
            self.topics.changed();
        }
        if !perm::is_writeable(retry_config.perm) {
            return reply(ResponseCode::NoPermission, format!("the topic[{retry}] sending message is forbidden"));
        }
        let found = u64::try_from(h.offset).ok().and_then(|o| Some((o, self.store.message_at(PhysicalOffset(o))?)));
        let Some((offset, stored)) = found else {
            return reply(ResponseCode::SystemError, format!("look message by offset failed, {}", h.offset));
        };
        if let Some(gate) = gate {
            let topic = vouched_topic(&stored, offset, |t, q, o| self.store.commitlog_offset_in_queue(t, q, o));
            if let Some(refusal) = gate(topic.as_deref()) {
                return refusal;
            }
        }
        let original = match record::decode_message(&stored, false) {
            Ok(view) => view,
            Err(e) => {
                return reply(ResponseCode::SystemError, format!("look message by offset failed, {}: {e}", h.offset));
            }
        };
        let mut props = original.decode_properties();
        if !props.contains(keys::RETRY_TOPIC) {
            props.insert(keys::RETRY_TOPIC, original.topic);
        }
        props.remove(keys::WAIT_STORE_MSG_OK);
        let max_reconsume = h.max_reconsume_times.unwrap_or(group.retry_max_times);
        let (mut topic, mut queue_id) = if original.reconsume_times >= max_reconsume || h.delay_level < 0 {
            let dlq = topics::dlq_topic(&h.group);
            let (_, new) = self.topics.get_or_create(&dlq, 1, perm::READ_WRITE, now);
            if new {
                self.topics.changed();
            }
            props.remove(keys::DELAY_TIME_LEVEL);
            (dlq, 0)
        } else {
            let level = if h.delay_level == 0 { 3 + original.reconsume_times } else { h.delay_level };
            props.insert(keys::DELAY_TIME_LEVEL, level.to_string());
            let queue = fastrand::i32(0..retry_config.write_queue_nums.max(1) as i32);
            (retry, queue)
        };
        // The first hand-back records the stored message's offset msgId, as
        // Java does (not the client's UNIQ_KEY from the header).
        if props.get(keys::ORIGIN_MESSAGE_ID).is_none_or(str::is_empty) {
            props.insert(keys::ORIGIN_MESSAGE_ID, original.offset_msg_id());
        }
        if let Some(parked) = delay::park(&mut props, &topic, queue_id, &self.delay_levels) {
            topic = parked.topic;
            queue_id = parked.queue_id;
        }
        let properties = props.encode();
        let msg = NewMessage {
            reconsume_times: original.reconsume_times + 1,
            prepared_transaction_offset: 0,
            ..original.stored_again(&topic, queue_id, properties.as_bytes())
        };
        // Refused as a send would be: the copy waits as a send does.
        if let Some(refusal) = self.durability.refusal(true) {
            return refusal;
        }
        let put = match self.store.put(&msg) {
            Ok(put) => put,
            Err(e) => return store_error::hand_back_refused(&e),
        };
        // The consumer moves past the original once this answers: the copy must
        // be as safe as a sent message (flushed, replicated) first.
        match self.durability.wait(&put).await {
            ResponseCode::Success => RemotingCommand::success(),
            status => reply(ResponseCode::SystemError, status.java_name()),
        }
    }
}
