//! The controller's one error type.

use std::io;
use std::path::PathBuf;

use rmq_protocol::{HeaderError, RemotingCommand, ResponseCode};

pub type Result<T, E = ControllerError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// A required ext field is missing or unreadable.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A body that must be there is absent or unreadable.
    #[error("{0}")]
    BadBody(String),
    /// The configuration cannot work (peers, self id).
    #[error("{0}")]
    Config(String),
    /// The event log cannot be appended to: the change is refused, the state
    /// stays as it was.
    #[error("cannot write the controller event log {}: {source}", path.display())]
    Persist { path: PathBuf, source: io::Error },
    /// The event log cannot be read back at start.
    #[error("cannot replay the controller event log {}: {reason}", path.display())]
    Replay { path: PathBuf, reason: String },
    /// This controller does not lead its group (Raft): the request goes to the leader.
    #[error("The controller is not in leader state, the leader is {}", leader.as_ref().map_or("unknown".to_owned(), |p| format!("{}-{}", p.id, p.addr)))]
    NotLeader { leader: Option<crate::config::Peer> },
    /// Consensus failed (no quorum in time, a stopped member).
    #[error("controller consensus: {0}")]
    Raft(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: io::Error },
}

impl ControllerError {
    /// The response Java answers this failure with.
    pub fn to_response(&self) -> RemotingCommand {
        let code = match self {
            ControllerError::NotLeader { .. } => ResponseCode::ControllerNotLeader,
            _ => ResponseCode::SystemError,
        };
        RemotingCommand::response(code, Some(self.to_string()))
    }
}
