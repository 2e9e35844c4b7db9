//! The admin requests of topics, groups and configuration that `mqadmin` and
//! slaves send: UPDATE_AND_CREATE_TOPIC (17), DELETE_TOPIC_IN_BROKER (215),
//! GET_ALL_TOPIC_CONFIG (21), UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200),
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), DELETE_SUBSCRIPTIONGROUP (207),
//! GET_ALL_CONSUMER_OFFSET (43), GET_BROKER_CONFIG (26), UPDATE_BROKER_CONFIG
//! (25), GET_BROKER_RUNTIME_INFO (28), GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305).

use rmq_model::{SubscriptionGroupConfig, TopicConfig, TopicFilterType, fastjson, topic as topics};
use rmq_protocol::body::kv::KvTable;
use rmq_protocol::body::topic_list::TopicList;
use rmq_protocol::header::{
    CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader, GetBrokerConfigResponseHeader, TopicRequestHeader,
};
use rmq_protocol::{RemotingCommand, ResponseCode};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::{header_or_reply, reply};
use crate::broker::Broker;
use crate::now_ms;

/// Java's answer to metadata changes sent to a slave.
const SLAVE_GUARD: &str =
    "Can't modify topic or subscription group from slave broker, please execute it from master broker.";

fn slave_guard(b: &Broker) -> Option<RemotingCommand> {
    (!b.is_master()).then(|| reply(ResponseCode::SystemError, SLAVE_GUARD))
}

pub(crate) fn create_topic(b: &Arc<Broker>, req: &RemotingCommand) -> RemotingCommand {
    if let Some(refusal) = slave_guard(b) {
        return refusal;
    }
    let h = header_or_reply!(req, CreateTopicRequestHeader);
    if let Err(e) = topics::validate_topic_name(&h.topic) {
        return reply(ResponseCode::SystemError, e.to_string());
    }
    if b.topics.is_system_topic(&h.topic) {
        return reply(ResponseCode::SystemError, format!("The topic[{}] is conflict with system topic.", h.topic));
    }
    if h.read_queue_nums <= 0 || h.write_queue_nums <= 0 {
        return reply(ResponseCode::SystemError, "readQueueNums and writeQueueNums must be positive");
    }
    let config = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums as u32,
        write_queue_nums: h.write_queue_nums as u32,
        perm: h.perm.max(0) as u32,
        topic_filter_type: TopicFilterType::parse_lenient(h.topic_filter_type.as_deref().unwrap_or("")),
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order.unwrap_or(false),
        attributes: BTreeMap::new(),
    };
    if b.topics.upsert(config, now_ms()) {
        tracing::info!("topic {} created or updated by {}", h.topic, req.language.name());
        b.topics_changed();
    }
    RemotingCommand::success()
}

pub(crate) fn delete_topic(b: &Arc<Broker>, req: &RemotingCommand) -> RemotingCommand {
    if let Some(refusal) = slave_guard(b) {
        return refusal;
    }
    let h = header_or_reply!(req, TopicRequestHeader);
    if b.topics.is_system_topic(&h.topic) {
        return reply(ResponseCode::SystemError, format!("The topic[{}] is conflict with system topic.", h.topic));
    }
    if b.topics.remove(&h.topic, now_ms()).is_some() {
        b.topics_changed();
    }
    b.offsets.remove_topic(&h.topic);
    b.pulls.remove_topic(&h.topic);
    if let Err(e) = b.store.delete_topic(&h.topic) {
        tracing::warn!("deleting the consume queues of {} failed: {e}", h.topic);
    }
    RemotingCommand::success()
}

pub(crate) fn all_topic_config(b: &Broker) -> RemotingCommand {
    let snapshot = b.topics.snapshot();
    if snapshot.topic_config_table.is_empty() {
        return reply(ResponseCode::SystemError, "No topic in this broker");
    }
    RemotingCommand::success().with_body(fastjson::to_vec(&snapshot))
}

