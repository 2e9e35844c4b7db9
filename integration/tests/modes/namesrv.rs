//! NameServer faults, on two masters (`conf/2m-noslave/`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rmq_integration::admin::eventually;
use rmq_integration::client::Sent;
use rmq_integration::cluster::NAMESRV_PORT;
use rmq_integration::{Client, Cluster, Ledger, Options, Tally, Topology, case};

use crate::common::{missing_after, sample};

/// Brokers register every `registerNameServerPeriod` (30 s).
const REREGISTER_WITHIN: Duration = Duration::from_secs(30);
/// Allowed on top: the 200 ms polling step and the registration round trip.
const POLL_SLACK: Duration = Duration::from_secs(1);

/// Sends `n` messages one by one; every one must be acknowledged.
async fn send_all(ledger: &Ledger, producer: &rmq_integration::client::Producer, topic: &str, prefix: &str, n: usize) {
    for i in 0..n {
        // A send may fail while the client moves to the other NameServer or
        // sees a broker again; it must succeed within a few tries.
        let mut tries = 0;
        while ledger.send(producer, topic, format!("{prefix}-{i}")).await != Sent::Ok {
            tries += 1;
            assert!(tries < 50, "send {prefix}-{i} failed 50 times");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The NameServer is stopped and started again: both brokers are back in its
/// table within 30 s, and clients produce and consume through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn namesrv_restarted_brokers_reregister_within_30s() {
    case::run("NameServer restarted: brokers re-register within 30 s", Duration::from_secs(150), |case| async move {
        let cluster = Cluster::two_masters_no_slave(&case).await;
        let topic = "NamesrvRestart";
        cluster.create_topic(topic, 4).await;
        let (namesrv, _) = cluster.namesrv(0);
        let port_before = namesrv.host_port(NAMESRV_PORT).await;
        let both = |table: &[(String, Vec<(i64, String)>)]| {
            ["broker-a", "broker-b"].iter().all(|b| table.iter().any(|(name, addrs)| name == b && !addrs.is_empty()))
        };
        assert!(both(&cluster.registered(0).await), "both brokers registered at start");

        namesrv.restart().await;
        let booted = Instant::now();
        assert_eq!(namesrv.host_port(NAMESRV_PORT).await, port_before, "the published port survives the restart");
        cluster.admin().forget_connections();
        // Normally empty here; a broker whose 30 s tick falls just now may be back already.
        let at_boot = cluster.registered(0).await.len();
        let back = eventually(REREGISTER_WITHIN + POLL_SLACK, || async { both(&cluster.registered(0).await) }).await;
        let took = booted.elapsed();
        assert!(back, "brokers not re-registered within {REREGISTER_WITHIN:?}: {:?}", cluster.registered(0).await);

        let ns = cluster.namesrv_addr();
        let client = Client::new(case.name());
        let producer = client.producer(&ns, "namesrv-restart-pg").await;
        let ledger = Ledger::default();
        send_all(&ledger, &producer, topic, "after-restart", 300).await;
        let (mut consumer, inbox) = client.consumer(&ns, "namesrv-restart-cg", topic).await;
        let acked = ledger.acked();
        let missing = missing_after(&inbox, &acked, Duration::from_secs(60)).await;
        let tally = Tally {
            sent: ledger.attempts(),
            acked: acked.len(),
            received: inbox.len(),
            lost: missing.len(),
            note: format!(
                "{at_boot} broker group(s) listed at boot; both back {:.1} s after the NameServer's boot line",
                took.as_secs_f64()
            ),
        };
        assert!(missing.is_empty(), "{} messages lost, e.g. {:?}", missing.len(), sample(&missing));
        consumer.shutdown().await;
        let mut producer = producer;
        producer.shutdown().await;
        client.shutdown().await;
        tally
    })
    .await;
}

/// Two NameServers, every broker and client given both; the first is stopped:
/// a running producer and consumer go on, and clients started afterwards
/// (with the dead one first in their list) work through the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the rmq image: run scripts/test-integration.sh"]
async fn two_namesrvs_one_down_clients_go_on() {
    case::run("two NameServers, one down: clients go on", Duration::from_secs(150), |case| async move {
        let options = Options { namesrvs: 2, ..Options::default() };
        let cluster = Cluster::start_with(&case, Topology::TwoMastersNoSlave, options).await;
        let topic = "TwoNamesrvs";
        cluster.create_topic(topic, 4).await;
        let ns = cluster.namesrv_addr();
        let client = Client::new(case.name());
        let producer = client.producer(&ns, "two-ns-pg").await;
        let (mut consumer, inbox) = client.consumer(&ns, "two-ns-cg", topic).await;
        let ledger = Ledger::default();
        send_all(&ledger, &producer, topic, "both-up", 300).await;
        let missing = missing_after(&inbox, &ledger.acked(), Duration::from_secs(60)).await;
        assert!(missing.is_empty(), "{} messages not consumed with both NameServers up", missing.len());

        cluster.namesrv(0).0.stop().await;
        let down = Instant::now();
        // The running clients go on (their next route polls hit the stopped one).
        send_all(&ledger, &producer, topic, "one-down", 300).await;
        let missing = missing_after(&inbox, &ledger.acked(), Duration::from_secs(60)).await;
        assert!(missing.is_empty(), "the running consumer stopped: {} missing", missing.len());
        // So do clients started now, with the stopped NameServer first in their list.
        let late_producer = client.producer(&ns, "two-ns-late-pg").await;
        send_all(&ledger, &late_producer, topic, "late", 300).await;
        let (mut late_consumer, late_inbox) = client.consumer(&ns, "two-ns-late-cg", topic).await;
        let acked: BTreeMap<String, String> = ledger.acked();
        let missing_live = missing_after(&inbox, &acked, Duration::from_secs(60)).await;
        let missing_late = missing_after(&late_inbox, &acked, Duration::from_secs(60)).await;
        let registered = cluster.registered(1).await;
        let tally = Tally {
            sent: ledger.attempts(),
            acked: acked.len(),
            received: late_inbox.len(),
            lost: missing_live.len() + missing_late.len(),
            note: format!(
                "600 sends and two new clients after NameServer 1 stopped, {:.0} s in all; {} send retries",
                down.elapsed().as_secs_f64(),
                ledger.attempts() - acked.len()
            ),
        };
        assert!(
            missing_live.is_empty(),
            "running consumer: {} missing, e.g. {:?}",
            missing_live.len(),
            sample(&missing_live)
        );
        assert!(
            missing_late.is_empty(),
            "late consumer: {} missing, e.g. {:?}",
            missing_late.len(),
            sample(&missing_late)
        );
        assert_eq!(registered.len(), 2, "NameServer 2 lists both brokers: {registered:?}");
        consumer.shutdown().await;
        late_consumer.shutdown().await;
        let (mut producer, mut late_producer) = (producer, late_producer);
        producer.shutdown().await;
        late_producer.shutdown().await;
        client.shutdown().await;
        tally
    })
    .await;
}
