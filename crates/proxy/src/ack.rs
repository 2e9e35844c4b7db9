//! AckMessage, ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue:
//! each names a popped message by its receipt handle; the handle says which
//! broker group, queue and offset, and the proxy asks that group's master.

use rmq_protocol::header::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    ConsumerSendMsgBackRequestHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::Proxy;
use crate::context::Ctx;
use crate::convert::{duration_ms, group_name, topic_name};
use crate::pb::{
    AckMessageEntry, AckMessageRequest, AckMessageResponse, AckMessageResultEntry, ChangeInvisibleDurationRequest,
    ChangeInvisibleDurationResponse, Code, ForwardMessageToDeadLetterQueueRequest,
    ForwardMessageToDeadLetterQueueResponse,
};
use crate::receipt::ClientHandle;
use crate::status::{Outcome, Refusal, from_remoting, ok, overall};

/// A handle the client may still use: well formed and not yet expired.
fn live_handle(text: &str) -> Outcome<ClientHandle> {
    let handle = ClientHandle::parse(text)?;
    if handle.next_visible() <= rmq_model::clock::now_ms() {
        return Err(Refusal::new(Code::InvalidReceiptHandle, "receipt handle is expired"));
    }
    Ok(handle)
}

fn answer_status(resp: &RemotingCommand) -> crate::pb::Status {
    from_remoting(resp.code, resp.remark.as_deref().unwrap_or(""))
}

impl Proxy {
    pub(crate) async fn ack_message(&self, ctx: &Ctx, req: AckMessageRequest) -> Outcome<AckMessageResponse> {
        let topic = topic_name(req.topic.as_ref())?;
        let group = group_name(req.group.as_ref())?;
        let acks = req.entries.iter().map(|e| self.ack_one(ctx, &topic, &group, e));
        let entries: Vec<AckMessageResultEntry> = futures_util::future::join_all(acks).await;
        let status = overall(entries.iter().filter_map(|e| e.status.as_ref()));
        Ok(AckMessageResponse { status: Some(status), entries })
    }

    async fn ack_one(&self, ctx: &Ctx, topic: &str, group: &str, entry: &AckMessageEntry) -> AckMessageResultEntry {
        let acked = async {
            let handle = self.current_handle(ctx, group, &entry.receipt_handle).await?;
            self.ack_handle(topic, group, &handle).await
        };
        let status = match acked.await {
            Ok(()) => ok(),
            Err(refusal) => refusal.0,
        };
        AckMessageResultEntry {
            message_id: entry.message_id.clone(),
            receipt_handle: entry.receipt_handle.clone(),
            status: Some(status),
        }
    }

    /// The handle to use for what the client calls `text`: the proxy's
    /// latest one when it has been renewing the message (which also stops
    /// the renewing, as Java's proxy does on ack, nack and DLQ forward),
    /// else the client's own, if still live.
    async fn current_handle(&self, ctx: &Ctx, group: &str, text: &str) -> Outcome<ClientHandle> {
        match self.renewals.release(&ctx.client_id, group, text).await {
            Some(held) if held.next_visible() > rmq_model::clock::now_ms() => Ok(held),
            Some(_) => Err(Refusal::new(Code::InvalidReceiptHandle, "receipt handle is expired")),
            None => live_handle(text),
        }
    }

    async fn ack_handle(&self, topic: &str, group: &str, handle: &ClientHandle) -> Outcome<()> {
        let addr = self.brokers.master(topic, &handle.handle.broker_name).await?;
        let header = AckMessageRequestHeader {
            consumer_group: group.to_owned(),
            topic: handle.handle.retry.real_topic(topic, group),
            queue_id: handle.handle.queue_id,
            extra_info: handle.handle.to_string(),
            offset: handle.offset(),
        };
        let resp = self.brokers.invoke(&addr, RemotingCommand::request(RequestCode::AckMessage, &header), None).await?;
        if resp.code != ResponseCode::Success.to_i32() {
            return Err(Refusal(answer_status(&resp)));
        }
        Ok(())
    }

