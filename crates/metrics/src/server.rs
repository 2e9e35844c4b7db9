//! The `/metrics` endpoint: HTTP/1.1 on tokio (hyper), bounded in
//! connections, request time and rendering work.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::registry::Registry;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::exporter::{ExporterSettings, ExporterType};

/// Connections served at once; more wait in the kernel's backlog. A scraper
/// needs one; a handful of operators' `curl`s fit beside it.
pub const MAX_CONNECTIONS: usize = 16;
/// A scrape asking within this long of the last rendering gets that text
/// again: a storm of scrapes costs at most one rendering per gap.
pub const MIN_RENDER_GAP: Duration = Duration::from_millis(200);
/// A client must send its request headers within this long.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections are closed (between requests) after this long, so idle
/// keep-alive clients cannot hold every slot.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// How long shutdown waits for scrapes under way.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// OpenMetrics, which prometheus-client writes (`_total` counters, `# EOF`).
const CONTENT_TYPE_OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A registry and the last text rendered from it.
#[derive(Debug)]
pub struct Scrapes {
    registry: Registry,
    last: Mutex<Option<(Instant, Bytes)>>,
}

impl Scrapes {
    pub fn new(registry: Registry) -> Scrapes {
        Scrapes { registry, last: Mutex::new(None) }
    }

    /// The registry's text now (collectors read the servers' state).
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::warn!("metrics: rendering failed: {e}");
        }
        text
    }

    /// The text for a scrape: one rendering at a time, on a blocking thread
    /// (collectors take locks and walk tables), reused within
    /// [`MIN_RENDER_GAP`].
    pub async fn text(self: &Arc<Self>) -> Bytes {
        let mut last = self.last.lock().await;
        if let Some((at, text)) = last.as_ref()
            && at.elapsed() < MIN_RENDER_GAP
        {
            return text.clone();
        }
        let scrapes = self.clone();
        let text = match tokio::task::spawn_blocking(move || scrapes.render()).await {
            Ok(text) => Bytes::from(text),
            Err(e) => {
                tracing::warn!("metrics: the rendering task failed: {e}");
                Bytes::new()
            }
        };
        *last = Some((Instant::now(), text.clone()));
        text
    }
}

/// A bound listener for `/metrics`.
#[derive(Debug)]
pub struct MetricsServer {
    listener: TcpListener,
}

impl MetricsServer {
    /// Binds `addr`; the caller decides what a port in use means.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<MetricsServer> {
        Ok(MetricsServer { listener: TcpListener::bind(addr).await? })
    }

    /// Binds the endpoint `settings` ask for, as the broker and the NameServer
    /// both do. `Ok(None)`: metrics are off, of an exporter type rmq does not
    /// have (said in a line), or the port cannot be bound while `required` is
    /// false (logged: `server` runs without metrics). `Err`, naming the
    /// address: it cannot be bound and `required` is true.
    pub async fn bind_configured(
        settings: &ExporterSettings,
        required: bool,
        server: &str,
    ) -> Result<Option<MetricsServer>, String> {
        match settings.exporter {
            ExporterType::Prom => {}
            ExporterType::Disable => return Ok(None),
            other => {
                tracing::warn!(
                    "metricsExporterType={other:?} is not supported by rmq (PROM is): no metrics are exported"
                );
                return Ok(None);
            }
        }
        match MetricsServer::bind(settings.listen).await {
            Ok(bound) => Ok(Some(bound)),
            Err(e) if required => Err(format!("cannot listen on {} for metrics: {e}", settings.listen)),
            Err(e) => {
                tracing::error!(
                    "metrics: cannot listen on {} (metricsPromExporterHost/metricsPromExporterPort): {e}; \
                     the {server} runs without metrics",
                    settings.listen
                );
                Ok(None)
            }
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Serves scrapes until `shutdown` is cancelled, then waits briefly for
    /// those under way.
    pub async fn run(self, scrapes: Arc<Scrapes>, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let connections = TaskTracker::new();
        loop {
            let slot = tokio::select! {
                _ = shutdown.cancelled() => break,
                slot = slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
            };
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = self.listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // Out of descriptors and the like: pause rather than spin.
                    tracing::warn!("metrics: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let (scrapes, stop) = (scrapes.clone(), shutdown.clone());
            connections.spawn(async move {
                serve_connection(stream, scrapes, stop).await;
                drop(slot);
            });
        }
        connections.close();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, connections.wait()).await;
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, scrapes: Arc<Scrapes>, shutdown: CancellationToken) {
    let service = hyper::service::service_fn(move |request| {
        let scrapes = scrapes.clone();
        async move { Ok::<_, Infallible>(answer(&request, &scrapes).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let lifetime = tokio::time::sleep(CONNECTION_LIFETIME);
    tokio::select! {
        result = connection.as_mut() => return log_end(result),
        _ = shutdown.cancelled() => {}
        _ = lifetime => {}
    }
    connection.as_mut().graceful_shutdown();
    if let Ok(result) = tokio::time::timeout(SHUTDOWN_GRACE, connection).await {
        log_end(result);
    }
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        // A scraper hanging up or sending garbage concerns only itself.
        tracing::debug!("metrics: connection ended: {e}");
    }
}

async fn answer(request: &Request<Incoming>, scrapes: &Arc<Scrapes>) -> Response<Full<Bytes>> {
    if request.uri().path() != "/metrics" {
        return plain(StatusCode::NOT_FOUND, "only /metrics is served here\n");
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "GET /metrics\n");
    }
    let mut response = Response::new(Full::new(scrapes.text().await));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_OPENMETRICS));
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}
