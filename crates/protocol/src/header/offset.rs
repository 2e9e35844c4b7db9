//! Headers of offset and message lookups: consumer offsets, queue min/max,
//! search by time, view and query (codes 14, 15, 29-33 and 12).

use crate::command_header;

command_header! {
    /// QUERY_CONSUMER_OFFSET (14).
    pub struct QueryConsumerOffsetRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        set_zero_if_not_found: Option<bool> => "setZeroIfNotFound",
    }
}

command_header! {
    /// UPDATE_CONSUMER_OFFSET (15).
    pub struct UpdateConsumerOffsetRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        commit_offset: i64 => "commitOffset",
    }
}

command_header! {
    /// GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32).
    pub struct QueueRequestHeader {
        topic: String => "topic",
        queue_id: i32 => "queueId",
        /// 5.x GET_MAX_OFFSET: count only committed (dispatched) entries.
        committed: Option<bool> => "committed",
    }
}

command_header! {
    /// An answer carrying one offset (14, 29, 30, 31).
    pub struct OffsetResponseHeader {
        offset: i64 => "offset",
    }
}

command_header! {
    /// The answer to GET_EARLIEST_MSG_STORETIME.
    pub struct TimestampResponseHeader {
        timestamp: i64 => "timestamp",
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29).
    pub struct SearchOffsetRequestHeader {
        topic: String => "topic",
        queue_id: i32 => "queueId",
        timestamp: i64 => "timestamp",
        /// 5.x: `LOWER` (default) or `UPPER`.
        boundary_type: Option<String> => "boundaryType",
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID (33).
    pub struct ViewMessageRequestHeader {
        /// CommitLog offset.
        offset: i64 => "offset",
        topic: Option<String> => "topic",
    }
}

command_header! {
    /// QUERY_MESSAGE (12); the ext field `_UNIQUE_KEY_QUERY=true` asks for a
    /// unique-key lookup.
    pub struct QueryMessageRequestHeader {
        topic: String => "topic",
        key: String => "key",
        max_num: i32 => "maxNum",
        begin_timestamp: i64 => "beginTimestamp",
        end_timestamp: i64 => "endTimestamp",
    }
}

command_header! {
    /// The answer to QUERY_MESSAGE.
    pub struct QueryMessageResponseHeader {
        index_last_update_timestamp: i64 => "indexLastUpdateTimestamp",
        index_last_update_phyoffset: i64 => "indexLastUpdatePhyoffset",
    }
}

/// The ext field that turns QUERY_MESSAGE into a unique-key lookup.
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";
