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
pub(crate) mod send;
pub(crate) mod send_back;
pub(crate) mod store_error;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod memory_log;
#[cfg(test)]
mod tests;

use rmq_protocol::{HeaderError, RemotingCommand, ResponseCode};

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
