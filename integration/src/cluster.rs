//! The documented modes as containers: a private network, the NameServer(s),
//! then the brokers from the `conf/` files the image carries, started with
//! RocketMQ's own commands (`mqbroker -c ../conf/<mode>/<file> -n ...`).

use std::net::TcpListener;
use std::time::Duration;

use testcontainers::bollard::Docker;
use testcontainers::bollard::models::NetworkCreateRequest;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};

use crate::admin::{Admin, eventually};
use crate::case::Case;
use crate::docker;
use crate::node::{BOOT_LINE, BOOT_TIMEOUT, Node};

/// The NameServer's port in its container.
pub const NAMESRV_PORT: u16 = 9876;
/// Every broker's `listenPort` (each has its own container address).
pub const BROKER_PORT: u16 = 10911;

/// Settings layered over every broker's conf file (through `RMQ_BROKER_PROPS`,
/// as in compose): smaller CommitLog and consume-queue files than the 1 GiB /
/// 6 MB defaults. The store reserves every file in full (fallocate), so with
/// the defaults a replicated mode would take 4 GiB of the machine's disk per
/// case. Nothing else differs from the files.
const TEST_PROPS: &[&str] = &["mappedFileSizeCommitLog=67108864", "mappedFileSizeConsumeQueue=600000"];

/// RocketMQ's documented deployment modes, as in `conf/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// `conf/broker.conf`: one ASYNC_MASTER, broker-a.
    Single,
    /// `conf/2m-noslave/`: masters broker-a and broker-b.
    TwoMastersNoSlave,
    /// `conf/2m-2s-async/`: two ASYNC_MASTERs and a SLAVE each.
    TwoMastersTwoSlavesAsync,
    /// `conf/2m-2s-sync/`: two SYNC_MASTERs and a SLAVE each.
    TwoMastersTwoSlavesSync,
    /// `conf/controller/quick-start/`: the controller inside the NameServer,
    /// two brokers of broker-a in controller mode (`allAckInSyncStateSet`),
    /// the first to boot elected master.
    ControllerMode,
}

/// The port of the controller inside the first NameServer (its peer entry).
pub const CONTROLLER_PORT: u16 = 9878;

impl Topology {
    /// (broker file stem, conf path relative to the image's bin/), masters first.
    fn brokers(self) -> Vec<(&'static str, String)> {
        let files = |dir: &str, stems: &[&'static str]| {
            stems.iter().map(|s| (*s, format!("../conf/{dir}/{s}.properties"))).collect::<Vec<_>>()
        };
        match self {
            Topology::Single => vec![("broker-a", "../conf/broker.conf".to_owned())],
            Topology::TwoMastersNoSlave => files("2m-noslave", &["broker-a", "broker-b"]),
            Topology::TwoMastersTwoSlavesAsync => {
                files("2m-2s-async", &["broker-a", "broker-b", "broker-a-s", "broker-b-s"])
            }
            Topology::TwoMastersTwoSlavesSync => {
                files("2m-2s-sync", &["broker-a", "broker-b", "broker-a-s", "broker-b-s"])
            }
            Topology::ControllerMode => vec![
                ("broker-a-n0", "../conf/controller/quick-start/broker-n0.conf".to_owned()),
                ("broker-a-n1", "../conf/controller/quick-start/broker-n1.conf".to_owned()),
            ],
        }
    }
}

/// Options beyond the topology.
#[derive(Clone, Debug)]
pub struct Options {
    /// How many NameServers (every broker and client is given all of them).
    pub namesrvs: usize,
    /// Extra `key=value` settings for every broker.
    pub broker_props: Vec<String>,
    /// Controller mode: how many of the NameServers (the first ones) carry a
    /// controller; more than one form a Raft group.
    pub controllers: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { namesrvs: 1, broker_props: Vec::new(), controllers: 1 }
    }
}

