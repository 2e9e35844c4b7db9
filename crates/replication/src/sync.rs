//! What the master knows of all its slaves together, with no I/O: their
//! acknowledged offsets, the SYNC_MASTER sends waiting for one of them, and
//! how far behind they are (SYNC_MASTER acknowledgement).
//!
//! Rules (4.9.8 `CommitLog.submitReplicaRequest`, `HAService.isSlaveOK`):
//! * a slave counts once it has reported; the master's replicated offset is
//!   the highest report among connected slaves;
//! * a SYNC send is refused at once (SLAVE_NOT_AVAILABLE) when no slave
//!   counts, or the best one is `haSlaveFallbehindMax` bytes or more behind;
//! * otherwise it waits until the replicated offset reaches the end of its
//!   records; waiters are released in offset order, and each is answered
//!   exactly once (released, or expired at its deadline).
//!
//! A slave that said it is an `asyncLearner` (its [`hello`](crate::hello))
//! replicates and reports its lag, but never counts for a SYNC send.
//!
//! A slave acknowledges what it has appended to its page cache, not what it
//! has flushed: "held by a slave" means in the slave process's memory-mapped
//! CommitLog, as in Java.

use std::collections::{BTreeMap, VecDeque};

use rmq_model::PhysicalOffset;

use crate::hello::ReplicaHello;

/// Identifies one slave connection.
pub type SlaveId = u64;

/// How a SYNC_MASTER wait was settled when it was asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Wait<T> {
    /// A slave already holds the records: answer SEND_OK now.
    Done(T),
    /// No slave in sync: answer SLAVE_NOT_AVAILABLE now.
    NotAvailable(T),
    /// Too many sends already wait: answer at once (the caller picks the code).
    Busy(T),
    /// Parked; it will come out of [`Replicas::on_ack`] or [`Replicas::expire`].
    Parked,
}

#[derive(Debug)]
struct Waiter<T> {
    deadline_ms: u64,
    token: T,
}

/// Replication lag of the best slave, for the broker's runtime info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lag {
    /// Master max offset minus the best slave's acknowledged offset.
    pub bytes: u64,
    /// Age of the oldest write no slave has acknowledged yet (0 when caught up).
    pub ms: u64,
}

/// How far one slave is behind its master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveLag {
    /// `ip:port` the slave connects from.
    pub address: String,
    /// What the slave said of itself, if it sent a hello (controller mode).
    pub hello: Option<ReplicaHello>,
    pub bytes: u64,
    pub ms: u64,
}

/// One connected slave.
#[derive(Debug, Default)]
struct Connection {
    /// What it last acknowledged (None before its first report).
    acked: Option<PhysicalOffset>,
    /// Where it connects from, once named.
    address: Option<String>,
    hello: Option<ReplicaHello>,
}

impl Connection {
    /// Its acknowledgement, if it counts for SYNC sends (a learner's never does).
    fn counted_ack(&self) -> Option<PhysicalOffset> {
        if self.hello.is_some_and(|h| h.async_learner) { None } else { self.acked }
    }
}

/// Slave acknowledgements and SYNC_MASTER waiters of one master.
#[derive(Debug)]
pub struct Replicas<T> {
    /// Connected slaves.
    slaves: BTreeMap<SlaveId, Connection>,
    /// Waiters by (end offset, arrival), so release is in offset order.
    waiters: BTreeMap<(PhysicalOffset, u64), Waiter<T>>,
    seq: u64,
    max_waiters: usize,
    fallbehind_max: u64,
    timeline: Timeline,
    /// How many slaves must hold a record before its SYNC send is answered:
    /// 1 for classic SYNC_MASTER; in controller mode with
    /// `allAckInSyncStateSet`, every other member of the in-sync set (0 when
    /// the master is alone in it).
    required: usize,
}

impl<T> Replicas<T> {
    pub fn new(fallbehind_max: u64, max_waiters: usize) -> Replicas<T> {
        Replicas {
            slaves: BTreeMap::new(),
            waiters: BTreeMap::new(),
            seq: 0,
            max_waiters,
            fallbehind_max,
            timeline: Timeline::new(TIMELINE_CAPACITY),
            required: 1,
        }
    }

