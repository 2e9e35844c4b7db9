//! The clients of the remoting port: which producer and consumer groups each
//! connection heart-beats for, and what each consumer group subscribes to.
//!
//! The proxy answers GET_CONSUMER_LIST_BY_GROUP from here, fills a pull's
//! subscription from here, and tells a group's members when the group
//! changes (NOTIFY_CONSUMER_IDS_CHANGED), as a broker would, so they
//! rebalance at once rather than at their next 20 s round. It also registers
//! the consumers at the brokers (`consumers`), so the admin calls brokers
//! relay to a consumer reach them; Java's cluster-mode proxy keeps them to
//! itself.

use rmq_protocol::body::heartbeat::{ConsumerData, HeartbeatData, SubscriptionData};
use rmq_remoting::{Connection, ConnectionId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What one connection registered.
#[derive(Debug)]
struct Member {
    conn: Connection,
    client_id: String,
    producers: BTreeSet<String>,
    /// Consumer group → its subscriptions by topic.
    consumers: BTreeMap<String, BTreeMap<String, SubscriptionData>>,
    /// Consumer group → how it consumes (its heartbeat's data, without the
    /// subscriptions), for registering it at the brokers.
    kinds: BTreeMap<String, ConsumerData>,
    /// When its groups were last registered at the brokers.
    registered_at: Option<Instant>,
}

/// How often a client's heartbeats are passed on to the brokers when its
/// groups stay the same: often enough for the brokers' 120 s, and a client
/// heart-beating in a loop cannot make the proxy do so too.
const REGISTER_AGAIN_AFTER: Duration = Duration::from_secs(10);

/// What a heartbeat changed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Changed {
    /// The consumer groups the connection joined or left.
    pub consumer_groups: Vec<String>,
    /// Whether its producer groups are others than before.
    pub producers_changed: bool,
}

#[derive(Debug, Default)]
pub(crate) struct RemotingClients {
    members: Mutex<HashMap<ConnectionId, Member>>,
}

impl RemotingClients {
    fn members(&self) -> std::sync::MutexGuard<'_, HashMap<ConnectionId, Member>> {
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a heartbeat; returns what it changed. A heartbeat
    /// `withoutSub` keeps the group's subscriptions from before.
    pub fn heartbeat(&self, conn: &Connection, data: HeartbeatData) -> Changed {
        let mut members = self.members();
        let member = members.entry(conn.id()).or_insert_with(|| Member {
            conn: conn.clone(),
            client_id: String::new(),
            producers: BTreeSet::new(),
            consumers: BTreeMap::new(),
            kinds: BTreeMap::new(),
            registered_at: None,
        });
        member.client_id = data.client_id;
        let producers: BTreeSet<String> = data.producer_data_set.into_iter().map(|p| p.group_name).collect();
        let producers_changed = producers != member.producers;
        member.producers = producers;
        let keep_subscriptions = data.without_sub == Some(true);
        let before: BTreeSet<String> = member.consumers.keys().cloned().collect();
        let mut consumers = BTreeMap::new();
        member.kinds.clear();
        for group in data.consumer_data_set {
            let name = group.group_name.clone();
            let subscriptions = if keep_subscriptions && group.subscription_data_set.is_empty() {
                member.consumers.remove(&name).unwrap_or_default()
            } else {
                group.subscription_data_set.iter().map(|s| (s.topic.clone(), s.clone())).collect()
            };
            member.kinds.insert(name.clone(), ConsumerData { subscription_data_set: Vec::new(), ..group });
            consumers.insert(name, subscriptions);
        }
        member.consumers = consumers;
        let after: BTreeSet<String> = member.consumers.keys().cloned().collect();
        Changed { consumer_groups: before.symmetric_difference(&after).cloned().collect(), producers_changed }
    }

    /// UNREGISTER_CLIENT of one producer and/or consumer group; returns the
    /// consumer groups left.
    pub fn unregister(&self, conn: &Connection, producer: Option<&str>, consumer: Option<&str>) -> Vec<String> {
        let mut members = self.members();
        let Some(member) = members.get_mut(&conn.id()) else { return Vec::new() };
        if let Some(group) = producer {
            member.producers.remove(group);
        }
        consumer.filter(|g| member.consumers.remove(*g).is_some()).map(str::to_owned).into_iter().collect()
    }

    /// Forgets a closed connection; returns the consumer groups it was in.
    pub fn disconnected(&self, conn: &Connection) -> Vec<String> {
        self.members().remove(&conn.id()).map(|m| m.consumers.into_keys().collect()).unwrap_or_default()
    }

    /// The client id of a connection and its consumer groups, each with the
    /// subscriptions it registered (kept across `withoutSub` heartbeats).
    pub fn consumer_groups_of(&self, conn: &Connection) -> Option<(String, Vec<ConsumerData>)> {
        let members = self.members();
        let member = members.get(&conn.id())?;
        let groups = member
            .consumers
            .iter()
            .map(|(group, subscriptions)| ConsumerData {
                subscription_data_set: subscriptions.values().cloned().collect(),
                ..member
                    .kinds
                    .get(group)
                    .cloned()
                    .unwrap_or_else(|| ConsumerData { group_name: group.clone(), ..ConsumerData::default() })
            })
            .collect();
        Some((member.client_id.clone(), groups))
    }

