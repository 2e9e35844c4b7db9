//! [`TimerEngine`]: the wheel, the log and the checkpoint, driven by
//! [`TimerEngine::round`]. It is a plain struct with `&mut self` methods and
//! blocking I/O; [`super::TimerDelivery`] owns it and runs each round on a
//! blocking thread.
//!
//! A round: enqueue what arrived in the timer topic (append entries, link
//! them into their slots), deliver every slot whose tick has ended, and
//! save a checkpoint now and then.
//!
//! Crash safety. The checkpoint is written only between slots, after the
//! log is flushed and once the CommitLog is flushed up to the copies of the
//! slots it calls delivered. On restart:
//! 1. the log is cut to the checkpoint's length, and the topic is enqueued
//!    again from the checkpoint's offset: the same entries, appended once;
//! 2. the wheel is rebuilt by scanning the log (entries in slots after the
//!    delivered tick; their `prev` links on disk are already right);
//! 3. the CommitLog from the checkpoint's `commitlog_end` on is scanned for
//!    copies (they carry [`DELIVERED_FROM`]); those entries are skipped when
//!    their slot is delivered again.
//! 4. the recall markers among the pending entries (and among those
//!    enqueued again) note their keys in [`Recalls`] before any slot is
//!    delivered, so a recalled message stays recalled across a crash.
//!
//! [`DELIVERED_FROM`]: super::deliver::DELIVERED_FROM

use rmq_model::record;
use rmq_model::topic::TIMER_TOPIC;
use rmq_model::{PhysicalOffset, QueueOffset};
use rmq_store::{AcceptAll, GetMessageStatus, MessageStore, StoreError};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use super::TimerError;
use super::checkpoint::{Checkpoint, CheckpointFile};
use super::deliver::{copy_of, delivered_since};
use super::entry::{ENTRY_SIZE, Entry, LogPos};
use super::log::TimerLog;
use super::recalls::Recalls;
use super::wheel::Wheel;
use crate::retry_log::RetryLog;
use rmq_model::properties::keys;

/// How long a checkpoint waits for the CommitLog flush before it gives up
/// until the next one.
const FLUSH_WAIT: std::time::Duration = std::time::Duration::from_millis(200);
/// An idle timer (nothing taken in, nothing delivered) saves its checkpoint
/// this seldom, to move on the CommitLog position a restart scans from
/// without an fsync every tick.
const IDLE_CHECKPOINT_MS: i64 = 60_000;
/// Messages taken from the timer topic per read.
const READ_BATCH: u32 = 32;

/// The shape of a timer: how fine its ticks are and how large its files.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub precision_ms: i64,
    pub wheel_slots: usize,
    pub segment_bytes: u64,
}

/// What a round leaves to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// A budget ran out: more is waiting now.
    Busy,
    /// The store refused a delivery (e.g. the disk is full): try again shortly.
    Blocked,
    /// Nothing due before the end of the current tick, at this wall time (ms).
    SleepUntil(i64),
}

/// How many enqueues and deliveries a round does at most, so that
/// checkpoints and new arrivals are not held up by a backlog.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    pub enqueue: usize,
    pub deliver: usize,
}

#[derive(Debug)]
pub(crate) struct TimerEngine {
    store: Arc<MessageStore>,
    log: TimerLog,
    wheel: Wheel,
    file: CheckpointFile,
    precision_ms: i64,
    /// The next timer-topic queue offset to enqueue.
    enqueued: u64,
    /// Every slot up to this tick was delivered.
    delivered_tick: i64,
    /// The CommitLog's end when `delivered_tick`'s slot completed.
    clean_commitlog_end: u64,
    /// The slot being delivered and the next entry of its chain.
    in_progress: Option<(i64, Option<LogPos>)>,
    /// Origins of copies found after the checkpoint at startup, and the tick
    /// after which no such copy can be (the startup time).
    recovered: HashSet<u64>,
    recovered_until: i64,
    saved: Checkpoint,
    /// When `saved` was written (ms), and whether a slot with messages was
    /// delivered since.
    saved_at_ms: i64,
    delivered_since_save: bool,
    /// Deliveries the store refused in a row (disk full, lease lapsed).
    retries: RetryLog,
    /// Keys of recalled messages: never delivered.
    recalls: Arc<Recalls>,
}

