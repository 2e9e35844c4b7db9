//! Client management: HEART_BEAT (34), UNREGISTER_CLIENT (35),
//! GET_CONSUMER_LIST_BY_GROUP (38), CHECK_CLIENT_CONFIG (46).

use rmq_model::{fastjson, perm, topic as topics};
use rmq_protocol::body::heartbeat::{CheckClientRequestBody, ConsumerIdList, HeartbeatData};
use rmq_protocol::header::{ConsumerGroupRequestHeader, UnregisterClientRequestHeader};
use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_remoting::Connection;
use std::sync::Arc;

use super::{header_or_reply, reply};
use crate::clients::{ClientOrigin, Clients};
use crate::live_config::LiveConfig;
use crate::lock::QueueLocks;
use crate::notify::ConsumerNotifier;
use crate::now_ms;
use crate::tables::{SubscriptionGroups, TopicTable};

/// Who the broker's clients are: heartbeats and unregistrations, consumer
/// lists, subscription checks and the queue locks of orderly consumers.
#[derive(Debug)]
pub(crate) struct Membership {
    pub clients: Arc<Clients>,
    /// Groups are created on first heartbeat (`autoCreateSubscriptionGroup`).
    pub groups: Arc<SubscriptionGroups>,
    /// Each consumer group's retry topic is made on its first heartbeat.
    pub topics: Arc<TopicTable>,
    pub config: Arc<LiveConfig>,
    pub notifier: Arc<ConsumerNotifier>,
    pub locks: QueueLocks,
}

impl Membership {
    pub(crate) fn heartbeat(&self, conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
        let data: HeartbeatData = match fastjson::from_slice(&req.body.to_bytes()) {
            Ok(d) => d,
            Err(e) => return reply(ResponseCode::SystemError, format!("the heartbeat body is not valid: {e}")),
        };
        let now = now_ms();
        let auto_group = self.config.get().auto_create_groups();
        let mut topics_changed = false;
        let mut groups_changed = false;
        for consumer in &data.consumer_data_set {
            let Ok((group, created)) = self.groups.find_or_create(&consumer.group_name, auto_group, now) else {
                continue;
            };
            groups_changed |= created;
            // Retry topics are made here so that a consumer group is routable
            // (mqadmin finds groups through their retry topic) before any retry.
            let queues = group.retry_queue_nums.max(1);
            let (_, new) =
                self.topics.get_or_create(&topics::retry_topic(&consumer.group_name), queues, perm::READ_WRITE, now);
            topics_changed |= new;
        }
        if groups_changed {
            self.groups.persist();
        }
        if topics_changed {
            self.topics.changed();
        }
        let origin = ClientOrigin { conn: conn.clone(), language: req.language, version: req.version };
        for group in self.clients.heartbeat(&origin, &data, now) {
            tracing::info!(
                "consumer group {group} changed: client {} joined or changed its subscription",
                data.client_id
            );
            self.notifier.group_changed(&group);
        }
        RemotingCommand::success()
    }

    pub(crate) fn unregister(&self, conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, UnregisterClientRequestHeader);
        let producer = h.producer_group.as_deref().filter(|g| !g.is_empty());
        let consumer = h.consumer_group.as_deref().filter(|g| !g.is_empty());
        for group in self.clients.unregister(conn.id(), &h.client_id, producer, consumer) {
            tracing::info!("client {} left consumer group {group}", h.client_id);
            self.notifier.group_changed(&group);
        }
        RemotingCommand::success()
    }

    pub(crate) fn consumer_list(&self, req: &RemotingCommand) -> RemotingCommand {
        let h = header_or_reply!(req, ConsumerGroupRequestHeader);
        let ids = self.clients.consumer_ids(&h.consumer_group);
        if ids.is_empty() {
            return reply(ResponseCode::SystemError, format!("no consumer for this group, {}", h.consumer_group));
        }
        RemotingCommand::success().with_body(fastjson::to_vec(&ConsumerIdList { consumer_id_list: ids }))
    }

    /// CHECK_CLIENT_CONFIG: tag subscriptions are always fine; others need
    /// `enablePropertyFilter` and an expression that parses (see `filter`).
    pub(crate) fn check_client_config(&self, req: &RemotingCommand) -> RemotingCommand {
        let body: CheckClientRequestBody = match fastjson::from_slice(&req.body.to_bytes()) {
            Ok(body) => body,
            Err(e) => return reply(ResponseCode::SystemError, format!("the request body is not valid: {e}")),
        };
        let property_filter = self.config.get().enable_property_filter;
        match body.subscription_data.and_then(|sub| crate::filter::check_subscription(property_filter, &sub)) {
            Some(refusal) => refusal,
            None => RemotingCommand::success(),
        }
    }
}