    /// [`RemotingClients::consumer_groups_of`] when they are due to be
    /// registered at the brokers again (`changed`, or not for a while).
    pub fn groups_to_register(&self, conn: &Connection, changed: bool) -> Option<(String, Vec<ConsumerData>)> {
        {
            let mut members = self.members();
            let member = members.get_mut(&conn.id())?;
            let recent = member.registered_at.is_some_and(|at| at.elapsed() < REGISTER_AGAIN_AFTER);
            if (recent && !changed) || member.consumers.is_empty() {
                return None;
            }
            member.registered_at = Some(Instant::now());
        }
        self.consumer_groups_of(conn)
    }

    /// The connection of the consumer `client_id`, if it is connected here.
    pub fn consumer_connection(&self, client_id: &str) -> Option<Connection> {
        let members = self.members();
        let member = members.values().find(|m| m.client_id == client_id && !m.consumers.is_empty())?;
        Some(member.conn.clone())
    }

    /// The client ids of a consumer group, sorted.
    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        let ids: BTreeSet<String> =
            self.members().values().filter(|m| m.consumers.contains_key(group)).map(|m| m.client_id.clone()).collect();
        ids.into_iter().collect()
    }

    /// The connections of a consumer group's members.
    pub fn consumer_connections(&self, group: &str) -> Vec<Connection> {
        self.members().values().filter(|m| m.consumers.contains_key(group)).map(|m| m.conn.clone()).collect()
    }

    /// What the group subscribes to on `topic` (the newest version any member
    /// sent); `Err(false)` when no member of the group is connected,
    /// `Err(true)` when the group is but not to this topic.
    pub fn subscription(&self, group: &str, topic: &str) -> Result<SubscriptionData, bool> {
        let members = self.members();
        let mut known = false;
        let mut newest: Option<&SubscriptionData> = None;
        for subscriptions in members.values().filter_map(|m| m.consumers.get(group)) {
            known = true;
            if let Some(s) = subscriptions.get(topic)
                && newest.is_none_or(|n| s.sub_version > n.sub_version)
            {
                newest = Some(s);
            }
        }
        newest.cloned().ok_or(known)
    }

    /// A connection of a producer of `group`, for a transaction check.
    pub fn producer_of(&self, group: &str) -> Option<Connection> {
        self.members().values().find(|m| m.producers.contains(group) && !m.conn.is_closed()).map(|m| m.conn.clone())
    }

    /// Every producer group a connected client has.
    pub fn producer_groups(&self) -> BTreeSet<String> {
        self.members().values().flat_map(|m| m.producers.iter().cloned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_protocol::body::heartbeat::ProducerData;

    fn heartbeat(client: &str, groups: &[(&str, &str, &str)], without_sub: bool) -> HeartbeatData {
        HeartbeatData {
            client_id: client.to_owned(),
            consumer_data_set: groups
                .iter()
                .map(|(group, topic, tags)| ConsumerData {
                    group_name: group.to_string(),
                    subscription_data_set: if topic.is_empty() {
                        Vec::new()
                    } else {
                        vec![SubscriptionData::tags(topic, tags, 1)]
                    },
                    ..ConsumerData::default()
                })
                .collect(),
            producer_data_set: vec![ProducerData { group_name: "pg".into() }],
            without_sub: Some(without_sub),
            ..HeartbeatData::default()
        }
    }

    #[test]
    fn groups_follow_heartbeats_unregisters_and_closes() {
        let clients = RemotingClients::default();
        let (a, _ra) = Connection::detached("127.0.0.1:1".parse().unwrap());
        let (b, _rb) = Connection::detached("127.0.0.1:2".parse().unwrap());
        let first = clients.heartbeat(&a, heartbeat("A", &[("g", "T", "x || y")], false));
        assert_eq!(first, Changed { consumer_groups: vec!["g".into()], producers_changed: true });
        let again = clients.heartbeat(&a, heartbeat("A", &[("g", "T", "x || y")], false));
        assert_eq!(again, Changed { consumer_groups: Vec::new(), producers_changed: false });
        assert_eq!(clients.heartbeat(&b, heartbeat("B", &[("g", "T", "*")], false)).consumer_groups, ["g"]);
        assert_eq!(clients.consumer_ids("g"), ["A", "B"]);
        assert_eq!(clients.subscription("g", "U"), Err(true), "group known, topic not");
        assert_eq!(clients.subscription("h", "T"), Err(false), "group unknown");
        assert!(clients.subscription("g", "T").is_ok());
        // A heartbeat without subscriptions keeps them.
        clients.heartbeat(&a, heartbeat("A", &[("g", "", "")], true));
        clients.disconnected(&b);
        assert_eq!(clients.subscription("g", "T").unwrap().sub_string, "x || y");
        let (id, groups) = clients.consumer_groups_of(&a).unwrap();
        assert_eq!((id.as_str(), groups[0].group_name.as_str()), ("A", "g"));
        assert_eq!(groups[0].subscription_data_set[0].sub_string, "x || y", "kept across withoutSub");
        assert_eq!(clients.consumer_connection("A").unwrap().id(), a.id());
        assert!(clients.groups_to_register(&a, false).is_some(), "never registered");
        assert!(clients.groups_to_register(&a, false).is_none(), "just registered");
        assert!(clients.groups_to_register(&a, true).is_some(), "its groups changed");
        assert!(clients.consumer_connection("B").is_none(), "gone");
        assert_eq!(clients.producer_groups().into_iter().collect::<Vec<_>>(), ["pg"]);
        assert!(clients.producer_of("pg").is_some());
        assert_eq!(clients.unregister(&a, Some("pg"), Some("g")), ["g"]);
        assert_eq!(clients.consumer_ids("g"), Vec::<String>::new());
        assert!(clients.producer_of("pg").is_none());
    }
}
