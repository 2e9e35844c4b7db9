//! rocketmq-client-rust 1.0, the client we did not write, as the cases use it:
//! its runtime, producers and push consumers, and the ledgers that hold what
//! was acknowledged and what arrived, keyed by the producer's UNIQ_KEY.
//!
//! Quirks of this client (docs/interop.md has the details): it needs an
//! application-owned runtime whose blocking lane is widened on 2 cores, or
//! consumption turns into send-backs; route polling cannot go below 10 s, so a
//! failover shows after up to 10 s; tag expressions must not contain spaces.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocketmq_client_rust::{
    ClientConfig, ClientError, ClientResult, ClientRuntime, ClientRuntimeConfig, ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer, SendStatus,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::MessageTrait;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_observability::TelemetryRuntimeGuard;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};

pub use rocketmq_client_rust::DefaultMQProducer as Producer;
pub use rocketmq_client_rust::DefaultMQPushConsumer as Consumer;

/// The client's runtime (it never creates one itself). One per case.
pub struct Client {
    owner: RuntimeOwner,
    runtime: Arc<ClientRuntime>,
    telemetry: TelemetryRuntimeGuard,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Client")
    }
}

impl Client {
    /// A runtime whose listener lane admits 32 running and 4096 queued calls
    /// (the default on 2 cores is 4 + 16, with a 5 s queue timeout).
    pub fn new(name: &str) -> Client {
        let mut config = RuntimeConfig { thread_name: format!("rmq-it-{name}"), ..Default::default() };
        config.max_blocking_threads = 64;
        config.blocking_lane_policies.metadata_io.max_concurrency = 32;
        config.blocking_lane_policies.metadata_io.max_queue_depth = 4096;
        config.blocking_lane_policies.metadata_io.queue_timeout = Duration::from_secs(60);
        let build = || -> ClientResult<Client> {
            let owner = RuntimeOwner::plan(config)
                .map_err(|e| ClientError::internal("validate runtime config", e))?
                .build()
                .map_err(|e| ClientError::internal("build runtime owner", e))?;
            let telemetry = TelemetryRuntimeGuard::noop();
            let runtime = ClientRuntime::try_new(
                owner.root_context().component("client"),
                ClientRuntimeConfig::default(),
                telemetry.handle(),
            )?;
            Ok(Client { owner, runtime, telemetry })
        };
        build().expect("client runtime")
    }

    /// Route polls and heartbeats at the client's 10 s minimum.
    fn config() -> ClientConfig {
        ClientConfig::builder().poll_name_server_interval(10_000).heartbeat_broker_interval(10_000).build_unvalidated()
    }

    /// A started producer. `namesrv` is a `;` list.
    pub async fn producer(&self, namesrv: &str, group: &str) -> Producer {
        let mut producer = DefaultMQProducer::builder(self.runtime.clone())
            .client_config(Self::config())
            .producer_group(group)
            .name_server_addr(namesrv)
            .send_msg_timeout(3_000)
            .build();
        producer.start().await.expect("producer start");
        producer
    }

    /// A started push consumer of `topic` (all tags) from the first offset,
    /// recording every delivery in the returned inbox.
    pub async fn consumer(&self, namesrv: &str, group: &str, topic: &str) -> (Consumer, Inbox) {
        let inbox = Inbox::default();
        let sink = inbox.clone();
        let mut consumer = DefaultMQPushConsumer::builder(self.runtime.clone())
            .client_config(Self::config())
            .consumer_group(group)
            .name_server_addr(namesrv)
            .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
            .build();
        consumer.subscribe(topic, "*").await.expect("subscribe");
        consumer.register_message_listener_concurrently(move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
            sink.record(msgs);
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
        });
        consumer.start().await.expect("consumer start");
        (consumer, inbox)
    }

    /// Shuts the runtime down; shut producers and consumers down first.
    pub async fn shutdown(self) {
        let _ = self.runtime.shutdown().await;
        let _ = self.owner.shutdown_tasks().await;
        // Never drop a Tokio runtime inside an async context.
        let _ = self.owner.shutdown_background();
        let _ = self.telemetry.shutdown();
    }
}

