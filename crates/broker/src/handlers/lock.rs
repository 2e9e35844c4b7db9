//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42): orderly consumers lock the
//! queues they consume ([`crate::lock`]). The lock answer lists the
//! queues the client now holds; queues another live client holds are simply
//! missing from it, as in Java.

use rmq_model::fastjson;
use rmq_protocol::body::lock::{LockBatchRequestBody, LockBatchResponseBody};
use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_remoting::Connection;

use super::client::Membership;
use super::reply;
use crate::now_ms;

impl Membership {
    pub(crate) fn lock(&self, conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
        let body: LockBatchRequestBody = match decode(req) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        let held = self.locks.lock(&body.consumer_group, &body.client_id, &body.mq_set, now_ms());
        if held.len() < body.mq_set.len() {
            tracing::debug!(
                "{} ({}) of group {} asked for {} queue locks, got {}",
                body.client_id,
                conn.remote_addr(),
                body.consumer_group,
                body.mq_set.len(),
                held.len()
            );
        }
        RemotingCommand::success().with_body(fastjson::to_vec(&LockBatchResponseBody { lock_ok_mq_set: held }))
    }

    pub(crate) fn unlock(&self, req: &RemotingCommand) -> RemotingCommand {
        let body: LockBatchRequestBody = match decode(req) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        self.locks.unlock(&body.consumer_group, &body.client_id, &body.mq_set);
        RemotingCommand::success()
    }
}

/// The lock and unlock bodies share their shape; a body that is missing or
/// does not parse, or names no group or client, is refused with a remark.
fn decode(req: &RemotingCommand) -> Result<LockBatchRequestBody, RemotingCommand> {
    let bytes = req.body.to_bytes();
    let body: LockBatchRequestBody = fastjson::from_slice(&bytes)
        .map_err(|e| reply(ResponseCode::SystemError, format!("the queue lock request body is not valid: {e}")))?;
    if body.consumer_group.is_empty() || body.client_id.is_empty() {
        return Err(reply(ResponseCode::SystemError, "the queue lock request names no consumerGroup or clientId"));
    }
    Ok(body)
}
