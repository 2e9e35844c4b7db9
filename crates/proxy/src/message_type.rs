//! Topics hold one message type (`+message.type=NORMAL|FIFO|DELAY|
//! TRANSACTION|MIXED`, NORMAL without the attribute): the proxy learns it
//! from a broker (GET_TOPIC_CONFIG), names it in routes
//! (`accept_message_types`) and, with `enableTopicMessageTypeCheck` (on by
//! default, as in Java), refuses a send of another type with
//! MESSAGE_PROPERTY_CONFLICT_WITH_TYPE.

use rmq_model::properties::keys;
use rmq_model::topic_attributes::TopicMessageType;
use rmq_protocol::header::GetTopicConfigRequestHeader;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Proxy;
use crate::convert::Outgoing;
use crate::pb::{Code, MessageType};
use crate::status::{Outcome, Refusal};

/// How long a topic's type fetched from a broker is reused.
const TYPE_TTL: Duration = Duration::from_secs(10);
/// Topics whose type is remembered at once; past it the cache starts over.
const MAX_CACHED: usize = 10_000;

/// Topic types fetched lately.
#[derive(Debug, Default)]
pub(crate) struct TopicTypes(Mutex<HashMap<String, (Instant, TopicMessageType)>>);

/// A message's type by its properties (Java's
/// `TopicMessageType.parseFromMessageProperty`).
pub(crate) fn of_properties(p: &rmq_model::Properties) -> TopicMessageType {
    if p.get(keys::TRANSACTION_PREPARED) == Some("true") {
        TopicMessageType::Transaction
    } else if [keys::DELAY_TIME_LEVEL, keys::TIMER_DELIVER_MS, keys::TIMER_DELAY_SEC, keys::TIMER_DELAY_MS]
        .iter()
        .any(|k| p.get(k).is_some())
    {
        TopicMessageType::Delay
    } else if p.get(keys::SHARDING_KEY).is_some() {
        TopicMessageType::Fifo
    } else {
        TopicMessageType::Normal
    }
}

/// What a route tells clients a topic's queues take (Java's `RouteActivity`).
pub(crate) fn accepted(topic: TopicMessageType) -> Vec<i32> {
    let types = match topic {
        TopicMessageType::Normal => vec![MessageType::Normal],
        TopicMessageType::Fifo => vec![MessageType::Fifo],
        TopicMessageType::Delay => vec![MessageType::Delay],
        TopicMessageType::Transaction => vec![MessageType::Transaction],
        TopicMessageType::Mixed => {
            vec![MessageType::Normal, MessageType::Fifo, MessageType::Delay, MessageType::Transaction]
        }
        TopicMessageType::Unspecified => vec![MessageType::Unspecified],
    };
    types.into_iter().map(|t| t as i32).collect()
}

impl Proxy {
    /// The topic's type as a master serving it holds it; UNSPECIFIED when
    /// none answers (Java's proxy too, which then refuses every send).
    pub(crate) async fn topic_type(&self, topic: &str) -> TopicMessageType {
        if let Some((at, kind)) = self.topic_types.0.lock().unwrap_or_else(|e| e.into_inner()).get(topic)
            && at.elapsed() < TYPE_TTL
        {
            return *kind;
        }
        let mut found = TopicMessageType::Unspecified;
        if let Ok(route) = self.brokers.route(topic).await {
            for addr in self.brokers.served_masters(&route) {
                let header = GetTopicConfigRequestHeader { topic: topic.to_owned(), lo: None };
                let cmd = RemotingCommand::request(RequestCode::GetTopicConfig, &header);
                match self.brokers.invoke(&addr, cmd, None).await {
                    Ok(resp) if resp.code == ResponseCode::Success.to_i32() => {
                        let body: serde_json::Value =
                            rmq_model::fastjson::from_slice(&resp.body.to_bytes()).unwrap_or_default();
                        let attributes: BTreeMap<String, String> = body
                            .get("attributes")
                            .and_then(|a| serde_json::from_value(a.clone()).ok())
                            .unwrap_or_default();
                        found = TopicMessageType::of_topic(&attributes);
                        break;
                    }
                    _ => continue,
                }
            }
        }
        let mut cache = self.topic_types.0.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(topic.to_owned(), (Instant::now(), found));
        found
    }

    /// Refuses messages the topic's type does not take, when the check is on
    /// (retry and DLQ topics are not checked, as in Java).
    pub(crate) async fn check_message_types(&self, topic: &str, messages: &[Outgoing]) -> Outcome<()> {
        for message in messages {
            if let Some(conflict) = self.type_conflict(topic, of_properties(&message.message.properties)).await {
                return Err(Refusal::new(Code::MessagePropertyConflictWithType, conflict));
            }
        }
        Ok(())
    }

    /// Why the topic does not take a message of type `actual`, when the
    /// check is on and it does not (Java's texts).
    pub(crate) async fn type_conflict(&self, topic: &str, actual: TopicMessageType) -> Option<String> {
        if !self.config.topic_message_type_check
            || rmq_model::topic::is_retry_topic(topic)
            || rmq_model::topic::is_dlq_topic(topic)
        {
            return None;
        }
        let expected = self.topic_type(topic).await;
        (!expected.accepts(actual)).then(|| {
            format!(
                "TopicMessageType validate failed, the expected type is {}, but actual type is {}",
                expected.as_str(),
                actual.as_str()
            )
        })
    }
}