    /// A slave connected; it counts once it reports.
    pub fn attach(&mut self, id: SlaveId) {
        self.slaves.insert(id, Connection::default());
    }

    /// A slave's connection closed. Its waiters keep waiting for another
    /// slave, or their deadline.
    pub fn detach(&mut self, id: SlaveId) {
        self.slaves.remove(&id);
    }

    /// Names a connected slave by its address (`ip:port`), for
    /// [`Replicas::per_slave`].
    pub fn name(&mut self, id: SlaveId, address: String) {
        if let Some(slave) = self.slaves.get_mut(&id) {
            slave.address = Some(address);
        }
    }

    /// Records what a connected slave said of itself in its hello.
    pub fn identify(&mut self, id: SlaveId, hello: ReplicaHello) -> Vec<T> {
        if let Some(slave) = self.slaves.get_mut(&id) {
            slave.hello = Some(hello);
        }
        self.release()
    }

    /// Each connected slave that reported, with how far it is behind
    /// `master_max`: bytes, and the age of the first write it lacks.
    pub fn per_slave(&self, master_max: PhysicalOffset, now_ms: u64) -> Vec<SlaveLag> {
        self.slaves
            .iter()
            .filter_map(|(id, slave)| {
                let acked = slave.acked?;
                let bytes = master_max.0.saturating_sub(acked.0);
                let ms = if bytes == 0 { 0 } else { self.timeline.age_of_first_after(acked, now_ms) };
                let address = slave.address.clone().unwrap_or_else(|| format!("slave-{id}"));
                Some(SlaveLag { address, hello: slave.hello, bytes, ms })
            })
            .collect()
    }

    /// The lowest offset a reporting slave acknowledged: the write history
    /// is kept from there, so every slave's lag in ms can be told.
    fn slowest(&self) -> Option<PhysicalOffset> {
        self.slaves.values().filter_map(|s| s.acked).min()
    }

    /// Connected slaves.
    pub fn connections(&self) -> usize {
        self.slaves.len()
    }

    /// The highest offset a connected slave holds.
    pub fn replicated(&self) -> Option<PhysicalOffset> {
        self.slaves.values().filter_map(|s| s.acked).max()
    }

    /// How far the required number of slaves all hold: the `required`-th
    /// highest acknowledgement (everything when none is required).
    fn held_by_required(&self) -> Option<PhysicalOffset> {
        if self.required == 0 {
            return Some(PhysicalOffset(u64::MAX));
        }
        let mut acks: Vec<PhysicalOffset> = self.slaves.values().filter_map(Connection::counted_ack).collect();
        acks.sort_unstable_by(|a, b| b.cmp(a));
        acks.get(self.required - 1).copied()
    }

    /// Changes how many slaves a SYNC send waits for; returns the waiters
    /// that this alone releases.
    pub fn set_required(&mut self, required: usize) -> Vec<T> {
        self.required = required;
        self.release()
    }

    /// Whether a SYNC send may wait for its slaves (Java's `isSlaveOK`):
    /// enough of them report, and the one it would wait for last is less
    /// than `haSlaveFallbehindMax` behind.
    pub fn in_sync(&self, master_max: PhysicalOffset) -> bool {
        self.held_by_required().is_some_and(|r| master_max.0.saturating_sub(r.0) < self.fallbehind_max)
    }

    fn release(&mut self) -> Vec<T> {
        let Some(held) = self.held_by_required() else {
            return Vec::new();
        };
        let mut released = Vec::new();
        while let Some(entry) = self.waiters.first_entry() {
            if entry.key().0 > held {
                break;
            }
            released.push(entry.remove().token);
        }
        released
    }

    /// A slave acknowledged `offset`: returns the waiters it releases, lowest
    /// end offset first.
    pub fn on_ack(&mut self, id: SlaveId, offset: PhysicalOffset) -> Vec<T> {
        if let Some(slave) = self.slaves.get_mut(&id) {
            slave.acked = Some(slave.acked.map_or(offset, |a| a.max(offset)));
        }
        if let Some(slowest) = self.slowest() {
            self.timeline.acked(slowest);
        }
        self.release()
    }

