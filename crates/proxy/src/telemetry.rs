//! Telemetry, Heartbeat and NotifyClientTermination: a client first says
//! what it is on its Telemetry stream; the proxy answers with the settings
//! it will apply (Java's values) and keeps the stream to push commands.

use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

use crate::Proxy;
use crate::context::Ctx;
use crate::convert::{duration, group_name};
use crate::pb::retry_policy::Strategy;
use crate::pb::settings::PubSub;
use crate::pb::telemetry_command::Command;
use crate::pb::{
    ClientType, Code, CustomizedBackoff, ExponentialBackoff, HeartbeatRequest, HeartbeatResponse,
    NotifyClientTerminationRequest, NotifyClientTerminationResponse, RetryPolicy, Settings, TelemetryCommand,
};
use crate::sessions::ClientInfo;
use crate::status::{Outcome, Refusal, ok, status};

/// Commands queued for one client before the proxy stops waiting for it.
const STREAM_QUEUE: usize = 64;
/// Java's default redelivery steps (`messageDelayLevel` from level 3 on).
const RETRY_STEPS_S: [u64; 18] =
    [1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200];

impl Proxy {
    /// Serves one Telemetry stream until the client closes it.
    pub(crate) fn telemetry(
        self: &Arc<Self>,
        ctx: Ctx,
        mut inbound: Streaming<TelemetryCommand>,
    ) -> ReceiverStream<Result<TelemetryCommand, tonic::Status>> {
        let (tx, rx) = mpsc::channel(STREAM_QUEUE);
        let proxy = self.clone();
        tokio::spawn(async move {
            let mut settled = false;
            loop {
                let next = if settled {
                    tokio::select! {
                        next = inbound.next() => next,
                        _ = tx.closed() => None,
                    }
                } else {
                    let within = Duration::from_millis(proxy.config.settings_within_ms);
                    match tokio::time::timeout(within, inbound.next()).await {
                        Ok(next) => next,
                        Err(_) => {
                            let _ = tx.send(Err(tonic::Status::deadline_exceeded("no settings received"))).await;
                            None
                        }
                    }
                };
                let command = match next {
                    Some(Ok(command)) => command,
                    Some(Err(e)) => {
                        tracing::debug!("telemetry stream of {} failed: {e}", ctx.client_id);
                        break;
                    }
                    None => break,
                };
                match command.command {
                    Some(Command::Settings(settings)) => match proxy.accept_settings(&ctx, settings, &tx).await {
                        Ok(reply) => {
                            settled = true;
                            if let Some(consumer) = proxy.sessions.consumer(&ctx.client_id) {
                                let proxy = proxy.clone();
                                tokio::spawn(async move { proxy.register_consumer(&consumer).await });
                            }
                            let answer =
                                TelemetryCommand { status: Some(ok()), command: Some(Command::Settings(reply)) };
                            if tx.send(Ok(answer)).await.is_err() {
                                break;
                            }
                        }
                        Err(refusal) => {
                            let code = refusal.0.code;
                            let message = format!("process client telemetryCommand failed. {}", refusal.0.message);
                            let status = if (40000..50000).contains(&code) {
                                tonic::Status::invalid_argument(message)
                            } else {
                                tonic::Status::internal(message)
                            };
                            let _ = tx.send(Err(status)).await;
                            break;
                        }
                    },
                    Some(Command::ThreadStackTrace(t)) => {
                        let nonce = t.nonce.clone();
                        let answer =
                            TelemetryCommand { status: command.status, command: Some(Command::ThreadStackTrace(t)) };
                        proxy.client_answers.complete(&ctx.client_id, &nonce, answer);
                    }
                    Some(Command::VerifyMessageResult(v)) => {
                        let nonce = v.nonce.clone();
                        let answer =
                            TelemetryCommand { status: command.status, command: Some(Command::VerifyMessageResult(v)) };
                        proxy.client_answers.complete(&ctx.client_id, &nonce, answer);
                    }
                    _ => tracing::debug!("telemetry command from {} ignored", ctx.client_id),
                }
            }
            proxy.sessions.detach(&ctx.client_id, &tx);
        });
        ReceiverStream::new(rx)
    }

