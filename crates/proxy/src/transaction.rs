//! Transactions of 5.x producers. A half message is sent with the topic as
//! its producer group; the proxy keeps where it landed so EndTransaction
//! (which names only topic and transaction id) reaches the right broker
//! record. Brokers checking an unresolved transaction ask the proxy (it
//! registers each published topic as a producer group); the proxy asks a
//! connected producer of the topic through its Telemetry stream
//! (RecoverOrphanedTransactionCommand) and relays the answer.

use rmq_client::{SendResult, TransactionCheck};
use rmq_model::properties::keys;
use rmq_protocol::body::heartbeat::{HeartbeatData, ProducerData};
use rmq_protocol::header::EndTransactionRequestHeader;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::Proxy;
use crate::brokers::Brokers;
use crate::context::Ctx;
use crate::convert::{incoming, topic_name};
use crate::pb::telemetry_command::Command;
use crate::pb::{
    Code, EndTransactionRequest, EndTransactionResponse, RecoverOrphanedTransactionCommand, TelemetryCommand,
    TransactionResolution, TransactionSource,
};
use crate::status::{Outcome, Refusal, from_remoting, ok};

/// How long the proxy remembers where a half message lies. Java keeps it
/// 30 s; rmq keeps it longer so a producer that ends late still can.
const REMEMBER: Duration = Duration::from_secs(3600);
/// Most half messages remembered at once (oldest forgotten first).
const MAX_REMEMBERED: usize = 200_000;
/// How often the proxy registers its producer groups at the brokers.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(20);

/// Where one half message lies.
#[derive(Clone, Debug)]
struct HalfMessage {
    broker_addr: String,
    tran_state_table_offset: i64,
    commit_log_offset: i64,
    until: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct Transactions {
    halves: Mutex<HashMap<(String, String), HalfMessage>>,
    heartbeat_now: Notify,
}

impl Transactions {
    fn remember(&self, topic: &str, transaction_id: &str, half: HalfMessage) {
        let mut halves = self.halves.lock().unwrap_or_else(|e| e.into_inner());
        if halves.len() >= MAX_REMEMBERED {
            let now = Instant::now();
            halves.retain(|_, h| h.until > now);
            if halves.len() >= MAX_REMEMBERED
                && let Some(oldest) = halves.iter().min_by_key(|(_, h)| h.until).map(|(k, _)| k.clone())
            {
                halves.remove(&oldest);
            }
        }
        halves.insert((topic.to_owned(), transaction_id.to_owned()), half);
    }

    fn take(&self, topic: &str, transaction_id: &str) -> Option<HalfMessage> {
        let mut halves = self.halves.lock().unwrap_or_else(|e| e.into_inner());
        halves.remove(&(topic.to_owned(), transaction_id.to_owned())).filter(|h| h.until > Instant::now())
    }

    /// Notes where a half message just sent landed.
    pub async fn remember_sent(&self, topic: &str, transaction_id: &str, result: &SendResult, brokers: &Brokers) {
        let Ok(broker_addr) = brokers.master(topic, &result.queue.broker_name).await else { return };
        let Ok((_, offset)) = rmq_model::msg_id::decode_offset_msg_id(&result.offset_msg_id) else { return };
        let half = HalfMessage {
            broker_addr,
            tran_state_table_offset: result.queue_offset,
            commit_log_offset: offset.0 as i64,
            until: Instant::now() + REMEMBER,
        };
        self.remember(topic, transaction_id, half);
    }

    /// Makes the heartbeat task register producer groups now (a producer
    /// just said which topics it publishes).
    pub fn wake_heartbeat(&self) {
        self.heartbeat_now.notify_one();
    }
}

impl Proxy {
    pub(crate) async fn end_transaction(
        &self,
        _ctx: &Ctx,
        req: EndTransactionRequest,
    ) -> Outcome<EndTransactionResponse> {
        let topic = topic_name(req.topic.as_ref())?;
        if req.transaction_id.trim().is_empty() {
            return Err(Refusal::new(Code::InvalidTransactionId, "transaction id cannot be empty"));
        }
        let Some(half) = self.transactions.take(&topic, &req.transaction_id) else {
            return Err(Refusal::new(Code::InternalServerError, "cannot found transaction data"));
        };
        let commit_or_rollback = match TransactionResolution::try_from(req.resolution) {
            Ok(TransactionResolution::Commit) => rmq_model::sysflag::message::TRANSACTION_COMMIT_TYPE,
            Ok(TransactionResolution::Rollback) => rmq_model::sysflag::message::TRANSACTION_ROLLBACK_TYPE,
            _ => rmq_model::sysflag::message::TRANSACTION_NOT_TYPE,
        };
        let header = EndTransactionRequestHeader {
            producer_group: topic.clone(),
            tran_state_table_offset: half.tran_state_table_offset,
            commit_log_offset: half.commit_log_offset,
            commit_or_rollback,
            from_transaction_check: Some(req.source == TransactionSource::SourceServerCheck as i32),
            msg_id: Some(req.message_id.clone()),
            transaction_id: Some(req.transaction_id.clone()),
            topic: Some(topic.clone()),
        };
        let cmd = RemotingCommand::request(RequestCode::EndTransaction, &header);
        let answer = self.brokers.invoke(&half.broker_addr, cmd, None).await;
        match answer {
            Ok(resp) if resp.code == ResponseCode::Success.to_i32() => {
                Ok(EndTransactionResponse { status: Some(ok()) })
            }
            Ok(resp) => Ok(EndTransactionResponse {
                status: Some(from_remoting(resp.code, resp.remark.as_deref().unwrap_or(""))),
            }),
            Err(refusal) => {
                // The broker will check again; keep the record for that answer.
                self.transactions.remember(&topic, &req.transaction_id, half);
                Err(refusal)
            }
        }
    }

