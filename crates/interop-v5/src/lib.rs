//! Tests only: see `tests/`. RocketMQ 5's official Rust client (the
//! `rocketmq` crate, gRPC) against rmq's NameServer, broker and proxy run as
//! real processes.
