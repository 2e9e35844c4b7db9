//! rmq's documented modes, proven black-box: the locally built image
//! (`scripts/build-image.sh`) started through testcontainers on a private
//! network per case, faults injected through the container handles, and every
//! message produced and consumed by rocketmq-client-rust, a client we did not
//! write, with exact message sets compared.
//!
//! Layout:
//! - [`cluster`]: one helper per topology (single, 2m-noslave, 2m-2s-async,
//!   2m-2s-sync) that hands back the NameServer and broker addresses;
//! - [`node`]: one container and its faults (stop, SIGKILL, pause, network
//!   disconnect and reconnect, restart);
//! - [`case`]: a case bounded in time, cleaned up even when it fails, its
//!   counts reported;
//! - [`client`]: the third-party client, its ledgers of what was acknowledged
//!   and what arrived;
//! - [`admin`]: stage-setting requests (topics, runtime info, cluster table);
//! - [`docker`]: the engine client, the preflight, labels and the sweep.
//!
//! The suites in `tests/` are `#[ignore]`d so that `cargo test --workspace`
//! does not need Docker or the image; `scripts/test-integration.sh` builds the
//! image and runs them with `--ignored`. This crate depends on nothing of
//! rmq's servers: only on the wire codec and client for admin requests.

#![forbid(unsafe_code)]

pub mod admin;
pub mod case;
pub mod client;
pub mod cluster;
pub mod docker;
pub mod node;

pub use case::{Case, Tally};
pub use client::{Client, Inbox, Ledger, SendLoop};
pub use cluster::{Cluster, Options, Topology};
pub use node::Node;
