//! Moving consumer offsets: INVOKE_BROKER_TO_RESET_OFFSET (222),
//! CLONE_GROUP_OFFSET (314) and QUERY_CORRECTION_OFFSET (308).

use rmq_protocol::body::admin::{QueryCorrectionOffsetBody, ResetOffsetBody};
use rmq_protocol::header::{
    CloneGroupOffsetRequestHeader, QueryCorrectionOffsetRequestHeader, ResetClientOffsetRequestHeader,
    ResetOffsetRequestHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::collections::{BTreeMap, BTreeSet};

use super::{online_elsewhere, queue_of};
use crate::handlers::admin::Admin;
use crate::handlers::{header_or_reply, reply};

/// Resets a group's offsets on a topic to the first message stored at or
/// after `timestamp` (-1: the end of each queue). Like Java, only an offset
/// moving backwards is applied unless `isForce`, and the group must be
/// online: offline groups get CONSUMER_NOT_ONLINE, on which `mqadmin` falls
/// back to committing offsets itself. The new offsets are committed here (as
/// 5.x brokers do) and pushed to every consumer of the group
/// (RESET_CONSUMER_CLIENT_OFFSET, oneway as in 4.9.8), which would otherwise
/// overwrite them with their own on the next commit.
pub(super) async fn reset_offset(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, ResetOffsetRequestHeader);
    let Some(config) = admin.topics.get(&h.topic) else {
        return reply(
            ResponseCode::SystemError,
            format!("[reset-offset] reset offset failed, no topic in this broker. topic={}", h.topic),
        );
    };
    let consumers = admin.clients.consumer_connections(&h.group);
    if consumers.is_empty() {
        return reply(
            ResponseCode::ConsumerNotOnline,
            format!(
                "Consumer not online, so can not reset offset, Group: {} Topic: {} Timestamp: {}",
                h.group, h.topic, h.timestamp
            ),
        );
    }
    let mut body = ResetOffsetBody::default();
    for queue_id in 0..config.write_queue_nums as i32 {
        if h.queue_id.is_some_and(|only| only >= 0 && only != queue_id) {
            continue;
        }
        let target = match (h.offset, h.timestamp) {
            (Some(offset), _) if h.queue_id.is_some_and(|q| q >= 0) && offset >= 0 => offset,
            (_, -1) => admin.store.max_offset_in_queue(&h.topic, queue_id).as_i64(),
            (_, ts) => admin.store.offset_by_time(&h.topic, queue_id, ts).as_i64(),
        };
        let current = admin.offsets.query(&h.group, &h.topic, queue_id);
        let offset = match current {
            Some(current) if !h.is_force && target >= current => current,
            _ => target,
        };
        admin.offsets.commit(&h.group, &h.topic, queue_id, offset);
        body.offset_table.insert(queue_of(admin, &h.topic, queue_id), offset);
    }
    admin.offsets.persist();
    tracing::info!(
        "[reset-offset] group {} topic {} timestamp {}: {:?}",
        h.group,
        h.topic,
        h.timestamp,
        body.offset_table
    );

    let header = ResetClientOffsetRequestHeader {
        topic: h.topic.clone(),
        group: h.group.clone(),
        timestamp: h.timestamp,
        is_force: h.is_force,
    };
    let encoded = body.encode();
    for conn in consumers {
        let push = RemotingCommand::request(RequestCode::ResetConsumerClientOffset, &header).with_body(encoded.clone());
        if let Err(e) = conn.oneway(push).await {
            tracing::warn!("[reset-offset] telling {} failed: {e}", conn.remote_addr());
        }
    }
    RemotingCommand::success().with_body(encoded)
}

pub(super) fn clone_group_offset(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, CloneGroupOffsetRequestHeader);
    let topics = match h.topic.as_deref().map(str::trim) {
        Some(topic) if !topic.is_empty() => vec![topic.to_owned()],
        _ => admin.offsets.topics_of_group(&h.src_group),
    };
    for topic in topics {
        if !admin.topics.contains(&topic) {
            tracing::warn!("[cloneGroupOffset], topic config not exist, {topic}");
            continue;
        }
        if !h.offline.unwrap_or(false) && online_elsewhere(admin, &h.src_group, &topic) {
            tracing::warn!("[cloneGroupOffset], the consumer group[{}], topic[{topic}] not exist", h.src_group);
            continue;
        }
        admin.offsets.clone_group(&h.src_group, &h.dest_group, Some(&topic));
    }
    admin.offsets.persist();
    RemotingCommand::success()
}

/// Per queue, the lowest offset of the topic's groups (those in
/// `filterGroups` left out); `Long.MAX_VALUE` where `compareGroup` is behind
/// that offset.
pub(super) fn correction_offset(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, QueryCorrectionOffsetRequestHeader);
    let filtered: BTreeSet<&str> =
        h.filter_groups.as_deref().unwrap_or("").split(',').map(str::trim).filter(|g| !g.is_empty()).collect();
    let mut lowest: BTreeMap<i32, i64> = BTreeMap::new();
    for group in admin.offsets.groups_of_topic(&h.topic) {
        if filtered.contains(group.as_str()) {
            continue;
        }
        for (queue_id, offset) in admin.offsets.queues(&group, &h.topic) {
            lowest.entry(queue_id).and_modify(|low| *low = (*low).min(offset)).or_insert(offset);
        }
    }
    for (queue_id, compare) in admin.offsets.queues(&h.compare_group, &h.topic) {
        if let Some(low) = lowest.get_mut(&queue_id).filter(|low| **low > compare) {
            *low = i64::MAX;
        }
    }
    RemotingCommand::success().with_body(QueryCorrectionOffsetBody { correction_offsets: lowest }.encode())
}
