//! RocketMQ's message store: the CommitLog, consume queues, index files,
//! checkpoint and config tables of a broker's store directory, byte-compatible
//! with Java's (protocol doc §4.5-§5.8).
//!
//! The store is a synchronous core: puts take a short mutex, encode straight
//! into the mapped file and publish the new end; three threads do the rest
//! (CommitLog flush or group commit, dispatch into consume queues and index,
//! retention). Async callers wait on `tokio::sync::watch` receivers of the
//! flushed and written offsets. It knows nothing of sockets or the remoting
//! protocol and must never depend on them.
//!
//! Layout: [`segment`] (a mapped file), `commitlog`, `consume_queue`, `index`,
//! [`checkpoint`], `recovery`, `dispatch`, `flush`, `retention`, `read`,
//! [`config_file`], [`config`], [`error`].

pub mod checkpoint;
mod commitlog;
pub mod config;
pub mod config_file;
mod consume_queue;
mod dispatch;
pub mod error;
mod flush;
pub mod hooks;
pub mod index;
mod read;
mod recovery;
mod retention;
pub mod segment;
mod signal;
mod stats;
mod store;

pub use config::StoreConfig;
pub use consume_queue::CQ_UNIT;
pub use dispatch::SCHEDULE_TOPIC;
pub use error::{PutMessageStatus, Result, StoreError, Unavailable};
pub use hooks::{Clock, DiskUsage, DispatchListener, Dispatched, FixedDiskUsage, ManualClock, StoreHooks, SystemClock};
pub use read::{AcceptAll, GetMessageResult, GetMessageStatus, MessageFilter, QueryResult};
pub use stats::StoreStats;
pub use store::{MessageStore, PutResult};
