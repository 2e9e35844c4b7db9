//! Statistics of topics, groups and queues: GET_TOPIC_STATS_INFO (202),
//! GET_CONSUME_STATS (208), QUERY_CONSUME_TIME_SPAN (303),
//! GET_BROKER_CONSUME_STATS (317), VIEW_BROKER_STATS_DATA (315) and
//! QUERY_CONSUME_QUEUE (321), computed as 4.9.8's `AdminBrokerProcessor` does.

use rmq_model::{QueueOffset, java, record};
use rmq_protocol::body::admin::{
    BrokerStatsData, BrokerStatsItem, ConsumeQueueData, ConsumeStats, ConsumeStatsList, OffsetWrapper,
    QueryConsumeQueueResponseBody, QueryConsumeTimeSpanBody, QueueTimeSpan, TopicOffset, TopicStatsTable,
};
use rmq_protocol::header::{
    GetBrokerConsumeStatsRequestHeader, GetConsumeStatsRequestHeader, QueryConsumeQueueRequestHeader,
    QueryConsumeTimeSpanRequestHeader, TopicRequestHeader, ViewBrokerStatsDataRequestHeader,
};
use rmq_protocol::{RemotingCommand, ResponseCode};
use std::collections::BTreeMap;

use super::{online_elsewhere, queue_of};
use crate::handlers::admin::Admin;
use crate::handlers::{header_or_reply, reply};
use crate::now_ms;
use crate::stats::topic_at_group;

/// The window of `consumeTps`: a minute, as Java's `tpsGroupGetNums`.
const CONSUME_TPS_WINDOW_MS: i64 = 60_000;

/// Store time of the message at `offset`, Java's -1 when there is none.
fn store_time(admin: &Admin, topic: &str, queue_id: i32, offset: i64) -> i64 {
    u64::try_from(offset)
        .ok()
        .and_then(|o| admin.store.message_store_time(topic, queue_id, QueueOffset(o)))
        .unwrap_or(-1)
}

fn max_offset(admin: &Admin, topic: &str, queue_id: i32) -> i64 {
    admin.store.max_offset_in_queue(topic, queue_id).as_i64()
}

pub(super) fn topic_stats(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, TopicRequestHeader);
    let Some(config) = admin.topics.get(&h.topic) else {
        return reply(ResponseCode::TopicNotExist, format!("topic[{}] not exist", h.topic));
    };
    let mut table = TopicStatsTable::default();
    for queue_id in 0..config.write_queue_nums as i32 {
        let min = admin.store.min_offset_in_queue(&h.topic, queue_id).as_i64();
        let max = max_offset(admin, &h.topic, queue_id);
        let last = if max > 0 { store_time(admin, &h.topic, queue_id, max - 1).max(0) } else { 0 };
        let offsets = TopicOffset { last_update_timestamp: last, max_offset: max, min_offset: min };
        table.offset_table.insert(queue_of(admin, &h.topic, queue_id), offsets);
    }
    RemotingCommand::success().with_body(table.encode())
}

/// One group's stats on the topics given (all its topics when `None`).
fn group_stats(admin: &Admin, group: &str, topics: &[String], only_ordered: bool) -> Vec<ConsumeStats> {
    let mut all = Vec::new();
    for topic in topics {
        let Some(config) = admin.topics.get(topic) else {
            tracing::warn!("consumeStats, topic config not exist, {topic}");
            continue;
        };
        if (only_ordered && !config.order) || online_elsewhere(admin, group, topic) {
            continue;
        }
        let consume_tps = admin.stats.group_get.rate(&topic_at_group(topic, group), now_ms(), CONSUME_TPS_WINDOW_MS);
        let mut stats = ConsumeStats { consume_tps, ..ConsumeStats::default() };
        for queue_id in 0..config.read_queue_nums as i32 {
            let broker_offset = max_offset(admin, topic, queue_id).max(0);
            let pull_offset = admin.offsets.query(group, topic, queue_id).unwrap_or(0).max(0);
            // A POP group's offset is where it pops; what it has not acked yet still counts as lag.
            let in_flight = admin.pop.in_flight(group, topic, queue_id) as i64;
            let consumer_offset = (pull_offset - in_flight).max(0);
            let last_timestamp =
                if consumer_offset > 0 { store_time(admin, topic, queue_id, consumer_offset - 1).max(0) } else { 0 };
            let wrapper = OffsetWrapper { broker_offset, consumer_offset, last_timestamp, pull_offset };
            stats.offset_table.insert(queue_of(admin, topic, queue_id), wrapper);
        }
        all.push(stats);
    }
    all
}

pub(super) fn consume_stats(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, GetConsumeStatsRequestHeader);
    let topics: Vec<String> = match (h.topic.as_deref().map(str::trim), h.topic_list.as_deref()) {
        (Some(topic), _) if !topic.is_empty() => vec![topic.to_owned()],
        (_, Some(list)) if !list.trim().is_empty() => {
            list.split(';').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
        }
        _ => admin.offsets.topics_of_group(&h.consumer_group),
    };
    let mut merged = ConsumeStats::default();
    for stats in group_stats(admin, &h.consumer_group, &topics, false) {
        merged.offset_table.extend(stats.offset_table);
        merged.consume_tps += stats.consume_tps;
    }
    RemotingCommand::success().with_body(merged.encode())
}

