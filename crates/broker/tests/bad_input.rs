//! Issue 4's bad input, over the wire: each answered with RocketMQ's code and
//! remark, nothing stored that should not be, and the connection still
//! serving the next request.

mod common;

use common::{TestBroker, client, create_topic_request, invoke, pull_request, send_request};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::time::Duration;

fn code(r: &RemotingCommand) -> ResponseCode {
    r.response_code()
}

fn remark(r: &RemotingCommand) -> &str {
    r.remark.as_deref().unwrap_or("")
}

async fn create_topic(c: &rmq_remoting::Client, addr: &str, topic: &str, queues: i32) {
    let r = invoke(c, addr, create_topic_request(topic, queues, 6)).await;
    assert_eq!(code(&r), ResponseCode::Success, "{:?}", r.remark);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_that_must_be_refused_are_refused_and_nothing_is_stored() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[("maxMessageSize", "1024")]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    create_topic(&c, addr, "Known", 2).await;

    // An oversized body: MESSAGE_ILLEGAL naming the limit.
    let r = invoke(&c, addr, send_request("pg", "Known", 0, 0, &[], &vec![b'x'; 1025])).await;
    assert_eq!(code(&r), ResponseCode::MessageIllegal);
    assert!(remark(&r).contains("1024"), "{}", remark(&r));

    // Illegal and reserved topic names.
    let r = invoke(&c, addr, send_request("pg", "bad topic", 0, 0, &[], b"x")).await;
    assert_eq!(code(&r), ResponseCode::SystemError);
    assert!(remark(&r).contains("illegal characters"), "{}", remark(&r));
    let r = invoke(&c, addr, send_request("pg", &"t".repeat(128), 0, 0, &[], b"x")).await;
    assert!(remark(&r).contains("longer than topic max length"), "{}", remark(&r));
    for reserved in ["SCHEDULE_TOPIC_XXXX", "RMQ_SYS_TRANS_HALF_TOPIC", "OFFSET_MOVED_EVENT"] {
        let r = invoke(&c, addr, send_request("pg", reserved, 0, 0, &[], b"x")).await;
        assert_eq!(code(&r), ResponseCode::NoPermission, "{reserved}");
        assert!(remark(&r).contains("is forbidden"), "{}", remark(&r));
    }

    // A queue id that does not exist.
    let r = invoke(&c, addr, send_request("pg", "Known", 7, 0, &[], b"x")).await;
    assert_eq!(code(&r), ResponseCode::SystemError);
    assert!(remark(&r).contains("queueId[7] is illegal"), "{}", remark(&r));

    // Nothing of the above reached the topic: its queues are still empty.
    for q in 0..2 {
        let r = invoke(&c, addr, pull_request("g", "Known", q, 0, "*", "TAG")).await;
        assert_eq!(code(&r), ResponseCode::PullNotFound, "queue {q}: {:?}", r.remark);
    }
    // And the connection still serves.
    let r = invoke(&c, addr, send_request("pg", "Known", 0, 0, &[], b"fine")).await;
    assert_eq!(code(&r), ResponseCode::Success);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topic_with_auto_create_off_is_topic_not_exist() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[("autoCreateTopicEnable", "false")]).await;
    let (c, _) = client();
    let r = invoke(&c, &broker.addr, send_request("pg", "NeverCreated", 0, 0, &[], b"x")).await;
    assert_eq!(code(&r), ResponseCode::TopicNotExist);
    assert!(remark(&r).contains("topic[NeverCreated] not exist"), "{}", remark(&r));
    let r = invoke(&c, &broker.addr, pull_request("g", "NeverCreated", 0, 0, "*", "TAG")).await;
    assert_eq!(code(&r), ResponseCode::TopicNotExist);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_out_of_range_get_offset_moved_with_the_right_next_offset() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    create_topic(&c, addr, "Ranged", 1).await;
    for i in 0..5 {
        let r = invoke(&c, addr, send_request("pg", "Ranged", 0, 0, &[], format!("m{i}").as_bytes())).await;
        assert_eq!(code(&r), ResponseCode::Success);
    }
    // Wait until the five are dispatched.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = invoke(&c, addr, pull_request("g", "Ranged", 0, 4, "*", "TAG")).await;
        if code(&r) == ResponseCode::Success || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Past the end by more than one: OFFSET_MOVED, next = max.
    let r = invoke(&c, addr, pull_request("g", "Ranged", 0, 50, "*", "TAG")).await;
    assert_eq!(code(&r), ResponseCode::PullOffsetMoved);
    assert_eq!(r.ext("nextBeginOffset"), Some("5"));
    assert_eq!(r.ext("maxOffset"), Some("5"));
    // Exactly at the end: nothing new, same offset.
    let r = invoke(&c, addr, pull_request("g", "Ranged", 0, 5, "*", "TAG")).await;
    assert_eq!(code(&r), ResponseCode::PullNotFound);
    assert_eq!(r.ext("nextBeginOffset"), Some("5"));
    // A negative offset is below the minimum: OFFSET_MOVED to the minimum.
    let r = invoke(&c, addr, pull_request("g", "Ranged", 0, -3, "*", "TAG")).await;
    assert!(matches!(code(&r), ResponseCode::Success | ResponseCode::PullOffsetMoved), "{:?}", r.remark);
    // A queue that does not exist on the topic.
    let r = invoke(&c, addr, pull_request("g", "Ranged", 3, 0, "*", "TAG")).await;
    assert_eq!(code(&r), ResponseCode::SystemError);
    assert!(remark(&r).contains("queueId[3] is illegal"), "{}", remark(&r));
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_header_fields_and_unknown_codes_are_answered() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    // A send without its topic.
    let mut r = send_request("pg", "T", 0, 0, &[], b"x");
    r.ext_fields.remove("topic");
    let r = invoke(&c, addr, r).await;
    assert_eq!(code(&r), ResponseCode::SystemError);
    assert!(remark(&r).contains("'topic' is missing"), "{}", remark(&r));
    // A code nobody knows.
    let r = invoke(&c, addr, RemotingCommand::bare_request(RequestCode::Unknown(9999))).await;
    assert_eq!(code(&r), ResponseCode::RequestCodeNotSupported);
    assert_eq!(remark(&r), " request type 9999 not supported");
    // A heartbeat whose body is not JSON.
    let hb = RemotingCommand::bare_request(RequestCode::HeartBeat).with_body(b"{not json".to_vec());
    let r = invoke(&c, addr, hb).await;
    assert_eq!(code(&r), ResponseCode::SystemError);
    broker.stop().await;
}

/// Controller-mode requests at a classic broker: GET_BROKER_EPOCH_CACHE is
/// refused with Java's SYSTEM_ERROR and remark; a role-change notice (oneway,
/// as controllers send it) is dropped; the connection serves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_mode_requests_at_a_classic_broker_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    let r = invoke(&c, addr, RemotingCommand::bare_request(RequestCode::GetBrokerEpochCache)).await;
    assert_eq!(code(&r), ResponseCode::SystemError);
    assert_eq!(remark(&r), "this request only for controllerMode");
    let notice = RemotingCommand::bare_request(RequestCode::NotifyBrokerRoleChanged).into_oneway();
    c.invoke_oneway(addr, notice).await.unwrap();
    let r = invoke(&c, addr, RemotingCommand::bare_request(RequestCode::GetBrokerRuntimeInfo)).await;
    assert_eq!(code(&r), ResponseCode::Success);
}
