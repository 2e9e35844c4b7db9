//! Controller mode (`conf/controller/quick-start/`): the controller inside the
//! NameServer, two brokers of broker-a with `allAckInSyncStateSet=true`; and
//! three NameServers with a controller each (a Raft group).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_integration::admin::eventually;
use rmq_integration::client::Producer;
use rmq_integration::{Case, Client, Cluster, Ledger, Options, SendLoop, Tally, Topology, case};

use crate::common::{close, missing_after, sample};

/// The master's container is SIGKILLed mid-stream: the controller elects the
/// replica, which registers as brokerId 0; the producer goes on through it,
/// nothing acknowledged is lost (every SEND_OK waited for the in-sync
/// replica), a consumer group reads every acknowledged message, and the old
/// master, restarted, rejoins as a replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn controller_master_killed_the_replica_takes_over() {
    case::run("controller mode: master killed, the replica takes over", Duration::from_secs(180), |case| async move {
        let cluster = Cluster::start(&case, Topology::ControllerMode).await;
        let (first, first_addr) = eventually_master(&cluster).await;
        assert_eq!(first, "broker-a-n0", "the first broker to register is elected");
        let topic = "ControllerFailover";
        // With allAckInSyncStateSet, every SEND_OK after the warm-up waited for the replica.
        let Warm { ns, client, producer, before } =
            warm_up(&case, &cluster, &first_addr, topic, "controller-pg", 500).await;

        cluster.broker(first).kill().await;
        let killed = Instant::now();
        let after = SendLoop::start(producer.clone(), topic, "after", 2);
        let went_on = after.wait_acked(500, Duration::from_secs(90)).await;
        let went_on_after = killed.elapsed();
        let after = after.finish().await;
        assert!(
            went_on,
            "sends did not go on after the kill ({} acked):\n{}",
            after.acked_count(),
            cluster.logs().await
        );
        let (second, _) = eventually_master(&cluster).await;
        assert_eq!(second, "broker-a-n1", "the replica is master now");

        let (mut consumer, inbox) = client.consumer(&ns, "controller-cg", topic).await;
        let mut all = before.acked();
        all.extend(after.acked());
        let missing = missing_after(&inbox, &all, Duration::from_secs(90)).await;

        // The old master comes back as the replica of the new one.
        cluster.broker(first).start().await;
        let old_addr = cluster.broker_addr(first).await;
        let rejoined =
            eventually(Duration::from_secs(60), || async {
                cluster.registered(0).await.iter().any(|(name, addrs)| {
                    name == "broker-a" && addrs.iter().any(|(id, addr)| *id > 0 && *addr == old_addr)
                })
            })
            .await;
        let tally = Tally {
            sent: before.attempts() + after.attempts(),
            acked: all.len(),
            received: inbox.len(),
            lost: missing.len(),
            note: format!(
                "broker-a-n0 SIGKILLed; 500 more acks through broker-a-n1 {:.1} s after the kill; {} send errors",
                went_on_after.as_secs_f64(),
                after.errors()
            ),
        };
        assert!(missing.is_empty(), "{} acknowledged messages lost, e.g. {:?}", missing.len(), sample(&missing));
        assert!(rejoined, "the old master did not rejoin as a replica: {:?}", cluster.registered(0).await);
        consumer.shutdown().await;
        close(producer, client).await;
        tally
    })
    .await;
}

