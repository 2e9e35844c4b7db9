//! Real `mqnamesrv` / `mqbroker` processes on loopback, each with its own
//! ports and store, for tests that SIGKILL and restart them.
//!
//! The binaries come from `cargo build -p rmq-cli` (the same target
//! directory as the test executable). Every process gets `-Duser.home` in
//! `JAVA_OPT` pointing into the test's temp dir, so logs stay there; its
//! stdout and stderr lines are kept for assertions (boot lines, log lines).
//! Processes are killed when dropped: a failing test leaves nothing behind.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `$RMQ_BIN_DIR/<name>` if set (e.g. release binaries for benchmarks),
/// else `<target>/<profile>/<name>`, next to the test executable's `deps/`.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = match std::env::var_os("RMQ_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>").to_owned(),
    };
    let bin = dir.join(name);
    assert!(bin.exists(), "{} is missing: run `cargo build -p rmq-cli` first", bin.display());
    bin
}

pub use rmq_testkit::ports::{free_broker_port, free_port};

/// One running (or dead) server process.
pub struct Process {
    name: String,
    bin: PathBuf,
    args: Vec<String>,
    home: PathBuf,
    child: Option<Child>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Process {
    fn spawn(name: &str, bin: PathBuf, args: Vec<String>, home: &Path, boot_line: &str) -> Process {
        let mut p =
            Process { name: name.to_owned(), bin, args, home: home.to_owned(), child: None, lines: Arc::default() };
        p.start(boot_line);
        p
    }

    fn start(&mut self, boot_line: &str) {
        assert!(self.child.is_none(), "{} is running", self.name);
        let mut child = Command::new(&self.bin)
            .args(&self.args)
            .env("JAVA_OPT", format!("-Duser.home={}", self.home.display()))
            .env_remove("JAVA_OPT_EXT")
            .env_remove("NAMESRV_ADDR")
            .env("RUST_LOG", std::env::var("RMQ_TEST_LOG").unwrap_or_else(|_| "info".to_owned()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.name));
        let echo = std::env::var_os("RMQ_TEST_ECHO").is_some();
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = self.lines.clone();
            let name = self.name.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if echo {
                        eprintln!("[{name}] {line}");
                    }
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let started = self.lines.lock().unwrap().len();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.lines.lock().unwrap()[started..].iter().any(|l| l.contains(boot_line)) {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("{} exited with {status} before booting:\n{}", self.name, self.output());
            }
            assert!(Instant::now() < deadline, "{} did not boot in 30 s:\n{}", self.name, self.output());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Whether some output line contains `text`.
    pub fn printed(&self, text: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(text))
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, and wait up to 20 s for a clean exit (then SIGKILL).
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: plain syscall on a child we own and have not reaped.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} did not exit within 20 s of SIGTERM", self.name);
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A NameServer process.
pub struct Namesrv {
    pub addr: String,
    pub process: Process,
}

impl Namesrv {
    pub fn start(home: &Path) -> Namesrv {
        let port = free_port();
        let dir = home.join(format!("namesrv-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("namesrv.properties");
        std::fs::write(&conf, format!("listenPort={port}\nkvConfigPath={}\n", dir.join("kvConfig.json").display()))
            .unwrap();
        let args = vec!["-c".to_owned(), conf.display().to_string()];
        let process = Process::spawn(&format!("namesrv:{port}"), binary("mqnamesrv"), args, &dir, "boot success");
        Namesrv { addr: format!("127.0.0.1:{port}"), process }
    }
}

/// A broker process started from one of the repository's `conf/` files, with
/// this process's own ports and store appended.
pub struct Broker {
    /// `127.0.0.1:listenPort`.
    pub addr: String,
    pub port: u16,
    pub store: PathBuf,
    pub conf: PathBuf,
    pub process: Process,
}

/// `conf/<set>/<file>` of the repository.
pub fn repo_conf(set_and_file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conf").join(set_and_file)
}

impl Broker {
    /// Starts `mqbroker -c <copy of base>` with, appended: its ports, store
    /// root, `brokerIP1=127.0.0.1`, the NameServer list, small CommitLog
    /// files, and `extra` (later keys win, as in a properties file).
    pub fn start(home: &Path, base: &Path, namesrv: &str, extra: &[(&str, &str)]) -> Broker {
        Broker::start_with_args(home, base, namesrv, extra, &[])
    }

    /// [`Broker::start`] with more command-line arguments (`--enable-proxy`, ...).
    pub fn start_with_args(home: &Path, base: &Path, namesrv: &str, extra: &[(&str, &str)], more: &[&str]) -> Broker {
        let port = free_broker_port();
        let dir = home.join(format!("broker-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let store = dir.join("store");
        let mut text = std::fs::read_to_string(base).unwrap_or_else(|e| panic!("{}: {e}", base.display()));
        text.push_str(&format!(
            "\n# added by the test\nlistenPort={port}\nstorePathRootDir={}\nbrokerIP1=127.0.0.1\nnamesrvAddr={namesrv}\n\
             mappedFileSizeCommitLog=67108864\nmappedFileSizeConsumeQueue=600000\nmaxIndexNum=100000\nmaxHashSlotNum=20000\n",
            store.display()
        ));
        for (k, v) in extra {
            text.push_str(&format!("{k}={v}\n"));
        }
        let conf = dir.join("broker.properties");
        std::fs::write(&conf, text).unwrap();
        let name = format!("{}:{port}", base.file_stem().and_then(|s| s.to_str()).unwrap_or("broker"));
        let mut args = vec!["-c".to_owned(), conf.display().to_string()];
        args.extend(more.iter().map(|a| a.to_string()));
        let boot_line = if more.contains(&"--enable-proxy") { "The proxy boot success" } else { "boot success" };
        let process = Process::spawn(&name, binary("mqbroker"), args, &dir, boot_line);
        Broker { addr: format!("127.0.0.1:{port}"), port, store, conf, process }
    }

    /// Runs `mqbroker -c <copy of base + extra>` expecting it to exit within
    /// 20 s; returns its exit code and output.
    pub fn run_to_exit(home: &Path, base: &Path, namesrv: &str, extra: &[(&str, &str)]) -> (Option<i32>, String) {
        let port = free_broker_port();
        let dir = home.join(format!("broker-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = std::fs::read_to_string(base).unwrap();
        text.push_str(&format!(
            "\nlistenPort={port}\nstorePathRootDir={}\nbrokerIP1=127.0.0.1\nnamesrvAddr={namesrv}\n",
            dir.join("store").display()
        ));
        for (k, v) in extra {
            text.push_str(&format!("{k}={v}\n"));
        }
        let conf = dir.join("broker.properties");
        std::fs::write(&conf, text).unwrap();
        let mut child = Command::new(binary("mqbroker"))
            .args(["-c", &conf.display().to_string()])
            .env("JAVA_OPT", format!("-Duser.home={}", dir.display()))
            .env_remove("NAMESRV_ADDR")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("mqbroker did not exit within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = child.wait_with_output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (status.code(), text)
    }

    /// Starts the same broker again (same config, ports and store).
    pub fn restart(&mut self) {
        self.process.start("boot success");
    }
}

/// An `mqproxy` process (cluster mode) on its own gRPC and remoting ports.
pub struct Proxy {
    /// `127.0.0.1:grpcServerPort`.
    pub addr: String,
    /// `127.0.0.1:remotingListenPort`: what remoting clients take for their NameServer.
    pub remoting_addr: String,
    pub process: Process,
}

impl Proxy {
    pub fn start(home: &Path, namesrv: &str) -> Proxy {
        Proxy::start_with(home, namesrv, "")
    }

    /// [`Proxy::start`] with more keys of `rmq-proxy.json` (`"key": value, ...`).
    pub fn start_with(home: &Path, namesrv: &str, more_json: &str) -> Proxy {
        let port = free_port();
        let remoting = free_port();
        let dir = home.join(format!("proxy-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("rmq-proxy.json");
        std::fs::write(
            &conf,
            format!(
                "{{\"rocketMQClusterName\": \"DefaultCluster\", \"grpcServerPort\": {port}, \"remotingListenPort\": {remoting}{}{more_json}}}\n",
                if more_json.is_empty() { "" } else { ", " }
            ),
        )
        .unwrap();
        let args = vec!["-n".to_owned(), namesrv.to_owned(), "-pc".to_owned(), conf.display().to_string()];
        let process = Process::spawn(&format!("proxy:{port}"), binary("mqproxy"), args, &dir, "The proxy boot success");
        Proxy { addr: format!("127.0.0.1:{port}"), remoting_addr: format!("127.0.0.1:{remoting}"), process }
    }
}

/// Admin requests the tests send with rmq's own remoting client.
pub mod admin {
    use rmq_protocol::body::kv::KvTable;
    use rmq_protocol::header::{
        CreateTopicRequestHeader, OffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader,
        QueryConsumerOffsetRequestHeader, QueueRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2,
    };
    use rmq_protocol::{RemotingCommand, RequestCode};
    use rmq_remoting::{Client, ClientConfig, RejectAll};
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    pub fn client() -> Client {
        Client::new(ClientConfig::default(), Arc::new(RejectAll))
    }

    /// UPDATE_AND_CREATE_TOPIC on one broker (read/write queues `queues`, perm 6).
    pub async fn create_topic(client: &Client, broker: &str, topic: &str, queues: i32) {
        create_topic_with(client, broker, topic, queues, None).await;
    }

    /// [`create_topic`] with 5.x attributes (`+message.type=FIFO`).
    pub async fn create_topic_with(client: &Client, broker: &str, topic: &str, queues: i32, attributes: Option<&str>) {
        let header = CreateTopicRequestHeader {
            topic: topic.to_owned(),
            default_topic: Some("TBW102".to_owned()),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: 6,
            topic_filter_type: Some("SINGLE_TAG".to_owned()),
            topic_sys_flag: Some(0),
            order: Some(false),
            attributes: attributes.map(str::to_owned),
            force: None,
        };
        let request = RemotingCommand::request(RequestCode::UpdateAndCreateTopic, &header);
        let response = client.invoke(broker, request, Duration::from_secs(5)).await.expect("create topic");
        assert_eq!(response.code, 0, "create topic on {broker}: {:?}", response.remark);
    }

    /// GET_BROKER_RUNTIME_INFO as a map; empty if the broker does not answer.
    pub async fn runtime_info(client: &Client, broker: &str) -> BTreeMap<String, String> {
        let request = RemotingCommand::bare_request(RequestCode::GetBrokerRuntimeInfo);
        match client.invoke(broker, request, Duration::from_secs(3)).await {
            Ok(r) if r.code == 0 => {
                KvTable::decode(&r.body.to_bytes()).map(|t| t.table.into_iter().collect()).unwrap_or_default()
            }
            _ => BTreeMap::new(),
        }
    }

    /// One runtime-info value as a number (-1 if missing).
    pub async fn info_i64(client: &Client, broker: &str, key: &str) -> i64 {
        runtime_info(client, broker).await.get(key).and_then(|v| v.parse().ok()).unwrap_or(-1)
    }

    /// Whether `broker` knows `topic` (GET_ALL_TOPIC_CONFIG).
    pub async fn has_topic(client: &Client, broker: &str, topic: &str) -> bool {
        let request = RemotingCommand::bare_request(RequestCode::GetAllTopicConfig);
        match client.invoke(broker, request, Duration::from_secs(3)).await {
            Ok(r) if r.code == 0 => String::from_utf8_lossy(&r.body.to_bytes()).contains(&format!("\"{topic}\"")),
            _ => false,
        }
    }

    /// SEND_MESSAGE_V2 of one message straight to `broker` (no route
    /// lookup); returns the response code, or -1 if there was no response.
    pub async fn send(client: &Client, broker: &str, topic: &str, queue_id: i32, key: &str, body: &[u8]) -> i32 {
        send_with(client, broker, topic, queue_id, key, "", body).await
    }

    /// [`send`] with extra properties, encoded (`NAME\u{1}VALUE\u{2}`…).
    pub async fn send_with(
        client: &Client,
        broker: &str,
        topic: &str,
        queue_id: i32,
        key: &str,
        extra_properties: &str,
        body: &[u8],
    ) -> i32 {
        let header = SendMessageRequestHeader {
            producer_group: "ha-load-pg".to_owned(),
            topic: topic.to_owned(),
            default_topic: Some("TBW102".to_owned()),
            default_topic_queue_nums: Some(4),
            queue_id,
            sys_flag: Some(0),
            born_timestamp: Some(0),
            flag: Some(0),
            properties: Some(format!("UNIQ_KEY\u{1}{key}\u{2}WAIT\u{1}true\u{2}{extra_properties}")),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            batch: Some(false),
            max_reconsume_times: None,
            broker_name: None,
        };
        let request = RemotingCommand::request(RequestCode::SendMessageV2, &SendMessageRequestHeaderV2(header))
            .with_body(body.to_vec());
        match client.invoke(broker, request, Duration::from_secs(5)).await {
            Ok(r) => r.code,
            Err(_) => -1,
        }
    }

    /// What [`load`] did.
    #[derive(Debug, Default, Clone)]
    pub struct Load {
        pub ok: u64,
        pub not_ok: u64,
        pub elapsed: Duration,
    }

    impl Load {
        pub fn rate(&self) -> f64 {
            self.ok as f64 / self.elapsed.as_secs_f64()
        }
    }

    /// `concurrency` senders, each sending one message at a time to `broker`
    /// (bodies of `body_len` bytes, queues 0-3), for `duration`.
    pub async fn load(
        client: &Client,
        broker: &str,
        topic: &str,
        concurrency: usize,
        body_len: usize,
        duration: Duration,
    ) -> Load {
        let started = Instant::now();
        let deadline = started + duration;
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..concurrency {
            let (client, broker, topic) = (client.clone(), broker.to_owned(), topic.to_owned());
            tasks.spawn(async move {
                let body = vec![b'l'; body_len];
                let mut load = Load::default();
                let mut i = 0u64;
                while Instant::now() < deadline {
                    i += 1;
                    let code = send(&client, &broker, &topic, (i % 4) as i32, &format!("L{t}-{i}"), &body).await;
                    if code == 0 { load.ok += 1 } else { load.not_ok += 1 }
                }
                load
            });
        }
        let mut total = Load::default();
        while let Some(Ok(l)) = tasks.join_next().await {
            total.ok += l.ok;
            total.not_ok += l.not_ok;
        }
        total.elapsed = started.elapsed();
        total
    }

    /// GET_MAX_OFFSET of one queue; -1 if the broker does not answer.
    pub async fn max_offset(client: &Client, broker: &str, topic: &str, queue_id: i32) -> i64 {
        let header = QueueRequestHeader { topic: topic.to_owned(), queue_id, committed: None };
        let request = RemotingCommand::request(RequestCode::GetMaxOffset, &header);
        match client.invoke(broker, request, Duration::from_secs(3)).await {
            Ok(r) if r.code == 0 => r.header::<OffsetResponseHeader>().map(|h| h.offset).unwrap_or(-1),
            _ => -1,
        }
    }

    /// QUERY_CONSUMER_OFFSET of one queue; -1 if none or no answer.
    pub async fn consumer_offset(client: &Client, broker: &str, group: &str, topic: &str, queue_id: i32) -> i64 {
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
            set_zero_if_not_found: None,
        };
        let request = RemotingCommand::request(RequestCode::QueryConsumerOffset, &header);
        match client.invoke(broker, request, Duration::from_secs(3)).await {
            Ok(r) if r.code == 0 => r.header::<OffsetResponseHeader>().map(|h| h.offset).unwrap_or(-1),
            _ => -1,
        }
    }

    /// A non-blocking PULL_MESSAGE (subscription `*` in the header) of one
    /// message: `(code, suggestWhichBrokerId)`, or `(-1, -1)` without an answer.
    pub async fn pull_one(
        client: &Client,
        broker: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> (i32, i64) {
        let header = PullMessageRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
            queue_offset: offset,
            max_msg_nums: 1,
            sys_flag: 0x4,
            commit_offset: Some(0),
            suspend_timeout_millis: Some(0),
            subscription: Some("*".to_owned()),
            sub_version: Some(0),
            expression_type: Some("TAG".to_owned()),
            max_msg_bytes: None,
        };
        let request = RemotingCommand::request(RequestCode::PullMessage, &header);
        match client.invoke(broker, request, Duration::from_secs(5)).await {
            Ok(r) => (r.code, r.header::<PullMessageResponseHeader>().map(|h| h.suggest_which_broker_id).unwrap_or(-1)),
            Err(_) => (-1, -1),
        }
    }

    /// The body of a `GET_ALL_*` request (`code`) to `broker`, as text; empty on error.
    pub async fn all_of(client: &Client, broker: &str, code: RequestCode) -> String {
        match client.invoke(broker, RemotingCommand::bare_request(code), Duration::from_secs(3)).await {
            Ok(r) if r.code == 0 => String::from_utf8_lossy(&r.body.to_bytes()).into_owned(),
            _ => String::new(),
        }
    }

    /// Sends `request` and returns its response code (-1 without an answer).
    pub async fn call(client: &Client, broker: &str, request: RemotingCommand) -> i32 {
        client.invoke(broker, request, Duration::from_secs(3)).await.map_or(-1, |r| r.code)
    }

    /// Polls `check` every 100 ms until it holds, panicking after `within`.
    pub async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + within;
        while !check().await {
            assert!(Instant::now() < deadline, "timed out after {within:?} waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A slave is attached to `master` and `slave` knows `topic`.
    pub async fn wait_replicating(client: &Client, master: &str, slave: &str, topic: &str) {
        wait_until("slave attached", Duration::from_secs(20), || async {
            info_i64(client, master, "haConnectionCount").await >= 1
        })
        .await;
        wait_until("slave synced the topic", Duration::from_secs(20), || async {
            has_topic(client, slave, topic).await
        })
        .await;
    }
}
