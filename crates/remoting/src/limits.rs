//! Limits a hostile peer cannot pass, and the counts of what they refused.
//!
//! * [`LimitCounters`]: how many connections each limit closed or refused,
//!   read by whoever reports metrics ([`crate::Server::counters`]).
//! * [`PerIpConnections`]: connections open per remote IP address, with a
//!   slot released when its connection ends, so one host cannot take every
//!   connection the server allows.
//! * [`LogThrottle`]: refusals come by the thousand in an attack; one log line
//!   per period says how many, instead of one line each.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// What the limits of one server refused or closed, since it started.
/// Counters only grow; read them with [`LimitCounters::snapshot`].
#[derive(Debug, Default)]
pub struct LimitCounters {
    over_max_connections: AtomicU64,
    over_per_ip: AtomicU64,
    write_timeouts: AtomicU64,
    frame_timeouts: AtomicU64,
}

/// The counters of [`LimitCounters`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitSnapshot {
    /// Connections closed on accept: the server already served `max_connections`.
    pub refused_max_connections: u64,
    /// Connections closed on accept: their IP address already had
    /// `max_connections_per_ip` open.
    pub refused_per_ip: u64,
    /// Connections closed because queued frames made no write progress for
    /// `write_timeout` (the peer reads nothing).
    pub write_timeouts: u64,
    /// Connections closed because a frame, once started, did not complete
    /// within `frame_timeout` (a trickling peer).
    pub frame_timeouts: u64,
}

impl LimitCounters {
    pub fn snapshot(&self) -> LimitSnapshot {
        LimitSnapshot {
            refused_max_connections: self.over_max_connections.load(Ordering::Relaxed),
            refused_per_ip: self.over_per_ip.load(Ordering::Relaxed),
            write_timeouts: self.write_timeouts.load(Ordering::Relaxed),
            frame_timeouts: self.frame_timeouts.load(Ordering::Relaxed),
        }
    }

    /// Counts one refusal past `max_connections`; returns the new total.
    pub(crate) fn refused_max_connections(&self) -> u64 {
        self.over_max_connections.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Counts one refusal past the per-IP cap; returns the new total.
    pub(crate) fn refused_per_ip(&self) -> u64 {
        self.over_per_ip.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn write_timed_out(&self) {
        self.write_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn frame_timed_out(&self) {
        self.frame_timeouts.fetch_add(1, Ordering::Relaxed);
    }
}

/// Connections open per remote IP address; `max` 0 means no cap.
#[derive(Debug)]
pub(crate) struct PerIpConnections {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`PerIpConnections`], given back on drop.
#[derive(Debug)]
pub(crate) struct IpSlot {
    table: Option<Arc<PerIpConnections>>,
    ip: IpAddr,
}

impl PerIpConnections {
    pub(crate) fn new(max: usize) -> Arc<PerIpConnections> {
        Arc::new(PerIpConnections { max, open: Mutex::new(HashMap::new()) })
    }

    /// A slot for one more connection from `ip`, or `None` when it has `max`.
    pub(crate) fn try_take(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        if self.max == 0 {
            return Some(IpSlot { table: None, ip });
        }
        let mut open = self.open();
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(IpSlot { table: Some(Arc::clone(self)), ip })
    }

    /// Connections open from `ip` now (counted only when a cap is set).
    #[cfg(test)]
    fn open_from(&self, ip: IpAddr) -> usize {
        self.open().get(&ip).copied().unwrap_or(0)
    }

    fn release(&self, ip: IpAddr) {
        let mut open = self.open();
        if let Some(count) = open.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                // The table holds the addresses connected now, not every
                // address ever seen.
                open.remove(&ip);
            }
        }
    }

    fn open(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Each critical section is one map update: poison leaves nothing
        // half-done.
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        if let Some(table) = &self.table {
            table.release(self.ip);
        }
    }
}

/// Lets one log line through per `period`, and counts the ones held back.
#[derive(Debug)]
pub(crate) struct LogThrottle {
    period: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl LogThrottle {
    pub(crate) fn new(period: Duration) -> LogThrottle {
        LogThrottle { period, last: None, held_back: 0 }
    }

    /// `Some(lines held back since the last one let through)` when a line may
    /// be logged now, `None` when it must be held back.
    pub(crate) fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < self.period => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_gets_its_cap_and_a_slot_back_when_a_connection_ends() {
        let table = PerIpConnections::new(2);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = table.try_take(a).unwrap();
        let _second = table.try_take(a).unwrap();
        assert!(table.try_take(a).is_none(), "a third from the same address");
        assert!(table.try_take(b).is_some(), "another address is not affected");
        drop(first);
        assert_eq!(table.open_from(a), 1);
        assert!(table.try_take(a).is_some());
    }

    #[test]
    fn no_cap_counts_nothing() {
        let table = PerIpConnections::new(0);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let slots: Vec<_> = (0..100).map(|_| table.try_take(ip).unwrap()).collect();
        assert_eq!(table.open_from(ip), 0);
        drop(slots);
    }

    #[test]
    fn the_throttle_lets_one_line_through_per_period_and_counts_the_rest() {
        let mut throttle = LogThrottle::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(throttle.allow(t0), Some(0));
        assert_eq!(throttle.allow(t0 + Duration::from_secs(1)), None);
        assert_eq!(throttle.allow(t0 + Duration::from_secs(9)), None);
        assert_eq!(throttle.allow(t0 + Duration::from_secs(10)), Some(2));
        assert_eq!(throttle.allow(t0 + Duration::from_secs(11)), None);
    }
}
