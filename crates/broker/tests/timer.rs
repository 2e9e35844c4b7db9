//! 5.x timer messages over the wire (Java's `HookUtils.transformTimerMessage`
//! and `TimerMessageStore`): each arrives in its real topic when its time
//! has come — not before, and within one tick (1 s) after; times in the
//! past go at once; bad or too distant times get MESSAGE_ILLEGAL; a delay
//! level wins over timer properties; a restart loses and repeats nothing.

mod common;

use common::{TestBroker, client, invoke, pull_request, rmq_now, send_request};
use rmq_model::record;
use rmq_protocol::ResponseCode;
use rmq_remoting::Client;
use std::collections::BTreeMap;
use std::time::Duration;

/// One tick of the default `timerPrecisionMs`.
const TICK_MS: i64 = 1000;
/// Pull round trips and polling add this much to an arrival we observe.
const OBSERVE_SLACK_MS: i64 = 250;
/// What a restart may add on a loaded machine (debug builds, tests in parallel).
const RESTART_SLACK_MS: i64 = 1_000;

/// A pulled message: body, arrival time as observed, and its properties.
struct Arrival {
    at_ms: i64,
    props: rmq_model::Properties,
}

/// Polls `topic` queues `0..queues` every 20 ms until `want` bodies came
/// or `within` passed; each body with the first time it was seen.
async fn watch(
    c: &Client,
    addr: &str,
    topic: &str,
    queues: i32,
    want: usize,
    within: Duration,
) -> BTreeMap<String, Arrival> {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = BTreeMap::new();
    let mut next = vec![0i64; queues as usize];
    while seen.len() < want && tokio::time::Instant::now() < deadline {
        for q in 0..queues {
            let r = invoke(c, addr, pull_request("timer-probe", topic, q, next[q as usize], "*", "TAG")).await;
            if r.code != 0 {
                continue;
            }
            let now = rmq_now();
            let bytes = r.body.to_bytes();
            for rec in record::records(&bytes, false) {
                let rec = rec.expect("record");
                let body = String::from_utf8_lossy(rec.body).into_owned();
                seen.entry(body).or_insert(Arrival { at_ms: now, props: rec.decode_properties() });
            }
            next[q as usize] = r.ext("nextBeginOffset").and_then(|v| v.parse().ok()).unwrap_or(next[q as usize]);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timer_messages_arrive_at_their_time_not_before() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    let mut asked = BTreeMap::new();
    let now = rmq_now();
    for (body, key, value, due) in [
        ("sec-2", "TIMER_DELAY_SEC", "2".to_owned(), now + 2000),
        ("ms-2500", "TIMER_DELAY_MS", "2500".to_owned(), now + 2500),
        ("ms-700", "TIMER_DELAY_MS", "700".to_owned(), now + 700),
        ("abs-3300", "TIMER_DELIVER_MS", (now + 3300).to_string(), now + 3300),
        ("abs-tick", "TIMER_DELIVER_MS", ((now / TICK_MS + 3) * TICK_MS).to_string(), (now / TICK_MS + 3) * TICK_MS),
    ] {
        let r = invoke(&c, addr, send_request("pg", "Timed", 0, 0, &[(key, &value)], body.as_bytes())).await;
        assert_eq!(r.response_code(), ResponseCode::Success, "{body}: {:?}", r.remark);
        asked.insert(body.to_owned(), due);
    }
    let got = watch(&c, addr, "Timed", 4, asked.len(), Duration::from_secs(8)).await;
    assert_eq!(got.len(), asked.len(), "all arrived: {:?}", got.keys().collect::<Vec<_>>());
    for (body, due) in &asked {
        let arrival = &got[body];
        assert!(arrival.at_ms >= *due, "{body} arrived {} ms early", due - arrival.at_ms);
        assert!(arrival.at_ms <= due + TICK_MS + OBSERVE_SLACK_MS, "{body} arrived {} ms late", arrival.at_ms - due);
        let p = &arrival.props;
        assert!(p.get("REAL_TOPIC").is_none() && p.get("REAL_QID").is_none(), "{body}");
        assert!(p.get("TIMER_OUT_MS").is_some() && p.get("TIMER_DEQUEUE_MS").is_some(), "{body}");
        assert!(p.get("TIMER_ENQUEUE_MS").is_some(), "{body}");
    }
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_times_go_at_once_and_bad_ones_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    let sent_at = rmq_now();
    let past = (sent_at - 60_000).to_string();
    let r = invoke(&c, addr, send_request("pg", "Timed", 0, 0, &[("TIMER_DELIVER_MS", &past)], b"past")).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    let got = watch(&c, addr, "Timed", 1, 1, Duration::from_secs(2)).await;
    assert!(got["past"].at_ms - sent_at < 500, "stored at once as a normal message");
    assert!(got["past"].props.get("TIMER_OUT_MS").is_none());

    let illegal = "timer message illegal, the delay time should not be bigger than the max delay 259200000ms; \
                   or if set del msg, the delay time should be bigger than the current time";
    for (key, value) in [
        ("TIMER_DELAY_SEC", "259201".to_owned()),
        ("TIMER_DELIVER_MS", (sent_at + 4 * 86_400_000).to_string()),
        ("TIMER_DELAY_SEC", "soon".to_owned()),
        ("TIMER_DELAY_MS", "12.5".to_owned()),
        ("TIMER_DELIVER_MS", "9x".to_owned()),
    ] {
        let r = invoke(&c, addr, send_request("pg", "Timed", 0, 0, &[(key, &value)], b"bad")).await;
        assert_eq!(r.response_code(), ResponseCode::MessageIllegal, "{key}={value}");
        assert_eq!(r.remark.as_deref(), Some(illegal), "{key}={value}");
    }
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_level_wins_over_timer_properties() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[("messageDelayLevel", "1s 5s")]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    let sent_at = rmq_now();
    let props = [("DELAY", "1"), ("TIMER_DELAY_SEC", "30"), ("TIMER_DELIVER_MS", "not a number")];
    let r = invoke(&c, addr, send_request("pg", "Leveled", 0, 0, &props, b"level")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let got = watch(&c, addr, "Leveled", 1, 1, Duration::from_secs(5)).await;
    let arrival = &got["level"];
    assert!((1000..2500).contains(&(arrival.at_ms - sent_at)), "level 1 is 1 s: {} ms", arrival.at_ms - sent_at);
    assert!(arrival.props.get("TIMER_DELAY_SEC").is_none() && arrival.props.get("TIMER_DELIVER_MS").is_none());
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_with_the_wheel_off_refuses_timer_messages() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[("timerWheelEnable", "false")]).await;
    let (c, _) = client();
    let r = invoke(&c, &broker.addr, send_request("pg", "Timed", 0, 0, &[("TIMER_DELAY_SEC", "5")], b"x")).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    assert_eq!(r.remark.as_deref(), Some("accurate timer message is not enabled, timerWheelEnable is false"));
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_survives_a_restart_and_arrives_once() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let due = rmq_now() + 3000;
    let r = invoke(&c, &broker.addr, send_request("pg", "Timed", 0, 0, &[("TIMER_DELAY_SEC", "3")], b"again")).await;
    assert_eq!(r.code, 0);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    broker.stop().await;
    let broker = TestBroker::start(home.path(), &[]).await;
    let got = watch(&c, &broker.addr, "Timed", 4, 1, Duration::from_secs(6)).await;
    let at = got["again"].at_ms;
    // A restart replays the timer's log and scans the CommitLog's tail first: a second more than a tick.
    assert!(at >= due && at <= due + TICK_MS + RESTART_SLACK_MS, "{} ms from its time", at - due);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    broker.stop().await;
    let broker = TestBroker::start(home.path(), &[]).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let mut copies = 0;
    for q in 0..4 {
        let r = invoke(&c, &broker.addr, pull_request("timer-probe", "Timed", q, 0, "*", "TAG")).await;
        copies += common::pulled_bodies(&r).len();
    }
    assert_eq!(copies, 1, "exactly one delivery");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_transactional_message_waits_from_its_commit() {
    use rmq_protocol::header::{EndTransactionRequestHeader, SendMessageResponseHeader};
    use rmq_protocol::{RemotingCommand, RequestCode};
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _inbox) = client();
    let addr = broker.addr.as_str();
    common::heartbeat_producer(&c, addr, "tx-timer-client", "tx-pg").await;
    assert_eq!(invoke(&c, addr, send_request("tx-pg", "TimedTx", 0, 0, &[], b"plain")).await.code, 0);
    let props = [("TRAN_MSG", "true"), ("PGROUP", "tx-pg"), ("TIMER_DELAY_SEC", "2")];
    let r = invoke(&c, addr, send_request("tx-pg", "TimedTx", 0, 0x4, &props, b"tx")).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let h: SendMessageResponseHeader = r.header().unwrap();
    let offset = rmq_model::msg_id::decode_offset_msg_id(&h.msg_id).unwrap().1;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let header = EndTransactionRequestHeader {
        producer_group: "tx-pg".to_owned(),
        tran_state_table_offset: h.queue_offset,
        commit_log_offset: offset.as_i64(),
        commit_or_rollback: 8,
        from_transaction_check: Some(false),
        msg_id: None,
        transaction_id: None,
        topic: Some("TimedTx".to_owned()),
    };
    let committed_at = rmq_now();
    let r = invoke(&c, addr, RemotingCommand::request(RequestCode::EndTransaction, &header)).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let got = watch(&c, addr, "TimedTx", 4, 2, Duration::from_secs(6)).await;
    let at = got["tx"].at_ms;
    let due = committed_at + 2000;
    assert!(at >= due, "{} ms before 2 s after the commit", due - at);
    assert!(at <= due + TICK_MS + OBSERVE_SLACK_MS, "{} ms late", at - due);
    broker.stop().await;
}

/// A SEND_BATCH_MESSAGE of `items` (body, own properties) with the batch's
/// own `properties`.
fn batch_request(topic: &str, properties: &[(&str, &str)], items: &[(&str, &str)]) -> rmq_protocol::RemotingCommand {
    use rmq_protocol::header::{SendMessageRequestHeader, SendMessageRequestHeaderV2};
    use rmq_protocol::{RemotingCommand, RequestCode};
    let mut header: SendMessageRequestHeader =
        send_request("pg", topic, 0, 0, properties, b"").header().expect("the header we built");
    header.batch = Some(true);
    let mut body = Vec::new();
    for (text, props) in items {
        let item = record::BatchItem { flag: 0, body: text.as_bytes(), properties: props.as_bytes() };
        record::encode_batch_item(&item, &mut body);
    }
    RemotingCommand::request(RequestCode::SendBatchMessage, &SendMessageRequestHeaderV2(header)).with_body(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_waits_when_the_batch_asks_not_when_an_item_does() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.as_str();
    let sent_at = rmq_now();
    // As in Java, the put hook sees the batch's properties only.
    let items = [("item-1", "UNIQ_KEY\u{1}U1\u{2}"), ("item-2", "UNIQ_KEY\u{1}U2\u{2}")];
    let r = invoke(&c, addr, batch_request("TimedBatch", &[("TIMER_DELAY_SEC", "2")], &items)).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let own = [("own-time", "TIMER_DELAY_SEC\u{1}30\u{2}")];
    let r = invoke(&c, addr, batch_request("TimedBatch", &[], &own)).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let got = watch(&c, addr, "TimedBatch", 4, 3, Duration::from_secs(5)).await;
    assert!(got["own-time"].at_ms - sent_at < 1000, "an item's own timer property is not read");
    for item in ["item-1", "item-2"] {
        let at = got[item].at_ms;
        assert!(at >= sent_at + 2000 && at <= sent_at + 2000 + TICK_MS + OBSERVE_SLACK_MS, "{item}: {}", at - sent_at);
    }
    assert_ne!(got["item-1"].props.unique_key(), got["item-2"].props.unique_key(), "each keeps its own id");
    broker.stop().await;
}
