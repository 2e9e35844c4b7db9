//! Running a NameServer: bind the port, serve, scan for silent brokers, stop
//! when the shutdown token fires.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rmq_protocol::DEFAULT_MAX_FRAME;
use rmq_remoting::{CancellationToken, Server, ServerConfig, ServerTls};

use crate::config::NamesrvConfig;
use crate::error::{NamesrvError, Result};
use crate::kv::KvStore;
use crate::metrics::BoundMetrics;
use crate::namesrv::NameServer;

/// Connections served at once. Java has no limit; this one only guards
/// against running out of file descriptors.
const MAX_CONNECTIONS: usize = 10_000;
/// Requests of one connection handled at once.
const MAX_IN_FLIGHT_PER_CONNECTION: usize = 64;
/// How long in-flight requests may finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// A NameServer whose port is bound (so a port in use fails before anything
/// is announced) and whose KV config is loaded, ready to serve.
#[derive(Debug)]
pub struct BoundNameServer {
    server: Server,
    state: Arc<NameServer>,
    scan_interval: Duration,
    /// The `/metrics` endpoint, when `metricsExporterType=PROM`.
    metrics: Option<BoundMetrics>,
}

/// Loads the KV config and binds `bindAddress:listenPort`, plaintext only.
pub async fn bind(config: NamesrvConfig) -> Result<BoundNameServer> {
    bind_with_tls(config, ServerTls::disabled()).await
}

/// [`bind`], the port serving TLS as `tls` says (`tls.server.mode`).
pub async fn bind_with_tls(config: NamesrvConfig, tls: ServerTls) -> Result<BoundNameServer> {
    config.write_allow_list()?;
    let kv = KvStore::load(PathBuf::from(&config.kv_config_path))?;
    let listen = config.listen_addr();
    let addr: SocketAddr =
        tokio::net::lookup_host(&listen).await.ok().and_then(|mut addrs| addrs.next()).ok_or_else(|| {
            NamesrvError::Bind {
                addr: listen.clone(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a bindable address"),
            }
        })?;
    let server_config = ServerConfig {
        listen: addr,
        max_connections: MAX_CONNECTIONS,
        max_connections_per_ip: config.max_connections_per_ip,
        max_frame: DEFAULT_MAX_FRAME,
        max_in_flight_per_connection: MAX_IN_FLIGHT_PER_CONNECTION,
        idle_timeout: config.idle_timeout(),
        write_timeout: config.write_timeout(),
        frame_timeout: config.frame_timeout(),
        shutdown_grace: SHUTDOWN_GRACE,
        tls,
    };
    let server = Server::bind(server_config).await.map_err(|source| NamesrvError::Bind { addr: listen, source })?;
    let metrics = crate::metrics::bind(&config).await?;
    let scan_interval = config.scan_interval();
    Ok(BoundNameServer { server, state: Arc::new(NameServer::new(config, kv)), scan_interval, metrics })
}

impl BoundNameServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Where `/metrics` listens, when it does.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(BoundMetrics::local_addr)
    }

    /// The state requests work on, for in-process inspection.
    pub fn state(&self) -> Arc<NameServer> {
        Arc::clone(&self.state)
    }

    /// Serves until `shutdown` fires, then waits for in-flight requests (up
    /// to a grace period) and for the expiry scan to stop.
    pub async fn serve(self, shutdown: CancellationToken) {
        let scan = tokio::spawn(scan_loop(Arc::clone(&self.state), self.scan_interval, shutdown.clone()));
        let node_id = self.server.local_addr().to_string();
        let metrics = self.metrics.map(|m| tokio::spawn(m.serve(Arc::clone(&self.state), node_id, shutdown.clone())));
        self.server.run(self.state, shutdown).await;
        let _ = scan.await;
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
    }
}

/// Every `period` (the first time after half of it, as Java's 5 s of 10 s),
/// removes brokers silent for longer than their timeout.
async fn scan_loop(state: Arc<NameServer>, period: Duration, shutdown: CancellationToken) {
    let start = tokio::time::Instant::now() + period / 2;
    let mut ticks = tokio::time::interval_at(start, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticks.tick() => state.scan_not_active_brokers(),
        }
    }
}