/// A message with a body unique within the case.
pub fn message(topic: &str, body: &str) -> Message {
    Message::builder().topic(topic).tags("TagA").key(body).body_slice(body.as_bytes()).build_unchecked()
}

/// What a consumer received: UNIQ_KEY → body, and how many deliveries in all
/// (more than the keys means redeliveries).
#[derive(Clone, Debug, Default)]
pub struct Inbox(Arc<Mutex<InboxState>>);

#[derive(Debug, Default)]
struct InboxState {
    messages: BTreeMap<String, String>,
    deliveries: usize,
}

impl Inbox {
    fn record(&self, msgs: &[&MessageExt]) {
        let mut state = self.0.lock().unwrap();
        for m in msgs {
            let uniq = m.property(&"UNIQ_KEY".into()).map(|v| v.to_string()).unwrap_or_default();
            let body = String::from_utf8_lossy(m.body().as_deref().unwrap_or_default()).into_owned();
            state.deliveries += 1;
            state.messages.insert(uniq, body);
        }
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn deliveries(&self) -> usize {
        self.0.lock().unwrap().deliveries
    }

    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.0.lock().unwrap().messages.clone()
    }

    /// The bodies received.
    pub fn bodies(&self) -> BTreeSet<String> {
        self.0.lock().unwrap().messages.values().cloned().collect()
    }

