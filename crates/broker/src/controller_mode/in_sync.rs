//! Which replicas a master counts as in sync, from what its HA port sees.
//!
//! An rmq replica names itself in its HA [hello](rmq_replication::hello):
//! its connection then stands for its broker id, exactly. A connection with
//! no hello (classic HA tells the master only the address it comes from) is
//! matched by IP to the replicas the controller lists and no hello named:
//! the replicas on one IP are in sync when at least as many such connections
//! from that IP are (exact with one replica per host; with several on one
//! host it errs towards out of sync, which can only delay a failover, never
//! elect a broker that lacks acknowledged data). A connection is in sync when
//! the oldest write it lacks is no older than `haMaxTimeSlaveNotCatchup`
//! (Java's rule for leaving the set). An `asyncLearner` never is.

use std::collections::{BTreeMap, BTreeSet};

use rmq_replication::sync::SlaveLag;

/// `replicas`: the group's other brokers as `(id, "ip:port")`; `me` is always in.
pub(crate) fn in_sync_set(me: i64, replicas: &[(i64, String)], lags: &[SlaveLag], max_lag_ms: u64) -> BTreeSet<i64> {
    let ip = |addr: &str| addr.rsplit_once(':').map_or(addr, |(host, _)| host).to_owned();
    let known: BTreeSet<i64> = replicas.iter().map(|(id, _)| *id).filter(|id| *id != me).collect();
    let named: BTreeSet<i64> = lags.iter().filter_map(|l| l.hello.map(|h| h.broker_id)).collect();
    let mut set = BTreeSet::from([me]);
    let mut caught_up: BTreeMap<String, usize> = BTreeMap::new();
    for lag in lags.iter().filter(|l| l.ms <= max_lag_ms) {
        match lag.hello {
            Some(h) if !h.async_learner && known.contains(&h.broker_id) => {
                set.insert(h.broker_id);
            }
            Some(_) => {}
            None => *caught_up.entry(ip(&lag.address)).or_default() += 1,
        }
    }
    let mut by_ip: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (id, addr) in replicas.iter().filter(|(id, _)| known.contains(id) && !named.contains(id)) {
        by_ip.entry(ip(addr)).or_default().push(*id);
    }
    for (host, ids) in by_ip {
        if caught_up.get(&host).copied().unwrap_or(0) >= ids.len() {
            set.extend(ids);
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_replication::ReplicaHello;

    fn lag(address: &str, ms: u64) -> SlaveLag {
        SlaveLag { address: address.to_owned(), hello: None, bytes: u64::from(ms > 0), ms }
    }

    fn named(address: &str, ms: u64, broker_id: i64, async_learner: bool) -> SlaveLag {
        let hello = ReplicaHello { broker_id, sync_from_last_file: false, async_learner };
        SlaveLag { hello: Some(hello), ..lag(address, ms) }
    }

    #[test]
    fn replicas_join_when_their_hosts_connections_are_caught_up() {
        let replicas =
            vec![(1, "10.0.0.1:10911".to_owned()), (2, "10.0.0.2:10911".into()), (3, "10.0.0.3:10911".into())];
        let lags = [lag("10.0.0.2:40001", 0), lag("10.0.0.3:40002", 20_000)];
        assert_eq!(in_sync_set(1, &replicas, &lags, 15_000), BTreeSet::from([1, 2]));
    }

    #[test]
    fn replicas_sharing_a_host_need_as_many_caught_up_connections() {
        let replicas =
            vec![(1, "127.0.0.1:10911".to_owned()), (2, "127.0.0.1:20911".into()), (3, "127.0.0.1:30911".into())];
        let one = [lag("127.0.0.1:40001", 0)];
        assert_eq!(in_sync_set(1, &replicas, &one, 15_000), BTreeSet::from([1]));
        let two = [lag("127.0.0.1:40001", 0), lag("127.0.0.1:40002", 10)];
        assert_eq!(in_sync_set(1, &replicas, &two, 15_000), BTreeSet::from([1, 2, 3]));
    }

    #[test]
    fn a_named_replica_counts_by_its_id_even_beside_others_on_its_host() {
        let replicas =
            vec![(1, "127.0.0.1:10911".to_owned()), (2, "127.0.0.1:20911".into()), (3, "127.0.0.1:30911".into())];
        let lags = [named("127.0.0.1:40001", 0, 3, false), named("127.0.0.1:40002", 90_000, 2, false)];
        assert_eq!(in_sync_set(1, &replicas, &lags, 15_000), BTreeSet::from([1, 3]));
    }

    #[test]
    fn a_learner_never_joins_and_a_stranger_id_is_ignored() {
        let replicas = vec![(1, "10.0.0.1:10911".to_owned()), (2, "10.0.0.2:10911".into())];
        let lags = [named("10.0.0.2:40001", 0, 2, true), named("10.0.0.9:40002", 0, 7, false)];
        assert_eq!(in_sync_set(1, &replicas, &lags, 15_000), BTreeSet::from([1]));
    }
}
