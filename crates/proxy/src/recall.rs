//! RecallMessage (RocketMQ 5.3's `RecallMessageActivity` and
//! `ProducerProcessor.recallMessage`): the handle names the broker group
//! that parked the message; the recall goes to that group's master as
//! RECALL_MESSAGE, and its answer is told in Java's proxy codes.
//!
//! - an illegal topic name: ILLEGAL_TOPIC; a topic whose type is not DELAY
//!   (with `enableTopicMessageTypeCheck`): MESSAGE_PROPERTY_CONFLICT_WITH_TYPE;
//! - a handle that cannot be read: INTERNAL_SERVER_ERROR "recall handle is
//!   invalid" (Java's proxy reports it so);
//! - a broker group the topic's route does not name: BAD_REQUEST "cannot
//!   find broker <name>"; a topic without a route: TOPIC_NOT_FOUND;
//! - the broker's refusal by the common table ([`from_remoting`]): its
//!   TOPIC_NOT_EXIST is TOPIC_NOT_FOUND, every other refusal (bad handle,
//!   time passed, recall disabled) INTERNAL_SERVER_ERROR
//!   with the broker's remark.

use rmq_model::topic_attributes::TopicMessageType;
use rmq_protocol::header::{RecallMessageRequestHeader, RecallMessageResponseHeader};
use rmq_protocol::recall::RecallHandle;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::time::Duration;

use crate::Proxy;
use crate::context::Ctx;
use crate::convert::topic_name;
use crate::pb::{Code, RecallMessageRequest, RecallMessageResponse};
use crate::status::{Outcome, Refusal, from_remoting, ok};

/// How long the broker is given (Java's proxy: 2 s).
pub(crate) const RECALL_TIMEOUT: Duration = Duration::from_secs(2);

impl Proxy {
    pub(crate) async fn recall_message(&self, _ctx: &Ctx, req: RecallMessageRequest) -> Outcome<RecallMessageResponse> {
        let topic = topic_name(req.topic.as_ref())?;
        if let Some(conflict) = self.type_conflict(&topic, TopicMessageType::Delay).await {
            return Err(Refusal::new(Code::MessagePropertyConflictWithType, conflict));
        }
        let handle = RecallHandle::decode(&req.recall_handle)
            .map_err(|e| Refusal::new(Code::InternalServerError, e.to_string()))?;
        let route = self.brokers.route(&topic).await?;
        let addr = route
            .master(&handle.broker_name)
            .filter(|_| self.brokers.serves(&handle.broker_name))
            .ok_or_else(|| Refusal::new(Code::BadRequest, format!("cannot find broker {}", handle.broker_name)))?
            .to_owned();
        let header = RecallMessageRequestHeader {
            producer_group: None,
            topic,
            recall_handle: req.recall_handle,
            broker_name: Some(handle.broker_name),
        };
        let cmd = RemotingCommand::request(RequestCode::RecallMessage, &header);
        let resp = self.brokers.invoke(&addr, cmd, Some(RECALL_TIMEOUT)).await?;
        if resp.code != ResponseCode::Success.to_i32() {
            return Err(Refusal(from_remoting(resp.code, resp.remark.as_deref().unwrap_or(""))));
        }
        let message_id = resp.header::<RecallMessageResponseHeader>().map(|h| h.msg_id).unwrap_or_default();
        Ok(RecallMessageResponse { status: Some(ok()), message_id })
    }
}
