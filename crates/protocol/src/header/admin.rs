//! Headers of the broker's admin requests, as `mqadmin` sends them (served by
//! Java's `AdminBrokerProcessor`).

use crate::command_header;

command_header! {
    /// UPDATE_AND_CREATE_TOPIC (17).
    pub struct CreateTopicRequestHeader {
        topic: String => "topic",
        default_topic: Option<String> => "defaultTopic",
        read_queue_nums: i32 => "readQueueNums",
        write_queue_nums: i32 => "writeQueueNums",
        perm: i32 => "perm",
        /// `SINGLE_TAG` or `MULTI_TAG`.
        topic_filter_type: Option<String> => "topicFilterType",
        topic_sys_flag: Option<i32> => "topicSysFlag",
        order: Option<bool> => "order",
        attributes: Option<String> => "attributes",
        force: Option<bool> => "force",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_BROKER (215), GET_TOPIC_STATS_INFO (202),
    /// QUERY_TOPIC_CONSUME_BY_WHO (300).
    pub struct TopicRequestHeader {
        topic: String => "topic",
    }
}

command_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204).
    pub struct ProducerGroupRequestHeader {
        producer_group: String => "producerGroup",
    }
}

command_header! {
    /// GET_CONSUME_STATS (208).
    pub struct GetConsumeStatsRequestHeader {
        consumer_group: String => "consumerGroup",
        /// Blank: every topic the group has offsets for.
        topic: Option<String> => "topic",
        /// 5.x: `;`-separated topics.
        topic_list: Option<String> => "topicList",
    }
}

command_header! {
    /// DELETE_SUBSCRIPTIONGROUP (207).
    pub struct DeleteSubscriptionGroupRequestHeader {
        group_name: String => "groupName",
        /// 4.x spelling.
        remove_offset: Option<bool> => "removeOffset",
        /// 5.x spelling.
        clean_offset: Option<bool> => "cleanOffset",
    }
}

command_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222).
    pub struct ResetOffsetRequestHeader {
        group: String => "group",
        topic: String => "topic",
        /// Milliseconds; -1 means the max offset.
        timestamp: i64 => "timestamp",
        is_force: bool => "isForce",
        queue_id: Option<i32> => "queueId",
        offset: Option<i64> => "offset",
    }
}

command_header! {
    /// The answer to GET_BROKER_CONFIG: the config's DataVersion as JSON text.
    pub struct GetBrokerConfigResponseHeader {
        version: String => "version",
    }
}

command_header! {
    /// QUERY_CONSUME_TIME_SPAN (303).
    pub struct QueryConsumeTimeSpanRequestHeader {
        topic: String => "topic",
        group: String => "group",
    }
}

command_header! {
    /// CLONE_GROUP_OFFSET (314).
    pub struct CloneGroupOffsetRequestHeader {
        src_group: String => "srcGroup",
        dest_group: String => "destGroup",
        topic: Option<String> => "topic",
        offline: Option<bool> => "offline",
    }
}

command_header! {
    /// QUERY_CORRECTION_OFFSET (308).
    pub struct QueryCorrectionOffsetRequestHeader {
        compare_group: String => "compareGroup",
        topic: String => "topic",
        filter_groups: Option<String> => "filterGroups",
    }
}

command_header! {
    /// GET_BROKER_CONSUME_STATS (317).
    pub struct GetBrokerConsumeStatsRequestHeader {
        is_order: bool => "isOrder",
    }
}

command_header! {
    /// QUERY_CONSUME_QUEUE (321).
    pub struct QueryConsumeQueueRequestHeader {
        topic: String => "topic",
        queue_id: i32 => "queueId",
        index: i64 => "index",
        count: i32 => "count",
        consumer_group: Option<String> => "consumerGroup",
    }
}

command_header! {
    /// VIEW_BROKER_STATS_DATA (315).
    pub struct ViewBrokerStatsDataRequestHeader {
        stats_name: String => "statsName",
        stats_key: String => "statsKey",
    }
}

command_header! {
    /// RESUME_CHECK_HALF_MESSAGE (323).
    pub struct ResumeCheckHalfMessageRequestHeader {
        msg_id: Option<String> => "msgId",
    }
}

command_header! {
    /// INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223) and, broker to client,
    /// GET_CONSUMER_STATUS_FROM_CLIENT (221).
    pub struct GetConsumerStatusRequestHeader {
        topic: String => "topic",
        group: String => "group",
        /// Only this client (Java compares it with the client id).
        client_addr: Option<String> => "clientAddr",
    }
}

command_header! {
    /// GET_TOPIC_CONFIG (351, 5.x).
    pub struct GetTopicConfigRequestHeader {
        topic: String => "topic",
        /// Static topics: also the logical queue mapping.
        lo: Option<bool> => "lo",
    }
}

command_header! {
    /// GET_SUBSCRIPTIONGROUP_CONFIG (352, 5.x).
    pub struct GetSubscriptionGroupConfigRequestHeader {
        group: String => "group",
    }
}