/// The master is cut off the network (from the controller, its replica and
/// the clients): the controller stops hearing it and elects the replica, and
/// sends go on through it. Reconnected, the old master learns the newer epoch
/// from the controller, steps down and follows: broker-a ends with one master,
/// and every acknowledged message is read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn controller_master_cut_off_steps_down_when_it_returns() {
    case::run("controller mode: master cut off, steps down when it returns", Duration::from_secs(180), |case| async move {
        // The controller counts a silent broker gone after 3 s (default 10 s).
        let options = Options { broker_props: vec!["controllerHeartBeatTimeoutMills=3000".to_owned()], ..Options::default() };
        let cluster = Cluster::start_with(&case, Topology::ControllerMode, options).await;
        let (first, first_addr) = eventually_master(&cluster).await;
        let topic = "ControllerPartition";
        let Warm { ns, client, producer, before } = warm_up(&case, &cluster, &first_addr, topic, "partition-pg", 300).await;

        cluster.broker(first).disconnect().await;
        let cut = Instant::now();
        let after = SendLoop::start(producer.clone(), topic, "after", 2);
        let went_on = after.wait_acked(300, Duration::from_secs(90)).await;
        let went_on_after = cut.elapsed();
        let after = after.finish().await;
        assert!(went_on, "sends did not go on after the cut ({} acked):\n{}", after.acked_count(), cluster.logs().await);
        assert_eq!(eventually_master(&cluster).await.0, "broker-a-n1", "the replica is master now");

        cluster.broker(first).reconnect().await;
        let back = Instant::now();
        let old_addr = cluster.broker_addr(first).await;
        let new_addr = cluster.broker_addr("broker-a-n1").await;
        wait_stepped_down(&cluster, &new_addr, &old_addr).await;
        let stepped_down_after = back.elapsed();

        let (mut consumer, inbox) = client.consumer(&ns, "partition-cg", topic).await;
        let mut all = before.acked();
        all.extend(after.acked());
        let missing = missing_after(&inbox, &all, Duration::from_secs(90)).await;
        let tally = Tally {
            sent: before.attempts() + after.attempts(),
            acked: all.len(),
            received: inbox.len(),
            lost: missing.len(),
            note: format!(
                "broker-a-n0 cut off; 300 acks through broker-a-n1 {:.1} s after the cut; back as a replica {:.1} s after reconnecting; {} send errors",
                went_on_after.as_secs_f64(),
                stepped_down_after.as_secs_f64(),
                after.errors()
            ),
        };
        assert!(missing.is_empty(), "{} acknowledged messages lost, e.g. {:?}", missing.len(), sample(&missing));
        consumer.shutdown().await;
        close(producer, client).await;
        tally
    })
    .await;
}

/// A partial partition: the master loses the controller (inside the
/// NameServer) and its replica, but the producer still reaches it. Sends do
/// not wait for the replica (`allAckInSyncStateSet=false`), so only the lease
/// can stop the old master: with `enableMasterLease=true` it stops taking
/// sends when its lease lapses (1 s here), before the controller can count it
/// gone (3 s) and elect the replica. So broker-a never has two masters taking
/// writes: no SEND_OK from the old master comes after the NameServer lists the
/// new one. (Without the lease the old master acknowledges sends until the
/// producer's next route poll, up to 30 s later.) The producer goes on through
/// the new master; healed, the old master steps down and follows. Everything
/// acknowledged before the cut is read back; what the old master acknowledged
/// in its last lease second never reached the replica, and is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn controller_master_partitioned_from_the_controller_never_two_masters() {
    let name = "controller mode: master partitioned from controller and replica, producer still reaches it";
    case::run(name, Duration::from_secs(240), |case| async move {
        let broker_props = ["controllerHeartBeatTimeoutMills=3000", "enableMasterLease=true", "allAckInSyncStateSet=false"];
        let broker_props = broker_props.map(str::to_owned).to_vec();
        let options = Options { broker_props, ..Options::default() };
        let cluster = Cluster::start_with(&case, Topology::ControllerMode, options).await;
        let (first, first_addr) = eventually_master(&cluster).await;
        let other = if first == "broker-a-n0" { "broker-a-n1" } else { "broker-a-n0" };
        let other_addr = cluster.broker_addr(other).await;
        let topic = "ControllerLease";
        let Warm { ns, client, producer, before } = warm_up(&case, &cluster, &first_addr, topic, "lease-pg", 300).await;

        let namesrv_ip = cluster.namesrv(0).0.ip().await.expect("the NameServer's address");
        let replica_ip = cluster.broker(other).ip().await.expect("the replica's address");
        cluster.broker(first).isolate_from(&[namesrv_ip, replica_ip]).await;
        let cut = Instant::now();
        let after = SendLoop::start(producer.clone(), topic, "after", 2);
        let through_new = |n: usize| {
            let ledger = after.ledger().clone();
            let other_addr = other_addr.clone();
            move || {
                let acks = ledger.acks_by_store().into_iter().filter(|(_, store, _)| *store == other_addr).count();
                std::future::ready(acks >= n)
            }
        };
        // When the NameServer first lists the replica as master: it was elected before.
        let listed = eventually(Duration::from_secs(60), || async {
            cluster.controller_master().await.is_some_and(|(stem, _)| stem == other)
        })
        .await;
        let new_listed = Instant::now();
        assert!(listed, "the replica was not elected:\n{}", cluster.logs().await);
        let went_on = eventually(Duration::from_secs(120), through_new(300)).await;
        let went_on_after = cut.elapsed();
        // Every SEND_OK, the last lanes' included.
        let after = after.finish().await;
        let acks = after.acks_by_store();
        assert!(went_on, "300 sends did not go through the new master ({} acked):\n{}", after.acked_count(), cluster.logs().await);

        // The fencing: the old master's last SEND_OK before the new master was listed.
        let first_new = stored_on(&acks, &other_addr).map(|(t, _, _)| *t).min().expect("acks from the new master");
        let last_old = stored_on(&acks, &first_addr).map(|(t, _, _)| *t).max();
        if let Some(last_old) = last_old {
            assert!(
                last_old < new_listed,
                "two masters took writes: the old master acknowledged a send {:?} after the new one was listed",
                last_old - new_listed
            );
        }
        let after_acked = after.acked();
        let acked_on = |addr: &str| -> BTreeMap<String, String> {
            stored_on(&acks, addr).filter_map(|(_, _, uniq)| Some((uniq.clone(), after_acked.get(uniq)?.clone()))).collect()
        };
        let (old_after_cut, new_after_cut) = (acked_on(&first_addr), acked_on(&other_addr));
        let old_logs = cluster.broker(first).logs().await;
        assert!(old_logs.contains("master lease lapsed"), "the old master never noticed its lease lapse:\n{old_logs}");
        let since = |t: Option<Instant>| t.map_or("-".to_owned(), |t| format!("{:.1} s", t.saturating_duration_since(cut).as_secs_f64()));
        let (old_last, new_first) = (since(last_old), since(Some(first_new)));

        cluster.broker(first).heal().await;
        let back = Instant::now();
        wait_stepped_down(&cluster, &other_addr, &first_addr).await;
        let stepped_down_after = back.elapsed();

        let (mut consumer, inbox) = client.consumer(&ns, "lease-cg", topic).await;
        // Everything acknowledged before the cut or by the new master must be read back.
        let mut kept = before.acked();
        kept.extend(new_after_cut);
        let missing = missing_after(&inbox, &kept, Duration::from_secs(90)).await;
        // What the old master took after the cut reached no replica; rejoining, it cut its log back to the new epoch.
        let old_lost = missing_after(&inbox, &old_after_cut, Duration::from_secs(1)).await;
        let tally = Tally {
            sent: before.attempts() + after.attempts(),
            acked: kept.len() + old_after_cut.len(),
            received: inbox.len(),
            lost: missing.len() + old_lost.len(),
            note: format!(
                "{first} partitioned, clients still reach it; its last SEND_OK {old_last} after the cut ({} after the cut, \
                 {} of them lost with its log's unreplicated tail), the replica listed as master {:.1} s after the cut, its first SEND_OK {new_first}; \
                 300 acks through {other} {:.1} s after the cut; back as a replica {:.1} s after healing; {} refused or failed sends",
                old_after_cut.len(),
                old_lost.len(),
                new_listed.saturating_duration_since(cut).as_secs_f64(),
                went_on_after.as_secs_f64(),
                stepped_down_after.as_secs_f64(),
                after.errors() + after.not_ok().len()
            ),
        };
        assert!(missing.is_empty(), "{} acknowledged messages lost, e.g. {:?}", missing.len(), sample(&missing));
        consumer.shutdown().await;
        close(producer, client).await;
        tally
    })
    .await;
}

