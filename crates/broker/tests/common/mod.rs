//! A broker in this process on free loopback ports (no NameServer), and a
//! raw remoting client to drive it request by request.
#![allow(dead_code)]

use rmq_model::record;
use rmq_protocol::body::heartbeat::{HeartbeatData, ProducerData};
use rmq_protocol::header::{
    ConsumerSendMsgBackRequestHeader, CreateTopicRequestHeader, PullMessageRequestHeader, SendMessageRequestHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_remoting::{Client, ClientConfig, Connection, Service};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A broker with no NameServer, its store under `home`, small files.
pub struct TestBroker;

impl TestBroker {
    /// Starts a broker with its store under `home`; `configure` sets keys.
    pub async fn start(home: &Path, configure: &[(&str, &str)]) -> rmq_testkit::broker::TestBroker {
        let mut pairs = vec![
            ("mappedFileSizeCommitLog", "16777216"),
            ("mappedFileSizeConsumeQueue", "60000"),
            ("maxIndexNum", "10000"),
            ("maxHashSlotNum", "2000"),
        ];
        pairs.extend_from_slice(configure);
        rmq_testkit::broker::TestBroker::start("", home, &pairs).await
    }
}

/// Hands requests the broker sends us (CHECK_TRANSACTION_STATE, notifications) to the test.
#[derive(Debug)]
pub struct Inbox(pub mpsc::UnboundedSender<RemotingCommand>);

impl Service for Inbox {
    async fn handle(&self, _conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        let _ = self.0.send(request);
        None
    }
}

/// A client whose incoming requests land in the returned receiver.
pub fn client() -> (Client, mpsc::UnboundedReceiver<RemotingCommand>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Client::new(ClientConfig::default(), Arc::new(Inbox(tx))), rx)
}

pub async fn invoke(client: &Client, addr: &str, request: RemotingCommand) -> RemotingCommand {
    client.invoke(addr, request, TIMEOUT).await.expect("broker answers")
}

/// Registers this client as a producer of `group`.
pub async fn heartbeat_producer(client: &Client, addr: &str, client_id: &str, group: &str) {
    let data = HeartbeatData {
        client_id: client_id.to_owned(),
        producer_data_set: vec![ProducerData { group_name: group.to_owned() }],
        ..HeartbeatData::default()
    };
    let request = RemotingCommand::bare_request(RequestCode::HeartBeat).with_body(rmq_model::fastjson::to_vec(&data));
    assert_eq!(invoke(client, addr, request).await.code, 0);
}

/// A SEND_MESSAGE request of `body` with `properties` (name, value) pairs.
pub fn send_request(
    group: &str,
    topic: &str,
    queue_id: i32,
    sys_flag: i32,
    properties: &[(&str, &str)],
    body: &[u8],
) -> RemotingCommand {
    let mut props = String::new();
    for (k, v) in properties {
        props.push_str(&format!("{k}\u{1}{v}\u{2}"));
    }
    let header = SendMessageRequestHeader {
        producer_group: group.to_owned(),
        topic: topic.to_owned(),
        default_topic: Some("TBW102".to_owned()),
        default_topic_queue_nums: Some(4),
        queue_id,
        sys_flag: Some(sys_flag),
        born_timestamp: Some(rmq_now()),
        flag: Some(0),
        properties: Some(props),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        batch: Some(false),
        max_reconsume_times: None,
        broker_name: None,
    };
    RemotingCommand::request(RequestCode::SendMessage, &header).with_body(body.to_vec())
}

/// UPDATE_AND_CREATE_TOPIC of `topic` with `queues` read and write queues
/// and permission `perm` (6 = read and write).
pub fn create_topic_request(topic: &str, queues: i32, perm: i32) -> RemotingCommand {
    let header = CreateTopicRequestHeader {
        topic: topic.to_owned(),
        default_topic: Some("TBW102".to_owned()),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm,
        topic_filter_type: Some("SINGLE_TAG".to_owned()),
        topic_sys_flag: Some(0),
        order: Some(false),
        attributes: None,
        force: None,
    };
    RemotingCommand::request(RequestCode::UpdateAndCreateTopic, &header)
}

/// CONSUMER_SEND_MSG_BACK of the message at CommitLog `offset` (consumed
/// from `origin_topic`) by `group`, with the default delay level.
pub fn send_back_request(offset: i64, group: &str, origin_topic: &str, max_reconsume: i32) -> RemotingCommand {
    let header = ConsumerSendMsgBackRequestHeader {
        offset,
        group: group.to_owned(),
        delay_level: 0,
        origin_msg_id: None,
        origin_topic: Some(origin_topic.to_owned()),
        unit_mode: Some(false),
        max_reconsume_times: Some(max_reconsume),
    };
    RemotingCommand::request(RequestCode::ConsumerSendMsgBack, &header)
}

pub fn rmq_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A non-blocking pull carrying its subscription (as mqadmin's pulls do).
pub fn pull_request(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    expression: &str,
    kind: &str,
) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: group.to_owned(),
        topic: topic.to_owned(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: 0x4,
        commit_offset: Some(0),
        suspend_timeout_millis: Some(0),
        subscription: Some(expression.to_owned()),
        sub_version: Some(0),
        expression_type: Some(kind.to_owned()),
        max_msg_bytes: None,
    };
    RemotingCommand::request(RequestCode::PullMessage, &header)
}

/// Bodies of the messages a pull answered, in queue order.
pub fn pulled_bodies(response: &RemotingCommand) -> Vec<String> {
    let bytes = response.body.to_bytes();
    record::records(&bytes, false).map(|r| String::from_utf8_lossy(r.expect("record").body).into_owned()).collect()
}

/// Pulls `topic` queue `queue_id` from 0 with `expression` until `want`
/// bodies came or `within` passed (dispatch is asynchronous).
pub async fn pull_all(
    client: &Client,
    addr: &str,
    topic: &str,
    queue_id: i32,
    (expression, kind): (&str, &str),
    want: usize,
    within: Duration,
) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let mut bodies = Vec::new();
        let mut offset = 0;
        loop {
            let r = invoke(client, addr, pull_request("test-puller", topic, queue_id, offset, expression, kind)).await;
            if r.code != 0 && r.code != 20 {
                break;
            }
            bodies.extend(pulled_bodies(&r));
            let next: i64 = r.ext("nextBeginOffset").and_then(|v| v.parse().ok()).unwrap_or(offset);
            if next <= offset {
                break;
            }
            offset = next;
        }
        if bodies.len() >= want || tokio::time::Instant::now() >= deadline {
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
