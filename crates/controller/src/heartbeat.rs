//! Which brokers are alive: the last heartbeat (BROKER_HEARTBEAT) of every
//! broker, by cluster, group and id, as Java's `DefaultBrokerHeartbeatManager`.
//! Plain data; the current time is passed in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rmq_remoting::ConnectionId;

/// How long a broker that names no `heartbeatTimeoutMills` stays alive
/// after its last heartbeat (Java's `DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`).
pub const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);

/// One broker: cluster, group (`brokerName`) and controller-assigned id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerIdentity {
    pub cluster_name: String,
    pub broker_name: String,
    pub broker_id: i64,
}

/// What a heartbeat says about a broker, for election order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveInfo {
    pub broker_addr: String,
    pub last_update: Instant,
    pub timeout: Duration,
    pub connection: Option<ConnectionId>,
    /// The last master epoch the broker's log holds (-1: unknown).
    pub epoch: i32,
    /// The end of its commit log (-1: unknown).
    pub max_offset: i64,
    pub confirm_offset: i64,
    /// Lower is preferred; `i32::MAX` when not given.
    pub election_priority: i32,
    /// The broker runs with master leases (an rmq broker with
    /// `enableMasterLease`): a closed connection does not make it inactive,
    /// only its heartbeat timeout does, since as master it may still be
    /// taking sends until then.
    pub leased: bool,
}

/// A heartbeat's fields.
#[derive(Clone, Debug, Default)]
pub struct Heartbeat {
    pub broker_addr: String,
    pub timeout: Option<Duration>,
    pub epoch: Option<i32>,
    pub max_offset: Option<i64>,
    pub confirm_offset: Option<i64>,
    pub election_priority: Option<i32>,
    /// The broker runs with master leases (see [`LiveInfo::leased`]).
    pub leased: bool,
}

#[derive(Debug, Default)]
pub struct LiveTable {
    brokers: HashMap<BrokerIdentity, LiveInfo>,
}

impl LiveTable {
    /// Records a heartbeat. The election data only moves forward: a later
    /// epoch, or a larger offset in the same epoch (as Java).
    pub fn on_heartbeat(
        &mut self,
        who: BrokerIdentity,
        beat: Heartbeat,
        connection: Option<ConnectionId>,
        now: Instant,
    ) {
        let epoch = beat.epoch.unwrap_or(-1);
        let max_offset = beat.max_offset.unwrap_or(-1);
        let confirm_offset = beat.confirm_offset.unwrap_or(-1);
        let timeout = beat.timeout.unwrap_or(DEFAULT_HEARTBEAT_TIMEOUT);
        let priority = beat.election_priority.unwrap_or(i32::MAX);
        match self.brokers.get_mut(&who) {
            Some(prev) => {
                prev.last_update = now;
                prev.timeout = timeout;
                prev.election_priority = priority;
                prev.broker_addr = beat.broker_addr;
                prev.leased |= beat.leased;
                if connection.is_some() {
                    prev.connection = connection;
                }
                if epoch > prev.epoch || (epoch == prev.epoch && max_offset > prev.max_offset) {
                    prev.epoch = epoch;
                    prev.max_offset = max_offset;
                    prev.confirm_offset = confirm_offset;
                }
            }
            None => {
                tracing::info!(
                    "new broker registered, {}/{} id {} at {}",
                    who.cluster_name,
                    who.broker_name,
                    who.broker_id,
                    beat.broker_addr
                );
                self.brokers.insert(
                    who,
                    LiveInfo {
                        broker_addr: beat.broker_addr,
                        last_update: now,
                        timeout,
                        connection,
                        epoch,
                        max_offset,
                        confirm_offset,
                        election_priority: priority,
                        leased: beat.leased,
                    },
                );
            }
        }
    }

    /// Removes and returns the brokers silent for longer than their timeout.
    pub fn expire(&mut self, now: Instant) -> Vec<(BrokerIdentity, LiveInfo)> {
        let gone: Vec<BrokerIdentity> = self
            .brokers
            .iter()
            .filter(|(_, info)| now.saturating_duration_since(info.last_update) > info.timeout)
            .map(|(who, _)| who.clone())
            .collect();
        gone.into_iter().filter_map(|who| self.brokers.remove_entry(&who)).collect()
    }

    /// Removes and returns the brokers that heart-beat over `connection`,
    /// but for lease holders: they stay until their timeout.
    pub fn remove_connection(&mut self, connection: ConnectionId) -> Vec<BrokerIdentity> {
        let gone: Vec<BrokerIdentity> = self
            .brokers
            .iter()
            .filter(|(_, info)| info.connection == Some(connection) && !info.leased)
            .map(|(who, _)| who.clone())
            .collect();
        for who in &gone {
            self.brokers.remove(who);
        }
        gone
    }

    pub fn is_alive(&self, who: &BrokerIdentity, now: Instant) -> bool {
        self.brokers.get(who).is_some_and(|info| info.last_update + info.timeout >= now)
    }

    pub fn get(&self, who: &BrokerIdentity) -> Option<&LiveInfo> {
        self.brokers.get(who)
    }

