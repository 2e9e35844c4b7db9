//! Registration with the NameServers: every broker registers its whole topic
//! table with every NameServer at boot, every `registerNameServerPeriod`, and
//! (oneway) right after a topic change; it unregisters at shutdown. A slave
//! learns its master's addresses from the answers.

use rmq_model::perm;
use rmq_model::tables::TopicConfigSerializeWrapper;
use rmq_protocol::body::cluster::ClusterInfo;
use rmq_protocol::body::kv::KvTable;
use rmq_protocol::body::register::RegisterBrokerBody;
use rmq_protocol::header::{RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnregisterBrokerRequestHeader};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::Client;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::RwLock;
use std::time::Duration;

use futures_util::future::join_all;

/// How this broker names itself to NameServers and clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerIdentity {
    pub cluster_name: String,
    pub broker_name: String,
    pub broker_id: i64,
    /// `brokerIP1:listenPort`, the address clients use.
    pub broker_addr: String,
    /// `brokerIP2:haListenPort`, the address slaves replicate from.
    pub ha_server_addr: String,
}

impl BrokerIdentity {
    /// The identity a resolved configuration gives.
    pub fn of(config: &crate::config::BrokerConfig) -> BrokerIdentity {
        BrokerIdentity {
            cluster_name: config.broker_cluster_name.clone(),
            broker_name: config.broker_name.clone().unwrap_or_default(),
            broker_id: config.broker_id,
            broker_addr: format!("{}:{}", config.broker_ip1.as_deref().unwrap_or_default(), config.listen_port),
            ha_server_addr: format!("{}:{}", config.broker_ip2.as_deref().unwrap_or_default(), config.ha_port()),
        }
    }
}

/// What one NameServer answered to a registration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registered {
    pub namesrv: String,
    /// For a slave: its master's client address, if the master is registered.
    pub master_addr: Option<String>,
    /// For a slave: its master's HA address.
    pub ha_server_addr: Option<String>,
    /// The NameServer's ORDER_TOPIC_CONFIG table, if it has one.
    pub order_topics: Option<BTreeMap<String, String>>,
}

/// Why one NameServer did not take a registration.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("register to {namesrv} failed: {source}")]
    Transport { namesrv: String, source: rmq_remoting::RemotingError },
    #[error("register to {namesrv} refused: code {code}, {remark}")]
    Refused { namesrv: String, code: i32, remark: String },
}

/// Talks to every NameServer in the list.
#[derive(Debug)]
pub struct Registrar {
    client: Client,
    namesrvs: RwLock<Vec<String>>,
    identity: BrokerIdentity,
    timeout: Duration,
    compressed: bool,
}

impl Registrar {
    pub fn new(
        client: Client,
        namesrvs: Vec<String>,
        identity: BrokerIdentity,
        timeout: Duration,
        compressed: bool,
    ) -> Registrar {
        Registrar { client, namesrvs: RwLock::new(namesrvs), identity, timeout, compressed }
    }

