//! The slave's side of the connection to its master, as a state machine with
//! no I/O (4.9.8 `HAService.HAClient`).
//!
//! The driver tells it that the connection opened, that a transfer arrived,
//! that bytes were appended, that time passed; it answers with what to do:
//! append (perhaps first moving an empty store's start), report an offset, or
//! close with a reason.
//!
//! Unlike 4.9.8, the first report goes out as soon as the connection opens
//! (Java waits up to `haSendHeartbeatInterval` first, which only delays
//! catching up; its master accepts either).

use rmq_model::PhysicalOffset;

use crate::timing::HaConfig;

/// Why the slave drops its master. Each is one clear log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaveClose {
    #[error("master sent bytes for offset {master}, but this slave's CommitLog ends at {local}: the logs diverged")]
    Diverged { local: PhysicalOffset, master: PhysicalOffset },
    #[error("nothing heard from the master for {silent_ms} ms (haHousekeepingInterval)")]
    Stalled { silent_ms: u64 },
}

/// What to do with one transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    /// A heartbeat matching our end: nothing to write.
    Nothing,
    /// Append the data at `offset` (our current end).
    Append { offset: PhysicalOffset },
    /// The store is empty and the master starts elsewhere than 0: move the
    /// store's start to `offset` (a file boundary), then append there.
    BeginAndAppend { offset: PhysicalOffset },
}

/// The slave's connection to its master.
#[derive(Debug)]
pub struct SlaveSession {
    config: HaConfig,
    /// Last offset reported to the master.
    reported: PhysicalOffset,
    last_report_ms: u64,
    last_read_ms: u64,
    /// The master's transfer position as last seen (end of its last frame).
    master_position: Option<PhysicalOffset>,
}

impl SlaveSession {
    /// The connection opened at `now_ms` with the local CommitLog ending at
    /// `local_max`; report that at once.
    pub fn connected(config: HaConfig, local_max: PhysicalOffset, now_ms: u64) -> (SlaveSession, PhysicalOffset) {
        let s = SlaveSession {
            config,
            reported: local_max,
            last_report_ms: now_ms,
            last_read_ms: now_ms,
            master_position: None,
        };
        (s, local_max)
    }

    /// The master's transfer position as last seen.
    pub fn master_position(&self) -> Option<PhysicalOffset> {
        self.master_position
    }

    /// Bytes arrived (even a partial frame): the master is alive.
    pub fn on_read(&mut self, now_ms: u64) {
        self.last_read_ms = now_ms;
    }

    /// A transfer of `len` bytes at `offset` arrived while the local CommitLog
    /// ends at `local_max`. An empty store takes whatever the master starts
    /// with (Java's rule); otherwise the offsets must meet exactly.
    pub fn on_transfer(
        &mut self,
        offset: PhysicalOffset,
        len: usize,
        local_max: PhysicalOffset,
        now_ms: u64,
    ) -> Result<Apply, SlaveClose> {
        self.last_read_ms = now_ms;
        let empty = local_max.0 == 0;
        if !empty && offset != local_max {
            return Err(SlaveClose::Diverged { local: local_max, master: offset });
        }
        self.master_position = Some(offset + len as u64);
        Ok(match (len, empty && offset.0 != 0) {
            (0, _) => Apply::Nothing,
            (_, true) => Apply::BeginAndAppend { offset },
            (_, false) => Apply::Append { offset },
        })
    }

    /// Data was appended and the local CommitLog now ends at `local_max`:
    /// report it at once if it moved.
    pub fn after_append(&mut self, local_max: PhysicalOffset, now_ms: u64) -> Option<PhysicalOffset> {
        if local_max == self.reported {
            return None;
        }
        self.reported = local_max;
        self.last_report_ms = now_ms;
        Some(local_max)
    }

    /// Time passed: report again when a heartbeat is due, close when the
    /// master has been silent too long.
    pub fn tick(&mut self, local_max: PhysicalOffset, now_ms: u64) -> Result<Option<PhysicalOffset>, SlaveClose> {
        let silent_ms = now_ms.saturating_sub(self.last_read_ms);
        if silent_ms >= self.config.housekeeping_interval_ms {
            return Err(SlaveClose::Stalled { silent_ms });
        }
        if now_ms.saturating_sub(self.last_report_ms) >= self.config.heartbeat_interval_ms {
            self.reported = local_max;
            self.last_report_ms = now_ms;
            return Ok(Some(local_max));
        }
        Ok(None)
    }

    /// When [`SlaveSession::tick`] next has something to do (same clock as `now_ms`).
    pub fn next_deadline(&self) -> u64 {
        (self.last_report_ms + self.config.heartbeat_interval_ms)
            .min(self.last_read_ms + self.config.housekeeping_interval_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(v: u64) -> PhysicalOffset {
        PhysicalOffset(v)
    }

    fn session(local: u64) -> SlaveSession {
        let (s, first) = SlaveSession::connected(HaConfig::default(), o(local), 0);
        assert_eq!(first, o(local), "the first report is the local end");
        s
    }

    /// (name, local end, transfer offset, transfer length, expected).
    type Case = (&'static str, u64, u64, usize, Result<Apply, SlaveClose>);

    /// Java's `HAClient.dispatchReadRequest` rule, table-driven.
    #[test]
    fn transfers_must_meet_the_local_end() {
        let cases: [Case; 7] = [
            ("empty slave, master from 0", 0, 0, 10, Ok(Apply::Append { offset: o(0) })),
            ("empty slave, master from its last file", 0, 4096, 10, Ok(Apply::BeginAndAppend { offset: o(4096) })),
            ("empty slave, heartbeat", 0, 4096, 0, Ok(Apply::Nothing)),
            ("in step", 500, 500, 10, Ok(Apply::Append { offset: o(500) })),
            ("heartbeat in step", 500, 500, 0, Ok(Apply::Nothing)),
            ("master behind the slave", 500, 400, 10, Err(SlaveClose::Diverged { local: o(500), master: o(400) })),
            ("master skipped bytes", 500, 600, 0, Err(SlaveClose::Diverged { local: o(500), master: o(600) })),
        ];
        for (name, local, offset, len, expected) in cases {
            let mut s = session(local);
            assert_eq!(s.on_transfer(o(offset), len, o(local), 1), expected, "{name}");
        }
    }

    #[test]
    fn reports_follow_appends_and_heartbeats() {
        let mut s = session(100);
        assert_eq!(s.on_transfer(o(100), 50, o(100), 10), Ok(Apply::Append { offset: o(100) }));
        assert_eq!(s.master_position(), Some(o(150)));
        assert_eq!(s.after_append(o(150), 10), Some(o(150)));
        assert_eq!(s.after_append(o(150), 11), None, "nothing new, nothing to say");
        assert_eq!(s.tick(o(150), 5_009), Ok(None));
        assert_eq!(s.tick(o(150), 5_010), Ok(Some(o(150))), "heartbeat report");
        assert_eq!(s.next_deadline(), 10_010);
    }

    #[test]
    fn a_silent_master_is_dropped() {
        let mut s = session(0);
        s.on_read(1_000);
        assert!(s.tick(o(0), 20_999).is_ok());
        assert_eq!(s.tick(o(0), 21_000), Err(SlaveClose::Stalled { silent_ms: 20_000 }));
    }
}
