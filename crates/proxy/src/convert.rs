//! Messages between the two worlds: a 5.x client's protobuf `Message` checked
//! as Java's proxy checks it and turned into remoting properties, and a
//! stored message turned back into what a 5.x consumer expects.

use bytes::Bytes;
use md5::{Digest as _, Md5};
use prost_types::{Duration as PbDuration, Timestamp};
use rmq_client::{Message as RemotingMessage, MessageExt};
use rmq_model::properties::keys;
use rmq_model::properties::keys::{BORN_TIMESTAMP, TRACE_CONTEXT};

use crate::config::ProxyConfig;
use crate::pb::{
    self, Code, DeadLetterQueue, Digest, DigestType, Encoding, Message, MessageType, Resource, SystemProperties,
};
use crate::status::{Outcome, Refusal};

/// Properties only RocketMQ itself writes; a client may not send them as its own.
const RESERVED: &[&str] = &[
    keys::KEYS,
    keys::TAGS,
    keys::WAIT_STORE_MSG_OK,
    keys::DELAY_TIME_LEVEL,
    keys::RETRY_TOPIC,
    keys::REAL_TOPIC,
    keys::REAL_QUEUE_ID,
    keys::TRANSACTION_PREPARED,
    keys::PRODUCER_GROUP,
    keys::MIN_OFFSET,
    keys::MAX_OFFSET,
    keys::ORIGIN_MESSAGE_ID,
    keys::RECONSUME_TIME,
    keys::MAX_RECONSUME_TIMES,
    keys::MSG_REGION,
    keys::TRACE_SWITCH,
    keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
    keys::CONSUME_START_TIME,
    keys::CLUSTER,
    keys::TRANSACTION_CHECK_TIMES,
    keys::CHECK_IMMUNITY_TIME_IN_SECONDS,
    keys::TRANSACTION_PREPARED_QUEUE_OFFSET,
    keys::TRANSACTION_ID,
    keys::INSTANCE_ID,
    keys::CORRELATION_ID,
    keys::REPLY_TO_CLIENT,
    keys::MESSAGE_TYPE,
    keys::POP_CK,
    keys::POP_CK_OFFSET,
    keys::FIRST_POP_TIME,
    keys::SHARDING_KEY,
    keys::TIMER_DELIVER_MS,
    keys::TIMER_DELAY_SEC,
    keys::TIMER_DELAY_MS,
    keys::TIMER_OUT_MS,
    keys::TIMER_ENQUEUE_MS,
    keys::TIMER_DEQUEUE_MS,
    keys::TIMER_ROLL_TIMES,
    keys::TIMER_DEL_UNIQKEY,
    keys::START_DELIVER_TIME,
    keys::TIMER_DELIVERED_FROM,
    BORN_HOST,
    BORN_TIMESTAMP,
    TRACE_CONTEXT,
    DLQ_ORIGIN_TOPIC,
    DLQ_ORIGIN_MESSAGE_ID,
];

const BORN_HOST: &str = "__BORNHOST";
const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";

/// Most user properties a message may carry (`userPropertyMaxNum`).
const MAX_USER_PROPERTIES: usize = 128;
/// Bytes of user properties, tag and keys together (`maxUserPropertySize`).
const MAX_PROPERTY_BYTES: usize = 16 * 1024;
/// A message group must be shorter than this many bytes (`maxMessageGroupSize`).
const MAX_MESSAGE_GROUP: usize = 64;
/// Longest recovery time a transactional producer may ask for (`maxTransactionRecoverySecond`).
const MAX_RECOVERY_SECONDS: i64 = 3600;

/// A message ready for a broker, and what the send needs to know about it.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub message: RemotingMessage,
    pub message_id: String,
    pub group: Option<String>,
    pub transactional: bool,
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// The topic of a request, checked as Java's `GrpcValidator` does.
pub(crate) fn topic_name(resource: Option<&Resource>) -> Outcome<String> {
    let name = resource.map(|r| r.name.as_str()).unwrap_or_default();
    if let Err(e) = rmq_model::topic::validate_topic_name(name) {
        return Err(Refusal::new(Code::IllegalTopic, format!("topic '{name}' is illegal: {e}")));
    }
    if rmq_model::topic::is_fixed_system_topic(name) {
        return Err(Refusal::new(Code::IllegalTopic, format!("topic '{name}' is a system topic")));
    }
    Ok(name.to_owned())
}

/// The consumer group of a request (at most 120 characters, the topic alphabet).
pub(crate) fn group_name(resource: Option<&Resource>) -> Outcome<String> {
    let name = resource.map(|r| r.name.as_str()).unwrap_or_default();
    let legal = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-');
    if name.trim().is_empty() || name.len() > 120 || !name.bytes().all(legal) {
        return Err(Refusal::new(Code::IllegalConsumerGroup, format!("consumer group '{name}' is illegal")));
    }
    Ok(name.to_owned())
}