/// Three NameServers with a controller each. The NameServer carrying the
/// controller leader is SIGKILLed mid-stream: the other two elect a new
/// leader and no broker notices (broker-a keeps its master, sends go on
/// through the other NameServers). Then the master is SIGKILLed: the new
/// leader elects the replica, sends go on through it, and every acknowledged
/// message is read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn controller_leader_killed_no_broker_notices() {
    case::run("controller mode: controller leader killed, then the master", Duration::from_secs(240), |case| async move {
        let options = Options { namesrvs: 3, controllers: 3, ..Options::default() };
        let cluster = Cluster::start_with(&case, Topology::ControllerMode, options).await;
        let (first, first_addr) = eventually_master(&cluster).await;
        let topic = "ControllerLeaderLoss";
        cluster.admin().create_topic(&first_addr, topic, 4).await;
        let ns = cluster.namesrv_addr();
        let client = Client::new(case.name());
        let producer = Arc::new(client.producer(&ns, "leader-loss-pg").await);
        assert!(cluster.wait_both_in_sync(Duration::from_secs(60)).await, "the replica never joined the in-sync set");
        let leader = cluster.controller_leader().await.expect("a controller leader");

        let during = SendLoop::start(producer.clone(), topic, "leader-loss", 2);
        assert!(during.wait_acked(200, Duration::from_secs(60)).await, "200 sends acknowledged before the kill");
        cluster.namesrv(leader).0.kill().await;
        let killed = Instant::now();
        let new_leader = eventually(Duration::from_secs(30), || async {
            cluster.controller_leader().await.is_some_and(|l| l != leader)
        })
        .await;
        let new_leader_after = killed.elapsed();
        assert!(during.wait_acked(700, Duration::from_secs(60)).await, "sends did not go on after the leader's death");
        let during = during.finish().await;
        assert!(new_leader, "no new controller leader within 30 s:\n{}", cluster.logs().await);
        assert_eq!(eventually_master(&cluster).await.0, first, "a broker noticed: broker-a's master changed");

        cluster.broker(first).kill().await;
        let master_killed = Instant::now();
        let after = SendLoop::start(producer.clone(), topic, "after", 2);
        let went_on = after.wait_acked(300, Duration::from_secs(90)).await;
        let went_on_after = master_killed.elapsed();
        let after = after.finish().await;
        assert!(went_on, "sends did not go on after the master's kill:\n{}", cluster.logs().await);
        assert_ne!(eventually_master(&cluster).await.0, first, "the replica is master now");

        let (mut consumer, inbox) = client.consumer(&ns, "leader-loss-cg", topic).await;
        let mut all = during.acked();
        all.extend(after.acked());
        let missing = missing_after(&inbox, &all, Duration::from_secs(90)).await;
        let tally = Tally {
            sent: during.attempts() + after.attempts(),
            acked: all.len(),
            received: inbox.len(),
            lost: missing.len(),
            note: format!(
                "controller leader (NameServer {}) SIGKILLed: a new leader {:.1} s later, {} send errors around it; \
                 then {first} SIGKILLed: 300 acks through the replica {:.1} s after ({} send errors)",
                leader + 1,
                new_leader_after.as_secs_f64(),
                during.errors(),
                went_on_after.as_secs_f64(),
                after.errors()
            ),
        };
        assert!(missing.is_empty(), "{} acknowledged messages lost, e.g. {:?}", missing.len(), sample(&missing));
        consumer.shutdown().await;
        close(producer, client).await;
        tally
    })
    .await;
}

