//! Headers of PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361) (Java's
//! `PullMessageRequestHeader`, `PullMessageResponseHeader`).

use crate::command_header;

command_header! {
    /// A pull request.
    pub struct PullMessageRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        queue_offset: i64 => "queueOffset",
        max_msg_nums: i32 => "maxMsgNums",
        /// `PullSysFlag` bits: commit offset, suspend, subscription, class filter.
        sys_flag: i32 => "sysFlag",
        commit_offset: Option<i64> => "commitOffset",
        /// How long the broker may hold the request (long polling), in ms.
        suspend_timeout_millis: Option<i64> => "suspendTimeoutMillis",
        subscription: Option<String> => "subscription",
        sub_version: Option<i64> => "subVersion",
        expression_type: Option<String> => "expressionType",
        max_msg_bytes: Option<i32> => "maxMsgBytes",
    }
}

command_header! {
    /// The answer to a pull.
    pub struct PullMessageResponseHeader {
        suggest_which_broker_id: i64 => "suggestWhichBrokerId",
        next_begin_offset: i64 => "nextBeginOffset",
        min_offset: i64 => "minOffset",
        max_offset: i64 => "maxOffset",
    }
}