impl TimerEngine {
    /// Opens (or creates) the timer under `dir` and recovers it.
    pub(crate) fn open(
        store: Arc<MessageStore>,
        dir: &Path,
        geometry: Geometry,
        now_ms: i64,
        recalls: Arc<Recalls>,
    ) -> Result<TimerEngine, TimerError> {
        let started = std::time::Instant::now();
        std::fs::create_dir_all(dir).map_err(|e| TimerError::io(dir, "create directory", e))?;
        let file = CheckpointFile::at(dir);
        let fresh = Checkpoint {
            precision_ms: geometry.precision_ms as u32,
            enqueued: store.min_offset_in_queue(TIMER_TOPIC, 0).0,
            log_end: 0,
            delivered_tick: now_ms.div_euclid(geometry.precision_ms) - 1,
            commitlog_end: store.max_physical_offset().0,
        };
        let saved = file.load()?.unwrap_or(fresh);
        let precision_ms = i64::from(saved.precision_ms.max(1));
        if precision_ms != geometry.precision_ms {
            tracing::warn!(
                "timer: its files count ticks of {precision_ms} ms; timerPrecisionMs={} applies to new messages' \
                 rounding only until the timer directory {} is emptied",
                geometry.precision_ms,
                dir.display()
            );
        }
        let mut log = TimerLog::open(&dir.join("log"), LogPos(saved.log_end), geometry.segment_bytes)?;
        let mut wheel = Wheel::new(geometry.wheel_slots);
        let (delivered_tick, mut pending, mut outside) = (saved.delivered_tick, 0u64, 0u64);
        let mut markers = Vec::new();
        log.scan(|pos, e| {
            if e.slot_tick > delivered_tick {
                if e.slot_tick > delivered_tick + wheel.window() {
                    outside += 1;
                } else {
                    wheel.link(e.slot_tick, pos);
                    pending += 1;
                    if e.recall {
                        markers.push(*e);
                    }
                }
            }
        })?;
        for marker in &markers {
            match marker_key(&store, marker.offset) {
                Some(key) => {
                    recalls.note(&key, keep_until(marker, precision_ms));
                }
                None => tracing::warn!("timer: the recall marker at CommitLog offset {} is gone", marker.offset),
            }
        }
        if outside > 0 {
            tracing::error!(
                "timer: {outside} entries lie beyond the wheel's window (was it resized?); they are skipped"
            );
        }
        let recovered = delivered_since(&store, saved.commitlog_end);
        let mut enqueued = saved.enqueued;
        let (min, max) = (store.min_offset_in_queue(TIMER_TOPIC, 0).0, store.max_offset_in_queue(TIMER_TOPIC, 0).0);
        if enqueued < min || enqueued > max {
            tracing::warn!("timer: checkpointed queue offset {enqueued} is outside [{min}, {max}] of {TIMER_TOPIC}");
            enqueued = enqueued.clamp(min, max);
        }
        tracing::info!(
            "timer: {pending} pending entries ({} recall markers), {} segment(s), delivered up to {} ms, {} queued offset {enqueued}, \
             {} copies delivered after the checkpoint; recovered in {} ms",
            markers.len(),
            log.segment_count(),
            (delivered_tick + 1) * precision_ms,
            TIMER_TOPIC,
            recovered.len(),
            started.elapsed().as_millis()
        );
        Ok(TimerEngine {
            store,
            log,
            wheel,
            file,
            precision_ms,
            enqueued,
            delivered_tick,
            clean_commitlog_end: saved.commitlog_end,
            in_progress: None,
            recovered,
            recovered_until: now_ms.div_euclid(precision_ms) + 1,
            saved,
            saved_at_ms: now_ms,
            delivered_since_save: false,
            retries: RetryLog::default(),
            recalls,
        })
    }

    /// One round at wall time `now_ms`; `checkpoint` asks for a checkpoint
    /// at its end (skipped while a slot is half delivered).
    pub(crate) fn round(&mut self, now_ms: i64, budget: Budget, checkpoint: bool) -> Result<Next, TimerError> {
        let enqueued = self.enqueue(budget.enqueue, now_ms)?;
        let next = self.deliver_due(now_ms, budget.deliver)?;
        let idle = self.enqueued == self.saved.enqueued
            && self.log.end().0 == self.saved.log_end
            && !self.delivered_since_save
            && now_ms - self.saved_at_ms < IDLE_CHECKPOINT_MS;
        if checkpoint && !idle && self.checkpoint()? {
            self.saved_at_ms = now_ms;
        }
        Ok(if enqueued >= budget.enqueue { Next::Busy } else { next })
    }

    /// The first tick still open for new entries.
    fn earliest_open_tick(&self) -> i64 {
        match self.in_progress {
            Some((tick, _)) => tick + 1,
            None => self.delivered_tick + 1,
        }
    }