/// A started cluster. Dropping it removes its containers, then its network.
#[derive(Debug)]
pub struct Cluster {
    network: String,
    docker: Docker,
    namesrvs: Vec<Node>,
    namesrv_ports: Vec<u16>,
    /// (file stem, node), masters first.
    brokers: Vec<(&'static str, Node)>,
    admin: Admin,
}

impl Cluster {
    /// `conf/broker.conf`: a NameServer and broker-a.
    pub async fn single(case: &Case) -> Cluster {
        Cluster::start(case, Topology::Single).await
    }

    /// `conf/2m-noslave/`: a NameServer, broker-a and broker-b.
    pub async fn two_masters_no_slave(case: &Case) -> Cluster {
        Cluster::start(case, Topology::TwoMastersNoSlave).await
    }

    /// `conf/2m-2s-async/`: a NameServer, broker-a, broker-b, broker-a-s, broker-b-s.
    pub async fn two_masters_two_slaves_async(case: &Case) -> Cluster {
        Cluster::start(case, Topology::TwoMastersTwoSlavesAsync).await
    }

    /// `conf/2m-2s-sync/`: a NameServer, broker-a, broker-b, broker-a-s, broker-b-s.
    pub async fn two_masters_two_slaves_sync(case: &Case) -> Cluster {
        Cluster::start(case, Topology::TwoMastersTwoSlavesSync).await
    }

    /// Starts `topology` with one NameServer.
    pub async fn start(case: &Case, topology: Topology) -> Cluster {
        Cluster::start_with(case, topology, Options::default()).await
    }