    /// Records a client's settings and returns the ones to apply.
    async fn accept_settings(
        &self,
        ctx: &Ctx,
        settings: Settings,
        tx: &crate::sessions::TelemetrySender,
    ) -> Outcome<Settings> {
        ctx.caller.authorize(&crate::auth::settings_needs(&settings))?;
        let mut merged = settings.clone();
        match &mut merged.pub_sub {
            Some(PubSub::Publishing(publishing)) => {
                for topic in &publishing.topics {
                    crate::convert::topic_name(Some(topic))?;
                }
                publishing.max_body_size = i32::try_from(self.config.max_message_size).unwrap_or(i32::MAX);
                publishing.validate_message_type = self.config.topic_message_type_check;
                merged.backoff_policy = Some(RetryPolicy {
                    max_attempts: 3,
                    strategy: Some(Strategy::ExponentialBackoff(ExponentialBackoff {
                        initial: Some(duration(10)),
                        max: Some(duration(1000)),
                        multiplier: 2.0,
                    })),
                });
            }
            Some(PubSub::Subscription(subscription)) => {
                let group = group_name(subscription.group.as_ref())?;
                let topic = subscription.subscriptions.iter().find_map(|s| s.topic.as_ref().map(|t| t.name.clone()));
                let config = match &topic {
                    Some(topic) => self.group_settings(topic, &group).await,
                    None => None,
                };
                let config = config.unwrap_or_default();
                subscription.receive_batch_size = Some(32);
                subscription.long_polling_timeout = Some(duration(self.config.max_long_polling_ms));
                subscription.fifo = Some(config.consume_message_orderly);
                merged.backoff_policy = Some(RetryPolicy {
                    max_attempts: config.retry_max_times.saturating_add(1),
                    strategy: Some(Strategy::CustomizedBackoff(CustomizedBackoff {
                        next: RETRY_STEPS_S.iter().map(|s| duration(*s as i64 * 1000)).collect(),
                    })),
                });
            }
            None => {
                return Err(Refusal::new(Code::BadRequest, "there is no publishing or subscription data in settings"));
            }
        }
        let info = ClientInfo {
            language: ctx.language,
            version: ctx.client_version.clone(),
            since_ms: rmq_model::clock::now_ms(),
        };
        if !self.sessions.register(&ctx.client_id, merged.clone(), info, tx.clone()) {
            return Err(Refusal::new(Code::TooManyRequests, "too many clients on this proxy"));
        }
        if matches!(merged.pub_sub, Some(PubSub::Publishing(_))) {
            self.transactions.wake_heartbeat();
        }
        Ok(merged)
    }

    pub(crate) async fn heartbeat(&self, ctx: &Ctx, req: HeartbeatRequest) -> Outcome<HeartbeatResponse> {
        if self.sessions.touch(&ctx.client_id).is_none() {
            return Err(Refusal::new(Code::UnrecognizedClientType, "cannot find client settings for this client"));
        }
        match ClientType::try_from(req.client_type).unwrap_or(ClientType::Unspecified) {
            ClientType::Producer => {}
            ClientType::PushConsumer | ClientType::SimpleConsumer => {
                group_name(req.group.as_ref())?;
            }
            other => return Err(Refusal::new(Code::UnrecognizedClientType, other.as_str_name())),
        }
        Ok(HeartbeatResponse { status: Some(ok()) })
    }

    pub(crate) async fn notify_client_termination(
        &self,
        ctx: &Ctx,
        _req: NotifyClientTerminationRequest,
    ) -> Outcome<NotifyClientTerminationResponse> {
        // Java unregisters the consumer, which returns what it held at once.
        self.return_client_messages(&ctx.client_id).await;
        if let Some(consumer) = self.sessions.consumer(&ctx.client_id) {
            self.unregister_consumer(&consumer).await;
        }
        match self.sessions.remove(&ctx.client_id) {
            Some(_) => Ok(NotifyClientTerminationResponse { status: Some(ok()) }),
            None => Ok(NotifyClientTerminationResponse {
                status: Some(status(Code::UnrecognizedClientType, "cannot find client settings for this client")),
            }),
        }
    }
}
