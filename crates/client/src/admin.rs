//! [`Admin`]: typed admin requests to NameServers and brokers, the calls
//! `mqadmin`'s sub-commands are made of (Java's `DefaultMQAdminExtImpl`).
//! Each method sends one request and decodes the answer; a refusal is a
//! [`ClientError::Refused`] carrying the server's code and remark.

use bytes::Bytes;
use rmq_model::{PhysicalOffset, SubscriptionGroupConfig, TopicConfig, fastjson, msg_id};
use rmq_protocol::body::admin::{
    BrokerStatsData, ConsumeStats, ConsumeStatsList, ConsumerConnection, GroupList, ProducerConnection,
    ResetOffsetBody, TopicStatsTable,
};
use rmq_protocol::body::cluster::ClusterInfo;
use rmq_protocol::body::kv::KvTable;
use rmq_protocol::body::topic_list::TopicList;
use rmq_protocol::header::{
    BrokerPermRequestHeader, CloneGroupOffsetRequestHeader, ConsumeMessageDirectlyRequestHeader,
    ConsumerGroupRequestHeader, CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader,
    DeleteTopicFromNamesrvRequestHeader, GetBrokerConsumeStatsRequestHeader, GetConsumeStatsRequestHeader,
    GetConsumerRunningInfoRequestHeader, GetKvConfigResponseHeader, KvConfigKeyRequestHeader,
    ProducerGroupRequestHeader, PutKvConfigRequestHeader, QueryMessageRequestHeader, ResetOffsetRequestHeader,
    TopicRequestHeader, UNIQUE_KEY_QUERY, ViewBrokerStatsDataRequestHeader, ViewMessageRequestHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::collections::BTreeMap;

use crate::client::{Client, expect_success, refused};
use crate::error::{ClientError, Result};
use crate::message::MessageExt;

/// Admin calls over a [`Client`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Admin {
    client: Client,
}

fn decode_err(what: &'static str, addr: &str, e: impl std::fmt::Display) -> ClientError {
    ClientError::Decode { what, addr: addr.to_owned(), reason: e.to_string() }
}

impl Admin {
    pub fn new(client: Client) -> Admin {
        Admin { client }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    // ---- NameServer ----

    /// GET_BROKER_CLUSTER_INFO (106).
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        let (addr, resp) =
            self.client.invoke_namesrv(RemotingCommand::bare_request(RequestCode::GetBrokerClusterInfo)).await?;
        let resp = expect_success(&addr, resp)?;
        ClusterInfo::decode(&resp.body.to_bytes()).map_err(|e| decode_err("cluster info", &addr, e))
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206).
    pub async fn topic_list(&self) -> Result<TopicList> {
        let resp =
            self.client.call_namesrv(RemotingCommand::bare_request(RequestCode::GetAllTopicListFromNameserver)).await?;
        TopicList::decode(&resp.body.to_bytes()).map_err(|e| decode_err("topic list", "namesrv", e))
    }

    /// PUT_KV_CONFIG (100) on every NameServer.
    pub async fn put_kv(&self, namespace: &str, key: &str, value: &str) -> Result<()> {
        let header =
            PutKvConfigRequestHeader { namespace: namespace.to_owned(), key: key.to_owned(), value: value.to_owned() };
        self.on_every_namesrv(RemotingCommand::request(RequestCode::PutKvConfig, &header)).await
    }

    /// GET_KV_CONFIG (101); `None` when the key is not set.
    pub async fn get_kv(&self, namespace: &str, key: &str) -> Result<Option<String>> {
        let header = KvConfigKeyRequestHeader { namespace: namespace.to_owned(), key: key.to_owned() };
        let (addr, resp) =
            self.client.invoke_namesrv(RemotingCommand::request(RequestCode::GetKvConfig, &header)).await?;
        match resp.response_code() {
            ResponseCode::Success => Ok(resp.header::<GetKvConfigResponseHeader>().ok().and_then(|h| h.value)),
            ResponseCode::QueryNotFound => Ok(None),
            _ => Err(refused(&addr, resp)),
        }
    }

    /// DELETE_KV_CONFIG (102) on every NameServer.
    pub async fn delete_kv(&self, namespace: &str, key: &str) -> Result<()> {
        let header = KvConfigKeyRequestHeader { namespace: namespace.to_owned(), key: key.to_owned() };
        self.on_every_namesrv(RemotingCommand::request(RequestCode::DeleteKvConfig, &header)).await
    }

