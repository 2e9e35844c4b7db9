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

/// A consumer group as the broker sees it.
#[derive(Clone, Debug)]
pub struct ConsumerGroup {
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub channels: HashMap<ConnectionId, ClientChannel>,
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
            if register_consumer(&mut tables, consumer, id, &channel) {
                changed.push(consumer.group_name.clone());
            }
        }
        changed
    }

    /// UNREGISTER_CLIENT: removes the connection from the named groups.
    /// Returns the consumer groups whose membership changed.
    pub fn unregister(
        &self,
        conn: ConnectionId,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) -> Vec<String> {
        let mut tables = self.lock();
        if let Some(group) = producer_group {
            remove_producer(&mut tables, group, conn);
        }
        consumer_group.filter(|g| remove_consumer(&mut tables, g, conn)).map(str::to_owned).into_iter().collect()
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
        consumer_groups.into_iter().filter(|g| remove_consumer(&mut tables, g, conn)).collect()
    }

    /// Drops channels not heard from within `timeout` and closes their
    /// connections. Returns the consumer groups whose membership changed.
    pub fn expire(&self, now: Instant, timeout: Duration) -> Vec<String> {
        let stale = |c: &ClientChannel| now.saturating_duration_since(c.last_update) > timeout;
        let mut tables = self.lock();
        for channels in tables.producers.values_mut() {
            channels.retain(|_, c| {
                let keep = !stale(c);
                if !keep {
                    c.conn.close();
                }
                keep
            });
        }
        tables.producers.retain(|_, channels| !channels.is_empty());
        let mut changed = Vec::new();
        for (name, group) in tables.consumers.iter_mut() {
            let before = group.channels.len();
            group.channels.retain(|_, c| {
                let keep = !stale(c);
                if !keep {
                    c.conn.close();
                }
                keep
            });
            if group.channels.len() != before {
                changed.push(name.clone());
            }
        }
        tables.consumers.retain(|_, g| !g.channels.is_empty());
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

    /// Connections of a group's consumers, for notifications.
    pub fn consumer_connections(&self, group: &str) -> Vec<Connection> {
        self.lock()
            .consumers
            .get(group)
            .map(|g| g.channels.values().map(|c| c.conn.clone()).collect())
            .unwrap_or_default()
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
/// subscriptions changed.
fn register_consumer(tables: &mut Tables, data: &ConsumerData, id: ConnectionId, channel: &ClientChannel) -> bool {
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
    let joined = group.channels.insert(id, channel.clone()).is_none_or(|old| old.client_id != channel.client_id);
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

/// True if the connection was a member of the group.
fn remove_consumer(tables: &mut Tables, group: &str, conn: ConnectionId) -> bool {
    let Some(g) = tables.consumers.get_mut(group) else { return false };
    let removed = g.channels.remove(&conn).is_some();
    if g.channels.is_empty() {
        tables.consumers.remove(group);
    }
    removed
}
