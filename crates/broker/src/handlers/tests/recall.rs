//! RECALL_MESSAGE and the recall handle of a timer send, checked against
//! Java 5.3's `RecallMessageProcessor` and `SendMessageProcessor.attachRecallHandle`.

use rmq_model::properties::keys;
use rmq_model::record;
use rmq_model::topic::TIMER_TOPIC;
use rmq_protocol::header::{RecallMessageRequestHeader, SendMessageRequestHeader};
use rmq_protocol::recall::RecallHandle;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::handlers::fixture::Fixture;
use crate::now_ms;

const ID: &str = "7F00000100002A9F0000000000000001";

fn send(topic: &str, properties: &str) -> RemotingCommand {
    let header = SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: Some("TBW102".into()),
        default_topic_queue_nums: Some(4),
        queue_id: 0,
        properties: Some(properties.into()),
        ..SendMessageRequestHeader::default()
    };
    RemotingCommand::request(RequestCode::SendMessage, &header).with_body(b"body".to_vec())
}

fn recall(topic: &str, handle: &str) -> RemotingCommand {
    let header = RecallMessageRequestHeader {
        producer_group: Some("pg".into()),
        topic: topic.into(),
        recall_handle: handle.into(),
        broker_name: Some("broker-a".into()),
    };
    RemotingCommand::request(RequestCode::RecallMessage, &header)
}

fn enabled() -> Fixture {
    Fixture::with(|c| c.recall_message_enable = true)
}