    async fn on_every_namesrv(&self, cmd: RemotingCommand) -> Result<()> {
        for (addr, resp) in self.client.invoke_each_namesrv(&cmd).await {
            expect_success(&addr, resp?)?;
        }
        Ok(())
    }

    /// WIPE_WRITE_PERM_OF_BROKER (205) / ADD_WRITE_PERM_OF_BROKER (327) on one
    /// NameServer; returns how many topics changed.
    pub async fn change_write_perm(&self, namesrv: &str, broker_name: &str, wipe: bool) -> Result<i32> {
        let code = if wipe { RequestCode::WipeWritePermOfBroker } else { RequestCode::AddWritePermOfBroker };
        let header = BrokerPermRequestHeader { broker_name: broker_name.to_owned() };
        let resp = self.client.call(namesrv, RemotingCommand::request(code, &header)).await?;
        // WipeWritePermResponseHeader / AddWritePermResponseHeader.
        let key = if wipe { "wipeTopicCount" } else { "addTopicCount" };
        Ok(resp.ext(key).and_then(|v| v.trim().parse().ok()).unwrap_or(0))
    }

    /// DELETE_TOPIC_IN_NAMESRV (216) on every NameServer.
    pub async fn delete_topic_in_namesrv(&self, topic: &str, cluster: Option<&str>) -> Result<()> {
        let header =
            DeleteTopicFromNamesrvRequestHeader { topic: topic.to_owned(), cluster_name: cluster.map(str::to_owned) };
        self.on_every_namesrv(RemotingCommand::request(RequestCode::DeleteTopicInNamesrv, &header)).await
    }

    /// GET_NAMESRV_CONFIG (319): the config as properties text.
    pub async fn namesrv_config(&self, namesrv: &str) -> Result<String> {
        let resp = self.client.call(namesrv, RemotingCommand::bare_request(RequestCode::GetNamesrvConfig)).await?;
        Ok(String::from_utf8_lossy(&resp.body.to_bytes()).into_owned())
    }

    /// UPDATE_NAMESRV_CONFIG (318) with `key=value` properties text.
    pub async fn update_namesrv_config(&self, namesrv: &str, properties: &str) -> Result<()> {
        let cmd = RemotingCommand::bare_request(RequestCode::UpdateNamesrvConfig).with_body(properties.to_owned());
        self.client.call(namesrv, cmd).await.map(drop)
    }

    // ---- brokers: topics, groups, config ----

    /// UPDATE_AND_CREATE_TOPIC (17).
    pub async fn create_topic(&self, broker: &str, config: &TopicConfig) -> Result<()> {
        self.create_topic_with_attributes(broker, config, None).await
    }

    /// UPDATE_AND_CREATE_TOPIC with a 5.x attribute modification
    /// (`+message.type=FIFO,-reserve.time`, `mqadmin updateTopic -a`).
    pub async fn create_topic_with_attributes(
        &self,
        broker: &str,
        config: &TopicConfig,
        attributes: Option<String>,
    ) -> Result<()> {
        let header = CreateTopicRequestHeader {
            topic: config.topic_name.clone(),
            default_topic: Some(rmq_model::topic::AUTO_CREATE_TOPIC_KEY_TOPIC.to_owned()),
            read_queue_nums: config.read_queue_nums as i32,
            write_queue_nums: config.write_queue_nums as i32,
            perm: config.perm as i32,
            topic_filter_type: Some(config.topic_filter_type.as_str().to_owned()),
            topic_sys_flag: Some(config.topic_sys_flag),
            order: Some(config.order),
            attributes,
            force: None,
        };
        self.client.call(broker, RemotingCommand::request(RequestCode::UpdateAndCreateTopic, &header)).await.map(drop)
    }

    /// DELETE_TOPIC_IN_BROKER (215).
    pub async fn delete_topic_in_broker(&self, broker: &str, topic: &str) -> Result<()> {
        let header = TopicRequestHeader { topic: topic.to_owned() };
        self.client.call(broker, RemotingCommand::request(RequestCode::DeleteTopicInBroker, &header)).await.map(drop)
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200).
    pub async fn create_group(&self, broker: &str, config: &SubscriptionGroupConfig) -> Result<()> {
        let cmd = RemotingCommand::bare_request(RequestCode::UpdateAndCreateSubscriptionGroup)
            .with_body(fastjson::to_vec(config));
        self.client.call(broker, cmd).await.map(drop)
    }

