//! Consumer-facing rules Java's broker applies, over the wire: where a new
//! group starts (QUERY_CONSUMER_OFFSET), a pull below any offset, how a
//! heartbeat updates a group's subscriptions, broadcast permission, and a
//! read-only retry topic refusing hand-backs, OFFSET_MOVED_EVENT.

mod common;

use common::{
    TestBroker, client, create_topic_request, invoke, pull_all, pull_request, send_back_request, send_request,
};
use rmq_model::SubscriptionGroupConfig;
use rmq_protocol::body::admin::ConsumerConnection;
use rmq_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, SubscriptionData,
};
use rmq_protocol::header::{
    ConsumerGroupRequestHeader, PullMessageResponseHeader, QueryConsumerOffsetRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::Client;
use std::time::{Duration, Instant};

fn query_offset(group: &str, topic: &str, set_zero_if_not_found: Option<bool>) -> RemotingCommand {
    let header = QueryConsumerOffsetRequestHeader {
        consumer_group: group.to_owned(),
        topic: topic.to_owned(),
        queue_id: 0,
        set_zero_if_not_found,
    };
    RemotingCommand::request(RequestCode::QueryConsumerOffset, &header)
}

/// Sends one message to queue 0 of `topic` and waits until a pull sees it.
async fn send_one(c: &Client, addr: &str, topic: &str) -> RemotingCommand {
    let sent = invoke(c, addr, send_request("pg", topic, 0, 0, &[], b"m")).await;
    assert_eq!(sent.response_code(), ResponseCode::Success, "{:?}", sent.remark);
    let deadline = Instant::now() + Duration::from_secs(5);
    while invoke(c, addr, pull_request("probe", topic, 0, 0, "*", "TAG")).await.response_code() != ResponseCode::Success
    {
        assert!(Instant::now() < deadline, "the message was never dispatched");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_group_starts_at_zero_only_while_the_queue_is_young() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();

    // An empty queue, and one whose first message is well inside memory.
    let r = invoke(&c, addr, query_offset("fresh", "Young", None)).await;
    assert_eq!((r.response_code(), r.ext("offset")), (ResponseCode::Success, Some("0")), "empty queue");
    send_one(&c, addr, "Young").await;
    let r = invoke(&c, addr, query_offset("fresh", "Young", None)).await;
    assert_eq!((r.response_code(), r.ext("offset")), (ResponseCode::Success, Some("0")), "young queue");
    // A 5.x client asking not to be given 0.
    let r = invoke(&c, addr, query_offset("fresh", "Young", Some(false))).await;
    assert_eq!(r.response_code(), ResponseCode::QueryNotFound);
    // A negative committed offset counts as none.
    let header = UpdateConsumerOffsetRequestHeader {
        consumer_group: "negative".into(),
        topic: "Young".into(),
        queue_id: 0,
        commit_offset: -1,
    };
    invoke(&c, addr, RemotingCommand::request(RequestCode::UpdateConsumerOffset, &header)).await;
    let r = invoke(&c, addr, query_offset("negative", "Young", None)).await;
    assert_eq!((r.response_code(), r.ext("offset")), (ResponseCode::Success, Some("0")));

    // With no memory window every message counts as on disk: a new group is
    // not sent back to 0 (it would replay the backlog) but left to its
    // consumeFromWhere.
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[("accessMessageInMemoryMaxRatio", "0")]).await;
    let addr = broker.addr.as_str();
    send_one(&c, addr, "Old").await;
    let r = invoke(&c, addr, query_offset("fresh", "Old", None)).await;
    assert_eq!(r.response_code(), ResponseCode::QueryNotFound, "{:?}", r.remark);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_below_zero_is_moved_to_the_minimum() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    send_one(&c, addr, "Negative").await;
    let r = invoke(&c, addr, pull_request("g", "Negative", 0, -1, "*", "TAG")).await;
    assert_eq!(r.response_code(), ResponseCode::PullOffsetMoved, "{:?}", r.remark);
    let header: PullMessageResponseHeader = r.header().unwrap();
    assert_eq!((header.next_begin_offset, header.min_offset, header.max_offset), (0, 0, 1));
    assert!(r.body.to_bytes().is_empty(), "no messages with a moved offset");

    // The correction is recorded in OFFSET_MOVED_EVENT, as Java's broker does.
    let events = pull_all(&c, addr, "OFFSET_MOVED_EVENT", 0, ("*", "TAG"), 1, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event: serde_json::Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(event["consumerGroup"], "g");
    assert_eq!(event["messageQueue"]["topic"], "Negative");
    assert_eq!((event["offsetRequest"].as_i64(), event["offsetNew"].as_i64()), (Some(-1), Some(0)));
}

fn consumer_heartbeat(client_id: &str, model: MessageModel, subs: &[(&str, &str, i64)]) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client_id.to_owned(),
        consumer_data_set: vec![ConsumerData {
            group_name: "hb".to_owned(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: model,
            consume_from_where: ConsumeFromWhere::LastOffset,
            subscription_data_set: subs
                .iter()
                .map(|(topic, expression, version)| SubscriptionData::tags(topic, expression, *version))
                .collect(),
            unit_mode: false,
        }],
        ..HeartbeatData::default()
    };
    RemotingCommand::bare_request(RequestCode::HeartBeat).with_body(rmq_model::fastjson::to_vec(&data))
}

async fn subscriptions(c: &Client, addr: &str) -> Vec<(String, String)> {
    let header = ConsumerGroupRequestHeader { consumer_group: "hb".into() };
    let r = invoke(c, addr, RemotingCommand::request(RequestCode::GetConsumerConnectionList, &header)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let conn = ConsumerConnection::decode(&r.body.to_bytes()).unwrap();
    conn.subscription_table.into_iter().map(|(topic, sub)| (topic, sub.sub_string)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_update_subscriptions_by_version_and_drop_unlisted_topics() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    let pair = |t: &str, e: &str| (t.to_owned(), e.to_owned());

    let hb = consumer_heartbeat("c1", MessageModel::Clustering, &[("A", "x", 10), ("B", "*", 10)]);
    assert_eq!(invoke(&c, addr, hb).await.code, 0);
    assert_eq!(subscriptions(&c, addr).await, vec![pair("A", "x"), pair("B", "*")]);
    // An older subscription (another client of the group not yet upgraded)
    // does not replace a newer one; a newer one does.
    let hb = consumer_heartbeat("c1", MessageModel::Clustering, &[("A", "old", 9), ("B", "*", 10)]);
    invoke(&c, addr, hb).await;
    assert_eq!(subscriptions(&c, addr).await, vec![pair("A", "x"), pair("B", "*")]);
    let hb = consumer_heartbeat("c1", MessageModel::Clustering, &[("A", "y", 11), ("B", "*", 10)]);
    invoke(&c, addr, hb).await;
    assert_eq!(subscriptions(&c, addr).await, vec![pair("A", "y"), pair("B", "*")]);
    // A topic no longer listed is unsubscribed.
    let hb = consumer_heartbeat("c1", MessageModel::Clustering, &[("A", "y", 11)]);
    invoke(&c, addr, hb).await;
    assert_eq!(subscriptions(&c, addr).await, vec![pair("A", "y")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_pulls_need_the_groups_permission() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    send_one(&c, addr, "Cast").await;
    // What `mqadmin updateSubGroup -g hb` creates: broadcast off.
    let config = SubscriptionGroupConfig {
        group_name: "hb".to_owned(),
        consume_broadcast_enable: false,
        ..SubscriptionGroupConfig::default()
    };
    let create = RemotingCommand::bare_request(RequestCode::UpdateAndCreateSubscriptionGroup)
        .with_body(serde_json::to_vec(&config).unwrap());
    assert_eq!(invoke(&c, addr, create).await.code, 0);
    invoke(&c, addr, consumer_heartbeat("c1", MessageModel::Broadcasting, &[("Cast", "*", 1)])).await;

    // Java's push consumer pulls without the subscription flag by default.
    let mut pull = pull_request("hb", "Cast", 0, 0, "*", "TAG");
    let mut header: rmq_protocol::header::PullMessageRequestHeader = pull.header().unwrap();
    header.sys_flag &= !0x4;
    pull = RemotingCommand::request(RequestCode::PullMessage, &header);
    let r = invoke(&c, addr, pull.clone()).await;
    assert_eq!(r.response_code(), ResponseCode::NoPermission);
    assert!(r.remark.as_deref().unwrap_or("").contains("can not consume by broadcast way"), "{:?}", r.remark);

    // Clustering members of the same group pull as usual.
    invoke(&c, addr, consumer_heartbeat("c1", MessageModel::Clustering, &[("Cast", "*", 1)])).await;
    assert_eq!(invoke(&c, addr, pull).await.response_code(), ResponseCode::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_retry_topic_refuses_hand_backs() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    let sent = send_one(&c, addr, "Handed").await;
    let (_, offset) = rmq_model::msg_id::decode_offset_msg_id(sent.ext("msgId").unwrap()).unwrap();
    let r = invoke(&c, addr, create_topic_request("%RETRY%ro", 1, 4)).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let r = invoke(&c, addr, send_back_request(offset.as_i64(), "ro", "Handed", 16)).await;
    assert_eq!(r.response_code(), ResponseCode::NoPermission);
    assert_eq!(r.remark.as_deref(), Some("the topic[%RETRY%ro] sending message is forbidden"));
}

/// A hand-back is stored as safely as a send before it is acknowledged: the
/// consumer moves past the original once it is. On a SYNC_MASTER with no
/// slave it is refused with the store's status, as Java does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_back_waits_for_the_slave_like_a_send() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[("brokerRole", "SYNC_MASTER")]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    let sent = invoke(&c, addr, send_request("pg", "Synced", 0, 0, &[], b"m")).await;
    assert_eq!(sent.response_code(), ResponseCode::SlaveNotAvailable, "no slave: the send is not safe");
    let (_, offset) = rmq_model::msg_id::decode_offset_msg_id(sent.ext("msgId").unwrap()).unwrap();
    let r = invoke(&c, addr, send_back_request(offset.as_i64(), "g", "Synced", 16)).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    assert_eq!(r.remark.as_deref(), Some("SLAVE_NOT_AVAILABLE"));
}
