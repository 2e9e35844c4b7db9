//! Queue locks of orderly consumers (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ).
//!
//! An orderly consumer may only consume a queue while it holds the queue's
//! lock on the broker, so that one queue is never consumed by two clients at
//! once while a group rebalances. A lock is a lease: it belongs to one client
//! id and lapses `lease` after its holder last locked it (Java's
//! `rebalanceLockMaxLiveTime`, 60 s; clients renew every 20 s). A lapsed lock
//! is free for any client of the group; the holder renewing in time keeps it.
//!
//! Locks live in memory only, as in Java: after a restart every lock is free
//! and the consumers take their queues back at their next renewal.

use rmq_model::MessageQueue;
use rmq_store::StoreConfig;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::BrokerConfig;

/// Java's default lease of a queue lock.
pub const DEFAULT_LOCK_LEASE: Duration = Duration::from_secs(60);

/// The JVM system property Java reads the lease from; rmq reads it from
/// `-D…=` in `JAVA_OPT` / `JAVA_OPT_EXT` as the start scripts pass it.
pub const LOCK_LEASE_PROPERTY: &str = "rocketmq.broker.rebalance.lockMaxLiveTime";

/// Who holds one queue, and since when it was last renewed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Lease {
    client_id: String,
    renewed_ms: i64,
}

/// Which client holds which queue of which group, with lease expiry.
#[derive(Debug)]
pub struct QueueLocks {
    lease_ms: i64,
    groups: Mutex<HashMap<String, HashMap<MessageQueue, Lease>>>,
}

impl QueueLocks {
    pub fn new(_config: &BrokerConfig, _store: &StoreConfig) -> QueueLocks {
        let lease = lease_from_java_opts(std::env::var("JAVA_OPT").ok(), std::env::var("JAVA_OPT_EXT").ok());
        QueueLocks::with_lease(lease)
    }

    /// Locks whose lease is `lease` (tests use short ones).
    pub fn with_lease(lease: Duration) -> QueueLocks {
        QueueLocks { lease_ms: lease.as_millis().min(i64::MAX as u128) as i64, groups: Mutex::new(HashMap::new()) }
    }

    /// Locks (or renews) every queue of `queues` that is free, lapsed or
    /// already `client_id`'s, and returns those `client_id` now holds. Queues
    /// held by another live client are left alone and not returned.
    pub fn lock(&self, group: &str, client_id: &str, queues: &[MessageQueue], now_ms: i64) -> Vec<MessageQueue> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let table = groups.entry(group.to_owned()).or_default();
        let mut held = Vec::with_capacity(queues.len());
        for mq in queues {
            match table.get_mut(mq) {
                Some(lease) if lease.client_id == client_id => {
                    lease.renewed_ms = now_ms;
                }
                Some(lease) if now_ms - lease.renewed_ms > self.lease_ms => {
                    tracing::warn!(
                        "queue lock of group {group} on {mq:?} lapsed (held by {}); {client_id} takes it",
                        lease.client_id
                    );
                    *lease = Lease { client_id: client_id.to_owned(), renewed_ms: now_ms };
                }
                Some(lease) => {
                    tracing::debug!(
                        "queue lock of group {group} on {mq:?} is held by {}; {client_id} does not get it",
                        lease.client_id
                    );
                    continue;
                }
                None => {
                    tracing::info!("queue lock of group {group} on {mq:?} was free; {client_id} takes it");
                    table.insert(mq.clone(), Lease { client_id: client_id.to_owned(), renewed_ms: now_ms });
                }
            }
            if !held.contains(mq) {
                held.push(mq.clone());
            }
        }
        held
    }

    /// Releases the queues of `queues` that `client_id` holds; locks held by
    /// other clients are kept (and logged).
    pub fn unlock(&self, group: &str, client_id: &str, queues: &[MessageQueue]) {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let Some(table) = groups.get_mut(group) else {
            return;
        };
        for mq in queues {
            match table.get(mq) {
                Some(lease) if lease.client_id == client_id => {
                    table.remove(mq);
                    tracing::info!("queue lock of group {group} on {mq:?} released by {client_id}");
                }
                Some(lease) => tracing::warn!(
                    "{client_id} unlocks {mq:?} of group {group}, but {} holds it: kept",
                    lease.client_id
                ),
                None => {}
            }
        }
        if table.is_empty() {
            groups.remove(group);
        }
    }

    /// The live holder of a queue, if any.
    #[cfg(test)]
    pub fn holder(&self, group: &str, mq: &MessageQueue, now_ms: i64) -> Option<String> {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let lease = groups.get(group)?.get(mq)?;
        (now_ms - lease.renewed_ms <= self.lease_ms).then(|| lease.client_id.clone())
    }
}

