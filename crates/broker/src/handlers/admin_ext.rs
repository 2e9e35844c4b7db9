//! The admin requests of `mqadmin` beyond topics and configs (issue 5 item 4,
//! §2.6): statistics, connections, offset resets and clones, relays to
//! clients, store maintenance and the 5.x single-item lookups. Every code not
//! handled elsewhere ends here; codes nobody serves answer
//! REQUEST_CODE_NOT_SUPPORTED.
//!
//! * [`stats`]: GET_TOPIC_STATS_INFO, GET_CONSUME_STATS, QUERY_CONSUME_TIME_SPAN,
//!   GET_BROKER_CONSUME_STATS, VIEW_BROKER_STATS_DATA, QUERY_CONSUME_QUEUE;
//! * [`connections`]: GET_CONSUMER_CONNECTION_LIST, GET_PRODUCER_CONNECTION_LIST,
//!   GET_ALL_PRODUCER_INFO, QUERY_TOPIC_CONSUME_BY_WHO;
//! * [`offsets`]: INVOKE_BROKER_TO_RESET_OFFSET, CLONE_GROUP_OFFSET,
//!   QUERY_CORRECTION_OFFSET;
//! * [`relay`]: GET_CONSUMER_RUNNING_INFO, CONSUME_MESSAGE_DIRECTLY and
//!   INVOKE_BROKER_TO_GET_CONSUMER_STATUS, passed on to the clients;
//! * [`maintenance`]: CLEAN_EXPIRED_CONSUMEQUEUE, CLEAN_UNUSED_TOPIC,
//!   DELETE_EXPIRED_COMMITLOG, GET_TOPIC_CONFIG, GET_SUBSCRIPTIONGROUP_CONFIG,
//!   UPDATE_AND_CREATE_TOPIC_LIST.

mod connections;
mod maintenance;
mod offsets;
mod relay;
mod stats;

use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_remoting::{Connection, not_supported};
use std::sync::Arc;

use crate::broker::Broker;

pub(crate) async fn handle(b: &Arc<Broker>, _conn: &Connection, req: RemotingCommand) -> RemotingCommand {
    use RequestCode::*;
    match req.request_code() {
        GetTopicStatsInfo => stats::topic_stats(b, &req),
        GetConsumeStats => stats::consume_stats(b, &req),
        QueryConsumeTimeSpan => stats::consume_time_span(b, &req),
        GetBrokerConsumeStats => stats::broker_consume_stats(b, &req),
        ViewBrokerStatsData => stats::broker_stats_data(b, &req),
        QueryConsumeQueue => stats::query_consume_queue(b, &req),
        GetConsumerConnectionList => connections::consumer_connections(b, &req),
        GetProducerConnectionList => connections::producer_connections(b, &req),
        GetAllProducerInfo => connections::all_producers(b),
        QueryTopicConsumeByWho => connections::topic_consumed_by(b, &req),
        InvokeBrokerToResetOffset => offsets::reset_offset(b, &req).await,
        CloneGroupOffset => offsets::clone_group_offset(b, &req),
        QueryCorrectionOffset => offsets::correction_offset(b, &req),
        GetConsumerRunningInfo | ConsumeMessageDirectly => relay::to_consumer(b, req).await,
        InvokeBrokerToGetConsumerStatus => relay::consumer_status(b, &req).await,
        CleanExpiredConsumequeue => maintenance::clean_expired_consume_queues(b),
        CleanUnusedTopic => maintenance::clean_unused_topics(b),
        DeleteExpiredCommitlog => maintenance::delete_expired_commitlog(b),
        GetTopicConfig => maintenance::topic_config(b, &req),
        GetSubscriptionGroupConfig => maintenance::group_config(b, &req),
        UpdateAndCreateTopicList => maintenance::create_topic_list(b, &req),
        _ => not_supported(&req),
    }
}

/// The queue of `topic` numbered `queue_id` on this broker, as bodies name it.
fn queue_of(b: &Broker, topic: &str, queue_id: i32) -> rmq_model::MessageQueue {
    rmq_model::MessageQueue::new(topic, b.identity.broker_name.clone(), queue_id)
}

/// Whether `group` has online consumers that do not subscribe to `topic`
/// (Java then leaves the topic out of the group's statistics).
fn online_elsewhere(b: &Broker, group: &str, topic: &str) -> bool {
    b.clients.consumer_group(group).is_some_and(|g| !g.subscriptions.is_empty() && !g.subscriptions.contains_key(topic))
}
