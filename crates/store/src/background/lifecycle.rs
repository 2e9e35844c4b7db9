//! What the store and every background service share about their life: has
//! shutdown asked them to stop, and has any of them failed.

use std::sync::atomic::{AtomicBool, Ordering};

/// Stop requested and failure recorded, shared by the store and its services.
///
/// A service checks [`Lifecycle::stop_requested`] before and after each sleep
/// and finishes its work in hand before it returns (the flusher flushes what
/// was written, the dispatcher catches up). A failure is recorded for the
/// shutdown's verdict: a store whose flush or dispatch failed keeps `abort`,
/// so the next start recovers abnormally.
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    stop: AtomicBool,
    failed: AtomicBool,
}

impl Lifecycle {
    /// Asks every service to stop; their threads still need waking and joining.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// A flush or dispatch failed (the service logs why; the dispatcher and
    /// the queue flushes retry, a failed CommitLog flush is final): even if a
    /// retry succeeds, shutdown keeps `abort`.
    pub fn record_failure(&self) {
        self.failed.store(true, Ordering::SeqCst);
    }

    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }
}
