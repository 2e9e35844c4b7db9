//! [`PullConsumer`]: pulls from one queue at a time, with offsets kept by the
//! caller (or by [`QueuePuller`]), a tag filter and optional long polling,
//! like Java's `DefaultMQPullConsumer`.

use rmq_model::MessageQueue;
use rmq_model::sysflag::pull;
use rmq_protocol::body::heartbeat::{EXPRESSION_TAG, SubscriptionData};
use rmq_protocol::header::{
    OffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader, QueryConsumerOffsetRequestHeader,
    QueueRequestHeader, SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use rmq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use std::time::Duration;

use crate::client::{Client, refused};
use crate::error::{ClientError, Result};
use crate::message::MessageExt;

/// How a pull ended (Java's `PullStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullStatus {
    Found,
    NoNewMsg,
    NoMatchedMsg,
    OffsetIllegal,
}

impl PullStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PullStatus::Found => "FOUND",
            PullStatus::NoNewMsg => "NO_NEW_MSG",
            PullStatus::NoMatchedMsg => "NO_MATCHED_MSG",
            PullStatus::OffsetIllegal => "OFFSET_ILLEGAL",
        }
    }
}

/// What one pull returned.
#[derive(Clone, Debug)]
pub struct PullResult {
    pub status: PullStatus,
    /// Where the next pull of this queue starts.
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    /// The messages found, already filtered by exact tag.
    pub messages: Vec<MessageExt>,
}

/// One pull's parameters.
#[derive(Clone, Debug)]
pub struct PullRequest {
    /// Tag expression: `*`, `TagA`, `TagA || TagB`.
    pub expression: String,
    pub offset: i64,
    pub max_nums: i32,
    /// Long polling: how long the broker may hold the pull when nothing is
    /// there yet. `None` answers at once.
    pub suspend: Option<Duration>,
    /// Commits this offset for the group with the pull, if set.
    pub commit_offset: Option<i64>,
}

impl PullRequest {
    pub fn new(expression: &str, offset: i64, max_nums: i32) -> PullRequest {
        PullRequest { expression: expression.to_owned(), offset, max_nums, suspend: None, commit_offset: None }
    }
}

/// Pulls for one consumer group. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> rmq_client::Result<()> {
/// use rmq_client::{Client, ClientOptions, PullConsumer};
/// use std::time::Duration;
/// let consumer = PullConsumer::new(Client::new(ClientOptions::new("127.0.0.1:9876")), "bench_consumer");
/// for mq in consumer.queues("TopicTest").await? {
///     let mut puller = consumer.puller(mq, "*", 0).with_long_polling(Duration::from_secs(5));
///     let batch = puller.next_batch().await?;
///     println!("{} messages, next offset {}", batch.len(), puller.offset());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct PullConsumer {
    client: Client,
    group: String,
}

impl PullConsumer {
    pub fn new(client: Client, group: &str) -> PullConsumer {
        PullConsumer { client, group: group.to_owned() }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// The topic's readable queues.
    pub async fn queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        let route = self.client.route(topic).await?;
        if route.subscribe.is_empty() {
            return Err(ClientError::NoRoute(topic.to_owned()));
        }
        Ok(route.subscribe.clone())
    }

