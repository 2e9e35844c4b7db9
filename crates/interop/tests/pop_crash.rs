//! Issue 15: POP state survives a SIGKILL. A `mqbroker` process pops 100
//! messages to a consumer that acks half of them, and is killed at once; after
//! the restart nothing comes back before its invisible time, then exactly the
//! unacked half comes back (once each, as retries), never an acked one.

mod common;
#[path = "common/processes.rs"]
mod processes;

use processes::{Broker, Namesrv, admin, repo_conf};
use rmq_testkit::pop::{PopAsk, Popped, ack_request, pop_request, popped};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const TOPIC: &str = "PopCrashTopic";
const GROUP: &str = "pop-crash-cg";
const INVISIBLE_MS: i64 = 8_000;

fn ask(poll_ms: i64) -> PopAsk<'static> {
    PopAsk { group: GROUP, topic: TOPIC, queue_id: -1, max: 32, invisible_ms: INVISIBLE_MS, poll_ms, order: false }
}

#[tokio::test]
async fn in_flight_messages_come_back_after_a_sigkill_and_acked_ones_never() {
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let mut broker = Broker::start(home.path(), &repo_conf("2m-noslave/broker-a.properties"), &ns.addr, &[]);
    let client = admin::client();
    admin::create_topic(&client, &broker.addr, TOPIC, 4).await;
    for i in 0..100 {
        let code = admin::send(&client, &broker.addr, TOPIC, i % 4, &format!("k{i}"), format!("m{i}").as_bytes()).await;
        assert_eq!(code, 0);
    }
    let mut got: Vec<Popped> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < 100 && Instant::now() < deadline {
        let r = client.invoke(&broker.addr, pop_request(&ask(200)), Duration::from_secs(5)).await.unwrap();
        got.extend(popped(&r, "broker-a"));
    }
    let popped_at = Instant::now();
    assert_eq!(got.len(), 100, "every message popped once");
    let (acked, unacked): (Vec<_>, Vec<_>) = got.iter().partition(|g| g.body[1..].parse::<u32>().unwrap() % 2 == 0);
    for g in &acked {
        let r = client.invoke(&broker.addr, ack_request(GROUP, TOPIC, g), Duration::from_secs(5)).await.unwrap();
        assert_eq!(r.code, 0, "ack {}: {:?}", g.body, r.remark);
    }
    // Killed right after the last ack: nothing was flushed or saved on purpose.
    broker.process.kill();
    broker.restart();

    let mut back: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    let until = popped_at + Duration::from_millis(INVISIBLE_MS as u64 + 15_000);
    while Instant::now() < until {
        let Ok(r) = client.invoke(&broker.addr, pop_request(&ask(500)), Duration::from_secs(5)).await else {
            continue;
        };
        for g in popped(&r, "broker-a") {
            assert!(
                popped_at.elapsed() >= Duration::from_millis(INVISIBLE_MS as u64 - 1_000),
                "{} came back {:?} after its pop, before its invisible time",
                g.body,
                popped_at.elapsed()
            );
            back.entry(g.body.clone()).or_default().push(g.reconsume_times);
            let r = client.invoke(&broker.addr, ack_request(GROUP, TOPIC, &g), Duration::from_secs(5)).await.unwrap();
            assert_eq!(r.code, 0, "ack of the retry {}: {:?}", g.body, r.remark);
        }
        if back.len() == unacked.len() && popped_at.elapsed() > Duration::from_millis(INVISIBLE_MS as u64 + 3_000) {
            break;
        }
    }
    let expected: BTreeMap<String, Vec<i32>> = unacked.iter().map(|g| (g.body.clone(), vec![1])).collect();
    assert_eq!(back, expected, "exactly the unacked messages came back, once each, as first retries");
}
