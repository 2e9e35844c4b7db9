//! Transactional messages over the wire (Java's `EndTransactionProcessor`
//! and `TransactionalMessageServiceImpl`): half messages stay hidden until
//! committed, a rollback discards them, an unknown one is checked back with
//! the producer, bad or repeated END_TRANSACTIONs are refused with a remark,
//! and all of it survives a restart.

mod common;

use common::*;
use rmq_model::record;
use rmq_protocol::header::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader, SendMessageResponseHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_remoting::Client;
use std::time::Duration;

const GROUP: &str = "tx-pg";
const TOPIC: &str = "TxTopic";

fn conf() -> Vec<(&'static str, &'static str)> {
    vec![("transactionCheckInterval", "300"), ("transactionTimeOut", "600"), ("transactionCheckMax", "3")]
}

/// Sends a half message; returns (queue offset, commitLog offset, uniq key).
async fn send_half(client: &Client, addr: &str, body: &str) -> (i64, i64, String) {
    let uniq = format!("UNIQ-{body}");
    let props = [("TRAN_MSG", "true"), ("PGROUP", GROUP), ("UNIQ_KEY", uniq.as_str()), ("TAGS", "T")];
    let r = invoke(client, addr, send_request(GROUP, TOPIC, 0, 0x4, &props, body.as_bytes())).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let h: SendMessageResponseHeader = r.header().unwrap();
    let offset = rmq_model::msg_id::decode_offset_msg_id(&h.msg_id).expect("offset msg id").1;
    (h.queue_offset, offset.as_i64(), uniq)
}

