//! `mqcontroller` with real processes over real sockets: fake brokers (raw
//! remoting requests, and a server of their own that receives the role
//! change notices) register, heart-beat and stop; the controller elects
//! from the in-sync set, raises the epoch, survives a SIGKILL by replaying
//! its event log; `mqadmin` prints what Java's prints.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmq_protocol::body::controller::SyncStateSet;
use rmq_protocol::header::{
    AlterSyncStateSetRequestHeader, ApplyBrokerIdRequestHeader, BrokerHeartbeatRequestHeader, ElectMasterRequestHeader,
    GetNextBrokerIdRequestHeader, GetReplicaInfoRequestHeader, RegisterBrokerToControllerRequestHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::{CancellationToken, Client, ClientConfig, Connection, RejectAll, Server, ServerConfig, Service};
use rmq_testkit::ports::free_port;

mod process;
use process::Running;

const CONTROLLER: &str = env!("CARGO_BIN_EXE_mqcontroller");
const NAMESRV: &str = env!("CARGO_BIN_EXE_mqnamesrv");
const ADMIN: &str = env!("CARGO_BIN_EXE_mqadmin");
const GROUP: &str = "broker-a";
const CLUSTER: &str = "DefaultCluster";
/// The heartbeat timeout the fake brokers announce, ms.
const HEARTBEAT_TIMEOUT_MS: u64 = 1_500;
/// The controller's scanNotActiveBrokerInterval, ms.
const SCAN_MS: u64 = 500;

/// Kills the process when the test ends, however it ends.
/// Starts `bin` with `-c conf` and waits for its `boots` lines.
fn start(bin: &str, home: &Path, conf: &Path, boots: &[&str]) -> Running {
    let running = Running::start(bin, home, &["-c", conf.to_str().unwrap()]);
    running.wait_lines(boots, Duration::from_secs(20));
    running
}

fn controller_conf(home: &Path, port: u16) -> std::path::PathBuf {
    let conf = home.join("controller.conf");
    std::fs::write(
        &conf,
        format!(
            "controllerDLegerGroup = group1\ncontrollerDLegerPeers = n0-127.0.0.1:{port}\ncontrollerDLegerSelfId = n0\n\
             controllerStorePath = {}\nscanNotActiveBrokerInterval = {SCAN_MS}\nscanInactiveMasterInterval = {SCAN_MS}\n",
            home.join("store").display()
        ),
    )
    .unwrap();
    conf
}

fn mqadmin(args: &[&str]) -> (i32, String) {
    let out = Command::new(ADMIN).args(args).env_remove("NAMESRV_ADDR").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A fake broker's own port: records the NOTIFY_BROKER_ROLE_CHANGED it gets.
#[derive(Default)]
struct Notices(Mutex<Vec<RemotingCommand>>);

impl Service for Notices {
    async fn handle(&self, _conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        self.0.lock().unwrap().push(request);
        Some(RemotingCommand::success())
    }
}

async fn fake_broker_port(shutdown: &CancellationToken) -> (SocketAddr, Arc<Notices>) {
    let server = Server::bind(ServerConfig::new("127.0.0.1:0".parse().unwrap())).await.unwrap();
    let addr = server.local_addr();
    let notices = Arc::new(Notices::default());
    tokio::spawn(server.run(Arc::clone(&notices), shutdown.clone()));
    (addr, notices)
}

struct Brokers {
    client: Client,
    controller: String,
    addrs: Vec<String>,
}

impl Brokers {
    async fn call(&self, request: RemotingCommand) -> RemotingCommand {
        self.client.invoke(&self.controller, request, Duration::from_secs(3)).await.unwrap()
    }

    fn addr(&self, id: i64) -> String {
        self.addrs[usize::try_from(id - 1).unwrap()].clone()
    }

    async fn heartbeat(&self, id: i64) -> RemotingCommand {
        self.call(heartbeat_request(self, id)).await
    }

    /// GET_NEXT_BROKER_ID, APPLY_BROKER_ID, heartbeat, REGISTER_BROKER: what a
    /// 5.x broker does at start in controller mode.
    async fn join(&self, expected_id: i64) {
        let next = GetNextBrokerIdRequestHeader { cluster_name: Some(CLUSTER.into()), broker_name: GROUP.into() };
        let r = self.call(RemotingCommand::request(RequestCode::ControllerGetNextBrokerId, &next)).await;
        assert_eq!(r.ext("nextBrokerId"), Some(expected_id.to_string().as_str()));
        let apply = ApplyBrokerIdRequestHeader {
            cluster_name: Some(CLUSTER.into()),
            broker_name: GROUP.into(),
            applied_broker_id: expected_id,
            register_check_code: format!("{};{}", self.addr(expected_id), 1_700_000_000_000i64 + expected_id),
        };
        let r = self.call(RemotingCommand::request(RequestCode::ControllerApplyBrokerId, &apply)).await;
        assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
        assert_eq!(self.heartbeat(expected_id).await.response_code(), ResponseCode::Success);
        let register = RegisterBrokerToControllerRequestHeader {
            cluster_name: Some(CLUSTER.into()),
            broker_name: GROUP.into(),
            broker_id: Some(expected_id),
            broker_address: self.addr(expected_id),
            invoke_time: None,
        };
        let r = self.call(RemotingCommand::request(RequestCode::ControllerRegisterBroker, &register)).await;
        assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    }

    async fn replica_info(&self) -> (Option<i64>, Option<i32>, SyncStateSet) {
        let header = GetReplicaInfoRequestHeader { broker_name: GROUP.into() };
        let r = self.call(RemotingCommand::request(RequestCode::ControllerGetReplicaInfo, &header)).await;
        assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
        let master = r.ext("masterBrokerId").and_then(|v| v.parse().ok());
        let epoch = r.ext("masterEpoch").and_then(|v| v.parse().ok());
        (master, epoch, SyncStateSet::decode(&r.body.to_bytes()).unwrap())
    }

    async fn alter(&self, master: i64, master_epoch: i32, set: &[i64], set_epoch: i32) -> RemotingCommand {
        let header = AlterSyncStateSetRequestHeader {
            broker_name: GROUP.into(),
            master_broker_id: Some(master),
            master_epoch: Some(master_epoch),
            invoke_time: None,
        };
        let body = SyncStateSet { sync_state_set: set.iter().copied().collect(), sync_state_set_epoch: set_epoch };
        self.call(RemotingCommand::request(RequestCode::ControllerAlterSyncStateSet, &header).with_body(body.encode()))
            .await
    }
}

/// Heart-beats the brokers in `alive` (shared, so that the test can stop
/// one) every 300 ms until `stop` fires.
fn keep_alive(brokers: Arc<Brokers>, alive: Arc<Mutex<BTreeSet<i64>>>, stop: CancellationToken) {
    tokio::spawn(async move {
        loop {
            let ids: Vec<i64> = alive.lock().unwrap().iter().copied().collect();
            for id in ids {
                // A controller being restarted refuses connections for a moment.
                let _ = brokers
                    .client
                    .invoke(&brokers.controller, heartbeat_request(&brokers, id), Duration::from_secs(1))
                    .await;
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(Duration::from_millis(300)) => {}
            }
        }
    });
}

fn heartbeat_request(brokers: &Brokers, id: i64) -> RemotingCommand {
    let header = BrokerHeartbeatRequestHeader {
        cluster_name: CLUSTER.into(),
        broker_addr: brokers.addr(id),
        broker_name: GROUP.into(),
        broker_id: Some(id),
        epoch: Some(0),
        max_offset: Some(0),
        heartbeat_timeout_mills: Some(i64::try_from(HEARTBEAT_TIMEOUT_MS).unwrap()),
        ..Default::default()
    };
    RemotingCommand::request(RequestCode::BrokerHeartbeat, &header)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_loss_elects_from_the_sync_set_and_the_state_survives_a_restart() {
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = controller_conf(home.path(), port);
    let mut controller = start(CONTROLLER, home.path(), &conf, &["The Controller Server boot success"]);
    let controller_addr = format!("127.0.0.1:{port}");

    let shutdown = CancellationToken::new();
    let mut ports = Vec::new();
    for _ in 0..3 {
        ports.push(fake_broker_port(&shutdown).await);
    }
    let brokers = Arc::new(Brokers {
        client: Client::new(ClientConfig::default(), Arc::new(RejectAll)),
        controller: controller_addr.clone(),
        addrs: ports.iter().map(|(a, _)| a.to_string()).collect(),
    });
    for id in 1..=3 {
        brokers.join(id).await;
    }
    let alive = Arc::new(Mutex::new(BTreeSet::from([1, 2, 3])));
    keep_alive(Arc::clone(&brokers), Arc::clone(&alive), shutdown.clone());

    // Broker 1 asks first: the group's first master, epoch 1.
    let elect = ElectMasterRequestHeader {
        cluster_name: Some(CLUSTER.into()),
        broker_name: GROUP.into(),
        broker_id: Some(1),
        ..Default::default()
    };
    let r = brokers.call(RemotingCommand::request(RequestCode::ControllerElectMaster, &elect)).await;
    assert_eq!((r.response_code(), r.ext("masterEpoch")), (ResponseCode::Success, Some("1")), "{:?}", r.remark);
    // Its in-sync set grows to {1, 2}; 3 stays out.
    let r = brokers.alter(1, 1, &[1, 2], 1).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);

    // An administrator moves the master to 2.
    let (code, out) = tokio::task::spawn_blocking({
        let a = controller_addr.clone();
        move || mqadmin(&["electMaster", "-a", &a, "-bn", GROUP, "-b", "2", "-c", CLUSTER])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    let expected = format!(
        "\n#ClusterName\t{CLUSTER}\n#BrokerName\t{GROUP}\n#BrokerMasterAddr\t{}\n#MasterEpoch\t2\n#SyncStateSetEpoch\t3\n",
        brokers.addr(2)
    );
    assert_eq!(out, expected);
    let r = brokers.alter(1, 1, &[1, 2], 3).await;
    assert_eq!(r.response_code(), ResponseCode::ControllerInvalidMaster, "the old master is fenced: {:?}", r.remark);
    let r = brokers.alter(2, 1, &[1, 2], 3).await;
    assert_eq!(r.response_code(), ResponseCode::ControllerFencedMasterEpoch, "{:?}", r.remark);
    let r = brokers.alter(2, 2, &[1, 2], 3).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);

    // Master 2 stops heart-beating: 1 (in sync) takes over, never 3.
    alive.lock().unwrap().remove(&2);
    let stopped = Instant::now();
    let bound = Duration::from_millis(SCAN_MS + HEARTBEAT_TIMEOUT_MS + 300 + 2_000);
    loop {
        let (master, epoch, set) = brokers.replica_info().await;
        if master == Some(1) {
            assert_eq!(epoch, Some(3));
            assert_eq!(set.sync_state_set, BTreeSet::from([1]));
            break;
        }
        assert_eq!(master, Some(2), "only 1 may replace 2");
        assert!(stopped.elapsed() < bound, "no failover within {bound:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = stopped.elapsed();
    eprintln!("failover after {took:?}");
    assert!(took >= Duration::from_millis(HEARTBEAT_TIMEOUT_MS - 400), "elected before the master timed out: {took:?}");

    // The alive members hear of it; the silent old master is not told.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = ports[0].1.0.lock().unwrap().clone();
        if let Some(notice) = got.iter().find(|n| n.ext("masterEpoch") == Some("3")) {
            assert_eq!(notice.request_code(), RequestCode::NotifyBrokerRoleChanged);
            assert_eq!(notice.ext("masterBrokerId"), Some("1"));
            assert_eq!(notice.ext("masterAddress"), Some(brokers.addr(1).as_str()));
            break;
        }
        assert!(Instant::now() < deadline, "broker 1 was not notified: {got:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ports[1].1.0.lock().unwrap().iter().all(|n| n.ext("masterEpoch") != Some("3")));

    let a = controller_addr.clone();
    let (code, out) =
        tokio::task::spawn_blocking(move || mqadmin(&["getSyncStateSet", "-a", &a, "-b", GROUP])).await.unwrap();
    assert_eq!(code, 0, "{out}");
    let replica = |id: i64, alive: bool| {
        format!(
            "ReplicaIdentity{{brokerName='{GROUP}', brokerId={id}, brokerAddress='{}', alive={alive}}}",
            brokers.addr(id)
        )
    };
    let expected = format!(
        "\n#brokerName\t{GROUP}\n#MasterBrokerId\t1\n#MasterAddr\t{}\n#MasterEpoch\t3\n#SyncStateSetEpoch\t5\n#SyncStateSetNums\t1\n\
         \nInSyncReplica:\t{}\n\nNotInSyncReplica:\t{}\n\nNotInSyncReplica:\t{}\n",
        brokers.addr(1),
        replica(1, true),
        replica(2, false),
        replica(3, true)
    );
    assert_eq!(out, expected);

    // SIGKILL, restart: the state comes back from the event log.
    drop(controller);
    controller = start(CONTROLLER, home.path(), &conf, &["The Controller Server boot success"]);
    let (master, epoch, set) = brokers.replica_info().await;
    assert_eq!((master, epoch, set.sync_state_set_epoch), (Some(1), Some(3), 5));
    // A restarted controller, which had no heartbeats at first, does not fail the live master over.
    tokio::time::sleep(Duration::from_millis(SCAN_MS * 4)).await;
    let (master, epoch, _) = brokers.replica_info().await;
    assert_eq!((master, epoch), (Some(1), Some(3)));
    let next = GetNextBrokerIdRequestHeader { cluster_name: Some(CLUSTER.into()), broker_name: GROUP.into() };
    let r = brokers.call(RemotingCommand::request(RequestCode::ControllerGetNextBrokerId, &next)).await;
    assert_eq!(r.ext("nextBrokerId"), Some("4"));
    // Broker 2 cannot take broker 1's id from another address.
    let steal = ApplyBrokerIdRequestHeader {
        cluster_name: Some(CLUSTER.into()),
        broker_name: GROUP.into(),
        applied_broker_id: 1,
        register_check_code: format!("{};1", brokers.addr(2)),
    };
    let r = brokers.call(RemotingCommand::request(RequestCode::ControllerApplyBrokerId, &steal)).await;
    assert_eq!(r.response_code(), ResponseCode::ControllerBrokerIdInvalid);

    // cleanBrokerMetadata: the cluster name is needed unless -l; a live
    // broker is not cleaned; the silent broker 2 is.
    let a = controller_addr.clone();
    let (code, out) =
        tokio::task::spawn_blocking(move || mqadmin(&["cleanBrokerMetadata", "-a", &a, "-bn", GROUP, "-b", "2"]))
            .await
            .unwrap();
    assert_ne!(code, 0, "no cluster name and no -l: refused (the reason goes to stderr): {out}");
    assert!(!out.contains("success"), "{out}");
    let a = controller_addr.clone();
    let (code, out) = tokio::task::spawn_blocking(move || {
        mqadmin(&["cleanBrokerMetadata", "-a", &a, "-bn", GROUP, "-b", "1", "-c", CLUSTER])
    })
    .await
    .unwrap();
    assert_ne!(code, 0, "broker 1 is alive: {out}");
    let a = controller_addr.clone();
    let (code, out) = tokio::task::spawn_blocking(move || {
        mqadmin(&["cleanBrokerMetadata", "-a", &a, "-bn", GROUP, "-b", "2", "-c", CLUSTER])
    })
    .await
    .unwrap();
    assert_eq!(
        (code, out.as_str()),
        (0, format!("clear broker {GROUP} metadata from controller success! \n").as_str())
    );
    let a = controller_addr.clone();
    let (code, out) =
        tokio::task::spawn_blocking(move || mqadmin(&["getSyncStateSet", "-a", &a, "-b", GROUP])).await.unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("brokerId=2,"), "broker 2 is forgotten: {out}");
    assert!(out.contains("brokerId=3,"), "broker 3 is kept: {out}");

    shutdown.cancel();
    brokers.client.close_all();
    drop(controller);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_namesrv_embeds_a_controller() {
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let namesrv_conf = home.path().join("namesrv.conf");
    std::fs::write(
        &namesrv_conf,
        format!(
            "listenPort=0\nbindAddress=127.0.0.1\nenableControllerInNamesrv=true\ncontrollerDLegerGroup=group1\n\
             controllerDLegerPeers=n0-127.0.0.1:{port}\ncontrollerDLegerSelfId=n0\ncontrollerStorePath={}\n",
            home.path().join("store").display()
        ),
    )
    .unwrap();
    let namesrv = start(
        NAMESRV,
        home.path(),
        &namesrv_conf,
        &["The Name Server boot success", "The ControllerManager boot success"],
    );
    let a = format!("127.0.0.1:{port}");
    let (code, out) = tokio::task::spawn_blocking(move || mqadmin(&["getControllerMetaData", "-a", &a])).await.unwrap();
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        format!(
            "\n#ControllerGroup\tgroup1\n#ControllerLeaderId\tn0\n#ControllerLeaderAddress\t127.0.0.1:{port}\n#Peer:\tn0:127.0.0.1:{port}\n"
        )
    );
    let a = format!("127.0.0.1:{port}");
    let (code, out) = tokio::task::spawn_blocking(move || mqadmin(&["getControllerConfig", "-a", &a])).await.unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with(&format!("============127.0.0.1:{port}============\n")), "{out}");
    assert!(out.lines().any(|l| l == format!("{:<50}=  true", "notifyBrokerRoleChanged")), "{out}");
    // updateControllerConfig changes the running value, as getControllerConfig then shows.
    let a = format!("127.0.0.1:{port}");
    let (code, out) = tokio::task::spawn_blocking(move || {
        mqadmin(&["updateControllerConfig", "-a", &a, "-k", "notifyBrokerRoleChanged", "-v", "false"])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, format!("update controller config success![127.0.0.1:{port}]\nnotifyBrokerRoleChanged : false\n"));
    let a = format!("127.0.0.1:{port}");
    let (code, out) = tokio::task::spawn_blocking(move || mqadmin(&["getControllerConfig", "-a", &a])).await.unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.lines().any(|l| l == format!("{:<50}=  false", "notifyBrokerRoleChanged")), "{out}");
    drop(namesrv);
}
