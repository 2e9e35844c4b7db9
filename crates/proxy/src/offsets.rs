//! The calls of the newer API for clients that keep their own offsets:
//! PullMessage, GetOffset, UpdateOffset, QueryOffset. Each goes to the master
//! of the broker group the client's queue names.

use rmq_client::{PullConsumer, PullRequest, PullStatus};
use rmq_model::MessageQueue;
use std::time::Duration;

use crate::Proxy;
use crate::context::Ctx;
use crate::convert::{duration_ms, group_name, incoming, timestamp_ms, topic_name};
use crate::pb::pull_message_response::Content;
use crate::pb::{
    self, Code, GetOffsetRequest, GetOffsetResponse, PullMessageRequest, PullMessageResponse, QueryOffsetPolicy,
    QueryOffsetRequest, QueryOffsetResponse, UpdateOffsetRequest, UpdateOffsetResponse,
};
use crate::status::{Outcome, Refusal, ok, status};

impl Proxy {
    /// The remoting queue a 5.x queue stands for, once checked.
    async fn queue_of(&self, queue: Option<&pb::MessageQueue>) -> Outcome<MessageQueue> {
        let topic = topic_name(queue.and_then(|q| q.topic.as_ref()))?;
        let q = queue.ok_or_else(|| Refusal::new(Code::BadRequest, "no message queue"))?;
        let broker = q.broker.as_ref().map(|b| b.name.clone()).unwrap_or_default();
        self.brokers.master(&topic, &broker).await?;
        Ok(MessageQueue::new(topic, broker, q.id))
    }

    pub(crate) async fn get_offset(&self, _ctx: &Ctx, req: GetOffsetRequest) -> Outcome<GetOffsetResponse> {
        let group = group_name(req.group.as_ref())?;
        let mq = self.queue_of(req.message_queue.as_ref()).await?;
        let consumer = PullConsumer::new(self.brokers.client.clone(), &group);
        match consumer.committed_offset(&mq).await? {
            Some(offset) => Ok(GetOffsetResponse { status: Some(ok()), offset }),
            None => Err(Refusal::new(Code::OffsetNotFound, "the group has no offset for this queue")),
        }
    }

    pub(crate) async fn update_offset(&self, _ctx: &Ctx, req: UpdateOffsetRequest) -> Outcome<UpdateOffsetResponse> {
        let group = group_name(req.group.as_ref())?;
        let mq = self.queue_of(req.message_queue.as_ref()).await?;
        if req.offset < 0 {
            return Err(Refusal::new(Code::IllegalOffset, "offset cannot be negative"));
        }
        PullConsumer::new(self.brokers.client.clone(), &group).commit_offset(&mq, req.offset).await?;
        Ok(UpdateOffsetResponse { status: Some(ok()) })
    }

    pub(crate) async fn query_offset(&self, _ctx: &Ctx, req: QueryOffsetRequest) -> Outcome<QueryOffsetResponse> {
        let mq = self.queue_of(req.message_queue.as_ref()).await?;
        let consumer = PullConsumer::new(self.brokers.client.clone(), "rmq_proxy_offset_query");
        let offset = match QueryOffsetPolicy::try_from(req.query_offset_policy).unwrap_or(QueryOffsetPolicy::Beginning)
        {
            QueryOffsetPolicy::Beginning => consumer.min_offset(&mq).await?,
            QueryOffsetPolicy::End => consumer.max_offset(&mq).await?,
            QueryOffsetPolicy::Timestamp => {
                let at = req.timestamp.as_ref().map(timestamp_ms).unwrap_or_default();
                consumer.search_offset(&mq, at).await?
            }
        };
        Ok(QueryOffsetResponse { status: Some(ok()), offset })
    }

    /// The whole stream a pull answers with: a status, the messages, the next offset.
    pub(crate) async fn pull_message(&self, ctx: &Ctx, req: PullMessageRequest) -> Vec<PullMessageResponse> {
        let entry = |content| PullMessageResponse { content: Some(content) };
        match self.pull(ctx, &req).await {
            Ok((messages, next)) => {
                let code = if messages.is_empty() { status(Code::MessageNotFound, "no new message") } else { ok() };
                let mut out = vec![entry(Content::Status(code))];
                out.extend(messages.into_iter().map(|m| entry(Content::Message(m))));
                out.push(entry(Content::NextOffset(next)));
                out
            }
            Err(refusal) => vec![entry(Content::Status(refusal.0))],
        }
    }

    async fn pull(&self, _ctx: &Ctx, req: &PullMessageRequest) -> Outcome<(Vec<pb::Message>, i64)> {
        let group = group_name(req.group.as_ref())?;
        let mq = self.queue_of(req.message_queue.as_ref()).await?;
        let expression = req.filter_expression.as_ref().map(|f| f.expression.clone()).filter(|e| !e.trim().is_empty());
        let mut pull = PullRequest::new(expression.as_deref().unwrap_or("*"), req.offset, req.batch_size.clamp(1, 32));
        let suspend =
            req.long_polling_timeout.as_ref().map_or(0, duration_ms).clamp(0, self.config.max_long_polling_ms);
        if suspend > 0 {
            pull.suspend = Some(Duration::from_millis(suspend as u64));
        }
        let result = PullConsumer::new(self.brokers.client.clone(), &group).pull(&mq, &pull).await?;
        if result.status == PullStatus::OffsetIllegal {
            return Err(Refusal::new(Code::IllegalOffset, format!("offset {} is illegal", req.offset)));
        }
        let now = rmq_model::clock::now_ms();
        let messages = result.messages.iter().map(|m| incoming(m, &mq.topic, None, now)).collect();
        Ok((messages, result.next_begin_offset))
    }
}
