//! Headers of the producer path: sends (with SEND_MESSAGE_V2's one-letter keys),
//! send-backs and transactions.

use crate::ExtFields;
use crate::command_header;
use crate::header::{CommandHeader, ExtValue, HeaderError};

command_header! {
    /// SEND_MESSAGE (10) with Java's long field names. SEND_MESSAGE_V2 and
    /// SEND_BATCH_MESSAGE carry the same fields under one-letter keys
    /// ([`SendMessageRequestHeaderV2`]); both read into this struct.
    ///
    /// Fields Java's handler could do without are optional here, so clients
    /// that leave them out are served.
    pub struct SendMessageRequestHeader {
        producer_group: String => "producerGroup",
        topic: String => "topic",
        default_topic: Option<String> => "defaultTopic",
        default_topic_queue_nums: Option<i32> => "defaultTopicQueueNums",
        /// Negative: the broker picks a queue.
        queue_id: i32 => "queueId",
        sys_flag: Option<i32> => "sysFlag",
        born_timestamp: Option<i64> => "bornTimestamp",
        flag: Option<i32> => "flag",
        properties: Option<String> => "properties",
        reconsume_times: Option<i32> => "reconsumeTimes",
        unit_mode: Option<bool> => "unitMode",
        batch: Option<bool> => "batch",
        max_reconsume_times: Option<i32> => "maxReconsumeTimes",
        /// 4.9.x/5.x clients name the broker they target.
        broker_name: Option<String> => "bname",
    }
}

/// SEND_MESSAGE_V2 (310) / SEND_BATCH_MESSAGE (320): the V1 fields under the
/// keys `a` … `n`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SendMessageRequestHeaderV2(pub SendMessageRequestHeader);

impl CommandHeader for SendMessageRequestHeaderV2 {
    fn write_ext(&self, ext: &mut ExtFields) {
        let h = &self.0;
        h.producer_group.write("a", ext);
        h.topic.write("b", ext);
        h.default_topic.write("c", ext);
        h.default_topic_queue_nums.write("d", ext);
        h.queue_id.write("e", ext);
        h.sys_flag.write("f", ext);
        h.born_timestamp.write("g", ext);
        h.flag.write("h", ext);
        h.properties.write("i", ext);
        h.reconsume_times.write("j", ext);
        h.unit_mode.write("k", ext);
        h.max_reconsume_times.write("l", ext);
        h.batch.write("m", ext);
        h.broker_name.write("n", ext);
    }

    fn read_ext(ext: &ExtFields) -> Result<SendMessageRequestHeaderV2, HeaderError> {
        Ok(SendMessageRequestHeaderV2(SendMessageRequestHeader {
            producer_group: ExtValue::read(ext, "a")?,
            topic: ExtValue::read(ext, "b")?,
            default_topic: ExtValue::read(ext, "c")?,
            default_topic_queue_nums: ExtValue::read(ext, "d")?,
            queue_id: ExtValue::read(ext, "e")?,
            sys_flag: ExtValue::read(ext, "f")?,
            born_timestamp: ExtValue::read(ext, "g")?,
            flag: ExtValue::read(ext, "h")?,
            properties: ExtValue::read(ext, "i")?,
            reconsume_times: ExtValue::read(ext, "j")?,
            unit_mode: ExtValue::read(ext, "k")?,
            max_reconsume_times: ExtValue::read(ext, "l")?,
            batch: ExtValue::read(ext, "m")?,
            broker_name: ExtValue::read(ext, "n")?,
        }))
    }
}

command_header! {
    /// The answer to a send. The broker also adds `MSG_REGION` and `TRACE_ON`.
    pub struct SendMessageResponseHeader {
        /// Offset msgId; a comma-separated list for batches.
        msg_id: String => "msgId",
        queue_id: i32 => "queueId",
        queue_offset: i64 => "queueOffset",
        transaction_id: Option<String> => "transactionId",
        batch_uniq_id: Option<String> => "batchUniqId",
        /// 5.3: for a timer message, the handle that can recall it before
        /// it is due ([`crate::recall::RecallHandle`]).
        recall_handle: Option<String> => "recallHandle",
    }
}

command_header! {
    /// RECALL_MESSAGE (370, RocketMQ 5.3): cancel a timer message not yet
    /// delivered, by the handle its send answered with.
    pub struct RecallMessageRequestHeader {
        producer_group: Option<String> => "producerGroup",
        topic: String => "topic",
        recall_handle: String => "recallHandle",
        /// The broker group the handle names; proxies relay by it.
        broker_name: Option<String> => "bname",
    }
}

command_header! {
    /// The answer to RECALL_MESSAGE.
    pub struct RecallMessageResponseHeader {
        /// The recalled message's `UNIQ_KEY`.
        msg_id: String => "msgId",
    }
}

command_header! {
    /// CONSUMER_SEND_MSG_BACK (36): a consumer hands a message back for retry.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// CommitLog offset of the consumed message.
        offset: i64 => "offset",
        group: String => "group",
        /// 0: the broker picks `3 + reconsumeTimes`; negative: straight to the DLQ.
        delay_level: i32 => "delayLevel",
        origin_msg_id: Option<String> => "originMsgId",
        origin_topic: Option<String> => "originTopic",
        unit_mode: Option<bool> => "unitMode",
        max_reconsume_times: Option<i32> => "maxReconsumeTimes",
    }
}

command_header! {
    /// END_TRANSACTION (37).
    pub struct EndTransactionRequestHeader {
        producer_group: String => "producerGroup",
        /// Queue offset of the half message.
        tran_state_table_offset: i64 => "tranStateTableOffset",
        /// CommitLog offset of the half message.
        commit_log_offset: i64 => "commitLogOffset",
        /// 0 unknown, 8 commit, 12 rollback.
        commit_or_rollback: i32 => "commitOrRollback",
        from_transaction_check: Option<bool> => "fromTransactionCheck",
        msg_id: Option<String> => "msgId",
        transaction_id: Option<String> => "transactionId",
        topic: Option<String> => "topic",
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE (39), broker to producer.
    pub struct CheckTransactionStateRequestHeader {
        tran_state_table_offset: i64 => "tranStateTableOffset",
        commit_log_offset: i64 => "commitLogOffset",
        msg_id: Option<String> => "msgId",
        transaction_id: Option<String> => "transactionId",
        offset_msg_id: Option<String> => "offsetMsgId",
        topic: Option<String> => "topic",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_keys_map_onto_v1_fields() {
        let mut ext = ExtFields::new();
        for (k, v) in [
            ("a", "pg"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "1"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", "TAGS\u{1}A\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
        ] {
            ext.insert(k, v);
        }
        let h = SendMessageRequestHeaderV2::read_ext(&ext).unwrap().0;
        assert_eq!(h.topic, "TopicTest");
        assert_eq!(h.queue_id, 1);
        assert_eq!(h.born_timestamp, Some(1700000000000));
        assert_eq!(h.batch, Some(false));
        let mut again = ExtFields::new();
        SendMessageRequestHeaderV2(h).write_ext(&mut again);
        assert_eq!(again, ext);
    }
}
