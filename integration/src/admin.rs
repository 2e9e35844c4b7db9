//! Administrative requests (create a topic, read a broker's runtime info,
//! read the NameServer's cluster table) sent with rmq's own remoting client.
//! They only set the stage and observe; every message a case counts is
//! produced and consumed by the third-party client.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_protocol::body::cluster::ClusterInfo;
use rmq_protocol::body::kv::KvTable;
use rmq_protocol::header::CreateTopicRequestHeader;
use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_remoting::{Client, ClientConfig, RejectAll};

/// A remoting client for admin requests.
#[derive(Debug)]
pub struct Admin {
    client: Client,
}

impl Default for Admin {
    fn default() -> Self {
        Admin { client: Client::new(ClientConfig::default(), Arc::new(RejectAll)) }
    }
}

impl Admin {
    /// UPDATE_AND_CREATE_TOPIC on one broker: `queues` read and write queues, perm 6.
    pub async fn create_topic(&self, broker: &str, topic: &str, queues: i32) {
        let header = CreateTopicRequestHeader {
            topic: topic.to_owned(),
            default_topic: Some("TBW102".to_owned()),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: 6,
            topic_filter_type: Some("SINGLE_TAG".to_owned()),
            topic_sys_flag: Some(0),
            order: Some(false),
            attributes: None,
            force: None,
        };
        let request = RemotingCommand::request(RequestCode::UpdateAndCreateTopic, &header);
        let response = self
            .client
            .invoke(broker, request, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("create topic {topic} on {broker}: {e}"));
        assert_eq!(response.code, 0, "create topic {topic} on {broker}: {:?}", response.remark);
    }

    /// Controller mode: the in-sync set of `broker_name` as the controller
    /// at `controller` holds it (CONTROLLER_GET_REPLICA_INFO); empty if it
    /// does not answer.
    pub async fn in_sync_set(&self, controller: &str, broker_name: &str) -> Vec<i64> {
        let header = rmq_protocol::header::GetReplicaInfoRequestHeader { broker_name: broker_name.to_owned() };
        let request = RemotingCommand::request(RequestCode::ControllerGetReplicaInfo, &header);
        match self.client.invoke(controller, request, Duration::from_secs(3)).await {
            Ok(r) if r.code == 0 => rmq_protocol::body::controller::SyncStateSet::decode(&r.body.to_bytes())
                .map(|s| s.sync_state_set.into_iter().collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// CONTROLLER_GET_METADATA_INFO: the leader's address, as `controller` knows it.
    pub async fn controller_leader(&self, controller: &str) -> Option<String> {
        let request = RemotingCommand::bare_request(RequestCode::ControllerGetMetadataInfo);
        let r = self.client.invoke(controller, request, Duration::from_secs(3)).await.ok()?;
        let header: rmq_protocol::header::GetMetaDataResponseHeader = r.header().ok()?;
        header.controller_leader_address.filter(|a| !a.is_empty())
    }

    /// GET_BROKER_RUNTIME_INFO as a map; empty if the broker does not answer.
    pub async fn runtime_info(&self, broker: &str) -> BTreeMap<String, String> {
        let request = RemotingCommand::bare_request(RequestCode::GetBrokerRuntimeInfo);
        match self.client.invoke(broker, request, Duration::from_secs(3)).await {
            Ok(r) if r.code == 0 => {
                KvTable::decode(&r.body.to_bytes()).map(|t| t.table.into_iter().collect()).unwrap_or_default()
            }
            _ => BTreeMap::new(),
        }
    }

    /// One runtime-info value as a number; `None` if the broker does not answer.
    pub async fn info_i64(&self, broker: &str, key: &str) -> Option<i64> {
        self.runtime_info(broker).await.get(key).and_then(|v| v.parse().ok())
    }

    /// Whether `broker` knows `topic` (GET_ALL_TOPIC_CONFIG).
    pub async fn has_topic(&self, broker: &str, topic: &str) -> bool {
        let request = RemotingCommand::bare_request(RequestCode::GetAllTopicConfig);
        match self.client.invoke(broker, request, Duration::from_secs(3)).await {
            Ok(r) if r.code == 0 => String::from_utf8_lossy(&r.body.to_bytes()).contains(&format!("\"{topic}\"")),
            _ => false,
        }
    }

    /// GET_BROKER_CLUSTER_INFO from one NameServer; `None` if it does not answer.
    pub async fn cluster_info(&self, namesrv: &str) -> Option<ClusterInfo> {
        let request = RemotingCommand::bare_request(RequestCode::GetBrokerClusterInfo);
        match self.client.invoke(namesrv, request, Duration::from_secs(3)).await {
            Ok(r) if r.code == 0 => ClusterInfo::decode(&r.body.to_bytes()).ok(),
            _ => None,
        }
    }

    /// Drops cached connections (after a server restarted on the same address).
    pub fn forget_connections(&self) {
        self.client.close_all();
    }
}

/// Polls `check` every 200 ms until it holds; false after `within`.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
