//! Scenarios shared by several modes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmq_integration::client::Producer;
use rmq_integration::client::message;
use rmq_integration::{Case, Client, Cluster, Tally, Topology};
use rocketmq_client_rust::SendStatus;
use tokio::sync::Semaphore;

/// What most cases start with: the cluster, one topic of 4 queues created on
/// it, a client and a producer of `group`.
pub struct Stage {
    pub cluster: Cluster,
    pub topic: &'static str,
    pub ns: String,
    pub client: Client,
    pub producer: Arc<Producer>,
}

impl Stage {
    pub async fn new(case: &Case, cluster: Cluster, topic: &'static str, group: &str) -> Stage {
        cluster.create_topic(topic, 4).await;
        let ns = cluster.namesrv_addr();
        let client = Client::new(case.name());
        let producer = Arc::new(client.producer(&ns, group).await);
        Stage { cluster, topic, ns, client, producer }
    }
}

/// Shuts a case's producer and client down (consumers first, by the caller).
pub async fn close(producer: Arc<Producer>, client: Client) {
    Arc::try_unwrap(producer).ok().expect("sole owner").shutdown().await;
    client.shutdown().await;
}

/// How many messages of each send kind the round trip sends.
const PER_KIND: usize = 250;
/// Messages per batch in the round trip.
const BATCH: usize = 10;

/// Sync, async, oneway and batch sends of `PER_KIND` messages each reach a
/// push consumer: exactly that set of messages, with their bodies. On
/// several masters every group takes part; on replicated modes every slave
/// ends with its master's CommitLog.
pub async fn round_trip(case: Case, topology: Topology) -> Tally {
    let cluster = Cluster::start(&case, topology).await;
    let topic = "RoundTrip";
    cluster.create_topic(topic, 4).await;
    let ns = cluster.namesrv_addr();
    let client = Client::new(case.name());
    let (mut consumer, inbox) = client.consumer(&ns, "round-trip-cg", topic).await;
    let producer = Arc::new(client.producer(&ns, "round-trip-pg").await);

    // UNIQ_KEY → body of every acknowledged message; broker group → count.
    let mut acked: BTreeMap<String, String> = BTreeMap::new();
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    let mut sent = 0;
    for i in 0..PER_KIND {
        let body = format!("sync-{i}");
        sent += 1;
        let r = Box::pin(producer.send(message(topic, &body))).await.expect("sync send").expect("a result");
        assert_eq!(r.send_status, SendStatus::SendOk, "sync send {i}");
        *groups.entry(r.message_queue.map(|q| q.broker_name().to_string()).unwrap_or_default()).or_default() += 1;
        acked.insert(r.msg_id.expect("msg id").to_string(), body);
    }

    // Async: at most 128 in flight (the client refuses more).
    let async_acked = Arc::new(Mutex::new(BTreeMap::new()));
    let async_failed = Arc::new(Mutex::new(Vec::new()));
    let in_flight = Arc::new(Semaphore::new(128));
    for i in 0..PER_KIND {
        let body = format!("async-{i}");
        let permit = in_flight.clone().acquire_owned().await.expect("semaphore");
        let (ok, failed) = (async_acked.clone(), async_failed.clone());
        sent += 1;
        Box::pin(producer.send_with_callback(message(topic, &body), move |result, error| {
            let _release = &permit;
            match result {
                Some(r) if r.send_status == SendStatus::SendOk => {
                    let id = r.msg_id.as_ref().map(|id| id.to_string()).unwrap_or_default();
                    ok.lock().unwrap().insert(id, body.clone());
                }
                _ => failed.lock().unwrap().push(format!("{body}: {result:?} {error:?}")),
            }
        }))
        .await
        .expect("async send accepted");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while async_acked.lock().unwrap().len() + async_failed.lock().unwrap().len() < PER_KIND {
        assert!(Instant::now() < deadline, "async callbacks did not all run within 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(async_failed.lock().unwrap().is_empty(), "async sends failed: {:?}", async_failed.lock().unwrap());
    acked.extend(async_acked.lock().unwrap().clone());

    for b in 0..PER_KIND / BATCH {
        let bodies: Vec<String> = (0..BATCH).map(|j| format!("batch-{}", b * BATCH + j)).collect();
        sent += BATCH;
        let batch = bodies.iter().map(|body| message(topic, body)).collect();
        let r = Box::pin(producer.send_batch(batch)).await.expect("batch send");
        assert_eq!(r.send_status, SendStatus::SendOk, "batch {b}");
        let ids: Vec<String> = r.msg_id.expect("msg ids").split_char(',').map(str::to_owned).collect();
        assert_eq!(ids.len(), BATCH, "one msg id per batch item");
        acked.extend(ids.into_iter().zip(bodies));
    }

    // Oneway: no answer, so no id; checked by body.
    let mut oneway = BTreeSet::new();
    for i in 0..PER_KIND {
        let body = format!("oneway-{i}");
        sent += 1;
        Box::pin(producer.send_oneway(message(topic, &body))).await.expect("oneway send");
        oneway.insert(body);
    }

    let expected = acked.len() + oneway.len();
    let deadline = Instant::now() + Duration::from_secs(90);
    while (!inbox.missing(&acked).is_empty() || !oneway.is_subset(&inbox.bodies())) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Time for a stray extra message to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let missing = inbox.missing(&acked);
    let bodies = inbox.bodies();
    let oneway_missing: Vec<&String> = oneway.difference(&bodies).collect();
    let lost = missing.len() + oneway_missing.len();
    let tally = Tally {
        sent,
        acked: acked.len(),
        received: inbox.len(),
        lost,
        note: format!("{} deliveries; SEND_OK per group {groups:?}", inbox.deliveries()),
    };
    assert_eq!(
        lost,
        0,
        "lost {} acknowledged (e.g. {:?}) and {} oneway (e.g. {:?})",
        missing.len(),
        missing.iter().next(),
        oneway_missing.len(),
        oneway_missing.first()
    );
    assert_eq!(inbox.len(), expected, "exactly the messages sent arrive, nothing else");
    if cluster.masters().len() > 1 {
        assert!(groups.len() > 1, "every master takes sends: {groups:?}");
    }
    for master in cluster.masters() {
        if topology != Topology::Single && topology != Topology::TwoMastersNoSlave {
            assert!(
                cluster.wait_slave_caught_up(master, Duration::from_secs(30)).await,
                "the slave of {master} did not catch up"
            );
        }
    }

    consumer.shutdown().await;
    Arc::try_unwrap(producer).ok().expect("sole owner").shutdown().await;
    client.shutdown().await;
    tally
}

/// Waits until `inbox` holds every message of `wanted`, then returns what is
/// missing (empty on success).
pub async fn missing_after(
    inbox: &rmq_integration::Inbox,
    wanted: &BTreeMap<String, String>,
    within: Duration,
) -> BTreeMap<String, String> {
    inbox.wait_for(wanted, within).await;
    inbox.missing(wanted)
}

/// A short sample of `map`'s keys, for assertion messages.
pub fn sample(map: &BTreeMap<String, String>) -> Vec<&String> {
    map.values().take(5).collect()
}
