//! A published offset that async and blocking code can wait on.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rmq_model::PhysicalOffset;
use tokio::sync::watch;

/// A monotonically growing offset (written, flushed, dispatched). Readers load
/// it with acquire ordering; async waiters use a `watch` receiver, blocking
/// waiters a condvar that is only signalled while someone waits.
///
/// An offset can also stop for good ([`OffsetSignal::fail`]): waiters then
/// learn at once that it will not reach their target, instead of timing out.
#[derive(Debug)]
pub(crate) struct OffsetSignal {
    value: AtomicU64,
    tx: watch::Sender<PhysicalOffset>,
    lock: Mutex<()>,
    cond: Condvar,
    blocked: AtomicUsize,
    /// Why the offset stopped, once it did.
    failure: Arc<OnceLock<String>>,
}

/// How a wait for an offset ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waited {
    Reached,
    TimedOut,
    /// The offset stopped below the target and will not move again.
    Failed,
}

impl OffsetSignal {
    pub fn new(v: u64) -> OffsetSignal {
        OffsetSignal {
            value: AtomicU64::new(v),
            tx: watch::Sender::new(PhysicalOffset(v)),
            lock: Mutex::new(()),
            cond: Condvar::new(),
            blocked: AtomicUsize::new(0),
            failure: Arc::default(),
        }
    }

    /// Stops the offset for good: it keeps its value, and every waiter below
    /// it, blocking or async, is woken to learn `reason`. The first reason
    /// given stays.
    pub fn fail(&self, reason: String) {
        let _ = self.failure.set(reason);
        // Wakes async waiters without changing the value.
        self.tx.send_modify(|_| {});
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.cond.notify_all();
    }

    /// Why the offset stopped, if it did.
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }

    /// An async waiter that also learns of a failure.
    pub fn waiter(&self) -> OffsetWaiter {
        OffsetWaiter { offset: self.tx.subscribe(), failure: self.failure.clone() }
    }

    /// The current value. SeqCst (free on x86) so that a thread that marks
    /// itself idle and then checks the value cannot miss a publish whose
    /// writer then found it not idle (see [`Wake`]).
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::SeqCst)
    }

    /// Publishes a new value. Callers serialize their publishes (one writer).
    pub fn publish(&self, v: u64) {
        // SeqCst pairs with the waiter's `blocked` increment: one of the two
        // always sees the other, so no wakeup is lost.
        self.value.store(v, Ordering::SeqCst);
        self.tx.send_replace(PhysicalOffset(v));
        if self.blocked.load(Ordering::SeqCst) > 0 {
            let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            self.cond.notify_all();
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<PhysicalOffset> {
        self.tx.subscribe()
    }

    /// Blocks until the value reaches `target` or `timeout` passes.
    pub fn wait_for(&self, target: u64, timeout: Duration) -> bool {
        self.wait_until(target, timeout) == Waited::Reached
    }

    /// Blocks until the value reaches `target`, `timeout` passes or the
    /// offset fails below the target.
    pub fn wait_until(&self, target: u64, timeout: Duration) -> Waited {
        if self.get() >= target {
            return Waited::Reached;
        }
        let deadline = Instant::now() + timeout;
        self.blocked.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let waited = loop {
            if self.value.load(Ordering::SeqCst) >= target {
                break Waited::Reached;
            }
            if self.failure.get().is_some() {
                break Waited::Failed;
            }
            let now = Instant::now();
            if now >= deadline {
                break Waited::TimedOut;
            }
            guard = self.cond.wait_timeout(guard, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        };
        drop(guard);
        self.blocked.fetch_sub(1, Ordering::SeqCst);
        waited
    }
}

/// Waits from async code for an offset (the CommitLog's flushed offset) to
/// reach a target, or learns that it never will because the offset failed.
/// Cheap to clone; each wait works on its own receiver.
#[derive(Clone, Debug)]
pub struct OffsetWaiter {
    offset: watch::Receiver<PhysicalOffset>,
    failure: Arc<OnceLock<String>>,
}

impl OffsetWaiter {
    /// Resolves once the offset reaches `target` (`Ok`), or with the reason
    /// the offset stopped below it. Callers bound it with their own timeout.
    pub async fn reached(&self, target: PhysicalOffset) -> Result<(), String> {
        let mut rx = self.offset.clone();
        let failure = &self.failure;
        let reached = rx.wait_for(|at| *at >= target || failure.get().is_some()).await.map(|at| *at >= target);
        match reached {
            Ok(true) => Ok(()),
            Ok(false) => Err(failure.get().cloned().unwrap_or_default()),
            // The store, and with it the sender, is gone.
            Err(_) => Err("the store was closed".to_owned()),
        }
    }

    /// Why the offset stopped, if it did.
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }
}

/// Wakes one background thread without a syscall per call: the thread marks
/// itself idle before parking, and only a caller that finds it idle unparks it.
/// It wakes the thread that sleeps on it, which must always be the same one.
#[derive(Debug, Default)]
pub(crate) struct Wake {
    idle: std::sync::atomic::AtomicBool,
    thread: std::sync::OnceLock<std::thread::Thread>,
}

impl Wake {
    /// Wakes the thread if it sleeps (or is about to).
    pub fn notify(&self) {
        if self.idle.load(Ordering::SeqCst) && self.idle.swap(false, Ordering::SeqCst) {
            self.force();
        }
    }

    /// Wakes the thread unconditionally. Before its first sleep there is no
    /// thread to wake: callers set the flag its `has_work` checks first.
    pub fn force(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }

    /// Sleeps up to `timeout` unless `has_work` says otherwise once the thread
    /// is marked idle (so a notify between the check and the park is not lost:
    /// the unpark token makes the park return at once).
    pub fn sleep(&self, timeout: Duration, has_work: impl Fn() -> bool) {
        // The thread is known before it is ever marked idle, so a notify that
        // finds it idle always finds it.
        let sleeper = self.thread.get_or_init(std::thread::current);
        debug_assert_eq!(sleeper.id(), std::thread::current().id(), "one Wake per thread");
        self.idle.store(true, Ordering::SeqCst);
        if !has_work() {
            std::thread::park_timeout(timeout);
        }
        self.idle.store(false, Ordering::SeqCst);
    }
}