    /// Whether a broker of group `broker_name` runs with master leases.
    pub fn group_uses_leases(&self, broker_name: &str) -> bool {
        self.brokers.iter().any(|(who, info)| info.leased && who.broker_name == broker_name)
    }

    /// The longest heartbeat timeout among the brokers, or the default
    /// when none is known: how long a new leader holds elections back.
    pub fn longest_timeout(&self) -> Duration {
        self.brokers.values().map(|info| info.timeout).max().unwrap_or(DEFAULT_HEARTBEAT_TIMEOUT)
    }
}

/// The table at one instant, as the state machine asks it.
#[derive(Debug, Clone, Copy)]
pub struct LiveView<'a> {
    pub table: &'a LiveTable,
    pub now: Instant,
}

/// What the state machine needs to know of liveness.
pub trait Liveness {
    fn is_alive(&self, cluster: &str, broker_name: &str, broker_id: i64) -> bool;
    fn live_info(&self, cluster: &str, broker_name: &str, broker_id: i64) -> Option<LiveInfo>;
}

fn identity(cluster: &str, broker_name: &str, broker_id: i64) -> BrokerIdentity {
    BrokerIdentity { cluster_name: cluster.to_owned(), broker_name: broker_name.to_owned(), broker_id }
}

impl Liveness for LiveView<'_> {
    fn is_alive(&self, cluster: &str, broker_name: &str, broker_id: i64) -> bool {
        self.table.is_alive(&identity(cluster, broker_name, broker_id), self.now)
    }

    fn live_info(&self, cluster: &str, broker_name: &str, broker_id: i64) -> Option<LiveInfo> {
        self.table.get(&identity(cluster, broker_name, broker_id)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(id: i64) -> BrokerIdentity {
        identity("c", "broker-a", id)
    }

    #[test]
    fn expiry_follows_each_brokers_timeout() {
        let t0 = Instant::now();
        let mut table = LiveTable::default();
        let beat = |ms| Heartbeat {
            broker_addr: "a".into(),
            timeout: Some(Duration::from_millis(ms)),
            ..Heartbeat::default()
        };
        table.on_heartbeat(who(1), beat(1_000), None, t0);
        table.on_heartbeat(who(2), beat(5_000), None, t0);
        assert!(table.is_alive(&who(1), t0 + Duration::from_millis(1_000)));
        let gone = table.expire(t0 + Duration::from_millis(1_001));
        assert_eq!(gone.into_iter().map(|(w, _)| w).collect::<Vec<_>>(), [who(1)]);
        assert!(!table.is_alive(&who(1), t0));
        assert!(table.is_alive(&who(2), t0 + Duration::from_millis(1_001)));
    }

    #[test]
    fn election_data_only_moves_forward() {
        let t0 = Instant::now();
        let mut table = LiveTable::default();
        let beat = |epoch, offset| Heartbeat {
            broker_addr: "a".into(),
            epoch: Some(epoch),
            max_offset: Some(offset),
            ..Heartbeat::default()
        };
        table.on_heartbeat(who(1), beat(2, 100), None, t0);
        table.on_heartbeat(who(1), beat(1, 500), None, t0);
        assert_eq!((table.get(&who(1)).unwrap().epoch, table.get(&who(1)).unwrap().max_offset), (2, 100));
        table.on_heartbeat(who(1), beat(2, 150), None, t0);
        assert_eq!(table.get(&who(1)).unwrap().max_offset, 150);
    }

    #[test]
    fn a_lease_holder_outlives_its_closed_connection_until_its_timeout() {
        let t0 = Instant::now();
        let mut table = LiveTable::default();
        let conn = ConnectionId(7);
        let beat = |leased| Heartbeat {
            broker_addr: "a".into(),
            timeout: Some(Duration::from_millis(3_000)),
            leased,
            ..Heartbeat::default()
        };
        table.on_heartbeat(who(1), beat(false), Some(conn), t0);
        table.on_heartbeat(who(2), beat(false), Some(conn), t0);
        // A renewal marks the holder; later oneway beats do not unmark it.
        table.on_heartbeat(who(2), beat(true), Some(conn), t0);
        table.on_heartbeat(who(2), beat(false), Some(conn), t0);
        assert!(table.group_uses_leases("broker-a"));
        assert!(!table.group_uses_leases("broker-b"));
        assert_eq!(table.remove_connection(conn), [who(1)]);
        assert!(table.is_alive(&who(2), t0 + Duration::from_millis(3_000)));
        let gone = table.expire(t0 + Duration::from_millis(3_001));
        assert_eq!(gone.into_iter().map(|(w, _)| w).collect::<Vec<_>>(), [who(2)]);
    }

    #[test]
    fn a_new_leader_waits_the_longest_timeout_it_knows() {
        let mut table = LiveTable::default();
        assert_eq!(table.longest_timeout(), DEFAULT_HEARTBEAT_TIMEOUT);
        for (id, ms) in [(1, 2_000), (2, 15_000)] {
            let beat = Heartbeat { timeout: Some(Duration::from_millis(ms)), ..Heartbeat::default() };
            table.on_heartbeat(who(id), beat, None, Instant::now());
        }
        assert_eq!(table.longest_timeout(), Duration::from_millis(15_000));
    }
}
