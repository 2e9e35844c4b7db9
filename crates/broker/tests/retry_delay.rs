//! Issue 4, items 8 and 9 over the wire: a message handed back past its
//! maxReconsumeTimes lands in `%DLQ%<group>`, one handed back earlier is
//! parked for its retry delay; delayed messages are delivered when due, also
//! after a restart, and exactly once.

mod common;

use common::{TestBroker, client, invoke, pull_request, pulled_bodies, send_back_request, send_request};
use rmq_model::msg_id;
use rmq_model::record;
use rmq_protocol::{RemotingCommand, ResponseCode};
use std::time::{Duration, Instant};

async fn pull_until(
    c: &rmq_remoting::Client,
    addr: &str,
    topic: &str,
    queue: i32,
    within: Duration,
) -> RemotingCommand {
    let deadline = Instant::now() + within;
    loop {
        let r = invoke(c, addr, pull_request("probe", topic, queue, 0, "*", "TAG")).await;
        if r.code == 0 || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn send_back(offset: i64, group: &str, max_reconsume: i32) -> RemotingCommand {
    send_back_request(offset, group, "Retried", max_reconsume)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handed_back_messages_go_to_retry_or_dead_letter() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    let sent = invoke(&c, addr, send_request("pg", "Retried", 0, 0, &[("TAGS", "A")], b"handle me")).await;
    assert_eq!(sent.code, 0);
    let (_, offset) = msg_id::decode_offset_msg_id(sent.ext("msgId").unwrap()).unwrap();

    // Past maxReconsumeTimes (0 here): straight to the DLQ, one queue.
    let r = invoke(&c, addr, send_back(offset.as_i64(), "g-dlq", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let dlq = pull_until(&c, addr, "%DLQ%g-dlq", 0, Duration::from_secs(5)).await;
    assert_eq!(pulled_bodies(&dlq), vec!["handle me"]);
    let bytes = dlq.body.to_bytes();
    let stored = record::decode_message(&bytes, true).unwrap();
    assert_eq!(stored.reconsume_times, 1);
    assert_eq!(stored.property("RETRY_TOPIC"), Some(&b"Retried"[..]));
    assert!(stored.property("ORIGIN_MESSAGE_ID").is_some());
    assert!(stored.property("DELAY").is_none(), "a dead letter is not delayed");

    // Within its budget: parked in SCHEDULE_TOPIC_XXXX at level 3 (queue 2),
    // bound for %RETRY%<group>.
    let r = invoke(&c, addr, send_back(offset.as_i64(), "g-retry", 16)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let parked = pull_until(&c, addr, "SCHEDULE_TOPIC_XXXX", 2, Duration::from_secs(5)).await;
    let bytes = parked.body.to_bytes();
    let stored = record::decode_message(&bytes, true).unwrap();
    assert_eq!(stored.property("REAL_TOPIC"), Some(&b"%RETRY%g-retry"[..]));
    assert_eq!(stored.property("DELAY"), Some(&b"3"[..]));

    // An offset with no message behind it.
    let r = invoke(&c, addr, send_back(1 << 40, "g-retry", 16)).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    assert!(r.remark.unwrap_or_default().contains("look message by offset failed"));
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_messages_survive_a_restart_and_arrive_once() {
    let home = tempfile::tempdir().unwrap();
    let levels = [("messageDelayLevel", "1s 3s"), ("flushDelayOffsetInterval", "200")];
    let broker = TestBroker::start(home.path(), &levels).await;
    let (c, _) = client();
    let sent_at = Instant::now();
    let r = invoke(&c, &broker.addr, send_request("pg", "Later", 0, 0, &[("DELAY", "2")], b"later")).await;
    assert_eq!(r.code, 0);
    let r = invoke(&c, &broker.addr, pull_request("probe", "Later", 0, 0, "*", "TAG")).await;
    assert_ne!(r.code, 0, "not delivered before it is due");
    // Restart before it is due: the schedule resumes from delayOffset.json.
    broker.stop().await;
    let broker = TestBroker::start(home.path(), &levels).await;
    let got = pull_until(&c, &broker.addr, "Later", 0, Duration::from_secs(10)).await;
    assert_eq!(pulled_bodies(&got), vec!["later"]);
    assert!(sent_at.elapsed() >= Duration::from_secs(3), "delivered no earlier than level 2's 3 s");
    // After another restart it is not delivered again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    broker.stop().await;
    let broker = TestBroker::start(home.path(), &levels).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = invoke(&c, &broker.addr, pull_request("probe", "Later", 0, 0, "*", "TAG")).await;
    assert_eq!(pulled_bodies(&again), vec!["later"], "exactly one delivery");
    broker.stop().await;
}
