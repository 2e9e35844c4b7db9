//! The dispatcher ("reput"): follows the CommitLog into consume queues and
//! index, publishes the dispatched offset, and every
//! `flushIntervalConsumeQueue` flushes queues and index and writes the
//! checkpoint.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Lifecycle, Service};
use crate::checkpointer::Checkpointer;
use crate::config::StoreConfig;
use crate::dispatch::{Dispatch, Progress, Stop};
use crate::signal::{OffsetSignal, Wake};

/// Records dispatched per round before the dispatcher looks at its clock.
const ROUND: usize = 1024;

/// How long a dispatcher in a stream of records waits before it looks again,
/// without asking to be woken. Under load, records arriving a few
/// microseconds apart are dispatched a handful at a time instead of one
/// wake-up (a futex call on the put path, two context switches) each; at
/// 50,000 puts a second that was a fifth of the broker's CPU. It delays a
/// record's visibility to consumers by at most this much (plus timer slack).
const LINGER: Duration = Duration::from_micros(100);
/// Rounds that find work less than this apart make a stream. Records that
/// come further apart (one send in flight, a quiet broker) wake the
/// dispatcher each, at once: lingering after each would only add a wake-up.
const STREAM_GAP: Duration = Duration::from_micros(200);

/// When consume queues and index are flushed (`flushIntervalConsumeQueue`,
/// `flushConsumeQueueThoroughInterval`). Every round flushes all queues with
/// new entries and advances the checkpoint; the index, whose files are
/// large, waits for the thorough interval.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QueueFlushPolicy {
    interval: Duration,
    thorough_interval: Duration,
}

impl QueueFlushPolicy {
    pub fn from_config(cfg: &StoreConfig) -> QueueFlushPolicy {
        QueueFlushPolicy {
            interval: Duration::from_millis(cfg.flush_interval_consume_queue),
            thorough_interval: Duration::from_millis(cfg.flush_consume_queue_thorough_interval),
        }
    }

    /// How long an idle dispatcher sleeps: the flush interval, at most 100 ms.
    fn idle_sleep(&self) -> Duration {
        self.interval.clamp(Duration::from_millis(1), Duration::from_millis(100))
    }
}

/// Dispatches from `progress` on, publishing how far it got in `dispatched`.
pub(crate) struct Dispatcher {
    dispatch: Dispatch,
    progress: Progress,
    dispatched: Arc<OffsetSignal>,
    checkpointer: Arc<Checkpointer>,
    policy: QueueFlushPolicy,
    wake: Arc<Wake>,
    lifecycle: Arc<Lifecycle>,
}

impl Service for Dispatcher {
    const NAME: &'static str = "rmq-dispatch";

    fn run(mut self) {
        let mut last_flush = Instant::now();
        let mut last_thorough = Instant::now();
        // End and store time of the last record dispatched at the previous
        // flush: the CommitLog checkpoint may name it once it is flushed.
        let mut pending_physic = (0u64, 0i64);
        let mut last_work: Option<Instant> = None;
        loop {
            let stop = self.lifecycle.stop_requested();
            let before = self.progress.offset;
            let caught_up = self.dispatch_round();
            let mut streaming = false;
            if self.progress.offset != before {
                let now = Instant::now();
                streaming = last_work.is_some_and(|t| now.duration_since(t) < STREAM_GAP);
                last_work = Some(now);
            }
            if stop && caught_up {
                return;
            }
            if last_flush.elapsed() >= self.policy.interval {
                last_flush = Instant::now();
                let thorough = last_thorough.elapsed() >= self.policy.thorough_interval;
                if thorough {
                    last_thorough = Instant::now();
                }
                self.flush_and_checkpoint(thorough, &mut pending_physic);
            }
            if caught_up && streaming {
                std::thread::sleep(LINGER);
            } else if caught_up {
                let offset = self.progress.offset;
                let commitlog = self.dispatch.commitlog();
                self.wake.sleep(self.policy.idle_sleep(), || {
                    commitlog.written_offset() > offset || self.lifecycle.stop_requested()
                });
            }
        }
    }
}

impl Dispatcher {
    pub fn new(
        dispatch: Dispatch,
        progress: Progress,
        dispatched: Arc<OffsetSignal>,
        checkpointer: Arc<Checkpointer>,
        policy: QueueFlushPolicy,
        wake: Arc<Wake>,
        lifecycle: Arc<Lifecycle>,
    ) -> Dispatcher {
        Dispatcher { dispatch, progress, dispatched, checkpointer, policy, wake, lifecycle }
    }

    /// Dispatches up to [`ROUND`] records; whether it caught up with the
    /// CommitLog (or met a record it cannot decode, to be retried).
    fn dispatch_round(&mut self) -> bool {
        let outcome = self.dispatch.run(&mut self.progress, u64::MAX, ROUND);
        if self.progress.offset != self.dispatched.get() {
            self.dispatched.publish(self.progress.offset);
        }
        match outcome {
            Ok(Stop::CaughtUp) => self.progress.offset >= self.dispatch.commitlog().written_offset(),
            Ok(Stop::Broken) | Err(_) => {
                if let Err(e) = outcome {
                    tracing::error!(error = %e, "dispatch failed; retrying");
                }
                self.lifecycle.record_failure();
                std::thread::sleep(Duration::from_millis(100));
                true
            }
        }
    }

    /// Flushes consume queues (and the index when `thorough`) and writes the
    /// checkpoint.
    fn flush_and_checkpoint(&self, thorough: bool, pending_physic: &mut (u64, i64)) {
        // The CommitLog checkpoint may only name a record known flushed.
        let flushed = self.dispatch.commitlog().flushed_offset();
        if self.progress.last_end <= flushed {
            self.checkpointer.set_physic_timestamp(self.progress.last_store_timestamp);
        } else if pending_physic.0 <= flushed && pending_physic.1 != 0 {
            self.checkpointer.set_physic_timestamp(pending_physic.1);
        }
        *pending_physic = (self.progress.last_end, self.progress.last_store_timestamp);
        // Every entry of every record dispatched so far is written: flushing
        // the queues now covers them all.
        let logics = Some(self.progress.last_store_timestamp);
        if let Err(e) = self.checkpointer.flush(thorough, logics) {
            self.lifecycle.record_failure();
            tracing::error!(error = %e, "consume queue flush failed");
        }
    }
}
