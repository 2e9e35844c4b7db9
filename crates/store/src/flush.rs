//! The background threads that move data to disk: the CommitLog flusher
//! (ASYNC_FLUSH on a timer, SYNC_FLUSH as group commit) and the dispatcher,
//! which also flushes consume queues and index and writes the checkpoint.
//!
//! Group commit: a SYNC_FLUSH put wakes the flusher, which flushes everything
//! written so far with one msync per touched file and publishes the flushed
//! offset; every put below it is released at once, however many there were.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rmq_model::FlushDiskType;

use crate::dispatch::{Progress, Stop};
use crate::error::{Result, StoreError};
use crate::store::Inner;

const PAGE: u64 = 4096;

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name.to_owned()).spawn(f).map_err(|e| StoreError::io(name, "spawn thread", e))
}

pub(crate) fn spawn_commitlog_flusher(inner: Arc<Inner>) -> Result<JoinHandle<()>> {
    spawn("rmq-flush-commitlog", move || match inner.cfg.flush_disk_type {
        FlushDiskType::SyncFlush => group_commit_loop(&inner),
        FlushDiskType::AsyncFlush => async_flush_loop(&inner),
    })
}

fn flush_once(inner: &Inner, target: u64) {
    match inner.commitlog.flush_to(target) {
        Ok(_) => {
            inner.stats.flushes.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            inner.background_failed.store(true, Ordering::SeqCst);
            tracing::error!(error = %e, "CommitLog flush failed; retrying");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// SYNC_FLUSH: flush as soon as anything is unflushed.
fn group_commit_loop(inner: &Inner) {
    let cl = &inner.commitlog;
    // Whether puts arrived while the last fsync ran: then several writers are
    // active and gathering pays; a lone writer is flushed at once.
    let mut concurrent = false;
    loop {
        let stop = inner.stop.load(Ordering::SeqCst);
        let written = cl.written.get();
        if written > cl.flushed.get() {
            let target = if stop || !concurrent { written } else { gather(inner, written) };
            flush_once(inner, target);
            concurrent = cl.written.get() > target;
            continue;
        }
        if stop {
            return;
        }
        inner.flusher.sleep(Duration::from_millis(10), || {
            cl.written.get() > cl.flushed.get() || inner.stop.load(Ordering::SeqCst)
        });
    }
}

/// Waits while the log keeps growing, briefly, so that writers released by
/// the previous flush can add their records and share the next fsync (which
/// costs milliseconds on most disks).
fn gather(inner: &Inner, mut written: u64) -> u64 {
    const STEP: Duration = Duration::from_micros(20);
    const MAX: Duration = Duration::from_micros(500);
    let started = Instant::now();
    while started.elapsed() < MAX {
        std::thread::sleep(STEP);
        let now = inner.commitlog.written.get();
        if now == written {
            break;
        }
        written = now;
    }
    written
}

/// ASYNC_FLUSH: whether `flushCommitLogLeastPages` pages wait to be flushed.
pub(crate) fn async_flush_due(inner: &Inner) -> bool {
    let cl = &inner.commitlog;
    cl.written.get().saturating_sub(cl.flushed.get()) / PAGE >= inner.cfg.flush_commit_log_least_pages.max(1)
}

/// ASYNC_FLUSH: flush when enough pages are dirty (puts wake this thread),
/// else every `flushIntervalCommitLog` once the thorough interval passed.
fn async_flush_loop(inner: &Inner) {
    let cl = &inner.commitlog;
    let cfg = &inner.cfg;
    let mut last_thorough = Instant::now();
    loop {
        inner.flusher.sleep(Duration::from_millis(cfg.flush_interval_commit_log.max(1)), || {
            inner.flush_requested.load(Ordering::SeqCst) || inner.stop.load(Ordering::SeqCst) || async_flush_due(inner)
        });
        let stop = inner.stop.load(Ordering::SeqCst);
        let written = cl.written.get();
        let dirty_pages = (written - cl.flushed.get()) / PAGE;
        let requested = inner.flush_requested.swap(false, Ordering::SeqCst);
        let thorough =
            requested || last_thorough.elapsed() >= Duration::from_millis(cfg.flush_commit_log_thorough_interval);
        if thorough {
            last_thorough = Instant::now();
        }
        if written > cl.flushed.get() && (stop || thorough || dirty_pages >= cfg.flush_commit_log_least_pages) {
            flush_once(inner, written);
            // Paced: under steady load every put would find enough pages
            // dirty again at once, and back-to-back msyncs of the pages being
            // written slow the writers down (p99 2-3x here). A short gap
            // batches them; the window left unflushed stays milliseconds.
            if !stop {
                std::thread::sleep(ASYNC_FLUSH_MIN_GAP);
            }
        }
        if stop {
            return;
        }
    }
}

/// Least time between two ASYNC_FLUSH flushes woken by dirty pages.
const ASYNC_FLUSH_MIN_GAP: Duration = Duration::from_millis(ASYNC_FLUSH_MIN_GAP_MS);
const ASYNC_FLUSH_MIN_GAP_MS: u64 = 10;

/// The thread that creates the next CommitLog file and pre-faults pages
/// ahead of the writer, so puts never wait for either.
pub(crate) fn spawn_preparer(inner: Arc<Inner>) -> Result<JoinHandle<()>> {
    spawn("rmq-prepare", move || {
        loop {
            inner.preparer.sleep(Duration::from_millis(100), || {
                inner.commitlog.needs_preparing() || inner.stop.load(Ordering::SeqCst)
            });
            if inner.stop.load(Ordering::SeqCst) {
                return;
            }
            if let Err(e) = inner.commitlog.prepare_ahead() {
                tracing::warn!(error = %e, "preparing CommitLog pages failed");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    })
}

pub(crate) fn spawn_dispatcher(inner: Arc<Inner>, last_store_timestamp: i64) -> Result<JoinHandle<()>> {
    spawn("rmq-dispatch", move || {
        let mut progress =
            Progress { offset: inner.dispatched.get(), last_end: inner.dispatched.get(), last_store_timestamp };
        dispatch_loop(&inner, &mut progress);
    })
}

fn dispatch_loop(inner: &Inner, progress: &mut Progress) {
    let cfg = &inner.cfg;
    let mut last_flush = Instant::now();
    let mut last_thorough = Instant::now();
    let mut pending_physic = (0u64, 0i64);
    loop {
        let stop = inner.stop.load(Ordering::SeqCst);
        let outcome = inner.dispatch.run(progress, u64::MAX, 1024);
        if progress.offset != inner.dispatched.get() {
            inner.dispatched.publish(progress.offset);
        }
        let caught_up = match outcome {
            Ok(Stop::CaughtUp) => progress.offset >= inner.commitlog.written.get(),
            Ok(Stop::Broken) | Err(_) => {
                if let Err(e) = outcome {
                    tracing::error!(error = %e, "dispatch failed; retrying");
                }
                inner.background_failed.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
                true
            }
        };
        if stop && caught_up {
            return;
        }
        if last_flush.elapsed() >= Duration::from_millis(cfg.flush_interval_consume_queue) {
            last_flush = Instant::now();
            let thorough = last_thorough.elapsed() >= Duration::from_millis(cfg.flush_consume_queue_thorough_interval);
            if thorough {
                last_thorough = Instant::now();
            }
            // The CommitLog checkpoint may only name a record known flushed.
            let flushed = inner.commitlog.flushed.get();
            {
                let mut cp = inner.checkpoint.lock().unwrap_or_else(|p| p.into_inner());
                if progress.last_end <= flushed {
                    cp.1.physic_msg_timestamp = progress.last_store_timestamp;
                } else if pending_physic.0 <= flushed && pending_physic.1 != 0 {
                    cp.1.physic_msg_timestamp = pending_physic.1;
                }
            }
            pending_physic = (progress.last_end, progress.last_store_timestamp);
            let least = if thorough { 0 } else { cfg.flush_consume_queue_least_pages };
            let logics = thorough.then_some(progress.last_store_timestamp);
            if let Err(e) = flush_queues(inner, least, logics) {
                inner.background_failed.store(true, Ordering::SeqCst);
                tracing::error!(error = %e, "consume queue flush failed");
            }
        }
        if caught_up {
            let offset = progress.offset;
            inner.dispatcher.sleep(Duration::from_millis(cfg.flush_interval_consume_queue.clamp(1, 100)), || {
                inner.commitlog.written.get() > offset || inner.stop.load(Ordering::SeqCst)
            });
        }
    }
}

/// Flushes consume queues (those with `least_pages` dirty pages) and the
/// index, then writes the checkpoint. With `logics_timestamp`, every queue was
/// flushed up to that store time and the checkpoint says so.
fn flush_queues(inner: &Inner, least_pages: u64, logics_timestamp: Option<i64>) -> Result<()> {
    for cq in inner.queues.all() {
        cq.flush(least_pages)?;
    }
    let index_ts = match &inner.index {
        Some(index) if least_pages == 0 => Some(index.flush()?),
        _ => None,
    };
    let mut cp = inner.checkpoint.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(ts) = logics_timestamp.filter(|t| *t > 0) {
        cp.1.logics_msg_timestamp = ts;
    }
    if let Some(ts) = index_ts.filter(|t| *t > 0) {
        cp.1.index_msg_timestamp = ts;
    }
    let snapshot = cp.1;
    cp.0.write(&snapshot)
}

/// Shutdown: everything dispatched is flushed and the checkpoint brought up
/// to the last dispatched record.
pub(crate) fn flush_consume_queues_and_checkpoint(inner: &Inner) -> Result<()> {
    let last_ts = last_dispatched_timestamp(inner);
    if last_ts > 0 && inner.commitlog.flushed.get() >= inner.dispatched.get() {
        inner.checkpoint.lock().unwrap_or_else(|p| p.into_inner()).1.physic_msg_timestamp = last_ts;
    }
    flush_queues(inner, 0, Some(last_ts))
}

/// Store time of the last record below the dispatched offset (0 if none).
fn last_dispatched_timestamp(inner: &Inner) -> i64 {
    let cp = inner.checkpoint.lock().unwrap_or_else(|p| p.into_inner()).1;
    let mut ts = cp.logics_msg_timestamp.max(cp.physic_msg_timestamp);
    // Walk the queues' last entries: the newest store time among them is the
    // last dispatched message's.
    for cq in inner.queues.all() {
        let max = cq.max_offset();
        if max == 0 {
            continue;
        }
        if let Some(e) = cq.entry(max - 1)
            && let Some(t) = crate::read::store_time_at(&inner.commitlog, e.physical_offset)
        {
            ts = ts.max(t);
        }
    }
    ts
}
