//! Two SYNC_MASTERs with a slave each (`conf/2m-2s-sync/`): a send is
//! acknowledged only once the slave holds it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rmq_integration::{Cluster, SendLoop, Tally, Topology, case};

use crate::common::{Stage, close, missing_after, round_trip, sample};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn sync_pairs_round_trip() {
    case::run("2m-2s-sync: round trip of every send kind", Duration::from_secs(150), |case| async move {
        Box::pin(round_trip(case, Topology::TwoMastersTwoSlavesSync)).await
    })
    .await;
}

/// broker-a's master is SIGKILLed mid-stream: sends go on (to broker-b) and
/// every acknowledged message is consumed, broker-a's from its slave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn sync_pairs_master_killed_mid_stream_loses_no_acknowledged_message() {
    case::run("2m-2s-sync: master killed mid-stream", Duration::from_secs(180), |case| async move {
        let Stage { cluster, topic, ns, client, producer } =
            Stage::new(&case, Cluster::two_masters_two_slaves_sync(&case).await, "SyncFailover", "sync-failover-pg").await;

        let sends = SendLoop::start(producer.clone(), topic, "sync", 4);
        assert!(sends.wait_acked(1_500, Duration::from_secs(60)).await, "1,500 sends acknowledged before the kill");
        cluster.broker("broker-a").kill().await;
        let killed = Instant::now();
        let acked_at_kill = sends.ledger().acked_count();
        let went_on = sends.wait_acked(acked_at_kill + 1_500, Duration::from_secs(60)).await;
        let went_on_after = killed.elapsed();
        let ledger = sends.finish().await;
        assert!(went_on, "sends did not go on after the kill ({} acked)", ledger.acked_count());
        let on_a = ledger.acked_on("broker-a");
        assert!(on_a.len() > 100, "broker-a took part ({} messages)", on_a.len());

        let (mut consumer, inbox) = client.consumer(&ns, "sync-failover-cg", topic).await;
        let acked = ledger.acked();
        let missing = missing_after(&inbox, &acked, Duration::from_secs(90)).await;
        let missing_on_a = missing.keys().filter(|k| on_a.contains_key(*k)).count();
        let tally = Tally {
            sent: ledger.attempts(),
            acked: acked.len(),
            received: inbox.len(),
            lost: missing.len(),
            note: format!(
                "killed after {acked_at_kill} acks ({} by broker-a, read back from its slave); 1,500 more acks {:.0} s after the kill; {} errors, {} not SEND_OK",
                on_a.len(),
                went_on_after.as_secs_f64(),
                ledger.errors(),
                ledger.not_ok().len()
            ),
        };
        assert!(
            missing.is_empty(),
            "{} acknowledged messages lost ({missing_on_a} of broker-a's), e.g. {:?}",
            missing.len(),
            sample(&missing)
        );
        consumer.shutdown().await;
        close(producer, client).await;
        tally
    })
    .await;
}

/// broker-a's slave is stopped: broker-a acknowledges nothing meanwhile
/// (SLAVE_NOT_AVAILABLE), broker-b goes on. Restarted, the slave catches up
/// with everything its master stored, and broker-a acknowledges again; once
/// the master is killed, all of it is read from the slave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn sync_pairs_slave_restarted_catches_up() {
    case::run("2m-2s-sync: slave restarted catches up", Duration::from_secs(180), |case| async move {
        let Stage { cluster, topic, ns, client, producer } =
            Stage::new(&case, Cluster::two_masters_two_slaves_sync(&case).await, "SlaveRestart", "slave-restart-pg").await;

        let slave = cluster.broker("broker-a-s");
        slave.stop().await;
        let away = SendLoop::start(producer.clone(), topic, "away", 2);
        assert!(away.wait_acked(500, Duration::from_secs(60)).await, "500 sends acknowledged while the slave is down");
        let away = away.finish().await;
        let stored_unacked = away.not_ok();
        assert!(away.acked_on("broker-a").is_empty(), "a SYNC_MASTER without its slave acknowledges nothing");
        assert!(!stored_unacked.is_empty(), "broker-a answered its sends (SLAVE_NOT_AVAILABLE) while its slave was down");

        let restarted = Instant::now();
        slave.start().await;
        let caught_up = cluster.wait_slave_caught_up("broker-a", Duration::from_secs(60)).await;
        let catch_up = restarted.elapsed();
        assert!(caught_up, "broker-a-s did not catch up within 60 s of its restart:\n{}", cluster.logs().await);

        let back = SendLoop::start(producer.clone(), topic, "back", 2);
        let acked_again = back.wait_acked(500, Duration::from_secs(60)).await;
        let back = back.finish().await;
        assert!(acked_again, "sends after the slave's restart ({} acked)", back.acked_count());
        assert!(!back.acked_on("broker-a").is_empty(), "broker-a acknowledges again once its slave is back");

        cluster.broker("broker-a").kill().await;
        let (mut consumer, inbox) = client.consumer(&ns, "slave-restart-cg", topic).await;
        let mut acked: BTreeMap<String, String> = away.acked();
        acked.extend(back.acked());
        // Stored by broker-a without acknowledgement, then replicated: they must be there too.
        let mut wanted = acked.clone();
        wanted.extend(stored_unacked.clone());
        let missing = missing_after(&inbox, &wanted, Duration::from_secs(90)).await;
        let missing_acked = missing.keys().filter(|k| acked.contains_key(*k)).count();
        let tally = Tally {
            sent: away.attempts() + back.attempts(),
            acked: acked.len(),
            received: inbox.len(),
            lost: missing_acked,
            note: format!(
                "{} SLAVE_NOT_AVAILABLE while the slave was down (stored, replicated later, all read back); caught up {:.1} s after its restart",
                stored_unacked.len(),
                catch_up.as_secs_f64()
            ),
        };
        assert!(missing.is_empty(), "{} messages missing ({missing_acked} acknowledged), e.g. {:?}", missing.len(), sample(&missing));
        consumer.shutdown().await;
        close(producer, client).await;
        tally
    })
    .await;
}
