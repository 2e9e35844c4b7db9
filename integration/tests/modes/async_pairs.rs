//! Two ASYNC_MASTERs with a slave each (`conf/2m-2s-async/`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rmq_integration::admin::eventually;
use rmq_integration::{Cluster, SendLoop, Tally, Topology, case};

use crate::common::{Stage, close, missing_after, round_trip, sample};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn async_pairs_round_trip() {
    case::run("2m-2s-async: round trip of every send kind", Duration::from_secs(150), |case| async move {
        Box::pin(round_trip(case, Topology::TwoMastersTwoSlavesAsync)).await
    })
    .await;
}

/// broker-a's master is SIGKILLed once its slave holds everything: a consumer
/// that was running goes on (new sends land on broker-b), and a consumer
/// group started afterwards reads broker-a's messages from the slave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn async_pairs_master_killed_consumers_go_on_from_the_slave() {
    case::run("2m-2s-async: master killed, consumers go on from the slave", Duration::from_secs(180), |case| async move {
        let Stage { cluster, topic, ns, client, producer } =
            Stage::new(&case, Cluster::two_masters_two_slaves_async(&case).await, "AsyncFailover", "async-failover-pg").await;
        let (mut live, live_inbox) = client.consumer(&ns, "live-cg", topic).await;

        let before = SendLoop::start(producer.clone(), topic, "before", 2);
        assert!(before.wait_acked(600, Duration::from_secs(60)).await, "600 sends acknowledged before the kill");
        let before = before.finish().await;
        let on_a = before.acked_on("broker-a");
        assert!(on_a.len() > 50, "broker-a took part ({} messages)", on_a.len());
        let missing = missing_after(&live_inbox, &before.acked(), Duration::from_secs(60)).await;
        assert!(missing.is_empty(), "{} messages not consumed before the kill, e.g. {:?}", missing.len(), sample(&missing));
        for master in ["broker-a", "broker-b"] {
            assert!(cluster.wait_slave_caught_up(master, Duration::from_secs(30)).await, "{master}'s slave caught up");
        }

        cluster.broker("broker-a").kill().await;
        let killed = Instant::now();
        let after = SendLoop::start(producer.clone(), topic, "after", 2);
        let went_on = after.wait_acked(600, Duration::from_secs(60)).await;
        let went_on_after = killed.elapsed();
        let after = after.finish().await;
        assert!(went_on, "sends did not go on after the kill ({} acked)", after.acked_count());
        assert!(after.acked_on("broker-a").is_empty(), "nothing is acknowledged by a killed master");
        let missing_live = missing_after(&live_inbox, &after.acked(), Duration::from_secs(60)).await;
        assert!(missing_live.is_empty(), "the running consumer stopped: {} missing", missing_live.len());

        // A group that never consumed: broker-a's share can only come from its slave.
        let (mut late, late_inbox) = client.consumer(&ns, "late-cg", topic).await;
        let mut all: BTreeMap<String, String> = before.acked();
        all.extend(after.acked());
        let missing_late = missing_after(&late_inbox, &all, Duration::from_secs(90)).await;
        let lost = missing_live.len() + missing_late.len();
        let tally = Tally {
            sent: before.attempts() + after.attempts(),
            acked: all.len(),
            received: late_inbox.len(),
            lost,
            note: format!(
                "{} acked by broker-a before the kill, read back from its slave; 600 more acks {:.0} s after the kill; {} send errors",
                on_a.len(),
                went_on_after.as_secs_f64(),
                after.errors()
            ),
        };
        assert!(missing_late.is_empty(), "{} messages not read after the kill, e.g. {:?}", missing_late.len(), sample(&missing_late));
        live.shutdown().await;
        late.shutdown().await;
        close(producer, client).await;
        tally
    })
    .await;
}

/// broker-a's slave is cut off the network while its master takes sends,
/// then reconnected: it catches up, registers its (new) address, and once
/// the master is killed every acknowledged message is read from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn async_pairs_slave_cut_off_and_reconnected_catches_up() {
    case::run("2m-2s-async: slave cut off and reconnected catches up", Duration::from_secs(180), |case| async move {
        let Stage { cluster, topic, ns, client, producer } =
            Stage::new(&case, Cluster::two_masters_two_slaves_async(&case).await, "SlaveCutOff", "cut-off-pg").await;

        let slave = cluster.broker("broker-a-s");
        slave.disconnect().await;
        let sends = SendLoop::start(producer.clone(), topic, "cut-off", 2);
        assert!(sends.wait_acked(1_000, Duration::from_secs(60)).await, "1,000 sends acknowledged while the slave is cut off");
        let ledger = sends.finish().await;
        let on_a = ledger.acked_on("broker-a");
        assert!(on_a.len() > 100, "broker-a took sends while its slave was away ({})", on_a.len());

        slave.reconnect().await;
        let reconnected = Instant::now();
        let caught_up = cluster.wait_slave_caught_up("broker-a", Duration::from_secs(60)).await;
        let catch_up = reconnected.elapsed();
        assert!(caught_up, "broker-a-s did not catch up within 60 s of reconnecting:\n{}", cluster.logs().await);
        let slave_addr = cluster.broker_addr("broker-a-s").await;
        let registered = eventually(Duration::from_secs(45), || async {
            cluster.registered(0).await.iter().any(|(name, addrs)| name == "broker-a" && addrs.contains(&(1, slave_addr.clone())))
        })
        .await;
        assert!(registered, "broker-a-s is not registered at {slave_addr}: {:?}", cluster.registered(0).await);

        cluster.broker("broker-a").kill().await;
        let (mut consumer, inbox) = client.consumer(&ns, "cut-off-cg", topic).await;
        let acked = ledger.acked();
        let missing = missing_after(&inbox, &acked, Duration::from_secs(90)).await;
        let tally = Tally {
            sent: ledger.attempts(),
            acked: acked.len(),
            received: inbox.len(),
            lost: missing.len(),
            note: format!(
                "{} acked by broker-a while its slave was cut off; caught up {:.1} s after reconnecting; read back from the slave",
                on_a.len(),
                catch_up.as_secs_f64()
            ),
        };
        assert!(missing.is_empty(), "{} acknowledged messages lost, e.g. {:?}", missing.len(), sample(&missing));
        consumer.shutdown().await;
        close(producer, client).await;
        tally
    })
    .await;
}
