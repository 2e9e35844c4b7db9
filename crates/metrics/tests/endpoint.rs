//! `/metrics` over real TCP: what a scraper gets, what other paths get, a
//! port in use, and a scrape storm's bounded cost.

use rmq_metrics::prometheus_client::collector::Collector;
use rmq_metrics::prometheus_client::encoding::DescriptorEncoder;
use rmq_metrics::prometheus_client::registry::Registry;
use rmq_metrics::{CappedFamily, MetricsServer, Scrapes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// Counts its renderings.
#[derive(Debug, Default)]
struct Renders(Arc<AtomicUsize>);

impl Collector for Renders {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        let mut family = CappedFamily::counter("test_renders", "Renderings so far", 10);
        family.push(vec![("kind", "all".to_owned())], n as i64);
        family.encode(&mut encoder)
    }
}

async fn start() -> (SocketAddr, Arc<AtomicUsize>, CancellationToken, tokio::task::JoinHandle<()>) {
    let renders = Arc::new(AtomicUsize::new(0));
    let mut registry = Registry::with_labels([("node_type".into(), "broker".into())].into_iter());
    registry.register_collector(Box::new(Renders(renders.clone())));
    let server = MetricsServer::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = server.local_addr();
    let stop = CancellationToken::new();
    let task = tokio::spawn(server.run(Arc::new(Scrapes::new(registry)), stop.clone()));
    (addr, renders, stop, task)
}

/// One request on its own connection; the whole response.
async fn get(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await.unwrap().unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

const SCRAPE: &str = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn a_scrape_gets_openmetrics_text_with_the_constant_labels() {
    let (addr, _, stop, task) = start().await;
    let response = get(addr, SCRAPE).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("application/openmetrics-text"), "{response}");
    assert!(response.contains(r#"test_renders_total{node_type="broker",kind="all"} 1"#), "{response}");
    assert!(response.trim_end().ends_with("# EOF"), "{response}");
    let other = get(addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert!(other.starts_with("HTTP/1.1 404"), "{other}");
    let post = get(addr, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    let garbage = get(addr, "\x16\x03\x01 not http at all\r\n\r\n").await;
    assert!(!garbage.contains("test_renders"), "{garbage}");
    assert!(get(addr, SCRAPE).await.starts_with("HTTP/1.1 200"), "a bad client disturbs no one");
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_port_in_use_is_an_error_naming_nothing_else() {
    let (addr, _, stop, task) = start().await;
    let err = MetricsServer::bind(addr).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_storm_renders_once_per_gap() {
    let (addr, renders, stop, task) = start().await;
    let storm: Vec<_> = (0..64).map(|_| tokio::spawn(get(addr, SCRAPE))).collect();
    let started = std::time::Instant::now();
    for scrape in storm {
        assert!(scrape.await.unwrap().starts_with("HTTP/1.1 200"));
    }
    // Every scrape was answered; renderings were at most one per gap
    // (plus the first), however many scrapes came at once.
    let gaps = (started.elapsed().as_millis() / rmq_metrics::MIN_RENDER_GAP.as_millis()) as usize;
    let n = renders.load(Ordering::SeqCst);
    assert!(n >= 1 && n <= gaps + 1, "{n} renderings for 64 scrapes within {gaps} gaps");
    stop.cancel();
    task.await.unwrap();
}
