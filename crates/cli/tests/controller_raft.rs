//! Three controllers forming a Raft group on loopback, two `mqcontroller`
//! and one embedded in `mqnamesrv`: one
//! leader is elected, a broker-like client registers through it, followers
//! answer CONTROLLER_NOT_LEADER naming it; the leader is SIGKILLed, a new
//! one is elected and still knows the brokers; the killed controller,
//! restarted on its store, catches up with what was decided without it;
//! all three killed and restarted still know every broker.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rmq_protocol::header::{
    ApplyBrokerIdRequestHeader, GetMetaDataResponseHeader, GetNextBrokerIdRequestHeader, GetReplicaInfoRequestHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::{Client, ClientConfig, RejectAll};
use rmq_testkit::ports::free_port;

mod process;
use process::Running;

const CONTROLLER: &str = env!("CARGO_BIN_EXE_mqcontroller");
const NAMESRV: &str = env!("CARGO_BIN_EXE_mqnamesrv");
const GROUP: &str = "broker-a";
const CLUSTER: &str = "DefaultCluster";

/// Kills the process (SIGKILL) when dropped.
struct Member {
    /// Runs inside `mqnamesrv` (`enableControllerInNamesrv`) rather than as `mqcontroller`.
    embedded: bool,
    id: String,
    addr: String,
    home: PathBuf,
}

impl Member {
    fn conf(&self) -> PathBuf {
        self.home.join("controller.conf")
    }

    fn start(&self) -> Running {
        let (bin, boot) = if self.embedded {
            (NAMESRV, "The ControllerManager boot success")
        } else {
            (CONTROLLER, "The Controller Server boot success")
        };
        let running = Running::start(bin, &self.home, &["-c", self.conf().to_str().unwrap()]);
        running.wait_line(boot, Duration::from_secs(20));
        running
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.home.join("store").join("raft").join("log.jsonl")).unwrap_or_default()
    }
}

fn members(root: &Path) -> Vec<Member> {
    let members: Vec<Member> = (0..3)
        .map(|i| Member {
            embedded: i == 2,
            id: format!("n{i}"),
            addr: format!("127.0.0.1:{}", free_port()),
            home: root.join(format!("n{i}")),
        })
        .collect();
    let peers: Vec<String> = members.iter().map(|m| format!("{}-{}", m.id, m.addr)).collect();
    for m in &members {
        std::fs::create_dir_all(&m.home).unwrap();
        let namesrv =
            if m.embedded { "listenPort=0\nbindAddress=127.0.0.1\nenableControllerInNamesrv=true\n" } else { "" };
        std::fs::write(
            m.conf(),
            format!(
                "{namesrv}controllerDLegerGroup=group1\ncontrollerDLegerPeers={}\ncontrollerDLegerSelfId={}\ncontrollerStorePath={}\n",
                peers.join(";"),
                m.id,
                m.home.join("store").display()
            ),
        )
        .unwrap();
    }
    members
}

async fn call(client: &Client, addr: &str, request: RemotingCommand) -> Option<RemotingCommand> {
    client.invoke(addr, request, Duration::from_secs(3)).await.ok()
}

async fn metadata(client: &Client, addr: &str) -> Option<GetMetaDataResponseHeader> {
    let r = call(client, addr, RemotingCommand::bare_request(RequestCode::ControllerGetMetadataInfo)).await?;
    r.header().ok()
}