    /// An entry for a message due at `deliver_ms`, to be appended at `pos`,
    /// linked into its slot. A recall marker's key is noted until that slot
    /// (or its due one, if later) is delivered.
    fn place(&mut self, parked: Parked<'_>, enqueue_ms: i64, pos: LogPos) -> Entry {
        let due_tick = parked.deliver_ms.div_euclid(self.precision_ms);
        let slot_tick = self.wheel.slot_tick_for(due_tick, self.delivered_tick, self.earliest_open_tick());
        let prev = self.wheel.link(slot_tick, pos);
        let entry = Entry {
            slot_tick,
            deliver_ms: parked.deliver_ms,
            offset: parked.offset,
            size: parked.size,
            prev,
            enqueue_ms,
            recall: parked.recall_key.is_some(),
        };
        if let Some(key) = parked.recall_key {
            self.recalls.note(key, keep_until(&entry, self.precision_ms));
        }
        entry
    }

    /// Appends entries for up to about `budget` new timer-topic messages.
    fn enqueue(&mut self, budget: usize, now_ms: i64) -> Result<usize, TimerError> {
        let mut count = 0;
        while count < budget {
            let got = self.store.get_messages(TIMER_TOPIC, 0, QueueOffset(self.enqueued), READ_BATCH, &AcceptAll);
            match got.status {
                GetMessageStatus::Found => {}
                GetMessageStatus::OffsetTooSmall | GetMessageStatus::OffsetOverflowBadly
                    if got.next_begin_offset.0 != self.enqueued =>
                {
                    tracing::warn!("timer: queue offset {} moved to {}", self.enqueued, got.next_begin_offset.0);
                    self.enqueued = got.next_begin_offset.0;
                    continue;
                }
                _ => break,
            }
            let mut entries = Vec::with_capacity(got.messages.len());
            let first = self.log.end().0;
            for (stored, queue_offset) in got.messages.iter().zip(&got.queue_offsets) {
                let Ok(view) = record::decode_message(stored, false) else {
                    tracing::warn!("timer: undecodable record at {TIMER_TOPIC} offset {}, skipped", queue_offset.0);
                    continue;
                };
                let deliver_ms = view
                    .property(keys::TIMER_OUT_MS)
                    .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
                    .unwrap_or(now_ms);
                let pos = LogPos(first + entries.len() as u64 * ENTRY_SIZE);
                let recall_key = view.property(keys::TIMER_DEL_UNIQKEY).map(String::from_utf8_lossy);
                let parked = Parked {
                    deliver_ms,
                    offset: view.physical_offset as u64,
                    size: view.total_size,
                    recall_key: recall_key.as_deref(),
                };
                entries.push(self.place(parked, now_ms, pos));
            }
            self.log.append(&entries)?;
            count += got.messages.len();
            self.enqueued = got.next_begin_offset.0.max(self.enqueued + 1);
        }
        Ok(count)
    }

    /// Delivers the slots whose tick ended by `now_ms`, at most `budget`
    /// entries.
    fn deliver_due(&mut self, now_ms: i64, budget: usize) -> Result<Next, TimerError> {
        let mut done = 0;
        loop {
            let tick = self.delivered_tick + 1;
            let slot_end = (tick + 1) * self.precision_ms;
            if slot_end > now_ms {
                return Ok(Next::SleepUntil(slot_end));
            }
            let mut cursor = match self.in_progress {
                Some((t, cursor)) if t == tick => cursor,
                _ => self.wheel.last(tick),
            };
            self.in_progress = Some((tick, cursor));
            self.delivered_since_save |= cursor.is_some();
            while let Some(pos) = cursor {
                if done >= budget {
                    return Ok(Next::Busy);
                }
                let entry = self.log.read(pos)?;
                if !self.deliver(tick, &entry, now_ms)? {
                    return Ok(Next::Blocked);
                }
                done += 1;
                cursor = entry.prev;
                self.in_progress = Some((tick, cursor));
            }
            self.wheel.clear(tick);
            self.in_progress = None;
            self.delivered_tick = tick;
            self.recalls.forget_through(slot_end);
            self.clean_commitlog_end = self.store.max_physical_offset().0;
            if tick >= self.recovered_until && !self.recovered.is_empty() {
                self.recovered = HashSet::new();
            }
        }
    }

