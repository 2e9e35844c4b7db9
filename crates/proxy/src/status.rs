//! Outcomes as Java's proxy reports them: the gRPC call itself succeeds and
//! the response's `Status` carries a RocketMQ `Code` and a message.

use crate::pb::{Code, Status};
use rmq_client::ClientError;
use rmq_protocol::ResponseCode;
use rmq_remoting::RemotingError;

pub(crate) fn ok() -> Status {
    status(Code::Ok, "OK")
}

pub(crate) fn status(code: Code, message: impl Into<String>) -> Status {
    Status { code: code as i32, message: message.into() }
}

/// A refusal of the request itself, before any broker is asked.
#[derive(Debug, Clone)]
pub(crate) struct Refusal(pub Status);

impl Refusal {
    pub fn new(code: Code, message: impl Into<String>) -> Refusal {
        Refusal(status(code, message))
    }
}

pub(crate) type Outcome<T> = Result<T, Refusal>;

/// The `Code` for a broker's answer, by Java's table: only a few remoting
/// codes have their own; everything else is INTERNAL_SERVER_ERROR with the
/// broker's remark.
pub(crate) fn from_remoting(code: i32, remark: &str) -> Status {
    let mapped = match ResponseCode::from(code) {
        ResponseCode::Success => Code::Ok,
        ResponseCode::SystemBusy => Code::TooManyRequests,
        ResponseCode::RequestCodeNotSupported => Code::NotImplemented,
        ResponseCode::SubscriptionGroupNotExist => Code::ConsumerGroupNotFound,
        ResponseCode::TopicNotExist => Code::TopicNotFound,
        _ => Code::InternalServerError,
    };
    status(mapped, if remark.is_empty() { mapped.as_str_name().to_owned() } else { remark.to_owned() })
}

/// A failed call to a broker or NameServer.
pub(crate) fn from_client_error(e: &ClientError) -> Status {
    match e {
        ClientError::Refused { code, remark, .. } => from_remoting(*code, remark),
        ClientError::NoRoute(topic) => status(Code::TopicNotFound, format!("no route info for topic {topic}")),
        ClientError::Remoting(RemotingError::Timeout { .. }) => status(Code::ProxyTimeout, e.to_string()),
        other => status(Code::InternalServerError, other.to_string()),
    }
}

impl From<ClientError> for Refusal {
    fn from(e: ClientError) -> Refusal {
        Refusal(from_client_error(&e))
    }
}

/// The overall status of a response with one status per entry: the common
/// code if all agree, else MULTIPLE_RESULTS.
pub(crate) fn overall<'a>(entries: impl IntoIterator<Item = &'a Status>) -> Status {
    let mut first: Option<&Status> = None;
    for s in entries {
        match first {
            None => first = Some(s),
            Some(f) if f.code != s.code => return status(Code::MultipleResults, "MULTIPLE_RESULTS"),
            _ => {}
        }
    }
    match first {
        Some(s) if s.code == Code::Ok as i32 => ok(),
        Some(s) => s.clone(),
        None => ok(),
    }
}
