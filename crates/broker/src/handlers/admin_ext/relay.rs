//! Admin calls answered by the clients themselves, passed on over the
//! client's own connection: GET_CONSUMER_RUNNING_INFO (307) and
//! CONSUME_MESSAGE_DIRECTLY (309) to one consumer, and
//! INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223) to every consumer of a group
//! (as GET_CONSUMER_STATUS_FROM_CLIENT, 221).

use rmq_model::msg_id;
use rmq_protocol::body::admin::GetConsumerStatusBody;
use rmq_protocol::header::{
    ConsumeMessageDirectlyRequestHeader, GetConsumerRunningInfoRequestHeader, GetConsumerStatusRequestHeader,
};
use rmq_protocol::{Body, RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::RemotingError;
use std::time::Duration;

use crate::handlers::admin::Admin;
use crate::handlers::{header_or_reply, reply};

/// How long a relayed call may take at the client (Java's `callClient`).
const CLIENT_CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long each client may take to report its status (Java's 5 s).
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn to_consumer(admin: &Admin, req: RemotingCommand) -> RemotingCommand {
    let (group, client_id, mut body) = if req.request_code() == RequestCode::GetConsumerRunningInfo {
        let h = header_or_reply!(req, GetConsumerRunningInfoRequestHeader);
        (h.consumer_group, h.client_id, req.body.clone())
    } else {
        let h = header_or_reply!(req, ConsumeMessageDirectlyRequestHeader);
        // The message travels with the request; the id may also be a client
        // (unique) id that does not decode, then the body stays as sent.
        let record = h
            .msg_id
            .as_deref()
            .and_then(|id| msg_id::decode_offset_msg_id(id).ok())
            .and_then(|(_, offset)| admin.store.message_at(offset));
        let body = record.map_or_else(|| req.body.clone(), Body::from);
        (h.consumer_group, h.client_id.unwrap_or_default(), body)
    };
    let Some(channel) = admin.clients.consumer_channel(&group, &client_id) else {
        return reply(ResponseCode::SystemError, format!("The Consumer <{group}> <{client_id}> not online"));
    };
    let mut relayed = RemotingCommand::bare_request(req.request_code());
    relayed.ext_fields = req.ext_fields.clone();
    if relayed.request_code() == RequestCode::ConsumeMessageDirectly {
        relayed.ext_fields.insert("brokerName", &admin.identity.broker_name);
    }
    relayed.body = std::mem::take(&mut body);
    match channel.conn.request(relayed, CLIENT_CALL_TIMEOUT).await {
        Ok(answer) => answer,
        Err(RemotingError::Timeout { .. }) => reply(
            ResponseCode::ConsumeMsgTimeout,
            format!("consumer <{group}> <{client_id}> Timeout: no answer within {CLIENT_CALL_TIMEOUT:?}"),
        ),
        Err(e) => reply(ResponseCode::SystemError, format!("invoke consumer <{group}> <{client_id}> Exception: {e}")),
    }
}

pub(super) async fn consumer_status(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, GetConsumerStatusRequestHeader);
    let Some(group) = admin.clients.consumer_group(&h.group) else {
        return reply(
            ResponseCode::SystemError,
            format!("No Any Consumer online in the consumer group: [{}]", h.group),
        );
    };
    let only = h.client_addr.as_deref().filter(|c| !c.trim().is_empty());
    let ask = GetConsumerStatusRequestHeader { topic: h.topic.clone(), group: h.group.clone(), client_addr: None };
    let mut answer = GetConsumerStatusBody::default();
    for channel in group.channels.values() {
        if only.is_some_and(|c| c != channel.client_id) {
            continue;
        }
        let request = RemotingCommand::request(RequestCode::GetConsumerStatusFromClient, &ask);
        match channel.conn.request(request, STATUS_TIMEOUT).await {
            Ok(resp) if resp.code == 0 && !resp.body.is_empty() => {
                match GetConsumerStatusBody::decode(&resp.body.to_bytes()) {
                    Ok(status) => {
                        answer.consumer_table.insert(channel.client_id.clone(), status.message_queue_table);
                    }
                    Err(e) => tracing::warn!("[get-consumer-status] bad status from {}: {e}", channel.client_id),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("[get-consumer-status] {} did not answer: {e}", channel.client_id),
        }
    }
    RemotingCommand::success().with_body(answer.encode())
}
