//! Offsets: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET (30), GET_MIN_OFFSET (31),
//! GET_EARLIEST_MSG_STORETIME (32).

use rmq_protocol::header::{
    OffsetResponseHeader, QueryConsumerOffsetRequestHeader, QueueRequestHeader, SearchOffsetRequestHeader,
    TimestampResponseHeader, UpdateConsumerOffsetRequestHeader,
};
use rmq_protocol::{RemotingCommand, ResponseCode};

use super::{header_or_reply, reply};
use crate::broker::Broker;

fn offset_response(offset: i64) -> RemotingCommand {
    RemotingCommand::success().with_header(&OffsetResponseHeader { offset })
}

/// A group's committed offset. For a group with none: 0 while the queue
/// still starts at 0 and that first message is young (in the memory window),
/// or the queue is empty; else QUERY_NOT_FOUND, so that the client picks its
/// own start (`consumeFromWhere`) instead of replaying a large backlog. A
/// 5.x client's `setZeroIfNotFound=false` asks for QUERY_NOT_FOUND outright.
pub(crate) fn query_consumer_offset(b: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, QueryConsumerOffsetRequestHeader);
    if let Some(offset) = b.offsets.query(&h.consumer_group, &h.topic, h.queue_id).filter(|o| *o >= 0) {
        return offset_response(offset);
    }
    if h.set_zero_if_not_found == Some(false) {
        return reply(ResponseCode::QueryNotFound, "Not found, do not set to zero, maybe this group boot first");
    }
    let (min, max) =
        (b.store.min_offset_in_queue(&h.topic, h.queue_id), b.store.max_offset_in_queue(&h.topic, h.queue_id));
    if min.0 == 0 && (max.0 == 0 || b.store.is_in_memory_window(&h.topic, h.queue_id, min)) {
        return offset_response(0);
    }
    reply(ResponseCode::QueryNotFound, "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first")
}

pub(crate) fn update_consumer_offset(b: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, UpdateConsumerOffsetRequestHeader);
    b.offsets.commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    // A client commits to a slave only while its master is away: remember it
    // for the master (see ha/slave_sync.rs).
    if let Some(sync) = b.ha.metadata() {
        sync.note_commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    }
    RemotingCommand::success()
}

pub(crate) fn max_offset(b: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, QueueRequestHeader);
    offset_response(b.store.max_offset_in_queue(&h.topic, h.queue_id).as_i64())
}

pub(crate) fn min_offset(b: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, QueueRequestHeader);
    offset_response(b.store.min_offset_in_queue(&h.topic, h.queue_id).as_i64())
}

pub(crate) fn earliest_store_time(b: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, QueueRequestHeader);
    let timestamp = b.store.earliest_message_time_in_queue(&h.topic, h.queue_id).unwrap_or(-1);
    RemotingCommand::success().with_header(&TimestampResponseHeader { timestamp })
}

pub(crate) fn search_offset(b: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, SearchOffsetRequestHeader);
    offset_response(b.store.offset_by_time(&h.topic, h.queue_id, h.timestamp).as_i64())
}
