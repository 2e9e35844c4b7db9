//! The NameServer's one error type, and the one place it becomes a response.

use std::io;
use std::path::PathBuf;

use rmq_protocol::body::register::RegisterBodyError;
use rmq_protocol::{HeaderError, RemotingCommand, ResponseCode};

pub type Result<T, E = NamesrvError> = std::result::Result<T, E>;

/// `FAQUrl.suggestTodo(FAQUrl.APPLY_TOPIC_URL)` of 4.9.8, which Java appends
/// to the TOPIC_NOT_EXIST remark.
pub use rmq_protocol::remark::FAQ_SUFFIX as APPLY_TOPIC_SUGGESTION;

#[derive(Debug, thiserror::Error)]
pub enum NamesrvError {
    /// A required ext field is missing or unreadable.
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error(transparent)]
    RegisterBody(#[from] RegisterBodyError),
    /// REGISTER_BROKER's `bodyCrc32` does not match its body.
    #[error("crc32 not match")]
    CrcMismatch { expected: i32, actual: i32 },
    #[error("No topic route info in name server for the topic: {0}{APPLY_TOPIC_SUGGESTION}")]
    TopicNotExist(String),
    #[error("No config item, Namespace: {namespace} Key: {key}")]
    KvNotFound { namespace: String, key: String },
    #[error("No config item, Namespace: {0}")]
    NamespaceNotFound(String),
    #[error("namespace or key is null")]
    NamespaceOrKeyNull,
    #[error("Can not update config in black list.")]
    ConfigBlackListed { key: String },
    /// A state-changing request from an address outside `writeAllowedAddresses`.
    #[error("{code} refused: {peer} is not in the NameServer's writeAllowedAddresses")]
    WriteNotAllowed { code: String, peer: String },
    /// 5.x `enableAllTopicList` / `enableTopicList` switched off.
    #[error("disable")]
    Disabled,
    /// A body that must be there is absent or unreadable.
    #[error("{0}")]
    BadBody(String),
    #[error("config key '{key}' has an illegal value '{value}': {reason}")]
    BadConfigValue { key: String, value: String, reason: String },
    #[error("cannot write {}: {source}", path.display())]
    Persist { path: PathBuf, source: io::Error },
    #[error("cannot read {}: {reason}", path.display())]
    Load { path: PathBuf, reason: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: io::Error },
    /// The metrics keys are wrong, or `metricsExporterRequired` and the port
    /// cannot be bound.
    #[error("metrics: {0}")]
    Metrics(String),
}

impl NamesrvError {
    /// The response code Java answers this failure with.
    pub fn response_code(&self) -> ResponseCode {
        match self {
            NamesrvError::TopicNotExist(_) => ResponseCode::TopicNotExist,
            NamesrvError::KvNotFound { .. } | NamesrvError::NamespaceNotFound(_) => ResponseCode::QueryNotFound,
            NamesrvError::ConfigBlackListed { .. } | NamesrvError::WriteNotAllowed { .. } => ResponseCode::NoPermission,
            _ => ResponseCode::SystemError,
        }
    }

    /// The response to a request that failed with this error.
    pub fn to_response(&self) -> RemotingCommand {
        RemotingCommand::response(self.response_code(), Some(self.to_string()))
    }
}

impl From<rmq_model::config::BadValue> for NamesrvError {
    fn from(bad: rmq_model::config::BadValue) -> NamesrvError {
        NamesrvError::BadConfigValue { key: bad.key, value: bad.value, reason: bad.reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remarks_and_codes_are_javas() {
        let e = NamesrvError::TopicNotExist("T".into());
        let resp = e.to_response();
        assert_eq!(resp.code, 17);
        assert_eq!(
            resp.remark.as_deref(),
            Some(
                "No topic route info in name server for the topic: T\nSee http://rocketmq.apache.org/docs/faq/ for further details."
            )
        );
        let e = NamesrvError::KvNotFound { namespace: "ns".into(), key: "k".into() };
        assert_eq!((e.response_code().to_i32(), e.to_string().as_str()), (22, "No config item, Namespace: ns Key: k"));
        let e = NamesrvError::ConfigBlackListed { key: "kvConfigPath".into() };
        assert_eq!(e.to_response().code, 16);
        assert_eq!(
            NamesrvError::CrcMismatch { expected: 1, actual: 2 }.to_response().remark.as_deref(),
            Some("crc32 not match")
        );
        let e = NamesrvError::from(HeaderError::Missing("brokerName"));
        assert_eq!(e.to_response().code, 1);
        assert!(e.to_string().contains("brokerName"));
    }
}
