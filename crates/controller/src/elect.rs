//! Choosing a master (Java's `DefaultElectPolicy`): among the alive brokers
//! of the in-sync set, else (with `enableElectUncleanMaster`) of all
//! replicas; the old master if it is still alive and nobody is designated;
//! a designated broker only if it qualifies; otherwise the one with the
//! latest epoch, then the largest offset, then the lowest
//! `electionPriority`, then (rmq: so that the choice is deterministic) the
//! lowest broker id.

use std::collections::BTreeSet;

use crate::heartbeat::Liveness;

/// Who asks and among whom.
#[derive(Debug, Clone, Copy)]
pub struct Candidates<'a> {
    pub cluster_name: &'a str,
    pub broker_name: &'a str,
    pub sync_state_set: &'a BTreeSet<i64>,
    /// Every replica of the group, when unclean elections are allowed.
    pub all_replicas: Option<&'a BTreeSet<i64>>,
    pub old_master: Option<i64>,
    /// The broker an administrator designated.
    pub preferred: Option<i64>,
}

pub fn elect(c: Candidates<'_>, live: &dyn Liveness) -> Option<i64> {
    try_elect(&c, c.sync_state_set, live).or_else(|| c.all_replicas.and_then(|all| try_elect(&c, all, live)))
}

fn try_elect(c: &Candidates<'_>, brokers: &BTreeSet<i64>, live: &dyn Liveness) -> Option<i64> {
    let alive: Vec<i64> =
        brokers.iter().copied().filter(|id| live.is_alive(c.cluster_name, c.broker_name, *id)).collect();
    if alive.is_empty() {
        return None;
    }
    if let Some(old) = c.old_master.filter(|old| alive.contains(old) && c.preferred.is_none_or(|p| p == *old)) {
        return Some(old);
    }
    if let Some(preferred) = c.preferred {
        return alive.contains(&preferred).then_some(preferred);
    }
    alive.into_iter().min_by_key(|id| {
        let info = live.live_info(c.cluster_name, c.broker_name, *id);
        let (epoch, offset, priority) =
            info.map_or((-1, -1, i32::MAX), |i| (i.epoch, i.max_offset, i.election_priority));
        (std::cmp::Reverse(epoch), std::cmp::Reverse(offset), priority, *id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heartbeat::LiveInfo;
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    struct Fixed(HashMap<i64, (i32, i64, i32)>);

    impl Liveness for Fixed {
        fn is_alive(&self, _: &str, _: &str, id: i64) -> bool {
            self.0.contains_key(&id)
        }
        fn live_info(&self, _: &str, _: &str, id: i64) -> Option<LiveInfo> {
            self.0.get(&id).map(|&(epoch, max_offset, election_priority)| LiveInfo {
                broker_addr: String::new(),
                last_update: Instant::now(),
                timeout: Duration::from_secs(1),
                connection: None,
                epoch,
                max_offset,
                confirm_offset: 0,
                election_priority,
                leased: false,
            })
        }
    }

    fn set(ids: &[i64]) -> BTreeSet<i64> {
        ids.iter().copied().collect()
    }

    fn candidates<'a>(sync: &'a BTreeSet<i64>, all: Option<&'a BTreeSet<i64>>, old: Option<i64>) -> Candidates<'a> {
        Candidates {
            cluster_name: "c",
            broker_name: "b",
            sync_state_set: sync,
            all_replicas: all,
            old_master: old,
            preferred: None,
        }
    }

    #[test]
    fn prefers_in_sync_latest_epoch_then_offset_then_priority() {
        let live = Fixed(HashMap::from([(2, (3, 100, 5)), (3, (3, 200, 9)), (4, (4, 0, 9))]));
        let sync = set(&[1, 2, 3]);
        assert_eq!(elect(candidates(&sync, None, Some(1)), &live), Some(3));
        let live = Fixed(HashMap::from([(2, (3, 100, 5)), (3, (3, 100, 1))]));
        assert_eq!(elect(candidates(&sync, None, Some(1)), &live), Some(3));
    }

    #[test]
    fn unclean_only_when_allowed_and_old_master_kept_when_alive() {
        let live = Fixed(HashMap::from([(4, (1, 0, 0))]));
        let sync = set(&[1, 2]);
        let all = set(&[1, 2, 4]);
        assert_eq!(elect(candidates(&sync, None, Some(1)), &live), None);
        assert_eq!(elect(candidates(&sync, Some(&all), Some(1)), &live), Some(4));
        let live = Fixed(HashMap::from([(1, (0, 0, 0)), (2, (9, 9, 0))]));
        assert_eq!(elect(candidates(&sync, None, Some(1)), &live), Some(1));
        let designated = Candidates { preferred: Some(2), ..candidates(&sync, None, Some(1)) };
        assert_eq!(elect(designated, &live), Some(2));
        let dead = Candidates { preferred: Some(7), ..candidates(&sync, None, Some(1)) };
        assert_eq!(elect(dead, &live), None);
    }
}
