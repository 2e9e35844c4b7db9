//! The clients a broker knows: producer groups and consumer groups, each with
//! the connections (channels) of its live clients, and each consumer group's
//! subscriptions. Fed by HEART_BEAT, UNREGISTER_CLIENT and connection events;
//! channels not heard from for 120 s are dropped.
//!
//! Every change that alters a consumer group's membership is reported back to
//! the caller, which notifies the group's consumers
//! (NOTIFY_CONSUMER_IDS_CHANGED) so they rebalance at once.

use rmq_protocol::LanguageCode;
use rmq_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, SubscriptionData,
};
use rmq_remoting::{Connection, ConnectionId};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Java's `CHANNEL_EXPIRED_TIMEOUT`: a client silent this long is gone.
pub const CHANNEL_EXPIRED_TIMEOUT: Duration = Duration::from_secs(120);

/// One client connection in a group.
#[derive(Clone, Debug)]
pub struct ClientChannel {
    pub conn: Connection,
    pub client_id: String,
    pub language: LanguageCode,
    pub version: i32,
    pub last_update: Instant,
    pub last_update_ms: i64,
}

/// One consumer of a group: its connection and its client id. A connection
/// usually carries one client, but a 5.x proxy registers each of its gRPC
/// consumers over its one connection (Java's local mode gives each its own
/// channel), so the client id is part of the key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChannelKey {
    pub conn: ConnectionId,
    pub client_id: String,
}

/// A consumer group as the broker sees it.
#[derive(Clone, Debug)]
pub struct ConsumerGroup {
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub channels: HashMap<ChannelKey, ClientChannel>,
    pub subscriptions: HashMap<String, SubscriptionData>,
}

