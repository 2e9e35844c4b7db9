//! A write lease: a deadline after which the store refuses every put, by
//! whoever makes it. The broker's leased master (controller mode,
//! `enableMasterLease`) holds one so that, once cut off from the controllers,
//! neither its clients' sends nor its own writes (delay and timer
//! deliveries, transaction checks, POP bookkeeping) land after another
//! master may have been elected: checked here, in the one place every write
//! passes, no writer can forget it.
//!
//! The deadline is compared with the monotonic clock on each put rather
//! than turned into a flag by a timer: a process that was paused past its
//! deadline (SIGSTOP, a stalled VM) refuses the first put it makes when it
//! resumes, before any timer could run.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Until when puts are taken, in µs of [`micros`]; 0: not now.
#[derive(Debug, Default)]
pub struct WriteLease {
    until: AtomicU64,
}

impl WriteLease {
    /// A lease not yet granted: puts are refused until [`WriteLease::extend_to`].
    pub fn new() -> WriteLease {
        WriteLease::default()
    }

    /// Takes puts until `until`. Never moves the end back: a grant that
    /// arrives late (its answer overtaken by a later one) shortens nothing.
    pub fn extend_to(&self, until: Instant) {
        self.until.fetch_max(micros(until), Ordering::Relaxed);
    }

    /// Refuses puts from now on, until the next [`WriteLease::extend_to`].
    pub fn revoke(&self) {
        self.until.store(0, Ordering::Relaxed);
    }

    /// Whether a put now must be refused.
    pub fn lapsed(&self) -> bool {
        micros(Instant::now()) >= self.until.load(Ordering::Relaxed)
    }
}

/// Microseconds on the monotonic clock since the first call in this
/// process, plus one: never 0, which stands for "revoked". Truncated to the
/// microsecond, so a lease ends up to 1 µs early, never late.
fn micros(at: Instant) -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    at.saturating_duration_since(start).as_micros() as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn puts_are_taken_only_inside_the_lease() {
        let lease = WriteLease::new();
        assert!(lease.lapsed(), "not granted yet");
        let now = Instant::now();
        lease.extend_to(now + Duration::from_secs(5));
        assert!(!lease.lapsed());
        lease.extend_to(now + Duration::from_millis(1));
        assert!(!lease.lapsed(), "a shorter grant never shortens it");
        lease.revoke();
        assert!(lease.lapsed());
        lease.extend_to(now);
        assert!(lease.lapsed(), "an end already past");
    }
}
