//! Dev-only helpers for tests across the workspace: servers started
//! in-process on `127.0.0.1:0` with a temporary home, and builders for the
//! requests their peers send. Never a dependency of production code.
//!
//! One module per server ([`namesrv`], [`broker`]), [`ports`], [`prometheus`]
//! (a real Prometheus scraping them), and
//! [`json_forms`] and [`raw`] for bodies and frames as non-Java clients
//! write them.

#![forbid(unsafe_code)]

pub mod broker;
pub mod json_forms;
pub mod namesrv;
pub mod pop;
pub mod ports;
pub mod prometheus;
pub mod raw;
