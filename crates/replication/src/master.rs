//! The master's side of one slave connection, as a state machine with no I/O
//! (Java's `HAConnection`).
//!
//! The driver feeds it what happened — a report arrived, bytes were sent, time
//! passed — and asks it what to do next: send data from some offset, send a
//! heartbeat, wait, or close (with a reason worth a log line).
//!
//! Invariants: nothing is sent before the slave's first report; `next` (the
//! next byte to send) only grows; a slave's acknowledged offset only grows and
//! never passes the master's max offset.

use rmq_model::PhysicalOffset;

use crate::timing::HaConfig;

/// What the master knows of its own CommitLog when a report arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBounds {
    /// First offset still stored.
    pub min: PhysicalOffset,
    /// Next offset to be written.
    pub max: PhysicalOffset,
    /// `mappedFileSizeCommitLog`.
    pub file_size: u64,
}

/// Why the master drops a slave. Each is one clear log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterClose {
    #[error(
        "slave reports offset {slave}, beyond this master's CommitLog end {master}: it holds data this master never wrote"
    )]
    SlaveAhead { slave: PhysicalOffset, master: PhysicalOffset },
    #[error("slave needs offset {slave}, but this master's CommitLog starts at {min}: those bytes are gone here")]
    NotInLog { slave: PhysicalOffset, min: PhysicalOffset },
    #[error("slave's report went back from {before} to {now}: not a replica of this master")]
    WentBack { before: PhysicalOffset, now: PhysicalOffset },
    #[error("nothing heard from the slave for {silent_ms} ms (haHousekeepingInterval)")]
    Stalled { silent_ms: u64 },
}

/// What the driver should send next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Send {
    /// Up to `max_len` CommitLog bytes from `offset` (fewer if a file ends first).
    Data { offset: PhysicalOffset, max_len: usize },
    /// An empty transfer naming the transfer position.
    Heartbeat { offset: PhysicalOffset },
}

/// One slave connection, from the master's side.
#[derive(Debug)]
pub struct MasterSession {
    config: HaConfig,
    /// Next byte to send; `None` until the first report.
    next: Option<PhysicalOffset>,
    /// Last offset the slave reported holding.
    acked: Option<PhysicalOffset>,
    last_read_ms: u64,
    last_write_ms: u64,
    /// Where an empty slave starts: the master's last file (classic HA and
    /// `syncFromLastFile`) or its first byte still stored.
    empty_from_last_file: bool,
}

impl MasterSession {
    /// A connection accepted at `now_ms`: it counts as heard from and written to.
    pub fn new(config: HaConfig, now_ms: u64) -> MasterSession {
        MasterSession {
            config,
            next: None,
            acked: None,
            last_read_ms: now_ms,
            last_write_ms: now_ms,
            empty_from_last_file: true,
        }
    }

    /// The slave said where it wants to start when empty (its hello's
    /// `syncFromLastFile`); classic slaves start at the last file, as Java's
    /// classic HA has them.
    pub fn start_empty_from_last_file(&mut self, from_last_file: bool) {
        self.empty_from_last_file = from_last_file;
    }

    /// The slave's last acknowledged offset.
    pub fn acked(&self) -> Option<PhysicalOffset> {
        self.acked
    }

    /// The next byte this connection will send, once started.
    pub fn next(&self) -> Option<PhysicalOffset> {
        self.next
    }

    /// Bytes were read from the slave (even an incomplete report): it is alive.
    pub fn on_read(&mut self, now_ms: u64) {
        self.last_read_ms = now_ms;
    }