pub(crate) fn create_group(b: &Arc<Broker>, req: &RemotingCommand) -> RemotingCommand {
    if let Some(refusal) = slave_guard(b) {
        return refusal;
    }
    let config: SubscriptionGroupConfig = match fastjson::from_slice(&req.body.to_bytes()) {
        Ok(c) => c,
        Err(e) => return reply(ResponseCode::SystemError, format!("the subscription group body is not valid: {e}")),
    };
    if config.group_name.trim().is_empty() {
        return reply(ResponseCode::SystemError, "the subscription group name is blank");
    }
    b.groups.upsert(config, now_ms());
    b.persist_groups();
    RemotingCommand::success()
}

pub(crate) fn all_group_config(b: &Broker) -> RemotingCommand {
    RemotingCommand::success().with_body(fastjson::to_vec(&b.groups.snapshot()))
}

pub(crate) fn delete_group(b: &Arc<Broker>, req: &RemotingCommand) -> RemotingCommand {
    if let Some(refusal) = slave_guard(b) {
        return refusal;
    }
    let h = header_or_reply!(req, DeleteSubscriptionGroupRequestHeader);
    b.groups.remove(&h.group_name, now_ms());
    b.persist_groups();
    if h.remove_offset == Some(true) || h.clean_offset == Some(true) {
        b.offsets.remove_group(&h.group_name);
        b.persist_offsets();
    }
    RemotingCommand::success()
}

pub(crate) fn all_consumer_offsets(b: &Broker) -> RemotingCommand {
    let snapshot = b.offsets.snapshot();
    if snapshot.offset_table.is_empty() {
        return reply(ResponseCode::SystemError, "No consumer offset in this broker");
    }
    RemotingCommand::success().with_body(fastjson::to_vec(&snapshot))
}

pub(crate) fn all_delay_offsets(b: &Broker) -> RemotingCommand {
    if b.delay_offsets.is_empty() {
        return reply(ResponseCode::SystemError, "No delay offset in this broker");
    }
    RemotingCommand::success().with_body(fastjson::to_vec(&b.delay_offsets.snapshot()))
}

/// GET_BROKER_CONFIG: every key of the broker and its store, `key=value` lines.
pub(crate) fn broker_config(b: &Broker) -> RemotingCommand {
    let text = b.config_text();
    let version = fastjson::to_string(&b.topics.data_version());
    RemotingCommand::success().with_header(&GetBrokerConfigResponseHeader { version }).with_body(text)
}

/// UPDATE_BROKER_CONFIG: properties text; keys in `configBlackList` are refused.
pub(crate) fn update_broker_config(b: &Arc<Broker>, req: &RemotingCommand) -> RemotingCommand {
    let body = req.body.to_bytes();
    let text = String::from_utf8_lossy(&body);
    let pairs: Vec<(String, String)> = match java_properties::read(text.as_bytes()) {
        Ok(map) => map.into_iter().collect(),
        Err(e) => return reply(ResponseCode::SystemError, format!("the config body is not properties text: {e}")),
    };
    const BLACK_LIST: [&str; 2] = ["configBlackList", "brokerConfigPath"];
    if let Some((key, _)) = pairs.iter().find(|(k, _)| BLACK_LIST.contains(&k.as_str())) {
        return reply(ResponseCode::NoPermission, format!("Can not update config in black list: {key}"));
    }
    let mut changed_permission = false;
    let mut refused = Vec::new();
    b.update_config(|c| {
        for (key, value) in &pairs {
            let before = c.broker_permission;
            match c.apply(key, value) {
                Ok(rmq_model::config::Applied::Set) => changed_permission |= c.broker_permission != before,
                Ok(rmq_model::config::Applied::Unknown) => refused.push(format!("{key} (not changeable at runtime)")),
                Err(e) => refused.push(e.to_string()),
            }
        }
    });
    if changed_permission {
        b.topics_changed();
    }
    if refused.is_empty() {
        RemotingCommand::success()
    } else {
        reply(ResponseCode::SystemError, format!("some keys were not updated: {}", refused.join("; ")))
    }
}

pub(crate) fn runtime_info(b: &Broker) -> RemotingCommand {
    let table = KvTable::from(b.runtime_info());
    RemotingCommand::success().with_body(table.encode())
}

pub(crate) fn system_topics(b: &Broker) -> RemotingCommand {
    let list = TopicList { topic_list: b.topics.system_topic_names().into_iter().collect(), broker_addr: None };
    RemotingCommand::success().with_body(list.encode())
}
