//! TODO(remoting helper): implement. Signatures are the contract others code against.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::Service;

/// Limits and timeouts of a server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub max_connections: usize,
    pub max_frame: usize,
    pub max_in_flight_per_connection: usize,
    /// Close a connection with no traffic either way for this long (Java: 120 s).
    pub idle_timeout: Duration,
    /// At shutdown, how long in-flight requests may still finish.
    pub shutdown_grace: Duration,
}

/// A bound listener, ready to run.
#[derive(Debug)]
pub struct Server {}

impl Server {
    pub async fn bind(_config: ServerConfig) -> std::io::Result<Server> {
        todo!()
    }
    pub fn local_addr(&self) -> SocketAddr {
        todo!()
    }
    /// Serves until `shutdown` is cancelled, then stops accepting, lets
    /// in-flight requests finish within the grace period and returns once
    /// every task it spawned has ended.
    pub async fn run<S: Service>(self, _service: Arc<S>, _shutdown: CancellationToken) {
        todo!()
    }
}
