//! Interoperability suites live in `tests/`: rmq's servers, started in
//! process, driven by the `rocketmq-client-rust` crate (a client we did not
//! write). Its quirks are documented in `tests/common/client.rs`.

#![forbid(unsafe_code)]
