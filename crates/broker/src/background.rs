//! Work a request starts that outlives it: oneway notifications to clients
//! (NOTIFY_CONSUMER_IDS_CHANGED), check-back requests to producers. Each is
//! spawned on one tracker, so that shutdown waits for what is under way
//! instead of cutting it off, and nothing runs on after the broker stopped.

use std::future::Future;
use std::time::Duration;
use tokio_util::task::TaskTracker;

/// A cloneable handle on the broker's tracked background work.
#[derive(Clone, Debug, Default)]
pub struct Background(TaskTracker);

impl Background {
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.0.spawn(work);
    }

    /// Waits for the work under way, at most `grace`; what is still running
    /// then is left to the runtime's shutdown. Work spawned later still runs.
    pub async fn drain(&self, grace: Duration) {
        self.0.close();
        if tokio::time::timeout(grace, self.0.wait()).await.is_err() {
            tracing::warn!("{} background task(s) still running after {grace:?}", self.0.len());
        }
        self.0.reopen();
    }
}
