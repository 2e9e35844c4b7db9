//! The handle to one live connection, shared by its reader, its writer, the
//! tasks answering its requests and whoever else wants to talk to the peer.
//!
//! The handle owns the pending table (opaque → waiter) of requests we sent; the
//! connection's reader completes entries, [`Connection::request`] removes its
//! own on timeout or cancellation, and the teardown fails whatever is left.

use rmq_protocol::RemotingCommand;
use rmq_protocol::command::{FLAG_ONEWAY, FLAG_RESPONSE};
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::RemotingError;

/// Identifies a connection for as long as the process lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Opaques of the requests this process sends, on every connection: Java's
/// process-wide counter, starting at 0 and wrapping.
static NEXT_OPAQUE: AtomicI32 = AtomicI32::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

type Waiter = oneshot::Sender<Result<RemotingCommand, RemotingError>>;

/// A handle to one live connection; clone it freely (one `Arc`).
///
/// Both sides of a connection get one: the server hands it to
/// [`crate::Service::handle`], the client returns it from
/// [`crate::Client::connection`]. Requests go to the peer over the
/// connection's bounded write queue: when the queue is full, [`request`] and
/// [`oneway`] wait for room rather than buffer more, and [`try_oneway`] says
/// [`RemotingError::Busy`].
///
/// ```no_run
/// # async fn demo(conn: rmq_remoting::Connection) -> Result<(), rmq_remoting::RemotingError> {
/// use rmq_protocol::{RemotingCommand, RequestCode};
/// use std::time::Duration;
/// let response = conn
///     .request(RemotingCommand::bare_request(RequestCode::GetBrokerClusterInfo), Duration::from_secs(3))
///     .await?;
/// println!("{} answered {}", conn.remote_addr(), response.response_code());
/// # Ok(()) }
/// ```
///
/// [`request`]: Connection::request
/// [`oneway`]: Connection::oneway
/// [`try_oneway`]: Connection::try_oneway
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

struct Inner {
    id: ConnectionId,
    remote: SocketAddr,
    local: SocketAddr,
    /// Frames for the writer task.
    outbound: mpsc::Sender<RemotingCommand>,
    pending: Mutex<Pending>,
    /// Cancelled once the connection is going away, by anyone: `close()`, the
    /// reader (EOF, bad frame, idle), the writer (I/O error), or the server
    /// forcing its shutdown (this token is a child of the server's).
    closed: CancellationToken,
    /// Time base of `last_io_ms`.
    born: Instant,
    /// Milliseconds after `born` of the last completed read or write.
    last_io_ms: AtomicU64,
}

struct Pending {
    /// False once the connection is torn down: no new waiters get in.
    open: bool,
    waiters: HashMap<i32, Waiter>,
}

impl Connection {
    pub(crate) fn new(
        remote: SocketAddr,
        local: SocketAddr,
        outbound: mpsc::Sender<RemotingCommand>,
        closed: CancellationToken,
    ) -> Connection {
        let inner = Inner {
            id: ConnectionId(NEXT_ID.fetch_add(1, Ordering::Relaxed)),
            remote,
            local,
            outbound,
            pending: Mutex::new(Pending { open: true, waiters: HashMap::new() }),
            closed,
            born: Instant::now(),
            last_io_ms: AtomicU64::new(0),
        };
        Connection { inner: Arc::new(inner) }
    }

    /// A connection with no socket behind it: what is sent on it (oneway
    /// requests, responses) lands in the returned receiver. For unit tests
    /// of a [`Service`](crate::Service)'s handlers, which take a connection
    /// for its address and to talk back to the client.
    pub fn detached(remote: SocketAddr) -> (Connection, mpsc::Receiver<RemotingCommand>) {
        let (tx, rx) = mpsc::channel(64);
        (Connection::new(remote, remote, tx, CancellationToken::new()), rx)
    }

    pub fn id(&self) -> ConnectionId {
        self.inner.id
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.inner.remote
    }

