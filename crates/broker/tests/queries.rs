//! QUERY_MESSAGE answers at most `maxMsgsNumBatch` records (64, as Java's
//! `IndexService` caps every key query), whatever `maxNum` asks for.

mod common;

use common::{TestBroker, client, invoke, send_request};
use rmq_model::record;
use rmq_protocol::{RemotingCommand, RequestCode};
use std::time::Duration;

fn query(topic: &str, key: &str, max: u32) -> RemotingCommand {
    let mut r = RemotingCommand::bare_request(RequestCode::QueryMessage);
    for (k, v) in [
        ("topic", topic.to_owned()),
        ("key", key.to_owned()),
        ("maxNum", max.to_string()),
        ("beginTimestamp", "0".to_owned()),
        ("endTimestamp", i64::MAX.to_string()),
    ] {
        r.ext_fields.insert(k, v);
    }
    r
}

fn count(response: &RemotingCommand) -> usize {
    record::records(&response.body.to_bytes(), false).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_query_answers_at_most_the_batch_cap() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.clone();
    for i in 0..100 {
        let send = send_request("pg", "Keyed", 0, 0, &[("KEYS", "K")], format!("m{i}").as_bytes());
        assert_eq!(invoke(&c, &addr, send).await.code, 0);
    }
    // The index is written by the dispatcher, after the sends return.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let found = loop {
        let r = invoke(&c, &addr, query("Keyed", "K", 100_000)).await;
        let found = if r.code == 0 { count(&r) } else { 0 };
        if found >= 64 || tokio::time::Instant::now() >= deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(found, 64, "100 records match; maxNum 100,000 is capped at maxMsgsNumBatch");
    assert_eq!(count(&invoke(&c, &addr, query("Keyed", "K", 10)).await), 10, "a smaller maxNum is kept");
    broker.stop().await;
}
