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
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_store::MessageStore;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::{admin_ext, header_or_reply, reply};
use crate::clients::Clients;
use crate::live_config::LiveConfig;
use crate::long_poll::PullWaiters;
use crate::namesrv::BrokerIdentity;
use crate::now_ms;
use crate::runtime_info::RuntimeInfo;
use crate::stats::BrokerStats;
use crate::tables::{ConsumerOffsets, DelayOffsets, SubscriptionGroups, TopicTable};

/// What `mqadmin` and the broker's slaves may ask of and change in it: the
/// tables, the configuration, statistics and the store's maintenance. The
/// admin surface reaches most parts of the broker by nature; each is named
/// here.
#[derive(Debug)]
pub(crate) struct Admin {
    pub store: Arc<MessageStore>,
    pub config: Arc<LiveConfig>,
    pub identity: Arc<BrokerIdentity>,
    /// Slaves refuse metadata changes.
    pub is_master: bool,
    pub topics: Arc<TopicTable>,
    pub groups: Arc<SubscriptionGroups>,
    pub offsets: Arc<ConsumerOffsets>,
    pub delay_offsets: Arc<DelayOffsets>,
    pub clients: Arc<Clients>,
    pub stats: Arc<BrokerStats>,
    /// Held pulls of a deleted topic are dropped.
    pub waiters: Arc<PullWaiters>,
    /// POP groups' messages in flight, for the stats commands.
    pub pop: Arc<crate::pop::PopEngine>,
    pub runtime: RuntimeInfo,
}

impl Admin {
    /// Serves one admin request; codes nobody serves are answered
    /// REQUEST_CODE_NOT_SUPPORTED.
    pub(crate) async fn handle(&self, req: RemotingCommand) -> RemotingCommand {
        use RequestCode::*;
        match req.request_code() {
            UpdateAndCreateTopic => create_topic(self, &req),
            DeleteTopicInBroker => delete_topic(self, &req),
            GetAllTopicConfig => all_topic_config(self),
            UpdateAndCreateSubscriptionGroup => create_group(self, &req),
            GetAllSubscriptionGroupConfig => all_group_config(self),
            DeleteSubscriptionGroup => delete_group(self, &req),
            GetAllConsumerOffset => all_consumer_offsets(self),
            GetAllDelayOffset => all_delay_offsets(self),
            GetBrokerConfig => broker_config(self),
            UpdateBrokerConfig => update_broker_config(self, &req),
            GetBrokerRuntimeInfo => runtime_info(self),
            GetSystemTopicListFromBroker => system_topics(self),
            _ => admin_ext::handle(self, req).await,
        }
    }
}

/// Java's answer to metadata changes sent to a slave.
const SLAVE_GUARD: &str =
    "Can't modify topic or subscription group from slave broker, please execute it from master broker.";

fn slave_guard(admin: &Admin) -> Option<RemotingCommand> {
    (!admin.is_master).then(|| reply(ResponseCode::SystemError, SLAVE_GUARD))
}

fn create_topic(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    if let Some(refusal) = slave_guard(admin) {
        return refusal;
    }
    let h = header_or_reply!(req, CreateTopicRequestHeader);
    if let Err(e) = topics::validate_topic_name(&h.topic) {
        return reply(ResponseCode::SystemError, e.to_string());
    }
    if admin.topics.is_system_topic(&h.topic) {
        return reply(ResponseCode::SystemError, format!("The topic[{}] is conflict with system topic.", h.topic));
    }
    if h.read_queue_nums <= 0 || h.write_queue_nums <= 0 {
        return reply(ResponseCode::SystemError, "readQueueNums and writeQueueNums must be positive");
    }
    let attributes = match topic_attributes(admin, &h.topic, h.attributes.as_deref().unwrap_or("")) {
        Ok(attributes) => attributes,
        Err(refusal) => return refusal,
    };
    let config = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums as u32,
        write_queue_nums: h.write_queue_nums as u32,
        perm: h.perm.max(0) as u32,
        topic_filter_type: TopicFilterType::parse_lenient(h.topic_filter_type.as_deref().unwrap_or("")),
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order.unwrap_or(false),
        attributes,
    };
    if admin.topics.upsert(config, now_ms()) {
        tracing::info!("topic {} created or updated by {}", h.topic, req.language.name());
        admin.topics.changed();
    }
    RemotingCommand::success()
}

/// The attributes a topic gets from the `attributes` modification
/// (`+message.type=FIFO,-reserve.time`) over the ones it has, with Java's
/// refusals: MIXED unless `enableMixedMessageType` (INVALID_PARAMETER),
/// anything else wrong SYSTEM_ERROR with Java's text.
fn topic_attributes(
    admin: &Admin,
    topic: &str,
    modification: &str,
) -> Result<BTreeMap<String, String>, RemotingCommand> {
    let asked = rmq_model::topic_attributes::parse_modification(modification)
        .map_err(|e| reply(ResponseCode::SystemError, e.0))?;
    altered_attributes(admin, topic, &asked)
}

