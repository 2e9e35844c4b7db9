//! RocketMQ 5's official Python client (`rocketmq-python-client` 5.1.2,
//! apache/rocketmq-clients, gRPC) against rmq: real `mqnamesrv`, `mqbroker
//! --enable-proxy` (local mode) and `mqproxy` (cluster mode) processes on
//! loopback, and the role scripts in `crates/interop-v5/python/` run as
//! child processes, one per producer or consumer.
//!
//! The scripts print one line per event (`SENT <body> <message_id>`,
//! `RECEIVED <body> <attempt> k=v...`, `DONE`) and exit non-zero on any
//! client error; these tests read those lines. The client must be installed
//! (`scripts/ci-deps.sh`); without it every test fails saying so.

// rocketmq-client-rust's futures (the admin and producer of one test) are large.
#![allow(clippy::large_futures)]

#[path = "../../interop/tests/common/mod.rs"]
mod common;
#[path = "../../interop/tests/common/processes.rs"]
mod processes;
#[path = "../../interop/tests/common/v4_clients.rs"]
mod v4_clients;

use processes::{Broker, Namesrv, Proxy, admin, repo_conf};
use rmq_protocol::{RemotingCommand, RequestCode};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The interpreter: `$RMQ_PYTHON`, else `python3`.
fn python() -> String {
    std::env::var("RMQ_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Fails (not skips) the test when the client cannot be imported.
fn require_client() {
    static CHECK: OnceLock<Result<String, String>> = OnceLock::new();
    let check = CHECK.get_or_init(|| {
        let probe = "import rocketmq.v5; from rocketmq.v5.util.version import SDK_VERSION; print(SDK_VERSION)";
        match Command::new(python()).args(["-c", probe]).env("PYTHONDONTWRITEBYTECODE", "1").output() {
            Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned()),
            Ok(out) => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
            Err(e) => Err(format!("cannot run {}: {e}", python())),
        }
    });
    if let Err(why) = check {
        panic!(
            "the official RocketMQ 5 Python client (rocketmq-python-client 5.1.2) is not importable by `{}`: \
             run scripts/ci-deps.sh (or `pip install rocketmq-python-client==5.1.2`)\n{why}",
            python()
        );
    }
}

fn script(role: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python").join(format!("{role}.py"))
}

/// A role script running in the background; its output goes to files in the
/// test's temp dir (no pipes to fill up).
struct Script {
    name: String,
    child: Child,
    dir: PathBuf,
    /// When the test gives up on it (its own deadline plus a margin).
    kill_at: Instant,
    started: Instant,
}

/// A role script that has exited (or was killed).
struct Run {
    name: String,
    code: Option<i32>,
    elapsed: Duration,
    stdout: String,
    stderr: String,
    /// The tail of the client's own log (`~/logs/rocketmq_python/`).
    log: String,
}

/// Starts `python3 <role>.py --endpoint <url> --topic <topic> --deadline
/// <deadline_s> <args>`, named `name` (also its directory under `home`).
fn spawn(home: &Path, name: &str, role: &str, url: &str, topic: &str, deadline_s: u64, args: &[&str]) -> Script {
    require_client();
    let dir = home.join(format!("py-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::fs::File::create(dir.join("stdout")).unwrap();
    let err = std::fs::File::create(dir.join("stderr")).unwrap();
    let child = Command::new(python())
        .arg(script(role))
        .args(["--endpoint", url, "--topic", topic, "--deadline", &deadline_s.to_string()])
        .arg("--log-dir")
        .arg(&dir)
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {} {}: {e}", python(), script(role).display()));
    let started = Instant::now();
    Script { name: name.to_owned(), child, dir, kill_at: started + Duration::from_secs(deadline_s + 30), started }
}

impl Script {
    /// Waits until the script has printed a line starting with `tag`;
    /// panics (showing its output) if it does not within `within`.
    fn wait_for_line(&mut self, tag: &str, within: Duration) {
        let until = Instant::now() + within;
        let printed = |dir: &Path| {
            std::fs::read_to_string(dir.join("stdout")).unwrap_or_default().lines().any(|l| l.starts_with(tag))
        };
        while !printed(&self.dir) {
            let exited = self.child.try_wait().unwrap().is_some();
            if exited || Instant::now() >= until {
                let out = std::fs::read_to_string(self.dir.join("stdout")).unwrap_or_default();
                let err = std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default();
                panic!("{} did not print {tag} (exited: {exited})\n{out}\n{err}", self.name);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the exit (SIGKILL when its time is up) and collects its output.
    fn wait(mut self) -> Run {
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            if Instant::now() >= self.kill_at {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // Shown with --nocapture (and for failing tests).
        eprintln!("python script {}: exit {code:?} after {:?}", self.name, self.started.elapsed());
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        let log = read(self.dir.join("logs/rocketmq_python/rocketmq_client.log"));
        let tail: Vec<&str> = log.lines().rev().take(60).collect();
        Run {
            name: self.name.clone(),
            code,
            elapsed: self.started.elapsed(),
            stdout: read(self.dir.join("stdout")),
            stderr: read(self.dir.join("stderr")),
            log: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        }
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a role script to its end; panics (showing everything) unless it
/// printed `DONE` and exited 0.
fn run(home: &Path, name: &str, role: &str, url: &str, topic: &str, deadline_s: u64, args: &[&str]) -> Run {
    spawn(home, name, role, url, topic, deadline_s, args).wait().ok()
}

impl Run {
    fn ok(self) -> Run {
        assert!(self.code == Some(0) && self.stdout.lines().any(|l| l == "DONE"), "{self}");
        self
    }

    /// The fields of every line starting with `tag` (tag excluded).
    fn lines(&self, tag: &str) -> Vec<Vec<&str>> {
        self.stdout
            .lines()
            .filter_map(|l| l.split_once(' ').filter(|(t, _)| *t == tag).map(|(_, rest)| rest.split(' ').collect()))
            .collect()
    }

    /// Every `RECEIVED` line as a [`Received`], in order.
    fn received(&self) -> Vec<Received> {
        self.lines("RECEIVED").into_iter().map(Received::parse).collect()
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "--- python script {}: exit {:?} after {:?}", self.name, self.code, self.elapsed)?;
        writeln!(f, "--- stdout:\n{}", self.stdout)?;
        writeln!(f, "--- stderr:\n{}", self.stderr)?;
        writeln!(f, "--- client log (tail):\n{}", self.log)
    }
}

/// One `RECEIVED <body> <attempt> k=v...` line.
#[derive(Debug, Clone)]
struct Received {
    body: String,
    attempt: i32,
    fields: BTreeMap<String, String>,
}

impl Received {
    fn parse(f: Vec<&str>) -> Received {
        let fields = f[2..].iter().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
        Received { body: f[0].to_owned(), attempt: f[1].parse().unwrap_or(-1), fields }
    }

    fn get(&self, key: &str) -> &str {
        self.fields.get(key).map_or("", String::as_str)
    }

    /// When the script saw it (ms since the epoch).
    fn at(&self) -> i64 {
        self.get("at").parse().unwrap()
    }
}

/// `SENT <body> <message_id> ...` lines as body -> message id.
fn sent(run: &Run) -> BTreeMap<String, String> {
    run.lines("SENT").into_iter().map(|f| (f[0].to_owned(), f[1].to_owned())).collect()
}

/// Bodies `prefix0`..`prefix{n-1}`.
fn bodies(prefix: &str, n: usize) -> BTreeSet<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// A NameServer and one broker serving gRPC from inside (`--enable-proxy`).
struct Local {
    home: tempfile::TempDir,
    _ns: Namesrv,
    broker: Broker,
    url: String,
}

async fn local(topic: &str, extra: &[(&str, &str)]) -> Local {
    // Receives may ask for invisible times from 1 s (10 s by default), so
    // that an unacked message comes back quickly.
    local_with(topic, extra, r#""minInvisibleTimeMillsForRecv": 1000"#, None).await
}

/// [`local`] for a topic of one `message.type` (FIFO, DELAY, TRANSACTION).
async fn local_typed(topic: &str, extra: &[(&str, &str)], message_type: &str) -> Local {
    local_with(topic, extra, r#""minInvisibleTimeMillsForRecv": 1000"#, Some(message_type)).await
}

/// [`local`] with `proxy_keys` (JSON members) in `rmq-proxy.json`.
async fn local_with(topic: &str, extra: &[(&str, &str)], proxy_keys: &str, message_type: Option<&str>) -> Local {
    require_client();
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let grpc = processes::free_port();
    let pc = home.path().join("rmq-proxy.json");
    std::fs::write(&pc, format!("{{\"grpcServerPort\": {grpc}, {proxy_keys}}}")).unwrap();
    let pc = pc.display().to_string();
    let broker = Broker::start_with_args(
        home.path(),
        &repo_conf("2m-noslave/broker-a.properties"),
        &ns.addr,
        extra,
        &["--enable-proxy", "-pc", &pc],
    );
    let attributes = message_type.map(|t| format!("+message.type={t}"));
    admin::create_topic_with(&admin::client(), &broker.addr, topic, 4, attributes.as_deref()).await;
    Local { home, _ns: ns, broker, url: format!("127.0.0.1:{grpc}") }
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP on one broker.
async fn create_group(broker: &str, json: &str) {
    let create = RemotingCommand::bare_request(RequestCode::UpdateAndCreateSubscriptionGroup)
        .with_body(json.as_bytes().to_vec());
    assert_eq!(admin::call(&admin::client(), broker, create).await, 0, "create group {json}");
}

async fn create_plain_group(broker: &str, group: &str) {
    create_group(broker, &format!(r#"{{"groupName":"{group}","consumeEnable":true}}"#)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_normal_messages_keep_tag_keys_and_properties_and_an_unacked_one_comes_back() {
    let topic = "PyNormalTopic";
    let group = "py-simple-cg";
    let env = local(topic, &[]).await;
    create_plain_group(&env.broker.addr, group).await;
    let home = env.home.path();
    let producer = run(
        home,
        "producer",
        "producer",
        &env.url,
        topic,
        30,
        &[
            "--count",
            "10",
            "--prefix",
            "n",
            "--tag",
            "TagA",
            "--key-prefix",
            "key-",
            "--property",
            "color=blue",
            "--property",
            "origin=python",
        ],
    );
    let ids = sent(&producer);
    assert_eq!(ids.keys().cloned().collect::<BTreeSet<_>>(), bodies("n", 10), "{producer}");
    assert_eq!(ids.values().collect::<BTreeSet<_>>().len(), 10, "distinct message ids: {ids:?}");
    // n3 and n7 are not acked on their first delivery: after their 4 s of
    // invisibility they come back as attempt 2.
    let consumer = run(
        home,
        "simple",
        "simple_consumer",
        &env.url,
        topic,
        40,
        &["--group", group, "--expect", "10", "--unacked", "n3", "n7", "--invisible", "4", "--linger", "2"],
    );
    let got = consumer.received();
    let mut by_body: BTreeMap<&str, Vec<&Received>> = BTreeMap::new();
    for r in &got {
        by_body.entry(&r.body).or_default().push(r);
    }
    assert_eq!(by_body.keys().map(|b| b.to_string()).collect::<BTreeSet<_>>(), bodies("n", 10), "{consumer}");
    for (body, deliveries) in &by_body {
        let first = deliveries[0];
        let i = &body[1..];
        assert_eq!(first.attempt, 1, "{body}: first delivery\n{consumer}");
        assert_eq!(first.get("id"), ids[*body], "{body}: the message id the producer got\n{consumer}");
        assert_eq!(first.get("tag"), "TagA", "{body}\n{consumer}");
        assert_eq!(first.get("keys"), format!("key-{i}"), "{body}\n{consumer}");
        assert_eq!(first.get("props"), "color:blue,origin:python", "{body}: user properties\n{consumer}");
        let attempts: Vec<i32> = deliveries.iter().map(|r| r.attempt).collect();
        if *body == "n3" || *body == "n7" {
            assert_eq!(attempts, [1, 2], "{body}: left unacked once\n{consumer}");
            let invisible_for = deliveries[1].at() - first.at();
            assert!(invisible_for >= 3500, "{body} came back after {invisible_for} ms, invisible for 4 s\n{consumer}");
        } else {
            assert_eq!(attempts, [1], "{body}: acked, so delivered once\n{consumer}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_fifo_messages_arrive_in_send_order_per_message_group() {
    let topic = "PyFifoTopic";
    let group = "py-fifo-cg";
    let env = local_typed(topic, &[], "FIFO").await;
    create_group(
        &env.broker.addr,
        &format!(r#"{{"groupName":"{group}","consumeEnable":true,"consumeMessageOrderly":true}}"#),
    )
    .await;
    let home = env.home.path();
    let producer = run(
        home,
        "producer",
        "producer",
        &env.url,
        topic,
        30,
        &["--mode", "fifo", "--count", "30", "--prefix", "f", "--groups", "3", "--group-prefix", "order-"],
    );
    assert_eq!(sent(&producer).len(), 30, "{producer}");
    let consumer = run(home, "simple", "simple_consumer", &env.url, topic, 40, &["--group", group, "--expect", "30"]);
    let mut by_group: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for r in consumer.received() {
        let i: usize = r.body[1..].parse().unwrap();
        assert_eq!(r.get("group"), format!("order-{}", i % 3), "{}: message group\n{consumer}", r.body);
        by_group.entry(r.get("group").to_owned()).or_default().push(i);
    }
    assert_eq!(by_group.values().map(Vec::len).sum::<usize>(), 30, "each FIFO message once: {by_group:?}\n{consumer}");
    for (g, seq) in &by_group {
        let mut sorted = seq.clone();
        sorted.sort();
        assert_eq!(seq, &sorted, "group {g} in send order\n{consumer}");
    }
}

/// Sends one message due in 4 s (with a user property) while a consumer is
/// already polling; returns it as received, and when it was due (ms).
async fn delayed_message(topic: &str, group: &str) -> (Received, i64, Run) {
    let env = local_typed(topic, &[], "DELAY").await;
    create_plain_group(&env.broker.addr, group).await;
    let home = env.home.path();
    let consumer = spawn(home, "simple", "simple_consumer", &env.url, topic, 40, &["--group", group, "--expect", "1"]);
    let producer = run(
        home,
        "producer",
        "producer",
        &env.url,
        topic,
        30,
        &["--mode", "delay", "--count", "1", "--prefix", "later", "--delay-seconds", "4", "--property", "kind=delayed"],
    );
    let due_s: i64 = producer.lines("SENT")[0]
        .iter()
        .find_map(|f| f.strip_prefix("due="))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no due= on SENT\n{producer}"));
    let consumer = consumer.wait().ok();
    let got = consumer.received();
    assert_eq!(got.len(), 1, "only the delayed message\n{consumer}");
    (got[0].clone(), due_s * 1000, consumer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_a_delayed_message_is_not_delivered_before_its_time() {
    let (got, due_ms, consumer) = delayed_message("PyDelayTopic", "py-delay-cg").await;
    let arrived_ms = got.at();
    assert!(arrived_ms >= due_ms - 200, "delivered {} ms before its time\n{consumer}", due_ms - arrived_ms);
    assert!(arrived_ms <= due_ms + 10_000, "delivered {} ms after its time\n{consumer}", arrived_ms - due_ms);
    // The client reports the delivery timestamp in ms.
    assert_eq!(got.get("delivery"), due_ms.to_string(), "{consumer}");
    assert!(got.get("props").split(',').any(|p| p == "kind:delayed"), "the user property\n{consumer}");
}

/// A delayed message's user properties are the producer's only. rmq's timer
/// adds `__RMQ_TIMER_FROM` to the copy it delivers, and the proxy hands it to
/// 5.x clients as a user property (Java's proxy leaves out system keys).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_a_delayed_message_carries_only_the_producers_user_properties() {
    let (got, _, consumer) = delayed_message("PyDelayPropsTopic", "py-delay-props-cg").await;
    assert_eq!(got.get("props"), "kind:delayed", "{consumer}");
}

/// Six messages due in 10 s; three recalled by their receipts' handles
/// (RocketMQ 5.3's `Producer.recall_message`), each then recalled once more
/// (answered as the first, as Java's broker answers a retried recall), then
/// a handle that is not one and one naming an unknown broker group.
/// With `kill_broker`, the broker is SIGKILLed and restarted after the
/// recalls, before the messages are due (the markers are in the CommitLog;
/// the timer must honour them after recovery). A consumer then waits past
/// the due time. Checked against Java 5.3's `RecallMessageProcessor` and its
/// timer's delete markers.
async fn recall_delayed_messages(topic: &str, group: &str, kill_broker: bool) {
    let mut env = local_typed(topic, &[("recallMessageEnable", "true")], "DELAY").await;
    create_plain_group(&env.broker.addr, group).await;
    let home = env.home.path().to_owned();
    let recalled = ["r1", "r3", "r5"];
    let mut args = vec!["--mode", "recall", "--count", "6", "--prefix", "r", "--delay-seconds", "10", "--recall"];
    args.extend(recalled);
    let producer = run(&home, "producer", "producer", &env.url, topic, 30, &args);
    let ids = sent(&producer);
    assert_eq!(ids.keys().cloned().collect::<BTreeSet<_>>(), bodies("r", 6), "{producer}");
    assert!(producer.lines("SENT").iter().all(|f| f.contains(&"handle=yes")), "every receipt has a handle\n{producer}");
    let answered: BTreeMap<String, String> =
        producer.lines("RECALLED").into_iter().map(|f| (f[0].to_owned(), f[1].to_owned())).collect();
    let expected: BTreeMap<String, String> = recalled
        .iter()
        .flat_map(|b| [(b.to_string(), ids[*b].clone()), (format!("again:{b}"), ids[*b].clone())])
        .collect();
    assert_eq!(answered, expected, "each recall, and each again, answered with its message id\n{producer}");
    // The client raises the proxy's INTERNAL_SERVER_ERROR (50001) with the broker's or proxy's remark.
    let refused: BTreeMap<String, String> =
        producer.lines("REFUSED").into_iter().map(|f| (f[0].to_owned(), f[2..].join(" "))).collect();
    assert_eq!(
        refused.keys().map(String::as_str).collect::<Vec<_>>(),
        ["foreign", "garbage"],
        "the garbage handle and another group's handle are refused\n{producer}"
    );
    for (what, text) in &refused {
        let (code, why) = match what.as_str() {
            "garbage" => ("50001", "recall handle is invalid"),
            // Java's proxy: INVALID_BROKER_NAME is BAD_REQUEST.
            _ => ("40000", "cannot find broker broker-z"),
        };
        assert!(text.starts_with(code) && text.contains(why), "{what}: {text}\n{producer}");
    }
    let due_ms = producer
        .lines("SENT")
        .iter()
        .filter_map(|f| f.iter().find_map(|kv| kv.strip_prefix("due=")))
        .filter_map(|s| s.parse::<i64>().ok())
        .max()
        .unwrap_or_else(|| panic!("no due= on SENT\n{producer}"))
        * 1000;
    if kill_broker {
        assert!(rmq_model::clock::now_ms() < due_ms - 3000, "too late to restart before the messages are due");
        env.broker.process.kill();
        env.broker.restart();
    }
    let consumer = run(
        &home,
        "simple",
        "simple_consumer",
        &env.url,
        topic,
        40,
        // All were due within the same second or two: 3 s more shows the recalled ones stay away.
        &["--group", group, "--expect", "3", "--linger", "3"],
    );
    let got: BTreeSet<String> = consumer.received().into_iter().map(|r| r.body).collect();
    assert_eq!(got, BTreeSet::from(["r0", "r2", "r4"].map(String::from)), "recalled ones never delivered\n{consumer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_recalled_delayed_messages_are_never_delivered_and_a_second_recall_answers_as_the_first() {
    recall_delayed_messages("PyRecallTopic", "py-recall-cg", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_a_recall_holds_after_the_broker_is_killed_and_restarted_before_the_due_time() {
    recall_delayed_messages("PyRecallRestartTopic", "py-recall-restart-cg", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_transactions_commit_roll_back_and_orphans_are_resolved_by_the_checker() {
    let topic = "PyTxTopic";
    let group = "py-tx-cg";
    let checks = [("transactionCheckInterval", "1000"), ("transactionTimeOut", "1000")];
    let env = local_typed(topic, &checks, "TRANSACTION").await;
    create_plain_group(&env.broker.addr, group).await;
    let home = env.home.path();
    // The producer stays up until the broker's check has reached its
    // TransactionChecker for both orphans.
    let producer = run(
        home,
        "producer",
        "producer",
        &env.url,
        topic,
        40,
        &[
            "--mode",
            "transaction",
            "--commit",
            "tx-commit",
            "--rollback",
            "tx-rollback",
            "--orphan",
            "tx-orphan-commit",
            "tx-orphan-rollback",
            "--check-commit",
            "tx-orphan-commit",
        ],
    );
    assert_eq!(sent(&producer).len(), 4, "{producer}");
    assert_eq!(producer.lines("COMMITTED"), [["tx-commit"]], "{producer}");
    assert_eq!(producer.lines("ROLLED_BACK"), [["tx-rollback"]], "{producer}");
    let checked: BTreeSet<(String, String)> =
        producer.lines("CHECKED").into_iter().map(|f| (f[0].to_owned(), f[1].to_owned())).collect();
    let expected: BTreeSet<(String, String)> =
        [("tx-orphan-commit", "COMMIT"), ("tx-orphan-rollback", "ROLLBACK")].map(|(b, r)| (b.into(), r.into())).into();
    assert_eq!(checked, expected, "only the orphans are checked\n{producer}");
    let consumer = run(
        home,
        "simple",
        "simple_consumer",
        &env.url,
        topic,
        40,
        &["--group", group, "--expect", "2", "--linger", "3"],
    );
    let got: BTreeSet<String> = consumer.received().into_iter().map(|r| r.body).collect();
    let expected: BTreeSet<String> = ["tx-commit", "tx-orphan-commit"].map(str::to_owned).into();
    assert_eq!(got, expected, "committed and check-committed messages only\n{consumer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_push_consumer_gets_everything_and_a_failed_message_comes_back_with_a_higher_attempt() {
    let topic = "PyPushTopic";
    let group = "py-push-cg";
    let env = local(topic, &[]).await;
    create_plain_group(&env.broker.addr, group).await;
    let home = env.home.path();
    let producer =
        run(home, "producer", "producer", &env.url, topic, 30, &["--count", "20", "--prefix", "p", "--tag", "TagP"]);
    assert_eq!(sent(&producer).len(), 20, "{producer}");
    let consumer = run(
        home,
        "push",
        "push_consumer",
        &env.url,
        topic,
        40,
        &["--group", group, "--expect", "20", "--fail", "p5", "--linger", "1"],
    );
    let mut by_body: BTreeMap<String, Vec<(i32, String)>> = BTreeMap::new();
    for r in consumer.received() {
        assert_eq!(r.get("tag"), "TagP", "{consumer}");
        by_body.entry(r.body.clone()).or_default().push((r.attempt, r.get("result").to_owned()));
    }
    assert_eq!(by_body.keys().cloned().collect::<BTreeSet<_>>(), bodies("p", 20), "{consumer}");
    for (body, deliveries) in &by_body {
        if body == "p5" {
            assert_eq!(deliveries.len(), 2, "p5 failed once, then succeeded\n{consumer}");
            assert_eq!(deliveries[0], (1, "FAILURE".to_owned()), "{consumer}");
            assert!(deliveries[1].0 > 1 && deliveries[1].1 == "SUCCESS", "p5 again, a later attempt\n{consumer}");
        } else {
            assert_eq!(deliveries, &[(1, "SUCCESS".to_owned())], "{body}: consumed once\n{consumer}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_mode_through_mqproxy_sends_to_both_masters_and_both_consumer_kinds_get_everything() {
    require_client();
    let topic = "PyClusterTopic";
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let a = Broker::start(home.path(), &repo_conf("2m-noslave/broker-a.properties"), &ns.addr, &[]);
    let b = Broker::start(home.path(), &repo_conf("2m-noslave/broker-b.properties"), &ns.addr, &[]);
    let client = admin::client();
    for broker in [&a.addr, &b.addr] {
        admin::create_topic(&client, broker, topic, 4).await;
        create_plain_group(broker, "py-cluster-simple-cg").await;
        create_plain_group(broker, "py-cluster-push-cg").await;
    }
    let proxy = Proxy::start(home.path(), &ns.addr);
    let home = home.path();
    let producer = run(home, "producer", "producer", &proxy.addr, topic, 30, &["--count", "40", "--prefix", "c"]);
    assert_eq!(sent(&producer).len(), 40, "{producer}");
    let mut stored = BTreeMap::new();
    for broker in [&a.addr, &b.addr] {
        let mut n = 0;
        for q in 0..4 {
            n += admin::max_offset(&client, broker, topic, q).await.max(0);
        }
        stored.insert(broker.clone(), n);
    }
    assert_eq!(stored.values().sum::<i64>(), 40, "stored per broker: {stored:?}");
    assert!(stored.values().all(|n| *n > 0), "the proxy sends through both masters: {stored:?}");
    // Both kinds of consumer, each its own group, read everything from both
    // brokers through the proxy, at the same time. The simple consumer asks
    // one broker per receive, and a receive that finds nothing is held for
    // the proxy's shortest long polling (5 s); the Python client picks the
    // queue (so the broker) at random each time (it means round-robin, but
    // builds a new selector with a random start for every receive): a batch
    // of 32 takes a broker's 20 messages at once, and 60 s leave room for
    // bad luck.
    let simple = spawn(
        home,
        "simple",
        "simple_consumer",
        &proxy.addr,
        topic,
        60,
        &["--group", "py-cluster-simple-cg", "--expect", "40", "--batch", "32"],
    );
    let push = spawn(
        home,
        "push",
        "push_consumer",
        &proxy.addr,
        topic,
        40,
        &["--group", "py-cluster-push-cg", "--expect", "40"],
    );
    let (simple, push) = (simple.wait().ok(), push.wait().ok());
    for consumer in [&simple, &push] {
        let got: BTreeSet<String> = consumer.received().into_iter().map(|r| r.body).collect();
        assert_eq!(got, bodies("c", 40), "{consumer}");
    }
}

/// The admin calls brokers relay to consumers, asked of a 5.x consumer
/// behind the proxy, in both modes, with a 4.x admin client we did not
/// write (rocketmq-client-rust's `DefaultMQAdminExt`, what `mqadmin
/// consumerConnection`, `consumerStatus -s` and `queryMsgById -g -d` send).
/// The consumer is `telemetry_answerer.py`, which answers the Telemetry
/// questions as Java's client does (no official client here answers them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_calls_reach_a_5x_consumer_through_the_proxy_in_both_modes() {
    let topic = "PyAdminTopic";
    let env = local(topic, &[]).await;
    create_plain_group(&env.broker.addr, "py-admin-local-cg").await;
    admin_calls_reach_the_consumer(env.home.path(), &env._ns.addr, &env.url, topic, "py-admin-local-cg").await;

    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let broker = Broker::start(home.path(), &repo_conf("2m-noslave/broker-b.properties"), &ns.addr, &[]);
    admin::create_topic(&admin::client(), &broker.addr, topic, 4).await;
    create_plain_group(&broker.addr, "py-admin-cluster-cg").await;
    let proxy = Proxy::start(home.path(), &ns.addr);
    admin_calls_reach_the_consumer(home.path(), &ns.addr, &proxy.addr, topic, "py-admin-cluster-cg").await;
}

async fn admin_calls_reach_the_consumer(home: &Path, ns: &str, url: &str, topic: &str, group: &str) {
    use rocketmq_client_rust::ConsumerAdmin;

    let mut answerer = spawn(home, group, "telemetry_answerer", url, topic, 60, &["--group", group]);
    answerer.wait_for_line("READY", Duration::from_secs(15));
    let printed = |tag: &str| -> Vec<String> {
        let out = std::fs::read_to_string(answerer.dir.join("stdout")).unwrap_or_default();
        out.lines().filter_map(|l| l.strip_prefix(tag)).map(|rest| rest.trim().to_owned()).collect()
    };
    let client_id = printed("READY ").remove(0);
    let harness = common::client::Harness::new_tuned("v5-admin").expect("client runtime");
    let mut admin = rocketmq_client_rust::DefaultMQAdminExt::new(harness.client_runtime());
    admin.set_namesrv_addr(ns);
    admin.start().await.expect("admin start");
    let listed = |connection: &rocketmq_protocol::protocol::body::consumer_connection::ConsumerConnection| {
        connection.get_connection_set().iter().find(|c| c.get_client_id().as_str() == client_id).cloned()
    };

    // Registered at the broker by the proxy as soon as its settings arrive.
    let deadline = Instant::now() + Duration::from_secs(10);
    let connection = loop {
        match admin.examine_consumer_connection_info(group.into(), None).await {
            Ok(c) if listed(&c).is_some() => break listed(&c).unwrap(),
            other if Instant::now() > deadline => panic!("{client_id} not listed in {group}: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    assert_eq!(connection.get_language().to_string().to_uppercase(), "PYTHON", "{connection:?}");

    // Without thread stacks: what the proxy knows of the client.
    let info = admin
        .get_consumer_running_info(group.into(), client_id.as_str().into(), false, None)
        .await
        .expect("running info");
    assert_eq!(info.properties.get("PROP_CONSUME_TYPE").map(String::as_str), Some("CONSUME_ACTIVELY"), "{info:?}");
    assert!(info.subscription_set.iter().any(|s| s.topic.as_str() == topic), "{info:?}");
    assert!(info.jstack.is_none(), "not asked for: {info:?}");
    assert!(printed("STACKS_ASKED").is_empty(), "the client is not asked without jstack");

    // With them: asked of the client through its Telemetry stream.
    let info = admin
        .get_consumer_running_info(group.into(), client_id.as_str().into(), true, None)
        .await
        .expect("running info with thread stacks");
    let stacks = info.jstack.clone().unwrap_or_default();
    assert!(stacks.contains("answer_telemetry_commands"), "the client's own stacks: {stacks}");
    assert_eq!(printed("STACKS_ASKED").len(), 1);
    // The same through rmq's `mqadmin consumerStatus -i <id> -s`.
    let out = std::process::Command::new(processes::binary("mqadmin"))
        .args(["consumerStatus", "-n", ns, "-g", group, "-i", &client_id, "-s"])
        .output()
        .expect("mqadmin runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "mqadmin consumerStatus: {text}{}", String::from_utf8_lossy(&out.stderr));
    let jstack = text.split_once("#Consumer jstack#").map(|(_, after)| after).unwrap_or_default();
    assert!(jstack.contains("answer_telemetry_commands"), "{text}");
    assert!(text.contains("CONSUME_ACTIVELY"), "{text}");
    assert_eq!(printed("STACKS_ASKED").len(), 2);

    // A message handed to the client to consume directly.
    let mut producer = v4_clients::producer(&harness, ns, "py-admin-pg").await;
    let message = rocketmq_model::common::message::message_single::Message::builder()
        .topic(topic)
        .body_slice(b"direct-1")
        .build_unchecked();
    let sent = producer.send(message).await.expect("send").expect("result");
    let offset_id = sent.offset_msg_id.expect("offset msg id").to_string();
    // rocketmq-client-rust 1.0 reads ConsumeMessageDirectlyResult with
    // snake_case keys (Java writes camelCase), so `mqadmin` asks here.
    let out = std::process::Command::new(processes::binary("mqadmin"))
        .args(["queryMsgById", "-n", ns, "-i", &offset_id, "-g", group, "-d", &client_id])
        .output()
        .expect("mqadmin runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "mqadmin queryMsgById -g -d: {text}");
    assert!(text.contains("consumeResult=CR_SUCCESS, remark=from gRPC client"), "{text}");
    let verified = printed("VERIFY ");
    assert_eq!(verified.len(), 1, "{verified:?}");
    assert!(verified[0].starts_with(&format!("{topic} direct-1 ")), "{verified:?}");

    // A client that says goodbye leaves the broker's list at once (not 120 s later).
    std::fs::write(answerer.dir.join("leave"), b"").unwrap();
    let run = answerer.wait().ok();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match admin.examine_consumer_connection_info(group.into(), None).await {
            Ok(c) if listed(&c).is_some() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Ok(c) if listed(&c).is_some() => panic!("{client_id} still listed after it left\n{run}"),
            _ => break,
        }
    }
    producer.shutdown().await;
    admin.shutdown().await;
    harness.shutdown_async().await;
}

/// A receive whose client goes away (the Python client's shutdown closes the
/// channel with a long poll in flight) must not hide the next message for
/// its whole invisible time: the broker's POP goes on after the gRPC call is
/// dropped, so the proxy makes what it took visible again within a second
/// (as Java's proxy does when it cannot write to the closed stream).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_an_abandoned_receive_does_not_hide_the_next_message() {
    let topic = "PyAbandonTopic";
    let group = "py-abandon-cg";
    let env = local(topic, &[]).await;
    create_plain_group(&env.broker.addr, group).await;
    let home = env.home.path();
    run(
        home,
        "abandoning",
        "simple_consumer",
        &env.url,
        topic,
        20,
        &["--group", group, "--expect", "0", "--await", "20", "--invisible", "30", "--abandon-after", "1"],
    );
    run(home, "producer", "producer", &env.url, topic, 30, &["--count", "1", "--prefix", "a"]);
    let consumer =
        spawn(home, "simple", "simple_consumer", &env.url, topic, 15, &["--group", group, "--expect", "1"]).wait();
    assert_eq!(consumer.code, Some(0), "the message sent after the abandoned receive is received at once\n{consumer}");
    // Received within the consumer's 15 s, not after the abandoned 30 s.
    // It counts as a second delivery (attempt 2): the first went to the
    // client that left, as with Java's proxy.
    let got = consumer.received();
    assert_eq!(got.len(), 1, "{consumer}");
}

/// The `at=<ms>` field of the first line starting with `tag`.
fn at_of(run: &Run, tag: &str) -> i64 {
    let line = run.lines(tag).into_iter().next().unwrap_or_else(|| panic!("no {tag} line\n{run}"));
    line.iter().find_map(|f| f.strip_prefix("at=")).and_then(|ms| ms.parse().ok()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_auto_renew_keeps_held_messages_invisible_until_acked_or_the_client_terminates() {
    let topic = "PyRenewTopic";
    let group = "py-renew-cg";
    // An auto_renew receive hides messages for 5 s; the proxy renews them by
    // 5 s whenever 3 s are left, looking every 0.5 s (margins for a busy machine).
    let keys = r#""minInvisibleTimeMillsForRecv": 1000, "defaultInvisibleTimeMills": 5000,
        "renewSliceTimeMillis": 5000, "renewAheadTimeMillis": 3000, "renewSchedulePeriodMillis": 500"#;
    let env = local_with(topic, &[], keys, None).await;
    create_plain_group(&env.broker.addr, group).await;
    let home = env.home.path();
    let producer = run(home, "producer", "producer", &env.url, topic, 30, &["--count", "4", "--prefix", "r"]);
    assert_eq!(sent(&producer).len(), 4, "{producer}");
    // The holder takes all four with auto_renew, holds them 15 s (three
    // invisible times), acks r0 and r1 with the handles it got at receive
    // time, then terminates with r2 and r3 still unacked.
    let hold = ["--group", group, "--expect", "4", "--hold", "15", "--ack", "r0", "r1", "--terminate"];
    let mut holder = spawn(home, "holder", "auto_renew", &env.url, topic, 60, &hold);
    holder.wait_for_line("HOLDING", Duration::from_secs(40));
    // Meanwhile a simple consumer of the same group polls all along.
    let watch = ["--group", group, "--expect", "2", "--invisible", "30", "--linger", "4"];
    let watcher = spawn(home, "watcher", "simple_consumer", &env.url, topic, 50, &watch);
    let holder = holder.wait().ok();
    let watcher = watcher.wait().ok();
    let acks: BTreeMap<String, String> =
        holder.lines("ACK").into_iter().map(|f| (f[0].to_owned(), f[1].to_owned())).collect();
    let log = env.broker.process.output();
    let renewals: Vec<&str> = log.lines().filter(|l| l.contains("renew") || l.contains("returning")).collect();
    for body in ["r0", "r1"] {
        let code = acks.get(body).map(String::as_str);
        assert_eq!(code, Some("20000"), "{body} acked with its original handle\n{holder}\n{renewals:?}");
    }
    assert_eq!(holder.lines("TERMINATED").first().map(|f| f[0]), Some("20000"), "{holder}");
    let (held_at, terminated_at) = (at_of(&holder, "HOLDING"), at_of(&holder, "TERMINATED"));
    assert!(terminated_at - held_at >= 15_000, "{holder}");
    // Nothing came back while held; the two unacked ones came to the other
    // consumer once the holder had terminated; the acked ones never.
    let got = watcher.received();
    let bodies_got: BTreeSet<String> = got.iter().map(|r| r.body.clone()).collect();
    assert_eq!(bodies_got, ["r2", "r3"].map(String::from).into(), "{watcher}\n{holder}");
    for r in &got {
        assert!(
            r.at() >= terminated_at,
            "{} came back at {} before the holder terminated at {terminated_at}\n{watcher}",
            r.body,
            r.at()
        );
        assert!(
            r.at() - terminated_at < 10_000,
            "{} took {} ms to come back\n{watcher}",
            r.body,
            r.at() - terminated_at
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_auto_renew_stops_after_renew_max_time_and_the_message_comes_back_after_the_retry_delay() {
    let topic = "PyRenewMaxTopic";
    let group = "py-renew-max-cg";
    // Renewed for 6 s at most; then the proxy hands the message back with
    // the group's first retry delay (10 s, Java's CustomizedRetryPolicy).
    let keys = r#""minInvisibleTimeMillsForRecv": 1000, "defaultInvisibleTimeMills": 3000,
        "renewSliceTimeMillis": 3000, "renewAheadTimeMillis": 2000, "renewSchedulePeriodMillis": 500,
        "renewMaxTimeMillis": 6000"#;
    let env = local_with(topic, &[], keys, None).await;
    create_plain_group(&env.broker.addr, group).await;
    let home = env.home.path();
    let producer = run(home, "producer", "producer", &env.url, topic, 30, &["--count", "1", "--prefix", "x"]);
    assert_eq!(sent(&producer).len(), 1, "{producer}");
    let hold = ["--group", group, "--expect", "1", "--hold", "28", "--terminate"];
    let mut holder = spawn(home, "holder", "auto_renew", &env.url, topic, 60, &hold);
    holder.wait_for_line("HOLDING", Duration::from_secs(40));
    let watch = ["--group", group, "--expect", "1", "--invisible", "30"];
    let watcher = spawn(home, "watcher", "simple_consumer", &env.url, topic, 50, &watch);
    let watcher = watcher.wait().ok();
    let holder = holder.wait().ok();
    let held_at = at_of(&holder, "HOLDING");
    let terminated_at = at_of(&holder, "TERMINATED");
    let got = watcher.received();
    assert_eq!(got.len(), 1, "{watcher}");
    let back_after = got[0].at() - held_at;
    // 6 s of renewals (3 s slices), then 10 s: not before about 14 s, and
    // well before the holder let go at 28 s.
    assert!(back_after >= 13_000, "came back {back_after} ms after the receive\n{watcher}\n{holder}");
    assert!(got[0].at() < terminated_at, "came back only when the holder terminated\n{watcher}\n{holder}");
}
