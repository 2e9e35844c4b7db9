//! ACK_MESSAGE (200051), BATCH_ACK_MESSAGE (200151),
//! CHANGE_MESSAGE_INVISIBLETIME (200053), NOTIFICATION (200054) and
//! POLLING_INFO (200055): what a POP consumer says about what it popped, and
//! asks about what it may pop.

use rmq_model::fastjson;
use rmq_protocol::body::pop::BatchAckMessageRequestBody;
use rmq_protocol::header::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    NotificationRequestHeader, NotificationResponseHeader, PollingInfoRequestHeader, PollingInfoResponseHeader,
};
use rmq_protocol::receipt::{ReceiptHandle, RetryFlag};
use rmq_protocol::{RemotingCommand, ResponseCode};

use super::pop::Popping;
use super::{header_or_reply, reply};
use crate::pop::{MAX_INVISIBLE_MS, PopError};

/// Longest bit set a batch ack entry may carry (64 messages from its start).
const MAX_BATCH_ACK_BYTES: usize = 8;

impl Popping {
    pub(crate) async fn ack(&self, req: &RemotingCommand) -> RemotingCommand {
        if let Some(refusal) = self.on_slave() {
            return refusal;
        }
        self.engine.ready().await;
        let h = header_or_reply!(req, AckMessageRequestHeader);
        let handle = match ReceiptHandle::parse(&h.extra_info) {
            Ok(handle) => handle,
            Err(e) => return reply(ResponseCode::MessageIllegal, e.to_string()),
        };
        if let Some(refusal) = self.check_ack_target(&h.topic, h.queue_id, h.offset, &h.consumer_group, handle.retry) {
            return refusal;
        }
        match self.engine.ack(&h.consumer_group, &h.topic, h.queue_id, &handle, h.offset) {
            Ok(()) => RemotingCommand::success(),
            Err(e) => ack_refused(e),
        }
    }

    pub(crate) async fn batch_ack(&self, req: &RemotingCommand) -> RemotingCommand {
        if let Some(refusal) = self.on_slave() {
            return refusal;
        }
        self.engine.ready().await;
        let body: BatchAckMessageRequestBody = match fastjson::from_slice(&req.body.to_bytes()) {
            Ok(body) => body,
            Err(e) => return reply(ResponseCode::MessageIllegal, format!("the batch ack body is malformed: {e}")),
        };
        if body.acks.is_empty() {
            return reply(ResponseCode::NoMessage, "the batch ack holds no ack");
        }
        let mut refused = None;
        for ack in &body.acks {
            // One entry stands for one pop of a queue: at most 32 messages, 8 bytes of bits with room.
            if ack.bit_set.len() > MAX_BATCH_ACK_BYTES {
                return reply(
                    ResponseCode::MessageIllegal,
                    format!("a batch ack entry of {} bytes of bits is more than one pop can take", ack.bit_set.len()),
                );
            }
            let retry = RetryFlag::parse(&ack.retry).unwrap_or(RetryFlag::Normal);
            let handle = ReceiptHandle {
                ck_offset: ack.start_offset,
                pop_time: ack.pop_time,
                invisible_time: ack.invisible_time,
                revive_qid: ack.revive_queue_id,
                retry,
                broker_name: body.broker_name.clone(),
                queue_id: ack.queue_id,
                offset: None,
            };
            let offsets: Vec<i64> = ack.acked_offsets().collect();
            if let Err(e) = self.engine.ack_many(&ack.consumer_group, &ack.topic, ack.queue_id, &handle, &offsets) {
                refused.get_or_insert(e);
            }
        }
        match refused {
            // Java answers a batch with SUCCESS whatever became of each ack;
            // rmq says which one it could not apply.
            Some(e) => ack_refused(e),
            None => RemotingCommand::success(),
        }
    }

