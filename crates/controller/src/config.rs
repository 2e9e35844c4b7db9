//! The controller's configuration: the keys of Java 5's `ControllerConfig`
//! with its defaults, and the DLedger peer list they name.
//!
//! Java's controller listens where its own entry of `controllerDLegerPeers`
//! says (DLedger binds that port whatever `listenPort` holds), standalone or
//! inside a NameServer; rmq does the same. Keys of Java's thread pools and
//! DLedger store are accepted and kept for GET_CONTROLLER_CONFIG, without
//! effect.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rmq_model::config_struct;

use crate::error::ControllerError;

config_struct! {
    /// Every key of a controller `.properties` file rmq knows.
    pub struct ControllerConfig {
        /// Installation directory; from `ROCKETMQ_HOME` when unset.
        rocketmq_home: Option<String> = "rocketmqHome" => std::env::var("ROCKETMQ_HOME").ok(),
        /// Where the configuration was loaded from (`-c`).
        config_store_path: String = "configStorePath" => String::new(),
        /// `DLedger` or `jRaft` in Java; rmq has one kind (see the crate docs).
        controller_type: String = "controllerType" => "DLedger".to_owned(),
        /// Period of the scan for brokers whose heartbeats stopped, ms.
        scan_not_active_broker_interval: u64 = "scanNotActiveBrokerInterval" => 5_000,
        /// Java's request thread pool; accepted, no effect.
        controller_thread_pool_nums: u32 = "controllerThreadPoolNums" => 16,
        /// Java's request queue; accepted, no effect.
        controller_request_thread_pool_queue_capacity: u32 = "controllerRequestThreadPoolQueueCapacity" => 50_000,
        /// The name of the controller group (GET_METADATA_INFO's `group`).
        controller_d_leger_group: String = "controllerDLegerGroup" => String::new(),
        /// `id-host:port` entries separated by `;`: one controller, or the
        /// members of a Raft group.
        controller_d_leger_peers: String = "controllerDLegerPeers" => String::new(),
        /// Which entry of `controllerDLegerPeers` this controller is.
        controller_d_leger_self_id: String = "controllerDLegerSelfId" => String::new(),
        /// DLedger's segment size; accepted, no effect.
        mapped_file_size: u64 = "mappedFileSize" => 1 << 30,
        /// Directory of the event log (alone) or of `raft/` (in a group);
        /// empty: `~/controller/store` (rmq's choice).
        controller_store_path: String = "controllerStorePath" => String::new(),
        /// Elections tried per broker-inactive notice before waiting for the next scan.
        elect_master_max_retry_count: u32 = "electMasterMaxRetryCount" => 3,
        /// Elect a replica outside the in-sync set when none inside is alive
        /// (messages the old master acknowledged may be lost).
        enable_elect_unclean_master: bool = "enableElectUncleanMaster" => false,
        /// Java's read events through DLedger; accepted, no effect.
        is_process_read_event: bool = "isProcessReadEvent" => false,
        /// Tell the members of a group (NOTIFY_BROKER_ROLE_CHANGED) when it gets a new master.
        notify_broker_role_changed: bool = "notifyBrokerRoleChanged" => true,
        /// Period of the scan for groups whose master is not alive, ms.
        scan_inactive_master_interval: u64 = "scanInactiveMasterInterval" => 5_000,
        /// `;`-separated keys UPDATE_CONTROLLER_CONFIG may not change.
        config_black_list: String = "configBlackList" => "configBlackList;configStorePath".to_owned(),
        /// rmq's own: the address the controller port binds.
        bind_address: String = "bindAddress" => "0.0.0.0".to_owned(),
    }
}

/// Java's keys that tune what rmq does not have; accepted so that a Java
/// file starts rmq unchanged.
pub const JAVA_ONLY_KEYS: &[&str] = &[
    "listenPort",
    "jRaftGroupId",
    "jRaftServerId",
    "jRaftInitConf",
    "jRaftControllerRPCAddr",
    "metricsExporterType",
    "serverWorkerThreads",
    "serverCallbackExecutorThreads",
    "serverSelectorThreads",
];

/// One entry of `controllerDLegerPeers`. Also the Raft membership's node
/// value, so that every member can name the leader's id and address.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Peer {
    pub id: String,
    pub addr: String,
}

impl ControllerConfig {
    /// The defaults, with paths under `home` (Java's `user.home`).
    pub fn with_home(home: &Path) -> ControllerConfig {
        ControllerConfig {
            config_store_path: home.join("controller").join("controller.properties").to_string_lossy().into_owned(),
            ..ControllerConfig::default()
        }
    }

