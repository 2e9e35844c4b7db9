//! The RocketMQ broker: request handlers over the store, topic and
//! subscription tables, consumer offsets, client tracking, NameServer
//! registration and the background services (delay, retry, transactions).
//!
//! It depends on the store (messages on disk), the protocol (what requests
//! mean) and the remoting transport (sockets); nothing depends on it but the
//! binaries. One composition root builds every part once and hands each its
//! dependencies explicitly.

pub mod clients;
pub mod config;
pub mod groups;
pub mod long_poll;
pub mod namesrv;
pub mod offsets;
pub mod topics;

pub use config::BrokerConfig;
