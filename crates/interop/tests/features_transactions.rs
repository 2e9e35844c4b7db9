//! Transactional messages (issue 5) through rocketmq-client-rust's
//! TransactionMQProducer: committed messages are delivered, rolled back ones
//! are not, and ones left unknown are checked back (CHECK_TRANSACTION_STATE)
//! and then resolved by the producer's answer.
#![recursion_limit = "256"]
// The third-party client's futures are large; boxing every call would only add noise here.
#![allow(clippy::large_futures)]

#[path = "common/v4_clients.rs"]
mod clients;
mod common;

use common::client::Harness;
use common::servers::Cluster;
use rocketmq_model::common::message::message_single::Message;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const TOPIC: &str = "TxTopic";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_delivered_rolled_back_dropped_unknown_checked_back() {
    let cluster = Cluster::start(&[("transactionCheckInterval", "1000"), ("transactionTimeOut", "1000")]).await;
    let ns = cluster.namesrv_addr();
    let harness = Harness::new_tuned("transactions").expect("client runtime");
    let listener = clients::TxListener::default();
    let mut producer = clients::tx_producer(&harness, &ns, "tx-pg", TOPIC, &listener).await;

    let bodies = ["commit-1", "rollback-1", "unknown-then-commit", "unknown-then-rollback", "commit-2"];
    for body in bodies {
        let msg = Message::builder().topic(TOPIC).tags("Tx").body_slice(body.as_bytes()).build_unchecked();
        let r = producer.send_message_in_transaction(msg, None::<()>).await.expect("transactional send");
        assert!(r.send_result.is_some(), "{body}: half message stored");
    }

    let (mut consumer, received) = clients::body_consumer(&harness, &ns, "tx-cg", TOPIC, None).await;

    let want: BTreeSet<String> =
        ["commit-1", "commit-2", "unknown-then-commit"].iter().map(|s| s.to_string()).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let checked_both = || {
        let checks = listener.checks.lock().unwrap();
        checks.contains_key("unknown-then-commit") && checks.contains_key("unknown-then-rollback")
    };
    while (received.lock().unwrap().iter().cloned().collect::<BTreeSet<_>>() != want || !checked_both())
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A little longer: nothing else may arrive, and resolved ones are not checked again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let got = received.lock().unwrap().clone();
    let checks = listener.checks.lock().unwrap().clone();
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), want, "delivered: {got:?}");
    assert_eq!(got.len(), 3, "each committed message once: {got:?}");
    assert_eq!(checks.get("unknown-then-commit"), Some(&1), "{checks:?}");
    assert_eq!(checks.get("unknown-then-rollback"), Some(&1), "{checks:?}");
    assert!(
        !checks.keys().any(|k| k.starts_with("commit") || k.starts_with("rollback")),
        "decided ones are never checked: {checks:?}"
    );

    consumer.shutdown().await;
    producer.shutdown().await;
    harness.shutdown_async().await;
}
