//! Prometheus exposition for rmq's servers.
//!
//! RocketMQ 5 exports its metrics itself when `metricsExporterType=PROM`: an
//! HTTP endpoint on `metricsPromExporterHost:metricsPromExporterPort` (5557)
//! serving OpenTelemetry-named series such as `rocketmq_messages_in_total`.
//! This crate owns what every rmq server needs for that, and nothing about
//! any server's state:
//!
//! * [`ExporterSettings`]: the exporter keys, read as Java reads them;
//! * [`CappedFamily`]: writes one metric family at scrape time with at most
//!   `metricsOtelCardinalityLimit` labelled series, summing the rest into one
//!   overflow series, so thousands of topics or groups never grow a scrape
//!   (or the memory it takes) without bound;
//! * [`MetricsServer`]: a small HTTP/1.1 server on tokio answering
//!   `GET /metrics` with a registry's text, with a bounded number of
//!   connections and at most one rendering under way (scrapes arriving
//!   meanwhile share its result), so a scrape storm has a bounded cost;
//! * [`SlotTable`] and [`AtomicHistogram`]: what the few values recorded on
//!   a request's path (histograms, bytes delivered) are kept in: a fixed
//!   table of atomics, no lock or allocation per request, rendered by
//!   [`HistogramFamily`] at scrape time.
//!
//! Servers describe their state as `prometheus_client` collectors that read
//! the counters they already keep when a scrape comes; what has no counter
//! to read (latency and size distributions) costs a request a hash and two
//! relaxed atomic adds.
//!
//! It depends on no other rmq crate; the broker and the NameServer depend on
//! it, never the other way.

#![forbid(unsafe_code)]

mod capped;
mod exporter;
mod histogram;
mod server;
mod slots;

pub use capped::{CappedFamily, OVERFLOW_LABEL};
pub use exporter::{ExporterSettings, ExporterType, SettingsError};
pub use histogram::{AtomicHistogram, HistogramFamily, HistogramSnapshot, MAX_BOUNDS};
pub use server::{MAX_CONNECTIONS, MIN_RENDER_GAP, MetricsServer, Scrapes};
pub use slots::{MAX_PROBES, SlotHasher, SlotKey, SlotTable};

/// What a collector's label set is: `(name, value)` pairs.
pub type Labels = Vec<(&'static str, String)>;

/// The prometheus-client pieces collectors are written with.
pub use prometheus_client;
