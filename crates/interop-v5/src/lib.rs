//! Tests only: see `tests/`. RocketMQ 5's official clients (gRPC) against
//! rmq's NameServer, broker and proxy run as real processes: the Rust client
//! (the `rocketmq` crate, `tests/proxy.rs`) and the Python client
//! (`rocketmq-python-client`, `tests/python_client.rs`, driving the role
//! scripts in `python/`; install it with `scripts/ci-deps.sh`).
