//! TODO(remoting helper): implement. Signatures are the contract others code against.

use rmq_protocol::RemotingCommand;
use std::sync::Arc;
use std::time::Duration;

use crate::{Connection, RemotingError, Service};

#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub connect_timeout: Duration,
    pub max_frame: usize,
}

/// Connections to many servers, by `host:port` address.
#[derive(Clone, Debug)]
pub struct Client {}

impl Client {
    /// A client whose peers' requests (if any) go to `service`.
    pub fn new<S: Service>(_config: ClientConfig, _service: Arc<S>) -> Client {
        todo!()
    }
    /// The live connection to `addr`, opening one if needed.
    pub async fn connection(&self, _addr: &str) -> Result<Connection, RemotingError> {
        todo!()
    }
    pub async fn invoke(
        &self,
        _addr: &str,
        _request: RemotingCommand,
        _timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        todo!()
    }
    pub async fn invoke_oneway(&self, _addr: &str, _request: RemotingCommand) -> Result<(), RemotingError> {
        todo!()
    }
    /// Closes every connection.
    pub fn close_all(&self) {
        todo!()
    }
}