    /// SET_MESSAGE_REQUEST_MODE (401): how `group` consumes `topic` on this broker.
    pub async fn set_message_request_mode(
        &self,
        broker: &str,
        mode: &rmq_protocol::body::assignment::SetMessageRequestModeRequestBody,
    ) -> Result<()> {
        let cmd = RemotingCommand::bare_request(RequestCode::SetMessageRequestMode).with_body(fastjson::to_vec(mode));
        self.client.call(broker, cmd).await.map(drop)
    }

    /// DELETE_SUBSCRIPTIONGROUP (207).
    pub async fn delete_group(&self, broker: &str, group: &str, remove_offset: bool) -> Result<()> {
        let header = DeleteSubscriptionGroupRequestHeader {
            group_name: group.to_owned(),
            remove_offset: Some(remove_offset),
            clean_offset: Some(remove_offset),
        };
        self.client
            .call(broker, RemotingCommand::request(RequestCode::DeleteSubscriptionGroup, &header))
            .await
            .map(drop)
    }

    /// GET_BROKER_RUNTIME_INFO (28).
    pub async fn runtime_info(&self, broker: &str) -> Result<BTreeMap<String, String>> {
        let resp = self.client.call(broker, RemotingCommand::bare_request(RequestCode::GetBrokerRuntimeInfo)).await?;
        KvTable::decode(&resp.body.to_bytes()).map(|t| t.table).map_err(|e| decode_err("runtime info", broker, e))
    }

    /// GET_BROKER_CONFIG (26): `key=value` lines.
    pub async fn broker_config(&self, broker: &str) -> Result<String> {
        let resp = self.client.call(broker, RemotingCommand::bare_request(RequestCode::GetBrokerConfig)).await?;
        Ok(String::from_utf8_lossy(&resp.body.to_bytes()).into_owned())
    }

    /// UPDATE_BROKER_CONFIG (25) with `key=value` properties text.
    pub async fn update_broker_config(&self, broker: &str, properties: &str) -> Result<()> {
        let cmd = RemotingCommand::bare_request(RequestCode::UpdateBrokerConfig).with_body(properties.to_owned());
        self.client.call(broker, cmd).await.map(drop)
    }

    // ---- brokers: statistics and connections ----

    /// GET_TOPIC_STATS_INFO (202).
    pub async fn topic_stats(&self, broker: &str, topic: &str) -> Result<TopicStatsTable> {
        let header = TopicRequestHeader { topic: topic.to_owned() };
        let resp = self.client.call(broker, RemotingCommand::request(RequestCode::GetTopicStatsInfo, &header)).await?;
        TopicStatsTable::decode(&resp.body.to_bytes()).map_err(|e| decode_err("topic stats", broker, e))
    }

    /// VIEW_BROKER_STATS_DATA (315): one statistic of the broker
    /// (`TOPIC_PUT_NUMS` of a topic, `GROUP_GET_NUMS` of `topic@group`, ...)
    /// over the last minute, hour and day.
    pub async fn broker_stats_data(&self, broker: &str, name: &str, key: &str) -> Result<BrokerStatsData> {
        let header = ViewBrokerStatsDataRequestHeader { stats_name: name.to_owned(), stats_key: key.to_owned() };
        let cmd = RemotingCommand::request(RequestCode::ViewBrokerStatsData, &header);
        let resp = self.client.call(broker, cmd).await?;
        BrokerStatsData::decode(&resp.body.to_bytes()).map_err(|e| decode_err("broker stats", broker, e))
    }

    /// GET_BROKER_CONSUME_STATS (317): every group's consume stats on one
    /// broker (only order topics' with `is_order`), within `timeout`.
    pub async fn broker_consume_stats(
        &self,
        broker: &str,
        is_order: bool,
        timeout: std::time::Duration,
    ) -> Result<ConsumeStatsList> {
        let header = GetBrokerConsumeStatsRequestHeader { is_order };
        let request = RemotingCommand::request(RequestCode::GetBrokerConsumeStats, &header);
        let resp = expect_success(broker, self.client.invoke(broker, request, Some(timeout)).await?)?;
        ConsumeStatsList::decode(&resp.body.to_bytes()).map_err(|e| decode_err("broker consume stats", broker, e))
    }

