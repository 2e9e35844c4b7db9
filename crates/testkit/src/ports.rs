//! Free loopback ports for servers started by tests.
//!
//! Picked below Linux's ephemeral range (32768-60999 by default): the OS
//! hands those out to every outgoing connection, so a port it just called
//! free could be a client socket's by the time a test server binds it (an
//! `Address already in use` flake seen in CI). Below the range only other
//! tests' picks compete, and random picks over 20,000 ports rarely meet.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where picks fall: above the well-known and registered servers tests might
/// meet on a developer machine (9876, 10911, ...), below the ephemeral range.
const PICK_FROM: u16 = 12_000;
const PICK_TO: u16 = 32_000;

/// A random port in `PICK_FROM..PICK_TO`, different on every call.
fn candidate() -> u16 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    PICK_FROM + (h.finish() % u64::from(PICK_TO - PICK_FROM)) as u16
}

fn bindable(host: &str, port: u16) -> bool {
    TcpListener::bind((host, port)).is_ok()
}

/// A port free right now (another process may still take it before the
/// caller binds, which tests accept).
pub fn free_port() -> u16 {
    for _ in 0..1000 {
        let p = candidate();
        if bindable("127.0.0.1", p) && bindable("0.0.0.0", p) {
            return p;
        }
    }
    panic!("no free loopback port between {PICK_FROM} and {PICK_TO}");
}

/// A broker port p whose neighbours p-2 (the VIP port) and p+1 (the HA port)
/// are free too.
pub fn free_broker_port() -> u16 {
    for _ in 0..1000 {
        let p = candidate();
        if [p - 2, p, p + 1].iter().all(|q| bindable("0.0.0.0", *q)) {
            return p;
        }
    }
    panic!("no free port triple between {PICK_FROM} and {PICK_TO}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_are_free_and_below_the_ephemeral_range() {
        for _ in 0..50 {
            let p = free_broker_port();
            assert!((PICK_FROM..PICK_TO).contains(&p));
            assert!(TcpListener::bind(("0.0.0.0", p)).is_ok());
        }
        let picks: std::collections::BTreeSet<u16> = (0..50).map(|_| free_port()).collect();
        assert!(picks.len() > 40, "picks spread out: {picks:?}");
    }
}