fn end(queue_offset: i64, commit_log_offset: i64, decision: i32, group: &str, from_check: bool) -> RemotingCommand {
    let header = EndTransactionRequestHeader {
        producer_group: group.to_owned(),
        tran_state_table_offset: queue_offset,
        commit_log_offset,
        commit_or_rollback: decision,
        from_transaction_check: Some(from_check),
        msg_id: None,
        transaction_id: None,
        topic: Some(TOPIC.to_owned()),
    };
    RemotingCommand::request(RequestCode::EndTransaction, &header)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_delivers_rollback_discards_and_bad_requests_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &conf()).await;
    let (client, _inbox) = client();
    let addr = broker.addr.clone();
    heartbeat_producer(&client, &addr, "tx-client-1", GROUP).await;
    // Make the topic exist with one queue's worth of normal traffic.
    assert_eq!(invoke(&client, &addr, send_request(GROUP, TOPIC, 0, 0, &[], b"plain")).await.code, 0);

    let (q1, c1, _) = send_half(&client, &addr, "committed").await;
    let (q2, c2, _) = send_half(&client, &addr, "rolled-back").await;
    assert_eq!(pull_all(&client, &addr, TOPIC, 0, ("*", "TAG"), 1, Duration::from_millis(300)).await, vec!["plain"]);

    // Bad input first: nothing may be settled by it.
    let r = invoke(&client, &addr, end(q1, c1 + 1, 8, GROUP, false)).await;
    assert_eq!(
        (r.code, r.remark.as_deref().unwrap_or("").starts_with("Find prepared transaction message failed")),
        (1, true)
    );
    let r = invoke(&client, &addr, end(q1, 1 << 40, 8, GROUP, false)).await;
    assert_eq!(r.remark.as_deref(), Some("Find prepared transaction message failed"));
    let r = invoke(&client, &addr, end(q1, c1, 8, "another-group", false)).await;
    assert_eq!(r.remark.as_deref(), Some("The producer group wrong"));
    let r = invoke(&client, &addr, end(q1 + 7, c1, 8, GROUP, false)).await;
    assert_eq!(r.remark.as_deref(), Some("The transaction state table offset wrong"));
    let r = invoke(&client, &addr, end(q1, c1, 5, GROUP, false)).await;
    assert_eq!(r.code, 1, "{:?}", r.remark);
    let r = invoke(&client, &addr, end(q1, c1, 0, GROUP, false)).await;
    assert_eq!(r.code, 0, "unknown is accepted and left for the check-back");

    // Commit delivers, rollback does not; the real topic sees one commit.
    assert_eq!(invoke(&client, &addr, end(q1, c1, 8, GROUP, false)).await.code, 0);
    assert_eq!(invoke(&client, &addr, end(q2, c2, 12, GROUP, false)).await.code, 0);
    let got = pull_all(&client, &addr, TOPIC, 0, ("*", "TAG"), 2, Duration::from_secs(3)).await;
    assert_eq!(got, vec!["plain", "committed"]);
    // The committed message still says TRAN_MSG, from which Java clients set
    // its transactionId; the broker's bookkeeping properties are gone.
    let pulled = invoke(&client, &addr, pull_request("tx-reader", TOPIC, 0, 1, "*", "TAG")).await;
    let bytes = pulled.body.to_bytes();
    let committed = record::decode_message(&bytes, true).unwrap();
    assert_eq!(committed.property("TRAN_MSG"), Some(&b"true"[..]));
    assert_eq!(committed.property("PGROUP"), Some(GROUP.as_bytes()));
    assert!(committed.property("REAL_TOPIC").is_none());
    // A consumer re-sending it for a retry (reconsumeTimes > 0, a delay
    // level) sends a message, not a new half message.
    let mut resend = send_request(
        GROUP,
        "%RETRY%tx-consumers",
        0,
        0,
        &[("TRAN_MSG", "true"), ("DELAY", "3"), ("TAGS", "T")],
        b"retried",
    );
    resend.ext_fields.insert("reconsumeTimes", "1");
    let r = invoke(&client, &addr, resend).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let parked = pull_all(&client, &addr, "SCHEDULE_TOPIC_XXXX", 2, ("*", "TAG"), 1, Duration::from_secs(3)).await;
    assert_eq!(parked, vec!["retried"], "parked for its delay, not held as a half message");

    // Settled twice: refused, and nothing more is stored.
    for (q, c, d) in [(q1, c1, 8), (q1, c1, 12), (q2, c2, 8)] {
        let r = invoke(&client, &addr, end(q, c, d, GROUP, true)).await;
        assert_eq!(r.code, 1);
        // Until the first decision's op record is dispatched (asynchronous,
        // slow under load) the broker knows the half as over, not as settled.
        let remark = r.remark.as_deref().unwrap_or("");
        assert!(remark.contains("already committed or rolled back") || remark.contains("is already over"), "{remark}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = pull_all(&client, &addr, TOPIC, 0, ("*", "TAG"), 3, Duration::from_millis(200)).await;
    assert_eq!(got, vec!["plain", "committed"]);
    broker.stop().await;
}

/// Waits for a CHECK_TRANSACTION_STATE and returns its header and message.
async fn next_check(
    inbox: &mut tokio::sync::mpsc::UnboundedReceiver<RemotingCommand>,
) -> (CheckTransactionStateRequestHeader, String, String) {
    let request = tokio::time::timeout(Duration::from_secs(10), inbox.recv())
        .await
        .expect("a check-back in time")
        .expect("inbox open");
    assert_eq!(request.code, RequestCode::CheckTransactionState.to_i32());
    assert!(request.is_oneway());
    let header: CheckTransactionStateRequestHeader = request.header().unwrap();
    let body = request.body.to_bytes();
    let view = record::decode_message(&body, true).expect("the body is a whole stored message");
    assert_eq!(view.physical_offset, header.commit_log_offset);
    assert_eq!(view.queue_offset, header.tran_state_table_offset);
    (header, view.topic.to_owned(), String::from_utf8_lossy(view.body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_transactions_are_checked_back_across_a_restart_and_given_up_at_the_limit() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[("transactionCheckInterval", "60000")]).await;
    let (client, _) = client();
    let addr = broker.addr.clone();
    heartbeat_producer(&client, &addr, "tx-client-2", GROUP).await;
    assert_eq!(invoke(&client, &addr, send_request(GROUP, TOPIC, 0, 0, &[], b"plain")).await.code, 0);
    let (q_done, c_done, _) = send_half(&client, &addr, "settled-before-restart").await;
    send_half(&client, &addr, "unknown").await;
    send_half(&client, &addr, "never-answered").await;
    assert_eq!(invoke(&client, &addr, end(q_done, c_done, 8, GROUP, false)).await.code, 0);
    // Stop before any check ran: only the store knows what is pending.
    broker.stop().await;
    client.close_all();

    let broker = TestBroker::start(home.path(), &conf()).await;
    let addr = broker.addr.clone();
    let (client, mut inbox) = common::client();
    heartbeat_producer(&client, &addr, "tx-client-3", GROUP).await;
    let mut asked = std::collections::BTreeMap::<String, u32>::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    // Answer "unknown"'s first check with a commit; never answer the other.
    while asked.get("never-answered").copied().unwrap_or(0) < 3 && tokio::time::Instant::now() < deadline {
        let (h, topic, body) = next_check(&mut inbox).await;
        assert_eq!(topic, TOPIC, "the check-back shows the real topic");
        assert_ne!(body, "settled-before-restart", "settled transactions are never checked");
        *asked.entry(body.clone()).or_default() += 1;
        if body == "unknown" {
            let r = invoke(&client, &addr, end(h.tran_state_table_offset, h.commit_log_offset, 8, GROUP, true)).await;
            assert_eq!(r.code, 0, "{:?}", r.remark);
        }
    }
    assert_eq!(asked.get("unknown"), Some(&1), "{asked:?}");
    assert_eq!(asked.get("never-answered"), Some(&3), "checked transactionCheckMax times: {asked:?}");
    let got = pull_all(&client, &addr, TOPIC, 0, ("*", "TAG"), 3, Duration::from_secs(3)).await;
    assert_eq!(got, vec!["plain", "settled-before-restart", "unknown"]);
    // Given up: moved to TRANS_CHECK_MAX_TIME_TOPIC, and no further checks.
    let given_up =
        pull_all(&client, &addr, "TRANS_CHECK_MAX_TIME_TOPIC", 0, ("*", "TAG"), 1, Duration::from_secs(5)).await;
    assert_eq!(given_up, vec!["never-answered"]);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(inbox.try_recv().is_err(), "no check after giving up");
    broker.stop().await;
}
