//! The cleaner: a retention round every `cleanResourceInterval`, or at once
//! when asked (DELETE_EXPIRED_COMMITLOG).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{Lifecycle, Service};
use crate::retention::Retention;
use crate::signal::Wake;

/// How the store asks the cleaner for a round at once.
#[derive(Debug, Default)]
pub(crate) struct CleanRequests {
    wake: Wake,
    /// A round was asked for: run it whatever the hour.
    now: AtomicBool,
}

impl CleanRequests {
    /// Asks for a round at once, whatever the hour; does not wait for it.
    pub fn clean_now(&self) {
        self.now.store(true, Ordering::SeqCst);
        self.wake.force();
    }
}

/// Runs [`Retention`] rounds on its own thread.
pub(crate) struct Cleaner {
    retention: Arc<Retention>,
    interval: Duration,
    requests: Arc<CleanRequests>,
    lifecycle: Arc<Lifecycle>,
}

impl Service for Cleaner {
    const NAME: &'static str = "rmq-clean";

    fn run(self) {
        let requests = &self.requests;
        loop {
            requests
                .wake
                .sleep(self.interval, || self.lifecycle.stop_requested() || requests.now.load(Ordering::SeqCst));
            if self.lifecycle.stop_requested() {
                return;
            }
            let manual = requests.now.swap(false, Ordering::SeqCst);
            if let Err(e) = self.retention.run_once(manual) {
                tracing::error!(error = %e, "retention round failed");
            }
        }
    }
}

impl Cleaner {
    /// `interval` is `cleanResourceInterval`.
    pub fn new(
        retention: Arc<Retention>,
        interval: Duration,
        requests: Arc<CleanRequests>,
        lifecycle: Arc<Lifecycle>,
    ) -> Cleaner {
        Cleaner { retention, interval: interval.max(Duration::from_millis(1)), requests, lifecycle }
    }
}
