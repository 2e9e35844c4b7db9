//! The preparer: creates the next CommitLog file and pre-faults pages ahead
//! of the writer, so puts never wait for either.

use std::sync::Arc;
use std::time::Duration;

use super::{Lifecycle, Service};
use crate::commitlog::CommitLog;
use crate::signal::Wake;

/// Runs [`CommitLog::prepare_ahead`] whenever puts near the prepared range
/// (they ring `wake`), and at least every 100 ms. A round that found nothing
/// to do (no file yet before the first put) is not repeated until the
/// written offset moves: asking again at once would spin a core.
pub(crate) struct Preparer {
    commitlog: Arc<CommitLog>,
    wake: Arc<Wake>,
    lifecycle: Arc<Lifecycle>,
}

impl Service for Preparer {
    const NAME: &'static str = "rmq-prepare";

    fn run(self) {
        // The written offset at which the last round did nothing.
        let mut idle_at = None;
        loop {
            self.wake.sleep(Duration::from_millis(100), || {
                self.lifecycle.stop_requested()
                    || (idle_at != Some(self.commitlog.written_offset()) && self.commitlog.needs_preparing())
            });
            if self.lifecycle.stop_requested() {
                return;
            }
            let written = self.commitlog.written_offset();
            match self.commitlog.prepare_ahead() {
                Ok(true) => idle_at = None,
                Ok(false) => idle_at = Some(written),
                Err(e) => {
                    tracing::warn!(error = %e, "preparing CommitLog pages failed");
                    idle_at = Some(written);
                }
            }
        }
    }
}

impl Preparer {
    pub fn new(commitlog: Arc<CommitLog>, wake: Arc<Wake>, lifecycle: Arc<Lifecycle>) -> Preparer {
        Preparer { commitlog, wake, lifecycle }
    }
}
