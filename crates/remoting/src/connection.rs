//! TODO(remoting helper): implement. Signatures are the contract others code against.

use rmq_protocol::RemotingCommand;
use std::net::SocketAddr;
use std::time::Duration;

use crate::RemotingError;

/// Identifies a connection for as long as the process lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// A handle to one live connection; clone it freely.
#[derive(Clone, Debug)]
pub struct Connection {}

impl Connection {
    pub fn id(&self) -> ConnectionId {
        todo!()
    }
    /// The peer's address.
    pub fn remote_addr(&self) -> SocketAddr {
        todo!()
    }
    /// Our side's address.
    pub fn local_addr(&self) -> SocketAddr {
        todo!()
    }
    /// Sends a request to the peer and waits for its response.
    pub async fn request(
        &self,
        _request: RemotingCommand,
        _timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        todo!()
    }
    /// Sends a request the peer will not answer.
    pub async fn oneway(&self, _request: RemotingCommand) -> Result<(), RemotingError> {
        todo!()
    }
    pub fn is_closed(&self) -> bool {
        todo!()
    }
    /// Closes the connection; in-flight requests fail with `Closed`.
    pub fn close(&self) {
        todo!()
    }
}