    pub(crate) async fn change_invisible(&self, req: &RemotingCommand) -> RemotingCommand {
        if let Some(refusal) = self.on_slave() {
            return refusal;
        }
        self.engine.ready().await;
        let h = header_or_reply!(req, ChangeInvisibleTimeRequestHeader);
        let handle = match ReceiptHandle::parse(&h.extra_info) {
            Ok(handle) => handle,
            Err(e) => return reply(ResponseCode::MessageIllegal, e.to_string()),
        };
        if h.invisible_time < 0 || h.invisible_time > MAX_INVISIBLE_MS {
            return reply(
                ResponseCode::InvalidParameter,
                format!("invisibleTime {} ms is out of range [0, {MAX_INVISIBLE_MS}]", h.invisible_time),
            );
        }
        if let Some(refusal) = self.check_ack_target(&h.topic, h.queue_id, h.offset, &h.consumer_group, handle.retry) {
            return refusal;
        }
        match self.engine.change_invisible(&h.consumer_group, &h.topic, h.queue_id, &handle, h.offset, h.invisible_time)
        {
            Ok(pop_time) => {
                let header = ChangeInvisibleTimeResponseHeader {
                    pop_time,
                    invisible_time: if handle.is_order() {
                        crate::now_ms() + h.invisible_time - pop_time
                    } else {
                        h.invisible_time
                    },
                    revive_qid: handle.revive_qid,
                };
                RemotingCommand::success().with_header(&header)
            }
            Err(e) => ack_refused(e),
        }
    }

    /// The checks Java makes before an ack: the topic exists, the queue id
    /// is one of its queues, the offset lies in the queue.
    fn check_ack_target(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        group: &str,
        retry: RetryFlag,
    ) -> Option<RemotingCommand> {
        let real = if retry == RetryFlag::Normal || RetryFlag::of(topic) != RetryFlag::Normal {
            topic.to_owned()
        } else {
            retry.real_topic(topic, group)
        };
        let Some(config) = self.topics.get(&real) else {
            return Some(reply(ResponseCode::TopicNotExist, format!("topic[{real}] not exist, apply first please!")));
        };
        if queue_id < 0 || queue_id >= config.read_queue_nums as i32 {
            return Some(reply(
                ResponseCode::MessageIllegal,
                format!(
                    "queueId[{queue_id}] is illegal, topic:[{real}] topicConfig.readQueueNums:[{}]",
                    config.read_queue_nums
                ),
            ));
        }
        let (min, max) = (
            self.engine.store.min_offset_in_queue(&real, queue_id).as_i64(),
            self.engine.store.max_offset_in_queue(&real, queue_id).as_i64(),
        );
        if offset < min || offset >= max {
            return Some(reply(
                ResponseCode::NoMessage,
                format!("offset is illegal, key:{real}@{queue_id}, commit:{offset}, store:{min}~{max}"),
            ));
        }
        None
    }

    /// NOTIFICATION: answers at once if the group has something to pop,
    /// otherwise when something arrives or the poll time ends.
    pub(crate) async fn notification(&self, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, NotificationRequestHeader);
        let read_queues = match self.topics.get(&h.topic) {
            Some(t) => t.read_queue_nums,
            None => {
                return reply(
                    ResponseCode::TopicNotExist,
                    format!("topic[{}] not exist, apply first please!", h.topic),
                );
            }
        };
        let has_msg = self
            .look_until_arrival(&h.topic, &h.consumer_group, h.queue_id, h.poll_time, || {
                let found = self.engine.has_message(&h.consumer_group, &h.topic, h.queue_id, read_queues);
                (found, found)
            })
            .await;
        let header = NotificationResponseHeader { has_msg, polling_full: Some(false) };
        RemotingCommand::success().with_header(&header)
    }

    /// POLLING_INFO: how many POPs and NOTIFICATIONs of the group are held on the queue now.
    pub(crate) fn polling_info(&self, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, PollingInfoRequestHeader);
        if self.topics.get(&h.topic).is_none() {
            return reply(ResponseCode::TopicNotExist, format!("topic[{}] not exist, apply first please!", h.topic));
        }
        let polling_num = self.held.count(&h.topic, &h.consumer_group, h.queue_id);
        RemotingCommand::success().with_header(&PollingInfoResponseHeader { polling_num })
    }
}

fn ack_refused(e: PopError) -> RemotingCommand {
    match e {
        PopError::UnknownHandle(_) => reply(ResponseCode::NoMessage, e.to_string()),
        PopError::Store(_) => reply(ResponseCode::SystemError, e.to_string()),
    }
}
