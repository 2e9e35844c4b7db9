//! Two masters, no slave (`conf/2m-noslave/`).

use std::time::{Duration, Instant};

use rmq_integration::{Cluster, SendLoop, Tally, Topology, case};

use crate::common::{Stage, close, missing_after, round_trip, sample};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn two_masters_round_trip() {
    case::run("2m-noslave: round trip of every send kind", Duration::from_secs(150), |case| async move {
        Box::pin(round_trip(case, Topology::TwoMastersNoSlave)).await
    })
    .await;
}

/// broker-a is SIGKILLed mid-stream: sends go on (to broker-b); what broker-b
/// holds is consumed while broker-a is down; broker-a's unconsumed messages
/// come back when it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn two_masters_one_killed_sends_go_on_and_its_messages_come_back() {
    case::run("2m-noslave: master killed, sends go on, its messages come back", Duration::from_secs(180), |case| async move {
        let Stage { cluster, topic, ns, client, producer } =
            Stage::new(&case, Cluster::two_masters_no_slave(&case).await, "MasterKilled", "killed-pg").await;

        let sends = SendLoop::start(producer.clone(), topic, "killed", 4);
        assert!(sends.wait_acked(1_000, Duration::from_secs(60)).await, "1,000 sends acknowledged before the kill");
        cluster.broker("broker-a").kill().await;
        let killed = Instant::now();
        let acked_at_kill = sends.ledger().acked_count();
        let went_on = sends.wait_acked(acked_at_kill + 1_000, Duration::from_secs(60)).await;
        let went_on_after = killed.elapsed();
        let ledger = sends.finish().await;
        assert!(went_on, "sends did not go on after broker-a was killed ({} acked)", ledger.acked_count());
        let on_a = ledger.acked_on("broker-a");
        let on_b = ledger.acked_on("broker-b");
        assert!(on_a.len() > 100, "broker-a took part before the kill ({} messages)", on_a.len());
        assert_eq!(on_a.len() + on_b.len(), ledger.acked_count(), "every ack names broker-a or broker-b");

        // broker-b's share is consumed while broker-a is down.
        let (mut consumer, inbox) = client.consumer(&ns, "killed-cg", topic).await;
        let missing_b = missing_after(&inbox, &on_b, Duration::from_secs(60)).await;
        assert!(missing_b.is_empty(), "{} of broker-b's messages not consumed, e.g. {:?}", missing_b.len(), sample(&missing_b));
        let early_from_a = on_a.keys().filter(|k| inbox.snapshot().contains_key(*k)).count();
        assert_eq!(early_from_a, 0, "nothing of broker-a's arrives while it is down");

        // broker-a comes back with every message it acknowledged.
        let restarted = Instant::now();
        cluster.broker("broker-a").start().await;
        let acked = ledger.acked();
        let missing = missing_after(&inbox, &acked, Duration::from_secs(90)).await;
        let tally = Tally {
            sent: ledger.attempts(),
            acked: acked.len(),
            received: inbox.len(),
            lost: missing.len(),
            note: format!(
                "{} acked by broker-a, {} by broker-b; 1,000 more acks {:.0} s after the kill; {} send errors; broker-a's messages back {:.0} s after its restart",
                on_a.len(),
                on_b.len(),
                went_on_after.as_secs_f64(),
                ledger.errors(),
                restarted.elapsed().as_secs_f64()
            ),
        };
        assert!(missing.is_empty(), "{} acknowledged messages lost, e.g. {:?}", missing.len(), sample(&missing));
        consumer.shutdown().await;
        close(producer, client).await;
        tally
    })
    .await;
}