/// Checks one message and builds its remoting form.
pub(crate) fn outgoing(msg: &Message, config: &ProxyConfig, peer: &str, now_ms: i64) -> Outcome<Outgoing> {
    let topic = topic_name(msg.topic.as_ref())?;
    let empty = SystemProperties::default();
    let sys = msg.system_properties.as_ref().unwrap_or(&empty);
    let body = body_of(msg, sys)?;
    if body.is_empty() {
        return Err(Refusal::new(Code::MessageBodyEmpty, "message body cannot be empty"));
    }
    if body.len() > config.max_message_size {
        return Err(Refusal::new(
            Code::MessageBodyTooLarge,
            format!("message body cannot exceed the max {}", config.max_message_size),
        ));
    }
    if msg.user_properties.len() > MAX_USER_PROPERTIES {
        return Err(Refusal::new(
            Code::MessagePropertiesTooLarge,
            format!("message user property number exceeds the limit {MAX_USER_PROPERTIES}"),
        ));
    }
    let mut size = 0;
    let mut message = RemotingMessage::new(topic, body);
    for (name, value) in &msg.user_properties {
        if RESERVED.contains(&name.as_str()) || has_control(name) || has_control(value) || name.is_empty() {
            return Err(Refusal::new(Code::IllegalMessagePropertyKey, format!("property '{name}' is not allowed")));
        }
        size += name.len() + value.len();
        message.properties.insert(name.clone(), value.clone());
    }
    let tag = sys.tag.clone().unwrap_or_default();
    if (!tag.is_empty() && tag.trim().is_empty()) || tag.contains('|') || has_control(&tag) {
        return Err(Refusal::new(Code::IllegalMessageTag, format!("tag '{tag}' is illegal")));
    }
    size += tag.len();
    message.properties.insert(keys::TAGS, tag);
    for key in &sys.keys {
        if key.trim().is_empty() || has_control(key) {
            return Err(Refusal::new(Code::IllegalMessageKey, format!("key '{key}' is illegal")));
        }
        size += key.len();
    }
    if size > MAX_PROPERTY_BYTES {
        return Err(Refusal::new(
            Code::MessagePropertiesTooLarge,
            format!("the total size of user properties, tag and keys exceeds {MAX_PROPERTY_BYTES}"),
        ));
    }
    if !sys.keys.is_empty() {
        message.properties.insert(keys::KEYS, sys.keys.join(" "));
    }
    if sys.message_id.trim().is_empty() {
        return Err(Refusal::new(Code::IllegalMessageId, "message id cannot be empty"));
    }
    message.properties.insert(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, sys.message_id.clone());
    let group = sys.message_group.clone().filter(|g| !g.is_empty());
    if let Some(g) = &group
        && (g.trim().is_empty() || g.len() >= MAX_MESSAGE_GROUP || has_control(g))
    {
        return Err(Refusal::new(Code::IllegalMessageGroup, format!("message group '{g}' is illegal")));
    }
    if let Some(g) = &group {
        message.properties.insert(keys::SHARDING_KEY, g.clone());
    }
    if let Some(at) = &sys.delivery_timestamp {
        let at_ms = timestamp_ms(at);
        if config.max_delay_ms > 0 && at_ms - now_ms > config.max_delay_ms {
            return Err(Refusal::new(
                Code::IllegalDeliveryTime,
                format!("the delivery time exceeds the max delay of {} ms", config.max_delay_ms),
            ));
        }
        message.properties.insert(keys::TIMER_DELIVER_MS, at_ms.to_string());
    }
    let transactional = sys.message_type == MessageType::Transaction as i32;
    if transactional {
        message.properties.insert(keys::TRANSACTION_PREPARED, "true");
        // Java's proxy names the topic as the producer group: the broker asks
        // that group about unresolved transactions.
        message.properties.insert(keys::PRODUCER_GROUP, message.topic.clone());
        if let Some(recovery) = &sys.orphaned_transaction_recovery_duration {
            if recovery.seconds > MAX_RECOVERY_SECONDS {
                return Err(Refusal::new(
                    Code::BadRequest,
                    format!("the orphaned transaction recovery duration exceeds {MAX_RECOVERY_SECONDS} s"),
                ));
            }
            message.properties.insert(keys::CHECK_IMMUNITY_TIME_IN_SECONDS, recovery.seconds.max(0).to_string());
        }
    }
    if let Some(trace) = sys.trace_context.as_ref().filter(|t| !t.is_empty()) {
        message.properties.insert(TRACE_CONTEXT, trace.clone());
    }
    let born_host = if sys.born_host.is_empty() { peer.to_owned() } else { sys.born_host.clone() };
    message.properties.insert(BORN_HOST, born_host);
    if let Some(born) = &sys.born_timestamp {
        message.properties.insert(BORN_TIMESTAMP, timestamp_ms(born).to_string());
    }
    Ok(Outgoing { message, message_id: sys.message_id.clone(), group, transactional })
}

