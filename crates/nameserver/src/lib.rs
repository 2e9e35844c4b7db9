//! RocketMQ's NameServer: the directory clients and brokers meet at.
//!
//! This crate owns the route table (which broker groups exist, where their
//! masters and slaves listen, which topics each hosts), broker registration
//! and its expiry (120 s of silence or a closed connection), the KV config
//! with its file, and the handlers of every NameServer request code (Java's
//! `DefaultRequestProcessor` over `RouteInfoManager` and `KVConfigManager`).
//! It holds no message data: it never touches
//! the store and must never depend on `rmq-store`; all route data lives in
//! memory and is rebuilt from registrations.
//!
//! Layout: [`route::RouteTable`] is plain data with one method per rule and
//! the current time passed in; `handlers` turn typed requests into
//! responses; [`NameServer`] holds the tables behind locks and implements the
//! transport's [`rmq_remoting::Service`]; [`runtime`] binds, serves and runs
//! the expiry scan until a shutdown token fires.
//!
//! ```no_run
//! # async fn demo() -> rmq_nameserver::Result<()> {
//! use rmq_nameserver::{NamesrvConfig, runtime};
//! let bound = runtime::bind(NamesrvConfig::default()).await?;
//! let shutdown = rmq_remoting::CancellationToken::new();
//! bound.serve(shutdown).await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod config;
pub mod error;
mod file;
mod handlers;
pub mod kv;
mod metrics;
mod namesrv;
pub mod route;
pub mod runtime;

pub use config::NamesrvConfig;
pub use error::{NamesrvError, Result};
pub use namesrv::{NameServer, Peer};