    /// GET_CONSUME_STATS (208); every topic the group has offsets for when
    /// `topic` is `None`.
    pub async fn consume_stats(&self, broker: &str, group: &str, topic: Option<&str>) -> Result<ConsumeStats> {
        let header = GetConsumeStatsRequestHeader {
            consumer_group: group.to_owned(),
            topic: Some(topic.unwrap_or_default().to_owned()),
            topic_list: None,
        };
        let resp = self.client.call(broker, RemotingCommand::request(RequestCode::GetConsumeStats, &header)).await?;
        ConsumeStats::decode(&resp.body.to_bytes()).map_err(|e| decode_err("consume stats", broker, e))
    }

    /// GET_CONSUMER_CONNECTION_LIST (203).
    pub async fn consumer_connection(&self, broker: &str, group: &str) -> Result<ConsumerConnection> {
        let header = ConsumerGroupRequestHeader { consumer_group: group.to_owned() };
        let cmd = RemotingCommand::request(RequestCode::GetConsumerConnectionList, &header);
        let resp = self.client.call(broker, cmd).await?;
        ConsumerConnection::decode(&resp.body.to_bytes()).map_err(|e| decode_err("consumer connection", broker, e))
    }

    /// GET_PRODUCER_CONNECTION_LIST (204).
    pub async fn producer_connection(&self, broker: &str, group: &str) -> Result<ProducerConnection> {
        let header = ProducerGroupRequestHeader { producer_group: group.to_owned() };
        let cmd = RemotingCommand::request(RequestCode::GetProducerConnectionList, &header);
        let resp = self.client.call(broker, cmd).await?;
        ProducerConnection::decode(&resp.body.to_bytes()).map_err(|e| decode_err("producer connection", broker, e))
    }

    /// QUERY_TOPIC_CONSUME_BY_WHO (300).
    pub async fn topic_consumed_by(&self, broker: &str, topic: &str) -> Result<GroupList> {
        let header = TopicRequestHeader { topic: topic.to_owned() };
        let cmd = RemotingCommand::request(RequestCode::QueryTopicConsumeByWho, &header);
        let resp = self.client.call(broker, cmd).await?;
        GroupList::decode(&resp.body.to_bytes()).map_err(|e| decode_err("group list", broker, e))
    }

    /// GET_CONSUMER_RUNNING_INFO (307), relayed by the broker to the client;
    /// the client's JSON as it answered. With `jstack`, the client adds its
    /// thread stacks (`jstack`), which costs it a thread dump: ask only when
    /// an operator wants them (`mqadmin consumerStatus -s`).
    pub async fn consumer_running_info(
        &self,
        broker: &str,
        group: &str,
        client_id: &str,
        jstack: bool,
    ) -> Result<String> {
        let header = GetConsumerRunningInfoRequestHeader {
            consumer_group: group.to_owned(),
            client_id: client_id.to_owned(),
            jstack_enable: Some(jstack),
        };
        let resp =
            self.client.call(broker, RemotingCommand::request(RequestCode::GetConsumerRunningInfo, &header)).await?;
        Ok(String::from_utf8_lossy(&resp.body.to_bytes()).into_owned())
    }

    /// CONSUME_MESSAGE_DIRECTLY (309), relayed to the client.
    pub async fn consume_message_directly(
        &self,
        broker: &str,
        group: &str,
        client_id: &str,
        msg_id: &str,
    ) -> Result<String> {
        let header = ConsumeMessageDirectlyRequestHeader {
            consumer_group: group.to_owned(),
            client_id: Some(client_id.to_owned()),
            msg_id: Some(msg_id.to_owned()),
            broker_name: None,
            topic: None,
        };
        let resp =
            self.client.call(broker, RemotingCommand::request(RequestCode::ConsumeMessageDirectly, &header)).await?;
        Ok(String::from_utf8_lossy(&resp.body.to_bytes()).into_owned())
    }

    // ---- brokers: offsets ----

