//! Bounds on requests in progress, as Java bounds its processor queues
//! (`sendThreadPoolQueueCapacity`, `pullThreadPoolQueueCapacity`): past the
//! bound a request is answered SYSTEM_BUSY at once instead of queueing.
//!
//! Pulls are held for up to 30 s by long polling, so a few connections
//! parking pulls on every queue they can name would take every permit and
//! starve the other consumers. Permits made [`Permits::shared`] give one
//! connection at most a share of the permits the *other* connections leave
//! free (`pullPermitSharePercent`, rmq's own): with a share `p`, a connection
//! holding `h` permits gets one more only while `h + 1 ≤ p × (free + h)`.
//! Each greedy connection thus takes at most `p` of what the others left, so
//! `n` of them leave at least `(1 − p)^n` of the permits free (10 %, 25
//! connections: 7 %, 7 000 of Java's default 100 000); a connection holding
//! none may always take one while any is free.

use rmq_protocol::remark::OVERLOAD;
use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_remoting::{Connection, ConnectionId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use tokio::sync::{Semaphore, SemaphorePermit};

#[derive(Debug)]
pub(crate) struct Permits {
    capacity: usize,
    semaphore: Semaphore,
    /// Percent of the permits not held by other connections that one
    /// connection may hold; 0 (or 100 and more): no share, first come first
    /// served.
    share_percent: u32,
    /// Permits held per connection, when a share is set.
    held: Mutex<HashMap<ConnectionId, usize>>,
    /// Requests refused (answered SYSTEM_BUSY), for the metrics endpoint.
    refused: AtomicU64,
}

/// Why no permit was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Every permit is taken.
    Full,
    /// The connection holds its share already (`held` permits).
    OverShare { held: usize },
}

/// A permit for one request of one connection, given back on drop.
#[derive(Debug)]
pub(crate) struct ConnectionPermit<'a> {
    permits: &'a Permits,
    _permit: SemaphorePermit<'a>,
    conn: Option<ConnectionId>,
}

impl Permits {
    /// First come, first served.
    pub(crate) fn new(capacity: usize) -> Permits {
        Permits::shared(capacity, 0)
    }

    /// One connection holds at most `share_percent` of the permits the other
    /// connections leave free; 0 or 100 and more: no share.
    pub(crate) fn shared(capacity: usize, share_percent: u32) -> Permits {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        let share_percent = if share_percent >= 100 { 0 } else { share_percent };
        Permits {
            capacity,
            semaphore: Semaphore::new(capacity),
            share_percent,
            held: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
        }
    }

    /// A permit for one request, or `None` when the bound is reached.
    pub(crate) fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        let permit = self.semaphore.try_acquire().ok();
        if permit.is_none() {
            self.count_refusal();
        }
        permit
    }

    /// Requests refused so far because the bound (or a connection's share)
    /// was reached.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn count_refusal(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A permit for one request of `conn`, within its share.
    pub(crate) fn try_acquire_for(&self, conn: ConnectionId) -> Result<ConnectionPermit<'_>, Refusal> {
        let given = self.try_acquire_within_share(conn);
        if given.is_err() {
            self.count_refusal();
        }
        given
    }

    fn try_acquire_within_share(&self, conn: ConnectionId) -> Result<ConnectionPermit<'_>, Refusal> {
        if self.share_percent == 0 {
            let permit = self.semaphore.try_acquire().map_err(|_| Refusal::Full)?;
            return Ok(ConnectionPermit { permits: self, _permit: permit, conn: None });
        }
        let mut held = self.held();
        let mine = held.get(&conn).copied().unwrap_or(0);
        let free = self.semaphore.available_permits();
        // u128: capacity × 100 overflows usize near Semaphore::MAX_PERMITS.
        let within_share = (mine as u128 + 1) * 100 <= u128::from(self.share_percent) * (free + mine) as u128;
        if mine > 0 && !within_share {
            return Err(Refusal::OverShare { held: mine });
        }
        let permit = self.semaphore.try_acquire().map_err(|_| Refusal::Full)?;
        *held.entry(conn).or_insert(0) += 1;
        Ok(ConnectionPermit { permits: self, _permit: permit, conn: Some(conn) })
    }

    /// Requests in progress now (the runtime info's `…ThreadPoolQueueSize`).
    pub(crate) fn in_flight(&self) -> usize {
        self.capacity - self.semaphore.available_permits()
    }

    fn release(&self, conn: ConnectionId) {
        let mut held = self.held();
        if let Some(count) = held.get_mut(&conn) {
            *count -= 1;
            if *count == 0 {
                held.remove(&conn);
            }
        }
    }

    fn held(&self) -> MutexGuard<'_, HashMap<ConnectionId, usize>> {
        // Each critical section is one map update: poison leaves nothing
        // half-done.
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for ConnectionPermit<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn {
            self.permits.release(conn);
        }
    }
}

