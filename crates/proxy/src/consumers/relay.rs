//! Admin calls a broker relays to a consumer the proxy registered:
//! GET_CONSUMER_RUNNING_INFO and CONSUME_MESSAGE_DIRECTLY. A client of the
//! remoting port gets the request as the broker sent it, on its own
//! connection, and answers it itself. For a 5.x client, asked with
//! `jstackEnable`, the running info holds the client's thread stacks, asked
//! for on its Telemetry stream (PrintThreadStackTraceCommand); a message to
//! consume directly goes to it the same way (VerifyMessageCommand). Its
//! answer carries the nonce of the question, which finds the waiting call.
//!
//! Java's texts and codes: no answer within 5 s (Java's
//! `grpcProxyRelayRequestTimeoutInSeconds`) is SYSTEM_BUSY "call remote
//! timeout"; VERIFY_FIFO_MESSAGE_UNSUPPORTED is NO_PERMISSION.

use rmq_client::ClientCall;
use rmq_protocol::body::admin::{
    ConsumeMessageDirectlyResult, ConsumerRunningInfo, PROP_CLIENT_VERSION, PROP_CONSUME_ORDERLY, PROP_CONSUME_TYPE,
    PROP_CONSUMER_START_TIMESTAMP,
};
use rmq_protocol::header::{ConsumeMessageDirectlyRequestHeader, GetConsumerRunningInfoRequestHeader};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{consume_type, consumer_data};
use crate::Proxy;
use crate::convert::incoming;
use crate::pb::settings::PubSub;
use crate::pb::telemetry_command::Command;
use crate::pb::{Code, PrintThreadStackTraceCommand, TelemetryCommand, VerifyMessageCommand};
use crate::sessions::Consumer;

/// How long a client has to answer (Java's default).
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// How long a remoting client has (under the broker's own 10 s).
const REMOTING_CLIENT_WITHIN: Duration = Duration::from_secs(8);
/// Most questions awaiting an answer at once; beyond it the call is busy.
const MAX_WAITING: usize = 10_000;

/// Questions sent to clients, by nonce, with who was asked.
#[derive(Debug, Default)]
pub(crate) struct PendingAnswers {
    next: AtomicU64,
    waiting: Mutex<HashMap<String, (String, oneshot::Sender<TelemetryCommand>)>>,
}

