//! Offsets: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET (30), GET_MIN_OFFSET (31),
//! GET_EARLIEST_MSG_STORETIME (32).

use rmq_protocol::header::{
    OffsetResponseHeader, QueryConsumerOffsetRequestHeader, QueueRequestHeader, SearchOffsetRequestHeader,
    TimestampResponseHeader, UpdateConsumerOffsetRequestHeader,
};
use rmq_protocol::{RemotingCommand, ResponseCode};
use std::sync::Arc;

use super::{header_or_reply, reply};
use crate::ha::MetadataSync;
use crate::message_log::MessageLog;
use crate::tables::ConsumerOffsets;

/// Consumers' offsets and the store's queue bounds, as clients ask for them.
#[derive(Debug)]
pub(crate) struct OffsetQueries {
    pub store: Arc<dyn MessageLog>,
    pub offsets: Arc<ConsumerOffsets>,
    /// On a slave: where commits are noted for the master.
    pub slave_sync: Option<Arc<MetadataSync>>,
}

fn offset_response(offset: i64) -> RemotingCommand {
    RemotingCommand::success().with_header(&OffsetResponseHeader { offset })
}

impl OffsetQueries {
    /// A group's committed offset. For a group with none: 0 while the queue
    /// still starts at 0 and that first message is young (in the memory window),
    /// or the queue is empty; else QUERY_NOT_FOUND, so that the client picks its
    /// own start (`consumeFromWhere`) instead of replaying a large backlog. A
    /// 5.x client's `setZeroIfNotFound=false` asks for QUERY_NOT_FOUND outright.
    pub(crate) fn query_consumer_offset(&self, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, QueryConsumerOffsetRequestHeader);
        if let Some(offset) = self.offsets.query(&h.consumer_group, &h.topic, h.queue_id).filter(|o| *o >= 0) {
            return offset_response(offset);
        }
        if h.set_zero_if_not_found == Some(false) {
            return reply(ResponseCode::QueryNotFound, "Not found, do not set to zero, maybe this group boot first");
        }
        let (min, max) = (
            self.store.min_offset_in_queue(&h.topic, h.queue_id),
            self.store.max_offset_in_queue(&h.topic, h.queue_id),
        );
        if min.0 == 0 && (max.0 == 0 || self.store.is_in_memory_window(&h.topic, h.queue_id, min)) {
            return offset_response(0);
        }
        reply(ResponseCode::QueryNotFound, "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first")
    }

    pub(crate) fn update_consumer_offset(&self, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, UpdateConsumerOffsetRequestHeader);
        self.offsets.commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
        // A client commits to a slave only while its master is away: remember it
        // for the master (see ha/slave_sync.rs).
        if let Some(sync) = &self.slave_sync {
            sync.note_commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
        }
        RemotingCommand::success()
    }

    pub(crate) fn max_offset(&self, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, QueueRequestHeader);
        offset_response(self.store.max_offset_in_queue(&h.topic, h.queue_id).as_i64())
    }

    pub(crate) fn min_offset(&self, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, QueueRequestHeader);
        offset_response(self.store.min_offset_in_queue(&h.topic, h.queue_id).as_i64())
    }

    pub(crate) fn earliest_store_time(&self, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, QueueRequestHeader);
        let timestamp = self.store.earliest_message_time_in_queue(&h.topic, h.queue_id).unwrap_or(-1);
        RemotingCommand::success().with_header(&TimestampResponseHeader { timestamp })
    }

    pub(crate) fn search_offset(&self, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, SearchOffsetRequestHeader);
        offset_response(self.store.offset_by_time(&h.topic, h.queue_id, h.timestamp).as_i64())
    }
}