/// Waits until every member in `addrs` names the same leader, which says it
/// leads; returns its address.
async fn agreed_leader(client: &Client, addrs: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut seen = Vec::new();
        for addr in addrs {
            seen.push(metadata(client, addr).await);
        }
        let leaders: Vec<Option<String>> =
            seen.iter().map(|m| m.as_ref().and_then(|m| m.controller_leader_address.clone())).collect();
        let leading: Vec<&str> = addrs
            .iter()
            .zip(&seen)
            .filter(|(_, m)| m.as_ref().and_then(|m| m.is_leader) == Some(true))
            .map(|(a, _)| *a)
            .collect();
        if let [Some(leader), ..] = leaders.as_slice()
            && leaders.iter().all(|l| l.as_deref() == Some(leader.as_str()))
            && leading == [leader.as_str()]
        {
            return leader.clone();
        }
        assert!(Instant::now() < deadline, "no agreed leader among {addrs:?}: {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn apply_id(id: i64) -> RemotingCommand {
    let header = ApplyBrokerIdRequestHeader {
        cluster_name: Some(CLUSTER.into()),
        broker_name: GROUP.into(),
        applied_broker_id: id,
        register_check_code: format!("127.0.0.1:{};{}", 30_000 + id, 1_700_000_000_000i64 + id),
    };
    RemotingCommand::request(RequestCode::ControllerApplyBrokerId, &header)
}

fn next_id() -> RemotingCommand {
    let header = GetNextBrokerIdRequestHeader { cluster_name: Some(CLUSTER.into()), broker_name: GROUP.into() };
    RemotingCommand::request(RequestCode::ControllerGetNextBrokerId, &header)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_controllers_elect_replicate_fail_over_and_catch_up() {
    let root = tempfile::tempdir().unwrap();
    let members = members(root.path());
    let mut running: Vec<Option<Running>> = members.iter().map(|m| Some(m.start())).collect();
    let client = Client::new(ClientConfig::default(), std::sync::Arc::new(RejectAll));
    let all: Vec<&str> = members.iter().map(|m| m.addr.as_str()).collect();

    let leader = agreed_leader(&client, &all).await;
    let meta = metadata(&client, &leader).await.unwrap();
    assert_eq!(meta.group.as_deref(), Some("group1"));
    let peers = meta.peers.unwrap();
    assert!(members.iter().all(|m| peers.contains(&format!("{}:{}", m.id, m.addr))), "{peers}");

    // The leader decides; the answer comes once the entry is committed.
    let r = call(&client, &leader, apply_id(1)).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let r = call(&client, &leader, next_id()).await.unwrap();
    assert_eq!(r.ext("nextBrokerId"), Some("2"));

    // Followers refuse changes and leader-only reads, naming the leader.
    for follower in all.iter().filter(|a| **a != leader) {
        for request in [apply_id(2), next_id()] {
            let r = call(&client, follower, request).await.unwrap();
            assert_eq!(r.response_code(), ResponseCode::ControllerNotLeader);
            assert!(r.remark.as_deref().unwrap_or_default().contains(&leader), "{:?}", r.remark);
        }
        let replica = GetReplicaInfoRequestHeader { broker_name: GROUP.into() };
        let r = call(&client, follower, RemotingCommand::request(RequestCode::ControllerGetReplicaInfo, &replica))
            .await
            .unwrap();
        assert_eq!(r.response_code(), ResponseCode::ControllerNotLeader);
    }

    // SIGKILL the leader: the other two elect a new one that knows broker 1.
    let killed = members.iter().position(|m| m.addr == leader).unwrap();
    running[killed] = None;
    let killed_at = Instant::now();
    let rest: Vec<&str> = all.iter().copied().filter(|a| *a != leader).collect();
    let new_leader = agreed_leader(&client, &rest).await;
    let failover = killed_at.elapsed();
    assert!(failover < Duration::from_secs(10), "failover took {failover:?}");
    let r = call(&client, &new_leader, next_id()).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(r.ext("nextBrokerId"), Some("2"), "the new leader knows the broker registered before");
    let r = call(&client, &new_leader, apply_id(2)).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    // A new leader holds elections back, in a group whose brokers run with
    // master leases, for the longest heartbeat timeout it knows (10 s here):
    // its master may hold a lease granted by the old leader.
    let beat = rmq_protocol::header::BrokerHeartbeatRequestHeader {
        cluster_name: CLUSTER.into(),
        broker_addr: "127.0.0.1:30001".into(),
        broker_name: GROUP.into(),
        broker_id: Some(1),
        heartbeat_timeout_mills: Some(10_000),
        ..Default::default()
    };
    // As a request it asks for a lease too: refused (no master yet), but
    // answered, so the controller has recorded it.
    let announce = RemotingCommand::request(RequestCode::BrokerHeartbeat, &beat)
        .with_ext(rmq_protocol::header::MASTER_LEASE_EXT, "true");
    let r = call(&client, &new_leader, announce).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::ControllerFencedMasterEpoch, "{:?}", r.remark);
    let elect = rmq_protocol::header::ElectMasterRequestHeader {
        cluster_name: Some(CLUSTER.into()),
        broker_name: GROUP.into(),
        broker_id: Some(1),
        designate_elect: Some(false),
        invoke_time: None,
    };
    let r =
        call(&client, &new_leader, RemotingCommand::request(RequestCode::ControllerElectMaster, &elect)).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::ControllerElectMasterFailed, "{:?}", r.remark);
    assert!(
        r.remark.as_deref().unwrap_or_default().contains("a new controller leader elects no master"),
        "{:?}",
        r.remark
    );

    // The killed controller restarts on its store and catches up.
    running[killed] = Some(members[killed].start());
    let leader_again = agreed_leader(&client, &all).await;
    assert_eq!(leader_again, new_leader);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !members[killed].log_text().contains("\"newBrokerId\":2") {
        assert!(Instant::now() < deadline, "the restarted controller did not catch up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // All three stop at once (SIGKILL) and start again: the state is replayed from disk.
    running.iter_mut().for_each(|r| *r = None);
    client.close_all();
    running = members.iter().map(|m| Some(m.start())).collect();
    let leader = agreed_leader(&client, &all).await;
    let r = call(&client, &leader, next_id()).await.unwrap();
    assert_eq!(r.ext("nextBrokerId"), Some("3"), "{:?}", r.remark);

    println!("failover in {failover:?}");
    client.close_all();
    drop(running);
}
