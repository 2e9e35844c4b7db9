//! The request subsystems, one module per family of request codes. Each is a
//! struct holding the handles it needs; its methods take the connection and
//! the request and return the response (or nothing, for requests answered
//! later or never).

pub(crate) mod ack;
pub(crate) mod admin;
pub(crate) mod admin_ext;
pub(crate) mod assignment;
pub(crate) mod client;
pub(crate) mod lock;
pub(crate) mod offset;
pub(crate) mod pop;
pub(crate) mod pull;
pub(crate) mod query;
pub(crate) mod recall;
pub(crate) mod send;
pub(crate) mod send_back;
pub(crate) mod store_error;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod memory_log;
#[cfg(test)]
mod tests;

use rmq_model::{PhysicalOffset, QueueOffset, record};
use rmq_protocol::{HeaderError, RemotingCommand, ResponseCode};

/// Asked by the requests that name a stored record by its CommitLog offset
/// (VIEW_MESSAGE_BY_ID, CONSUMER_SEND_MSG_BACK) with the record's topic, or
/// `None` when no consume queue vouches for the record: `Some(refusal)` to
/// withhold it. `None` as a gate: ACL is off.
pub(crate) type ReadGate<'a> = &'a (dyn Fn(Option<&str>) -> Option<RemotingCommand> + Sync);

/// The topic of the record `bytes` found at CommitLog `offset`, if its
/// consume-queue entry points back at it. Only then is the topic trusted:
/// bytes inside a message body may be shaped like a record naming any topic
/// and spanning the records that follow.
pub(crate) fn vouched_topic(
    bytes: &[u8],
    offset: u64,
    entry_at: impl Fn(&str, i32, QueueOffset) -> Option<PhysicalOffset>,
) -> Option<String> {
    let view = record::decode_message(bytes, false).ok()?;
    let queue_offset = QueueOffset(u64::try_from(view.queue_offset).ok()?);
    let entry = entry_at(view.topic, view.queue_id, queue_offset)?;
    (u64::try_from(view.physical_offset).ok() == Some(offset) && entry == PhysicalOffset(offset))
        .then(|| view.topic.to_owned())
}

/// A response with `code` and `remark`.
pub(crate) fn reply(code: ResponseCode, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::response(code, Some(remark.into()))
}

/// The answer to a request whose custom header is missing a required field
/// or has one that does not parse: SYSTEM_ERROR naming the field.
pub(crate) fn bad_header(e: HeaderError) -> RemotingCommand {
    reply(ResponseCode::SystemError, e.to_string())
}

/// Decodes the custom header or returns the error response from the handler.
macro_rules! header_or_reply {
    ($req:expr, $ty:ty) => {
        match $req.header::<$ty>() {
            Ok(h) => h,
            Err(e) => return $crate::handlers::bad_header(e).into(),
        }
    };
}
pub(crate) use header_or_reply;
