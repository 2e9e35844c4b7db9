//! Each documented mode keeps its promise: the rmq image in containers,
//! faults injected through the container handles, messages produced and
//! consumed by rocketmq-client-rust and compared as exact sets.
//!
//! Every case is `#[ignore]`d (it needs Docker and the image) and runs with
//! `scripts/test-integration.sh`, which builds the image first and runs
//! `cargo test -p rmq-integration -- --ignored --test-threads=1`.
#![recursion_limit = "256"]

mod async_pairs;
mod common;
mod controller;
mod namesrv;
mod single;
mod sync_pairs;
mod two_masters;
