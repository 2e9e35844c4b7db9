//! An in-process NameServer for tests, and the REGISTER_BROKER request a
//! Java broker sends it.

use std::net::SocketAddr;
use std::sync::Arc;

use rmq_model::{DataVersion, TopicConfig};
use rmq_nameserver::{NameServer, NamesrvConfig, runtime};
use rmq_protocol::body::register::RegisterBrokerBody;
use rmq_protocol::header::RegisterBrokerRequestHeader;
use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_remoting::CancellationToken;
use tempfile::TempDir;
use tokio::task::JoinHandle;

/// A NameServer serving on `127.0.0.1:<ephemeral>` with its files under a
/// temporary home. Dropping it stops the server; [`TestNameServer::stop`]
/// also waits for it.
#[derive(Debug)]
pub struct TestNameServer {
    pub addr: SocketAddr,
    state: Arc<NameServer>,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
    home: TempDir,
}

/// Starts a NameServer with the default configuration.
pub async fn start() -> TestNameServer {
    start_with(|_| {}).await
}

/// Starts a NameServer after `configure` adjusted its configuration (listen
/// address and home are already set; change them at your own risk).
pub async fn start_with(configure: impl FnOnce(&mut NamesrvConfig)) -> TestNameServer {
    let home = tempfile::tempdir().expect("temp home");
    let mut config = NamesrvConfig::with_home(home.path());
    config.bind_address = "127.0.0.1".to_owned();
    config.listen_port = 0;
    configure(&mut config);
    let bound = runtime::bind(config).await.expect("bind the test NameServer");
    let addr = bound.local_addr();
    let state = bound.state();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(bound.serve(shutdown.clone()));
    TestNameServer { addr, state, shutdown, task: Some(task), home }
}

impl TestNameServer {
    /// `127.0.0.1:port`, as clients and brokers are configured.
    pub fn addr_string(&self) -> String {
        self.addr.to_string()
    }

    /// The server's state, to inspect or drive (e.g. the expiry scan) directly.
    pub fn state(&self) -> &Arc<NameServer> {
        &self.state
    }

    /// The temporary `user.home`: `namesrv/kvConfig.json` lives under it.
    pub fn home(&self) -> &std::path::Path {
        self.home.path()
    }

    /// Stops the server and waits until every connection task has ended.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestNameServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// One broker as it registers: identity, addresses and topics.
#[derive(Clone, Debug)]
pub struct BrokerIdentity {
    pub cluster: String,
    pub broker_name: String,
    pub broker_addr: String,
    pub broker_id: i64,
    pub ha_server_addr: String,
}

impl BrokerIdentity {
    /// A broker of `DefaultCluster` at `addr` (`ip:port`); its HA address is
    /// `ip:port+1`.
    pub fn new(broker_name: &str, broker_id: i64, addr: &str) -> BrokerIdentity {
        let (ip, port) = addr.rsplit_once(':').expect("ip:port");
        let port: u16 = port.parse().expect("port");
        BrokerIdentity {
            cluster: "DefaultCluster".to_owned(),
            broker_name: broker_name.to_owned(),
            broker_addr: addr.to_owned(),
            broker_id,
            ha_server_addr: format!("{ip}:{}", port + 1),
        }
    }

    /// REGISTER_BROKER as a 4.9.8 broker sends it: JSON body with
    /// `bodyCrc32`, or zlib-compressed when `compressed`.
    pub fn register_request(&self, topics: &[TopicConfig], version: &DataVersion, compressed: bool) -> RemotingCommand {
        let mut body = RegisterBrokerBody::default();
        body.topic_config_serialize_wrapper.data_version = version.clone();
        for topic in topics {
            body.topic_config_serialize_wrapper.topic_config_table.insert(topic.topic_name.clone(), topic.clone());
        }
        let bytes = if compressed { body.encode_compressed() } else { body.encode() };
        let header = RegisterBrokerRequestHeader {
            broker_name: self.broker_name.clone(),
            broker_addr: self.broker_addr.clone(),
            cluster_name: self.cluster.clone(),
            ha_server_addr: Some(self.ha_server_addr.clone()),
            broker_id: self.broker_id,
            compressed: Some(compressed),
            body_crc32: Some((crc32fast::hash(&bytes) & 0x7FFF_FFFF) as i32),
            ..RegisterBrokerRequestHeader::default()
        };
        RemotingCommand::request(RequestCode::RegisterBroker, &header).with_body(bytes)
    }
}
