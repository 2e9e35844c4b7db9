//! The tokio transport of the remoting protocol.
//!
//! * [`Server`]: an accept loop with a connection limit and graceful shutdown
//!   by a [`CancellationToken`] passed in; one task per connection reading
//!   frames, each request handled in its own task (bounded per connection) by
//!   the [`Service`] given to the server, its response written back in the
//!   request's header encoding with the request's opaque.
//! * [`Connection`]: a cheap, cloneable handle to one live connection, on
//!   either side. Both peers may send requests over it (the broker sends
//!   NOTIFY_CONSUMER_IDS_CHANGED or CHECK_TRANSACTION_STATE to clients); the
//!   handle matches responses to requests by opaque, with a timeout.
//! * [`Client`]: connections to many servers by address, opened lazily and
//!   reopened after failures; `invoke`, `invoke_oneway`.
//!
//! This crate knows frames and commands, nothing of NameServer or broker
//! semantics: which code means what is the service's business. It depends on
//! `rmq-protocol` for the codec and must never depend on the store, the
//! NameServer or the broker.
//!
//! # Invariants worth naming
//! * Everything that can grow has a bound: connections (a semaphore permit
//!   taken before `accept`, and a cap per IP address), requests in flight per connection (beyond it:
//!   SYSTEM_BUSY), the write queue per connection (senders wait, or
//!   [`Connection::try_oneway`] says `Busy`), the frame size (checked before
//!   anything is reserved; the read buffer grows with the bytes that actually
//!   arrive, never past the frame's length), and time: a frame must complete
//!   within `frame_timeout` once started, queued frames must make write
//!   progress within `write_timeout` ([`LimitCounters`] counts what they closed).
//! * A connection's socket is written by its writer task only, read by its
//!   reader only; a bad frame closes that connection and no other.
//! * `Service::on_connected` and `on_disconnected` run exactly once per
//!   connection, in that order; when `on_disconnected` runs, the socket is
//!   closed and every request still waiting on it has failed with `Closed`.
//! * `Server::run` returns only when every task it spawned has ended; after
//!   `shutdown_grace`, requests still running are dropped, not awaited.

#![forbid(unsafe_code)]

mod client;
mod connection;
mod driver;
mod error;
mod limits;
mod server;
pub mod tls;
mod writer;

pub use client::{Client, ClientConfig};
pub use connection::{Connection, ConnectionId};
pub use error::RemotingError;
pub use limits::{LimitCounters, LimitSnapshot};
pub use server::{Server, ServerConfig};
pub use tls::{ClientTls, ServerTls, TlsSettings};
pub use tokio_util::sync::CancellationToken;

use rmq_protocol::{RemotingCommand, ResponseCode};
use std::future::Future;

/// What a server (or a client, for requests its peer sends it) does with
/// incoming requests. The service dispatches on the request code itself.
pub trait Service: Send + Sync + 'static {
    /// Handles one request. The returned response gets the request's opaque
    /// and header encoding filled in by the transport; `None` sends nothing
    /// (oneway requests never get a response, whatever is returned).
    fn handle(
        &self,
        conn: &Connection,
        request: RemotingCommand,
    ) -> impl Future<Output = Option<RemotingCommand>> + Send;

    /// Called once when a connection is established.
    fn on_connected(&self, _conn: &Connection) {}

    /// Called once when a connection is gone (closed by either side, broken,
    /// idle too long, past a limit of [`ServerConfig`], or at shutdown).
    fn on_disconnected(&self, _conn: &Connection) {}
}

/// A service for peers that serve nothing: every request is answered
/// REQUEST_CODE_NOT_SUPPORTED (oneway ones are dropped). For clients whose
/// servers never call them (a NameServer client, an admin tool).
#[derive(Clone, Copy, Debug, Default)]
pub struct RejectAll;

impl Service for RejectAll {
    async fn handle(&self, _conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        Some(not_supported(&request))
    }
}

/// The answer to a request whose code the service does not know, exactly as
/// Java words it (note the leading space).
pub fn not_supported(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response(
        ResponseCode::RequestCodeNotSupported,
        Some(format!(" request type {} not supported", request.code)),
    )
}