pub(super) fn consume_time_span(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, QueryConsumeTimeSpanRequestHeader);
    let Some(config) = admin.topics.get(&h.topic) else {
        return reply(ResponseCode::TopicNotExist, format!("topic[{}] not exist", h.topic));
    };
    let now = now_ms();
    let mut body = QueryConsumeTimeSpanBody::default();
    for queue_id in 0..config.write_queue_nums as i32 {
        let min_time = admin.store.earliest_message_time_in_queue(&h.topic, queue_id).unwrap_or(-1);
        let max = max_offset(admin, &h.topic, queue_id);
        let consumer_offset = admin.offsets.query(&h.group, &h.topic, queue_id).unwrap_or(-1);
        let consume_time =
            if consumer_offset > 0 { store_time(admin, &h.topic, queue_id, consumer_offset - 1) } else { min_time };
        let delay_time = if consumer_offset < max {
            let next = store_time(admin, &h.topic, queue_id, consumer_offset.max(0));
            if next > 0 { now - next } else { 0 }
        } else {
            0
        };
        body.consume_time_span_set.push(QueueTimeSpan {
            consume_time_stamp: consume_time,
            delay_time,
            max_time_stamp: store_time(admin, &h.topic, queue_id, max - 1),
            message_queue: queue_of(admin, &h.topic, queue_id),
            min_time_stamp: min_time,
        });
    }
    RemotingCommand::success().with_body(body.encode())
}

pub(super) fn broker_consume_stats(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, GetBrokerConsumeStatsRequestHeader);
    let mut list = ConsumeStatsList { broker_addr: admin.identity.broker_addr.clone(), ..ConsumeStatsList::default() };
    for group in admin.groups.snapshot().subscription_group_table.into_keys() {
        let topics = admin.offsets.topics_of_group(&group);
        let stats = group_stats(admin, &group, &topics, h.is_order);
        list.total_diff += stats.iter().map(ConsumeStats::total_diff).sum::<i64>();
        list.consume_stats_list.push(BTreeMap::from([(group, stats)]));
    }
    RemotingCommand::success().with_body(list.encode())
}

/// The statistics this broker keeps by name: Java's `BROKER_PUT_NUMS` and
/// `BROKER_GET_NUMS` (keyed by cluster name), `TOPIC_PUT_NUMS` (by topic) and
/// `GROUP_GET_NUMS` (by `topic@group`), the last two with a minute of history.
pub(super) fn broker_stats_data(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, ViewBrokerStatsDataRequestHeader);
    let now = now_ms();
    let rate: Box<dyn Fn(i64) -> f64 + '_> = match h.stats_name.as_str() {
        "BROKER_PUT_NUMS" => Box::new(|window_ms| admin.stats.put_nums.rate(now, window_ms)),
        "BROKER_GET_NUMS" => Box::new(|window_ms| admin.stats.get_transferred.rate(now, window_ms)),
        "GROUP_GET_NUMS" => Box::new(|window_ms| admin.stats.group_get.rate(&h.stats_key, now, window_ms)),
        "TOPIC_PUT_NUMS" => Box::new(|window_ms| admin.stats.topic_put.rate(&h.stats_key, now, window_ms)),
        _ => {
            return reply(
                ResponseCode::SystemError,
                format!("The stats <{}> <{}> not exist", h.stats_name, h.stats_key),
            );
        }
    };
    let item = |window_ms: i64| {
        let tps = rate(window_ms);
        BrokerStatsItem { avgpt: 0.0, sum: (tps * window_ms as f64 / 1000.0).round() as i64, tps }
    };
    let data = BrokerStatsData { stats_minute: item(60_000), stats_hour: item(600_000), stats_day: item(600_000) };
    RemotingCommand::success().with_body(data.encode())
}

/// A consume-queue dump. Entries are rebuilt from the records they point at:
/// size from the record, tag code from its `TAGS` (0 without tags).
pub(super) fn query_consume_queue(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, QueryConsumeQueueRequestHeader);
    let (min, max) =
        (admin.store.min_offset_in_queue(&h.topic, h.queue_id), admin.store.max_offset_in_queue(&h.topic, h.queue_id));
    if max.0 == 0 && !admin.store.topics().contains(&h.topic) {
        return reply(ResponseCode::SystemError, format!("{}@{} is not exist!", h.queue_id, h.topic));
    }
    let mut body = QueryConsumeQueueResponseBody {
        max_queue_index: max.as_i64(),
        min_queue_index: min.as_i64(),
        ..Default::default()
    };
    if let Some(group) = &h.consumer_group {
        body.subscription_data = admin.clients.subscription(group, &h.topic);
        if body.subscription_data.is_none() {
            body.filter_data = Some(format!("{group}@{} is not online!", h.topic));
        }
    }
    let start = u64::try_from(h.index).unwrap_or(0);
    if start < min.0 || start >= max.0 {
        let remark = format!("Index {} of {}@{} is not exist!", h.index, h.queue_id, h.topic);
        return RemotingCommand::response(ResponseCode::Success, Some(remark));
    }
    for index in start..max.0.min(start + h.count.max(0) as u64) {
        let Some(phy) = admin.store.commitlog_offset_in_queue(&h.topic, h.queue_id, QueueOffset(index)) else { break };
        let mut entry = ConsumeQueueData { physic_offset: phy.as_i64(), ..ConsumeQueueData::default() };
        match admin.store.message_at(phy).map(|rec| (rec.len(), tags_code(&rec))) {
            Some((size, code)) => {
                entry.physic_size = size as i32;
                entry.tags_code = code;
            }
            None => entry.msg = Some(format!("the record at {phy} is no longer stored")),
        }
        body.queue_data.push(entry);
    }
    RemotingCommand::success().with_body(body.encode())
}

fn tags_code(rec: &[u8]) -> i64 {
    record::decode_message(rec, false)
        .ok()
        .and_then(|view| view.property("TAGS").map(|t| java::string_hash_code(&String::from_utf8_lossy(t))))
        .map_or(0, i64::from)
}
