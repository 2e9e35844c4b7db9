//! Which replicas a master counts as in sync, from what its HA port sees.
//!
//! Classic HA (which rmq's controller mode keeps on the wire) does not tell
//! the master which broker a connection is, only the address it comes from.
//! The controller knows each replica's address, so replicas are matched to
//! connections by IP: the replicas on one IP are in sync when at least as
//! many connections from that IP are. A connection is in sync when the
//! oldest write it lacks is no older than `haMaxTimeSlaveNotCatchup` (Java's
//! rule for leaving the set). With one replica per host, as in any real
//! deployment, this is exact; with several on one host it errs towards out
//! of sync, which can only delay a failover, never elect a broker that lacks
//! acknowledged data.

use std::collections::{BTreeMap, BTreeSet};

use rmq_replication::sync::SlaveLag;

/// `replicas`: the group's other brokers as `(id, "ip:port")`; `me` is always in.
pub(crate) fn in_sync_set(me: i64, replicas: &[(i64, String)], lags: &[SlaveLag], max_lag_ms: u64) -> BTreeSet<i64> {
    let ip = |addr: &str| addr.rsplit_once(':').map_or(addr, |(host, _)| host).to_owned();
    let mut caught_up: BTreeMap<String, usize> = BTreeMap::new();
    for lag in lags.iter().filter(|l| l.ms <= max_lag_ms) {
        *caught_up.entry(ip(&lag.address)).or_default() += 1;
    }
    let mut by_ip: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (id, addr) in replicas.iter().filter(|(id, _)| *id != me) {
        by_ip.entry(ip(addr)).or_default().push(*id);
    }
    let mut set = BTreeSet::from([me]);
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

    fn lag(address: &str, ms: u64) -> SlaveLag {
        SlaveLag { address: address.to_owned(), bytes: u64::from(ms > 0), ms }
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
}