    /// Delivers one entry of the slot of `tick`; false if the store refused
    /// and it must be tried again.
    fn deliver(&mut self, tick: i64, entry: &Entry, now_ms: i64) -> Result<bool, TimerError> {
        if entry.deliver_ms.div_euclid(self.precision_ms) > tick {
            // It waited at the window's end: append it again, nearer its time.
            let pos = self.log.end();
            let recall_key = if entry.recall { marker_key(&self.store, entry.offset) } else { None };
            let parked = Parked {
                deliver_ms: entry.deliver_ms,
                offset: entry.offset,
                size: entry.size,
                recall_key: recall_key.as_deref(),
            };
            let mut again = self.place(parked, entry.enqueue_ms, pos);
            // A marker whose message is gone still stays a marker.
            again.recall = entry.recall;
            self.log.append(&[again])?;
            return Ok(true);
        }
        if entry.recall || self.recovered.contains(&entry.offset) {
            return Ok(true);
        }
        let Some(stored) = self.store.message_at(PhysicalOffset(entry.offset)) else {
            tracing::warn!("timer: the message at CommitLog offset {} is gone; not delivered", entry.offset);
            return Ok(true);
        };
        let copy = record::decode_message(&stored, false)
            .ok()
            .and_then(|view| copy_of(&view, entry.offset, entry.enqueue_ms, now_ms).map(|c| (view, c)));
        let Some((view, (topic, queue_id, props))) = copy else {
            tracing::warn!("timer: the message at CommitLog offset {} has no real topic; dropped", entry.offset);
            return Ok(true);
        };
        if let Some(id) = props.unique_key()
            && self.recalls.is_recalled(&topic, id)
        {
            tracing::debug!("timer: message {id} of {topic} was recalled; not delivered");
            return Ok(true);
        }
        let properties = props.encode();
        let msg = view.stored_again(&topic, queue_id, properties.as_bytes());
        match self.store.put(&msg) {
            Ok(_) => {
                self.retries.taken("timer delivery");
                Ok(true)
            }
            Err(e @ (StoreError::MessageIllegal(_) | StoreError::PropertiesSizeExceeded { .. })) => {
                tracing::warn!("timer: delivering CommitLog offset {} to {topic} refused for good: {e}", entry.offset);
                Ok(true)
            }
            Err(e) => {
                self.retries.refused(&format!("timer delivery to {topic}"), &e);
                Ok(false)
            }
        }
    }

    /// Saves a checkpoint if progress was made and it can vouch for it: no
    /// slot half delivered, the copies of delivered slots flushed. Whether
    /// it was written.
    pub(crate) fn checkpoint(&mut self) -> Result<bool, TimerError> {
        if self.in_progress.is_some() {
            return Ok(false);
        }
        let copies_end = PhysicalOffset(self.clean_commitlog_end);
        if self.store.flushed_offset() < copies_end && self.store.wait_flushed(copies_end, FLUSH_WAIT).is_err() {
            return Ok(false);
        }
        let c = Checkpoint {
            precision_ms: self.precision_ms as u32,
            enqueued: self.enqueued,
            log_end: self.log.end().0,
            delivered_tick: self.delivered_tick,
            commitlog_end: self.clean_commitlog_end,
        };
        if c == self.saved {
            return Ok(false);
        }
        self.log.flush()?;
        self.file.save(&c)?;
        self.saved = c;
        self.delivered_since_save = false;
        let dropped = self.log.drop_delivered(c.delivered_tick)?;
        if dropped > 0 {
            tracing::debug!("timer: {dropped} delivered log segment(s) deleted");
        }
        Ok(true)
    }

    /// Timer-topic messages not yet enqueued.
    pub(crate) fn backlog(&self) -> u64 {
        self.store.max_offset_in_queue(TIMER_TOPIC, 0).0.saturating_sub(self.enqueued)
    }

    pub(crate) fn precision_ms(&self) -> i64 {
        self.precision_ms
    }
}

/// What [`TimerEngine::place`] needs of a parked message.
struct Parked<'a> {
    deliver_ms: i64,
    offset: u64,
    size: u32,
    /// For a recall marker, the key it recalls.
    recall_key: Option<&'a str>,
}

/// How long a marker's key must be kept: until the later of its slot and
/// its due tick was delivered (the message it recalls waits in one of them).
fn keep_until(marker: &Entry, precision_ms: i64) -> i64 {
    let tick = marker.slot_tick.max(marker.deliver_ms.div_euclid(precision_ms));
    tick.saturating_add(1).saturating_mul(precision_ms)
}

/// The key the recall marker stored at CommitLog `offset` names.
fn marker_key(store: &MessageStore, offset: u64) -> Option<String> {
    let stored = store.message_at(PhysicalOffset(offset))?;
    let view = record::decode_message(&stored, false).ok()?;
    view.property(keys::TIMER_DEL_UNIQKEY).map(|k| String::from_utf8_lossy(k).into_owned())
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
