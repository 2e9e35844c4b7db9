use rmq_model::properties::keys;
use rmq_model::record::{self, NewMessage};
use rmq_model::topic::SCHEDULE_TOPIC;
use rmq_protocol::header::ConsumerSendMsgBackRequestHeader;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::handlers::fixture::Fixture;
use crate::message_log::MessageLog;

/// Stores a consumed message that was delivered `reconsumed` times; returns
/// its CommitLog offset.
fn consumed(f: &Fixture, reconsumed: i32) -> i64 {
    let msg = NewMessage {
        topic: "Payments",
        queue_id: 0,
        flag: 0,
        body: b"pay",
        properties: b"TAGS\x01P\x02",
        sys_flag: 0,
        born_timestamp: 1,
        born_host: "10.0.0.9:50000".parse().unwrap(),
        reconsume_times: reconsumed,
        prepared_transaction_offset: 0,
    };
    f.log.put(&msg).unwrap().offset.as_i64()
}

fn hand_back(offset: i64, max_reconsume: i32) -> RemotingCommand {
    let header = ConsumerSendMsgBackRequestHeader {
        offset,
        group: "Billing".into(),
        delay_level: 0,
        origin_msg_id: None,
        origin_topic: Some("Payments".into()),
        unit_mode: Some(false),
        max_reconsume_times: Some(max_reconsume),
    };
    RemotingCommand::request(RequestCode::ConsumerSendMsgBack, &header)
}

#[tokio::test]
async fn a_handed_back_message_waits_in_the_retry_topic_at_level_three_plus_its_deliveries() {
    let f = Fixture::new();
    let offset = consumed(&f, 1);
    let r = f.sending().send_back(&hand_back(offset, 16), None).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert!(f.topics.get("%RETRY%Billing").is_some());
    let parked = f.log.queue(SCHEDULE_TOPIC, 3);
    let copy = record::decode_message(&parked[0], true).unwrap();
    assert_eq!(copy.reconsume_times, 2);
    assert_eq!(copy.property(keys::REAL_TOPIC), Some(&b"%RETRY%Billing"[..]));
    assert_eq!(copy.property(keys::RETRY_TOPIC), Some(&b"Payments"[..]));
    assert!(copy.property(keys::ORIGIN_MESSAGE_ID).is_some_and(|id| !id.is_empty()));
}

#[tokio::test]
async fn past_its_maximum_it_goes_to_the_dead_letter_queue_and_bad_offsets_are_refused() {
    let f = Fixture::new();
    let offset = consumed(&f, 3);
    let r = f.sending().send_back(&hand_back(offset, 3), None).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(f.log.queue("%DLQ%Billing", 0).len(), 1);
    let r = f.sending().send_back(&hand_back(offset + 1, 3), None).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    assert!(r.remark.unwrap().contains("look message by offset failed"));
    f.log.fill_disk();
    let r = f.sending().send_back(&hand_back(offset, 16), None).await;
    assert_eq!(r.remark.as_deref(), Some("SERVICE_NOT_AVAILABLE"));
}

/// A leased master (controller mode, `enableMasterLease`) whose lease has
/// lapsed takes no hand-back, as it takes no send: the copy would be written
/// by a broker that may no longer be its group's master.
#[tokio::test]
async fn a_master_whose_lease_lapsed_refuses_hand_backs_unstored() {
    let leased =
        [("enableControllerMode", "true"), ("controllerAddr", "127.0.0.1:9878"), ("enableMasterLease", "true")];
    let f = Fixture::with(|c| {
        c.apply_all(leased).unwrap();
    });
    let offset = consumed(&f, 1);
    let r = f.sending().send_back(&hand_back(offset, 16), None).await;
    assert_eq!(r.response_code(), ResponseCode::ServiceNotAvailable, "{:?}", r.remark);
    assert!(r.remark.unwrap().contains("master lease lapsed"));
    assert!(f.log.queue(SCHEDULE_TOPIC, 3).is_empty(), "nothing stored");

    f.replication.hold_lease_until(std::time::Instant::now() + std::time::Duration::from_secs(5));
    let r = f.sending().send_back(&hand_back(offset, 16), None).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(f.log.queue(SCHEDULE_TOPIC, 3).len(), 1);
}
