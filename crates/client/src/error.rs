//! What can go wrong talking to NameServers and brokers.

use rmq_protocol::ResponseCode;
use rmq_remoting::RemotingError;

/// One error type for the whole client: transport failures, refusals by a
/// server (with its code and remark), and answers that do not decode.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    /// A server answered with an error code; the display is Java's
    /// `MQBrokerException` text.
    #[error("CODE: {code}  DESC: {remark}")]
    Refused { addr: String, code: i32, remark: String },
    #[error("no NameServer address: give -n, or set NAMESRV_ADDR")]
    NoNameServer,
    #[error("No topic route info in name server for the topic: {0}")]
    NoRoute(String),
    #[error("the {what} answer of {addr} does not decode: {reason}")]
    Decode { what: &'static str, addr: String, reason: String },
    #[error(transparent)]
    MsgId(#[from] rmq_model::msg_id::MsgIdError),
    #[error("{0}")]
    Invalid(String),
}

impl ClientError {
    /// The server's response code, if a server refused.
    pub fn code(&self) -> Option<ResponseCode> {
        match self {
            ClientError::Refused { code, .. } => Some(ResponseCode::from(*code)),
            _ => None,
        }
    }

    /// Whether the request never got an answer (connect failure, timeout,
    /// closed connection): sends retry these on another broker.
    pub fn is_transport(&self) -> bool {
        matches!(self, ClientError::Remoting(_))
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