    /// Of `wanted` (UNIQ_KEY → body), those not received with that body.
    pub fn missing(&self, wanted: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let state = self.0.lock().unwrap();
        wanted.iter().filter(|(k, v)| state.messages.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Waits until every message of `wanted` arrived (true) or `within` passed.
    pub async fn wait_for(&self, wanted: &BTreeMap<String, String>, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while !self.missing(wanted).is_empty() {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        true
    }
}

/// What a producer sent: every attempt, and every SEND_OK with its body and
/// the broker group that stored it.
#[derive(Clone, Debug, Default)]
pub struct Ledger(Arc<Mutex<LedgerState>>);

#[derive(Debug, Default)]
struct LedgerState {
    attempts: usize,
    acked: BTreeMap<String, (String, String)>,
    /// Results other than SEND_OK: UNIQ_KEY → body.
    not_ok: BTreeMap<String, String>,
    errors: usize,
    /// When each SEND_OK came, the address of the broker that stored the
    /// message (from its offset message id), and its UNIQ_KEY.
    stores: Vec<(Instant, String, String)>,
}

impl Ledger {
    pub fn attempts(&self) -> usize {
        self.0.lock().unwrap().attempts
    }

    pub fn acked_count(&self) -> usize {
        self.0.lock().unwrap().acked.len()
    }

    /// Send results other than SEND_OK (e.g. SLAVE_NOT_AVAILABLE): the message
    /// may be stored, but it was not acknowledged.
    pub fn not_ok(&self) -> BTreeMap<String, String> {
        self.0.lock().unwrap().not_ok.clone()
    }

    pub fn errors(&self) -> usize {
        self.0.lock().unwrap().errors
    }

    /// UNIQ_KEY → body of every acknowledged message.
    pub fn acked(&self) -> BTreeMap<String, String> {
        self.0.lock().unwrap().acked.iter().map(|(k, (body, _))| (k.clone(), body.clone())).collect()
    }

    /// Like [`acked`](Self::acked), only those stored by broker group `broker`.
    pub fn acked_on(&self, broker: &str) -> BTreeMap<String, String> {
        let state = self.0.lock().unwrap();
        state.acked.iter().filter(|(_, (_, b))| b == broker).map(|(k, (body, _))| (k.clone(), body.clone())).collect()
    }

    /// When each SEND_OK came, which broker (`ip:port`) stored it, and its UNIQ_KEY.
    pub fn acks_by_store(&self) -> Vec<(Instant, String, String)> {
        self.0.lock().unwrap().stores.clone()
    }

    /// Sends one message synchronously and records the outcome.
    pub async fn send(&self, producer: &Producer, topic: &str, body: String) -> Sent {
        self.0.lock().unwrap().attempts += 1;
        // Boxed: the client's send future is ~33 KB.
        match Box::pin(producer.send(message(topic, &body))).await {
            Ok(Some(r)) if r.send_status == SendStatus::SendOk => {
                let uniq = r.msg_id.map(|id| id.to_string()).unwrap_or_default();
                let broker = r.message_queue.map(|q| q.broker_name().to_string()).unwrap_or_default();
                let store = r.offset_msg_id.as_deref().and_then(store_of).unwrap_or_default();
                let mut state = self.0.lock().unwrap();
                state.stores.push((Instant::now(), store, uniq.clone()));
                state.acked.insert(uniq, (body, broker));
                Sent::Ok
            }
            Ok(r) => {
                let uniq = r.and_then(|r| r.msg_id).map(|id| id.to_string()).unwrap_or_default();
                self.0.lock().unwrap().not_ok.insert(uniq, body);
                Sent::NotOk
            }
            Err(_) => {
                self.0.lock().unwrap().errors += 1;
                Sent::Failed
            }
        }
    }
}

/// The broker address (`ip:port`) an offset message id names: its first 8
/// bytes, in hex, are the storing broker's IPv4 address and port.
fn store_of(offset_msg_id: &str) -> Option<String> {
    let byte = |i: usize| u8::from_str_radix(offset_msg_id.get(2 * i..2 * i + 2)?, 16).ok();
    let port = u32::from_str_radix(offset_msg_id.get(8..16)?, 16).ok()?;
    Some(format!("{}.{}.{}.{}:{port}", byte(0)?, byte(1)?, byte(2)?, byte(3)?))
}

/// The outcome of one send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// SEND_OK.
    Ok,
    /// Another status (the broker answered, e.g. SLAVE_NOT_AVAILABLE).
    NotOk,
    /// No answer: a timeout, a refused connection, no route.
    Failed,
}

/// Producers sending without pause in the background, for cases that inject a
/// fault mid-stream. Bodies are `<prefix>-<lane>-<n>`.
#[derive(Debug)]
pub struct SendLoop {
    ledger: Ledger,
    stop: Arc<AtomicBool>,
    lanes: tokio::task::JoinSet<()>,
}

impl SendLoop {
    /// `lanes` concurrent senders on `producer`; after a send that got no
    /// answer a lane waits 100 ms before its next attempt.
    pub fn start(producer: Arc<Producer>, topic: &str, prefix: &str, lanes: usize) -> SendLoop {
        let ledger = Ledger::default();
        let stop = Arc::new(AtomicBool::new(false));
        let mut set = tokio::task::JoinSet::new();
        for lane in 0..lanes {
            let (producer, ledger, stop) = (producer.clone(), ledger.clone(), stop.clone());
            let (topic, prefix) = (topic.to_owned(), prefix.to_owned());
            set.spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    if ledger.send(&producer, &topic, format!("{prefix}-{lane}-{n}")).await == Sent::Failed {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            });
        }
        SendLoop { ledger, stop, lanes: set }
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Waits until `n` messages in all were acknowledged; false after `within`.
    pub async fn wait_acked(&self, n: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.ledger.acked_count() < n {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    /// Stops the lanes (each finishes the send it is in) and returns the ledger.
    pub async fn finish(mut self) -> Ledger {
        self.stop.store(true, Ordering::Relaxed);
        while self.lanes.join_next().await.is_some() {}
        self.ledger.clone()
    }
}

impl Drop for SendLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
