//! The preparer: creates the next CommitLog file and pre-faults pages ahead
//! of the writer, so puts never wait for either.

use std::sync::Arc;
use std::time::Duration;

use super::{Lifecycle, Service};
use crate::commitlog::CommitLog;
use crate::signal::Wake;

/// Runs [`CommitLog::prepare_ahead`] whenever puts near the prepared range
/// (they ring `wake`), and at least every 100 ms.
pub(crate) struct Preparer {
    commitlog: Arc<CommitLog>,
    wake: Arc<Wake>,
    lifecycle: Arc<Lifecycle>,
}

impl Service for Preparer {
    const NAME: &'static str = "rmq-prepare";

    fn run(self) {
        loop {
            self.wake.sleep(Duration::from_millis(100), || {
                self.commitlog.needs_preparing() || self.lifecycle.stop_requested()
            });
            if self.lifecycle.stop_requested() {
                return;
            }
            if let Err(e) = self.commitlog.prepare_ahead() {
                tracing::warn!(error = %e, "preparing CommitLog pages failed");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

impl Preparer {
    pub fn new(commitlog: Arc<CommitLog>, wake: Arc<Wake>, lifecycle: Arc<Lifecycle>) -> Preparer {
        Preparer { commitlog, wake, lifecycle }
    }
}
