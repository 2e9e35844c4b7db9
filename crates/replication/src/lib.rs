//! Classic RocketMQ master/slave replication (4.9.8 [`HAService`][ha] and
//! `HAConnection`; not DLedger): a slave connects to its master's HA port and
//! reports its CommitLog end; the master streams raw CommitLog bytes from
//! there; the slave appends them verbatim and its store dispatches them like
//! its own writes. SYNC_MASTER sends wait for a slave's acknowledgement.
//!
//! [ha]: https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/store/src/main/java/org/apache/rocketmq/store/ha/HAService.java
//!
//! Layout:
//! * [`codec`]: the wire format, pure;
//! * [`admission`]: which peers a master serves (registered slaves and an
//!   allow-list; an rmq extension), pure;
//! * [`handshake`]: the optional challenge a master puts to a slave before
//!   streaming (`haAuthEnable`; an rmq extension);
//! * [`master`], [`slave`], [`sync`]: the state machines, pure — events in
//!   (a report, a transfer, bytes sent, time passed), decisions out (what to
//!   send, what to append, which SYNC waiters to release, when to close);
//! * [`server`], [`client`]: the tokio tasks that drive them over sockets;
//! * [`epoch`]: the epoch file of controller mode, and where two logs
//!   agree;
//! * [`log`]: the few store operations they need, as a trait ([`ReplicaLog`]),
//!   implemented for [`rmq_store::MessageStore`].
//!
//! It depends on the store and the model; it knows nothing of the broker or
//! the remoting protocol.

#![forbid(unsafe_code)]

pub mod admission;
pub mod client;
pub mod codec;
pub mod epoch;
pub mod handshake;
pub mod hello;
pub mod log;
pub mod master;
pub mod server;
pub mod slave;
pub mod sync;
mod timing;

pub use admission::{Admission, AllowList};
pub use client::{Slave, SlaveStatus};
pub use handshake::{HaCredentials, SecretLookup};
pub use hello::ReplicaHello;
pub use log::ReplicaLog;
pub use server::{Master, MasterStatus, SyncOutcome};
pub use sync::Lag;
pub use timing::HaConfig;

/// Why a driver dropped a connection: one log line each.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("peer sent garbage: {0}")]
    Garbage(codec::WireError),
    #[error("{0}")]
    Master(master::MasterClose),
    #[error("{0}")]
    Slave(slave::SlaveClose),
    #[error("store refused replicated bytes: {0}")]
    Store(#[from] rmq_store::StoreError),
    #[error("replica hello: {0}")]
    Hello(#[from] hello::HelloError),
    #[error("HA authentication (haAuthEnable): {0}")]
    Handshake(#[from] handshake::HandshakeError),
    #[error("peer did not take our bytes for {ms} ms (haHousekeepingInterval)")]
    WriteStalled { ms: u64 },
}

/// Milliseconds since a start instant, on tokio's clock (so paused-time tests
/// move it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock(tokio::time::Instant);

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock(tokio::time::Instant::now())
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }

    pub(crate) fn instant_at(&self, ms: u64) -> tokio::time::Instant {
        self.0 + std::time::Duration::from_millis(ms)
    }
}
