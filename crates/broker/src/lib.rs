//! The RocketMQ broker: request handlers over the store, topic and
//! subscription tables, consumer offsets, client tracking, NameServer
//! registration and the background services (delay, retry, transactions).
//!
//! It depends on the store (messages on disk), the protocol (what requests
//! mean) and the remoting transport (sockets); nothing depends on it but the
//! binaries. [`Broker::open`] builds every part once; [`run`] serves it.

mod acl;
mod broker;
pub mod clients;
pub mod config;
mod delay;
mod filter;
pub mod groups;
mod ha;
mod handlers;
mod lock;
pub mod long_poll;
pub mod namesrv;
mod offset_moved;
pub mod offsets;
mod run;
pub mod runtime_info;
mod schedule;
mod service;
pub mod settings;
pub mod stats;
pub mod topics;
mod transaction;

pub use broker::Broker;
pub use config::BrokerConfig;
pub use run::{BootInfo, run};
pub use runtime_info::store_config_entries;
pub use settings::Settings;

/// Errors that stop a broker from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(transparent)]
    Store(#[from] rmq_store::StoreError),
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: std::net::SocketAddr, source: std::io::Error },
}

pub(crate) use rmq_model::clock::now_ms;
