//! The timing wheel: one slot per tick for a window of ticks, each holding
//! the newest log entry due at that tick (older ones are reached through
//! the entries' `prev` links). It lives in memory — 16 bytes a slot, at
//! most 4 MiB whatever the number of timers — and is rebuilt from the log
//! at startup.
//!
//! Window: the ticks `(delivered, delivered + len]`, where `delivered` is
//! the last tick whose slot was delivered. A slot's index is its tick
//! modulo `len`, so every tick of the window has its own slot.

use super::entry::LogPos;

/// Slots of the broker's wheel: 262,144 ticks, 72.8 hours at the default
/// 1 s precision, so the default 3-day `timerMaxDelaySec` fits without
/// re-appending. 4 MiB.
pub(crate) const WHEEL_SLOTS: usize = 1 << 18;

/// The slots as two arrays of plain integers, allocated zeroed: the
/// allocator hands out untouched pages for them, so a slot costs memory only
/// once a timer waits in its page (an idle broker's wheel costs nothing).
#[derive(Debug)]
pub(crate) struct Wheel {
    /// The tick each slot last held.
    ticks: Vec<i64>,
    /// Position of the newest entry of that tick + 1; 0 when empty.
    lasts: Vec<u64>,
}

impl Wheel {
    pub(crate) fn new(slots: usize) -> Wheel {
        assert!(slots >= 2, "a wheel needs at least two slots");
        Wheel { ticks: vec![0; slots], lasts: vec![0; slots] }
    }

    /// How many ticks the window spans.
    pub(crate) fn window(&self) -> i64 {
        self.ticks.len() as i64
    }

    /// The tick whose slot a message due at `due_tick` waits in, when every
    /// tick up to `delivered` is done and `earliest` is the first slot still
    /// open (the one after a slot being delivered): its own tick within the
    /// window; `earliest` if it is already due; the window's last tick if it
    /// is due beyond the window (from there it is appended again).
    pub(crate) fn slot_tick_for(&self, due_tick: i64, delivered: i64, earliest: i64) -> i64 {
        debug_assert!(earliest > delivered && earliest < delivered + self.window());
        due_tick.clamp(earliest, delivered + self.window())
    }

    fn index(&self, tick: i64) -> usize {
        tick.rem_euclid(self.window()) as usize
    }

    /// The newest entry waiting at `tick`.
    pub(crate) fn last(&self, tick: i64) -> Option<LogPos> {
        let i = self.index(tick);
        (self.ticks[i] == tick && self.lasts[i] > 0).then(|| LogPos(self.lasts[i] - 1))
    }

    /// Makes `pos` the newest entry at `tick`, returning the one it follows
    /// (its `prev`). A slot still marked with an older tick is stale: that
    /// tick was delivered, so the entry starts a new chain.
    pub(crate) fn link(&mut self, tick: i64, pos: LogPos) -> Option<LogPos> {
        let prev = self.last(tick);
        let i = self.index(tick);
        self.ticks[i] = tick;
        self.lasts[i] = pos.0 + 1;
        prev
    }

    /// Empties the slot of `tick` once it was delivered.
    pub(crate) fn clear(&mut self, tick: i64) {
        let i = self.index(tick);
        if self.ticks[i] == tick {
            self.lasts[i] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_per_tick_and_reuses_slots_round_the_window() {
        let mut w = Wheel::new(8);
        assert_eq!(w.link(100, LogPos(0)), None);
        assert_eq!(w.link(100, LogPos(48)), Some(LogPos(0)));
        assert_eq!(w.link(101, LogPos(96)), None);
        assert_eq!(w.last(100), Some(LogPos(48)));
        // Tick 108 shares 100's slot: once 100 was delivered the slot is stale.
        assert_eq!(w.last(108), None);
        assert_eq!(w.link(108, LogPos(144)), None);
        assert_eq!(w.last(100), None);
        w.clear(100);
        assert_eq!(w.last(108), Some(LogPos(144)), "clearing an older tick leaves the newer one");
        w.clear(108);
        assert_eq!(w.last(108), None);
    }

    #[test]
    fn due_ticks_are_clamped_into_the_window() {
        let w = Wheel::new(8);
        assert_eq!(w.slot_tick_for(105, 100, 101), 105);
        assert_eq!(w.slot_tick_for(90, 100, 101), 101, "already due: the next tick delivered");
        assert_eq!(w.slot_tick_for(101, 100, 102), 102, "101 is being delivered: the one after");
        assert_eq!(w.slot_tick_for(108, 100, 101), 108);
        assert_eq!(w.slot_tick_for(500, 100, 101), 108, "beyond the window: its last tick, then again");
    }
}
