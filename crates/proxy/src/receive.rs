//! ReceiveMessage: a POP at one broker (the one the client's queue names),
//! long-polled within the client's deadline, answered as a stream: a
//! status, the messages, then the time of delivery, as Java's proxy writes it.

use rmq_client::MessageExt;
use rmq_protocol::header::{ChangeInvisibleTimeRequestHeader, PopMessageRequestHeader, PopMessageResponseHeader};
use rmq_protocol::receipt::PopHandles;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

use crate::Proxy;
use crate::context::Ctx;
use crate::convert::{duration_ms, group_name, incoming, timestamp, topic_name};
use crate::pb::receive_message_response::Content;
use crate::pb::settings::PubSub;
use crate::pb::{Code, FilterType, ReceiveMessageRequest, ReceiveMessageResponse};
use crate::receipt::ClientHandle;
use crate::status::{Outcome, Refusal, from_remoting, ok, status};

/// What one POP took, and from where.
#[derive(Debug)]
struct Popped {
    addr: String,
    group: String,
    topic: String,
    messages: Vec<(crate::pb::Message, ClientHandle)>,
}

/// Invisible time left to messages of an abandoned receive (Java's
/// `invisibleTimeMillisWhenClear`).
const RELEASE_INVISIBLE_MS: i64 = 1_000;

/// Most messages one receive hands out (Java's `MAX_MSG_NUMS_FOR_POP_REQUEST`).
const MAX_BATCH: i32 = 32;
/// Time added to the poll for the broker's answer to come back.
const ANSWER_MARGIN: Duration = Duration::from_secs(3);
/// Time a poll leaves before the client's deadline, so the answer "nothing
/// new" arrives before the client gives up (clients that set the deadline
/// to the long-polling time exactly, as the Rust client does, need it).
const DEADLINE_RESERVE_MS: i64 = 1_000;

impl Proxy {
    /// The whole stream a receive answers with. The POP runs in its own
    /// task: a client that gives up (its call dropped mid-poll) does not stop
    /// the broker's POP, so what that POP took is made visible again at once
    /// instead of staying hidden for nobody (Java's proxy does the same when
    /// it cannot write to a closed stream).
    pub(crate) async fn receive_message(
        self: &Arc<Self>,
        ctx: &Ctx,
        req: ReceiveMessageRequest,
    ) -> Vec<ReceiveMessageResponse> {
        let renewed = req.auto_renew && self.config.renew.enabled;
        let (tx, rx) = oneshot::channel();
        let (proxy, task_ctx) = (self.clone(), ctx.clone());
        tokio::spawn(async move {
            let outcome = proxy.receive(&task_ctx, req).await;
            if let Err(Ok(abandoned)) = tx.send(outcome) {
                proxy.release(abandoned).await;
            }
        });
        let outcome = rx.await.unwrap_or_else(|_| Err(Refusal::new(Code::InternalServerError, "the receive failed")));
        if let Ok(popped) = &outcome
            && renewed
        {
            for (message, handle) in &popped.messages {
                let attempt = message.system_properties.as_ref().and_then(|p| p.delivery_attempt).unwrap_or(1);
                self.renewals.hold(&ctx.client_id, &popped.group, &popped.topic, handle.clone(), attempt - 1);
            }
        }
        let mut out = match outcome {
            Ok(popped) if !popped.messages.is_empty() => {
                let mut out = vec![entry(Content::Status(ok()))];
                out.extend(popped.messages.into_iter().map(|(m, _)| entry(Content::Message(m))));
                out
            }
            Ok(_) => vec![entry(Content::Status(status(Code::MessageNotFound, "no new message")))],
            Err(refusal) => vec![entry(Content::Status(refusal.0))],
        };
        out.push(entry(Content::DeliveryTimestamp(timestamp(rmq_model::clock::now_ms()))));
        out
    }

    /// Makes popped messages nobody will get visible again in a second.
    async fn release(&self, abandoned: Popped) {
        tracing::debug!(
            "a receive of {} was abandoned; releasing {} message(s)",
            abandoned.group,
            abandoned.messages.len()
        );
        for (_, handle) in abandoned.messages {
            let header = ChangeInvisibleTimeRequestHeader {
                consumer_group: abandoned.group.clone(),
                topic: handle.handle.retry.real_topic(&abandoned.topic, &abandoned.group),
                queue_id: handle.handle.queue_id,
                extra_info: handle.handle.to_string(),
                offset: handle.offset(),
                invisible_time: RELEASE_INVISIBLE_MS,
            };
            let cmd = RemotingCommand::request(RequestCode::ChangeMessageInvisibletime, &header);
            if let Err(e) = self.brokers.invoke(&abandoned.addr, cmd, None).await {
                tracing::debug!("releasing an abandoned message failed: {}", e.0.message);
            }
        }
    }

