//! A published offset that async and blocking code can wait on.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use rmq_model::PhysicalOffset;
use tokio::sync::watch;

/// A monotonically growing offset (written, flushed, dispatched). Readers load
/// it with acquire ordering; async waiters use a `watch` receiver, blocking
/// waiters a condvar that is only signalled while someone waits.
#[derive(Debug)]
pub(crate) struct OffsetSignal {
    value: AtomicU64,
    tx: watch::Sender<PhysicalOffset>,
    lock: Mutex<()>,
    cond: Condvar,
    blocked: AtomicUsize,
}

impl OffsetSignal {
    pub fn new(v: u64) -> OffsetSignal {
        OffsetSignal {
            value: AtomicU64::new(v),
            tx: watch::Sender::new(PhysicalOffset(v)),
            lock: Mutex::new(()),
            cond: Condvar::new(),
            blocked: AtomicUsize::new(0),
        }
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
        if self.get() >= target {
            return true;
        }
        let deadline = Instant::now() + timeout;
        self.blocked.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let reached = loop {
            if self.value.load(Ordering::SeqCst) >= target {
                break true;
            }
            let now = Instant::now();
            if now >= deadline {
                break false;
            }
            guard = self.cond.wait_timeout(guard, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        };
        drop(guard);
        self.blocked.fetch_sub(1, Ordering::SeqCst);
        reached
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
