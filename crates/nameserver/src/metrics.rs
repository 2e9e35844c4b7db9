//! The NameServer's Prometheus endpoint (`metricsExporterType=PROM`, rmq's
//! own: Java's NameServer exports nothing). It reports what the route table
//! holds at scrape time: clusters, broker groups, broker addresses and topics.

use rmq_metrics::prometheus_client::collector::Collector;
use rmq_metrics::prometheus_client::encoding::DescriptorEncoder;
use rmq_metrics::prometheus_client::registry::Registry;
use rmq_metrics::{CappedFamily, ExporterSettings, Labels, MetricsServer, Scrapes};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use crate::config::NamesrvConfig;
use crate::error::{NamesrvError, Result};
use crate::namesrv::NameServer;

/// A bound endpoint waiting for the NameServer's state.
#[derive(Debug)]
pub(crate) struct BoundMetrics {
    server: MetricsServer,
    settings: ExporterSettings,
}

/// Binds the endpoint when the configuration asks for it. A port that
/// cannot be bound is logged and the NameServer runs without metrics, unless
/// `metricsExporterRequired=true`.
pub(crate) async fn bind(config: &NamesrvConfig) -> Result<Option<BoundMetrics>> {
    let default_host = config.bind_address.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let settings = ExporterSettings::parse(
        &config.metrics_exporter_type,
        &config.metrics_prom_exporter_host,
        default_host,
        config.metrics_prom_exporter_port,
        &config.metrics_label,
        1,
    )
    .map_err(|e| NamesrvError::Metrics(e.to_string()))?;
    let server = MetricsServer::bind_configured(&settings, config.metrics_exporter_required, "NameServer")
        .await
        .map_err(NamesrvError::Metrics)?;
    Ok(server.map(|server| BoundMetrics { server, settings }))
}

impl BoundMetrics {
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Serves `state` until `shutdown`; `node_id` is the NameServer's address.
    pub(crate) async fn serve(
        self,
        state: Arc<NameServer>,
        node_id: String,
        shutdown: rmq_remoting::CancellationToken,
    ) {
        let mut labels = vec![("node_type".into(), "namesrv".into()), ("node_id".into(), node_id.into())];
        labels.extend(self.settings.extra_labels.iter().map(|(k, v)| (k.clone().into(), v.clone().into())));
        let mut registry = Registry::with_labels(labels.into_iter());
        registry.register_collector(Box::new(RouteCollector { state }));
        tracing::info!("metrics: Prometheus endpoint on http://{}/metrics", self.server.local_addr());
        self.server.run(Arc::new(Scrapes::new(registry)), shutdown).await;
    }
}

/// The route table's sizes.
#[derive(Debug)]
struct RouteCollector {
    state: Arc<NameServer>,
}

impl Collector for RouteCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let (info, topics) = {
            let routes = self.state.routes();
            (routes.cluster_info(), routes.all_topics().topic_list.len())
        };
        let addresses: usize = info.broker_addr_table.values().map(|b| b.broker_addrs.len()).sum();
        let rows: [(&'static str, &'static str, usize); 4] = [
            ("rmq_namesrv_clusters", "Clusters with a registered broker", info.cluster_addr_table.len()),
            ("rmq_namesrv_broker_groups", "Broker groups (broker names) registered", info.broker_addr_table.len()),
            ("rmq_namesrv_brokers", "Broker addresses (masters and slaves) registered", addresses),
            ("rmq_namesrv_topics", "Topics with a route", topics),
        ];
        for (name, help, value) in rows {
            let mut family = CappedFamily::gauge(name, help, 1);
            family.push(Labels::new(), value as i64);
            family.encode(&mut encoder)?;
        }
        Ok(())
    }
}