    /// A report: the slave holds everything below `offset`. The first one
    /// also fixes where streaming starts: at `offset`, or for an empty slave
    /// (0) at the start of the master's last file, as Java does (or at its
    /// first stored byte, see [`MasterSession::start_empty_from_last_file`]).
    /// Returns the new acknowledged offset.
    pub fn on_report(
        &mut self,
        offset: PhysicalOffset,
        log: LogBounds,
        now_ms: u64,
    ) -> Result<PhysicalOffset, MasterClose> {
        self.last_read_ms = now_ms;
        if offset > log.max {
            return Err(MasterClose::SlaveAhead { slave: offset, master: log.max });
        }
        if let Some(before) = self.acked
            && offset < before
        {
            return Err(MasterClose::WentBack { before, now: offset });
        }
        if self.next.is_none() {
            let start = if offset.0 == 0 && !self.empty_from_last_file {
                log.min
            } else if offset.0 == 0 {
                let file = log.file_size.max(1);
                PhysicalOffset(log.max.0 - log.max.0 % file).max(log.min)
            } else {
                if offset < log.min {
                    return Err(MasterClose::NotInLog { slave: offset, min: log.min });
                }
                offset
            };
            self.next = Some(start);
        }
        self.acked = Some(offset);
        Ok(offset)
    }

    /// What to send now, given the master's max offset; `None` to wait (for
    /// the first report, for new data, or for the heartbeat time).
    pub fn poll_send(&self, master_max: PhysicalOffset, now_ms: u64) -> Option<Send> {
        let next = self.next?;
        if next < master_max {
            let left = (master_max - next).min(self.config.batch() as u64) as usize;
            return Some(Send::Data { offset: next, max_len: left });
        }
        if now_ms.saturating_sub(self.last_write_ms) >= self.config.heartbeat_interval_ms {
            return Some(Send::Heartbeat { offset: next });
        }
        None
    }

    /// A transfer of `len` bytes at `offset` was written to the socket.
    pub fn on_sent(&mut self, offset: PhysicalOffset, len: usize, now_ms: u64) {
        debug_assert_eq!(Some(offset), self.next, "sends follow on from each other");
        self.next = Some(offset + len as u64);
        self.last_write_ms = now_ms;
    }

    /// Housekeeping: closes a connection that has been silent too long.
    pub fn tick(&self, now_ms: u64) -> Result<(), MasterClose> {
        let silent_ms = now_ms.saturating_sub(self.last_read_ms);
        if silent_ms >= self.config.housekeeping_interval_ms {
            return Err(MasterClose::Stalled { silent_ms });
        }
        Ok(())
    }

