//! Controller mode end to end, with real processes over real sockets: one
//! `mqcontroller`, one `mqnamesrv`, two `mqbroker`s of one group with
//! `enableControllerMode=true`.
//!
//! * The first broker to register is elected master; the second follows it;
//!   the master reports it in sync once it has caught up.
//! * The replica is SIGKILLed, the master (ASYNC) takes messages only it
//!   holds, then it is SIGKILLed too. The replica restarts, is elected (it was
//!   in sync less than `haMaxTimeSlaveNotCatchup` ago), registers as brokerId
//!   0 and takes sends; everything replicated before is there.
//! * The old master restarts: it follows the new master, cuts the messages
//!   the new master never had from its CommitLog (its log says so), and
//!   catches up to the new master's log.
//! * With three controllers (a Raft group) the brokers follow the controller
//!   leader, and a new leader fails the master over after the first died.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rmq_client::admin::Admin;
use rmq_client::{Client, ClientOptions, Message, Producer};
use rmq_protocol::header::{
    ConsumerSendMsgBackRequestHeader, EndTransactionRequestHeader, GetReplicaInfoRequestHeader,
    SendMessageRequestHeader, SendMessageResponseHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::ports::{free_broker_port, free_port};

mod process;
use process::Running;

const CONTROLLER: &str = env!("CARGO_BIN_EXE_mqcontroller");
const NAMESRV: &str = env!("CARGO_BIN_EXE_mqnamesrv");
const BROKER: &str = env!("CARGO_BIN_EXE_mqbroker");
const ADMIN: &str = env!("CARGO_BIN_EXE_mqadmin");
const GROUP: &str = "broker-a";
const TOPIC: &str = "FailoverTopic";

struct Node {
    home: PathBuf,
    conf: PathBuf,
    port: u16,
}

impl Node {
    fn new(root: &Path, name: &str, namesrv: &str, controller: &str, extra: &str) -> Node {
        let home = root.join(name);
        std::fs::create_dir_all(&home).unwrap();
        let port = free_broker_port();
        let conf = home.join("broker.conf");
        std::fs::write(
            &conf,
            format!(
                "brokerClusterName = DefaultCluster\nbrokerName = {GROUP}\nbrokerIP1 = 127.0.0.1\nlistenPort = {port}\n\
                 namesrvAddr = {namesrv}\nstorePathRootDir = {}\nenableControllerMode = true\ncontrollerAddr = {controller}\n\
                 brokerHeartbeatInterval = 300\ncontrollerHeartBeatTimeoutMills = 2000\nsyncBrokerMetadataPeriod = 500\n\
                 checkSyncStateSetPeriod = 300\nhaMaxTimeSlaveNotCatchup = 60000\nhaSendHeartbeatInterval = 500\n\
                 autoCreateTopicEnable = true\n{extra}",
                home.join("store").display()
            ),
        )
        .unwrap();
        Node { home, conf, port }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker; the caller waits for the lines it expects (the
    /// role line comes before the boot line).
    fn start(&self) -> Running {
        Running::start(BROKER, &self.home, &["-c", self.conf.to_str().unwrap()])
    }
}

fn client(namesrv: &str) -> Client {
    let mut options = ClientOptions::new(namesrv);
    options.timeout = Duration::from_secs(3);
    Client::new(options)
}

/// The group's addresses by broker id, as the NameServer lists them.
async fn members(namesrv: &str) -> std::collections::BTreeMap<i64, String> {
    let admin = Admin::new(client(namesrv));
    let info = admin.cluster_info().await;
    admin.client().close();
    info.ok().and_then(|i| i.broker_addr_table.get(GROUP).map(|d| d.broker_addrs.clone())).unwrap_or_default()
}

async fn wait_for<T>(within: Duration, what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The controller's in-sync set of the group.
async fn in_sync(controller: &str) -> Vec<i64> {
    let c = client("127.0.0.1:1");
    let header = GetReplicaInfoRequestHeader { broker_name: GROUP.into() };
    let request = RemotingCommand::request(RequestCode::ControllerGetReplicaInfo, &header);
    let answer = c.invoke(controller, request, None).await;
    c.close();
    let Ok(answer) = answer else { return Vec::new() };
    rmq_protocol::body::controller::SyncStateSet::decode(&answer.body.to_bytes())
        .map(|s| s.sync_state_set.into_iter().collect())
        .unwrap_or_default()
}

async fn runtime(broker: &str, key: &str) -> Option<i64> {
    let admin = Admin::new(client("127.0.0.1:1"));
    let info = admin.runtime_info(broker).await;
    admin.client().close();
    info.ok()?.get(key)?.parse().ok()
}

/// Sends `n` messages through a fresh producer; each must be SEND_OK.
async fn send(namesrv: &str, n: usize, tag: &str) {
    let producer = Producer::new(client(namesrv), "failover-producer");
    for i in 0..n {
        let msg = Message::new(TOPIC, format!("{tag}-{i}").into_bytes());
        let sent = producer.send(&msg).await.unwrap_or_else(|e| panic!("send {tag}-{i}: {e}"));
        assert_eq!(sent.status.as_str(), "SEND_OK");
    }
    producer.client().close();
}

/// A controller (or several, a Raft group), a NameServer and the group's
/// two brokers, `a` elected master and `b` following it, both listed by
/// the NameServer.
struct Group {
    _root: tempfile::TempDir,
    /// The first controller's address.
    controller: String,
    /// Every controller's address, the first one's included.
    controllers: Vec<String>,
    /// The processes of the controllers after the first.
    more_controllers: Vec<Running>,
    /// The controller's config file, to start it again.
    controller_conf: PathBuf,
    namesrv: String,
    _processes: (Running, Running),
    a: Node,
    b: Node,
    broker_a: Running,
    broker_b: Running,
    b_id: i64,
}

async fn start_group(broker_extra: &str) -> Group {
    start_group_with(broker_extra, 1).await
}

async fn start_group_with(broker_extra: &str, controller_count: usize) -> Group {
    let root = tempfile::tempdir().unwrap();
    let controllers: Vec<String> = (0..controller_count).map(|_| format!("127.0.0.1:{}", free_port())).collect();
    let namesrv_port = free_port();
    let namesrv = format!("127.0.0.1:{namesrv_port}");
    let peers: Vec<String> = controllers.iter().enumerate().map(|(i, addr)| format!("n{i}-{addr}")).collect();
    let mut controller_processes = Vec::new();
    for i in 0..controller_count {
        let home = if i == 0 { root.path().to_owned() } else { root.path().join(format!("controller-n{i}")) };
        std::fs::create_dir_all(&home).unwrap();
        let store = if i == 0 { "controller-store".to_owned() } else { format!("controller-store-n{i}") };
        let conf = home.join("controller.conf");
        std::fs::write(
            &conf,
            format!(
                "controllerDLegerGroup = group1\ncontrollerDLegerPeers = {}\ncontrollerDLegerSelfId = n{i}\n\
                 controllerStorePath = {}\nscanNotActiveBrokerInterval = 500\n",
                peers.join(";"),
                root.path().join(store).display()
            ),
        )
        .unwrap();
        controller_processes.push(Running::start(CONTROLLER, &home, &["-c", conf.to_str().unwrap()]));
    }
    let controller_conf = root.path().join("controller.conf");
    let mut controller_processes = controller_processes.into_iter();
    let controller_process = controller_processes.next().unwrap();
    let more_controllers: Vec<Running> = controller_processes.collect();
    let controller = controllers[0].clone();
    let namesrv_home = root.path().join("namesrv");
    std::fs::create_dir_all(&namesrv_home).unwrap();
    let namesrv_conf = namesrv_home.join("namesrv.conf");
    std::fs::write(&namesrv_conf, format!("listenPort = {namesrv_port}\n")).unwrap();
    let namesrv_process = Running::start(NAMESRV, &namesrv_home, &["-c", namesrv_conf.to_str().unwrap()]);
    namesrv_process.wait_line("boot success", Duration::from_secs(20));

    let controller_addr = controllers.join(";");
    let a = Node::new(root.path(), "a", &namesrv, &controller_addr, broker_extra);
    let b = Node::new(root.path(), "b", &namesrv, &controller_addr, broker_extra);
    let broker_a = a.start();
    broker_a.wait_line("serves as master", Duration::from_secs(30));
    broker_a.wait_line("boot success", Duration::from_secs(30));
    let broker_b = b.start();
    broker_b.wait_line("serves as replica", Duration::from_secs(30));
    broker_b.wait_line("boot success", Duration::from_secs(30));
    let listed = wait_for(Duration::from_secs(30), "both brokers listed", async || {
        let m = members(&namesrv).await;
        (m.len() == 2 && m.get(&0) == Some(&a.addr())).then_some(m)
    })
    .await;
    let b_id = *listed.iter().find(|(_, addr)| **addr == b.addr()).unwrap().0;
    assert!(b_id > 0);
    Group {
        _root: root,
        controller,
        controllers,
        more_controllers,
        controller_conf,
        namesrv,
        _processes: (controller_process, namesrv_process),
        a,
        b,
        broker_a,
        broker_b,
        b_id,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replica_takes_over_and_the_old_master_cuts_what_it_never_replicated() {
    let Group { _root, _processes, controller, namesrv, a, b, broker_a, broker_b, b_id, .. } = start_group("").await;

    // Replicated traffic, then the replica joins the in-sync set.
    send(&namesrv, 200, "before").await;
    wait_for(Duration::from_secs(30), "the replica in sync", async || {
        let a_end = runtime(&a.addr(), "commitLogMaxOffset").await?;
        let b_end = runtime(&b.addr(), "commitLogMaxOffset").await?;
        (a_end == b_end && in_sync(&controller).await.contains(&b_id)).then_some(())
    })
    .await;
    let replicated_end = runtime(&b.addr(), "commitLogMaxOffset").await.unwrap();

    // The replica dies; the master, ASYNC, takes 50 more that nobody holds
    // but itself. The replica stays in the in-sync set (it was caught up
    // less than haMaxTimeSlaveNotCatchup ago), so it may be elected.
    broker_b.sigkill();
    send(&namesrv, 50, "unreplicated").await;
    let a_end = runtime(&a.addr(), "commitLogMaxOffset").await.unwrap();
    assert!(a_end > replicated_end);
    broker_a.sigkill();

    // The replica comes back to a group without a master, and is elected.
    let killed = Instant::now();
    let broker_b = b.start();
    broker_b.wait_line("serves as master", Duration::from_secs(30));
    wait_for(Duration::from_secs(30), "the new master listed as brokerId 0", async || {
        (members(&namesrv).await.get(&0) == Some(&b.addr())).then_some(())
    })
    .await;
    send(&namesrv, 100, "after").await;
    let failover = killed.elapsed();
    eprintln!("failover: the replica's restart to its first SEND_OK as master in {failover:?}");
    let b_end = runtime(&b.addr(), "commitLogMaxOffset").await.unwrap();
    assert!(b_end > replicated_end, "the new master keeps what was replicated and takes new messages");

    // The old master returns: it follows, cuts its unreplicated tail, catches up.
    let broker_a = a.start();
    let cut = broker_a.wait_line("truncating the CommitLog", Duration::from_secs(30));
    assert!(cut.contains(&format!("from {a_end} to {replicated_end}")), "{cut}");
    broker_a.wait_line("serves as replica", Duration::from_secs(30));
    wait_for(Duration::from_secs(30), "the old master caught up as a replica", async || {
        let m = members(&namesrv).await;
        let a_now = runtime(&a.addr(), "commitLogMaxOffset").await?;
        let b_now = runtime(&b.addr(), "commitLogMaxOffset").await?;
        (m.get(&0) == Some(&b.addr()) && m.values().any(|v| *v == a.addr()) && a_now == b_now && a_now >= b_end)
            .then_some(())
    })
    .await;

    // Both now hold the same two epochs, the second (whatever number the
    // controller gave it) from where the new master took over, as `mqadmin
    // getBrokerEpoch` prints them.
    let out = Command::new(ADMIN)
        .args(["getBrokerEpoch", "-n", &namesrv, "-b", GROUP])
        .env_remove("NAMESRV_ADDR")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let second = format!(", startOffset={replicated_end}, endOffset=");
    assert_eq!(text.matches("#Epoch: EpochEntry{epoch=1, startOffset=0, endOffset=").count(), 2, "{text}");
    assert_eq!(text.matches(&second).count(), 2, "{text}");
    assert_eq!(text.matches("#Epoch: ").count(), 4, "{text}");
    assert!(text.contains(&format!("#brokerAddr\t{}\n#brokerId\t0", b.addr())), "{text}");

    // A live failover: the new master is SIGKILLed while the old one follows
    // it in sync; the follower is elected within the controller's heartbeat
    // timeout and takes sends. Nothing that was replicated is missing.
    let a_id = *members(&namesrv).await.iter().find(|(_, addr)| **addr == a.addr()).unwrap().0;
    wait_for(Duration::from_secs(30), "the old master back in the in-sync set", async || {
        in_sync(&controller).await.contains(&a_id).then_some(())
    })
    .await;
    let before_kill = runtime(&b.addr(), "commitLogMaxOffset").await.unwrap();
    broker_b.sigkill();
    let killed = Instant::now();
    broker_a.wait_line("serves as master", Duration::from_secs(30));
    wait_for(Duration::from_secs(30), "the follower listed as brokerId 0", async || {
        (members(&namesrv).await.get(&0) == Some(&a.addr())).then_some(())
    })
    .await;
    send(&namesrv, 10, "after-second-failover").await;
    eprintln!("failover: SIGKILL of the master to the first SEND_OK on its replica in {:?}", killed.elapsed());
    let a_end = runtime(&a.addr(), "commitLogMaxOffset").await.unwrap();
    assert!(a_end > before_kill, "the promoted replica holds everything replicated, then the new sends");
    drop(broker_a);
}

/// With `allAckInSyncStateSet=true` a SEND_OK means every member of the
/// in-sync set holds the message: the master is SIGKILLed right after its
/// last SEND_OK, without waiting for anything, and the elected replica holds
/// every acknowledged byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_all_ack_no_acknowledged_message_is_lost_when_the_master_dies() {
    let Group { _root, _processes, controller, namesrv, a, b, broker_a, broker_b, b_id, .. } =
        start_group("allAckInSyncStateSet = true\n").await;
    wait_for(Duration::from_secs(30), "the replica in the in-sync set", async || {
        in_sync(&controller).await.contains(&b_id).then_some(())
    })
    .await;
    send(&namesrv, 300, "acked").await;
    let acked_end = runtime(&a.addr(), "commitLogMaxOffset").await.unwrap();
    broker_a.sigkill();
    broker_b.wait_line("serves as master", Duration::from_secs(30));
    // The role line comes just before the ports listen again.
    let b_end = wait_for(Duration::from_secs(10), "the new master's runtime info", async || {
        runtime(&b.addr(), "commitLogMaxOffset").await
    })
    .await;
    assert!(b_end >= acked_end, "the new master ends at {b_end}, the acknowledged messages at {acked_end}");
    wait_for(Duration::from_secs(30), "the new master listed as brokerId 0", async || {
        (members(&namesrv).await.get(&0) == Some(&b.addr())).then_some(())
    })
    .await;
    // Alone in the in-sync set, the new master answers sends by itself.
    send(&namesrv, 10, "alone").await;
    drop(broker_b);
}

/// An `asyncLearner` replicates but never joins the in-sync set, so it is
/// never elected and its acknowledgement never answers a send. Empty at its
/// start, it copies the master's whole CommitLog from the first file
/// (`syncFromLastFile=false`, Java's default in controller mode; a classic
/// slave would start at the master's last file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_learner_copies_the_whole_log_and_never_counts() {
    let small_files = "allAckInSyncStateSet = true\nmappedFileSizeCommitLog = 16384\n";
    let Group { _root, _processes, controller, namesrv, a, broker_a, broker_b, b_id, .. } =
        start_group(small_files).await;
    wait_for(Duration::from_secs(30), "the replica in the in-sync set", async || {
        in_sync(&controller).await.contains(&b_id).then_some(())
    })
    .await;
    send(&namesrv, 400, "before").await;
    let end = runtime(&a.addr(), "commitLogMaxOffset").await.unwrap();
    assert!(end > 3 * 16384, "the master's CommitLog spans several files ({end} bytes)");

    let learner_conf = format!("{small_files}asyncLearner = true\n");
    let c = Node::new(_root.path(), "c", &namesrv, &controller, &learner_conf);
    let broker_c = c.start();
    broker_c.wait_line("serves as replica", Duration::from_secs(30));
    wait_for(Duration::from_secs(30), "the learner caught up", async || {
        (runtime(&c.addr(), "commitLogMaxOffset").await? == end).then_some(())
    })
    .await;
    assert_eq!(runtime(&c.addr(), "commitLogMinOffset").await, Some(0), "copied from the first file");
    // Several reviews of the in-sync set later (checkSyncStateSetPeriod = 300 ms).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let set = in_sync(&controller).await;
    assert_eq!(set.len(), 2, "the master and its replica, never the learner: {set:?}");
    assert!(set.contains(&b_id));

    // The in-sync replica gone, the learner alone holds what is sent, and
    // that does not make a SEND_OK.
    broker_b.sigkill();
    wait_for(Duration::from_secs(10), "one HA connection left", async || {
        (runtime(&a.addr(), "haConnectionCount").await? == 1).then_some(())
    })
    .await;
    let producer = Producer::new(client(&namesrv), "learner-producer");
    let sent = producer.send(&Message::new(TOPIC, b"after".to_vec())).await.expect("an answer");
    producer.client().close();
    assert_eq!(sent.status.as_str(), "SLAVE_NOT_AVAILABLE");
    drop((broker_a, broker_c));
}

/// The controller SIGKILLed: the brokers keep their roles and serve without
/// it. Started again, it replays its event log (the in-sync set is back
/// before any broker re-registers), and when the master then dies its
/// replica is still elected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_controller_still_fails_the_master_over() {
    let Group {
        _root,
        _processes: (controller_process, _namesrv_process),
        controller,
        controller_conf,
        namesrv,
        b,
        broker_a,
        broker_b,
        b_id,
        ..
    } = start_group("").await;
    wait_for(Duration::from_secs(30), "the replica in the in-sync set", async || {
        in_sync(&controller).await.contains(&b_id).then_some(())
    })
    .await;
    controller_process.sigkill();
    send(&namesrv, 50, "controller-down").await;

    let restarted = Running::start(CONTROLLER, _root.path(), &["-c", controller_conf.to_str().unwrap()]);
    restarted.wait_line("boot success", Duration::from_secs(20));
    assert!(in_sync(&controller).await.contains(&b_id), "the in-sync set is replayed from the event log");
    broker_a.sigkill();
    broker_b.wait_line("serves as master", Duration::from_secs(30));
    wait_for(Duration::from_secs(30), "the replica listed as brokerId 0", async || {
        (members(&namesrv).await.get(&0) == Some(&b.addr())).then_some(())
    })
    .await;
    send(&namesrv, 10, "after").await;
    drop(broker_b);
}

/// Three controllers (Raft): the brokers follow the controller leader; it
/// is SIGKILLed, another controller leads, knowing the group's in-sync set,
/// and fails the master over when the master is SIGKILLed in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_three_controllers_the_master_fails_over_after_the_controller_leader_died() {
    let Group {
        _root,
        _processes: (first_controller, _namesrv_process),
        controllers,
        mut more_controllers,
        namesrv,
        b,
        broker_a,
        broker_b,
        b_id,
        ..
    } = start_group_with("", 3).await;
    // Only the leader answers GET_REPLICA_INFO (followers: CONTROLLER_NOT_LEADER).
    let leader = wait_for(Duration::from_secs(30), "the replica in sync, per the controller leader", async || {
        for addr in &controllers {
            if in_sync(addr).await.contains(&b_id) {
                return Some(addr.clone());
            }
        }
        None
    })
    .await;
    match controllers.iter().position(|c| *c == leader).unwrap() {
        0 => first_controller.sigkill(),
        i => more_controllers.remove(i - 1).sigkill(),
    }
    send(&namesrv, 20, "controller-leader-down").await;
    let rest: Vec<&String> = controllers.iter().filter(|c| **c != leader).collect();
    wait_for(Duration::from_secs(20), "a new controller leader knowing the in-sync set", async || {
        for addr in &rest {
            if in_sync(addr).await.contains(&b_id) {
                return Some(());
            }
        }
        None
    })
    .await;

    broker_a.sigkill();
    broker_b.wait_line("serves as master", Duration::from_secs(30));
    wait_for(Duration::from_secs(30), "the replica listed as brokerId 0", async || {
        (members(&namesrv).await.get(&0) == Some(&b.addr())).then_some(())
    })
    .await;
    send(&namesrv, 10, "after").await;
    drop(broker_b);
}

/// `minInSyncReplicas=2`: once the replica has been gone for
/// `haMaxTimeSlaveNotCatchup` the master is alone in the in-sync set, and a
/// send is refused, unstored, with Java's "in-sync replicas not enough";
/// with the replica back and caught up, sends are taken again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_in_sync_replicas_refuses_sends_while_the_master_is_alone() {
    let Group { _root, _processes, controller, namesrv, a, b, broker_a, broker_b, b_id, .. } =
        start_group("minInSyncReplicas = 2\nhaMaxTimeSlaveNotCatchup = 1000\n").await;
    wait_for(Duration::from_secs(30), "the replica in the in-sync set", async || {
        in_sync(&controller).await.contains(&b_id).then_some(())
    })
    .await;
    send(&namesrv, 20, "two-in-sync").await;
    broker_b.sigkill();
    wait_for(Duration::from_secs(30), "the master alone in the in-sync set", async || {
        (in_sync(&controller).await.len() == 1).then_some(())
    })
    .await;
    let end = runtime(&a.addr(), "commitLogMaxOffset").await.unwrap();
    let producer = Producer::new(client(&namesrv), "failover-producer");
    let refused = producer.send(&Message::new(TOPIC, b"alone".to_vec())).await.unwrap_err();
    producer.client().close();
    assert!(refused.to_string().contains("in-sync replicas not enough"), "{refused}");
    assert_eq!(runtime(&a.addr(), "commitLogMaxOffset").await.unwrap(), end, "the refused message is not stored");

    let broker_b = b.start();
    broker_b.wait_line("serves as replica", Duration::from_secs(30));
    wait_for(Duration::from_secs(30), "the replica back in the in-sync set", async || {
        in_sync(&controller).await.contains(&b_id).then_some(())
    })
    .await;
    send(&namesrv, 20, "back").await;
    drop((broker_a, broker_b));
}

/// `enableMasterLease`: the controller stopped (SIGSTOP: its sockets stay
/// open, nothing answers, as when the master is cut off from it), the
/// master refuses sends, unstored, once its lease lapses (heartbeat 300 ms,
/// timeout 2 s: a 1.4 s lease), before the controller could count it gone;
/// the controller back, sends are taken again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leased_master_cut_off_from_the_controllers_stops_taking_sends() {
    let Group { _root, _processes, namesrv, a, broker_a, broker_b, .. } =
        start_group("enableMasterLease = true\n").await;
    // Taken: the lease was confirmed (its log line came before boot success).
    send(&namesrv, 20, "leased").await;
    let direct = client("127.0.0.1:1");
    let half = send_half(&direct, &a.addr()).await;
    // Two messages the broker itself must store again once due, after the
    // lease will have lapsed: a delay level's (5 s) and a timer's (4 s).
    let producer = Producer::new(client(&namesrv), "failover-producer");
    let due_at = now_ms() + 4_000;
    for msg in [
        Message::new(TOPIC, b"delayed".to_vec()).with_property("DELAY", "2"),
        Message::new(TOPIC, b"timed".to_vec()).with_property("TIMER_DELIVER_MS", due_at.to_string()),
    ] {
        assert_eq!(producer.send(&msg).await.unwrap().status.as_str(), "SEND_OK");
    }
    // The consume queues may trail the acknowledgements a little.
    let in_topic = wait_for(Duration::from_secs(10), "the 20 sends in the topic's queues", async || {
        Some(queued_in_topic(&a.addr()).await).filter(|&n| n >= 20)
    })
    .await;
    let (controller, _namesrv_process) = &_processes;
    controller.signal("STOP");
    let stopped = Instant::now();
    broker_a.wait_line("master lease lapsed", Duration::from_secs(10));
    let lapsed_after = stopped.elapsed();
    eprintln!("the lease lapsed {lapsed_after:?} after the controller stopped");
    assert!(
        lapsed_after < Duration::from_millis(2_000),
        "the lease outlived the controller's timeout: {lapsed_after:?}"
    );
    let end = runtime(&a.addr(), "commitLogMaxOffset").await.unwrap();
    let refused = producer.send(&Message::new(TOPIC, b"cut off".to_vec())).await.unwrap_err();
    assert!(refused.to_string().contains("master lease lapsed"), "{refused}");
    // Nor does it write a consumer's hand-back or a transaction's commit.
    let hand_back = ConsumerSendMsgBackRequestHeader {
        offset: half.1,
        group: "failover-consumer".into(),
        delay_level: 0,
        origin_msg_id: None,
        origin_topic: Some(TOPIC.into()),
        unit_mode: Some(false),
        max_reconsume_times: Some(16),
    };
    let hand_back = RemotingCommand::request(RequestCode::ConsumerSendMsgBack, &hand_back);
    let commit = end_transaction(half);
    for request in [hand_back, commit.clone()] {
        let code = request.code;
        let answer = direct.invoke(&a.addr(), request, Some(Duration::from_secs(5))).await.unwrap();
        assert_eq!(answer.response_code(), ResponseCode::ServiceNotAvailable, "request {code}: {:?}", answer.remark);
        assert!(answer.remark.as_deref().is_some_and(|r| r.contains("master lease lapsed")), "{:?}", answer.remark);
    }
    // Nor, once they are due, its own copies of the delayed and the timed message.
    broker_a.wait_lines(&["timer delivery to FailoverTopic refused", "delay level 2: re-put"], Duration::from_secs(15));
    assert_eq!(runtime(&a.addr(), "commitLogMaxOffset").await.unwrap(), end, "nothing of them is stored");

    controller.signal("CONT");
    wait_for(Duration::from_secs(30), "a send taken again once the controller is back", async || {
        producer.send(&Message::new(TOPIC, b"back".to_vec())).await.ok()
    })
    .await;
    // The same commit, refused only for the lease, is taken under a lease again.
    let answer = direct.invoke(&a.addr(), commit, Some(Duration::from_secs(5))).await.unwrap();
    assert_eq!(answer.response_code(), ResponseCode::Success, "{:?}", answer.remark);
    // Each delayed message delivered once, beside the send and the commit
    // taken again (the controller, back, may have renewed the master's role:
    // its new generation delivers what the old one could not).
    wait_for(Duration::from_secs(30), "the delayed and the timed message delivered", async || {
        (queued_in_topic(&a.addr()).await == in_topic + 4).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(queued_in_topic(&a.addr()).await, in_topic + 4, "a delivery repeated");
    direct.close();
    producer.client().close();
    drop((broker_a, broker_b));
}

/// Messages in the test topic's queues on the broker at `addr`.
async fn queued_in_topic(addr: &str) -> i64 {
    let admin = Admin::new(client("127.0.0.1:1"));
    let stats = admin.topic_stats(addr, TOPIC).await.unwrap();
    admin.client().close();
    stats.offset_table.values().map(|q| q.max_offset - q.min_offset).sum()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Sends a transaction's half message to the broker at `addr`; returns its
/// queue offset and CommitLog offset.
async fn send_half(direct: &Client, addr: &str) -> (i64, i64) {
    let header = SendMessageRequestHeader {
        producer_group: "failover-producer".into(),
        topic: TOPIC.into(),
        queue_id: 0,
        sys_flag: Some(0x4),
        born_timestamp: Some(0),
        properties: Some("TRAN_MSG\u{1}true\u{2}PGROUP\u{1}failover-producer\u{2}".into()),
        ..Default::default()
    };
    let request = RemotingCommand::request(RequestCode::SendMessage, &header).with_body(b"half".to_vec());
    let answer = direct.invoke(addr, request, Some(Duration::from_secs(5))).await.unwrap();
    assert_eq!(answer.response_code(), ResponseCode::Success, "{:?}", answer.remark);
    let h: SendMessageResponseHeader = answer.header().unwrap();
    let offset = rmq_model::msg_id::decode_offset_msg_id(&h.msg_id).expect("an offset msg id").1;
    (h.queue_offset, offset.as_i64())
}

/// END_TRANSACTION committing the half message at `(queue offset, CommitLog offset)`.
fn end_transaction((queue_offset, commit_log_offset): (i64, i64)) -> RemotingCommand {
    let header = EndTransactionRequestHeader {
        producer_group: "failover-producer".into(),
        tran_state_table_offset: queue_offset,
        commit_log_offset,
        commit_or_rollback: 8,
        from_transaction_check: Some(false),
        msg_id: None,
        transaction_id: None,
        topic: Some(TOPIC.into()),
    };
    RemotingCommand::request(RequestCode::EndTransaction, &header)
}

/// `enableMasterLease` and a paused master (SIGSTOP: its sockets stay open,
/// it answers nothing, as a master cut off by a partition or stalled). The
/// controller elects the replica; a send queued in the old master's socket
/// meanwhile is refused the moment it resumes, before it can learn of the
/// new master: never two masters taking sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_leased_master_refuses_what_waited_for_it_once_the_replica_took_over() {
    let Group { _root, _processes, controller, namesrv, a, b, broker_a, broker_b, .. } =
        start_group("enableMasterLease = true\n").await;
    wait_for(Duration::from_secs(30), "the replica in the in-sync set", async || {
        (in_sync(&controller).await.len() == 2).then_some(())
    })
    .await;
    send(&namesrv, 20, "before-pause").await;
    // The replica must know the topic (its metadata sync) to serve it as master.
    wait_for(Duration::from_secs(30), "the topic mirrored on the replica", async || {
        let admin = Admin::new(client("127.0.0.1:1"));
        let topics = admin.broker_command(&b.addr(), RequestCode::GetAllTopicConfig).await;
        admin.client().close();
        topics.ok().filter(|t| String::from_utf8_lossy(&t.body.to_bytes()).contains(TOPIC))
    })
    .await;

    broker_a.signal("STOP");
    let header = rmq_protocol::header::SendMessageRequestHeader {
        producer_group: "failover-producer".into(),
        topic: TOPIC.into(),
        queue_id: 0,
        born_timestamp: Some(0),
        ..Default::default()
    };
    let queued = RemotingCommand::request(RequestCode::SendMessage, &header).with_body(b"queued while paused".to_vec());
    let direct = client("127.0.0.1:1");
    let a_addr = a.addr();
    let answer = tokio::spawn(async move {
        let answer = direct.invoke(&a_addr, queued, Some(Duration::from_secs(60))).await;
        direct.close();
        answer
    });
    broker_b.wait_line("serves as master", Duration::from_secs(30));
    broker_a.signal("CONT");
    // Refused, or unanswered (the old master may learn of the new one and
    // close its connections first); never SEND_OK.
    if let Ok(answer) = answer.await.unwrap() {
        assert_eq!(
            answer.response_code(),
            rmq_protocol::ResponseCode::ServiceNotAvailable,
            "the old master took a send after the replica took over: {:?}",
            answer.remark
        );
        assert!(answer.remark.unwrap_or_default().contains("master lease lapsed"));
    }
    wait_for(Duration::from_secs(30), "the new master listed as brokerId 0", async || {
        (members(&namesrv).await.get(&0) == Some(&b.addr())).then_some(())
    })
    .await;
    send(&namesrv, 20, "after-pause").await;
    drop((broker_a, broker_b));
}
