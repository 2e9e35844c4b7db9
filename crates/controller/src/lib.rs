//! RocketMQ 5's controller: for every broker group (`brokerName`) the
//! master, the master epoch, the in-sync replica set and its epoch, and the
//! brokers with their controller-assigned ids; elections when a master
//! stops heart-beating (Java's `ControllerManager` over
//! `ReplicasInfoManager`, `DefaultElectPolicy` and
//! `DefaultBrokerHeartbeatManager`).
//!
//! Layout: [`state::ReplicaState`] is the state machine — requests are
//! decided against it into [`event::Event`]s, and only applying events
//! changes it; [`store::EventLog`] makes events durable before they are
//! applied and replays them at start; [`heartbeat`] tracks which brokers are
//! alive; [`elect`] picks a master; [`controller::Controller`] dispatches
//! request codes; [`runtime`] binds, serves and scans.
//!
//! **Alone or in a group.** A single controller (one entry in
//! `controllerDLegerPeers`) keeps today's local event log, unchanged. With
//! several entries the controllers form a Raft group ([`raft`], openraft):
//! the leader decides, the events of a decision become one Raft entry, and
//! every member applies it once committed. Raft's RPCs travel over the
//! controller port as rmq-only request codes.
//!
//! The crate depends on the protocol and the transport only, never on the
//! store or the broker.

#![forbid(unsafe_code)]

pub mod config;
pub mod controller;
pub mod elect;
pub mod error;
pub mod event;
pub mod heartbeat;
mod notify;
pub mod raft;
pub mod runtime;
pub mod state;
pub mod store;

pub use config::ControllerConfig;
pub use controller::Controller;
pub use error::{ControllerError, Result};