    /// Our side's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// Sends a request to the peer and waits for its response.
    ///
    /// The request gets a fresh opaque from the process-wide counter (any
    /// opaque, response or oneway flag it carried is replaced). `timeout`
    /// covers waiting for room in the write queue and for the response; on
    /// expiry the pending entry is removed and a late response is dropped.
    /// Fails with [`RemotingError::Closed`] if the connection is or gets
    /// closed before the response arrives.
    pub async fn request(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let deadline = Instant::now() + timeout;
        let opaque = next_opaque();
        request.opaque = opaque;
        request.flag &= !(FLAG_RESPONSE | FLAG_ONEWAY);
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.pending();
            if !pending.open || self.is_closed() {
                return Err(RemotingError::Closed(self.inner.remote));
            }
            pending.waiters.insert(opaque, tx);
        }
        // Removes the entry if we give up early (timeout, closed, or the
        // caller dropping this future); disarmed once the reader removed it.
        let mut entry = PendingEntry { conn: self, opaque, armed: true };
        match tokio::time::timeout_at(deadline, self.inner.outbound.send(request)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(RemotingError::Closed(self.inner.remote)),
            Err(_) => return Err(RemotingError::Timeout { addr: self.inner.remote, timeout }),
        }
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(result)) => {
                entry.armed = false;
                result
            }
            Ok(Err(_)) => {
                entry.armed = false;
                Err(RemotingError::Closed(self.inner.remote))
            }
            Err(_) => Err(RemotingError::Timeout { addr: self.inner.remote, timeout }),
        }
    }

    /// Sends a request the peer will not answer (the oneway flag is set and
    /// a fresh opaque assigned). Waits for room in the write queue if it is
    /// full; returns once the request is queued, not once it is written.
    pub async fn oneway(&self, request: RemotingCommand) -> Result<(), RemotingError> {
        if self.is_closed() {
            return Err(RemotingError::Closed(self.inner.remote));
        }
        self.inner.outbound.send(oneway_form(request)).await.map_err(|_| RemotingError::Closed(self.inner.remote))
    }

    /// Like [`Connection::oneway`] but never waits: a full write queue gives
    /// [`RemotingError::Busy`]. For notifications that must not hold up the
    /// sender (the broker telling a consumer its group changed).
    pub fn try_oneway(&self, request: RemotingCommand) -> Result<(), RemotingError> {
        if self.is_closed() {
            return Err(RemotingError::Closed(self.inner.remote));
        }
        self.inner.outbound.try_send(oneway_form(request)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => RemotingError::Busy(self.inner.remote),
            mpsc::error::TrySendError::Closed(_) => RemotingError::Closed(self.inner.remote),
        })
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.is_cancelled()
    }

    /// Closes the connection; in-flight requests fail with `Closed`. Frames
    /// still queued are not written. Returns at once; the connection task
    /// tears the socket down and calls `Service::on_disconnected`.
    pub fn close(&self) {
        self.inner.closed.cancel();
    }

    /// Resolves once the connection is closed (or closing), whoever closed it.
    pub async fn closed(&self) {
        self.inner.closed.cancelled().await
    }

    /// How many requests we sent on this connection still wait for a response.
    pub fn pending_requests(&self) -> usize {
        self.pending().waiters.len()
    }

    /// Frames queued for writing but not yet handed to the socket.
    pub fn queued_frames(&self) -> usize {
        self.inner.outbound.max_capacity() - self.inner.outbound.capacity()
    }

    // ---- for the connection's own tasks ----

    pub(crate) fn closed_token(&self) -> &CancellationToken {
        &self.inner.closed
    }

    pub(crate) fn outbound(&self) -> &mpsc::Sender<RemotingCommand> {
        &self.inner.outbound
    }

    /// Hands a response frame to the request that waits for it.
    pub(crate) fn complete(&self, response: RemotingCommand) {
        let waiter = self.pending().waiters.remove(&response.opaque);
        match waiter {
            // The requester may have just given up; nothing to do then.
            Some(waiter) => drop(waiter.send(Ok(response))),
            // Java logs these as warnings too; they follow timeouts.
            None => tracing::warn!(
                conn = %self.inner.id,
                "dropping a response from {} with opaque {} (code {}) nobody waits for (timed out?)",
                self.inner.remote,
                response.opaque,
                response.code
            ),
        }
    }

    /// Fails one waiting request (its frame could not be encoded).
    pub(crate) fn fail(&self, opaque: i32, error: RemotingError) {
        if let Some(waiter) = self.pending().waiters.remove(&opaque) {
            let _ = waiter.send(Err(error));
        }
    }

    /// Marks the connection closed and fails every waiting request.
    pub(crate) fn shut(&self) {
        self.inner.closed.cancel();
        let waiters = {
            let mut pending = self.pending();
            pending.open = false;
            std::mem::take(&mut pending.waiters)
        };
        // Dropping the senders wakes the waiters with `Closed`.
        drop(waiters);
    }

    /// Records traffic, for the idle timeout.
    pub(crate) fn touch(&self) {
        let ms = self.inner.born.elapsed().as_millis() as u64;
        self.inner.last_io_ms.store(ms, Ordering::Relaxed);
    }

    /// When the last read or write completed.
    pub(crate) fn last_io(&self) -> Instant {
        self.inner.born + Duration::from_millis(self.inner.last_io_ms.load(Ordering::Relaxed))
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding this lock cannot leave the table half-changed
        // (each critical section is one map operation), so poison is ignored.
        self.inner.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.inner.id)
            .field("remote", &self.inner.remote)
            .field("local", &self.inner.local)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The next opaque for a request this process sends.
pub(crate) fn next_opaque() -> i32 {
    NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed)
}

fn oneway_form(mut request: RemotingCommand) -> RemotingCommand {
    request.opaque = next_opaque();
    request.flag = (request.flag & !FLAG_RESPONSE) | FLAG_ONEWAY;
    request
}

/// Removes a pending entry when its request is abandoned.
struct PendingEntry<'a> {
    conn: &'a Connection,
    opaque: i32,
    armed: bool,
}

impl Drop for PendingEntry<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.conn.pending().waiters.remove(&self.opaque);
        }
    }
}
