//! Controller mode (`conf/controller/quick-start/`): the controller inside the
//! NameServer, two brokers of broker-a with `allAckInSyncStateSet=true`; and
//! three NameServers with a controller each (a Raft group).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_integration::admin::eventually;
use rmq_integration::{Client, Cluster, Options, SendLoop, Tally, Topology, case};

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
        cluster.admin().create_topic(&first_addr, topic, 4).await;
        let ns = cluster.namesrv_addr();
        let client = Client::new(case.name());
        let producer = Arc::new(client.producer(&ns, "controller-pg").await);

        let before = SendLoop::start(producer.clone(), topic, "before", 2);
        assert!(before.wait_acked(500, Duration::from_secs(60)).await, "500 sends acknowledged before the kill");
        let before = before.finish().await;
        // Only a member of the in-sync set may be elected: the kill comes once
        // the replica is one (with allAckInSyncStateSet, every later SEND_OK
        // waited for it).
        assert!(cluster.wait_both_in_sync(Duration::from_secs(60)).await, "the replica never joined the in-sync set");

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
        cluster.admin().create_topic(&first_addr, topic, 4).await;
        let ns = cluster.namesrv_addr();
        let client = Client::new(case.name());
        let producer = Arc::new(client.producer(&ns, "partition-pg").await);
        let before = SendLoop::start(producer.clone(), topic, "before", 2);
        assert!(before.wait_acked(300, Duration::from_secs(60)).await, "300 sends acknowledged before the cut");
        let before = before.finish().await;
        assert!(cluster.wait_both_in_sync(Duration::from_secs(60)).await, "the replica never joined the in-sync set");

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
        let stepped_down = eventually(Duration::from_secs(60), || async {
            cluster.registered(0).await.iter().any(|(name, addrs)| {
                name == "broker-a"
                    && addrs.iter().any(|(id, addr)| *id == 0 && *addr == new_addr)
                    && addrs.iter().any(|(id, addr)| *id > 0 && *addr == old_addr)
            })
        })
        .await;
        let stepped_down_after = back.elapsed();
        assert!(stepped_down, "the old master did not step down: {:?}\n{}", cluster.registered(0).await, cluster.logs().await);

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
