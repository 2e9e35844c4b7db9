//! OFFSET_MOVED_EVENT: every pull answered PULL_OFFSET_MOVED is recorded as
//! a message in the system topic `OFFSET_MOVED_EVENT` (queue 0, tags and keys
//! the consumer group), as Java's broker does, so that monitoring which
//! consumes that topic sees consumers whose offsets were corrected.

use rmq_model::properties::keys;
use rmq_model::record::NewMessage;
use rmq_model::{MessageQueue, topic};
use serde::Serialize;
use std::net::SocketAddr;

use crate::message_log::MessageLog;
use crate::namesrv::BrokerIdentity;
use crate::now_ms;

/// A pull of `group` on `topic`/`queue_id` at `requested`, moved to `moved_to`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OffsetMovedEvent<'a> {
    pub group: &'a str,
    pub topic: &'a str,
    pub queue_id: i32,
    pub requested: i64,
    pub moved_to: i64,
}

/// The event's body, in fastjson's (alphabetical) field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventBody<'a> {
    consumer_group: &'a str,
    message_queue: MessageQueue,
    offset_new: i64,
    offset_request: i64,
}

impl OffsetMovedEvent<'_> {
    /// Stores the event as a message of `OFFSET_MOVED_EVENT`. A failure is
    /// logged: the pull's answer stands.
    pub(crate) fn store(&self, store: &dyn MessageLog, identity: &BrokerIdentity) {
        let OffsetMovedEvent { group, topic: topic_name, queue_id, requested, moved_to } = *self;
        let event = EventBody {
            consumer_group: group,
            message_queue: MessageQueue::new(topic_name, identity.broker_name.clone(), queue_id),
            offset_new: moved_to,
            offset_request: requested,
        };
        let body = match serde_json::to_vec(&event) {
            Ok(body) => body,
            Err(e) => return tracing::warn!("offset moved event of {group}: {e}"),
        };
        let properties = format!("{}\u{1}{group}\u{2}{}\u{1}{group}\u{2}", keys::TAGS, keys::KEYS);
        let host: SocketAddr = identity.broker_addr.parse().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let msg = NewMessage {
            topic: topic::OFFSET_MOVED_EVENT,
            queue_id: 0,
            flag: 0,
            body: &body,
            properties: properties.as_bytes(),
            sys_flag: 0,
            born_timestamp: now_ms(),
            born_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        match store.put(&msg) {
            Ok(_) => tracing::warn!(
                "PULL_OFFSET_MOVED: group {group} pulled {topic_name}:{queue_id} at {requested}, moved to {moved_to}"
            ),
            Err(e) => tracing::warn!("offset moved event of {group} not stored: {e}"),
        }
    }
}
