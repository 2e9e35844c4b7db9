//! The broker's Prometheus endpoint (`metricsExporterType=PROM`): RocketMQ
//! 5's metric names and labels, read from the counters and tables the broker
//! keeps anyway when a scrape comes (`collector`), served by `rmq-metrics`.
//!
//! A port that cannot be bound leaves the broker running without metrics
//! (said once in the log), unless `metricsExporterRequired=true` asks it to
//! refuse to start.

mod collector;
mod exporter4x;
mod lag;
mod recorded;

use rmq_metrics::prometheus_client::registry::Registry;
use rmq_metrics::{ExporterSettings, MetricsServer, Scrapes};
use rmq_remoting::CancellationToken;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::task::JoinSet;

use crate::BrokerError;
use crate::broker::Broker;
pub(crate) use collector::BrokerCollector;
pub(crate) use recorded::{MessageType, RequestMetrics};

/// The exporter keys of the broker's configuration.
pub(crate) fn settings(broker: &Broker) -> Result<ExporterSettings, BrokerError> {
    let c = broker.config.get();
    // Java binds brokerIP1 when the host is blank.
    let default_host =
        c.broker_ip1.as_deref().and_then(|ip| ip.parse().ok()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    ExporterSettings::parse(
        &c.metrics_exporter_type,
        &c.metrics_prom_exporter_host,
        default_host,
        c.metrics_prom_exporter_port,
        &c.metrics_label,
        c.metrics_otel_cardinality_limit,
    )
    .map_err(|e| BrokerError::Metrics(e.to_string()))
}

/// The endpoint, bound before the broker serves anything so that
/// `metricsExporterRequired` refuses to start before any registration.
#[derive(Debug)]
pub(crate) struct BoundMetrics {
    server: MetricsServer,
    settings: ExporterSettings,
}

/// Binds the endpoint when the configuration asks for it.
pub(crate) async fn bind(broker: &Broker) -> Result<Option<BoundMetrics>, BrokerError> {
    let settings = settings(broker)?;
    let required = broker.config.get().metrics_exporter_required;
    let server = MetricsServer::bind_configured(&settings, required, "broker").await.map_err(BrokerError::Metrics)?;
    Ok(server.map(|server| BoundMetrics { server, settings }))
}

impl BoundMetrics {
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Serves the broker's metrics until `stop`.
    pub(crate) fn spawn(self, broker: &Broker, stop: &CancellationToken, tasks: &mut JoinSet<()>) {
        let mut labels = vec![
            ("cluster".into(), broker.config.get().broker_cluster_name.clone().into()),
            ("node_type".into(), "broker".into()),
            ("node_id".into(), broker.identity.broker_name.clone().into()),
        ];
        labels.extend(self.settings.extra_labels.iter().map(|(k, v)| (k.clone().into(), v.clone().into())));
        // RocketMQ 5's names carry the node's labels on every series; the 4.x
        // exporter's carry their own `cluster` (and no others), so they sit
        // outside the labelled sub-registry.
        let mut registry = Registry::default();
        let limit = self.settings.series_limit;
        registry
            .sub_registry_with_labels(labels.into_iter())
            .register_collector(Box::new(BrokerCollector::of(broker, limit)));
        if broker.config.get().metrics_exporter_4x_names {
            registry.register_collector(Box::new(exporter4x::Exporter4xCollector::of(broker, limit)));
        }
        tracing::info!("metrics: Prometheus endpoint on http://{}/metrics", self.local_addr());
        tasks.spawn(self.server.run(Arc::new(Scrapes::new(registry)), stop.clone()));
    }
}