    /// The master of the queue's broker group (pulls are not served on VIP ports).
    async fn addr_of(&self, mq: &MessageQueue) -> Result<String> {
        let route = self.client.route(&mq.topic).await?;
        route
            .any_addr(&mq.broker_name)
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Invalid(format!("The broker[{}] not exist", mq.broker_name)))
    }

    pub async fn pull(&self, mq: &MessageQueue, req: &PullRequest) -> Result<PullResult> {
        let subscription = SubscriptionData::tags(&mq.topic, &req.expression, 0);
        let mut sys_flag = pull::SUBSCRIPTION;
        if req.suspend.is_some() {
            sys_flag |= pull::SUSPEND;
        }
        if req.commit_offset.is_some() {
            sys_flag |= pull::COMMIT_OFFSET;
        }
        let header = PullMessageRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: req.offset,
            max_msg_nums: req.max_nums,
            sys_flag,
            commit_offset: Some(req.commit_offset.unwrap_or(0)),
            suspend_timeout_millis: Some(req.suspend.map_or(0, |d| d.as_millis() as i64)),
            subscription: Some(subscription.sub_string.clone()),
            sub_version: Some(0),
            expression_type: Some(EXPRESSION_TAG.to_owned()),
            max_msg_bytes: None,
        };
        let addr = self.addr_of(mq).await?;
        let timeout = req.suspend.map(|s| s + Duration::from_secs(10)).or(Some(self.client.timeout()));
        let resp = self.client.invoke(&addr, for_queue(RequestCode::PullMessage, &header, mq), timeout).await?;
        let status = match resp.response_code() {
            ResponseCode::Success => PullStatus::Found,
            ResponseCode::PullNotFound => PullStatus::NoNewMsg,
            ResponseCode::PullRetryImmediately => PullStatus::NoMatchedMsg,
            ResponseCode::PullOffsetMoved => PullStatus::OffsetIllegal,
            _ => return Err(refused(&addr, resp)),
        };
        let h = resp.header::<PullMessageResponseHeader>().map_err(|e| ClientError::Decode {
            what: "pull",
            addr: addr.clone(),
            reason: e.to_string(),
        })?;
        let mut messages = Vec::new();
        if status == PullStatus::Found {
            messages = MessageExt::decode_all(&resp.body.to_bytes()).map_err(|e| ClientError::Decode {
                what: "pull",
                addr: addr.clone(),
                reason: e.to_string(),
            })?;
            if !subscription.is_all() {
                messages.retain(|m| m.tags().is_some_and(|t| subscription.tags_set.iter().any(|s| s == t)));
            }
        }
        let status = if status == PullStatus::Found && messages.is_empty() { PullStatus::NoMatchedMsg } else { status };
        Ok(PullResult {
            status,
            next_begin_offset: h.next_begin_offset,
            min_offset: h.min_offset,
            max_offset: h.max_offset,
            messages,
        })
    }

    async fn offset_call(&self, mq: &MessageQueue, code: RequestCode) -> Result<i64> {
        let header = QueueRequestHeader { topic: mq.topic.clone(), queue_id: mq.queue_id, committed: None };
        let addr = self.addr_of(mq).await?;
        let resp = self.client.call(&addr, for_queue(code, &header, mq)).await?;
        offset_of(&addr, &resp)
    }

    /// The queue's first stored offset (GET_MIN_OFFSET).
    pub async fn min_offset(&self, mq: &MessageQueue) -> Result<i64> {
        self.offset_call(mq, RequestCode::GetMinOffset).await
    }

    /// The queue's next offset (GET_MAX_OFFSET).
    pub async fn max_offset(&self, mq: &MessageQueue) -> Result<i64> {
        self.offset_call(mq, RequestCode::GetMaxOffset).await
    }

    /// The first offset stored at or after `timestamp` ms (SEARCH_OFFSET_BY_TIMESTAMP).
    pub async fn search_offset(&self, mq: &MessageQueue, timestamp: i64) -> Result<i64> {
        let header = SearchOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            timestamp,
            boundary_type: None,
        };
        let addr = self.addr_of(mq).await?;
        let resp = self.client.call(&addr, for_queue(RequestCode::SearchOffsetByTimestamp, &header, mq)).await?;
        offset_of(&addr, &resp)
    }

    /// The group's committed offset of the queue, `None` if it has none.
    pub async fn committed_offset(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            set_zero_if_not_found: Some(false),
        };
        let addr = self.addr_of(mq).await?;
        let resp = self.client.invoke(&addr, for_queue(RequestCode::QueryConsumerOffset, &header, mq), None).await?;
        match resp.response_code() {
            ResponseCode::Success => offset_of(&addr, &resp).map(Some),
            ResponseCode::QueryNotFound => Ok(None),
            _ => Err(refused(&addr, resp)),
        }
    }

    /// Commits the group's offset of the queue (UPDATE_CONSUMER_OFFSET).
    pub async fn commit_offset(&self, mq: &MessageQueue, offset: i64) -> Result<()> {
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            commit_offset: offset,
        };
        let addr = self.addr_of(mq).await?;
        self.client.call(&addr, for_queue(RequestCode::UpdateConsumerOffset, &header, mq)).await.map(drop)
    }

    /// A pull loop over one queue from `offset`.
    pub fn puller(&self, mq: MessageQueue, expression: &str, offset: i64) -> QueuePuller {
        QueuePuller { consumer: self.clone(), mq, request: PullRequest::new(expression, offset, 32) }
    }
}

/// A request about one queue, naming its broker group (`bname`) as 5.x
/// clients do: brokers ignore it, a proxy's remoting port relays by it.
fn for_queue(code: RequestCode, header: &impl CommandHeader, mq: &MessageQueue) -> RemotingCommand {
    RemotingCommand::request(code, header).with_ext("bname", &mq.broker_name)
}

fn offset_of(addr: &str, resp: &RemotingCommand) -> Result<i64> {
    resp.header::<OffsetResponseHeader>().map(|h| h.offset).map_err(|e| ClientError::Decode {
        what: "offset",
        addr: addr.to_owned(),
        reason: e.to_string(),
    })
}

/// Pulls one queue batch after batch, keeping its offset: an illegal offset
/// moves to where the broker points, an empty answer returns an empty batch.
#[derive(Clone, Debug)]
pub struct QueuePuller {
    consumer: PullConsumer,
    mq: MessageQueue,
    request: PullRequest,
}

impl QueuePuller {
    /// Lets the broker hold each pull up to `suspend` while nothing is new.
    pub fn with_long_polling(mut self, suspend: Duration) -> QueuePuller {
        self.request.suspend = Some(suspend);
        self
    }

    pub fn with_batch_size(mut self, max_nums: i32) -> QueuePuller {
        self.request.max_nums = max_nums;
        self
    }

    pub fn queue(&self) -> &MessageQueue {
        &self.mq
    }

    /// The offset the next pull starts at.
    pub fn offset(&self) -> i64 {
        self.request.offset
    }

    /// The next batch (possibly empty) and the offset moved past it.
    pub async fn next_batch(&mut self) -> Result<Vec<MessageExt>> {
        let result = self.consumer.pull(&self.mq, &self.request).await?;
        self.request.offset = result.next_begin_offset;
        Ok(result.messages)
    }
}