    /// `controllerDLegerPeers` parsed: `n0-127.0.0.1:9878;n1-…`.
    pub fn peers(&self) -> Result<Vec<Peer>, ControllerError> {
        let mut peers = Vec::new();
        for entry in self.controller_d_leger_peers.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, addr) = entry.split_once('-').ok_or_else(|| bad_peers(self, "an entry is not id-host:port"))?;
            let port_ok =
                addr.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if id.trim().is_empty() || !port_ok {
                return Err(bad_peers(self, "an entry is not id-host:port"));
            }
            peers.push(Peer { id: id.trim().to_owned(), addr: addr.trim().to_owned() });
        }
        if peers.is_empty() {
            return Err(ControllerError::Config(
                "Attribute value controllerDLegerPeers of ControllerConfig is null or empty".into(),
            ));
        }
        Ok(peers)
    }

    /// This controller's own peer entry.
    pub fn self_peer(&self) -> Result<Peer, ControllerError> {
        let peers = self.peers()?;
        let self_id = self.controller_d_leger_self_id.trim();
        if self_id.is_empty() {
            return Err(ControllerError::Config(
                "Attribute value controllerDLegerSelfId of ControllerConfig is null or empty".into(),
            ));
        }
        let me = peers.iter().find(|p| p.id == self_id).cloned().ok_or_else(|| {
            ControllerError::Config(format!("controllerDLegerSelfId {self_id} is not in controllerDLegerPeers"))
        })?;
        Ok(me)
    }

    /// The port this controller listens on: its own peer entry's.
    pub fn listen_port(&self) -> Result<u16, ControllerError> {
        let me = self.self_peer()?;
        me.addr
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .ok_or_else(|| bad_peers(self, "the port does not parse"))
    }

    /// Where the event log lives.
    pub fn store_dir(&self, home: &Path) -> PathBuf {
        if self.controller_store_path.trim().is_empty() {
            home.join("controller").join("store")
        } else {
            PathBuf::from(self.controller_store_path.trim())
        }
    }

    pub fn scan_not_active_broker_interval(&self) -> Duration {
        Duration::from_millis(self.scan_not_active_broker_interval.max(1))
    }

    pub fn scan_inactive_master_interval(&self) -> Duration {
        Duration::from_millis(self.scan_inactive_master_interval.max(1))
    }

    /// Keys UPDATE_CONTROLLER_CONFIG refuses (Java's processor adds
    /// `rocketmqHome` and the two of its own list).
    pub fn black_list(&self) -> Vec<&str> {
        let mut keys = vec!["configBlackList", "configStorePath", "rocketmqHome"];
        keys.extend(self.config_black_list.split(';').map(str::trim).filter(|k| !k.is_empty()));
        keys
    }

    /// Every key as `key=value` lines, GET_CONTROLLER_CONFIG's body.
    pub fn to_properties_text(&self) -> String {
        self.entries().into_iter().map(|(k, v)| format!("{k}={v}\n")).collect()
    }
}

fn bad_peers(config: &ControllerConfig, reason: &str) -> ControllerError {
    ControllerError::Config(format!("controllerDLegerPeers '{}': {reason}", config.controller_d_leger_peers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_peers(peers: &str, me: &str) -> ControllerConfig {
        let mut c = ControllerConfig::default();
        c.apply("controllerDLegerPeers", peers).unwrap();
        c.apply("controllerDLegerSelfId", me).unwrap();
        c
    }

    #[test]
    fn listens_on_its_own_peer_port() {
        let c = with_peers("n0-127.0.0.1:9878", "n0");
        assert_eq!(c.listen_port().unwrap(), 9878);
        assert_eq!(c.self_peer().unwrap(), Peer { id: "n0".into(), addr: "127.0.0.1:9878".into() });
    }

    #[test]
    fn refuses_missing_or_foreign_peers_and_accepts_several() {
        assert!(with_peers("", "n0").listen_port().is_err());
        assert!(with_peers("n0-127.0.0.1:9878", "").listen_port().is_err());
        assert!(with_peers("n0-127.0.0.1:9878", "n1").listen_port().is_err());
        assert!(with_peers("n0-127.0.0.1", "n0").listen_port().is_err());
        assert_eq!(with_peers("n0-127.0.0.1:9878;n1-127.0.0.1:9868", "n1").listen_port().unwrap(), 9868);
    }

    #[test]
    fn java_defaults() {
        let c = ControllerConfig::default();
        assert_eq!(c.scan_not_active_broker_interval, 5_000);
        assert!(c.notify_broker_role_changed);
        assert!(!c.enable_elect_unclean_master);
        assert_eq!(c.elect_master_max_retry_count, 3);
        assert!(c.black_list().contains(&"configStorePath"));
    }
}