/// A case's producer once broker-a took its first sends.
struct Warm {
    ns: String,
    client: Client,
    producer: Arc<Producer>,
    /// The warm-up's sends.
    before: Ledger,
}

/// Creates `topic` on the master at `master_addr`, sends on it (two lanes)
/// until `n` are acknowledged, then waits for the replica to join the in-sync
/// set: only a member of it may be elected, so a fault comes after this.
async fn warm_up(case: &Case, cluster: &Cluster, master_addr: &str, topic: &str, group: &str, n: usize) -> Warm {
    cluster.admin().create_topic(master_addr, topic, 4).await;
    let ns = cluster.namesrv_addr();
    let client = Client::new(case.name());
    let producer = Arc::new(client.producer(&ns, group).await);
    let before = SendLoop::start(producer.clone(), topic, "before", 2);
    assert!(before.wait_acked(n, Duration::from_secs(60)).await, "{n} sends acknowledged before the fault");
    let before = before.finish().await;
    assert!(cluster.wait_both_in_sync(Duration::from_secs(60)).await, "the replica never joined the in-sync set");
    Warm { ns, client, producer, before }
}

/// Waits (up to 60 s) until the NameServer lists `new_addr` as broker-a's
/// master and `old_addr` as one of its replicas: the old master stepped down.
async fn wait_stepped_down(cluster: &Cluster, new_addr: &str, old_addr: &str) {
    let stepped_down = eventually(Duration::from_secs(60), || async {
        cluster.registered(0).await.iter().any(|(name, addrs)| {
            name == "broker-a"
                && addrs.iter().any(|(id, addr)| *id == 0 && addr == new_addr)
                && addrs.iter().any(|(id, addr)| *id > 0 && addr == old_addr)
        })
    })
    .await;
    assert!(
        stepped_down,
        "the old master did not step down: {:?}\n{}",
        cluster.registered(0).await,
        cluster.logs().await
    );
}

/// The SEND_OKs of a ledger (when, which broker, UNIQ_KEY) stored by the broker at `addr`.
fn stored_on<'a>(
    acks: &'a [(Instant, String, String)],
    addr: &'a str,
) -> impl Iterator<Item = &'a (Instant, String, String)> + 'a {
    acks.iter().filter(move |(_, store, _)| store == addr)
}

/// The broker the NameServer lists as broker-a's master, once there is one.
async fn eventually_master(cluster: &Cluster) -> (&'static str, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(master) = cluster.controller_master().await {
            return master;
        }
        assert!(Instant::now() < deadline, "no master of broker-a listed within 60 s:\n{}", cluster.logs().await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