/// The body as stored: a GZIP body from the client is unpacked so every
/// consumer, 4.x ones included, reads it as sent.
fn body_of(msg: &Message, sys: &SystemProperties) -> Outcome<Bytes> {
    if sys.body_encoding != Encoding::Gzip as i32 {
        return Ok(Bytes::copy_from_slice(&msg.body));
    }
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&msg.body[..])
        .take(256 * 1024 * 1024)
        .read_to_end(&mut out)
        .map_err(|e| Refusal::new(Code::MessageCorrupted, format!("the GZIP body does not decode: {e}")))?;
    Ok(Bytes::from(out))
}

pub(crate) fn timestamp_ms(t: &Timestamp) -> i64 {
    t.seconds.saturating_mul(1000).saturating_add(i64::from(t.nanos / 1_000_000))
}

pub(crate) fn timestamp(ms: i64) -> Timestamp {
    Timestamp { seconds: ms.div_euclid(1000), nanos: (ms.rem_euclid(1000) * 1_000_000) as i32 }
}

pub(crate) fn duration_ms(d: &PbDuration) -> i64 {
    d.seconds.saturating_mul(1000).saturating_add(i64::from(d.nanos / 1_000_000))
}

pub(crate) fn duration(ms: i64) -> PbDuration {
    PbDuration { seconds: ms.div_euclid(1000), nanos: (ms.rem_euclid(1000) * 1_000_000) as i32 }
}

/// What kind of message a stored one is, from its properties.
fn message_type(m: &MessageExt) -> MessageType {
    let p = &m.properties;
    if p.get(keys::TRANSACTION_PREPARED) == Some("true") {
        MessageType::Transaction
    } else if p.contains(keys::DELAY_TIME_LEVEL)
        || p.contains(keys::TIMER_DELIVER_MS)
        || p.contains(keys::TIMER_DELAY_SEC)
    {
        MessageType::Delay
    } else if p.contains(keys::SHARDING_KEY) {
        MessageType::Fifo
    } else {
        MessageType::Normal
    }
}

