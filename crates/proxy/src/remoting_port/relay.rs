//! Forwarding a client's request to the broker group it names, and the few
//! requests that need a look first: sends and recalls (the topic's message
//! type), pulls (their subscription), POP (its long polling) and queue locks
//! (the group is in the body).

use rmq_model::sysflag::pull;
use rmq_model::topic_attributes::TopicMessageType;
use rmq_protocol::body::lock::LockBatchRequestBody;
use rmq_protocol::header::PullMessageRequestHeader;
use rmq_protocol::recall::RecallHandle;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::time::Duration;

use crate::Proxy;
use crate::config::ProxyMode;
use crate::remoting_port::answer;

/// Java's `MessageConst.PROPERTY_TRANSFER_FLAG`: a message moved by the
/// broker itself, whose type is not checked.
const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
/// What a long-polling request may take beyond its own hold (Java: 10 s).
const HOLD_MARGIN: Duration = Duration::from_secs(10);

impl Proxy {
    /// The broker group a request names (the first of `keys` present), or
    /// the answer refusing it.
    fn named_broker(&self, request: &RemotingCommand, keys: &[&str]) -> Result<String, Option<RemotingCommand>> {
        if let Some(name) = keys.iter().find_map(|k| request.ext(k).filter(|v| !v.is_empty())) {
            return Ok(name.to_owned());
        }
        match &self.config.mode {
            ProxyMode::Local { broker_name } => Ok(broker_name.clone()),
            ProxyMode::Cluster => Err(answer(ResponseCode::VersionNotSupported, "Request doesn't have field bname")),
        }
    }

    /// Relays a request naming its broker group in `bname`. `read`: the
    /// group's slave may answer when its master is gone.
    pub(crate) async fn relay(
        &self,
        request: RemotingCommand,
        read: bool,
        timeout: Option<Duration>,
    ) -> Option<RemotingCommand> {
        match self.named_broker(&request, &["bname"]) {
            Ok(name) => self.forward(&name, request, read, timeout).await,
            Err(refusal) => refusal,
        }
    }

    /// Sends `request` unchanged to `broker_name` and returns its answer; a
    /// broker that cannot be reached is answered SYSTEM_ERROR, which clients
    /// retry on another broker group.
    async fn forward(
        &self,
        broker_name: &str,
        request: RemotingCommand,
        read: bool,
        timeout: Option<Duration>,
    ) -> Option<RemotingCommand> {
        if !self.brokers.serves(broker_name) {
            return answer(ResponseCode::SystemError, format!("broker {broker_name} is not served by this proxy"));
        }
        let client = &self.brokers.client;
        let addr = match self.directory.address(client, broker_name, read).await {
            Ok(addr) => addr,
            Err(why) => return answer(ResponseCode::SystemError, why),
        };
        if request.is_oneway() {
            if let Err(e) = client.forward_oneway(&addr, request).await {
                tracing::debug!("oneway request to {broker_name} ({addr}) failed: {e}");
            }
            return None;
        }
        let timeout = timeout.unwrap_or(Duration::from_millis(self.config.broker_timeout_ms));
        match client.forward(&addr, request, timeout).await {
            Ok(response) => Some(response),
            Err(e) => {
                // The NameServers may know of a new master (or none) by now.
                self.directory.forget();
                answer(ResponseCode::SystemError, format!("broker {broker_name} ({addr}) failed: {e}"))
            }
        }
    }

    /// SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE: refused when the
    /// topic's message type does not take the message (MESSAGE_ILLEGAL, as
    /// Java's proxy answers it).
    pub(crate) async fn relay_send(&self, request: RemotingCommand) -> Option<RemotingCommand> {
        let name = match self.named_broker(&request, &["n", "bname"]) {
            Ok(name) => name,
            Err(refusal) => return refusal,
        };
        let short = request.request_code() != RequestCode::SendMessage;
        let (topic_key, properties_key) = if short { ("b", "i") } else { ("topic", "properties") };
        let properties = rmq_model::Properties::decode(request.ext(properties_key).unwrap_or(""));
        if properties.get(TRANSFER_FLAG).is_none() {
            let topic = request.ext(topic_key).unwrap_or("");
            let kind = crate::message_type::of_properties(&properties);
            if let Some(conflict) = self.type_conflict(topic, kind).await {
                return answer(ResponseCode::MessageIllegal, conflict);
            }
        }
        self.forward(&name, request, false, None).await
    }

