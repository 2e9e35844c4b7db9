//! The accept loop: a connection limit overall and per IP address, one task
//! per connection, graceful shutdown by a token passed in.

use rmq_protocol::DEFAULT_MAX_FRAME;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::Service;
use crate::driver::{self, Context, Settings};
use crate::limits::{IpSlot, LimitCounters, LogThrottle, PerIpConnections};

/// At most one log line per this period for each kind of refused connection.
const REFUSAL_LOG_PERIOD: Duration = Duration::from_secs(10);
use crate::tls::ServerTls;

/// Limits and timeouts of a server. [`ServerConfig::new`] (or `Default`, which
/// listens on an ephemeral port of every interface) gives the defaults below.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Connections served at once; past it a new connection is closed as soon
    /// as it is accepted, so its client fails fast and tries another server.
    /// Default 10 000.
    pub max_connections: usize,
    /// Connections served at once from one IP address, so that one host
    /// cannot take all of `max_connections`; past it a new connection from
    /// that address is closed as soon as it is accepted. 0: no cap.
    /// Default 1 000 (rmq's own; Java has no such cap).
    pub max_connections_per_ip: usize,
    /// Largest frame accepted, length prefix included; a larger one closes
    /// the connection (Java's `com.rocketmq.remoting.frameMaxLength`).
    /// Default 16 MiB.
    pub max_frame: usize,
    /// Requests of one connection being handled at once, oneway ones and
    /// long-polling pulls parked in the service included. Beyond it a request
    /// is answered SYSTEM_BUSY (`[OVERLOAD]…`) and a oneway one dropped.
    /// A consumer keeps one pull parked per queue it owns, so leave room for
    /// that. Default 4096.
    pub max_in_flight_per_connection: usize,
    /// Close a connection with no traffic either way for this long (Java: 120 s).
    pub idle_timeout: Duration,
    /// Close a connection whose queued frames made no write progress for this
    /// long: the peer reads nothing (its receive window is full), and what
    /// is queued for it (pull responses pinning store files) is freed.
    /// Bytes the peer sends do not count: only our writes going out do.
    /// Default 60 s (rmq's own).
    pub write_timeout: Duration,
    /// Close a connection whose frame, once its first byte arrived, is not
    /// complete after this long: a peer trickling bytes would otherwise hold
    /// a frame buffer (up to `max_frame`) for ever. A 16 MiB frame thus needs
    /// more than 0.6 MB/s. Default 30 s (rmq's own).
    pub frame_timeout: Duration,
    /// At shutdown, how long in-flight requests may still finish. Default 5 s.
    pub shutdown_grace: Duration,
    /// TLS on this port (`tls.server.mode`). Default: disabled, plaintext only.
    pub tls: ServerTls,
}

impl ServerConfig {
    /// The defaults, listening on `listen`.
    pub fn new(listen: SocketAddr) -> ServerConfig {
        ServerConfig {
            listen,
            max_connections: 10_000,
            max_connections_per_ip: 1_000,
            max_frame: DEFAULT_MAX_FRAME,
            max_in_flight_per_connection: 4096,
            idle_timeout: Duration::from_secs(120),
            write_timeout: Duration::from_secs(60),
            frame_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
            tls: ServerTls::disabled(),
        }
    }

    /// Says which limit is unusable, and why.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_connections == 0 || self.max_connections > Semaphore::MAX_PERMITS {
            return Err(format!(
                "max_connections {} must be between 1 and {}",
                self.max_connections,
                Semaphore::MAX_PERMITS
            ));
        }
        if self.max_in_flight_per_connection == 0 {
            return Err("max_in_flight_per_connection must be at least 1".into());
        }
        if self.max_frame < 8 {
            return Err(format!("max_frame {} cannot hold the 8-byte frame prefix", self.max_frame));
        }
        if self.idle_timeout.is_zero() {
            return Err("idle_timeout must be positive".into());
        }
        if self.write_timeout.is_zero() {
            return Err("write_timeout must be positive".into());
        }
        if self.frame_timeout.is_zero() {
            return Err("frame_timeout must be positive".into());
        }
        Ok(())
    }
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig::new(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
    }
}

/// A bound listener, ready to run.
///
/// ```no_run
/// # async fn demo<S: rmq_remoting::Service>(service: std::sync::Arc<S>) -> std::io::Result<()> {
/// use rmq_remoting::{CancellationToken, Server, ServerConfig};
/// let server = Server::bind(ServerConfig::new("0.0.0.0:9876".parse().unwrap())).await?;
/// let shutdown = CancellationToken::new();
/// let running = tokio::spawn(server.run(service, shutdown.clone()));
/// // ... on SIGTERM:
/// shutdown.cancel();
/// running.await.ok(); // every connection closed, every task ended
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    config: ServerConfig,
    local: SocketAddr,
    counters: Arc<LimitCounters>,
}

