//! [`Producer`]: sends like Java's `DefaultMQProducer`: a queue picked round
//! robin from the cached route, `UNIQ_KEY` set, and a failed synchronous send
//! retried on another broker's queue for transport failures and the codes
//! Java retries (17, 14, 1, 16, 204, 205).

use bytes::Bytes;
use rmq_model::properties::keys;
use rmq_model::record::{BatchItem, encode_batch_item};
use rmq_model::sysflag::message::COMPRESSED;
use rmq_model::topic::AUTO_CREATE_TOPIC_KEY_TOPIC;
use rmq_model::{MessageQueue, Properties};
use rmq_protocol::header::SendMessageResponseHeader;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{Client, refused};
use crate::error::{ClientError, Result};
use crate::message::{Message, deflate};
use crate::route::TopicRoute;
use rmq_model::clock::now_ms;

/// Response codes after which Java's producer tries another queue.
/// (The request header is [`rmq_protocol::header::SendMessageRequestHeaderV2`]'s.)
pub const RETRY_CODES: [i32; 6] = [17, 14, 1, 16, 204, 205];

/// How a send ended, by response code (Java's `SendStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendStatus {
    SendOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
}

impl SendStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        }
    }

    fn from_code(code: i32) -> Option<SendStatus> {
        match ResponseCode::from(code) {
            ResponseCode::Success => Some(SendStatus::SendOk),
            ResponseCode::FlushDiskTimeout => Some(SendStatus::FlushDiskTimeout),
            ResponseCode::FlushSlaveTimeout => Some(SendStatus::FlushSlaveTimeout),
            ResponseCode::SlaveNotAvailable => Some(SendStatus::SlaveNotAvailable),
            _ => None,
        }
    }
}

impl std::fmt::Display for SendStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored message's coordinates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendResult {
    pub status: SendStatus,
    /// The `UNIQ_KEY` (comma-separated for batches).
    pub msg_id: String,
    /// The offset msgId the broker answered (comma-separated for batches).
    pub offset_msg_id: String,
    pub queue: MessageQueue,
    pub queue_offset: i64,
    /// 5.3 brokers: the handle that recalls a timer message before it is due.
    pub recall_handle: Option<String>,
}

/// How a [`Producer`] sends.
#[derive(Clone, Debug)]
pub struct ProducerOptions {
    /// Retries of a failed synchronous send (Java's `retryTimesWhenSendFailed`, 2).
    pub retry_times: u32,
    /// Time for one send, retries included (Java's `sendMsgTimeout`, 3 s).
    pub send_timeout: Duration,
    /// Queues of a topic the broker creates on first send (Java: 4).
    pub default_topic_queue_nums: u32,
    /// Bodies at least this long are zlib-compressed (Java: 4096); `None` never.
    pub compress_over: Option<usize>,
}

impl Default for ProducerOptions {
    fn default() -> ProducerOptions {
        ProducerOptions {
            retry_times: 2,
            send_timeout: Duration::from_secs(3),
            default_topic_queue_nums: 4,
            compress_over: Some(4096),
        }
    }
}

/// Sends messages for one producer group. Cheap to clone; clones share the
/// client and its routes, so many sends may be in flight at once:
///
/// ```no_run
/// # async fn demo() -> rmq_client::Result<()> {
/// use rmq_client::{Client, ClientOptions, Message, Producer};
/// let client = Client::new(ClientOptions::new("127.0.0.1:9876"));
/// let producer = Producer::new(client, "bench_producer");
/// let result = producer.send(&Message::new("TopicTest", &b"hello"[..]).with_tags("TagA")).await?;
/// println!("{} {}", result.status, result.msg_id);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Producer {
    client: Client,
    group: Arc<str>,
    options: Arc<ProducerOptions>,
}

/// One send on the wire: the command's parts that do not change between
/// attempts.
struct Prepared {
    topic: String,
    body: Bytes,
    flag: i32,
    sys_flag: i32,
    properties: String,
    batch: bool,
    msg_id: String,
}

impl Producer {
    pub fn new(client: Client, group: &str) -> Producer {
        Producer::with_options(client, group, ProducerOptions::default())
    }

