//! The proxy's consumers at the brokers. The proxy registers each connected
//! 5.x consumer with the masters serving its topics (a HEART_BEAT on its
//! behalf, with its client id and language, over the proxy's one
//! connection), as Java's local mode registers them in its broker, and so
//! the consumers of its remoting port. Brokers then list them (`mqadmin
//! consumerConnection`) and relay admin calls meant for them, which [`relay`]
//! answers through a 5.x client's Telemetry stream, or passes on to a
//! remoting client's connection.
//!
//! Java's cluster-mode proxy registers nobody at the brokers; rmq does it in
//! both modes, so the admin tools see these consumers wherever they connect.

mod relay;

pub(crate) use relay::PendingAnswers;

use futures_util::StreamExt;
use rmq_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, EXPRESSION_SQL92, HeartbeatData, MessageModel, SubscriptionData,
};
use rmq_protocol::header::UnregisterClientRequestHeader;
use rmq_protocol::{LanguageCode, RemotingCommand, RequestCode};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::Proxy;
use crate::pb::settings::PubSub;
use crate::pb::{ClientType, FilterType, Settings};
use crate::sessions::Consumer;

/// How often every connected consumer is registered again; brokers forget a
/// client not heard from in 120 s.
const REGISTER_EVERY: Duration = Duration::from_secs(20);
/// Registrations under way at once, so a broker that does not answer
/// delays the others by one timeout, not one per consumer.
const REGISTRATIONS_AT_ONCE: usize = 32;

/// The group and subscriptions of a consumer's settings.
pub(crate) fn consumer_data(settings: &Settings, now_ms: i64) -> Option<ConsumerData> {
    let Some(PubSub::Subscription(subscription)) = &settings.pub_sub else { return None };
    let group = subscription.group.as_ref()?.name.clone();
    let subscription_data_set = subscription
        .subscriptions
        .iter()
        .filter_map(|entry| {
            let topic = &entry.topic.as_ref()?.name;
            let expression = entry.expression.as_ref();
            let text = expression.map_or("*", |e| e.expression.as_str());
            Some(match expression {
                Some(e) if e.r#type == FilterType::Sql as i32 => SubscriptionData {
                    topic: topic.clone(),
                    sub_string: text.to_owned(),
                    sub_version: now_ms,
                    expression_type: EXPRESSION_SQL92.to_owned(),
                    ..SubscriptionData::default()
                },
                _ => SubscriptionData::tags(topic, text, now_ms),
            })
        })
        .collect();
    Some(ConsumerData {
        group_name: group,
        consume_type: consume_type(settings),
        message_model: MessageModel::Clustering,
        consume_from_where: ConsumeFromWhere::LastOffset,
        subscription_data_set,
        unit_mode: false,
    })
}

/// Java's mapping: a simple consumer pulls (CONSUME_ACTIVELY), a push
/// consumer is pushed to (CONSUME_PASSIVELY).
pub(crate) fn consume_type(settings: &Settings) -> ConsumeType {
    if settings.client_type == Some(ClientType::PushConsumer as i32) {
        ConsumeType::ConsumePassively
    } else {
        ConsumeType::ConsumeActively
    }
}

impl Proxy {
    /// The masters this proxy serves that hold a topic of `data`; every
    /// master it serves when `data` names no topic (the Rust 5.0.0 simple
    /// consumer names its topics only when it receives).
    async fn masters_of(&self, data: &ConsumerData) -> BTreeSet<String> {
        if data.subscription_data_set.is_empty() {
            let client = &self.brokers.client;
            return self.directory.masters(client, |name| self.brokers.serves(name)).await.into_iter().collect();
        }
        let mut masters = BTreeSet::new();
        for sub in &data.subscription_data_set {
            if let Ok(route) = self.brokers.route(&sub.topic).await {
                masters.extend(self.brokers.served_masters(&route));
            }
        }
        masters
    }

    /// Registers one 5.x consumer at the masters serving its topics.
    pub(crate) async fn register_consumer(&self, consumer: &Consumer) {
        let Some(data) = consumer_data(&consumer.settings, rmq_model::clock::now_ms()) else { return };
        self.register_at_masters(&consumer.client_id, data, consumer.info.language).await;
    }

