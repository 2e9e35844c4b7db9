//! The RocketMQ broker: request handlers over the store, topic and
//! subscription tables, consumer offsets, client tracking, NameServer
//! registration and the background services (delay, retry, transactions).
//!
//! It depends on the store (messages on disk), the protocol (what requests
//! mean) and the remoting transport (sockets); nothing depends on it but the
//! binaries.
//!
//! Layout: [`run`] serves a [`Broker`], the composition root, which builds
//! each subsystem once with the handles it needs. Request subsystems live in
//! `handlers` (sending, pulling, membership, offsets, queries, admin) and
//! `transaction`; background services in `schedule` (delays),
//! `registration` (NameServers) and `ha` (replication). They share the
//! `tables`, `clients`, `stats` and `live_config`, and never reach back to
//! the root.

#![forbid(unsafe_code)]

mod acl;
mod admission;
mod background;
mod broker;
pub mod clients;
pub mod config;
mod controller_mode;
mod delay;
mod durability;
mod filter;
mod ha;
mod handlers;
mod live_config;
mod lock;
mod long_poll;
mod message_group;
mod message_log;
mod metrics;
mod namesrv;
mod notify;
mod offset_moved;
mod periodic;
mod pop;
mod port_limits;
mod registration;
mod retry_log;
mod run;
mod runtime_info;
mod schedule;
mod service;
pub mod settings;
mod stats;
pub mod stats_log;
mod tables;
mod timer;
mod transaction;

pub use broker::Broker;
pub use config::BrokerConfig;
pub use namesrv::BrokerIdentity;
pub use run::{BootInfo, run};
pub use runtime_info::store_config_entries;
pub use settings::Settings;

/// Parses a SQL92 filter expression as a subscription with
/// `expressionType=SQL92` does; the error says what is wrong. Public for the
/// fuzz targets (`fuzz/`), which feed it what a client could send.
pub fn parse_sql92(text: &str) -> Result<(), String> {
    filter::sql::parse(text).map(drop).map_err(|e| e.to_string())
}

/// Errors that stop a broker from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(transparent)]
    Store(#[from] rmq_store::StoreError),
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: std::net::SocketAddr, source: std::io::Error },
    /// The metrics keys are wrong, or `metricsExporterRequired` and the port
    /// cannot be bound.
    #[error("metrics: {0}")]
    Metrics(String),
    #[error("TLS: {0}")]
    Tls(#[from] rmq_remoting::tls::TlsError),
    #[error("the store's shutdown task failed: {0}")]
    ShutdownTask(String),
    /// Controller mode: a broker-id or epoch file that cannot be read or written.
    #[error("controller mode: {0}")]
    ControllerMode(String),
}

pub(crate) use rmq_model::clock::now_ms;