    /// INVOKE_BROKER_TO_RESET_OFFSET (222); the new offsets.
    pub async fn reset_offset(
        &self,
        broker: &str,
        topic: &str,
        group: &str,
        timestamp: i64,
        force: bool,
    ) -> Result<ResetOffsetBody> {
        let header = ResetOffsetRequestHeader {
            group: group.to_owned(),
            topic: topic.to_owned(),
            timestamp,
            is_force: force,
            queue_id: None,
            offset: None,
        };
        let resp =
            self.client.call(broker, RemotingCommand::request(RequestCode::InvokeBrokerToResetOffset, &header)).await?;
        ResetOffsetBody::decode(&resp.body.to_bytes()).map_err(|e| decode_err("reset offset", broker, e))
    }

    /// CLONE_GROUP_OFFSET (314).
    pub async fn clone_group_offset(
        &self,
        broker: &str,
        src: &str,
        dest: &str,
        topic: Option<&str>,
        offline: bool,
    ) -> Result<()> {
        let header = CloneGroupOffsetRequestHeader {
            src_group: src.to_owned(),
            dest_group: dest.to_owned(),
            topic: topic.map(str::to_owned),
            offline: Some(offline),
        };
        self.client.call(broker, RemotingCommand::request(RequestCode::CloneGroupOffset, &header)).await.map(drop)
    }

    /// A request without header to a broker, answered SUCCESS or refused
    /// (CLEAN_EXPIRED_CONSUMEQUEUE, CLEAN_UNUSED_TOPIC, DELETE_EXPIRED_COMMITLOG…).
    pub async fn broker_command(&self, broker: &str, code: RequestCode) -> Result<RemotingCommand> {
        self.client.call(broker, RemotingCommand::bare_request(code)).await
    }

    // ---- messages ----

    /// VIEW_MESSAGE_BY_ID (33) at the broker the offset msgId names.
    pub async fn view_message(&self, offset_msg_id: &str) -> Result<MessageExt> {
        let (host, offset) = msg_id::decode_offset_msg_id(offset_msg_id)?;
        self.view_message_at(&host.to_string(), offset).await
    }

    /// VIEW_MESSAGE_BY_ID (33) at one broker.
    pub async fn view_message_at(&self, broker: &str, offset: PhysicalOffset) -> Result<MessageExt> {
        let header = ViewMessageRequestHeader { offset: offset.as_i64(), topic: None };
        let resp = self.client.call(broker, RemotingCommand::request(RequestCode::ViewMessageById, &header)).await?;
        let body: Bytes = resp.body.to_bytes();
        let mut msgs = MessageExt::decode_all(&body).map_err(|e| decode_err("view message", broker, e))?;
        if msgs.is_empty() {
            return Err(ClientError::Invalid(format!("the broker {broker} answered no message at offset {offset}")));
        }
        Ok(msgs.swap_remove(0))
    }

    /// QUERY_MESSAGE (12) at one broker, by key or (`unique`) by `UNIQ_KEY`;
    /// only messages whose key really matches are kept. An empty list when
    /// the broker found nothing.
    pub async fn query_message(
        &self,
        broker: &str,
        topic: &str,
        key: &str,
        max_num: i32,
        range: (i64, i64),
        unique: bool,
    ) -> Result<Vec<MessageExt>> {
        let header = QueryMessageRequestHeader {
            topic: topic.to_owned(),
            key: key.to_owned(),
            max_num,
            begin_timestamp: range.0,
            end_timestamp: range.1,
        };
        let mut cmd = RemotingCommand::request(RequestCode::QueryMessage, &header);
        if unique {
            cmd = cmd.with_ext(UNIQUE_KEY_QUERY, "true");
        }
        let resp = self.client.invoke(broker, cmd, Some(self.client.timeout() * 3)).await?;
        match resp.response_code() {
            ResponseCode::Success => {}
            ResponseCode::QueryNotFound => return Ok(Vec::new()),
            _ => return Err(refused(broker, resp)),
        }
        let msgs = MessageExt::decode_all(&resp.body.to_bytes()).map_err(|e| decode_err("query message", broker, e))?;
        Ok(msgs
            .into_iter()
            .filter(|m| {
                m.topic == topic
                    && if unique { m.msg_id() == key } else { m.keys().is_some_and(|k| k.split(' ').any(|k| k == key)) }
            })
            .collect())
    }
}