    /// When [`MasterSession::poll_send`] or [`MasterSession::tick`] next have
    /// something to say if nothing else happens (ms, same clock as `now_ms`).
    pub fn next_deadline(&self) -> u64 {
        let heartbeat = self.last_write_ms + self.config.heartbeat_interval_ms;
        let housekeeping = self.last_read_ms + self.config.housekeeping_interval_ms;
        if self.next.is_some() { heartbeat.min(housekeeping) } else { housekeeping }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: u64 = 1000;

    fn cfg() -> HaConfig {
        HaConfig {
            heartbeat_interval_ms: 5_000,
            housekeeping_interval_ms: 20_000,
            transfer_batch_size: 100,
            ..HaConfig::default()
        }
    }

    fn log(min: u64, max: u64) -> LogBounds {
        LogBounds { min: PhysicalOffset(min), max: PhysicalOffset(max), file_size: FILE }
    }

    /// Where streaming starts for a slave's first report (Java's
    /// `HAConnection.WriteSocketService`), or why it is refused.
    #[test]
    fn first_report_decides_the_start() {
        let cases: [(&str, u64, LogBounds, Result<u64, MasterClose>); 7] = [
            ("empty slave, one file", 0, log(0, 350), Ok(0)),
            ("empty slave starts at the master's last file", 0, log(0, 2350), Ok(2000)),
            ("empty slave, master's end on a boundary", 0, log(0, 3000), Ok(3000)),
            ("slave in the middle", 1200, log(0, 2350), Ok(1200)),
            ("slave caught up", 2350, log(1000, 2350), Ok(2350)),
            (
                "slave ahead of the master: refused",
                2351,
                log(0, 2350),
                Err(MasterClose::SlaveAhead { slave: PhysicalOffset(2351), master: PhysicalOffset(2350) }),
            ),
            (
                "slave offset no longer stored: refused",
                500,
                log(1000, 2350),
                Err(MasterClose::NotInLog { slave: PhysicalOffset(500), min: PhysicalOffset(1000) }),
            ),
        ];
        for (name, report, bounds, expected) in cases {
            let mut s = MasterSession::new(cfg(), 0);
            let got = s.on_report(PhysicalOffset(report), bounds, 1).map(|_| s.next().unwrap().0);
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn an_empty_slave_that_asks_for_all_starts_at_the_first_stored_byte() {
        let mut s = MasterSession::new(cfg(), 0);
        s.start_empty_from_last_file(false);
        s.on_report(PhysicalOffset(0), log(1000, 2350), 1).unwrap();
        assert_eq!(s.next(), Some(PhysicalOffset(1000)));
    }

    #[test]
    fn nothing_is_sent_before_the_first_report() {
        let s = MasterSession::new(cfg(), 0);
        assert_eq!(s.poll_send(PhysicalOffset(500), 60_000), None);
    }

    #[test]
    fn streams_in_batches_then_heartbeats() {
        let mut s = MasterSession::new(cfg(), 0);
        s.on_report(PhysicalOffset(0), log(0, 250), 0).unwrap();
        let mut sent = Vec::new();
        while let Some(Send::Data { offset, max_len }) = s.poll_send(PhysicalOffset(250), 10) {
            sent.push((offset.0, max_len));
            s.on_sent(offset, max_len, 10);
        }
        assert_eq!(sent, vec![(0, 100), (100, 100), (200, 50)]);
        assert_eq!(s.poll_send(PhysicalOffset(250), 5_009), None, "heartbeat not due yet");
        assert_eq!(s.poll_send(PhysicalOffset(250), 5_010), Some(Send::Heartbeat { offset: PhysicalOffset(250) }));
        // A short read (a file ended first) continues from where it stopped.
        s.on_sent(PhysicalOffset(250), 0, 5_010);
        assert_eq!(
            s.poll_send(PhysicalOffset(400), 5_011),
            Some(Send::Data { offset: PhysicalOffset(250), max_len: 100 })
        );
        s.on_sent(PhysicalOffset(250), 30, 5_011);
        assert_eq!(
            s.poll_send(PhysicalOffset(400), 5_012),
            Some(Send::Data { offset: PhysicalOffset(280), max_len: 100 })
        );
    }

    #[test]
    fn acks_only_grow() {
        let mut s = MasterSession::new(cfg(), 0);
        assert_eq!(s.on_report(PhysicalOffset(100), log(0, 300), 1), Ok(PhysicalOffset(100)));
        assert_eq!(s.on_report(PhysicalOffset(300), log(0, 300), 2), Ok(PhysicalOffset(300)));
        assert_eq!(s.acked(), Some(PhysicalOffset(300)));
        assert_eq!(
            s.on_report(PhysicalOffset(200), log(0, 300), 3),
            Err(MasterClose::WentBack { before: PhysicalOffset(300), now: PhysicalOffset(200) })
        );
    }

    #[test]
    fn a_silent_slave_is_closed_by_housekeeping() {
        let mut s = MasterSession::new(cfg(), 0);
        s.on_report(PhysicalOffset(0), log(0, 0), 1_000).unwrap();
        assert_eq!(s.tick(20_999), Ok(()));
        assert_eq!(s.tick(21_000), Err(MasterClose::Stalled { silent_ms: 20_000 }));
        // Partial reads count as signs of life.
        s.on_read(21_000);
        assert_eq!(s.tick(40_999), Ok(()));
        // A slave that never reports at all is closed too.
        let never = MasterSession::new(cfg(), 0);
        assert!(never.tick(20_000).is_err());
        assert_eq!(never.next_deadline(), 20_000);
    }

    #[test]
    fn deadline_is_the_earlier_of_heartbeat_and_housekeeping() {
        let mut s = MasterSession::new(cfg(), 0);
        s.on_report(PhysicalOffset(0), log(0, 0), 100).unwrap();
        assert_eq!(s.next_deadline(), 5_000);
        s.on_sent(PhysicalOffset(0), 0, 4_000);
        assert_eq!(s.next_deadline(), 9_000);
    }
}
