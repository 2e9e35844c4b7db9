//! Bounds on requests in progress, as Java bounds its processor queues
//! (`sendThreadPoolQueueCapacity`, `pullThreadPoolQueueCapacity`): past the
//! bound a request is answered SYSTEM_BUSY at once instead of queueing.

use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Semaphore, SemaphorePermit};

#[derive(Debug)]
pub(crate) struct Permits {
    capacity: usize,
    semaphore: Semaphore,
    /// Requests refused for want of a permit (answered SYSTEM_BUSY).
    refused: AtomicU64,
}

impl Permits {
    pub(crate) fn new(capacity: usize) -> Permits {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        Permits { capacity, semaphore: Semaphore::new(capacity), refused: AtomicU64::new(0) }
    }

    /// A permit for one request, or `None` when the bound is reached.
    pub(crate) fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        let permit = self.semaphore.try_acquire().ok();
        if permit.is_none() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        permit
    }

    /// Requests refused so far because the bound was reached.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Requests in progress now (the runtime info's `…ThreadPoolQueueSize`).
    pub(crate) fn in_flight(&self) -> usize {
        self.capacity - self.semaphore.available_permits()
    }
}