    /// Makes the network, starts the NameServers, the masters, then the
    /// slaves, each waited for on its boot line.
    pub async fn start_with(case: &Case, topology: Topology, options: Options) -> Cluster {
        let docker = docker::docker();
        let network = case.next_resource_name();
        docker
            .create_network(NetworkCreateRequest {
                name: network.clone(),
                driver: Some("bridge".to_owned()),
                labels: Some(docker::labels(case.run())),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("create network {network}: {e}"));
        let mut cluster = Cluster {
            network: network.clone(),
            docker: docker.clone(),
            namesrvs: Vec::new(),
            namesrv_ports: Vec::new(),
            brokers: Vec::new(),
            admin: Admin::default(),
        };
        let controllers =
            if topology == Topology::ControllerMode { options.controllers.min(options.namesrvs) } else { 0 };
        let namesrv_name = |i: usize| format!("{network}-namesrv-{i}");
        // Each controller's peer entry names its NameServer's container, so
        // that brokers reach the leader address the controllers give out.
        let peers: Vec<String> =
            (1..=controllers).map(|i| format!("n{}-{}:{CONTROLLER_PORT}", i - 1, namesrv_name(i))).collect();
        for i in 1..=options.namesrvs {
            let name = namesrv_name(i);
            let port = free_host_port();
            let image = base_image().with_exposed_port(NAMESRV_PORT.tcp());
            let controller = if i <= controllers {
                format!(
                    "enableControllerInNamesrv=true\ncontrollerDLegerGroup=group1\n\
                     controllerDLegerPeers={}\ncontrollerDLegerSelfId=n{}\n\
                     scanNotActiveBrokerInterval=1000",
                    peers.join(";"),
                    i - 1
                )
            } else {
                String::new()
            };
            let request = image
                .with_env_var("RMQ_NAMESRV_PROPS", controller)
                .with_cmd(["nameserver"])
                .with_mapped_port(port, NAMESRV_PORT.tcp())
                .with_network(&network)
                .with_container_name(&name)
                .with_labels(docker::labels(case.run()))
                .with_startup_timeout(BOOT_TIMEOUT);
            let container = request.start().await.unwrap_or_else(|e| panic!("start {name}: {e}"));
            cluster.namesrvs.push(Node::new(name, network.clone(), docker.clone(), container));
            cluster.namesrv_ports.push(port);
        }
        let ns_list =
            cluster.namesrvs.iter().map(|n| format!("{}:{NAMESRV_PORT}", n.name())).collect::<Vec<_>>().join(";");
        let controller_props = (topology == Topology::ControllerMode).then(|| {
            // The samples name 127.0.0.1 and give each node its own port, for
            // one host; here the controllers are NameServer containers, and
            // each broker has a container of its own.
            let addrs: Vec<String> =
                cluster.namesrvs[..controllers].iter().map(|n| format!("{}:{CONTROLLER_PORT}", n.name())).collect();
            [format!("controllerAddr={}", addrs.join(";")), format!("listenPort={BROKER_PORT}")]
        });
        let props = TEST_PROPS
            .iter()
            .map(|s| (*s).to_owned())
            .chain(controller_props.into_iter().flatten())
            .chain(options.broker_props.iter().cloned());
        let props = props.collect::<Vec<_>>().join("\n");
        for (stem, conf) in topology.brokers() {
            let name = format!("{network}-{stem}");
            let request = base_image()
                .with_cmd(["broker", "-c", conf.as_str(), "-n", ns_list.as_str()])
                .with_env_var("RMQ_BROKER_PROPS", props.as_str())
                .with_network(&network)
                .with_container_name(&name)
                .with_labels(docker::labels(case.run()))
                .with_startup_timeout(BOOT_TIMEOUT);
            let container = request.start().await.unwrap_or_else(|e| panic!("start {name}: {e}"));
            cluster.brokers.push((stem, Node::new(name, network.clone(), docker.clone(), container)));
        }
        cluster
    }

    /// The NameServer list for clients on the host: `127.0.0.1:<published port>;...`.
    /// The ports are fixed at creation, so they survive restarts.
    pub fn namesrv_addr(&self) -> String {
        self.namesrv_ports.iter().map(|p| format!("127.0.0.1:{p}")).collect::<Vec<_>>().join(";")
    }

    /// NameServer `i` (from 0) and its address on the host.
    pub fn namesrv(&self, i: usize) -> (&Node, String) {
        (&self.namesrvs[i], format!("127.0.0.1:{}", self.namesrv_ports[i]))
    }

    /// The broker started from file `stem` (`broker-a`, `broker-b-s`, ...).
    pub fn broker(&self, stem: &str) -> &Node {
        self.brokers
            .iter()
            .find(|(s, _)| *s == stem)
            .map(|(_, n)| n)
            .unwrap_or_else(|| panic!("no broker {stem} in this cluster"))
    }

    /// The address broker `stem` serves clients on (container address:10911).
    pub async fn broker_addr(&self, stem: &str) -> String {
        self.broker(stem).addr(BROKER_PORT).await
    }

    /// Controller mode: the broker the NameServers list as master of
    /// broker-a (brokerId 0), as `(stem, address)`.
    pub async fn controller_master(&self) -> Option<(&'static str, String)> {
        let groups = self.registered(0).await;
        let addr = groups.iter().find(|(name, _)| name == "broker-a")?.1.iter().find(|(id, _)| *id == 0)?.1.clone();
        for (stem, node) in &self.brokers {
            if node.ip().await.is_some_and(|ip| addr == format!("{ip}:{BROKER_PORT}")) {
                return Some((stem, addr));
            }
        }
        None
    }

    /// Controller mode: waits until broker-a's in-sync set has both brokers
    /// (the replica caught up and the master reported it); false after `within`.
    pub async fn wait_both_in_sync(&self, within: Duration) -> bool {
        eventually(within, || async {
            let Some(i) = self.controller_leader().await else { return false };
            let controller = self.namesrvs[i].addr(CONTROLLER_PORT).await;
            self.admin.in_sync_set(&controller, "broker-a").await.len() >= 2
        })
        .await
    }

    /// Controller mode: which NameServer (from 0) carries the controller
    /// leader, as the first controller that answers says.
    pub async fn controller_leader(&self) -> Option<usize> {
        for node in &self.namesrvs {
            let Some(ip) = node.ip().await else { continue };
            if let Some(leader) = self.admin.controller_leader(&format!("{ip}:{CONTROLLER_PORT}")).await {
                return self.namesrvs.iter().position(|n| leader.starts_with(&format!("{}:", n.name())));
            }
        }
        None
    }

    /// Stems of the masters.
    pub fn masters(&self) -> Vec<&'static str> {
        self.brokers.iter().map(|(s, _)| *s).filter(|s| !s.ends_with("-s")).collect()
    }

