//! Headers of RocketMQ 5's POP family (Java's `PopMessageRequestHeader`,
//! `AckMessageRequestHeader`, `ChangeInvisibleTimeRequestHeader`,
//! `NotificationRequestHeader`, `PollingInfoRequestHeader`,
//! `PeekMessageRequestHeader` and their responses).

use crate::command_header;

command_header! {
    /// POP_MESSAGE (200050): the broker picks the messages; they stay
    /// invisible to the group for `invisibleTime` ms unless acked.
    pub struct PopMessageRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        /// -1: any queue of the topic.
        queue_id: i32 => "queueId",
        max_msg_nums: i32 => "maxMsgNums",
        invisible_time: i64 => "invisibleTime",
        /// How long the broker may hold the request when nothing is there, ms.
        poll_time: i64 => "pollTime",
        /// When the client sent it; with `pollTime` it bounds the hold.
        born_time: Option<i64> => "bornTime",
        /// Where a group with no offset starts: 0 the last message, 1 the first.
        init_mode: Option<i32> => "initMode",
        exp_type: Option<String> => "expType",
        exp: Option<String> => "exp",
        /// FIFO: a queue yields nothing new while earlier messages are in flight.
        order: Option<bool> => "order",
        attempt_id: Option<String> => "attemptId",
    }
}

command_header! {
    /// The answer to a POP. The client builds each message's receipt handle
    /// (`POP_CK`) from these fields and the message's queue and offset.
    pub struct PopMessageResponseHeader {
        pop_time: i64 => "popTime",
        invisible_time: i64 => "invisibleTime",
        revive_qid: i32 => "reviveQid",
        /// Messages still waiting in the queues looked at.
        rest_num: i64 => "restNum",
        /// `<retryFlag> <queueId> <startOffset>` per queue, `;`-separated.
        start_offset_info: Option<String> => "startOffsetInfo",
        /// `<retryFlag> <queueId> <offset>,<offset>…` per queue.
        msg_offset_info: Option<String> => "msgOffsetInfo",
        /// FIFO: how often each message was delivered before.
        order_count_info: Option<String> => "orderCountInfo",
    }
}

command_header! {
    /// ACK_MESSAGE (200051): one popped message is consumed.
    pub struct AckMessageRequestHeader {
        consumer_group: String => "consumerGroup",
        /// The topic the message was popped from (the retry topic for retries).
        topic: String => "topic",
        queue_id: i32 => "queueId",
        /// The receipt handle (`POP_CK`).
        extra_info: String => "extraInfo",
        offset: i64 => "offset",
    }
}

command_header! {
    /// CHANGE_MESSAGE_INVISIBLETIME (200053): keep a popped message invisible
    /// for `invisibleTime` ms from now (or make it visible soon).
    pub struct ChangeInvisibleTimeRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        extra_info: String => "extraInfo",
        offset: i64 => "offset",
        invisible_time: i64 => "invisibleTime",
    }
}

command_header! {
    /// The answer to CHANGE_MESSAGE_INVISIBLETIME: the parts of the new
    /// receipt handle.
    pub struct ChangeInvisibleTimeResponseHeader {
        pop_time: i64 => "popTime",
        invisible_time: i64 => "invisibleTime",
        revive_qid: i32 => "reviveQid",
    }
}

command_header! {
    /// NOTIFICATION (200054): "tell me when the group has something to pop".
    pub struct NotificationRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        poll_time: i64 => "pollTime",
        born_time: Option<i64> => "bornTime",
        order: Option<bool> => "order",
        attempt_id: Option<String> => "attemptId",
    }
}

command_header! {
    /// The answer to NOTIFICATION.
    pub struct NotificationResponseHeader {
        has_msg: bool => "hasMsg",
        polling_full: Option<bool> => "pollingFull",
    }
}

command_header! {
    /// POLLING_INFO (200055): how many POPs and notifications are held.
    pub struct PollingInfoRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
    }
}

command_header! {
    /// The answer to POLLING_INFO.
    pub struct PollingInfoResponseHeader {
        polling_num: i32 => "pollingNum",
    }
}

command_header! {
    /// PEEK_MESSAGE (200052): read from the group's POP position without
    /// taking anything.
    pub struct PeekMessageRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        max_msg_nums: i32 => "maxMsgNums",
    }
}
