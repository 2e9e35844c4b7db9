//! Message lookups: QUERY_MESSAGE (12) by key or unique key, and
//! VIEW_MESSAGE_BY_ID (33) by CommitLog offset. Both answer with stored
//! records exactly as they lie on disk, and only records of the topic the
//! caller may read: the index is hashed, so a key query also finds other
//! topics' records, which are left out; a lookup by offset is put to the ACL
//! with the topic the record names.

use rmq_model::{PhysicalOffset, record};
use rmq_protocol::header::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, UNIQUE_KEY_QUERY, ViewMessageRequestHeader,
};
use rmq_protocol::{Body, RemotingCommand, ResponseCode};
use rmq_store::MessageStore;
use std::sync::Arc;

use super::{ReadGate, header_or_reply, reply, vouched_topic};
use crate::live_config::LiveConfig;

/// Lookups of stored messages for tools (`mqadmin queryMsgByKey`, `…ById`).
#[derive(Debug)]
pub(crate) struct MessageQueries {
    pub store: Arc<MessageStore>,
    /// `defaultQueryMaxNum`, `maxMsgsNumBatch`.
    pub config: Arc<LiveConfig>,
}

impl MessageQueries {
    pub(crate) fn query_message(&self, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, QueryMessageRequestHeader);
        let unique = req.ext(UNIQUE_KEY_QUERY).is_some_and(|v| v == "true");
        let config = self.config.get();
        let asked = if unique { config.default_query_max_num as usize } else { h.max_num.max(1) as usize };
        // Java's IndexService caps every key query so; an unbounded maxNum
        // would make one request gather records without limit.
        let max = asked.min(config.max_msgs_num_batch.max(1) as usize);
        let mut found = self.store.query_by_key(&h.topic, &h.key, max, h.begin_timestamp, h.end_timestamp);
        found.messages.retain(|r| record::decode_message(r, false).is_ok_and(|m| m.topic == h.topic));
        if found.messages.is_empty() {
            return reply(ResponseCode::QueryNotFound, "can not find message, maybe time range not correct");
        }
        let header = QueryMessageResponseHeader {
            index_last_update_timestamp: found.index_last_update_timestamp,
            index_last_update_phyoffset: found.index_last_update_phy_offset,
        };
        RemotingCommand::success().with_header(&header).with_body(Body::Chunks(found.messages))
    }

    /// VIEW_MESSAGE_BY_ID. With a `gate` (ACL on) the record's topic is
    /// trusted only if the record is a real one — its consume-queue entry
    /// points back at it: bytes inside a message body may be shaped like a
    /// record naming any topic and spanning the records that follow. The
    /// gate decides about records nothing vouches for (a forgery, or a
    /// record whose topic was deleted) too.
    pub(crate) fn view_message(&self, req: &RemotingCommand, gate: Option<ReadGate<'_>>) -> RemotingCommand {
        let h = header_or_reply!(req, ViewMessageRequestHeader);
        let not_found =
            || reply(ResponseCode::SystemError, format!("can not find message by the offset, {}", h.offset));
        let Some(offset) = u64::try_from(h.offset).ok() else {
            return not_found();
        };
        let Some(found) = self.store.message_at(PhysicalOffset(offset)) else {
            return not_found();
        };
        if let Some(gate) = gate
            && let Some(refusal) =
                gate(vouched_topic(&found, offset, |t, q, o| self.store.commitlog_offset_in_queue(t, q, o)).as_deref())
        {
            return refusal;
        }
        RemotingCommand::success().with_body(found)
    }
}
