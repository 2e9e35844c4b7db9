//! RocketMQ's message store: the CommitLog, consume queues, index files,
//! checkpoint and config tables of a broker's store directory, byte-compatible
//! with Java 4.9.8's
//! [`DefaultMessageStore`](https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/store/src/main/java/org/apache/rocketmq/store/DefaultMessageStore.java).
//!
//! The store is a synchronous core: puts take a short mutex, encode straight
//! into the mapped file and publish the new end; four background services, a
//! thread each, do the rest (CommitLog flush or group commit; dispatch into
//! consume queues and index; retention; preparing the next file). Async
//! callers wait on `tokio::sync::watch` receivers of the flushed and written
//! offsets. It knows nothing of sockets or the remoting protocol and must
//! never depend on them.
//!
//! Layout, each module using only those before it:
//!
//! * files: [`segment`] (a mapped file), `commitlog`, `consume_queue`,
//!   `index`, [`checkpoint`], [`config_file`];
//! * work on them: `dispatch` (records into queues and index), `recovery`,
//!   `checkpointer`, `retention`;
//! * `background`: the services that run that work, and their shared
//!   lifecycle;
//! * `store`: [`MessageStore`], which opens the files, recovers, starts the
//!   services and serves puts and reads;
//! * [`config`], [`hooks`], [`lease`], [`error`], `signal` (offsets to wait on, wake-ups)
//!   and `stats` serve them all.

mod background;
pub mod checkpoint;
mod checkpointer;
mod commitlog;
pub mod config;
pub mod config_file;
mod consume_queue;
mod dispatch;
pub mod error;
mod faults;
pub mod hooks;
pub mod index;
pub mod lease;
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
pub use lease::WriteLease;
pub use signal::OffsetWaiter;
pub use stats::StoreStats;
pub use store::{AcceptAll, GetMessageResult, GetMessageStatus, MessageFilter, MessageStore, PutResult, QueryResult};