    /// A SYNC send whose records end at `end` asks to wait until `deadline_ms`.
    pub fn wait(&mut self, end: PhysicalOffset, master_max: PhysicalOffset, deadline_ms: u64, token: T) -> Wait<T> {
        if !self.in_sync(master_max) {
            return Wait::NotAvailable(token);
        }
        if self.held_by_required().is_some_and(|r| r >= end) {
            return Wait::Done(token);
        }
        if self.waiters.len() >= self.max_waiters {
            return Wait::Busy(token);
        }
        self.seq += 1;
        self.waiters.insert((end, self.seq), Waiter { deadline_ms, token });
        Wait::Parked
    }

    /// Takes out every waiter whose deadline has passed.
    pub fn expire(&mut self, now_ms: u64) -> Vec<T> {
        let due: Vec<(PhysicalOffset, u64)> =
            self.waiters.iter().filter(|(_, w)| w.deadline_ms <= now_ms).map(|(k, _)| *k).collect();
        due.into_iter().filter_map(|k| self.waiters.remove(&k)).map(|w| w.token).collect()
    }

    /// Sends waiting.
    pub fn waiting(&self) -> usize {
        self.waiters.len()
    }

    /// The master's CommitLog grew to `max` at `now_ms` (feeds [`Replicas::lag`]).
    pub fn on_written(&mut self, max: PhysicalOffset, now_ms: u64) {
        self.timeline.written(max, now_ms);
    }

    /// How far the best slave is behind; `None` with no slave that reported.
    pub fn lag(&self, master_max: PhysicalOffset, now_ms: u64) -> Option<Lag> {
        let replicated = self.replicated()?;
        let bytes = master_max.0.saturating_sub(replicated.0);
        let ms = if bytes == 0 { 0 } else { self.timeline.age_of_first_after(replicated, now_ms) };
        Some(Lag { bytes, ms })
    }
}

/// Entries kept of the write history; past it the history is thinned (half
/// the entries dropped), which makes the lag in ms coarser, never unbounded.
const TIMELINE_CAPACITY: usize = 4096;

/// When the master's CommitLog reached which offset: `(max offset, time)`
/// pairs, oldest first, both increasing. Entries a slave has acknowledged
/// are dropped.
#[derive(Debug)]
struct Timeline {
    entries: VecDeque<(PhysicalOffset, u64)>,
    capacity: usize,
}

impl Timeline {
    fn new(capacity: usize) -> Timeline {
        Timeline { entries: VecDeque::new(), capacity: capacity.max(2) }
    }

    fn written(&mut self, max: PhysicalOffset, now_ms: u64) {
        match self.entries.back_mut() {
            Some((offset, _)) if max <= *offset => return,
            // Several writes in one millisecond share an entry.
            Some((offset, at)) if *at == now_ms => *offset = max,
            _ => self.entries.push_back((max, now_ms)),
        }
        if self.entries.len() > self.capacity {
            let mut i = 0;
            self.entries.retain(|_| {
                i += 1;
                i % 2 == 0
            });
        }
    }

    fn acked(&mut self, replicated: PhysicalOffset) {
        while self.entries.front().is_some_and(|(offset, _)| *offset <= replicated) {
            self.entries.pop_front();
        }
    }