impl Server {
    /// Binds the listen address; fails on an invalid config too
    /// (`InvalidInput`, naming the field).
    pub async fn bind(config: ServerConfig) -> io::Result<Server> {
        config.validate().map_err(|why| io::Error::new(io::ErrorKind::InvalidInput, why))?;
        let listener = TcpListener::bind(config.listen).await?;
        let local = listener.local_addr()?;
        Ok(Server { listener, config, local, counters: Arc::default() })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// What this server's limits refused or closed; the handle stays valid
    /// (and counting) while and after the server runs.
    pub fn counters(&self) -> Arc<LimitCounters> {
        Arc::clone(&self.counters)
    }

    /// Serves until `shutdown` is cancelled, then stops accepting, lets
    /// in-flight requests finish within the grace period and returns once
    /// every task it spawned has ended.
    ///
    /// After the grace period, requests still running are dropped (their
    /// futures are cancelled) and their connections closed.
    pub async fn run<S: Service>(self, service: Arc<S>, shutdown: CancellationToken) {
        let Server { listener, config, local, counters } = self;
        let ctx = Arc::new(Context {
            settings: Settings {
                max_frame: config.max_frame,
                max_in_flight: config.max_in_flight_per_connection,
                idle_timeout: Some(config.idle_timeout),
                write_timeout: Some(config.write_timeout),
                frame_timeout: Some(config.frame_timeout),
            },
            tracker: TaskTracker::new(),
            stop: shutdown.clone(),
            abort: CancellationToken::new(),
            counters: Arc::clone(&counters),
        });
        let limit = Arc::new(Semaphore::new(config.max_connections));
        let per_ip = PerIpConnections::new(config.max_connections_per_ip);
        let mut backoff = Backoff::default();
        tracing::debug!("remoting server listening on {local}");
        let mut refusal_log = LogThrottle::new(REFUSAL_LOG_PERIOD);
        let mut per_ip_log = LogThrottle::new(REFUSAL_LOG_PERIOD);
        loop {
            let (stream, peer) = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => {
                        backoff.reset();
                        accepted
                    }
                    Err(error) => {
                        // Out of descriptors or memory: wait a little rather
                        // than spin; a connection aborted before we got to it
                        // is harmless.
                        let pause = backoff.next();
                        tracing::warn!("accept on {local} failed: {error}; retrying in {pause:?}");
                        tokio::select! {
                            _ = shutdown.cancelled() => break,
                            _ = tokio::time::sleep(pause) => continue,
                        }
                    }
                },
            };
            // Past the limit a connection is closed at once rather than left
            // unanswered in the backlog: its client fails fast and tries
            // another server of its list.
            let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
                let refused = counters.refused_max_connections();
                if let Some(held_back) = refusal_log.allow(tokio::time::Instant::now()) {
                    tracing::warn!(
                        "connection from {peer} closed: {} connections already open \
                         ({refused} refused so far, {held_back} not logged since the last line)",
                        config.max_connections
                    );
                }
                drop(stream);
                continue;
            };
            let Some(slot) = per_ip.try_take(peer.ip()) else {
                let refused = counters.refused_per_ip();
                if let Some(held_back) = per_ip_log.allow(tokio::time::Instant::now()) {
                    tracing::warn!(
                        "connection from {peer} closed: {} connections already open from {} (maxConnectionsPerIp; \
                         {refused} refused so far, {held_back} not logged since the last line)",
                        config.max_connections_per_ip,
                        peer.ip()
                    );
                }
                drop(stream);
                continue;
            };
            let held = Held { _permit: permit, _slot: slot };
            let tls = config.tls.clone();
            ctx.tracker.spawn(serve_connection(stream, peer, tls, Arc::clone(&service), Arc::clone(&ctx), held));
        }
        drop(listener);
        ctx.tracker.close();
        if tokio::time::timeout(config.shutdown_grace, ctx.tracker.wait()).await.is_err() {
            tracing::warn!(
                "remoting server on {local}: {} tasks still running after the {:?} grace period; dropping them",
                ctx.tracker.len(),
                config.shutdown_grace
            );
            ctx.abort.cancel();
            ctx.tracker.wait().await;
        }
        tracing::debug!("remoting server on {local} stopped");
    }
}

/// What a connection holds of the server's limits while it lives.
struct Held {
    _permit: OwnedSemaphorePermit,
    _slot: IpSlot,
}

async fn serve_connection<S: Service>(
    stream: TcpStream,
    peer: SocketAddr,
    tls: ServerTls,
    service: Arc<S>,
    ctx: Arc<Context>,
    _held: Held,
) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!("TCP_NODELAY not set: {error}");
    }
    // A handshake is bounded like a frame: a peer trickling it holds nothing for long.
    let within = ctx.settings.frame_timeout.or(ctx.settings.idle_timeout).unwrap_or(Duration::from_secs(120));
    let stream = tokio::select! {
        sorted = tls.accept(stream, peer, within) => match sorted {
            Some(stream) => stream,
            None => return,
        },
        _ = ctx.stop.cancelled() => return,
    };
    match driver::start(stream, service, ctx) {
        Ok((_conn, drive)) => drive.await,
        Err(error) => tracing::debug!("dropping an accepted connection: {error}"),
    }
}

/// Pause after a failed accept: 5 ms doubling up to 1 s.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let pause = Duration::from_millis(5u64 << self.failures.min(8)).min(Duration::from_secs(1));
        self.failures += 1;
        pause
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}