/// As [`topic_attributes`], the modification already a map (`+key` to its
/// value, `-key` to delete), as a topic of UPDATE_AND_CREATE_TOPIC_LIST carries it.
pub(super) fn altered_attributes(
    admin: &Admin,
    topic: &str,
    asked: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, RemotingCommand> {
    let system_error = |e: rmq_model::topic_attributes::AttributeError| reply(ResponseCode::SystemError, e.0);
    let mixed = format!("+{}", rmq_model::topic_attributes::MESSAGE_TYPE);
    if !admin.config.get().enable_mixed_message_type && asked.get(&mixed).is_some_and(|v| v == "MIXED") {
        return Err(reply(ResponseCode::InvalidParameter, "MIXED message type is not supported."));
    }
    let current = admin.topics.get(topic);
    let existing = current.as_ref().map(|c| c.attributes.clone()).unwrap_or_default();
    rmq_model::topic_attributes::alter(current.is_none(), &existing, asked).map_err(system_error)
}

fn delete_topic(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    if let Some(refusal) = slave_guard(admin) {
        return refusal;
    }
    let h = header_or_reply!(req, TopicRequestHeader);
    if admin.topics.is_system_topic(&h.topic) {
        return reply(ResponseCode::SystemError, format!("The topic[{}] is conflict with system topic.", h.topic));
    }
    if admin.topics.remove(&h.topic, now_ms()).is_some() {
        admin.topics.changed();
    }
    admin.offsets.remove_topic(&h.topic);
    admin.waiters.remove_topic(&h.topic);
    if let Err(e) = admin.store.delete_topic(&h.topic) {
        tracing::warn!("deleting the consume queues of {} failed: {e}", h.topic);
    }
    RemotingCommand::success()
}

fn all_topic_config(admin: &Admin) -> RemotingCommand {
    let snapshot = admin.topics.snapshot();
    if snapshot.topic_config_table.is_empty() {
        return reply(ResponseCode::SystemError, "No topic in this broker");
    }
    RemotingCommand::success().with_body(fastjson::to_vec(&snapshot))
}

fn create_group(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    if let Some(refusal) = slave_guard(admin) {
        return refusal;
    }
    let config: SubscriptionGroupConfig = match fastjson::from_slice(&req.body.to_bytes()) {
        Ok(c) => c,
        Err(e) => return reply(ResponseCode::SystemError, format!("the subscription group body is not valid: {e}")),
    };
    if config.group_name.trim().is_empty() {
        return reply(ResponseCode::SystemError, "the subscription group name is blank");
    }
    admin.groups.upsert(config, now_ms());
    admin.groups.persist();
    RemotingCommand::success()
}

fn all_group_config(admin: &Admin) -> RemotingCommand {
    RemotingCommand::success().with_body(fastjson::to_vec(&admin.groups.snapshot()))
}

fn delete_group(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    if let Some(refusal) = slave_guard(admin) {
        return refusal;
    }
    let h = header_or_reply!(req, DeleteSubscriptionGroupRequestHeader);
    admin.groups.remove(&h.group_name, now_ms());
    admin.groups.persist();
    if h.remove_offset == Some(true) || h.clean_offset == Some(true) {
        admin.offsets.remove_group(&h.group_name);
        admin.offsets.persist();
    }
    RemotingCommand::success()
}

fn all_consumer_offsets(admin: &Admin) -> RemotingCommand {
    let snapshot = admin.offsets.snapshot();
    if snapshot.offset_table.is_empty() {
        return reply(ResponseCode::SystemError, "No consumer offset in this broker");
    }
    RemotingCommand::success().with_body(fastjson::to_vec(&snapshot))
}

fn all_delay_offsets(admin: &Admin) -> RemotingCommand {
    if admin.delay_offsets.is_empty() {
        return reply(ResponseCode::SystemError, "No delay offset in this broker");
    }
    RemotingCommand::success().with_body(fastjson::to_vec(&admin.delay_offsets.snapshot()))
}

/// GET_BROKER_CONFIG: every key of the broker and its store, `key=value` lines.
fn broker_config(admin: &Admin) -> RemotingCommand {
    let text = admin.runtime.config_text();
    let version = fastjson::to_string(&admin.topics.data_version());
    RemotingCommand::success().with_header(&GetBrokerConfigResponseHeader { version }).with_body(text)
}

/// UPDATE_BROKER_CONFIG: properties text; keys in `configBlackList` are refused.
fn update_broker_config(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
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
    admin.config.update(|c| {
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
        admin.topics.changed();
    }
    if let Some((_, level)) = pairs.iter().find(|(k, _)| k == "rmqLogLevel")
        && let Err(e) = rmq_model::log_level::apply(level)
    {
        refused.push(e);
    }
    if refused.is_empty() {
        RemotingCommand::success()
    } else {
        reply(ResponseCode::SystemError, format!("some keys were not updated: {}", refused.join("; ")))
    }
}

fn runtime_info(admin: &Admin) -> RemotingCommand {
    let table = KvTable::from(admin.runtime.table());
    RemotingCommand::success().with_body(table.encode())
}

fn system_topics(admin: &Admin) -> RemotingCommand {
    let list = TopicList { topic_list: admin.topics.system_topic_names().into_iter().collect(), broker_addr: None };
    RemotingCommand::success().with_body(list.encode())
}