impl PendingAnswers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, oneshot::Sender<TelemetryCommand>)>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A nonce for a question to `client_id`, and where its answer arrives;
    /// `None` when too many are waiting.
    fn expect(&self, client_id: &str) -> Option<(String, oneshot::Receiver<TelemetryCommand>)> {
        let mut waiting = self.lock();
        if waiting.len() >= MAX_WAITING {
            return None;
        }
        let nonce = self.next.fetch_add(1, Ordering::Relaxed).to_string();
        let (tx, rx) = oneshot::channel();
        waiting.insert(nonce.clone(), (client_id.to_owned(), tx));
        Some((nonce, rx))
    }

    fn forget(&self, nonce: &str) {
        self.lock().remove(nonce);
    }

    /// A client's answer: it completes the question with that nonce, if
    /// that client was asked it. Others are ignored.
    pub fn complete(&self, client_id: &str, nonce: &str, answer: TelemetryCommand) {
        let mut waiting = self.lock();
        if waiting.get(nonce).is_some_and(|(asked, _)| asked == client_id)
            && let Some((_, tx)) = waiting.remove(nonce)
        {
            let _ = tx.send(answer);
        } else {
            tracing::debug!("an answer from {client_id} with nonce {nonce} nobody waits for");
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

fn reply(code: ResponseCode, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::response(code, Some(remark.into()))
}

impl Proxy {
    /// Answers the brokers' calls for 5.x consumers until `stop`.
    pub(crate) async fn answer_client_calls(
        self: Arc<Self>,
        mut calls: mpsc::UnboundedReceiver<ClientCall>,
        stop: CancellationToken,
    ) {
        loop {
            let call = tokio::select! {
                call = calls.recv() => match call { Some(c) => c, None => return },
                _ = stop.cancelled() => return,
            };
            let proxy = self.clone();
            tokio::spawn(async move {
                let answer = proxy.client_call(call.request).await;
                let _ = call.answer.send(answer);
            });
        }
    }

    async fn client_call(&self, request: RemotingCommand) -> RemotingCommand {
        let running_info = request.request_code() == RequestCode::GetConsumerRunningInfo;
        let asked = if running_info {
            request
                .header::<GetConsumerRunningInfoRequestHeader>()
                .map(|h| (h.client_id, h.jstack_enable == Some(true)))
        } else {
            request.header::<ConsumeMessageDirectlyRequestHeader>().map(|h| (h.client_id.unwrap_or_default(), false))
        };
        let (client_id, jstack) = match asked {
            Ok(asked) => asked,
            Err(e) => return reply(ResponseCode::SystemError, format!("bad request header: {e}")),
        };
        let Some(consumer) = self.sessions.consumer(&client_id) else {
            return self.pass_to_remoting_client(&client_id, request).await;
        };
        if running_info {
            self.running_info(&consumer, jstack).await
        } else {
            self.consume_directly(&consumer, &request).await
        }
    }

    /// Passes the request on to the remoting-port client `client_id`.
    async fn pass_to_remoting_client(&self, client_id: &str, request: RemotingCommand) -> RemotingCommand {
        let Some(conn) = self.remoting_clients.consumer_connection(client_id) else {
            return reply(ResponseCode::SystemError, format!("the client {client_id} is not connected to this proxy"));
        };
        let mut relayed = RemotingCommand::bare_request(request.request_code());
        relayed.ext_fields = request.ext_fields;
        relayed.body = request.body;
        match conn.request(relayed, REMOTING_CLIENT_WITHIN).await {
            Ok(answer) => answer,
            Err(e) => reply(ResponseCode::SystemError, format!("invoke consumer {client_id} failed: {e}")),
        }
    }

    /// What the proxy knows of the consumer, and its thread stacks when asked for.
    async fn running_info(&self, consumer: &Consumer, jstack: bool) -> RemotingCommand {
        let mut info = known_running_info(consumer);
        if jstack {
            let question = |nonce| Command::PrintThreadStackTraceCommand(PrintThreadStackTraceCommand { nonce });
            let stacks = match self.ask(consumer, question).await {
                Ok(TelemetryCommand { status, command: Some(Command::ThreadStackTrace(t)) }) => (status, t),
                Ok(_) => return reply(ResponseCode::SystemError, "the client answered something else"),
                Err(refused) => return refused,
            };
            match Code::try_from(stacks.0.map_or(Code::Ok as i32, |s| s.code)) {
                Ok(Code::Ok) => info.jstack = Some(stacks.1.thread_stack_trace.unwrap_or_default()),
                Ok(Code::VerifyFifoMessageUnsupported) => {
                    return reply(ResponseCode::NoPermission, "forbidden to verify message");
                }
                _ => return reply(ResponseCode::SystemError, "verify message failed"),
            }
        }
        RemotingCommand::success().with_body(rmq_model::fastjson::to_vec(&info))
    }

    /// Hands the message to the client to consume; its status becomes the result.
    async fn consume_directly(&self, consumer: &Consumer, request: &RemotingCommand) -> RemotingCommand {
        let body = request.body.to_bytes();
        let Some(message) = rmq_client::MessageExt::decode_all(&body).ok().and_then(|m| m.into_iter().next()) else {
            return reply(ResponseCode::SystemError, "the request carries no message");
        };
        let message = incoming(&message, &message.topic, None, rmq_model::clock::now_ms());
        let started = Instant::now();
        let question = |nonce| Command::VerifyMessageCommand(VerifyMessageCommand { nonce, message: Some(message) });
        let answer = match self.ask(consumer, question).await {
            Ok(answer) => answer,
            Err(refused) => return refused,
        };
        let code = answer.status.map_or(Code::Ok as i32, |s| s.code);
        let consume_result = match Code::try_from(code) {
            Ok(Code::Ok) => Some("CR_SUCCESS"),
            Ok(Code::FailedToConsumeMessage) => Some("CR_LATER"),
            Ok(Code::MessageCorrupted) => Some("CR_RETURN_NULL"),
            _ => None,
        };
        let result = ConsumeMessageDirectlyResult {
            consume_result: consume_result.map(str::to_owned),
            remark: Some("from gRPC client".to_owned()),
            spent_time_mills: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            ..ConsumeMessageDirectlyResult::default()
        };
        RemotingCommand::success().with_body(rmq_model::fastjson::to_vec(&result))
    }

    /// Sends the question `make(nonce)` on the consumer's Telemetry stream
    /// and waits for its answer.
    async fn ask(
        &self,
        consumer: &Consumer,
        make: impl FnOnce(String) -> Command,
    ) -> Result<TelemetryCommand, RemotingCommand> {
        let Some(stream) = &consumer.telemetry else {
            return Err(reply(
                ResponseCode::SystemError,
                format!("the 5.x client {} is not connected", consumer.client_id),
            ));
        };
        let Some((nonce, answered)) = self.client_answers.expect(&consumer.client_id) else {
            return Err(reply(ResponseCode::SystemBusy, "too many questions to clients awaiting answers"));
        };
        let question = TelemetryCommand { status: None, command: Some(make(nonce.clone())) };
        if stream.try_send(Ok(question)).is_err() {
            self.client_answers.forget(&nonce);
            return Err(reply(ResponseCode::SystemBusy, "the client's stream is not reading"));
        }
        match tokio::time::timeout(ANSWER_WITHIN, answered).await {
            Ok(Ok(answer)) => Ok(answer),
            _ => {
                self.client_answers.forget(&nonce);
                Err(reply(ResponseCode::SystemBusy, "call remote timeout"))
            }
        }
    }
}

/// The running info the proxy can give without asking the client: what it
/// is, since when, and what it subscribes to. (Java's proxy gives nothing
/// without `jstackEnable`, and only the stacks with it.)
fn known_running_info(consumer: &Consumer) -> ConsumerRunningInfo {
    let mut info = ConsumerRunningInfo::default();
    let settings = &consumer.settings;
    if let Some(data) = consumer_data(settings, consumer.info.since_ms) {
        info.subscription_set = data.subscription_data_set;
    }
    let fifo = match &settings.pub_sub {
        Some(PubSub::Subscription(s)) => s.fifo.unwrap_or(false),
        _ => false,
    };
    let version = format!("V{}", consumer.info.version.replace(['.', '-'], "_").to_uppercase());
    for (key, value) in [
        (PROP_CONSUME_TYPE, consume_type(settings).as_str().to_owned()),
        (PROP_CONSUME_ORDERLY, fifo.to_string()),
        (PROP_CLIENT_VERSION, version),
        ("PROP_CLIENT_LANGUAGE", consumer.info.language.name().to_owned()),
        (PROP_CONSUMER_START_TIMESTAMP, consumer.info.since_ms.to_string()),
    ] {
        info.properties.insert(key.to_owned(), value);
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_reach_only_the_question_asked_of_that_client() {
        let pending = PendingAnswers::default();
        let (nonce, mut answered) = pending.expect("client-a").unwrap();
        let answer = TelemetryCommand::default();
        pending.complete("client-b", &nonce, answer.clone());
        assert!(answered.try_recv().is_err(), "another client cannot answer it");
        pending.complete("client-a", "no-such-nonce", answer.clone());
        pending.complete("client-a", &nonce, answer.clone());
        assert_eq!(answered.try_recv().unwrap(), answer);
        assert_eq!(pending.len(), 0);
        let (other, _) = pending.expect("client-a").unwrap();
        assert_ne!(other, nonce, "nonces are not reused");
        pending.forget(&other);
        assert_eq!(pending.len(), 0);
    }
}
