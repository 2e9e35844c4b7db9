//! A small RocketMQ client for rmq's own tools — `mqadmin` and the benchmark.
//! It is a tool library, not a product: no push consumer, no rebalancing, no
//! transactions, no tracing hooks; just what the tools need, kept small.
//!
//! * [`Client`]: connections to NameServers and brokers (over
//!   `rmq-remoting`'s client), a route cache refreshed in the background
//!   after 30 s, and answers to what brokers ask clients (offset resets are
//!   recorded, running info is minimal).
//! * [`Producer`]: synchronous, oneway and batch sends with Java's queue
//!   selection and retries (codes 17, 14, 1, 16, 204, 205 and transport
//!   failures go to another broker's queue). Many sends may be in flight on
//!   one producer; no send fetches a route unless the cached one is missing.
//! * [`PullConsumer`] and [`QueuePuller`]: pulls by queue and offset, tag
//!   filter, long polling, offsets by time, commit.
//! * [`admin`]: typed requests to NameServers and brokers for `mqadmin`.
//! * [`MessageExt::decode_all`]: records of pull, query and view bodies.
//!
//! It depends on `rmq-model`, `rmq-protocol` and `rmq-remoting` only; no
//! server crate may depend on it.
//!
//! Sending `n` messages with `k` in flight:
//!
//! ```no_run
//! # async fn demo(n: usize, k: usize) -> rmq_client::Result<()> {
//! use rmq_client::{Client, ClientOptions, Message, Producer};
//! use std::sync::Arc;
//! use tokio::sync::Semaphore;
//! let producer = Producer::new(Client::new(ClientOptions::new("127.0.0.1:9876")), "bench");
//! let msg = Message::new("BenchmarkTest", vec![b'x'; 128]);
//! let permits = Arc::new(Semaphore::new(k));
//! let mut tasks = tokio::task::JoinSet::new();
//! for _ in 0..n {
//!     let permit = permits.clone().acquire_owned().await.expect("open");
//!     let (producer, msg) = (producer.clone(), msg.clone());
//!     tasks.spawn(async move {
//!         let result = producer.send(&msg).await;
//!         drop(permit);
//!         result
//!     });
//! }
//! while let Some(done) = tasks.join_next().await {
//!     done.expect("task")?;
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod admin;
mod client;
mod consumer;
mod error;
mod message;
mod producer;
mod route;
mod uniq_id;

pub use client::{Client, ClientCall, ClientOptions, Credentials, OffsetReset, TransactionCheck, parse_namesrv_list};
pub use consumer::{PullConsumer, PullRequest, PullResult, PullStatus, QueuePuller};
pub use error::{ClientError, Result};
pub use message::{Message, MessageExt};
pub use producer::{Producer, ProducerOptions, RETRY_CODES, SendResult, SendStatus};
pub use route::{ROUTE_TTL, RouteCache, TopicRoute};
