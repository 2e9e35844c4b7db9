//! SendMessage: each message checked, given a queue by the proxy (a message
//! group always to the same queue), sent to that queue's master over
//! remoting with the topic as producer group, as Java's proxy does.

use rmq_client::{ClientError, Producer, ProducerOptions, SendResult, SendStatus};
use rmq_model::MessageQueue;
use std::time::Duration;

use crate::Proxy;
use crate::context::Ctx;
use crate::convert::{Outgoing, outgoing};
use crate::pb::{Code, SendMessageRequest, SendMessageResponse, SendResultEntry};
use crate::status::{Outcome, Refusal, from_client_error, ok, overall, status};

impl Proxy {
    pub(crate) async fn send_message(&self, ctx: &Ctx, req: SendMessageRequest) -> Outcome<SendMessageResponse> {
        let Some(first) = req.messages.first() else {
            return Err(Refusal::new(Code::MessageCorrupted, "no message to send"));
        };
        let topic = first.topic.as_ref().map(|t| t.name.clone()).unwrap_or_default();
        let now = rmq_model::clock::now_ms();
        let peer = ctx.peer.to_string();
        let mut prepared = Vec::with_capacity(req.messages.len());
        for m in &req.messages {
            if m.topic.as_ref().map(|t| t.name.as_str()) != Some(topic.as_str()) {
                return Err(Refusal::new(Code::MessageCorrupted, "topic in message is not same"));
            }
            prepared.push(outgoing(m, &self.config, &peer, now)?);
        }
        let route = self.brokers.route(&topic).await?;
        self.check_message_types(&topic, &prepared).await?;
        let queues = self.brokers.writable_queues(&route);
        if queues.is_empty() {
            return Err(Refusal::new(Code::Forbidden, "no writable queue"));
        }
        // Bodies are stored as the client sent them (Java's proxy compresses nothing).
        let options = ProducerOptions {
            retry_times: 0,
            send_timeout: Duration::from_millis(self.config.broker_timeout_ms),
            compress_over: None,
            ..ProducerOptions::default()
        };
        let producer = Producer::with_options(self.brokers.client.clone(), &topic, options);
        let sends = prepared.iter().map(|out| self.send_one(&producer, &queues, out));
        let entries: Vec<SendResultEntry> = futures_util::future::join_all(sends).await;
        let status = overall(entries.iter().filter_map(|e| e.status.as_ref()));
        Ok(SendMessageResponse { status: Some(status), entries })
    }

    /// Sends one message; a message without a group that meets a broker
    /// that cannot be reached goes once more to another broker.
    async fn send_one(&self, producer: &Producer, queues: &[MessageQueue], out: &Outgoing) -> SendResultEntry {
        let mut avoid: Option<String> = None;
        let attempts = if out.group.is_some() { 1 } else { 2 };
        let mut last = None;
        for _ in 0..attempts {
            let Some(mq) = self.brokers.select(queues, out.group.as_deref(), avoid.as_deref()) else { break };
            match producer.send_to(&out.message, &mq).await {
                Ok(result) => return self.sent(out, result).await,
                Err(e) => {
                    let unreachable = matches!(e, ClientError::Remoting(_));
                    if unreachable {
                        self.brokers.isolate(&mq.broker_name);
                    }
                    tracing::debug!("send of {} to {} failed: {e}", out.message_id, mq.broker_name);
                    last = Some(e);
                    if !unreachable {
                        break;
                    }
                    avoid = Some(mq.broker_name);
                }
            }
        }
        let status = last.map_or_else(|| status(Code::Forbidden, "no writable queue"), |e| from_client_error(&e));
        SendResultEntry { status: Some(status), message_id: out.message_id.clone(), ..Default::default() }
    }

    async fn sent(&self, out: &Outgoing, result: SendResult) -> SendResultEntry {
        let status = match result.status {
            SendStatus::SendOk => ok(),
            SendStatus::FlushDiskTimeout => {
                status(Code::MasterPersistenceTimeout, "send message failed, sendStatus=FLUSH_DISK_TIMEOUT")
            }
            SendStatus::FlushSlaveTimeout => {
                status(Code::SlavePersistenceTimeout, "send message failed, sendStatus=FLUSH_SLAVE_TIMEOUT")
            }
            SendStatus::SlaveNotAvailable => {
                status(Code::HaNotAvailable, "send message failed, sendStatus=SLAVE_NOT_AVAILABLE")
            }
        };
        let transaction_id = if out.transactional {
            self.transactions.remember_sent(&out.message.topic, &out.message_id, &result, &self.brokers).await;
            out.message_id.clone()
        } else {
            String::new()
        };
        SendResultEntry {
            status: Some(status),
            message_id: out.message_id.clone(),
            transaction_id,
            offset: result.queue_offset,
            recall_handle: result.recall_handle.unwrap_or_default(),
        }
    }
}