    /// Age of the first write that took the log past `replicated`.
    fn age_of_first_after(&self, replicated: PhysicalOffset, now_ms: u64) -> u64 {
        self.entries.iter().find(|(offset, _)| *offset > replicated).map_or(0, |(_, at)| now_ms.saturating_sub(*at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(v: u64) -> PhysicalOffset {
        PhysicalOffset(v)
    }

    /// The in-sync rule of `HAService.isSlaveOK`, table-driven.
    #[test]
    fn in_sync_rules() {
        struct Case {
            name: &'static str,
            slaves: &'static [Option<u64>],
            master_max: u64,
            in_sync: bool,
        }
        let cases = [
            Case { name: "no slave", slaves: &[], master_max: 0, in_sync: false },
            Case { name: "a slave that never reported", slaves: &[None], master_max: 0, in_sync: false },
            Case { name: "caught up", slaves: &[Some(500)], master_max: 500, in_sync: true },
            Case { name: "behind by less than the max", slaves: &[Some(401)], master_max: 500, in_sync: true },
            Case { name: "behind by exactly the max", slaves: &[Some(400)], master_max: 500, in_sync: false },
            Case { name: "the best slave counts", slaves: &[Some(10), Some(450)], master_max: 500, in_sync: true },
        ];
        for c in cases {
            let mut r: Replicas<()> = Replicas::new(100, 10);
            for (id, ack) in c.slaves.iter().enumerate() {
                r.attach(id as u64);
                if let Some(a) = ack {
                    r.on_ack(id as u64, o(*a));
                }
            }
            assert_eq!(r.in_sync(o(c.master_max)), c.in_sync, "{}", c.name);
        }
    }

    #[test]
    fn waiters_are_released_in_offset_order_and_once() {
        let mut r = Replicas::new(1 << 30, 10);
        r.attach(1);
        r.on_ack(1, o(0));
        for (end, name) in [(300, "c"), (100, "a"), (200, "b"), (200, "b2"), (400, "d")] {
            assert_eq!(r.wait(o(end), o(400), 3_000, name), Wait::Parked);
        }
        assert_eq!(r.on_ack(1, o(99)), Vec::<&str>::new());
        assert_eq!(r.on_ack(1, o(200)), vec!["a", "b", "b2"]);
        assert_eq!(r.on_ack(1, o(200)), Vec::<&str>::new(), "nobody is released twice");
        assert_eq!(r.on_ack(1, o(400)), vec!["c", "d"]);
        assert_eq!(r.waiting(), 0);
    }

    #[test]
    fn wait_is_settled_at_once_when_it_can_be() {
        let mut r = Replicas::new(100, 1);
        assert_eq!(r.wait(o(50), o(50), 10, "x"), Wait::NotAvailable("x"), "no slave");
        r.attach(7);
        assert_eq!(r.wait(o(50), o(50), 10, "x"), Wait::NotAvailable("x"), "slave has not reported");
        r.on_ack(7, o(60));
        assert_eq!(r.wait(o(50), o(70), 10, "x"), Wait::Done("x"), "already held");
        assert_eq!(r.wait(o(80), o(80), 10, "p"), Wait::Parked);
        assert_eq!(r.wait(o(90), o(90), 10, "y"), Wait::Busy("y"), "bounded");
        assert_eq!(r.wait(o(200), o(200), 10, "z"), Wait::NotAvailable("z"), "too far behind");
    }

    #[test]
    fn a_slave_going_away_leaves_waiters_to_their_deadline() {
        let mut r = Replicas::new(1000, 10);
        r.attach(1);
        r.on_ack(1, o(10));
        assert_eq!(r.wait(o(20), o(20), 3_000, "w"), Wait::Parked);
        r.detach(1);
        assert_eq!(r.replicated(), None);
        assert_eq!(r.expire(2_999), Vec::<&str>::new());
        // Another slave may still save it before the deadline.
        r.attach(2);
        assert_eq!(r.on_ack(2, o(20)), vec!["w"]);
        assert_eq!(r.wait(o(30), o(30), 3_000, "v"), Wait::Parked);
        assert_eq!(r.expire(3_000), vec!["v"]);
        assert_eq!(r.expire(9_000), Vec::<&str>::new(), "expired once");
    }

    #[test]
    fn a_learners_acknowledgement_never_settles_a_send() {
        let learner = ReplicaHello { broker_id: 3, sync_from_last_file: false, async_learner: true };
        let mut r = Replicas::new(1000, 10);
        r.attach(1);
        r.identify(1, learner);
        r.on_ack(1, o(10));
        assert_eq!(r.wait(o(10), o(10), 10, "x"), Wait::NotAvailable("x"), "only a learner reports");
        r.attach(2);
        r.identify(2, ReplicaHello { async_learner: false, ..learner });
        assert_eq!(r.wait(o(10), o(10), 10, "y"), Wait::NotAvailable("y"), "the member has not reported");
        r.on_ack(2, o(5));
        assert_eq!(r.wait(o(10), o(10), 10, "z"), Wait::Parked);
        assert_eq!(r.on_ack(1, o(20)), Vec::<&str>::new(), "the learner holds it: not enough");
        assert_eq!(r.on_ack(2, o(10)), vec!["z"]);
        assert_eq!(r.replicated(), Some(o(20)), "the learner still shows in the status");
    }

    #[test]
    fn with_several_required_a_send_waits_for_that_many_slaves() {
        let mut r = Replicas::new(1000, 10);
        r.set_required(2);
        r.attach(1);
        r.attach(2);
        r.on_ack(1, o(10));
        assert_eq!(r.wait(o(10), o(10), 10, "x"), Wait::NotAvailable("x"), "only one of two reports");
        r.on_ack(2, o(10));
        assert_eq!(r.wait(o(10), o(10), 10, "x"), Wait::Done("x"));
        assert_eq!(r.wait(o(20), o(20), 10, "w"), Wait::Parked);
        assert_eq!(r.on_ack(1, o(20)), Vec::<&str>::new(), "one of two holds it");
        assert_eq!(r.on_ack(2, o(20)), vec!["w"]);
        // The set shrinks to one slave: a waiter one of them settles is released.
        assert_eq!(r.wait(o(30), o(30), 10, "v"), Wait::Parked);
        r.on_ack(2, o(30));
        assert_eq!(r.set_required(1), vec!["v"]);
        // The master alone in the set: nothing to wait for.
        r.set_required(0);
        r.detach(1);
        r.detach(2);
        assert_eq!(r.wait(o(99), o(99), 10, "u"), Wait::Done("u"));
    }

    #[test]
    fn acks_of_unknown_slaves_are_ignored() {
        let mut r: Replicas<()> = Replicas::new(1000, 10);
        assert!(r.on_ack(5, o(10)).is_empty());
        assert_eq!(r.replicated(), None);
    }

    #[test]
    fn lag_in_bytes_and_ms() {
        let mut r: Replicas<()> = Replicas::new(1 << 30, 10);
        assert_eq!(r.lag(o(0), 0), None, "no slave, no lag figure");
        r.attach(1);
        r.on_ack(1, o(0));
        r.on_written(o(100), 1_000);
        r.on_written(o(200), 1_010);
        r.on_written(o(300), 1_020);
        assert_eq!(r.lag(o(300), 1_050), Some(Lag { bytes: 300, ms: 50 }));
        r.on_ack(1, o(100));
        assert_eq!(r.lag(o(300), 1_050), Some(Lag { bytes: 200, ms: 40 }));
        r.on_ack(1, o(250));
        assert_eq!(r.lag(o(300), 1_050), Some(Lag { bytes: 50, ms: 30 }));
        r.on_ack(1, o(300));
        assert_eq!(r.lag(o(300), 1_050), Some(Lag { bytes: 0, ms: 0 }));
    }

    #[test]
    fn each_slave_has_its_own_lag() {
        let mut r: Replicas<()> = Replicas::new(1 << 30, 10);
        for id in [1, 2, 3] {
            r.attach(id);
        }
        r.name(1, "10.0.0.1:40000".into());
        r.name(2, "10.0.0.2:40000".into());
        r.name(9, "not connected".into());
        r.on_ack(1, o(0));
        r.on_ack(2, o(0));
        r.on_written(o(100), 1_000);
        r.on_written(o(200), 1_010);
        r.on_ack(1, o(200));
        r.on_ack(2, o(100));
        let lags = r.per_slave(o(200), 1_050);
        assert_eq!(
            lags,
            vec![
                SlaveLag { address: "10.0.0.1:40000".into(), hello: None, bytes: 0, ms: 0 },
                SlaveLag { address: "10.0.0.2:40000".into(), hello: None, bytes: 100, ms: 40 },
            ],
            "the best slave's ack keeps the history the slower one still needs; one never reporting is left out"
        );
        r.detach(2);
        assert_eq!(r.per_slave(o(200), 1_050).len(), 1);
    }

    #[test]
    fn the_timeline_stays_bounded() {
        let mut t = Timeline::new(8);
        for i in 1..=1000u64 {
            t.written(o(i * 10), i);
        }
        assert!(t.entries.len() <= 8);
        // Coarser, but still an age within the history.
        let age = t.age_of_first_after(o(0), 1000);
        assert!(age > 0 && age < 1000, "{age}");
        // Same-millisecond writes share an entry; going back is ignored.
        let mut t = Timeline::new(8);
        t.written(o(10), 5);
        t.written(o(20), 5);
        t.written(o(15), 6);
        assert_eq!(t.entries, VecDeque::from(vec![(o(20), 5)]));
    }
}