/// A stored message as a 5.x consumer receives it. `topic` is the name the
/// client asked for (retries are handed out under it); `receipt` is set for
/// popped messages.
pub(crate) fn incoming(m: &MessageExt, topic: &str, receipt: Option<String>, now_ms: i64) -> Message {
    let p = &m.properties;
    let user_properties =
        p.iter().filter(|(k, _)| !RESERVED.contains(k)).map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    let delivery = p
        .get(keys::TIMER_DELAY_SEC)
        .and_then(|s| s.parse::<i64>().ok())
        .map(|sec| now_ms + sec * 1000)
        .or_else(|| p.get(keys::TIMER_DELIVER_MS).and_then(|s| s.parse().ok()));
    let born_host = p.get(BORN_HOST).map(str::to_owned).unwrap_or_else(|| m.born_host.ip().to_string());
    let dead_letter_queue = p.get(DLQ_ORIGIN_TOPIC).map(|t| DeadLetterQueue {
        topic: t.to_owned(),
        message_id: p.get(DLQ_ORIGIN_MESSAGE_ID).unwrap_or_default().to_owned(),
    });
    let sys = SystemProperties {
        tag: Some(p.tags().unwrap_or_default().to_owned()),
        keys: p.keys().map(str::to_owned).collect(),
        message_id: m.msg_id().to_owned(),
        body_digest: Some(Digest { r#type: DigestType::Md5 as i32, checksum: md5_hex(&m.body) }),
        body_encoding: Encoding::Identity as i32,
        message_type: message_type(m) as i32,
        born_timestamp: Some(timestamp(m.born_timestamp)),
        born_host,
        store_timestamp: Some(timestamp(m.store_timestamp)),
        store_host: m.store_host.to_string(),
        delivery_timestamp: delivery.map(timestamp),
        receipt_handle: receipt,
        queue_id: m.queue_id,
        queue_offset: Some(m.queue_offset),
        invisible_duration: None,
        delivery_attempt: Some(m.reconsume_times + 1),
        message_group: p.get(keys::SHARDING_KEY).map(str::to_owned),
        trace_context: p.get(TRACE_CONTEXT).map(str::to_owned),
        orphaned_transaction_recovery_duration: None,
        dead_letter_queue,
        lite_topic: None,
        priority: None,
    };
    Message {
        topic: Some(pb::Resource { resource_namespace: String::new(), name: topic.to_owned() }),
        user_properties,
        system_properties: Some(sys),
        body: m.body.to_vec(),
    }
}

/// MD5 of a body in 32 upper-case hex digits, as Java's proxy writes the digest.
fn md5_hex(body: &[u8]) -> String {
    let sum = Md5::digest(body);
    sum.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(topic: &str, body: &[u8]) -> Message {
        Message {
            topic: Some(Resource { resource_namespace: String::new(), name: topic.into() }),
            user_properties: Default::default(),
            system_properties: Some(SystemProperties { message_id: "ID1".into(), ..Default::default() }),
            body: body.to_vec(),
        }
    }

    fn code(r: Outcome<Outgoing>) -> Code {
        Code::try_from(r.unwrap_err().0.code).unwrap()
    }

    #[test]
    fn checks_as_javas_proxy() {
        let c = ProxyConfig::default();
        assert!(outgoing(&message("T", b"x"), &c, "1.2.3.4:5", 0).is_ok());
        assert_eq!(code(outgoing(&message("", b"x"), &c, "", 0)), Code::IllegalTopic);
        assert_eq!(code(outgoing(&message("a b", b"x"), &c, "", 0)), Code::IllegalTopic);
        assert_eq!(code(outgoing(&message("T", b""), &c, "", 0)), Code::MessageBodyEmpty);
        let big = vec![0u8; c.max_message_size + 1];
        assert_eq!(code(outgoing(&message("T", &big), &c, "", 0)), Code::MessageBodyTooLarge);
        let mut m = message("T", b"x");
        m.user_properties.insert("UNIQ_KEY".into(), "forged".into());
        assert_eq!(code(outgoing(&m, &c, "", 0)), Code::IllegalMessagePropertyKey);
        let mut m = message("T", b"x");
        m.system_properties.as_mut().unwrap().tag = Some("a|b".into());
        assert_eq!(code(outgoing(&m, &c, "", 0)), Code::IllegalMessageTag);
        let mut m = message("T", b"x");
        m.system_properties.as_mut().unwrap().message_group = Some("g".repeat(64));
        assert_eq!(code(outgoing(&m, &c, "", 0)), Code::IllegalMessageGroup);
        let mut m = message("T", b"x");
        m.system_properties.as_mut().unwrap().delivery_timestamp = Some(timestamp(c.max_delay_ms + 1_000));
        assert_eq!(code(outgoing(&m, &c, "", 0)), Code::IllegalDeliveryTime);
        let mut m = message("T", b"x");
        m.system_properties.as_mut().unwrap().message_id.clear();
        assert_eq!(code(outgoing(&m, &c, "", 0)), Code::IllegalMessageId);
    }

    #[test]
    fn builds_the_remoting_properties() {
        let mut m = message("T", b"x");
        let sys = m.system_properties.as_mut().unwrap();
        sys.tag = Some("TagA".into());
        sys.keys = vec!["k1".into(), "k2".into()];
        sys.message_group = Some("order-1".into());
        sys.message_type = MessageType::Transaction as i32;
        sys.delivery_timestamp = Some(timestamp(5_000));
        m.user_properties.insert("color".into(), "red".into());
        let out = outgoing(&m, &ProxyConfig::default(), "9.9.9.9:1", 0).unwrap();
        let p = &out.message.properties;
        assert_eq!(p.get("TAGS"), Some("TagA"));
        assert_eq!(p.get("KEYS"), Some("k1 k2"));
        assert_eq!(p.get("UNIQ_KEY"), Some("ID1"));
        assert_eq!(p.get("__SHARDINGKEY"), Some("order-1"));
        assert_eq!(p.get("TRAN_MSG"), Some("true"));
        assert_eq!(p.get("PGROUP"), Some("T"));
        assert_eq!(p.get("TIMER_DELIVER_MS"), Some("5000"));
        assert_eq!(p.get("__BORNHOST"), Some("9.9.9.9:1"));
        assert_eq!(p.get("color"), Some("red"));
        assert!(out.transactional);
    }

    #[test]
    fn gzip_bodies_are_unpacked() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"hello").unwrap();
        let mut m = message("T", &enc.finish().unwrap());
        m.system_properties.as_mut().unwrap().body_encoding = Encoding::Gzip as i32;
        assert_eq!(&outgoing(&m, &ProxyConfig::default(), "", 0).unwrap().message.body[..], b"hello");
        let mut m = message("T", b"not gzip");
        m.system_properties.as_mut().unwrap().body_encoding = Encoding::Gzip as i32;
        assert_eq!(code(outgoing(&m, &ProxyConfig::default(), "", 0)), Code::MessageCorrupted);
    }

    #[test]
    fn md5_digest_is_upper_hex() {
        assert_eq!(md5_hex(b""), "D41D8CD98F00B204E9800998ECF8427E");
    }
}
