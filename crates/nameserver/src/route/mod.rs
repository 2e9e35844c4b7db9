//! The route table: which broker groups exist, where their members are, which
//! topics each group hosts, and which brokers are still alive (Java's
//! `RouteInfoManager`).
//!
//! It is plain data changed through `&mut self`; the caller holds it behind one
//! lock and passes the current time in, so every rule (expiry included) is
//! tested without sockets or clocks. Reads live in [`query`].
//!
//! Invariants kept by every operation:
//! * a broker name is in `clusters[c]` iff `brokers[name].cluster == c`
//!   (until a group re-registers under another cluster, as Java allows);
//! * a group in `brokers` has at least one member address;
//! * `topics[t]` is never empty, and each of its broker names was in
//!   `brokers` when the topic was last written (wipes of a whole group remove
//!   its queue data).

mod admin;
mod query;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rmq_model::DataVersion;
use rmq_model::tables::TopicConfigSerializeWrapper;
use rmq_protocol::body::route::{BrokerData, MASTER_ID, QueueData};
use rmq_remoting::ConnectionId;

pub use query::SystemTopics;

/// One REGISTER_BROKER, decoded.
#[derive(Clone, Debug, Default)]
pub struct Registration {
    pub cluster: String,
    pub broker_name: String,
    /// `brokerIP1:listenPort`, the key of the live table.
    pub broker_addr: String,
    /// 0 for the master.
    pub broker_id: i64,
    /// `brokerIP2:haListenPort`, given to this group's slaves.
    pub ha_server_addr: Option<String>,
    /// 5.x `heartbeatTimeoutMillis`; the table's default when absent.
    pub timeout: Option<Duration>,
    pub topics: TopicConfigSerializeWrapper,
    pub filter_servers: Vec<String>,
    /// 5.x `__ZONE_NAME` ext field: the group's zone, shown in routes.
    pub zone_name: Option<String>,
    /// The connection it came over: closing it removes the broker.
    pub connection: Option<ConnectionId>,
}

/// What a registering broker is told: for a slave whose master is alive,
/// where the master is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegisterOutcome {
    pub master_addr: Option<String>,
    pub ha_server_addr: Option<String>,
}

/// A broker removed for silence, with the connection it used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiredBroker {
    pub broker_addr: String,
    pub connection: Option<ConnectionId>,
    /// How long it had been silent.
    pub silent_for: Duration,
}

/// Keep-alive state of one broker address (`BrokerLiveInfo`).
#[derive(Clone, Debug)]
struct LiveBroker {
    last_update: Instant,
    timeout: Duration,
    data_version: DataVersion,
    ha_server_addr: Option<String>,
    connection: Option<ConnectionId>,
}

#[derive(Debug)]
pub struct RouteTable {
    /// topic → broker name → queue data.
    topics: BTreeMap<String, BTreeMap<String, QueueData>>,
    /// broker name → the group's members.
    brokers: BTreeMap<String, BrokerData>,
    /// cluster → broker names.
    clusters: BTreeMap<String, BTreeSet<String>>,
    /// broker address → keep-alive.
    live: HashMap<String, LiveBroker>,
    /// broker address → its filter servers.
    filter_servers: HashMap<String, Vec<String>>,
    /// How long a broker may stay silent when it did not say (Java: 120 s).
    default_timeout: Duration,
}

impl RouteTable {
    pub fn new(default_timeout: Duration) -> RouteTable {
        RouteTable {
            topics: BTreeMap::new(),
            brokers: BTreeMap::new(),
            clusters: BTreeMap::new(),
            live: HashMap::new(),
            filter_servers: HashMap::new(),
            default_timeout,
        }
    }

    /// Records a registration (4.9.8 `RouteInfoManager.registerBroker`).
    pub fn register(&mut self, reg: Registration, now: Instant) -> RegisterOutcome {
        self.clusters.entry(reg.cluster.clone()).or_default().insert(reg.broker_name.clone());

        let mut first = !self.brokers.contains_key(&reg.broker_name);
        let group = self
            .brokers
            .entry(reg.broker_name.clone())
            .or_insert_with(|| BrokerData::new(&reg.cluster, &reg.broker_name));
        // The group keeps the cluster it was first registered with, as Java's
        // does: a slave configured with another brokerClusterName does not flip it.
        if reg.zone_name.is_some() {
            group.zone_name.clone_from(&reg.zone_name);
        }
        // One address holds one id: a slave promoted to master (or renumbered)
        // leaves its old id behind.
        group.broker_addrs.retain(|id, addr| *addr != reg.broker_addr || *id == reg.broker_id);
        first |= group.broker_addrs.insert(reg.broker_id, reg.broker_addr.clone()).is_none();

        let version = &reg.topics.data_version;
        if reg.broker_id == MASTER_ID && (first || self.topic_config_changed(&reg.broker_addr, version)) {
            for config in reg.topics.topic_config_table.values() {
                let queue = QueueData {
                    broker_name: reg.broker_name.clone(),
                    perm: config.perm,
                    read_queue_nums: config.read_queue_nums,
                    topic_sys_flag: config.topic_sys_flag,
                    write_queue_nums: config.write_queue_nums,
                };
                self.topics.entry(config.topic_name.clone()).or_default().insert(reg.broker_name.clone(), queue);
            }
        }

        let previous = self.live.insert(
            reg.broker_addr.clone(),
            LiveBroker {
                last_update: now,
                timeout: reg.timeout.unwrap_or(self.default_timeout),
                data_version: reg.topics.data_version.clone(),
                ha_server_addr: reg.ha_server_addr.clone(),
                connection: reg.connection,
            },
        );
        if previous.is_none() {
            tracing::info!(
                "new broker registered, {} HAServer: {}",
                reg.broker_addr,
                reg.ha_server_addr.as_deref().unwrap_or("")
            );
        }

        if reg.filter_servers.is_empty() {
            self.filter_servers.remove(&reg.broker_addr);
        } else {
            self.filter_servers.insert(reg.broker_addr.clone(), reg.filter_servers);
        }

        if reg.broker_id == MASTER_ID {
            return RegisterOutcome::default();
        }
        let master_addr = self.brokers.get(&reg.broker_name).and_then(|g| g.master_addr());
        match master_addr.and_then(|addr| self.live.get(addr).map(|live| (addr, live))) {
            Some((addr, live)) => {
                RegisterOutcome { master_addr: Some(addr.to_owned()), ha_server_addr: live.ha_server_addr.clone() }
            }
            None => RegisterOutcome::default(),
        }
    }