    /// CHANGE_MESSAGE_INVISIBLETIME for a popped message at its broker's
    /// master; the handle that names it from then on.
    pub(crate) async fn change_invisible(
        &self,
        topic: &str,
        group: &str,
        handle: &ClientHandle,
        invisible_ms: i64,
    ) -> Outcome<ClientHandle> {
        let addr = self.brokers.master(topic, &handle.handle.broker_name).await?;
        let header = ChangeInvisibleTimeRequestHeader {
            consumer_group: group.to_owned(),
            topic: handle.handle.retry.real_topic(topic, group),
            queue_id: handle.handle.queue_id,
            extra_info: handle.handle.to_string(),
            offset: handle.offset(),
            invisible_time: invisible_ms,
        };
        let cmd = RemotingCommand::request(RequestCode::ChangeMessageInvisibletime, &header);
        let resp = self.brokers.invoke(&addr, cmd, None).await?;
        if resp.code != ResponseCode::Success.to_i32() {
            return Err(Refusal(answer_status(&resp)));
        }
        let answer: ChangeInvisibleTimeResponseHeader =
            resp.header().map_err(|e| Refusal::new(Code::InternalServerError, format!("the broker's answer: {e}")))?;
        let mut renewed = handle.clone();
        renewed.handle.pop_time = answer.pop_time;
        renewed.handle.invisible_time = answer.invisible_time;
        renewed.handle.revive_qid = answer.revive_qid;
        Ok(renewed)
    }

    pub(crate) async fn change_invisible_duration(
        &self,
        ctx: &Ctx,
        req: ChangeInvisibleDurationRequest,
    ) -> Outcome<ChangeInvisibleDurationResponse> {
        let topic = topic_name(req.topic.as_ref())?;
        let group = group_name(req.group.as_ref())?;
        let invisible = req.invisible_duration.as_ref().map_or(-1, duration_ms);
        if !(0..=self.config.max_invisible_ms).contains(&invisible) {
            return Err(Refusal::new(
                Code::IllegalInvisibleTime,
                format!("the invisible time {invisible} ms is illegal"),
            ));
        }
        let handle = self.current_handle(ctx, &group, &req.receipt_handle).await?;
        let renewed = self.change_invisible(&topic, &group, &handle, invisible).await?;
        Ok(ChangeInvisibleDurationResponse { status: Some(ok()), receipt_handle: renewed.to_string() })
    }

    pub(crate) async fn forward_to_dead_letter_queue(
        &self,
        ctx: &Ctx,
        req: ForwardMessageToDeadLetterQueueRequest,
    ) -> Outcome<ForwardMessageToDeadLetterQueueResponse> {
        let topic = topic_name(req.topic.as_ref())?;
        let group = group_name(req.group.as_ref())?;
        let handle = match self.renewals.release(&ctx.client_id, &group, &req.receipt_handle).await {
            Some(held) => held,
            None => ClientHandle::parse(&req.receipt_handle)?,
        };
        if handle.commit_log_offset < 0 {
            return Err(Refusal::new(Code::InvalidReceiptHandle, "commit log offset is empty"));
        }
        let addr = self.brokers.master(&topic, &handle.handle.broker_name).await?;
        let header = ConsumerSendMsgBackRequestHeader {
            offset: handle.commit_log_offset,
            group: group.clone(),
            delay_level: -1,
            origin_msg_id: Some(req.message_id.clone()),
            origin_topic: Some(handle.handle.retry.real_topic(&topic, &group)),
            unit_mode: None,
            max_reconsume_times: Some(0),
        };
        let cmd = RemotingCommand::request(RequestCode::ConsumerSendMsgBack, &header);
        let resp = self.brokers.invoke(&addr, cmd, None).await?;
        if resp.code == ResponseCode::Success.to_i32() {
            // The message now lies in the DLQ: the popped copy is done with.
            if let Err(e) = self.ack_handle(&topic, &group, &handle).await {
                tracing::debug!("ack after the DLQ forward failed: {}", e.0.message);
            }
        }
        Ok(ForwardMessageToDeadLetterQueueResponse { status: Some(answer_status(&resp)) })
    }
}
