//! The admin requests of `mqadmin` beyond topics and configs (Java's
//! `AdminBrokerProcessor`): statistics, connections, offset resets and clones, relays to
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
use rmq_remoting::not_supported;

use super::admin::Admin;

pub(crate) async fn handle(admin: &Admin, req: RemotingCommand) -> RemotingCommand {
    use RequestCode::*;
    match req.request_code() {
        GetTopicStatsInfo => stats::topic_stats(admin, &req),
        GetConsumeStats => stats::consume_stats(admin, &req),
        QueryConsumeTimeSpan => stats::consume_time_span(admin, &req),
        GetBrokerConsumeStats => stats::broker_consume_stats(admin, &req),
        ViewBrokerStatsData => stats::broker_stats_data(admin, &req),
        QueryConsumeQueue => stats::query_consume_queue(admin, &req),
        GetConsumerConnectionList => connections::consumer_connections(admin, &req),
        GetProducerConnectionList => connections::producer_connections(admin, &req),
        GetAllProducerInfo => connections::all_producers(admin),
        QueryTopicConsumeByWho => connections::topic_consumed_by(admin, &req),
        InvokeBrokerToResetOffset => offsets::reset_offset(admin, &req).await,
        CloneGroupOffset => offsets::clone_group_offset(admin, &req),
        QueryCorrectionOffset => offsets::correction_offset(admin, &req),
        GetConsumerRunningInfo | ConsumeMessageDirectly => relay::to_consumer(admin, req).await,
        InvokeBrokerToGetConsumerStatus => relay::consumer_status(admin, &req).await,
        CleanExpiredConsumequeue => maintenance::clean_expired_consume_queues(admin),
        CleanUnusedTopic => maintenance::clean_unused_topics(admin),
        DeleteExpiredCommitlog => maintenance::delete_expired_commitlog(admin),
        GetTopicConfig => maintenance::topic_config(admin, &req),
        GetSubscriptionGroupConfig => maintenance::group_config(admin, &req),
        UpdateAndCreateTopicList => maintenance::create_topic_list(admin, &req),
        _ => not_supported(&req),
    }
}

/// The queue of `topic` numbered `queue_id` on this broker, as bodies name it.
fn queue_of(admin: &Admin, topic: &str, queue_id: i32) -> rmq_model::MessageQueue {
    rmq_model::MessageQueue::new(topic, admin.identity.broker_name.clone(), queue_id)
}

/// Whether `group` has online consumers that do not subscribe to `topic`
/// (Java then leaves the topic out of the group's statistics).
fn online_elsewhere(admin: &Admin, group: &str, topic: &str) -> bool {
    admin
        .clients
        .consumer_group(group)
        .is_some_and(|g| !g.subscriptions.is_empty() && !g.subscriptions.contains_key(topic))
}
