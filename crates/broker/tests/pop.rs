//! POP over real TCP and real files: pop/ack/change-invisible round trips,
//! invisibility and revival through the retry topic, the DLQ, FIFO pops,
//! forged handles, and a restart with messages in flight.

mod common;

use common::{TestBroker, client, create_topic_request, invoke, send_request};
use rmq_protocol::header::{ChangeInvisibleTimeRequestHeader, UpdateConsumerOffsetRequestHeader};
use rmq_protocol::receipt::RetryFlag;
use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_remoting::Client;
use rmq_testkit::pop::{PopAsk, Popped as Got};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const GROUP: &str = "pop-group";

fn pop_request(topic: &str, queue_id: i32, max: i32, invisible_ms: i64, poll_ms: i64, order: bool) -> RemotingCommand {
    rmq_testkit::pop::pop_request(&PopAsk { group: GROUP, topic, queue_id, max, invisible_ms, poll_ms, order })
}

fn popped(r: &RemotingCommand) -> Vec<Got> {
    rmq_testkit::pop::popped(r, "broker-a")
}

fn ack_request(topic: &str, got: &Got) -> RemotingCommand {
    rmq_testkit::pop::ack_request(GROUP, topic, got)
}

async fn send(c: &Client, addr: &str, topic: &str, queue_id: i32, body: &str) {
    let r = invoke(c, addr, send_request("pop-producer", topic, queue_id, 0, &[], body.as_bytes())).await;
    assert_eq!(r.code, 0, "send: {:?}", r.remark);
}

/// Pops until `want` messages came or `within` passed.
async fn pop_n(c: &Client, addr: &str, topic: &str, want: usize, invisible: i64, within: Duration) -> Vec<Got> {
    let deadline = Instant::now() + within;
    let mut all = Vec::new();
    while all.len() < want && Instant::now() < deadline {
        all.extend(popped(&invoke(c, addr, pop_request(topic, -1, 32, invisible, 200, false)).await));
    }
    all
}