impl ConsumerGroup {
    /// Client ids of the group's live consumers, sorted.
    pub fn client_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.channels.values().map(|c| c.client_id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// Who sent a heartbeat: the connection and what the command said of the client.
#[derive(Clone, Debug)]
pub struct ClientOrigin {
    pub conn: Connection,
    pub language: LanguageCode,
    pub version: i32,
}

#[derive(Debug, Default)]
struct Tables {
    producers: HashMap<String, HashMap<ConnectionId, ClientChannel>>,
    consumers: HashMap<String, ConsumerGroup>,
}

/// Producer and consumer tables behind one short-lived lock.
#[derive(Debug, Default)]
pub struct Clients {
    tables: Mutex<Tables>,
}

impl Clients {
    pub fn new() -> Clients {
        Clients::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a heartbeat. Returns the consumer groups whose membership
    /// changed (a new channel joined), which the caller notifies.
    pub fn heartbeat(&self, origin: &ClientOrigin, data: &HeartbeatData, now_ms: i64) -> Vec<String> {
        let channel = ClientChannel {
            conn: origin.conn.clone(),
            client_id: data.client_id.clone(),
            language: origin.language,
            version: origin.version,
            last_update: Instant::now(),
            last_update_ms: now_ms,
        };
        let id = origin.conn.id();
        let mut tables = self.lock();
        for producer in &data.producer_data_set {
            tables.producers.entry(producer.group_name.clone()).or_default().insert(id, channel.clone());
        }
        let mut changed = Vec::new();
        for consumer in &data.consumer_data_set {
            let keep_subscriptions = data.without_sub == Some(true) && consumer.subscription_data_set.is_empty();
            if register_consumer(&mut tables, consumer, id, &channel, keep_subscriptions) {
                changed.push(consumer.group_name.clone());
            }
        }
        changed
    }

    /// UNREGISTER_CLIENT: removes the client from the named groups (every
    /// client of the connection when the request names none). Returns the
    /// consumer groups whose membership changed.
    pub fn unregister(
        &self,
        conn: ConnectionId,
        client_id: &str,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) -> Vec<String> {
        let mut tables = self.lock();
        if let Some(group) = producer_group {
            remove_producer(&mut tables, group, conn);
        }
        let leaving = |key: &ChannelKey| key.conn == conn && (client_id.is_empty() || key.client_id == client_id);
        consumer_group.filter(|g| remove_consumer(&mut tables, g, leaving)).map(str::to_owned).into_iter().collect()
    }

    /// A connection closed: it leaves every group. Returns the consumer groups
    /// whose membership changed.
    pub fn connection_closed(&self, conn: ConnectionId) -> Vec<String> {
        let mut tables = self.lock();
        let producer_groups: Vec<String> = tables.producers.keys().cloned().collect();
        for group in producer_groups {
            remove_producer(&mut tables, &group, conn);
        }
        let consumer_groups: Vec<String> = tables.consumers.keys().cloned().collect();
        consumer_groups.into_iter().filter(|g| remove_consumer(&mut tables, g, |key| key.conn == conn)).collect()
    }

    /// Drops channels not heard from within `timeout`, and closes the
    /// connections left with no live channel (a proxy's connection carries
    /// many clients: one gone silent must not cut off the others). Returns
    /// the consumer groups whose membership changed.
    pub fn expire(&self, now: Instant, timeout: Duration) -> Vec<String> {
        let stale = |c: &ClientChannel| now.saturating_duration_since(c.last_update) > timeout;
        let mut dropped: HashMap<ConnectionId, Connection> = HashMap::new();
        let mut drop_stale = |c: &ClientChannel| {
            let stale = stale(c);
            if stale {
                dropped.insert(c.conn.id(), c.conn.clone());
            }
            !stale
        };
        let mut tables = self.lock();
        for channels in tables.producers.values_mut() {
            channels.retain(|_, c| drop_stale(c));
        }
        tables.producers.retain(|_, channels| !channels.is_empty());
        let mut changed = Vec::new();
        for (name, group) in tables.consumers.iter_mut() {
            let before = group.channels.len();
            group.channels.retain(|_, c| drop_stale(c));
            if group.channels.len() != before {
                changed.push(name.clone());
            }
        }
        tables.consumers.retain(|_, g| !g.channels.is_empty());
        let still_used = |id: &ConnectionId| {
            tables.producers.values().any(|channels| channels.contains_key(id))
                || tables.consumers.values().any(|g| g.channels.keys().any(|key| key.conn == *id))
        };
        for (id, conn) in &dropped {
            if !still_used(id) {
                conn.close();
            }
        }
        changed
    }

    /// The group's state, if any consumer of it is online.
    pub fn consumer_group(&self, group: &str) -> Option<ConsumerGroup> {
        self.lock().consumers.get(group).cloned()
    }

    /// The registered subscription of `group` to `topic`.
    pub fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.lock().consumers.get(group)?.subscriptions.get(topic).cloned()
    }

    /// Consumer client ids of a group (GET_CONSUMER_LIST_BY_GROUP).
    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        self.lock().consumers.get(group).map(ConsumerGroup::client_ids).unwrap_or_default()
    }

    /// Every consumer group as it is now (the metrics endpoint counts their
    /// connections at scrape time).
    pub fn consumer_groups(&self) -> Vec<(String, ConsumerGroup)> {
        self.lock().consumers.iter().map(|(name, group)| (name.clone(), group.clone())).collect()
    }

    /// Connections of a group's consumers, each once, for notifications.
    pub fn consumer_connections(&self, group: &str) -> Vec<Connection> {
        let tables = self.lock();
        let Some(g) = tables.consumers.get(group) else { return Vec::new() };
        let mut seen = std::collections::HashSet::new();
        g.channels.values().filter(|c| seen.insert(c.conn.id())).map(|c| c.conn.clone()).collect()
    }

    /// The channel of one client of a consumer group (relayed admin calls).
    pub fn consumer_channel(&self, group: &str, client_id: &str) -> Option<ClientChannel> {
        self.lock().consumers.get(group)?.channels.values().find(|c| c.client_id == client_id).cloned()
    }

    /// Names of online consumer groups subscribed to `topic`.
    pub fn groups_subscribing(&self, topic: &str) -> Vec<String> {
        let mut groups: Vec<String> = self
            .lock()
            .consumers
            .iter()
            .filter(|(_, g)| g.subscriptions.contains_key(topic))
            .map(|(name, _)| name.clone())
            .collect();
        groups.sort();
        groups
    }

    /// Live channels of a producer group.
    pub fn producer_channels(&self, group: &str) -> Vec<ClientChannel> {
        self.lock().producers.get(group).map(|c| c.values().cloned().collect()).unwrap_or_default()
    }

    /// Every producer group with its channels (GET_ALL_PRODUCER_INFO).
    pub fn producer_groups(&self) -> HashMap<String, Vec<ClientChannel>> {
        self.lock().producers.iter().map(|(g, c)| (g.clone(), c.values().cloned().collect())).collect()
    }
}

/// Adds or refreshes a consumer's channel; true if the group's membership or
/// subscriptions changed. With `keep_subscriptions` (a heartbeat `withoutSub`
/// that lists none) the group's subscriptions stay as they are.
fn register_consumer(
    tables: &mut Tables,
    data: &ConsumerData,
    conn: ConnectionId,
    channel: &ClientChannel,
    keep_subscriptions: bool,
) -> bool {
    let group = tables.consumers.entry(data.group_name.clone()).or_insert_with(|| ConsumerGroup {
        consume_type: data.consume_type,
        message_model: data.message_model,
        consume_from_where: data.consume_from_where,
        channels: HashMap::new(),
        subscriptions: HashMap::new(),
    });
    group.consume_type = data.consume_type;
    group.message_model = data.message_model;
    group.consume_from_where = data.consume_from_where;
    let key = ChannelKey { conn, client_id: channel.client_id.clone() };
    let joined = group.channels.insert(key, channel.clone()).is_none();
    if keep_subscriptions {
        return joined;
    }
    let mut subscriptions_changed = false;
    for sub in &data.subscription_data_set {
        // Tag codes are recomputed from the expression: a client that hashed
        // tags with surrounding spaces still gets the messages it asked for.
        let normalized = if sub.is_tag_type() {
            SubscriptionData {
                class_filter_mode: sub.class_filter_mode,
                ..SubscriptionData::tags(&sub.topic, &sub.sub_string, sub.sub_version)
            }
        } else {
            sub.clone()
        };
        // Java's rule (ConsumerGroupInfo.updateSubscription): a new topic is
        // a change; a newer subVersion replaces silently, so clients of one
        // group with differing subscriptions do not flip it back and forth.
        match group.subscriptions.get(&sub.topic) {
            None => {
                group.subscriptions.insert(sub.topic.clone(), normalized);
                subscriptions_changed = true;
            }
            Some(old) if normalized.sub_version > old.sub_version => {
                group.subscriptions.insert(sub.topic.clone(), normalized);
            }
            Some(_) => {}
        }
    }
    // Topics the heartbeat no longer lists are unsubscribed.
    let before = group.subscriptions.len();
    group.subscriptions.retain(|topic, _| data.subscription_data_set.iter().any(|sub| &sub.topic == topic));
    subscriptions_changed |= group.subscriptions.len() != before;
    joined || subscriptions_changed
}

fn remove_producer(tables: &mut Tables, group: &str, conn: ConnectionId) {
    if let Some(channels) = tables.producers.get_mut(group) {
        channels.remove(&conn);
        if channels.is_empty() {
            tables.producers.remove(group);
        }
    }
}

/// Removes the group's channels `leaving` picks; true if there were any.
fn remove_consumer(tables: &mut Tables, group: &str, leaving: impl Fn(&ChannelKey) -> bool) -> bool {
    let Some(g) = tables.consumers.get_mut(group) else { return false };
    let before = g.channels.len();
    g.channels.retain(|key, _| !leaving(key));
    let removed = g.channels.len() != before;
    if g.channels.is_empty() {
        tables.consumers.remove(group);
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heartbeat_of(client_id: &str, group: &str) -> HeartbeatData {
        HeartbeatData {
            client_id: client_id.to_owned(),
            consumer_data_set: vec![ConsumerData { group_name: group.to_owned(), ..Default::default() }],
            ..Default::default()
        }
    }

    fn origin(port: u16) -> ClientOrigin {
        let (conn, _) = Connection::detached(([127, 0, 0, 1], port).into());
        ClientOrigin { conn, language: LanguageCode::Java, version: 0 }
    }

    #[test]
    fn clients_sharing_a_connection_are_each_a_member() {
        let clients = Clients::new();
        let proxy = origin(1);
        let alone = origin(2);
        assert_eq!(clients.heartbeat(&proxy, &heartbeat_of("grpc-a", "G"), 0), ["G"]);
        assert_eq!(clients.heartbeat(&proxy, &heartbeat_of("grpc-b", "G"), 0), ["G"], "a second client joins");
        assert!(clients.heartbeat(&proxy, &heartbeat_of("grpc-a", "G"), 0).is_empty(), "a refresh changes nothing");
        assert_eq!(clients.heartbeat(&alone, &heartbeat_of("remoting", "G"), 0), ["G"]);
        assert_eq!(clients.consumer_ids("G"), ["grpc-a", "grpc-b", "remoting"]);
        assert_eq!(clients.consumer_channel("G", "grpc-b").unwrap().conn.id(), proxy.conn.id());
        assert_eq!(clients.consumer_connections("G").len(), 2, "one notification per connection");

        assert_eq!(clients.unregister(proxy.conn.id(), "grpc-a", None, Some("G")), ["G"]);
        assert_eq!(clients.consumer_ids("G"), ["grpc-b", "remoting"], "only the named client leaves");
        assert_eq!(clients.connection_closed(proxy.conn.id()), ["G"]);
        assert_eq!(clients.consumer_ids("G"), ["remoting"]);
        assert_eq!(clients.unregister(alone.conn.id(), "", None, Some("G")), ["G"], "no id: the whole connection");
        assert!(clients.consumer_group("G").is_none());
    }

    #[test]
    fn a_heartbeat_without_subscriptions_keeps_the_groups() {
        let clients = Clients::new();
        let mut named = heartbeat_of("named", "G");
        named.consumer_data_set[0].subscription_data_set = vec![SubscriptionData::tags("T", "*", 1)];
        clients.heartbeat(&origin(1), &named, 0);
        let mut silent = heartbeat_of("silent", "G");
        silent.without_sub = Some(true);
        assert_eq!(clients.heartbeat(&origin(2), &silent, 0), ["G"], "it joins");
        assert!(clients.subscription("G", "T").is_some(), "the group's subscription stays");
        assert!(clients.heartbeat(&origin(3), &heartbeat_of("lists-none", "G"), 0).contains(&"G".to_owned()));
        assert!(clients.subscription("G", "T").is_none(), "a heartbeat listing none (not withoutSub) drops it");
    }

    #[test]
    fn a_silent_client_does_not_close_a_connection_others_still_use() {
        let clients = Clients::new();
        let proxy = origin(1);
        clients.heartbeat(&proxy, &heartbeat_of("gone", "G"), 0);
        let later = Instant::now() + Duration::from_secs(100);
        // "alive" heartbeats 100 s after "gone" did.
        {
            clients.heartbeat(&proxy, &heartbeat_of("alive", "G"), 0);
            let mut tables = clients.lock();
            let group = tables.consumers.get_mut("G").unwrap();
            for channel in group.channels.values_mut().filter(|c| c.client_id == "alive") {
                channel.last_update = later;
            }
        }
        let at = later + Duration::from_secs(30);
        assert_eq!(clients.expire(at, CHANNEL_EXPIRED_TIMEOUT), ["G"]);
        assert_eq!(clients.consumer_ids("G"), ["alive"]);
        assert!(!proxy.conn.is_closed(), "the connection still carries a live client");
        assert_eq!(clients.expire(at + CHANNEL_EXPIRED_TIMEOUT, CHANNEL_EXPIRED_TIMEOUT), ["G"]);
        assert!(proxy.conn.is_closed(), "no live client left on it");
    }
}
