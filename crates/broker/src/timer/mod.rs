//! RocketMQ 5 timer messages: a message may ask to be delivered at any time
//! up to `timerMaxDelaySec` ahead (`TIMER_DELIVER_MS`, `TIMER_DELAY_SEC`,
//! `TIMER_DELAY_MS`).
//!
//! - [`park`]: the send-path rule; such a message is stored in
//!   `rmq_sys_wheel_timer` queue 0 with its real topic kept in properties.
//! - [`TimerDelivery`] (masters only) takes them from that queue into a
//!   timing wheel and stores each again under its real topic when its tick
//!   has ended ([`deliver`] says what the copy carries).
//! - [`recalls`]: a recall marker (5.3's RECALL_MESSAGE) cancels the parked
//!   message it names; neither is ever delivered.
//!
//! On disk, under `<storePathRootDir>/rmq_timer/` (a name of rmq's own:
//! the layout is not Java's `timerwheel`/`timerlog`/`timercheck`, and a Java
//! broker's timer files are not read):
//! - `log/`: the [timer log](log), fixed-size [entries](entry) in segment
//!   files, each naming a parked message and linking to the previous entry
//!   of its slot;
//! - `checkpoint`: [how far the timer got](checkpoint).
//!
//! The [wheel](wheel) itself is in memory: 4 MiB of slots whatever the
//! number of timers, rebuilt from the log at startup. Per pending timer
//! the broker holds 48 bytes on disk and nothing in memory. How a crash is
//! recovered without losing or repeating a delivery is told in [`engine`].

mod checkpoint;
mod deliver;
mod engine;
mod entry;
mod log;
mod park;
mod recalls;
mod wheel;

pub(crate) use deliver::DELIVERED_FROM;
pub(crate) use park::{TimerRules, park};
pub(crate) use recalls::{Recalls, recall_key};

use rmq_remoting::CancellationToken;
use rmq_store::MessageStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::now_ms;
use engine::{Budget, Geometry, Next, TimerEngine};

/// Errors of the timer's files.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TimerError {
    #[error("{path}: {op}: {source}")]
    Io { path: PathBuf, op: &'static str, source: std::io::Error },
    #[error("{path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("the timer task failed: {0}")]
    Task(String),
}

impl TimerError {
    fn io(path: &Path, op: &'static str, source: std::io::Error) -> TimerError {
        TimerError::Io { path: path.to_owned(), op, source }
    }
}

/// The timer's directory under a store root.
pub(crate) fn timer_dir(store_root: &Path) -> PathBuf {
    store_root.join("rmq_timer")
}

/// Per round: enough to keep up with a busy broker, small enough that
/// arrivals and checkpoints are not held up behind a large backlog.
const BUDGET: Budget = Budget { enqueue: 16_384, deliver: 16_384 };
/// Pause after the store refused a delivery.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// Delivers timer messages when due; masters only.
#[derive(Debug)]
pub(crate) struct TimerDelivery {
    pub store: Arc<MessageStore>,
    pub dir: PathBuf,
    /// `timerPrecisionMs`.
    pub precision_ms: i64,
    /// `timerFlushIntervalMs`: how often a checkpoint is attempted.
    pub checkpoint_every: Duration,
    /// Recalled messages, shared with the RECALL_MESSAGE handler.
    pub recalls: Arc<Recalls>,
}

impl TimerDelivery {
    /// The timer of a store, if `timerWheelEnable` is on.
    pub(crate) fn of(store: &Arc<MessageStore>, recalls: &Arc<Recalls>) -> Option<Arc<TimerDelivery>> {
        let c = store.config();
        c.timer_wheel_enable.then(|| {
            Arc::new(TimerDelivery {
                store: store.clone(),
                dir: timer_dir(&c.store_path_root_dir),
                precision_ms: c.timer_precision_ms.max(1) as i64,
                checkpoint_every: Duration::from_millis(c.timer_flush_interval_ms.max(10)),
                recalls: recalls.clone(),
            })
        })
    }

    /// Opens the timer's files and recovers from the last checkpoint.
    async fn open(&self) -> Result<TimerEngine, TimerError> {
        let (store, dir, recalls) = (self.store.clone(), self.dir.clone(), self.recalls.clone());
        let geometry = Geometry {
            precision_ms: self.precision_ms,
            wheel_slots: wheel::WHEEL_SLOTS,
            segment_bytes: log::SEGMENT_BYTES,
        };
        tokio::task::spawn_blocking(move || TimerEngine::open(store, &dir, geometry, now_ms(), recalls))
            .await
            .map_err(|e| TimerError::Task(e.to_string()))
            .and_then(|r| r)
    }

    /// Recovers the timer, then delivers until `stop`, and saves a last
    /// checkpoint. Sleeps to the end of the current tick when nothing is due.
    pub(crate) async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut engine = match self.open().await {
            Ok(engine) => engine,
            Err(e) => {
                tracing::error!("timer messages will not be delivered: {e}");
                return;
            }
        };
        let mut last_checkpoint = tokio::time::Instant::now();
        loop {
            let checkpoint = last_checkpoint.elapsed() >= self.checkpoint_every;
            if checkpoint {
                last_checkpoint = tokio::time::Instant::now();
            }
            let outcome = tokio::task::spawn_blocking(move || {
                let next = engine.round(now_ms(), BUDGET, checkpoint);
                (engine, next)
            })
            .await;
            let next = match outcome {
                Ok((back, next)) => {
                    engine = back;
                    next
                }
                Err(e) => {
                    tracing::error!("timer task panicked, timer messages stop: {e}");
                    return;
                }
            };
            let sleep = match next {
                Ok(Next::Busy) => Duration::ZERO,
                Ok(Next::Blocked) => RETRY_AFTER,
                Ok(Next::SleepUntil(at)) => {
                    Duration::from_millis((at - now_ms()).clamp(1, engine.precision_ms()) as u64)
                }
                Err(e) => {
                    // A failed round may leave the wheel pointing at entries
                    // never written: start again from the last checkpoint, as
                    // after a crash.
                    tracing::error!("timer: {e}; reopening from the last checkpoint");
                    drop(engine);
                    engine = loop {
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            _ = tokio::time::sleep(RETRY_AFTER) => {}
                        }
                        match self.open().await {
                            Ok(fresh) => break fresh,
                            Err(e) => tracing::error!("timer: reopening failed: {e}; retrying"),
                        }
                    };
                    continue;
                }
            };
            if sleep.is_zero() {
                tokio::task::yield_now().await;
                if stop.is_cancelled() {
                    break;
                }
                continue;
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(sleep) => {}
            }
        }
        let backlog = engine.backlog();
        let saved = tokio::task::spawn_blocking(move || engine.checkpoint()).await;
        match saved {
            Ok(Ok(_)) => tracing::info!("timer stopped ({backlog} messages not yet enqueued)"),
            Ok(Err(e)) => tracing::warn!("timer: last checkpoint failed: {e}"),
            Err(e) => tracing::warn!("timer: last checkpoint failed: {e}"),
        }
    }
}