    pub fn namesrvs(&self) -> Vec<String> {
        self.namesrvs.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn request(&self, topics: &TopicConfigSerializeWrapper, broker_permission: u32) -> RemotingCommand {
        let body = registration_body(topics, broker_permission);
        let (bytes, compressed) =
            if self.compressed { (body.encode_compressed(), true) } else { (body.encode(), false) };
        let header = RegisterBrokerRequestHeader {
            broker_name: self.identity.broker_name.clone(),
            broker_addr: self.identity.broker_addr.clone(),
            cluster_name: self.identity.cluster_name.clone(),
            ha_server_addr: Some(self.identity.ha_server_addr.clone()),
            broker_id: self.identity.broker_id,
            heartbeat_timeout_millis: None,
            enable_acting_master: None,
            compressed: Some(compressed),
            // Java's `UtilAll.crc32`: the CRC32 with its sign bit cleared.
            body_crc32: Some((crc32fast::hash(&bytes) & 0x7FFF_FFFF) as i32),
        };
        RemotingCommand::request(RequestCode::RegisterBroker, &header).with_body(bytes)
    }

    /// Registers with every NameServer at once and waits for all answers.
    pub async fn register_all(
        &self,
        topics: &TopicConfigSerializeWrapper,
        broker_permission: u32,
    ) -> Vec<Result<Registered, RegisterError>> {
        let request = self.request(topics, broker_permission);
        let calls = self.namesrvs().into_iter().map(|namesrv| {
            let request = request.clone();
            async move {
                match self.client.invoke(&namesrv, request, self.timeout).await {
                    Ok(resp) => answer(namesrv, resp),
                    Err(source) => Err(RegisterError::Transport { namesrv, source }),
                }
            }
        });
        join_all(calls).await
    }

    /// Registers oneway (after a topic was created on the fly), not waiting.
    pub async fn register_all_oneway(&self, topics: &TopicConfigSerializeWrapper, broker_permission: u32) {
        let request = self.request(topics, broker_permission);
        for namesrv in self.namesrvs() {
            if let Err(e) = self.client.invoke_oneway(&namesrv, request.clone()).await {
                tracing::warn!("oneway register to {namesrv} failed: {e}");
            }
        }
    }

    /// The slaves of this broker group (brokerId > 0) that the NameServers
    /// list, by IP: the union of every NameServer's GET_BROKER_CLUSTER_INFO
    /// answer. `None` when none answered (the caller keeps what it knew).
    /// An address whose host is not an IP literal is skipped: a slave's
    /// connection shows only its IP.
    pub async fn registered_slaves(&self) -> Option<Vec<IpAddr>> {
        let request = RemotingCommand::bare_request(RequestCode::GetBrokerClusterInfo);
        let calls = self.namesrvs().into_iter().map(|namesrv| {
            let request = request.clone();
            async move {
                let answer = self.client.invoke(&namesrv, request, self.timeout).await;
                match answer {
                    Ok(resp) if resp.response_code() == ResponseCode::Success => {
                        ClusterInfo::decode(&resp.body.to_bytes()).ok()
                    }
                    Ok(resp) => {
                        tracing::debug!("cluster info from {namesrv} refused: {:?}", resp.remark);
                        None
                    }
                    Err(e) => {
                        tracing::debug!("cluster info from {namesrv} failed: {e}");
                        None
                    }
                }
            }
        });
        let answers: Vec<ClusterInfo> = join_all(calls).await.into_iter().flatten().collect();
        if answers.is_empty() {
            return None;
        }
        let mut slaves: Vec<IpAddr> = answers
            .iter()
            .filter_map(|info| info.broker_addr_table.get(&self.identity.broker_name))
            .flat_map(|group| group.broker_addrs.iter())
            .filter(|(id, _)| **id > 0)
            .filter_map(|(_, addr)| host_ip(addr))
            .collect();
        slaves.sort();
        slaves.dedup();
        Some(slaves)
    }

    /// Unregisters from every NameServer (at shutdown), 3 s each at most.
    pub async fn unregister_all(&self) {
        let header = UnregisterBrokerRequestHeader {
            broker_name: self.identity.broker_name.clone(),
            broker_addr: self.identity.broker_addr.clone(),
            cluster_name: self.identity.cluster_name.clone(),
            broker_id: self.identity.broker_id,
        };
        let request = RemotingCommand::request(RequestCode::UnregisterBroker, &header);
        let calls = self.namesrvs().into_iter().map(|namesrv| {
            let request = request.clone();
            async move {
                match self.client.invoke(&namesrv, request, Duration::from_secs(3)).await {
                    Ok(resp) if resp.code == 0 => tracing::info!("unregister broker from name server {namesrv} OK"),
                    Ok(resp) => tracing::warn!("unregister from {namesrv} refused: {:?}", resp.remark),
                    Err(e) => tracing::warn!("unregister from {namesrv} failed: {e}"),
                }
            }
        });
        join_all(calls).await;
    }
}

/// The IP of `host:port` (`[v6]:port` too), if the host is an IP literal.
fn host_ip(addr: &str) -> Option<IpAddr> {
    if let Ok(sock) = addr.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    addr.rsplit_once(':').map_or(addr, |(host, _)| host).trim().parse().ok()
}

fn answer(namesrv: String, resp: RemotingCommand) -> Result<Registered, RegisterError> {
    if resp.response_code() != ResponseCode::Success {
        return Err(RegisterError::Refused { namesrv, code: resp.code, remark: resp.remark.unwrap_or_default() });
    }
    let header: RegisterBrokerResponseHeader = resp.header().unwrap_or_default();
    let order_topics =
        (!resp.body.is_empty()).then(|| KvTable::decode(&resp.body.to_bytes()).ok()).flatten().map(|kv| kv.table);
    Ok(Registered {
        namesrv,
        master_addr: header.master_addr.filter(|a| !a.is_empty()),
        ha_server_addr: header.ha_server_addr.filter(|a| !a.is_empty()),
        order_topics,
    })
}

/// The registration body: every topic, with the broker-wide permission applied
/// when the broker is not both readable and writable (Java's
/// `BrokerController.registerBrokerAll`).
pub fn registration_body(topics: &TopicConfigSerializeWrapper, broker_permission: u32) -> RegisterBrokerBody {
    let mut wrapper = topics.clone();
    if !perm::is_readable(broker_permission) || !perm::is_writeable(broker_permission) {
        for config in wrapper.topic_config_table.values_mut() {
            config.perm = broker_permission;
        }
    }
    RegisterBrokerBody { topic_config_serialize_wrapper: wrapper, filter_server_list: Vec::new() }
}
