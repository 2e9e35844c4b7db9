//! Store maintenance and single-item lookups: CLEAN_EXPIRED_CONSUMEQUEUE
//! (306), CLEAN_UNUSED_TOPIC (316), DELETE_EXPIRED_COMMITLOG (329), and the
//! 5.x GET_TOPIC_CONFIG (351), GET_SUBSCRIPTIONGROUP_CONFIG (352) and
//! UPDATE_AND_CREATE_TOPIC_LIST (18).

use rmq_model::{QueueOffset, fastjson, topic as topics};
use rmq_protocol::body::admin::{CreateTopicListRequestBody, encode_group_config};
use rmq_protocol::header::{GetSubscriptionGroupConfigRequestHeader, GetTopicConfigRequestHeader};
use rmq_protocol::{RemotingCommand, ResponseCode};

use crate::handlers::admin::Admin;
use crate::handlers::{header_or_reply, reply};
use crate::now_ms;

/// Topics whose consume queues must stay even without a topic config.
fn kept_without_config(topic: &str) -> bool {
    topic == topics::SCHEDULE_TOPIC || topic == topics::TRANS_OP_HALF_TOPIC || topic == topics::TRANS_HALF_TOPIC
}

/// Drops the consume queues of topics whose every message is gone from the
/// CommitLog (Java removes such queues one by one; the store removes whole
/// topics, so a topic goes once all its known queues have expired).
pub(super) fn clean_expired_consume_queues(admin: &Admin) -> RemotingCommand {
    let commitlog_min = admin.store.min_physical_offset();
    for topic in admin.store.topics() {
        if topic == topics::SCHEDULE_TOPIC {
            continue;
        }
        let queues = admin.topics.get(&topic).map_or(0, |c| c.read_queue_nums.max(c.write_queue_nums) as i32);
        let expired = (0..queues.max(1)).all(|queue_id| {
            let max = admin.store.max_offset_in_queue(&topic, queue_id);
            max.0 == 0
                || admin
                    .store
                    .commitlog_offset_in_queue(&topic, queue_id, QueueOffset(max.0 - 1))
                    .is_none_or(|last| last < commitlog_min)
        });
        let has_data = (0..queues.max(1)).any(|queue_id| admin.store.max_offset_in_queue(&topic, queue_id).0 > 0);
        if expired && has_data {
            tracing::info!("cleanExpiredConsumerQueue: topic {topic} has no message left in the CommitLog");
            if let Err(e) = admin.store.delete_topic(&topic) {
                return reply(ResponseCode::SystemError, format!("cleaning the consume queues of {topic} failed: {e}"));
            }
        }
    }
    RemotingCommand::success()
}

/// Drops the consume queues of topics the broker no longer has a config for.
pub(super) fn clean_unused_topics(admin: &Admin) -> RemotingCommand {
    for topic in admin.store.topics() {
        if admin.topics.contains(&topic) || kept_without_config(&topic) {
            continue;
        }
        tracing::info!("cleanUnusedTopic: removing the consume queues of {topic}");
        if let Err(e) = admin.store.delete_topic(&topic) {
            return reply(ResponseCode::SystemError, format!("cleaning the consume queues of {topic} failed: {e}"));
        }
    }
    RemotingCommand::success()
}

/// Deletes expired CommitLog files now, whatever the `deleteWhen` hour (the
/// cleaner runs the round; this returns at once, as Java's does).
pub(super) fn delete_expired_commitlog(admin: &Admin) -> RemotingCommand {
    admin.store.request_retention();
    RemotingCommand::success()
}

pub(super) fn topic_config(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, GetTopicConfigRequestHeader);
    match admin.topics.get(&h.topic) {
        Some(config) => RemotingCommand::success().with_body(fastjson::to_vec(&*config)),
        None => reply(ResponseCode::TopicNotExist, format!("No topic in this broker. topic: {}", h.topic)),
    }
}

pub(super) fn group_config(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, GetSubscriptionGroupConfigRequestHeader);
    match admin.groups.get(&h.group) {
        Some(config) => RemotingCommand::success().with_body(encode_group_config(&config)),
        None => reply(ResponseCode::SubscriptionGroupNotExist, "No group in this broker"),
    }
}

pub(super) fn create_topic_list(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    if !admin.is_master {
        return reply(
            ResponseCode::SystemError,
            "Can't modify topic or subscription group from slave broker, please execute it from master broker.",
        );
    }
    let body = match CreateTopicListRequestBody::decode(&req.body.to_bytes()) {
        Ok(body) => body,
        Err(e) => return reply(ResponseCode::SystemError, format!("the topic list body is not valid: {e}")),
    };
    let mut configs = body.topic_config_list;
    for config in &mut configs {
        if let Err(e) = topics::validate_topic_name(&config.topic_name) {
            return reply(ResponseCode::InvalidParameter, e.to_string());
        }
        if admin.topics.is_system_topic(&config.topic_name) {
            return reply(
                ResponseCode::InvalidParameter,
                format!("The topic[{}] is conflict with system topic.", config.topic_name),
            );
        }
        // Each topic's attributes are a modification (`+key`, `-key`), applied
        // with the rules of UPDATE_AND_CREATE_TOPIC; one refused, none is stored.
        match crate::handlers::admin::altered_attributes(admin, &config.topic_name, &config.attributes) {
            Ok(attributes) => config.attributes = attributes,
            Err(refusal) => return refusal,
        }
    }
    let now = now_ms();
    let mut changed = false;
    for config in configs {
        changed |= admin.topics.upsert(config, now);
    }
    if changed {
        admin.topics.changed();
    }
    RemotingCommand::success()
}