    async fn receive(&self, ctx: &Ctx, req: ReceiveMessageRequest) -> Outcome<Popped> {
        let Some(settings) = self.sessions.settings(&ctx.client_id) else {
            return Err(Refusal::new(Code::UnrecognizedClientType, "cannot find client settings for this client"));
        };
        let poll_ms = self.poll_time(ctx, &req, &settings)?;
        let topic = topic_name(req.message_queue.as_ref().and_then(|q| q.topic.as_ref()))?;
        let group = group_name(req.group.as_ref())?;
        let invisible_ms = if req.auto_renew && self.config.renew.enabled {
            // The proxy renews from here on (module `renew`).
            self.config.renew.slice_ms.unwrap_or(self.config.default_invisible_ms)
        } else {
            let asked = req.invisible_duration.as_ref().map_or(0, duration_ms);
            if asked < self.config.min_invisible_ms {
                return Err(Refusal::new(
                    Code::IllegalInvisibleTime,
                    format!("the invisibleTime is too small. min is {}", self.config.min_invisible_ms),
                ));
            }
            if asked > self.config.max_invisible_ms {
                return Err(Refusal::new(
                    Code::IllegalInvisibleTime,
                    format!("the invisibleTime is too large. max is {}", self.config.max_invisible_ms),
                ));
            }
            asked
        };
        let (exp_type, exp) = match &req.filter_expression {
            Some(f) if f.r#type == FilterType::Sql as i32 => ("SQL92", f.expression.clone()),
            Some(f) if !f.expression.trim().is_empty() => ("TAG", f.expression.clone()),
            _ => ("TAG", "*".to_owned()),
        };
        let fifo = match &settings.pub_sub {
            Some(PubSub::Subscription(s)) => s.fifo.unwrap_or(false),
            _ => false,
        };
        let route = self.brokers.route(&topic).await?;
        let masters = self.brokers.readable_masters(&route);
        let asked_broker = req.message_queue.as_ref().and_then(|q| q.broker.as_ref()).map(|b| b.name.as_str());
        let (broker_name, addr) = match masters.iter().find(|(name, _)| Some(name.as_str()) == asked_broker) {
            Some(found) => found.clone(),
            None if masters.is_empty() => return Err(Refusal::new(Code::Forbidden, "no readable queue")),
            None => masters[fastrand::usize(..masters.len())].clone(),
        };
        let header = PopMessageRequestHeader {
            consumer_group: group.clone(),
            topic: topic.clone(),
            queue_id: -1,
            max_msg_nums: req.batch_size.clamp(1, MAX_BATCH),
            invisible_time: invisible_ms,
            poll_time: poll_ms,
            born_time: Some(rmq_model::clock::now_ms()),
            // Java's proxy pops with ConsumeInitMode.MAX: a new group starts at the end.
            init_mode: Some(0),
            exp_type: Some(exp_type.to_owned()),
            exp: Some(exp),
            order: Some(fifo),
            attempt_id: req.attempt_id.clone(),
        };
        let cmd = RemotingCommand::request(RequestCode::PopMessage, &header);
        let wait = Duration::from_millis(poll_ms.max(0) as u64) + ANSWER_MARGIN;
        let resp = self.brokers.invoke(&addr, cmd, Some(wait)).await?;
        match ResponseCode::from(resp.code) {
            ResponseCode::Success => {}
            c if c == ResponseCode::POLLING_FULL => return Err(Refusal::new(Code::TooManyRequests, "polling full")),
            c if c == ResponseCode::POLLING_TIMEOUT || c == ResponseCode::PullNotFound => {
                return Ok(Popped { addr, group, topic, messages: Vec::new() });
            }
            _ => return Err(Refusal(from_remoting(resp.code, resp.remark.as_deref().unwrap_or("")))),
        }
        let answer: PopMessageResponseHeader = resp
            .header()
            .map_err(|e| Refusal::new(Code::InternalServerError, format!("the broker's POP answer: {e}")))?;
        let body = resp.body.to_bytes();
        let messages = MessageExt::decode_all(&body)
            .map_err(|e| Refusal::new(Code::InternalServerError, format!("the broker's POP answer: {e}")))?;
        let handles = PopHandles::new(&answer, &broker_name);
        let now = rmq_model::clock::now_ms();
        let messages = messages
            .iter()
            .map(|m| {
                let pop_ck = m.properties.get(rmq_model::properties::keys::POP_CK);
                let handle = handles.handle(pop_ck, &m.topic, m.queue_id, m.queue_offset);
                let receipt = ClientHandle { handle, commit_log_offset: m.commit_log_offset };
                (incoming(m, &topic, Some(receipt.to_string()), now), receipt)
            })
            .collect();
        Ok(Popped { addr, group, topic, messages })
    }

    /// How long the broker may hold this receive (Java's rule): the asked
    /// long-polling time, within the proxy's bounds and the client's deadline.
    fn poll_time(&self, ctx: &Ctx, req: &ReceiveMessageRequest, settings: &crate::pb::Settings) -> Outcome<i64> {
        let remaining = ctx.deadline.map(|d| d.as_millis() as i64);
        let asked = match (&req.long_polling_timeout, remaining) {
            (Some(t), _) => duration_ms(t),
            (None, Some(left)) => left - settings.request_timeout.as_ref().map_or(0, duration_ms) / 2,
            (None, None) => self.config.max_long_polling_ms,
        };
        let poll = asked.clamp(self.config.min_long_polling_ms, self.config.max_long_polling_ms);
        let usable = remaining.map(|left| left - DEADLINE_RESERVE_MS);
        match usable {
            Some(left) if poll > left && left >= self.config.min_long_polling_ms => Ok(left),
            Some(left) if poll > left => Err(Refusal::new(
                Code::IllegalPollingTime,
                "The deadline time remaining is not enough for polling, please check network condition",
            )),
            _ => Ok(poll),
        }
    }
}

fn entry(content: Content) -> ReceiveMessageResponse {
    ReceiveMessageResponse { content: Some(content) }
}
