use rmq_model::properties::keys;
use rmq_model::record::{self, BatchItem};
use rmq_model::topic::SCHEDULE_TOPIC;
use rmq_model::{msg_id, perm};
use rmq_protocol::header::{SendMessageRequestHeader, SendMessageRequestHeaderV2};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::handlers::fixture::{Fixture, ext};

fn send(topic: &str, queue_id: i32, properties: &str, body: &[u8]) -> RemotingCommand {
    RemotingCommand::request(RequestCode::SendMessage, &header(topic, queue_id, properties)).with_body(body.to_vec())
}

fn header(topic: &str, queue_id: i32, properties: &str) -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: Some("TBW102".into()),
        default_topic_queue_nums: Some(4),
        queue_id,
        sys_flag: Some(0),
        born_timestamp: Some(1_700_000_000_000),
        flag: Some(0),
        properties: Some(properties.into()),
        reconsume_times: Some(0),
        ..SendMessageRequestHeader::default()
    }
}

#[tokio::test]
async fn a_send_is_stored_with_the_brokers_properties_and_answered_with_its_place() {
    let f = Fixture::new();
    let r =
        f.sending().handle(&Fixture::conn(), send("Orders", 1, "TAGS\u{1}A\u{2}WAIT\u{1}true\u{2}", b"hello")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!((ext::<i32>(&r, "queueId"), ext::<i64>(&r, "queueOffset")), (1, 0));
    assert!(f.topics.get("Orders").is_some(), "created from TBW102 on first send");
    let stored = f.log.queue("Orders", 1);
    let view = record::decode_message(&stored[0], true).unwrap();
    assert_eq!(view.body, b"hello");
    assert_eq!(view.property(keys::CLUSTER), Some(&b"DefaultCluster"[..]));
    assert!(view.property(keys::WAIT_STORE_MSG_OK).is_none(), "WAIT is the broker's, not stored");
    let (_, offset) = msg_id::decode_offset_msg_id(r.ext("msgId").unwrap()).unwrap();
    assert_eq!(offset.as_i64(), view.physical_offset);
    assert_eq!(f.stats.put_nums.total(), 1);
}

#[tokio::test]
async fn a_batch_stores_each_message_and_answers_every_msg_id() {
    let f = Fixture::new();
    let mut body = Vec::new();
    for text in ["one", "two"] {
        record::encode_batch_item(&BatchItem { flag: 0, body: text.as_bytes(), properties: b"TAGS\x01B" }, &mut body);
    }
    let v2 = SendMessageRequestHeaderV2(SendMessageRequestHeader { batch: Some(true), ..header("Batched", 0, "") });
    let request = RemotingCommand::request(RequestCode::SendBatchMessage, &v2).with_body(body);
    let r = f.sending().handle(&Fixture::conn(), request).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(r.ext("msgId").unwrap().split(',').count(), 2);
    let bodies: Vec<_> =
        f.log.queue("Batched", 0).iter().map(|r| record::decode_message(r, true).unwrap().body.to_vec()).collect();
    assert_eq!(bodies, vec![b"one".to_vec(), b"two".to_vec()]);
}

#[tokio::test]
async fn a_delayed_message_is_parked_under_the_schedule_topic() {
    let f = Fixture::new();
    let r = f.sending().handle(&Fixture::conn(), send("Later", 2, "DELAY\u{1}3\u{2}", b"x")).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert!(f.log.queue("Later", 2).is_empty());
    let parked = f.log.queue(SCHEDULE_TOPIC, 2);
    let view = record::decode_message(&parked[0], false).unwrap();
    assert_eq!(view.property(keys::REAL_TOPIC), Some(&b"Later"[..]));
    assert_eq!(view.property(keys::REAL_QUEUE_ID), Some(&b"2"[..]));
}

#[tokio::test]
async fn a_retry_past_its_maximum_goes_to_the_dead_letter_queue() {
    let f = Fixture::new();
    let mut request = send("%RETRY%Billing", 0, "", b"x");
    request = request.with_ext("reconsumeTimes", "3").with_ext("maxReconsumeTimes", "3");
    let r = f.sending().handle(&Fixture::conn(), request).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(f.log.queue("%DLQ%Billing", 0).len(), 1);
    assert!(f.groups.get("Billing").is_some(), "the retry send made its group");
}

#[tokio::test]
async fn refusals_name_their_reason() {
    let f = Fixture::with(|c| c.auto_create_topic_enable = false);
    let sending = f.sending();
    let conn = Fixture::conn();
    let r = sending.handle(&conn, send("bad topic", 0, "", b"x")).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    let r = sending.handle(&conn, send("Unknown", 0, "", b"x")).await;
    assert_eq!(r.response_code(), ResponseCode::TopicNotExist);
    assert!(r.remark.unwrap().contains("topic[Unknown] not exist"));
    f.topics.upsert(rmq_model::TopicConfig::new("Small", 2), 2);
    let r = sending.handle(&conn, send("Small", 5, "", b"x")).await;
    assert!(r.remark.unwrap().contains("queueId[5] is illegal"));
    let r = sending.handle(&conn, send("Small", 0, "DELAY\u{1}soon\u{2}", b"x")).await;
    assert_eq!(r.response_code(), ResponseCode::MessageIllegal);
    f.topics.upsert(rmq_model::TopicConfig::new("Ordered", 2), 3);
    let mut ordered = (*f.topics.get("Ordered").unwrap()).clone();
    ordered.order = true;
    f.topics.upsert(ordered, 4);
    f.config.update(|c| c.broker_permission = perm::READ);
    let r = sending.handle(&conn, send("Ordered", 0, "", b"x")).await;
    assert_eq!(r.response_code(), ResponseCode::NoPermission);
    assert_eq!(f.stats.put_failures.total(), 5);
    assert!(f.log.queues().is_empty(), "nothing refused was stored");
}

#[tokio::test]
async fn a_full_disk_answers_service_not_available() {
    let f = Fixture::new();
    f.log.fill_disk();
    let r = f.sending().handle(&Fixture::conn(), send("Orders", 0, "", b"x")).await;
    assert_eq!(r.response_code(), ResponseCode::ServiceNotAvailable);
    assert!(r.remark.unwrap().contains("disk is full"));
}