/// Waits until the group could pop `n` messages of `topic` queue 0 (dispatch is asynchronous).
async fn wait_dispatched(c: &Client, addr: &str, topic: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let header = rmq_protocol::header::PeekMessageRequestHeader {
            consumer_group: GROUP.into(),
            topic: topic.into(),
            queue_id: 0,
            max_msg_nums: 32,
        };
        let r = invoke(c, addr, RemotingCommand::request(RequestCode::PeekMessage, &header)).await;
        if popped(&r).len() >= n || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn setup(home: &std::path::Path, topic: &str, queues: i32) -> (rmq_testkit::broker::TestBroker, Client) {
    let broker = TestBroker::start(home, &[]).await;
    let (c, _) = client();
    assert_eq!(invoke(&c, &broker.addr, create_topic_request(topic, queues, 6)).await.code, 0);
    (broker, c)
}

#[tokio::test]
async fn pop_ack_and_invisibility() {
    let home = tempfile::tempdir().unwrap();
    let (broker, c) = setup(home.path(), "PopT", 2).await;
    let addr = broker.addr.clone();
    for i in 0..6 {
        send(&c, &addr, "PopT", i % 2, &format!("m{i}")).await;
    }
    let got = pop_n(&c, &addr, "PopT", 6, 3_000, Duration::from_secs(5)).await;
    let mut bodies: Vec<_> = got.iter().map(|g| g.body.clone()).collect();
    bodies.sort();
    assert_eq!(bodies, ["m0", "m1", "m2", "m3", "m4", "m5"]);
    // In flight: a second pop finds nothing.
    assert!(popped(&invoke(&c, &addr, pop_request("PopT", -1, 32, 3_000, 0, false)).await).is_empty());
    // Ack all but m0 and m1.
    for g in got.iter().filter(|g| g.body != "m0" && g.body != "m1") {
        let r = invoke(&c, &addr, ack_request("PopT", g)).await;
        assert_eq!(r.code, 0, "ack {}: {:?}", g.body, r.remark);
    }
    // m1's invisibility is extended to 8 s from now; its new handle is built from the answer.
    let m1 = got.iter().find(|g| g.body == "m1").unwrap();
    let change = ChangeInvisibleTimeRequestHeader {
        consumer_group: GROUP.into(),
        topic: "PopT".into(),
        queue_id: m1.queue_id,
        extra_info: m1.handle.to_string(),
        offset: m1.offset,
        invisible_time: 8_000,
    };
    let r = invoke(&c, &addr, RemotingCommand::request(RequestCode::ChangeMessageInvisibletime, &change)).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    // The old handle is spent: acking with it fails.
    assert_eq!(invoke(&c, &addr, ack_request("PopT", m1)).await.code, 208);
    // Not before its invisible time: m0 comes back after ~3 s, as a retry.
    let popped_at = Instant::now();
    let back = pop_n(&c, &addr, "PopT", 1, 3_000, Duration::from_secs(8)).await;
    let waited = popped_at.elapsed();
    assert_eq!(back.iter().map(|g| g.body.as_str()).collect::<Vec<_>>(), ["m0"]);
    assert!(waited >= Duration::from_millis(2_000), "came back after {waited:?}");
    assert_eq!(back[0].reconsume_times, 1);
    assert_eq!(back[0].topic, "PopT", "a retry is handed out under its topic");
    assert_eq!(back[0].handle.retry, RetryFlag::RetryV1);
    assert_eq!(invoke(&c, &addr, ack_request("PopT", &back[0])).await.code, 0);
    // m1 comes back only after its extended time (8 s after the change).
    let again = pop_n(&c, &addr, "PopT", 1, 3_000, Duration::from_secs(12)).await;
    assert_eq!(again.iter().map(|g| g.body.as_str()).collect::<Vec<_>>(), ["m1"]);
    assert!(popped_at.elapsed() >= Duration::from_millis(7_000), "m1 back after {:?}", popped_at.elapsed());
    broker.stop().await;
}

#[tokio::test]
async fn forged_and_bad_requests_get_rocketmq_errors() {
    let home = tempfile::tempdir().unwrap();
    let (broker, c) = setup(home.path(), "PopBad", 1).await;
    let addr = broker.addr.clone();
    send(&c, &addr, "PopBad", 0, "a").await;
    send(&c, &addr, "PopBad", 0, "b").await;
    let got = pop_n(&c, &addr, "PopBad", 2, 60_000, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 2);
    // A handle with another pop time names no checkpoint: NO_MESSAGE, and nothing is acked.
    let mut forged = got[0].clone();
    forged.handle.pop_time += 1;
    assert_eq!(invoke(&c, &addr, ack_request("PopBad", &forged)).await.code, 208);
    // A handle of message a used to ack offset of b acks neither.
    let mut crossed = got[0].clone();
    crossed.offset = got[1].offset + 5;
    assert_eq!(invoke(&c, &addr, ack_request("PopBad", &crossed)).await.code, 208);
    let garbage = rmq_protocol::header::AckMessageRequestHeader {
        consumer_group: GROUP.into(),
        topic: "PopBad".into(),
        queue_id: 0,
        extra_info: "not a handle".into(),
        offset: 0,
    };
    assert_eq!(invoke(&c, &addr, RemotingCommand::request(RequestCode::AckMessage, &garbage)).await.code, 13);
    for (max, invisible) in [(33, 1000), (0, 1000), (1, 0), (1, -5), (1, 13 * 3600 * 1000)] {
        let r = invoke(&c, &addr, pop_request("PopBad", -1, max, invisible, 0, false)).await;
        assert_eq!(r.code, 29, "max {max} invisible {invisible}: {:?}", r.remark);
    }
    assert_eq!(invoke(&c, &addr, pop_request("NoSuchTopic", -1, 1, 1000, 0, false)).await.code, 17);
    assert_eq!(invoke(&c, &addr, pop_request("PopBad", 7, 1, 1000, 0, false)).await.code, 29);
    // A FIFO-looking handle (reviveQid 999) for a queue never popped in order acks nothing.
    let mut fifo = got[0].clone();
    fifo.handle.revive_qid = 999;
    assert_eq!(invoke(&c, &addr, ack_request("PopBad", &fifo)).await.code, 208);
    // Both still in flight and ackable with their real handles.
    for g in &got {
        assert_eq!(invoke(&c, &addr, ack_request("PopBad", g)).await.code, 0);
    }
    // An acked message's handle cannot make it invisible (and so bring it back) again.
    let change = ChangeInvisibleTimeRequestHeader {
        consumer_group: GROUP.into(),
        topic: "PopBad".into(),
        queue_id: got[0].queue_id,
        extra_info: got[0].handle.to_string(),
        offset: got[0].offset,
        invisible_time: 1_000,
    };
    let r = invoke(&c, &addr, RemotingCommand::request(RequestCode::ChangeMessageInvisibletime, &change)).await;
    assert_eq!(r.code, 208, "{:?}", r.remark);
    // Clients may not write the records the broker trusts.
    for topic in ["rmq_sys_REVIVE_LOG_DefaultCluster", "rmq_sys_wheel_timer"] {
        let r = invoke(&c, &addr, send_request("pop-producer", topic, 0, 0, &[("TAGS", "ck")], b"{}")).await;
        assert_eq!(r.code, 16, "send to {topic}: {:?}", r.remark);
    }
    // An empty queue held for its poll time answers POLLING_TIMEOUT, not before.
    let t = Instant::now();
    let r = invoke(&c, &addr, pop_request("PopBad", -1, 1, 1000, 600, false)).await;
    assert_eq!(r.code, 210);
    assert!(t.elapsed() >= Duration::from_millis(550));
    // A message arriving wakes a held pop at once.
    let held = {
        let (c2, addr2) = (c.clone(), addr.clone());
        tokio::spawn(async move { invoke(&c2, &addr2, pop_request("PopBad", -1, 1, 1000, 4_000, false)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let info = rmq_protocol::header::PollingInfoRequestHeader {
        consumer_group: GROUP.into(),
        topic: "PopBad".into(),
        queue_id: -1,
    };
    let r = invoke(&c, &addr, RemotingCommand::request(RequestCode::PollingInfo, &info)).await;
    assert_eq!((r.code, r.ext("pollingNum")), (0, Some("1")), "one POP is held");
    let t = Instant::now();
    send(&c, &addr, "PopBad", 0, "c").await;
    let r = held.await.unwrap();
    assert_eq!(popped(&r).iter().map(|g| g.body.as_str()).collect::<Vec<_>>(), ["c"]);
    assert!(t.elapsed() < Duration::from_secs(2), "woken after {:?}", t.elapsed());
    broker.stop().await;
}

#[tokio::test]
async fn past_max_reconsume_times_goes_to_the_dlq() {
    let home = tempfile::tempdir().unwrap();
    let (broker, c) = setup(home.path(), "PopDlq", 1).await;
    let addr = broker.addr.clone();
    // retryMaxTimes 1: two deliveries, then the DLQ.
    let group =
        rmq_model::SubscriptionGroupConfig { retry_max_times: 1, ..rmq_model::SubscriptionGroupConfig::new(GROUP) };
    let r = invoke(
        &c,
        &addr,
        RemotingCommand::bare_request(RequestCode::UpdateAndCreateSubscriptionGroup)
            .with_body(rmq_model::fastjson::to_vec(&group)),
    )
    .await;
    assert_eq!(r.code, 0);
    send(&c, &addr, "PopDlq", 0, "poison").await;
    let first = pop_n(&c, &addr, "PopDlq", 1, 1_000, Duration::from_secs(5)).await;
    assert_eq!(first[0].reconsume_times, 0);
    let second = pop_n(&c, &addr, "PopDlq", 1, 1_000, Duration::from_secs(5)).await;
    assert_eq!((second[0].body.as_str(), second[0].reconsume_times), ("poison", 1));
    let dlq = common::pull_all(&c, &addr, "%DLQ%pop-group", 0, ("*", "TAG"), 1, Duration::from_secs(5)).await;
    assert_eq!(dlq, ["poison"]);
    assert!(pop_n(&c, &addr, "PopDlq", 1, 1_000, Duration::from_secs(2)).await.is_empty());
    broker.stop().await;
}

/// The `orderCountInfo` of a response.
fn r_order_counts(r: &RemotingCommand) -> String {
    r.ext("orderCountInfo").unwrap_or_default().to_owned()
}

#[tokio::test]
async fn fifo_pops_keep_the_order_through_retries() {
    let home = tempfile::tempdir().unwrap();
    let (broker, c) = setup(home.path(), "PopFifo", 1).await;
    let addr = broker.addr.clone();
    for i in 0..6 {
        send(&c, &addr, "PopFifo", 0, &format!("f{i}")).await;
    }
    wait_dispatched(&c, &addr, "PopFifo", 6).await;
    let pop = |max| pop_request("PopFifo", 0, max, 1_000, 0, true);
    let first = popped(&invoke(&c, &addr, pop(3)).await);
    assert_eq!(first.iter().map(|g| g.body.as_str()).collect::<Vec<_>>(), ["f0", "f1", "f2"]);
    assert_eq!(first[0].handle.revive_qid, 999);
    // Blocked while those are in flight.
    assert!(popped(&invoke(&c, &addr, pop(3)).await).is_empty());
    // Ack f1 only: after the invisible time f0 and f2 come again, in order, f1 not.
    assert_eq!(invoke(&c, &addr, ack_request("PopFifo", &first[1])).await.code, 0);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let second_response = invoke(&c, &addr, pop(3)).await;
    // Each message says how often it was delivered before (the client's reconsumeTimes).
    assert_eq!(r_order_counts(&second_response), "0 qo0%0 1;0 qo0%2 1");
    let second = popped(&second_response);
    assert_eq!(second.iter().map(|g| g.body.as_str()).collect::<Vec<_>>(), ["f0", "f2"]);
    let counts = second.iter().map(|g| g.offset).collect::<Vec<_>>();
    assert_eq!(counts, [0, 2]);
    assert!(r_order_counts(&invoke(&c, &addr, pop(3)).await).is_empty(), "blocked again");
    assert!(second[0].handle.is_order());
    for g in &second {
        assert_eq!(invoke(&c, &addr, ack_request("PopFifo", g)).await.code, 0);
    }
    let third_response = invoke(&c, &addr, pop(3)).await;
    let third = popped(&third_response);
    assert_eq!(third.iter().map(|g| g.body.as_str()).collect::<Vec<_>>(), ["f3", "f4", "f5"]);
    broker.stop().await;
}

#[tokio::test]
async fn in_flight_and_acked_survive_a_restart() {
    let home = tempfile::tempdir().unwrap();
    let (broker, c) = setup(home.path(), "PopRestart", 1).await;
    let addr = broker.addr.clone();
    for i in 0..4 {
        send(&c, &addr, "PopRestart", 0, &format!("r{i}")).await;
    }
    let got = pop_n(&c, &addr, "PopRestart", 4, 4_000, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 4);
    for g in got.iter().filter(|g| g.body == "r1" || g.body == "r3") {
        assert_eq!(invoke(&c, &addr, ack_request("PopRestart", g)).await.code, 0);
    }
    let popped_at = Instant::now();
    // Make the group's committed POP offset stale, as a crash before the
    // offsets were saved would: the revive log must still say they were popped.
    let stale = UpdateConsumerOffsetRequestHeader {
        consumer_group: GROUP.into(),
        topic: "PopRestart".into(),
        queue_id: 0,
        commit_offset: 0,
    };
    assert_eq!(invoke(&c, &addr, RemotingCommand::request(RequestCode::UpdateConsumerOffset, &stale)).await.code, 0);
    broker.stop().await;
    let broker = TestBroker::start(home.path(), &[]).await;
    let addr = broker.addr.clone();
    // Nothing while in flight, then r0 and r2 (not the acked r1, r3) after the invisible time.
    let early = popped(&invoke(&c, &addr, pop_request("PopRestart", -1, 32, 4_000, 0, false)).await);
    assert!(early.is_empty(), "popped again before its time: {early:?}");
    let back = pop_n(&c, &addr, "PopRestart", 2, 4_000, Duration::from_secs(10)).await;
    let mut bodies: Vec<_> = back.iter().map(|g| g.body.as_str()).collect();
    bodies.sort();
    assert_eq!(bodies, ["r0", "r2"]);
    assert!(popped_at.elapsed() >= Duration::from_millis(3_500));
    assert!(pop_n(&c, &addr, "PopRestart", 1, 4_000, Duration::from_millis(1_500)).await.is_empty());
    broker.stop().await;
}

#[tokio::test]
async fn message_groups_land_in_one_queue_and_an_orderly_group_pops_them_in_order() {
    let home = tempfile::tempdir().unwrap();
    let (broker, c) = setup(home.path(), "PopGroups", 4).await;
    let addr = broker.addr.clone();
    // `mqadmin updateSubGroup -o true`: the group consumes orderly, whatever its pops say.
    let group = rmq_model::SubscriptionGroupConfig {
        consume_message_orderly: true,
        ..rmq_model::SubscriptionGroupConfig::new(GROUP)
    };
    let create = RemotingCommand::bare_request(RequestCode::UpdateAndCreateSubscriptionGroup)
        .with_body(rmq_model::fastjson::to_vec(&group));
    assert_eq!(invoke(&c, &addr, create).await.code, 0);
    for i in 0..12 {
        let key = format!("g{}", i % 2);
        let body = format!("{key}-{i}");
        // The producer picks a different queue each time; the group decides.
        let r = invoke(
            &c,
            &addr,
            send_request("pop-producer", "PopGroups", i % 4, 0, &[("__SHARDINGKEY", &key)], body.as_bytes()),
        )
        .await;
        assert_eq!(r.code, 0);
    }
    let mut seen: HashMap<String, Vec<(i32, usize)>> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.values().map(Vec::len).sum::<usize>() < 12 && Instant::now() < deadline {
        let r = invoke(&c, &addr, pop_request("PopGroups", -1, 4, 5_000, 0, false)).await;
        for g in popped(&r) {
            assert!(g.handle.is_order(), "an orderly group's pop is FIFO");
            let (key, seq) = g.body.split_once('-').unwrap();
            seen.entry(key.to_owned()).or_default().push((g.queue_id, seq.parse().unwrap()));
            assert_eq!(invoke(&c, &addr, ack_request("PopGroups", &g)).await.code, 0);
        }
    }
    for (key, got) in &seen {
        let queues: std::collections::BTreeSet<i32> = got.iter().map(|(q, _)| *q).collect();
        assert_eq!(queues.len(), 1, "group {key} spread over {queues:?}");
        let seqs: Vec<usize> = got.iter().map(|(_, s)| *s).collect();
        let mut sorted = seqs.clone();
        sorted.sort();
        assert_eq!(seqs, sorted, "group {key} out of order");
        assert_eq!(seqs.len(), 6);
    }
    broker.stop().await;
}

#[tokio::test]
async fn pop_and_pull_groups_share_a_topic() {
    let home = tempfile::tempdir().unwrap();
    let (broker, c) = setup(home.path(), "PopPull", 1).await;
    let addr = broker.addr.clone();
    for i in 0..10 {
        send(&c, &addr, "PopPull", 0, &format!("s{i}")).await;
    }
    let popped_all = pop_n(&c, &addr, "PopPull", 10, 30_000, Duration::from_secs(5)).await;
    let pulled = common::pull_all(&c, &addr, "PopPull", 0, ("*", "TAG"), 10, Duration::from_secs(5)).await;
    let mut bodies: Vec<_> = popped_all.iter().map(|g| g.body.clone()).collect();
    bodies.sort();
    let mut pulled_sorted = pulled.clone();
    pulled_sorted.sort();
    assert_eq!(bodies, pulled_sorted, "each group gets every message");
    assert_eq!(pulled.len(), 10);
    broker.stop().await;
}

#[tokio::test]
async fn a_fifo_queue_keeps_its_state_across_a_restart() {
    let home = tempfile::tempdir().unwrap();
    let (broker, c) = setup(home.path(), "PopFifoRestart", 1).await;
    let addr = broker.addr.clone();
    for i in 0..4 {
        send(&c, &addr, "PopFifoRestart", 0, &format!("f{i}")).await;
    }
    wait_dispatched(&c, &addr, "PopFifoRestart", 4).await;
    let pop = || pop_request("PopFifoRestart", 0, 3, 4_000, 0, true);
    let first = popped(&invoke(&c, &addr, pop()).await);
    let popped_at = Instant::now();
    assert_eq!(first.iter().map(|g| g.body.as_str()).collect::<Vec<_>>(), ["f0", "f1", "f2"]);
    // f1 acked out of order: the committed offset stays at f0.
    assert_eq!(invoke(&c, &addr, ack_request("PopFifoRestart", &first[1])).await.code, 0);
    broker.stop().await;
    let broker = TestBroker::start(home.path(), &[]).await;
    let addr = broker.addr.clone();
    // Still in flight after the restart: the queue stays blocked until the invisible time ends.
    assert!(popped(&invoke(&c, &addr, pop()).await).is_empty(), "in-flight FIFO messages came back early");
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut again = Vec::new();
    while again.is_empty() && Instant::now() < deadline {
        again = popped(&invoke(&c, &addr, pop()).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(popped_at.elapsed() >= Duration::from_millis(3_500), "back after {:?}", popped_at.elapsed());
    // f1 stays acked; f0 and f2 come again in order, as second deliveries.
    assert_eq!(again.iter().map(|g| g.body.as_str()).collect::<Vec<_>>(), ["f0", "f2"]);
    broker.stop().await;
}
