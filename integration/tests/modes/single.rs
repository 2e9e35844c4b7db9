//! Single master (`conf/broker.conf`).

use std::time::{Duration, Instant};

use rmq_integration::{Cluster, Options, SendLoop, Tally, Topology, case};

use crate::common::{Stage, close, missing_after, round_trip, sample};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn single_round_trip() {
    case::run("single: round trip of every send kind", Duration::from_secs(150), |case| async move {
        Box::pin(round_trip(case, Topology::Single)).await
    })
    .await;
}

/// A SYNC_FLUSH broker SIGKILLed mid-stream and started again keeps every
/// message it acknowledged, and takes sends again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn single_sync_flush_broker_restart_loses_no_acknowledged_message() {
    case::run("single: SYNC_FLUSH broker SIGKILLed and restarted", Duration::from_secs(180), |case| async move {
        let options = Options { broker_props: vec!["flushDiskType=SYNC_FLUSH".to_owned()], ..Options::default() };
        let Stage { cluster, topic, ns, client, producer } =
            Stage::new(&case, Cluster::start_with(&case, Topology::Single, options).await, "SyncFlushRestart", "restart-pg").await;

        let sends = SendLoop::start(producer.clone(), topic, "restart", 4);
        assert!(sends.wait_acked(1_000, Duration::from_secs(60)).await, "1,000 sends acknowledged before the kill");
        let broker = cluster.broker("broker-a");
        let addr_before = cluster.broker_addr("broker-a").await;
        broker.kill().await;
        let acked_at_kill = sends.ledger().acked_count();
        let down = Instant::now();
        tokio::time::sleep(Duration::from_secs(2)).await;
        broker.start().await;
        let booted_after = down.elapsed();
        let addr_after = cluster.broker_addr("broker-a").await;
        // Sends go on once the client sees the broker again (route refresh ≤ 10 s).
        let first = sends.wait_acked(acked_at_kill + 1, Duration::from_secs(60)).await;
        let first_ack_after = down.elapsed();
        let resumed = first && sends.wait_acked(acked_at_kill + 500, Duration::from_secs(30)).await;
        let ledger = sends.finish().await;
        assert!(resumed, "sends did not resume within 60 s of the restart:\n{}", cluster.logs().await);

        let (mut consumer, inbox) = client.consumer(&ns, "restart-cg", topic).await;
        let acked = ledger.acked();
        let missing = missing_after(&inbox, &acked, Duration::from_secs(90)).await;
        let tally = Tally {
            sent: ledger.attempts(),
            acked: acked.len(),
            received: inbox.len(),
            lost: missing.len(),
            note: format!(
                "killed after {acked_at_kill} acks; boot line {:.1} s after the kill (address {}); first ack {:.1} s after the kill; {} send errors meanwhile",
                booted_after.as_secs_f64(),
                if addr_after == addr_before { "kept" } else { "changed" },
                first_ack_after.as_secs_f64(),
                ledger.errors()
            ),
        };
        assert!(missing.is_empty(), "{} acknowledged messages lost, e.g. {:?}", missing.len(), sample(&missing));
        consumer.shutdown().await;
        close(producer, client).await;
        tally
    })
    .await;
}

/// The broker is frozen (docker pause) for 5 s mid-stream: sends stall and
/// time out, then go on once it is thawed; nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn single_broker_paused_and_resumed() {
    case::run("single: broker paused 5 s and resumed", Duration::from_secs(150), |case| async move {
        let Stage { cluster, topic, ns, client, producer } =
            Stage::new(&case, Cluster::single(&case).await, "Paused", "paused-pg").await;
        let (mut consumer, inbox) = client.consumer(&ns, "paused-cg", topic).await;

        let sends = SendLoop::start(producer.clone(), topic, "paused", 4);
        assert!(sends.wait_acked(500, Duration::from_secs(60)).await, "500 sends acknowledged before the pause");
        let broker = cluster.broker("broker-a");
        broker.pause().await;
        let acked_at_pause = sends.ledger().acked_count();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let acked_while_paused = sends.ledger().acked_count() - acked_at_pause;
        broker.unpause().await;
        let thawed = Instant::now();
        let resumed = sends.wait_acked(acked_at_pause + 500, Duration::from_secs(60)).await;
        let resumed_after = thawed.elapsed();
        let ledger = sends.finish().await;
        assert!(resumed, "sends did not resume within 60 s of the unpause");
        assert_eq!(acked_while_paused, 0, "a frozen broker acknowledges nothing");

        let acked = ledger.acked();
        let missing = missing_after(&inbox, &acked, Duration::from_secs(60)).await;
        let tally = Tally {
            sent: ledger.attempts(),
            acked: acked.len(),
            received: inbox.len(),
            lost: missing.len(),
            note: format!(
                "{} send errors during the pause; 500 more acks {:.1} s after the unpause",
                ledger.errors(),
                resumed_after.as_secs_f64()
            ),
        };
        assert!(missing.is_empty(), "{} acknowledged messages lost, e.g. {:?}", missing.len(), sample(&missing));
        consumer.shutdown().await;
        close(producer, client).await;
        tally
    })
    .await;
}