    pub fn admin(&self) -> &Admin {
        &self.admin
    }

    /// Creates `topic` with `queues` queues on every master, and on a
    /// replicated cluster waits until every slave is attached and knows it
    /// (slaves copy topic configs from their master every 10 s).
    pub async fn create_topic(&self, topic: &str, queues: i32) {
        for master in self.masters() {
            self.admin.create_topic(&self.broker_addr(master).await, topic, queues).await;
        }
        for master in self.masters() {
            let slave = format!("{master}-s");
            if !self.brokers.iter().any(|(s, _)| *s == slave) {
                continue;
            }
            let (m, s) = (self.broker_addr(master).await, self.broker_addr(&slave).await);
            let attached = eventually(Duration::from_secs(30), || async {
                self.admin.info_i64(&m, "haConnectionCount").await.unwrap_or(0) >= 1
            })
            .await;
            assert!(attached, "{slave} did not attach to {master} within 30 s");
            let synced = eventually(Duration::from_secs(30), || self.admin.has_topic(&s, topic)).await;
            assert!(synced, "{slave} did not learn topic {topic} from {master} within 30 s");
        }
    }

    /// Waits until the slave of `master` holds everything its master holds
    /// (equal CommitLog max offsets, both up); false after `within`.
    pub async fn wait_slave_caught_up(&self, master: &str, within: Duration) -> bool {
        let (m, s) = (self.broker_addr(master).await, self.broker_addr(&format!("{master}-s")).await);
        eventually(within, || async {
            let master_max = self.admin.info_i64(&m, "commitLogMaxOffset").await;
            let slave_max = self.admin.info_i64(&s, "commitLogMaxOffset").await;
            matches!((master_max, slave_max), (Some(a), Some(b)) if a == b)
        })
        .await
    }

    /// The broker groups NameServer `i` lists, with their registered addresses
    /// (brokerId → address); empty if it does not answer.
    pub async fn registered(&self, i: usize) -> Vec<(String, Vec<(i64, String)>)> {
        let (_, addr) = self.namesrv(i);
        match self.admin.cluster_info(&addr).await {
            Some(info) => info
                .broker_addr_table
                .into_iter()
                .map(|(name, data)| (name, data.broker_addrs.into_iter().collect()))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Every container's output, for a failure message.
    pub async fn logs(&self) -> String {
        let mut out = String::new();
        for node in self.namesrvs.iter().chain(self.brokers.iter().map(|(_, n)| n)) {
            out.push_str(&node.logs().await);
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Containers first (each removes itself when dropped), then the network.
        self.brokers.clear();
        self.namesrvs.clear();
        let (docker, network) = (self.docker.clone(), self.network.clone());
        crate::case::block_on_cleanup(async move {
            for attempt in 0..5u64 {
                if docker.remove_network(&network).await.is_ok() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
            }
            eprintln!("[rmq-it] could not remove network {network}; the case's sweep will retry");
        });
    }
}

fn base_image() -> GenericImage {
    let (name, tag) = docker::image();
    GenericImage::new(name, tag).with_wait_for(WaitFor::message_on_stdout(BOOT_LINE))
}

/// A host port free now, for a NameServer's fixed mapping.
fn free_host_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free host port")
}