    /// RECALL_MESSAGE (5.3): refused when the topic does not take DELAY
    /// messages (MESSAGE_ILLEGAL, as for a send), else relayed to the
    /// group in `bname`, as Java's proxy does; Java's clients copy it from
    /// the handle. A request without `bname` goes to the group the handle
    /// names (Java would answer VERSION_NOT_SUPPORTED), and one whose handle
    /// cannot be read either is left to that refusal.
    pub(crate) async fn relay_recall(&self, request: RemotingCommand) -> Option<RemotingCommand> {
        let topic = request.ext("topic").unwrap_or("");
        if let Some(conflict) = self.type_conflict(topic, TopicMessageType::Delay).await {
            return answer(ResponseCode::MessageIllegal, conflict);
        }
        let named = self.named_broker(&request, &["bname"]).or_else(|refusal| {
            let handle = RecallHandle::decode(request.ext("recallHandle").unwrap_or(""));
            handle.map(|h| h.broker_name).map_err(|_| refusal)
        });
        match named {
            Ok(name) => self.forward(&name, request, false, Some(crate::recall::RECALL_TIMEOUT)).await,
            Err(refusal) => refusal,
        }
    }

    /// PULL_MESSAGE, LITE_PULL_MESSAGE: a pull without its subscription (a
    /// push consumer's, as Java's sends by default) gets the one its group
    /// registered here: the broker learns the group only from the proxy's
    /// registration, which runs beside the heartbeat and may not be there yet.
    pub(crate) async fn relay_pull(&self, mut request: RemotingCommand) -> Option<RemotingCommand> {
        let name = match self.named_broker(&request, &["bname"]) {
            Ok(name) => name,
            Err(refusal) => return refusal,
        };
        let header: PullMessageRequestHeader = match request.header() {
            Ok(h) => h,
            Err(e) => return answer(ResponseCode::SystemError, e.to_string()),
        };
        if !pull::has_subscription(header.sys_flag) {
            // The request changes here: a signed one is checked first and
            // signed again with the client's own account.
            let resigner = match self.auth.resigner(&request) {
                Ok(r) => r,
                Err(why) => return answer(ResponseCode::NoPermission, why),
            };
            let subscription = match self.remoting_clients.subscription(&header.consumer_group, &header.topic) {
                Ok(s) => s,
                Err(false) => {
                    return answer(ResponseCode::SubscriptionNotLatest, "the consumer's subscription not latest");
                }
                Err(true) => {
                    return answer(ResponseCode::SubscriptionNotExist, "the consumer's subscription not exist");
                }
            };
            let ext = &mut request.ext_fields;
            ext.insert("subscription", &subscription.sub_string);
            ext.insert("expressionType", &subscription.expression_type);
            ext.insert("subVersion", subscription.sub_version.to_string());
            ext.insert("sysFlag", (header.sys_flag | pull::SUBSCRIPTION).to_string());
            if let Some(resigner) = resigner {
                resigner.sign(&mut request);
            }
        }
        let hold = Duration::from_millis(header.suspend_timeout_millis.unwrap_or(0).max(0) as u64);
        self.forward(&name, request, true, Some(hold + HOLD_MARGIN)).await
    }

    /// POP_MESSAGE, held up to its `pollTime`.
    pub(crate) async fn relay_pop(&self, request: RemotingCommand) -> Option<RemotingCommand> {
        let hold = request.ext("pollTime").and_then(|t| t.trim().parse::<u64>().ok()).unwrap_or(0);
        self.relay(request, false, Some(Duration::from_millis(hold) + HOLD_MARGIN)).await
    }

    /// LOCK_BATCH_MQ, UNLOCK_BATCH_MQ: to the broker group of the first
    /// queue in the body (a client locks one group's queues at a time).
    pub(crate) async fn relay_lock(&self, request: RemotingCommand) -> Option<RemotingCommand> {
        let body: LockBatchRequestBody = match rmq_model::fastjson::from_slice(&request.body.to_bytes()) {
            Ok(body) => body,
            Err(e) => return answer(ResponseCode::SystemError, format!("bad lock request body: {e}")),
        };
        let Some(first) = body.mq_set.first() else {
            return Some(
                RemotingCommand::response(ResponseCode::Success, Some("MessageQueue set is empty".to_owned()))
                    .with_body(request.body.to_bytes()),
            );
        };
        let name = first.broker_name.clone();
        self.forward(&name, request, false, None).await
    }
}