    pub fn with_options(client: Client, group: &str, options: ProducerOptions) -> Producer {
        Producer { client, group: Arc::from(group), options: Arc::new(options) }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// The route used to send to `topic`: its own, or for a topic the
    /// NameServer does not know, the `TBW102` template's (the broker creates
    /// the topic on first send when `autoCreateTopicEnable`).
    pub async fn publish_route(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        match self.client.route(topic).await {
            Ok(route) if !route.publish.is_empty() => Ok(route),
            Ok(_) | Err(ClientError::NoRoute(_)) => {
                let template = self.client.route(AUTO_CREATE_TOPIC_KEY_TOPIC).await.map_err(|e| match e {
                    ClientError::NoRoute(_) => ClientError::NoRoute(topic.to_owned()),
                    other => other,
                })?;
                let route = TopicRoute::from_template(topic, &template, self.options.default_topic_queue_nums);
                if route.publish.is_empty() {
                    return Err(ClientError::NoRoute(topic.to_owned()));
                }
                let route = Arc::new(route);
                self.client.inner.routes.insert(route.clone());
                self.client.invalidate_route(topic);
                Ok(route)
            }
            Err(e) => Err(e),
        }
    }

    fn prepare(&self, msg: &Message) -> Prepared {
        let msg_id = self.client.new_message_id();
        let mut properties = String::with_capacity(msg.properties.encoded_len() + 48);
        for (name, value) in msg.properties.iter() {
            push_property(&mut properties, name, value);
        }
        if !msg.properties.contains(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX) {
            push_property(&mut properties, keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, &msg_id);
        }
        if !msg.properties.contains(keys::WAIT_STORE_MSG_OK) {
            push_property(&mut properties, keys::WAIT_STORE_MSG_OK, "true");
        }
        let (body, mut sys_flag) = match self.options.compress_over {
            Some(limit) if msg.body.len() >= limit => (Bytes::from(deflate(&msg.body)), COMPRESSED),
            _ => (msg.body.clone(), 0),
        };
        // A half message (Java's producer decides the same from `TRAN_MSG`).
        if msg.properties.get(keys::TRANSACTION_PREPARED) == Some("true") {
            sys_flag |= rmq_model::sysflag::message::TRANSACTION_PREPARED_TYPE;
        }
        let msg_id = msg.properties.unique_key().map_or(msg_id, str::to_owned);
        Prepared { topic: msg.topic.clone(), body, flag: msg.flag, sys_flag, properties, batch: false, msg_id }
    }

    /// SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE with the V2 header's one-letter
    /// keys, written straight into the ext fields: one allocation per value.
    fn command(&self, p: &Prepared, mq: &MessageQueue) -> RemotingCommand {
        let code = if p.batch { RequestCode::SendBatchMessage } else { RequestCode::SendMessageV2 };
        let mut cmd = RemotingCommand::bare_request(code);
        let ext = &mut cmd.ext_fields;
        let mut put = |key: &str, value: String| {
            ext.insert(key, value);
        };
        put("a", self.group.to_string());
        put("b", p.topic.clone());
        put("c", AUTO_CREATE_TOPIC_KEY_TOPIC.to_owned());
        put("d", self.options.default_topic_queue_nums.to_string());
        put("e", mq.queue_id.to_string());
        put("f", p.sys_flag.to_string());
        put("g", now_ms().to_string());
        put("h", p.flag.to_string());
        put("i", p.properties.clone());
        put("j", "0".to_owned());
        put("k", "false".to_owned());
        put("m", p.batch.to_string());
        put("n", mq.broker_name.clone());
        cmd.body = p.body.clone().into();
        cmd
    }

    /// Sends one message and waits for the broker's answer, retrying on
    /// another broker as Java does.
    pub async fn send(&self, msg: &Message) -> Result<SendResult> {
        let prepared = self.prepare(msg);
        self.send_prepared(prepared, None).await
    }

    /// Sends one message to the given queue (no retry on another queue).
    pub async fn send_to(&self, msg: &Message, mq: &MessageQueue) -> Result<SendResult> {
        let prepared = self.prepare(msg);
        self.send_prepared(prepared, Some(mq)).await
    }

    async fn send_prepared(&self, p: Prepared, fixed: Option<&MessageQueue>) -> Result<SendResult> {
        let started = Instant::now();
        let route = self.publish_route(&p.topic).await?;
        let attempts = if fixed.is_some() { 1 } else { 1 + self.options.retry_times };
        let mut avoid: Option<String> = None;
        let mut last_error = None;
        for _ in 0..attempts {
            let left = self.options.send_timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            let mq = match fixed {
                Some(mq) => mq.clone(),
                None => route.select(avoid.as_deref()).cloned().ok_or_else(|| ClientError::NoRoute(p.topic.clone()))?,
            };
            let Some(addr) = route.master(&mq.broker_name) else {
                return Err(ClientError::Invalid(format!("the broker {} has no master online", mq.broker_name)));
            };
            let cmd = self.command(&p, &mq);
            match self.client.invoke(addr, cmd, Some(left)).await {
                Ok(resp) => match SendStatus::from_code(resp.code) {
                    Some(status) => return send_result(addr, status, &p.msg_id, mq, resp),
                    None if RETRY_CODES.contains(&resp.code) && fixed.is_none() => {
                        last_error = Some(refused(addr, resp));
                    }
                    None => return Err(refused(addr, resp)),
                },
                Err(e) => {
                    self.client.invalidate_route(&p.topic);
                    last_error = Some(e);
                }
            }
            avoid = Some(mq.broker_name);
        }
        Err(last_error.unwrap_or_else(|| ClientError::Invalid(format!("send to {} timed out", p.topic))))
    }

    /// Sends without waiting for an answer (no retry, no result).
    pub async fn send_oneway(&self, msg: &Message) -> Result<()> {
        let p = self.prepare(msg);
        let route = self.publish_route(&p.topic).await?;
        let mq = route.select(None).ok_or_else(|| ClientError::NoRoute(p.topic.clone()))?;
        let addr = route.master(&mq.broker_name).ok_or_else(|| ClientError::NoRoute(p.topic.clone()))?;
        let cmd = self.command(&p, mq);
        self.client.invoke_oneway(addr, cmd).await
    }

    /// Sends several messages of one topic as one SEND_BATCH_MESSAGE; each
    /// keeps its own `UNIQ_KEY` (the result lists them comma-separated).
    pub async fn send_batch(&self, msgs: &[Message]) -> Result<SendResult> {
        let Some(first) = msgs.first() else {
            return Err(ClientError::Invalid("a batch needs at least one message".into()));
        };
        if msgs.iter().any(|m| m.topic != first.topic) {
            return Err(ClientError::Invalid("the messages of a batch must share one topic".into()));
        }
        let mut body = Vec::with_capacity(msgs.iter().map(|m| m.body.len() + 64).sum());
        let mut ids = Vec::with_capacity(msgs.len());
        for msg in msgs {
            let id = msg.properties.unique_key().map_or_else(|| self.client.new_message_id(), str::to_owned);
            let mut props = Properties::new();
            for (name, value) in msg.properties.iter() {
                props.insert(name, value);
            }
            props.insert(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id.clone());
            let encoded = props.encode();
            encode_batch_item(
                &BatchItem { flag: msg.flag, body: &msg.body, properties: encoded.as_bytes() },
                &mut body,
            );
            ids.push(id);
        }
        let mut properties = String::new();
        push_property(&mut properties, keys::WAIT_STORE_MSG_OK, "true");
        let prepared = Prepared {
            topic: first.topic.clone(),
            body: Bytes::from(body),
            flag: 0,
            sys_flag: 0,
            properties,
            batch: true,
            msg_id: ids.join(","),
        };
        self.send_prepared(prepared, None).await
    }
}

fn push_property(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push('\u{1}');
    out.push_str(value);
    out.push('\u{2}');
}

fn send_result(
    addr: &str,
    status: SendStatus,
    msg_id: &str,
    queue: MessageQueue,
    resp: RemotingCommand,
) -> Result<SendResult> {
    let h = resp.header::<SendMessageResponseHeader>().map_err(|e| ClientError::Decode {
        what: "send",
        addr: addr.to_owned(),
        reason: e.to_string(),
    })?;
    let queue = MessageQueue { queue_id: h.queue_id, ..queue };
    Ok(SendResult {
        status,
        msg_id: msg_id.to_owned(),
        offset_msg_id: h.msg_id,
        queue,
        queue_offset: h.queue_offset,
        recall_handle: h.recall_handle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientOptions;
    use rmq_protocol::CommandHeader;
    use rmq_protocol::header::SendMessageRequestHeaderV2;

    #[test]
    fn send_command_reads_back_as_the_v2_header() {
        let producer = Producer::new(Client::new(ClientOptions::new("127.0.0.1:9876")), "pg");
        let msg = Message::new("T", &b"hi"[..]).with_tags("A").with_keys("k1 k2");
        let prepared = producer.prepare(&msg);
        let cmd = producer.command(&prepared, &MessageQueue::new("T", "broker-a", 3));
        assert_eq!(cmd.request_code(), RequestCode::SendMessageV2);
        let h = SendMessageRequestHeaderV2::read_ext(&cmd.ext_fields).unwrap().0;
        assert_eq!((h.producer_group.as_str(), h.topic.as_str(), h.queue_id), ("pg", "T", 3));
        assert_eq!(h.default_topic.as_deref(), Some("TBW102"));
        assert_eq!(h.broker_name.as_deref(), Some("broker-a"));
        assert_eq!(h.batch, Some(false));
        let props = Properties::decode(h.properties.as_deref().unwrap());
        assert_eq!(props.tags(), Some("A"));
        assert_eq!(props.unique_key(), Some(prepared.msg_id.as_str()));
        assert_eq!(props.get("WAIT"), Some("true"));
        assert_eq!(cmd.body.to_bytes(), &b"hi"[..]);
        let big = producer.prepare(&Message::new("T", vec![b'x'; 5000]));
        assert_eq!(big.sys_flag, COMPRESSED);
        assert!(big.body.len() < 100);
    }
}
