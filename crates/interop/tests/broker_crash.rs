//! Issue 4: a SYNC_FLUSH broker process SIGKILLed mid-stream and restarted
//! loses no acknowledged message, and its consumer offsets hold.
#![recursion_limit = "256"]
// The third-party client's send futures are large; boxing each await adds
// nothing to what these tests check.
#![allow(clippy::large_futures)]

mod common;

use common::client::Harness;
use rocketmq_client_rust::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
    SendStatus,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::MessageTrait;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A `mqbroker` process with its own home (logs, store) and config file.
struct BrokerProcess {
    child: Child,
}

impl BrokerProcess {
    fn start(home: &Path, conf: &Path) -> BrokerProcess {
        let mut child = Command::new(common::bin::path("mqbroker"))
            .arg("-c")
            .arg(conf)
            .env("HOME", home)
            .env_remove("NAMESRV_ADDR")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn mqbroker");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("boot success") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(30)).expect("mqbroker prints its boot line");
        BrokerProcess { child }
    }

    fn kill(mut self) {
        // SIGKILL: no flush, no unregister, no checkpoint.
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Inbox = Arc<Mutex<BTreeSet<String>>>;

async fn consume(harness: &Harness, ns: &str, group: &str, topic: &str, inbox: &Inbox) -> DefaultMQPushConsumer {
    let sink = inbox.clone();
    let mut c = DefaultMQPushConsumer::builder(harness.client_runtime())
        .consumer_group(group)
        .name_server_addr(ns)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    c.subscribe(topic, "*").await.expect("subscribe");
    c.register_message_listener_concurrently(move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
        let mut inbox = sink.lock().unwrap();
        for m in msgs {
            inbox.insert(m.property(&"UNIQ_KEY".into()).map(|v| v.to_string()).unwrap_or_default());
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    });
    c.start().await.expect("consumer start");
    c
}

async fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_flush_broker_killed_mid_stream_loses_no_acknowledged_message() {
    let namesrv = rmq_testkit::namesrv::start().await;
    let ns = namesrv.addr_string();
    let home = tempfile::tempdir().expect("home");
    let port = common::servers::free_broker_port();
    let conf = home.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "brokerClusterName = DefaultCluster\nbrokerName = broker-crash\nbrokerId = 0\nbrokerRole = ASYNC_MASTER\n\
             flushDiskType = SYNC_FLUSH\nlistenPort = {port}\nbrokerIP1 = 127.0.0.1\nnamesrvAddr = {ns}\n\
             mappedFileSizeCommitLog = 16777216\nmappedFileSizeConsumeQueue = 60000\nmaxIndexNum = 10000\nmaxHashSlotNum = 1000\n"
        ),
    )
    .expect("write broker.conf");
    let broker = BrokerProcess::start(home.path(), &conf);
    let harness = Harness::new_tuned("crash").expect("client runtime");
    let mut producer = DefaultMQProducer::builder(harness.client_runtime())
        .producer_group("crash-pg")
        .name_server_addr(ns.as_str())
        .build();
    producer.start().await.expect("producer start");

    // Phase 1: messages consumed by the group before the crash.
    let mut before = BTreeSet::new();
    for i in 0..300 {
        let msg =
            Message::builder().topic("Crash").tags("A").body_slice(format!("before-{i}").as_bytes()).build_unchecked();
        let r = producer.send(msg).await.expect("send").expect("result");
        assert_eq!(r.send_status, SendStatus::SendOk);
        before.insert(r.msg_id.expect("id").to_string());
    }
    let seen: Inbox = Arc::default();
    let mut c = consume(&harness, &ns, "crash-cg", "Crash", &seen).await;
    assert!(wait_until(Duration::from_secs(60), || seen.lock().unwrap().len() >= before.len()).await);
    // The consumer commits its offsets when it shuts down; the broker writes
    // consumerOffset.json every flushConsumerOffsetInterval (5 s). As with
    // Java, a crash within that window would redeliver (at least once).
    c.shutdown().await;
    assert_eq!(*seen.lock().unwrap(), before);
    tokio::time::sleep(Duration::from_secs(6)).await;

    // Phase 2: sends in flight when the broker is SIGKILLed.
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let producer = Arc::new(producer);
    let sender = {
        let producer = producer.clone();
        let acked = acked.clone();
        tokio::spawn(async move {
            for i in 0.. {
                let msg = Message::builder()
                    .topic("Crash")
                    .tags("A")
                    .body_slice(format!("during-{i}").as_bytes())
                    .build_unchecked();
                match producer.send(msg).await {
                    Ok(Some(r)) if r.send_status == SendStatus::SendOk => {
                        acked.lock().unwrap().insert(r.msg_id.expect("id").to_string());
                    }
                    _ => break,
                }
            }
        })
    };
    assert!(wait_until(Duration::from_secs(60), || acked.lock().unwrap().len() >= 500).await);
    broker.kill();
    let _ = tokio::time::timeout(Duration::from_secs(30), sender).await;
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 500);

    // Phase 3: the restarted broker serves every acknowledged message, and the
    // group resumes after what it had consumed.
    let broker = BrokerProcess::start(home.path(), &conf);
    let after: Inbox = Arc::default();
    let mut c = consume(&harness, &ns, "crash-cg", "Crash", &after).await;
    let complete =
        wait_until(Duration::from_secs(90), || acked.iter().all(|id| after.lock().unwrap().contains(id))).await;
    let got = after.lock().unwrap().clone();
    let missing: Vec<&String> = acked.iter().filter(|id| !got.contains(*id)).collect();
    assert!(complete, "{} acknowledged messages missing after the crash, e.g. {:?}", missing.len(), missing.first());
    let redelivered = got.intersection(&before).count();
    assert_eq!(redelivered, 0, "the group's committed offsets survived the crash");

    c.shutdown().await;
    Arc::try_unwrap(producer).ok().expect("sole owner").shutdown().await;
    harness.shutdown_async().await;
    drop(broker);
}
