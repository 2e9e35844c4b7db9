//! Connections to many servers by `host:port`, opened on first use and
//! replaced after they close.

use rmq_protocol::{DEFAULT_MAX_FRAME, RemotingCommand};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::driver::{self, Context, Settings};
use crate::tls::{ClientTls, Stream};
use crate::{Connection, RemotingError, Service};

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// How long opening a connection may take, name resolution included
    /// (Java's `connectTimeoutMillis`). Default 3 s.
    pub connect_timeout: Duration,
    /// Largest frame accepted from a server, length prefix included; a larger
    /// one closes the connection. Default 16 MiB.
    pub max_frame: usize,
    /// Connect with TLS (`tls.enable`); the handshake counts in the connect
    /// timeout. Default `None`: plaintext.
    pub tls: Option<ClientTls>,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig { connect_timeout: Duration::from_secs(3), max_frame: DEFAULT_MAX_FRAME, tls: None }
    }
}

/// Requests a server sends a client at once, per connection (Java's
/// `clientCallbackExecutorThreads` queue is what bounds them there).
const CLIENT_MAX_IN_FLIGHT: usize = 256;

/// Connections to many servers, by `host:port` address. Cheap to clone; the
/// clones share the connections.
///
/// A connection is opened on first use of its address; callers arriving
/// while it opens wait for the same attempt (and share its failure). Once it
/// closes, for whatever reason, the next use opens a new one: that is the
/// whole reconnect logic. Requests the servers send us go to the service
/// given to [`Client::new`] ([`crate::RejectAll`] if there are none to
/// serve). Connections stay open until closed, by [`Client::close_all`] or
/// by either side; dropping the `Client` does not close them.
///
/// ```no_run
/// # async fn demo() -> Result<(), rmq_remoting::RemotingError> {
/// use rmq_protocol::{RemotingCommand, RequestCode};
/// use rmq_remoting::{Client, ClientConfig, RejectAll};
/// use std::{sync::Arc, time::Duration};
/// let client = Client::new(ClientConfig::default(), Arc::new(RejectAll));
/// let request = RemotingCommand::bare_request(RequestCode::GetBrokerClusterInfo);
/// let response = client.invoke("namesrv:9876", request, Duration::from_secs(3)).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    service: Arc<Erased>,
    ctx: Arc<Context>,
    slots: Mutex<HashMap<String, Slot>>,
}

/// The state of one address.
enum Slot {
    Live(Connection),
    /// A connect attempt under way; its outcome is published here.
    Opening(watch::Receiver<Option<Opened>>),
}

type Opened = Result<Connection, ConnectFailure>;

/// A failed attempt, shared by every caller that waited for it.
#[derive(Clone, Debug)]
struct ConnectFailure {
    kind: io::ErrorKind,
    message: String,
}

impl Client {
    /// A client whose peers' requests (if any) go to `service`.
    pub fn new<S: Service>(config: ClientConfig, service: Arc<S>) -> Client {
        let ctx = Context {
            settings: Settings {
                max_frame: config.max_frame,
                max_in_flight: CLIENT_MAX_IN_FLIGHT,
                idle_timeout: None,
                write_timeout: None,
                frame_timeout: None,
            },
            tracker: TaskTracker::new(),
            stop: CancellationToken::new(),
            abort: CancellationToken::new(),
            counters: Arc::default(),
        };
        let inner = Inner {
            config,
            service: Arc::new(Erased::new(service)),
            ctx: Arc::new(ctx),
            slots: Mutex::new(HashMap::new()),
        };
        Client { inner: Arc::new(inner) }
    }

    /// The live connection to `addr`, opening one if needed.
    pub async fn connection(&self, addr: &str) -> Result<Connection, RemotingError> {
        let mut outcome = {
            let mut slots = self.inner.slots();
            match slots.get(addr) {
                Some(Slot::Live(conn)) if !conn.is_closed() => return Ok(conn.clone()),
                Some(Slot::Opening(outcome)) => outcome.clone(),
                _ => {
                    let (publish, outcome) = watch::channel(None);
                    slots.insert(addr.to_owned(), Slot::Opening(outcome.clone()));
                    // Its own task, so the attempt completes (and is published
                    // to the others waiting) even if this caller goes away.
                    let inner = Arc::clone(&self.inner);
                    let addr = addr.to_owned();
                    self.inner.ctx.tracker.spawn(async move {
                        let opened = inner.open(&addr).await;
                        let opened = inner.settle(&addr, &publish, opened);
                        let _ = publish.send(Some(opened));
                    });
                    outcome
                }
            }
        };
        let opened = match outcome.wait_for(Option::is_some).await {
            Ok(opened) => opened.clone(),
            Err(_) => None,
        };
        match opened {
            Some(Ok(conn)) => Ok(conn),
            Some(Err(failure)) => Err(RemotingError::Connect {
                addr: addr.to_owned(),
                source: io::Error::new(failure.kind, failure.message),
            }),
            None => Err(RemotingError::Connect {
                addr: addr.to_owned(),
                source: io::Error::other("the connect attempt was abandoned"),
            }),
        }
    }

