//! Timer messages across a SIGKILL: 10,000 messages due over 60 s, the
//! `mqbroker` process killed half-way and started again on the same store.
//! Every message arrives exactly once, never before its time, and within
//! one tick (1 s) after it — except those whose tick ended while the
//! broker was down, which arrive within one tick of its return.

use rmq_protocol::header::{PullMessageRequestHeader, SendMessageRequestHeader};
use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_remoting::{Client, ClientConfig, RejectAll};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

mod process;
use process::Running;

const BIN: &str = env!("CARGO_BIN_EXE_mqbroker");
const MESSAGES: usize = 10_000;
/// The first message is due this long after the start, the last 60 s later.
const FIRST_DUE_MS: i64 = 6_000;
const SPREAD_MS: i64 = 60_000;
/// When the broker is killed, from the start.
const KILL_AT_MS: i64 = FIRST_DUE_MS + SPREAD_MS / 2;
const TICK_MS: i64 = 1000;
/// Our polling (every 20 ms) and the pull round trip add to what we observe.
const OBSERVE_SLACK_MS: i64 = 250;
const TOPIC: &str = "TimedCrash";

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// `mqbroker -c conf`, waited for until it prints its boot line.
fn start_broker(home: &Path, conf: &Path) -> Running {
    let broker = Running::start(BIN, home, &["-c", conf.to_str().unwrap()]);
    broker.wait_line("boot success", Duration::from_secs(30));
    broker
}

fn send(body: &str, deliver_ms: i64) -> RemotingCommand {
    let header = SendMessageRequestHeader {
        producer_group: "timer-pg".to_owned(),
        topic: TOPIC.to_owned(),
        default_topic: Some("TBW102".to_owned()),
        default_topic_queue_nums: Some(1),
        queue_id: 0,
        sys_flag: Some(0),
        born_timestamp: Some(now_ms()),
        flag: Some(0),
        properties: Some(format!("TIMER_DELIVER_MS\u{1}{deliver_ms}\u{2}")),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        batch: Some(false),
        max_reconsume_times: None,
        broker_name: None,
    };
    RemotingCommand::request(RequestCode::SendMessage, &header).with_body(body.as_bytes().to_vec())
}

fn pull(offset: i64) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: "timer-probe".to_owned(),
        topic: TOPIC.to_owned(),
        queue_id: 0,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: 0x4,
        commit_offset: Some(0),
        suspend_timeout_millis: Some(0),
        subscription: Some("*".to_owned()),
        sub_version: Some(0),
        expression_type: Some("TAG".to_owned()),
        max_msg_bytes: None,
    };
    RemotingCommand::request(RequestCode::PullMessage, &header)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_timers_survive_a_sigkill_on_time_and_once() {
    let home = tempfile::tempdir().unwrap();
    let port = rmq_testkit::ports::free_broker_port();
    let conf = home.path().join("broker.properties");
    std::fs::write(
        &conf,
        format!(
            "brokerName=timer-crash\nlistenPort={port}\nstorePathRootDir={}\nbrokerIP1=127.0.0.1\n\
             mappedFileSizeCommitLog=67108864\nmappedFileSizeConsumeQueue=600000\n",
            home.path().join("store").display()
        ),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let mut broker = Some(start_broker(home.path(), &conf));
    let client = Arc::new(Client::new(ClientConfig::default(), Arc::new(RejectAll)));

    let start = now_ms();
    let due: Arc<Vec<i64>> =
        Arc::new((0..MESSAGES).map(|i| start + FIRST_DUE_MS + SPREAD_MS * i as i64 / MESSAGES as i64).collect());
    let mut senders = tokio::task::JoinSet::new();
    for lane in 0..16 {
        let (client, addr, due) = (client.clone(), addr.clone(), due.clone());
        senders.spawn(async move {
            for i in (lane..MESSAGES).step_by(16) {
                let r = client.invoke(&addr, send(&i.to_string(), due[i]), Duration::from_secs(5)).await.unwrap();
                assert_eq!(r.code, 0, "send {i}: {:?}", r.remark);
            }
        });
    }
    while let Some(done) = senders.join_next().await {
        done.unwrap();
    }
    let sent_in = now_ms() - start;
    assert!(sent_in < FIRST_DUE_MS, "sending took {sent_in} ms, longer than the first delay");

    let mut arrivals: HashMap<usize, i64> = HashMap::new();
    let mut duplicates = Vec::new();
    let mut offset = 0i64;
    let mut down: Option<(i64, i64)> = None;
    let deadline = start + FIRST_DUE_MS + SPREAD_MS + 15_000;
    while arrivals.len() < MESSAGES && now_ms() < deadline {
        if down.is_none() && now_ms() - start >= KILL_AT_MS {
            let killed_at = now_ms();
            broker.take().unwrap().sigkill();
            broker = Some(start_broker(home.path(), &conf));
            down = Some((killed_at, now_ms()));
            continue;
        }
        let Ok(r) = client.invoke(&addr, pull(offset), Duration::from_secs(3)).await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        if r.code == 0 {
            let seen_at = now_ms();
            let bytes = r.body.to_bytes();
            for rec in rmq_model::record::records(&bytes, false) {
                let i: usize = std::str::from_utf8(rec.unwrap().body).unwrap().parse().unwrap();
                if arrivals.insert(i, seen_at).is_some() {
                    duplicates.push(i);
                }
            }
            offset = r.ext("nextBeginOffset").and_then(|v| v.parse().ok()).unwrap_or(offset);
            continue;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (killed_at, back_at) = down.expect("the broker was killed");
    broker.take().unwrap().sigkill();

    assert!(
        duplicates.is_empty(),
        "{} delivered twice, e.g. {:?}",
        duplicates.len(),
        &duplicates[..duplicates.len().min(10)]
    );
    let missing: Vec<usize> = (0..MESSAGES).filter(|i| !arrivals.contains_key(i)).collect();
    assert!(missing.is_empty(), "{} never arrived, e.g. {:?}", missing.len(), &missing[..missing.len().min(10)]);
    let (mut max_late, mut max_late_in_gap, mut in_gap) = (0, 0, 0);
    for (i, at) in &arrivals {
        let due = due[*i];
        assert!(*at >= due, "message {i} arrived {} ms before its time", due - at);
        // Due to be delivered, or to be seen by us, while the broker was down.
        if (killed_at - TICK_MS - OBSERVE_SLACK_MS..back_at).contains(&due) {
            in_gap += 1;
            max_late_in_gap = max_late_in_gap.max(at - back_at);
            assert!(
                *at <= back_at + TICK_MS + OBSERVE_SLACK_MS,
                "message {i}, due while down, {} ms after the restart",
                at - back_at
            );
        } else {
            max_late = max_late.max(at - due);
            assert!(*at <= due + TICK_MS + OBSERVE_SLACK_MS, "message {i} arrived {} ms late", at - due);
        }
    }
    eprintln!(
        "sent {MESSAGES} in {sent_in} ms; broker down {} ms; {in_gap} fell due meanwhile (latest {max_late_in_gap} ms \
         after its return); the others at most {max_late} ms after their time",
        back_at - killed_at
    );
}