/// The lease named by `-Drocketmq.broker.rebalance.lockMaxLiveTime=<ms>` in
/// the Java option strings (the later one wins), or the default.
fn lease_from_java_opts(java_opt: Option<String>, java_opt_ext: Option<String>) -> Duration {
    let prefix = format!("-D{LOCK_LEASE_PROPERTY}=");
    let value = [java_opt, java_opt_ext]
        .into_iter()
        .flatten()
        .flat_map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .filter_map(|token| token.strip_prefix(&prefix).map(str::to_owned))
        .next_back();
    match value.map(|v| v.trim_matches(|c| c == '"' || c == '\'').parse::<u64>()) {
        Some(Ok(ms)) => Duration::from_millis(ms),
        Some(Err(e)) => {
            tracing::warn!("-D{LOCK_LEASE_PROPERTY} is not a number of milliseconds ({e}); using 60000");
            DEFAULT_LOCK_LEASE
        }
        None => DEFAULT_LOCK_LEASE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(q: i32) -> MessageQueue {
        MessageQueue::new("Ordered", "broker-a", q)
    }

    /// Java's `RebalanceLockManager.tryLockBatch`: a held queue is refused to
    /// others until its lease lapses, and re-locking renews it.
    #[test]
    fn held_queues_are_refused_until_their_lease_lapses() {
        let locks = QueueLocks::with_lease(Duration::from_millis(1000));
        assert_eq!(locks.lock("g", "A", &[mq(0), mq(1)], 0), vec![mq(0), mq(1)]);
        assert_eq!(locks.lock("g", "B", &[mq(0), mq(1), mq(2)], 500), vec![mq(2)]);
        // A renews queue 0 only; queue 1 lapses.
        assert_eq!(locks.lock("g", "A", &[mq(0)], 900), vec![mq(0)]);
        assert_eq!(locks.lock("g", "B", &[mq(0), mq(1)], 1501), vec![mq(1)]);
        assert_eq!(locks.holder("g", &mq(0), 1501).as_deref(), Some("A"));
        assert_eq!(locks.holder("g", &mq(1), 1501).as_deref(), Some("B"));
        // Other groups are independent.
        assert_eq!(locks.lock("other", "C", &[mq(0)], 1501), vec![mq(0)]);
        // Exactly at the lease the lock still holds (Java: expired is "> lease").
        assert_eq!(locks.lock("g", "B", &[mq(0)], 1900), vec![]);
        assert_eq!(locks.lock("g", "B", &[mq(0)], 1901), vec![mq(0)]);
    }

    #[test]
    fn only_the_holder_unlocks() {
        let locks = QueueLocks::with_lease(DEFAULT_LOCK_LEASE);
        locks.lock("g", "A", &[mq(0), mq(1)], 0);
        locks.unlock("g", "B", &[mq(0)]);
        assert_eq!(locks.holder("g", &mq(0), 1).as_deref(), Some("A"));
        locks.unlock("g", "A", &[mq(0)]);
        assert_eq!(locks.holder("g", &mq(0), 1), None);
        assert_eq!(locks.lock("g", "B", &[mq(0), mq(1)], 2), vec![mq(0)]);
        locks.unlock("nobody", "A", &[mq(0)]);
    }

    #[test]
    fn duplicate_queues_are_answered_once() {
        let locks = QueueLocks::with_lease(DEFAULT_LOCK_LEASE);
        assert_eq!(locks.lock("g", "A", &[mq(3), mq(3)], 0), vec![mq(3)]);
    }

    #[test]
    fn lease_comes_from_the_java_property() {
        let opt = Some("-server -Drocketmq.broker.rebalance.lockMaxLiveTime=1500".to_owned());
        assert_eq!(lease_from_java_opts(opt.clone(), None), Duration::from_millis(1500));
        let ext = Some("-Drocketmq.broker.rebalance.lockMaxLiveTime=\"2500\"".to_owned());
        assert_eq!(lease_from_java_opts(opt, ext), Duration::from_millis(2500));
        assert_eq!(lease_from_java_opts(None, None), DEFAULT_LOCK_LEASE);
        let bad = Some("-Drocketmq.broker.rebalance.lockMaxLiveTime=soon".to_owned());
        assert_eq!(lease_from_java_opts(bad, None), DEFAULT_LOCK_LEASE);
    }
}