/// Java's answer to an overloaded broker, SYSTEM_BUSY with `[OVERLOAD]`
/// (clients back off and retry), saying which bound was met.
pub(crate) fn busy(conn: &Connection, refusal: Refusal) -> RemotingCommand {
    let remark = match refusal {
        Refusal::Full => OVERLOAD.to_owned(),
        Refusal::OverShare { held } => {
            tracing::debug!(
                conn = %conn.id(),
                "{} holds {held} pulls, its share of the free pull permits: refusing one more",
                conn.remote_addr()
            );
            format!("{OVERLOAD}: this connection holds {held} pull requests, its share of the free ones")
        }
    };
    RemotingCommand::response(ResponseCode::SystemBusy, Some(remark))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take_all(permits: &Permits, conn: u64) -> Vec<ConnectionPermit<'_>> {
        std::iter::from_fn(|| permits.try_acquire_for(ConnectionId(conn)).ok()).collect()
    }

    #[test]
    fn one_greedy_connection_gets_its_share_and_the_others_still_get_permits() {
        let permits = Permits::shared(100, 10);
        let greedy = take_all(&permits, 1);
        assert_eq!(greedy.len(), 10, "10 % of 100");
        assert_eq!(permits.try_acquire_for(ConnectionId(1)).unwrap_err(), Refusal::OverShare { held: 10 });
        let other = permits.try_acquire_for(ConnectionId(2));
        assert!(other.is_ok());
        drop(greedy);
        assert_eq!(permits.in_flight(), 1);
        assert_eq!(take_all(&permits, 1).len(), 9, "10 % of what connection 2 leaves");
    }

    #[test]
    fn many_greedy_connections_leave_permits_for_the_others() {
        let permits = Permits::shared(1_000, 10);
        let held: Vec<_> = (0..25).map(|conn| take_all(&permits, conn)).collect();
        let free = 1_000 - permits.in_flight();
        // Each takes at most 10 % of what the ones before left: 0.9^25 ≈ 7 %.
        assert!(free >= 70, "25 greedy connections left {free} of 1000");
        assert!(held.iter().all(|h| !h.is_empty()));
        let newcomer = take_all(&permits, 99);
        assert!(newcomer.len() >= 7, "a newcomer got {} of {free}", newcomer.len());
    }

    #[test]
    fn a_connection_holding_nothing_gets_a_permit_while_any_is_free() {
        let permits = Permits::shared(3, 1);
        let a = permits.try_acquire_for(ConnectionId(1)).unwrap();
        let b = permits.try_acquire_for(ConnectionId(2)).unwrap();
        let c = permits.try_acquire_for(ConnectionId(3)).unwrap();
        assert_eq!(permits.try_acquire_for(ConnectionId(4)).unwrap_err(), Refusal::Full);
        drop((a, b, c));
        assert_eq!(permits.in_flight(), 0);
    }

    #[test]
    fn no_share_is_first_come_first_served() {
        for share in [0, 100] {
            let permits = Permits::shared(50, share);
            assert_eq!(take_all(&permits, 1).len(), 50);
        }
    }
}
