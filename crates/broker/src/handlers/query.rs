//! Message lookups: QUERY_MESSAGE (12) by key or unique key, and
//! VIEW_MESSAGE_BY_ID (33) by CommitLog offset. Both answer with stored
//! records exactly as they lie on disk.

use rmq_model::PhysicalOffset;
use rmq_protocol::header::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, UNIQUE_KEY_QUERY, ViewMessageRequestHeader,
};
use rmq_protocol::{Body, RemotingCommand, ResponseCode};
use rmq_store::MessageStore;
use std::sync::Arc;

use super::{header_or_reply, reply};
use crate::live_config::LiveConfig;

/// Lookups of stored messages for tools (`mqadmin queryMsgByKey`, `…ById`).
#[derive(Debug)]
pub(crate) struct MessageQueries {
    pub store: Arc<MessageStore>,
    /// `defaultQueryMaxNum`.
    pub config: Arc<LiveConfig>,
}

impl MessageQueries {
    pub(crate) fn query_message(&self, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, QueryMessageRequestHeader);
        let unique = req.ext(UNIQUE_KEY_QUERY).is_some_and(|v| v == "true");
        let max = if unique { self.config.get().default_query_max_num as usize } else { h.max_num.max(1) as usize };
        let found = self.store.query_by_key(&h.topic, &h.key, max, h.begin_timestamp, h.end_timestamp);
        if found.messages.is_empty() {
            return reply(ResponseCode::QueryNotFound, "can not find message, maybe time range not correct");
        }
        let header = QueryMessageResponseHeader {
            index_last_update_timestamp: found.index_last_update_timestamp,
            index_last_update_phyoffset: found.index_last_update_phy_offset,
        };
        RemotingCommand::success().with_header(&header).with_body(Body::Chunks(found.messages))
    }

    pub(crate) fn view_message(&self, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, ViewMessageRequestHeader);
        let record = u64::try_from(h.offset).ok().and_then(|o| self.store.message_at(PhysicalOffset(o)));
        match record {
            Some(record) => RemotingCommand::success().with_body(record),
            None => reply(ResponseCode::SystemError, format!("can not find message by the offset, {}", h.offset)),
        }
    }
}