    /// Relays the brokers' transaction checks to producers until `stop`.
    pub(crate) async fn relay_checks(
        self: Arc<Self>,
        mut checks: mpsc::UnboundedReceiver<TransactionCheck>,
        stop: CancellationToken,
    ) {
        loop {
            let check = tokio::select! {
                check = checks.recv() => match check { Some(c) => c, None => return },
                _ = stop.cancelled() => return,
            };
            let topic = check.message.topic.clone();
            let transaction_id = check
                .header
                .transaction_id
                .clone()
                .or_else(|| check.message.properties.unique_key().map(str::to_owned))
                .unwrap_or_default();
            if check.message.properties.get(keys::PRODUCER_GROUP) != Some(topic.as_str()) {
                self.relay_check_to_remoting(check).await;
                continue;
            }
            let Some(producer) = self.sessions.producer_of(&topic) else {
                tracing::debug!("no producer of {topic} connected to answer a transaction check");
                continue;
            };
            let half = HalfMessage {
                broker_addr: check.broker_addr.clone(),
                tran_state_table_offset: check.header.tran_state_table_offset,
                commit_log_offset: check.header.commit_log_offset,
                until: Instant::now() + REMEMBER,
            };
            self.transactions.remember(&topic, &transaction_id, half);
            let message = incoming(&check.message, &topic, None, rmq_model::clock::now_ms());
            let command = TelemetryCommand {
                status: None,
                command: Some(Command::RecoverOrphanedTransactionCommand(RecoverOrphanedTransactionCommand {
                    message: Some(message),
                    transaction_id,
                })),
            };
            if producer.try_send(Ok(command)).is_err() {
                tracing::debug!("the producer of {topic} is not reading its telemetry stream");
            }
        }
    }

    /// Passes a broker's transaction check on to a producer of its group
    /// connected to the remoting port, with the broker group named (`bname`)
    /// so that the producer's END_TRANSACTION comes back through the proxy
    /// to that broker.
    async fn relay_check_to_remoting(&self, check: TransactionCheck) {
        let group = check.message.properties.get(keys::PRODUCER_GROUP).unwrap_or_default().to_owned();
        let Some(producer) = self.remoting_clients.producer_of(&group) else {
            tracing::debug!("no producer of group {group} connected to answer a transaction check");
            return;
        };
        let Some(broker_name) = self.directory.name_of(&check.broker_addr) else {
            tracing::debug!("a transaction check from {}, which is no known broker", check.broker_addr);
            return;
        };
        let request = RemotingCommand::request(RequestCode::CheckTransactionState, &check.header)
            .with_ext("bname", &broker_name)
            .with_body(check.body);
        if producer.try_oneway(request).is_err() {
            tracing::debug!("the producer of group {group} cannot take a transaction check now");
        }
    }

    /// Registers every published topic as a producer group at the brokers
    /// serving it, and the remoting port's producer groups at every master,
    /// every 20 s and whenever a producer appears, so the brokers'
    /// transaction checks reach the proxy.
    pub(crate) async fn heartbeat_producers(self: Arc<Self>, stop: CancellationToken) {
        let client_id = format!("rmq-proxy-producer-client@{}", self.brokers.client.client_id());
        loop {
            tokio::select! {
                _ = tokio::time::sleep(HEARTBEAT_EVERY) => {}
                _ = self.transactions.heartbeat_now.notified() => {}
                _ = stop.cancelled() => return,
            }
            let forgotten = self.sessions.sweep(crate::sessions::FORGET_AFTER);
            if forgotten > 0 {
                tracing::info!("forgot {forgotten} client(s) gone for {:?}", crate::sessions::FORGET_AFTER);
            }
            let topics = self.sessions.published_topics();
            let remoting_groups = self.remoting_clients.producer_groups();
            if topics.is_empty() && remoting_groups.is_empty() {
                continue;
            }
            let mut masters = std::collections::BTreeSet::new();
            for topic in &topics {
                if let Ok(route) = self.brokers.route(topic).await {
                    masters.extend(
                        self.brokers
                            .writable_queues(&route)
                            .iter()
                            .filter_map(|q| route.master(&q.broker_name).map(str::to_owned)),
                    );
                }
            }
            // A remoting producer's group publishes to topics the proxy does
            // not see in advance: registered at every master.
            if !remoting_groups.is_empty() {
                masters.extend(self.directory.masters(&self.brokers.client, |_| true).await);
            }
            let data = HeartbeatData {
                client_id: client_id.clone(),
                producer_data_set: topics
                    .into_iter()
                    .chain(remoting_groups)
                    .map(|group_name| ProducerData { group_name })
                    .collect(),
                ..HeartbeatData::default()
            };
            for addr in masters {
                if let Err(e) = self.brokers.client.heartbeat(&addr, &data).await {
                    tracing::debug!("producer heartbeat to {addr} failed: {e}");
                }
            }
        }
    }
}