    /// Takes a 5.x consumer that said goodbye off the brokers at once (they
    /// would forget it 120 s later).
    pub(crate) async fn unregister_consumer(&self, consumer: &Consumer) {
        let Some(data) = consumer_data(&consumer.settings, 0) else { return };
        self.unregister_at_masters(&consumer.client_id, &data).await;
    }

    /// Registers `client_id` as a member of `data`'s group at the masters
    /// serving its topics, as a client of `language`.
    pub(crate) async fn register_at_masters(&self, client_id: &str, data: ConsumerData, language: LanguageCode) {
        let masters = self.masters_of(&data).await;
        // A consumer naming no topic (Rust 5.0.0's simple consumer) must not
        // empty its group's subscriptions at the broker: `withoutSub` keeps them.
        let without_sub = data.subscription_data_set.is_empty().then_some(true);
        let heartbeat = HeartbeatData {
            client_id: client_id.to_owned(),
            consumer_data_set: vec![data],
            without_sub,
            ..HeartbeatData::default()
        };
        for addr in masters {
            if let Err(e) = self.brokers.client.heartbeat_for(&addr, &heartbeat, language).await {
                tracing::debug!("registering consumer {client_id} at {addr} failed: {e}");
            }
        }
    }

    /// UNREGISTER_CLIENT of `client_id` from `data`'s group at the masters
    /// serving its topics.
    pub(crate) async fn unregister_at_masters(&self, client_id: &str, data: &ConsumerData) {
        let header = UnregisterClientRequestHeader {
            client_id: client_id.to_owned(),
            producer_group: None,
            consumer_group: Some(data.group_name.clone()),
        };
        for addr in self.masters_of(data).await {
            let cmd = RemotingCommand::request(RequestCode::UnregisterClient, &header);
            if let Err(e) = self.brokers.invoke(&addr, cmd, None).await {
                tracing::debug!("unregistering consumer {client_id} at {addr} failed: {}", e.0.message);
            }
        }
    }

    /// Registers every connected consumer again every 20 s until `stop`.
    pub(crate) async fn heartbeat_consumers(self: Arc<Self>, stop: CancellationToken) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(REGISTER_EVERY) => {}
                _ = stop.cancelled() => return,
            }
            let consumers = self.sessions.connected_consumers();
            futures_util::stream::iter(consumers)
                .for_each_concurrent(REGISTRATIONS_AT_ONCE, |consumer| {
                    let proxy = self.clone();
                    async move { proxy.register_consumer(&consumer).await }
                })
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::{FilterExpression, Resource, Subscription, SubscriptionEntry};

    fn entry(topic: &str, kind: FilterType, expression: &str) -> SubscriptionEntry {
        SubscriptionEntry {
            topic: Some(Resource { resource_namespace: String::new(), name: topic.into() }),
            expression: Some(FilterExpression { r#type: kind as i32, expression: expression.into() }),
        }
    }

    #[test]
    fn a_consumers_settings_as_a_heartbeat() {
        let settings = Settings {
            client_type: Some(ClientType::PushConsumer as i32),
            pub_sub: Some(PubSub::Subscription(Subscription {
                group: Some(Resource { resource_namespace: String::new(), name: "G".into() }),
                subscriptions: vec![entry("T", FilterType::Tag, "a || b"), entry("U", FilterType::Sql, "x > 1")],
                ..Default::default()
            })),
            ..Default::default()
        };
        let data = consumer_data(&settings, 7).unwrap();
        assert_eq!(data.group_name, "G");
        assert_eq!(data.consume_type, ConsumeType::ConsumePassively);
        assert_eq!(data.subscription_data_set[0], SubscriptionData::tags("T", "a || b", 7));
        assert_eq!(data.subscription_data_set[1].expression_type, "SQL92");
        assert_eq!(data.subscription_data_set[1].sub_string, "x > 1");
        let simple = Settings { client_type: Some(ClientType::SimpleConsumer as i32), ..settings };
        assert_eq!(consume_type(&simple), ConsumeType::ConsumeActively);
        assert!(consumer_data(&Settings::default(), 0).is_none(), "no subscription, no consumer");
    }
}