    /// Sends `request` to `addr` (connecting first if needed) and waits for
    /// the response. `timeout` covers the connect as well.
    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let start = Instant::now();
        let conn = self.connection(addr).await?;
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(RemotingError::Timeout { addr: conn.remote_addr(), timeout });
        }
        conn.request(request, left).await.map_err(|error| match error {
            RemotingError::Timeout { addr, .. } => RemotingError::Timeout { addr, timeout },
            other => other,
        })
    }

    /// Sends a oneway request to `addr`, connecting first if needed.
    pub async fn invoke_oneway(&self, addr: &str, request: RemotingCommand) -> Result<(), RemotingError> {
        self.connection(addr).await?.oneway(request).await
    }

    /// Closes every connection. The client stays usable: the next use of an
    /// address opens a new connection.
    pub fn close_all(&self) {
        let slots = std::mem::take(&mut *self.inner.slots());
        for slot in slots.into_values() {
            if let Slot::Live(conn) = slot {
                conn.close();
            }
        }
    }

    /// The addresses with a live connection.
    pub fn connected_addrs(&self) -> Vec<String> {
        let slots = self.inner.slots();
        slots
            .iter()
            .filter(|(_, slot)| matches!(slot, Slot::Live(conn) if !conn.is_closed()))
            .map(|(addr, _)| addr.clone())
            .collect()
    }
}

impl Inner {
    fn slots(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        // Every critical section is one map operation: poison cannot leave
        // the map inconsistent.
        self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Connects to `addr` (resolving a host name, running the TLS handshake
    /// if configured) within the connect timeout.
    async fn open(&self, addr: &str) -> Opened {
        let timeout = self.config.connect_timeout;
        let stream = match tokio::time::timeout(timeout, self.connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => return Err(ConnectFailure { kind: error.kind(), message: error.to_string() }),
            Err(_) => {
                return Err(ConnectFailure {
                    kind: io::ErrorKind::TimedOut,
                    message: format!("no connection within {timeout:?}"),
                });
            }
        };
        match driver::start(stream, Arc::clone(&self.service), Arc::clone(&self.ctx)) {
            Ok((conn, drive)) => {
                self.ctx.tracker.spawn(drive);
                tracing::debug!(conn = %conn.id(), "connected to {addr} ({})", conn.remote_addr());
                Ok(conn)
            }
            Err(error) => Err(ConnectFailure { kind: error.kind(), message: error.to_string() }),
        }
    }

    async fn connect(&self, addr: &str) -> io::Result<Stream> {
        let tcp = TcpStream::connect(addr).await?;
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY not set on the connection to {addr}: {error}");
        }
        match &self.config.tls {
            Some(tls) => tls.connect(addr, tcp).await,
            None => Ok(Stream::Plain(tcp)),
        }
    }

    /// Records the outcome of the attempt published through `publish`,
    /// unless `close_all` dropped that attempt meanwhile (the new connection
    /// is then closed too).
    fn settle(&self, addr: &str, publish: &watch::Sender<Option<Opened>>, opened: Opened) -> Opened {
        let mut slots = self.slots();
        let ours =
            matches!(slots.get(addr), Some(Slot::Opening(outcome)) if outcome.same_channel(&publish.subscribe()));
        if !ours {
            if let Ok(conn) = &opened {
                conn.close();
            }
            return Err(ConnectFailure {
                kind: io::ErrorKind::ConnectionAborted,
                message: "closed while connecting".into(),
            });
        }
        match &opened {
            Ok(conn) => {
                slots.insert(addr.to_owned(), Slot::Live(conn.clone()));
            }
            Err(_) => {
                slots.remove(addr);
            }
        }
        opened
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("connected", &self.connected_addrs())
            .finish_non_exhaustive()
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`Service`] in a form that can sit behind `dyn`, so `Client` needs no type
/// parameter. A client serves few requests; boxing each one costs nothing
/// that matters.
trait DynService: Send + Sync + 'static {
    fn handle_boxed<'a>(
        &'a self,
        conn: &'a Connection,
        request: RemotingCommand,
    ) -> BoxFuture<'a, Option<RemotingCommand>>;
    fn connected(&self, conn: &Connection);
    fn disconnected(&self, conn: &Connection);
}

impl<S: Service> DynService for S {
    fn handle_boxed<'a>(
        &'a self,
        conn: &'a Connection,
        request: RemotingCommand,
    ) -> BoxFuture<'a, Option<RemotingCommand>> {
        Box::pin(self.handle(conn, request))
    }

    fn connected(&self, conn: &Connection) {
        self.on_connected(conn);
    }

    fn disconnected(&self, conn: &Connection) {
        self.on_disconnected(conn);
    }
}

/// The client's service, type-erased.
struct Erased(Arc<dyn DynService>);

impl Erased {
    fn new<S: Service>(service: Arc<S>) -> Erased {
        Erased(service)
    }
}

impl Service for Erased {
    fn handle(
        &self,
        conn: &Connection,
        request: RemotingCommand,
    ) -> impl Future<Output = Option<RemotingCommand>> + Send {
        // Owned copies: the boxed future cannot name the two borrows' overlap.
        let service = Arc::clone(&self.0);
        let conn = conn.clone();
        async move { service.handle_boxed(&conn, request).await }
    }

    fn on_connected(&self, conn: &Connection) {
        self.0.connected(conn);
    }

    fn on_disconnected(&self, conn: &Connection) {
        self.0.disconnected(conn);
    }
}
