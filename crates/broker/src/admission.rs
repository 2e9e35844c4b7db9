//! Bounds on requests in progress, as Java bounds its processor queues
//! (`sendThreadPoolQueueCapacity`, `pullThreadPoolQueueCapacity`): past the
//! bound a request is answered SYSTEM_BUSY at once instead of queueing.

use tokio::sync::{Semaphore, SemaphorePermit};

#[derive(Debug)]
pub(crate) struct Permits {
    capacity: usize,
    semaphore: Semaphore,
}

impl Permits {
    pub(crate) fn new(capacity: usize) -> Permits {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        Permits { capacity, semaphore: Semaphore::new(capacity) }
    }

    /// A permit for one request, or `None` when the bound is reached.
    pub(crate) fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.semaphore.try_acquire().ok()
    }

    /// Requests in progress now (the runtime info's `…ThreadPoolQueueSize`).
    pub(crate) fn in_flight(&self) -> usize {
        self.capacity - self.semaphore.available_permits()
    }
}
