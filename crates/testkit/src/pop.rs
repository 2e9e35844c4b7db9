//! A POP consumer's side of the wire, for tests: the requests, and the
//! reading of a POP response the way Java's client reads it (each message's
//! receipt handle from the response's offset lists, unless the broker wrote
//! `POP_CK` into the message).

use rmq_model::record;
use rmq_protocol::header::{AckMessageRequestHeader, PopMessageRequestHeader, PopMessageResponseHeader};
use rmq_protocol::receipt::{PopHandles, ReceiptHandle};
use rmq_protocol::{RemotingCommand, RequestCode};

/// A popped message as a client sees it.
#[derive(Debug, Clone)]
pub struct Popped {
    pub body: String,
    pub topic: String,
    pub queue_id: i32,
    pub offset: i64,
    pub reconsume_times: i32,
    pub handle: ReceiptHandle,
}

/// What a POP asks for.
#[derive(Debug, Clone)]
pub struct PopAsk<'a> {
    pub group: &'a str,
    pub topic: &'a str,
    pub queue_id: i32,
    pub max: i32,
    pub invisible_ms: i64,
    pub poll_ms: i64,
    pub order: bool,
}

pub fn pop_request(ask: &PopAsk<'_>) -> RemotingCommand {
    let header = PopMessageRequestHeader {
        consumer_group: ask.group.into(),
        topic: ask.topic.into(),
        queue_id: ask.queue_id,
        max_msg_nums: ask.max,
        invisible_time: ask.invisible_ms,
        poll_time: ask.poll_ms,
        born_time: Some(now_ms()),
        init_mode: Some(1),
        exp_type: Some("TAG".into()),
        exp: Some("*".into()),
        order: Some(ask.order),
        attempt_id: None,
    };
    RemotingCommand::request(RequestCode::PopMessage, &header)
}

/// The messages of a POP response with their handles (none unless SUCCESS).
pub fn popped(r: &RemotingCommand, broker_name: &str) -> Vec<Popped> {
    if r.code != 0 {
        return Vec::new();
    }
    let Ok(header) = r.header::<PopMessageResponseHeader>() else {
        return Vec::new();
    };
    let handles = PopHandles::new(&header, broker_name);
    let bytes = r.body.to_bytes();
    record::records(&bytes, false)
        .filter_map(Result::ok)
        .map(|m| {
            let pop_ck =
                record::property_value(m.properties, "POP_CK").map(|ck| String::from_utf8_lossy(ck).into_owned());
            if let Some(ck) = &pop_ck {
                ReceiptHandle::parse(ck).expect("a POP_CK the broker wrote");
            }
            let handle = handles.handle(pop_ck.as_deref(), m.topic, m.queue_id, m.queue_offset);
            Popped {
                body: String::from_utf8_lossy(m.body).into_owned(),
                topic: m.topic.to_owned(),
                queue_id: m.queue_id,
                offset: handle.offset.unwrap_or(m.queue_offset),
                reconsume_times: m.reconsume_times,
                handle,
            }
        })
        .collect()
}

/// ACK_MESSAGE of a popped message of `topic`, naming the topic the message
/// really lies in, as Java's client does.
pub fn ack_request(group: &str, topic: &str, got: &Popped) -> RemotingCommand {
    let header = AckMessageRequestHeader {
        consumer_group: group.into(),
        topic: got.handle.retry.real_topic(topic, group),
        queue_id: got.handle.queue_id,
        extra_info: got.handle.to_string(),
        offset: got.offset,
    };
    RemotingCommand::request(RequestCode::AckMessage, &header)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
