//! The store's background services, one thread each:
//!
//! * [`CommitLogFlusher`]: the CommitLog to disk, as group commit (SYNC_FLUSH)
//!   or paced flushes (ASYNC_FLUSH). Woken by puts and by callers waiting for
//!   a flush.
//! * [`Dispatcher`]: consume-queue entries and index keys from the CommitLog;
//!   flushes them and writes the checkpoint. Woken by every put.
//! * [`Cleaner`]: retention and the disk-full mark, every
//!   `cleanResourceInterval` or when asked (DELETE_EXPIRED_COMMITLOG).
//! * [`Preparer`]: the next CommitLog file and pre-faulted pages ahead of the
//!   writer. Woken by puts that near the prepared range.
//!
//! Each service holds only the handles its constructor takes, and shares with
//! the store nothing but a [`Lifecycle`] and its own wake-up. The store rings
//! them through [`Wakeups`] and owns their threads in [`Services`], which
//! stops and joins every one of them.

mod cleaner;
mod dispatcher;
mod flusher;
mod lifecycle;
mod preparer;

use std::sync::Arc;
use std::thread::JoinHandle;

pub(crate) use cleaner::{CleanRequests, Cleaner};
pub(crate) use dispatcher::{Dispatcher, QueueFlushPolicy};
pub(crate) use flusher::{CommitLogFlusher, FlushPolicy, FlushRequests};
pub(crate) use lifecycle::Lifecycle;
pub(crate) use preparer::Preparer;

use crate::commitlog::CommitLog;
use crate::error::{Result, StoreError};
use crate::signal::Wake;

/// A background service: a loop that runs on its own thread until its
/// [`Lifecycle`] asks it to stop.
pub(crate) trait Service: Send + 'static {
    /// The thread's name.
    const NAME: &'static str;

    /// Runs until stopped, finishing the work in hand first.
    fn run(self);
}

/// The threads of a store's services. Stopping (or dropping) it asks every
/// service to stop, wakes it and joins it.
#[derive(Debug)]
pub(crate) struct Services {
    lifecycle: Arc<Lifecycle>,
    threads: Vec<JoinHandle<()>>,
}

impl Services {
    pub fn new(lifecycle: Arc<Lifecycle>) -> Services {
        Services { lifecycle, threads: Vec::new() }
    }

    /// Starts `service` on a thread of its own.
    pub fn start<S: Service>(&mut self, service: S) -> Result<()> {
        let thread = std::thread::Builder::new()
            .name(S::NAME.to_owned())
            .spawn(move || service.run())
            .map_err(|e| StoreError::io(S::NAME, "spawn thread", e))?;
        self.threads.push(thread);
        Ok(())
    }

    /// Stops and joins every service. True when all of them ended normally:
    /// none panicked and none recorded a failure.
    pub fn stop(&mut self) -> bool {
        self.lifecycle.request_stop();
        for thread in &self.threads {
            thread.thread().unpark();
        }
        let mut clean = true;
        for thread in self.threads.drain(..) {
            clean &= thread.join().is_ok();
        }
        clean && !self.lifecycle.failed()
    }
}

impl Drop for Services {
    /// A store that failed to open after starting some services must not
    /// leave them running.
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.stop();
        }
    }
}

/// What the store rings: each service's wake-up, and the requests that go
/// with them.
#[derive(Debug)]
pub(crate) struct Wakeups {
    flusher: Arc<FlushRequests>,
    dispatcher: Arc<Wake>,
    cleaner: Arc<CleanRequests>,
    preparer: Arc<Wake>,
}

impl Wakeups {
    pub fn new(
        flusher: Arc<FlushRequests>,
        dispatcher: Arc<Wake>,
        cleaner: Arc<CleanRequests>,
        preparer: Arc<Wake>,
    ) -> Wakeups {
        Wakeups { flusher, dispatcher, cleaner, preparer }
    }

    /// After bytes were appended: the dispatcher always; the flusher under
    /// SYNC_FLUSH, or under ASYNC_FLUSH once enough pages are dirty; the
    /// preparer when the writer nears the prepared range.
    pub fn after_append(&self, commitlog: &CommitLog) {
        self.dispatcher.notify();
        self.flusher.after_append(commitlog);
        if commitlog.needs_preparing() {
            self.preparer.notify();
        }
    }

    /// A caller blocks until the flush: flush now.
    pub fn flush_now(&self) {
        self.flusher.flush_now();
    }

    /// Run retention now, whatever the hour.
    pub fn clean_now(&self) {
        self.cleaner.clean_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Sleeps until stopped, counting its exits; fails on request.
    struct Idle {
        wake: Arc<Wake>,
        lifecycle: Arc<Lifecycle>,
        exited: Arc<AtomicUsize>,
        fail: bool,
    }

    impl Service for Idle {
        const NAME: &'static str = "rmq-test-idle";

        fn run(self) {
            if self.fail {
                self.lifecycle.record_failure();
            }
            // A long sleep: only the stop's unpark ends it in time.
            while !self.lifecycle.stop_requested() {
                self.wake.sleep(Duration::from_secs(3600), || self.lifecycle.stop_requested());
            }
            self.exited.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn start(services: &mut Services, lifecycle: &Arc<Lifecycle>, exited: &Arc<AtomicUsize>, fail: bool) {
        let idle = Idle { wake: Arc::default(), lifecycle: lifecycle.clone(), exited: exited.clone(), fail };
        services.start(idle).unwrap();
    }

    #[test]
    fn stop_wakes_and_joins_every_service() {
        let lifecycle = Arc::new(Lifecycle::default());
        let exited = Arc::new(AtomicUsize::new(0));
        let mut services = Services::new(lifecycle.clone());
        for _ in 0..3 {
            start(&mut services, &lifecycle, &exited, false);
        }
        assert!(services.stop(), "no failure recorded");
        assert_eq!(exited.load(Ordering::SeqCst), 3);
        assert!(services.stop(), "stopping twice is harmless");
    }

    #[test]
    fn a_recorded_failure_makes_the_stop_unclean() {
        let lifecycle = Arc::new(Lifecycle::default());
        let exited = Arc::new(AtomicUsize::new(0));
        let mut services = Services::new(lifecycle.clone());
        start(&mut services, &lifecycle, &exited, true);
        start(&mut services, &lifecycle, &exited, false);
        assert!(!services.stop());
        assert_eq!(exited.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn dropping_the_services_joins_them() {
        let lifecycle = Arc::new(Lifecycle::default());
        let exited = Arc::new(AtomicUsize::new(0));
        let mut services = Services::new(lifecycle.clone());
        start(&mut services, &lifecycle, &exited, false);
        drop(services);
        assert_eq!(exited.load(Ordering::SeqCst), 1);
        assert!(lifecycle.stop_requested());
    }
}