    /// Whether `version` differs from what the broker at `broker_addr` last
    /// registered with (true for an unknown broker).
    pub fn topic_config_changed(&self, broker_addr: &str, version: &DataVersion) -> bool {
        self.live.get(broker_addr).is_none_or(|live| live.data_version != *version)
    }

    /// The DataVersion the broker at `broker_addr` last registered with.
    pub fn data_version(&self, broker_addr: &str) -> Option<&DataVersion> {
        self.live.get(broker_addr).map(|live| &live.data_version)
    }

    /// Refreshes a known broker's keep-alive; false if it is unknown.
    pub fn touch(&mut self, broker_addr: &str, now: Instant) -> bool {
        self.live.get_mut(broker_addr).map(|live| live.last_update = now).is_some()
    }

    /// UNREGISTER_BROKER: the member `broker_id` leaves group `broker_name`;
    /// the group goes when its last member does (4.9.8 `RouteInfoManager.unregisterBroker`).
    pub fn unregister(&mut self, cluster: &str, broker_addr: &str, broker_name: &str, broker_id: i64) {
        let live = self.live.remove(broker_addr);
        self.filter_servers.remove(broker_addr);
        tracing::info!(
            "unregisterBroker, remove from brokerLiveTable {}, {}",
            if live.is_some() { "OK" } else { "Failed" },
            broker_addr
        );
        let Some(group) = self.brokers.get_mut(broker_name) else { return };
        // Only the broker's own entry: Java removes whatever holds the id,
        // so an old master stepping down (controller mode) would unlist the
        // new master that registered as id 0 a moment before.
        if group.broker_addrs.get(&broker_id).is_some_and(|listed| listed == broker_addr) {
            group.broker_addrs.remove(&broker_id);
        }
        if group.broker_addrs.is_empty() {
            self.brokers.remove(broker_name);
            self.forget_group(cluster, broker_name);
        }
    }

    /// Removes every trace of `broker_addr` (its connection closed or it
    /// expired): the address leaves whatever group lists it, and a group left
    /// empty leaves its cluster and every topic.
    pub fn remove_addr(&mut self, broker_addr: &str) {
        self.live.remove(broker_addr);
        self.filter_servers.remove(broker_addr);
        let mut emptied = Vec::new();
        for (name, group) in &mut self.brokers {
            let before = group.broker_addrs.len();
            group.broker_addrs.retain(|_, addr| addr != broker_addr);
            if group.broker_addrs.len() != before && group.broker_addrs.is_empty() {
                emptied.push((group.cluster.clone(), name.clone()));
            }
        }
        for (cluster, name) in emptied {
            self.brokers.remove(&name);
            self.forget_group(&cluster, &name);
        }
    }

    /// Removes every broker that registered over `connection`; returns their
    /// addresses.
    pub fn remove_connection(&mut self, connection: ConnectionId) -> Vec<String> {
        let gone: Vec<String> = self
            .live
            .iter()
            .filter(|(_, live)| live.connection == Some(connection))
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &gone {
            self.remove_addr(addr);
        }
        gone
    }

    /// Removes every broker silent for longer than its timeout
    /// (`scanNotActiveBroker`).
    pub fn expire(&mut self, now: Instant) -> Vec<ExpiredBroker> {
        let expired: Vec<ExpiredBroker> = self
            .live
            .iter()
            .filter_map(|(addr, live)| {
                let silent_for = now.saturating_duration_since(live.last_update);
                (silent_for > live.timeout).then(|| ExpiredBroker {
                    broker_addr: addr.clone(),
                    connection: live.connection,
                    silent_for,
                })
            })
            .collect();
        for gone in &expired {
            self.remove_addr(&gone.broker_addr);
        }
        expired
    }

    /// Whether any live broker still uses `connection`.
    pub fn connection_in_use(&self, connection: ConnectionId) -> bool {
        self.live.values().any(|live| live.connection == Some(connection))
    }

    /// Drops `broker_name` from its cluster and from every topic.
    fn forget_group(&mut self, cluster: &str, broker_name: &str) {
        let mut cluster_emptied = false;
        if let Some(names) = self.clusters.get_mut(cluster) {
            names.remove(broker_name);
            cluster_emptied = names.is_empty();
        }
        if cluster_emptied {
            self.clusters.remove(cluster);
        }
        let mut removed = 0usize;
        self.topics.retain(|topic, queues| {
            if queues.remove(broker_name).is_some() {
                tracing::debug!("removeTopicByBrokerName, remove one broker's topic {broker_name} {topic}");
                removed += 1;
            }
            !queues.is_empty()
        });
        tracing::info!(
            "broker group {broker_name} left cluster {cluster}, its queue data removed from {removed} topics"
        );
    }
}

#[cfg(test)]
mod tests;
