//! One connection's share of the pull permits (`pullPermitSharePercent`): a
//! consumer parking long polls on every request it can send gets its share
//! and then SYSTEM_BUSY `[OVERLOAD]`, while another consumer's pulls are
//! still answered. Without a share the greedy one takes every permit and the
//! other is refused: the test tells the two apart.

mod common;

use common::{TestBroker, client, create_topic_request, invoke, pull_request};
use rmq_protocol::body::kv::KvTable;
use rmq_protocol::header::PullMessageRequestHeader;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

const TOPIC: &str = "Polled";
const CAPACITY: usize = 40;

/// A pull the broker may hold for 10 s, on an empty queue.
fn long_poll() -> RemotingCommand {
    let mut header: PullMessageRequestHeader =
        pull_request("greedy", TOPIC, 0, 0, "*", "TAG").header().expect("a pull header");
    header.sys_flag |= rmq_model::sysflag::pull::SUSPEND;
    header.suspend_timeout_millis = Some(10_000);
    RemotingCommand::request(RequestCode::PullMessage, &header)
}

async fn pulls_in_progress(c: &rmq_remoting::Client, broker: &str) -> usize {
    let response = invoke(c, broker, RemotingCommand::bare_request(RequestCode::GetBrokerRuntimeInfo)).await;
    let table = KvTable::decode(&response.body.to_bytes()).expect("runtime info").table;
    table.get("pullThreadPoolQueueSize").and_then(|v| v.parse().ok()).expect("pullThreadPoolQueueSize")
}

/// Runs the greedy consumer against a broker with `share` percent, and
/// returns how many of its pulls were refused and what a normal consumer's
/// pull got then.
async fn greedy_then_normal(share: &str, held: usize) -> (usize, ResponseCode) {
    let home = tempfile::tempdir().unwrap();
    let capacity = CAPACITY.to_string();
    let broker = TestBroker::start(
        home.path(),
        &[("pullThreadPoolQueueCapacity", capacity.as_str()), ("pullPermitSharePercent", share)],
    )
    .await;
    let (admin, _) = client();
    assert_eq!(invoke(&admin, &broker.addr, create_topic_request(TOPIC, 4, 6)).await.code, 0);

    let (greedy, _) = client();
    let conn = greedy.connection(&broker.addr).await.unwrap();
    let mut polls = JoinSet::new();
    for _ in 0..CAPACITY {
        let conn = conn.clone();
        polls.spawn(async move { conn.request(long_poll(), Duration::from_secs(20)).await });
    }
    let mut refused = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    while refused < CAPACITY - held {
        let answer = tokio::time::timeout_at(deadline, polls.join_next()).await.expect("refusals come at once");
        let answer = answer.unwrap().unwrap().expect("answered");
        assert_eq!(answer.response_code(), ResponseCode::SystemBusy, "{answer:?}");
        assert!(answer.remark.as_deref().unwrap_or("").starts_with("[OVERLOAD]"), "{answer:?}");
        refused += 1;
    }
    // The rest are parked in the broker.
    while pulls_in_progress(&admin, &broker.addr).await < held {
        assert!(Instant::now() < deadline, "the greedy consumer's pulls are not parked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (normal, _) = client();
    let started = Instant::now();
    let answer = invoke(&normal, &broker.addr, pull_request("normal", TOPIC, 1, 0, "*", "TAG")).await;
    assert!(started.elapsed() < Duration::from_secs(2), "the normal pull waited {:?}", started.elapsed());
    broker.stop().await;
    polls.abort_all();
    (refused, answer.response_code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_greedy_long_poller_gets_its_share_and_others_are_still_served() {
    // Half of the 40 permits, the greedy connection holding none of the others'.
    let (refused, normal) = greedy_then_normal("50", 20).await;
    assert_eq!(refused, 20);
    assert_ne!(normal, ResponseCode::SystemBusy, "the normal consumer is served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_share_the_greedy_long_poller_starves_the_others() {
    let (refused, normal) = greedy_then_normal("0", CAPACITY).await;
    assert_eq!(refused, 0);
    assert_eq!(normal, ResponseCode::SystemBusy);
}
