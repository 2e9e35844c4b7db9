//! Transport errors.

use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RemotingError {
    #[error("connect to {addr} failed: {source}")]
    Connect { addr: String, source: std::io::Error },
    #[error("wait response on the channel <{addr}> timeout, {timeout:?}")]
    Timeout { addr: SocketAddr, timeout: Duration },
    #[error("the connection to {0} is closed")]
    Closed(SocketAddr),
    #[error("too many requests in flight to {0}")]
    Busy(SocketAddr),
    #[error(transparent)]
    Frame(#[from] rmq_protocol::FrameError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
