use rmq_model::record::{self, NewMessage};
use rmq_model::topic::OFFSET_MOVED_EVENT;
use rmq_protocol::header::PullMessageRequestHeader;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::handlers::fixture::{Fixture, ext};
use crate::message_log::MessageLog;

/// Stores `count` messages tagged `tag` in `topic` queue 0.
fn stored(f: &Fixture, topic: &str, tag: &str, count: usize) {
    f.topics.upsert(rmq_model::TopicConfig::new(topic, 2), 2);
    let properties = format!("TAGS\u{1}{tag}\u{2}");
    for i in 0..count {
        let body = format!("{tag}-{i}");
        let msg = NewMessage {
            topic,
            queue_id: 0,
            flag: 0,
            body: body.as_bytes(),
            properties: properties.as_bytes(),
            sys_flag: 0,
            born_timestamp: 1,
            born_host: "10.0.0.9:50000".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        f.log.put(&msg).unwrap();
    }
}

fn pull(topic: &str, queue_id: i32, offset: i64, expression: &str) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: "Readers".into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: 0x4 | 0x1,
        commit_offset: Some(1),
        suspend_timeout_millis: Some(0),
        subscription: Some(expression.into()),
        sub_version: Some(0),
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
    };
    RemotingCommand::request(RequestCode::PullMessage, &header)
}

fn bodies(r: &RemotingCommand) -> Vec<String> {
    let bytes = r.body.to_bytes();
    record::records(&bytes, false).map(|m| String::from_utf8_lossy(m.unwrap().body).into_owned()).collect()
}

#[tokio::test]
async fn a_pull_answers_the_messages_its_tags_select_and_commits_the_offset_it_carries() {
    let f = Fixture::new();
    stored(&f, "Events", "A", 3);
    stored(&f, "Events", "B", 2);
    let r = f.pulling().handle(&Fixture::conn(), pull("Events", 0, 0, "B")).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(bodies(&r), vec!["B-0", "B-1"]);
    assert_eq!((ext::<i64>(&r, "nextBeginOffset"), ext::<i64>(&r, "maxOffset")), (5, 5));
    assert_eq!(f.offsets.query("Readers", "Events", 0), Some(1), "piggy-backed commit");
    assert_eq!(f.stats.get_transferred.total(), 2);

    let r = f.pulling().handle(&Fixture::conn(), pull("Events", 0, 5, "*")).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::PullNotFound, "nothing new, no long poll asked");
}

#[tokio::test]
async fn an_offset_past_the_queue_is_moved_and_the_move_recorded() {
    let f = Fixture::new();
    stored(&f, "Events", "A", 2);
    let r = f.pulling().handle(&Fixture::conn(), pull("Events", 0, 40, "*")).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::PullOffsetMoved);
    assert_eq!(ext::<i64>(&r, "nextBeginOffset"), 2);
    let events = f.log.queue(OFFSET_MOVED_EVENT, 0);
    let event = record::decode_message(&events[0], true).unwrap();
    let text = String::from_utf8_lossy(event.body);
    assert!(text.contains("\"offsetNew\":2") && text.contains("\"offsetRequest\":40"), "{text}");
}

#[tokio::test]
async fn refusals_in_javas_order() {
    let f = Fixture::with(|c| c.auto_create_subscription_group = false);
    stored(&f, "Events", "A", 1);
    let pulling = f.pulling();
    let conn = Fixture::conn();
    let r = pulling.handle(&conn, pull("Events", 0, 0, "*")).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SubscriptionGroupNotExist);
    f.groups.upsert(rmq_model::SubscriptionGroupConfig::new("Readers"), 2);
    let r = pulling.handle(&conn, pull("Nowhere", 0, 0, "*")).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::TopicNotExist);
    let r = pulling.handle(&conn, pull("Events", 7, 0, "*")).await.unwrap();
    assert!(r.remark.unwrap().contains("queueId[7] is illegal"));
    let mut sql = pull("Events", 0, 0, "a >");
    sql.ext_fields.insert("expressionType", "SQL92");
    let r = pulling.handle(&conn, sql).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SubscriptionParseFailed);
    f.config.update(|c| c.broker_permission = rmq_model::perm::WRITE);
    let r = pulling.handle(&conn, pull("Events", 0, 0, "*")).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::NoPermission);
}
