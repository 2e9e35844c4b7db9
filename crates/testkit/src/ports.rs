//! Free loopback ports for servers started by tests.

use std::net::TcpListener;

/// A port free right now (the OS picks it; another process may take it
/// before the caller binds, which tests accept).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or_else(|e| {
        panic!("no free loopback port: {e}");
    })
}

/// A broker port p whose neighbours p-2 (the VIP port) and p+1 (the HA port)
/// are free too.
pub fn free_broker_port() -> u16 {
    for _ in 0..500 {
        let p = free_port();
        if !(1026..=65000).contains(&p) {
            continue;
        }
        if [p - 2, p, p + 1].iter().all(|q| TcpListener::bind(("0.0.0.0", *q)).is_ok()) {
            return p;
        }
    }
    panic!("no free port triple found");
}