/// Sends a message due in a minute and returns its recall handle.
async fn send_timer(f: &Fixture, topic: &str) -> String {
    let props = format!("{}\u{1}60\u{2}{}\u{1}{ID}\u{2}", keys::TIMER_DELAY_SEC, keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX);
    let r = f.sending().handle(&Fixture::conn(), send(topic, &props)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    r.ext("recallHandle").expect("a timer message gets a handle").to_owned()
}

#[tokio::test]
async fn a_timer_send_is_answered_with_a_handle_naming_its_time_and_id() {
    let f = enabled();
    let handle = RecallHandle::decode(&send_timer(&f, "Orders").await).unwrap();
    let parked = f.log.queue(TIMER_TOPIC, 0);
    let view = record::decode_message(&parked[0], true).unwrap();
    let out_ms: i64 = std::str::from_utf8(view.property(keys::TIMER_OUT_MS).unwrap()).unwrap().parse().unwrap();
    assert_eq!(handle, RecallHandle::for_timer("Orders", "broker-a", out_ms, ID));
    assert_eq!(handle.timestamp_ms(), Some(out_ms + 1), "Java adds one ms (the tick rounds down again)");
}

#[tokio::test]
async fn other_sends_get_no_handle() {
    let f = enabled();
    let delay_level =
        format!("{}\u{1}3\u{2}{}\u{1}{ID}\u{2}", keys::DELAY_TIME_LEVEL, keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX);
    for props in [format!("{}\u{1}{ID}\u{2}", keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX), delay_level] {
        let r = f.sending().handle(&Fixture::conn(), send("Orders", &props)).await;
        assert_eq!(r.response_code(), ResponseCode::Success);
        assert_eq!(r.ext("recallHandle"), None, "{props:?}");
    }
}

#[tokio::test]
async fn a_recall_stores_javas_marker_once_and_answers_the_message_id() {
    let f = enabled();
    let handle = send_timer(&f, "Orders").await;
    let recalling = f.recalling(true);
    let r = recalling.recall(&Fixture::conn(), &recall("Orders", &handle)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(r.ext("msgId"), Some(ID));
    assert_eq!(r.ext(keys::MSG_REGION), Some("DefaultRegion"));
    let parked = f.log.queue(TIMER_TOPIC, 0);
    assert_eq!(parked.len(), 2, "the message and its marker");
    let (message, marker) =
        (record::decode_message(&parked[0], true).unwrap(), record::decode_message(&parked[1], true).unwrap());
    let prop = |v: &record::RecordView<'_>, k: &str| v.property(k).map(|b| String::from_utf8_lossy(b).into_owned());
    assert_eq!(prop(&marker, keys::TIMER_DEL_UNIQKEY), Some(format!("Orders+{ID}")));
    assert_eq!(prop(&marker, keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).as_deref(), Some(ID));
    assert_eq!(prop(&marker, keys::REAL_TOPIC).as_deref(), Some("Orders"));
    assert_eq!(prop(&marker, keys::TAGS).as_deref(), Some("_RECALL_TAG_"));
    assert_eq!(prop(&marker, keys::TIMER_OUT_MS), prop(&message, keys::TIMER_OUT_MS), "the same tick");
    assert_eq!(marker.body, b"0");

    let again = recalling.recall(&Fixture::conn(), &recall("Orders", &handle)).await;
    assert_eq!(again.response_code(), ResponseCode::Success, "answered as the first, as Java");
    assert_eq!(again.ext_fields.get("msgId"), Some(ID));
    assert_eq!(f.log.queue(TIMER_TOPIC, 0).len(), 2, "no second marker");
}

#[tokio::test]
async fn bad_handles_get_javas_codes_and_remarks() {
    let f = enabled();
    send_timer(&f, "Orders").await;
    send_timer(&f, "Other").await;
    let soon = now_ms() + 60_000;
    let handle = |topic: &str, broker: &str, at: String| {
        RecallHandle { topic: topic.into(), broker_name: broker.into(), timestamp: at, message_id: ID.into() }.encode()
    };
    let cases = [
        ("Orders", "garbage!".to_owned(), ResponseCode::IllegalOperation, "recall handle is invalid"),
        ("Orders", String::new(), ResponseCode::IllegalOperation, "recall handle is invalid"),
        (
            "Orders",
            handle("Other", "broker-a", soon.to_string()),
            ResponseCode::IllegalOperation,
            "recall failed, topic not match",
        ),
        (
            "Orders",
            handle("Orders", "broker-b", soon.to_string()),
            ResponseCode::IllegalOperation,
            "recall failed, broker service not available",
        ),
        (
            "Orders",
            handle("Orders", "broker-a", (now_ms() - 1).to_string()),
            ResponseCode::IllegalOperation,
            "recall failed, timestamp invalid",
        ),
        (
            "Orders",
            handle("Orders", "broker-a", "soon".into()),
            ResponseCode::IllegalOperation,
            "recall failed, timestamp invalid",
        ),
        (
            "Orders",
            handle("Orders", "broker-a", (now_ms() + 400_000_000).to_string()),
            ResponseCode::IllegalOperation,
            "recall failed, timestamp invalid",
        ),
        (
            "Missing",
            handle("Missing", "broker-a", soon.to_string()),
            ResponseCode::TopicNotExist,
            "recall failed, the topic[Missing] not exist",
        ),
    ];
    for (topic, h, code, remark) in cases {
        let r = f.recalling(true).recall(&Fixture::conn(), &recall(topic, &h)).await;
        assert_eq!((r.response_code(), r.remark.as_deref()), (code, Some(remark)), "{h:?}");
    }
    assert_eq!(f.log.queue(TIMER_TOPIC, 0).len(), 2, "no marker stored");
}

#[tokio::test]
async fn a_disabled_broker_a_slave_and_a_header_without_fields_are_refused() {
    let f = Fixture::new();
    let handle = send_timer(&f, "Orders").await;
    let r = f.recalling(true).recall(&Fixture::conn(), &recall("Orders", &handle)).await;
    assert_eq!(
        (r.response_code(), r.remark.as_deref()),
        (ResponseCode::NoPermission, Some("recall failed, operation is forbidden"))
    );
    let f = enabled();
    let handle = send_timer(&f, "Orders").await;
    let r = f.recalling(false).recall(&Fixture::conn(), &recall("Orders", &handle)).await;
    assert_eq!(
        (r.response_code(), r.remark.as_deref()),
        (ResponseCode::SlaveNotAvailable, Some("recall failed, broker service not available"))
    );
    let r =
        f.recalling(true).recall(&Fixture::conn(), &RemotingCommand::bare_request(RequestCode::RecallMessage)).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError, "a missing field is named, as for any header");
}
