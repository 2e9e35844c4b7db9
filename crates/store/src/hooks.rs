//! What the store asks of its surroundings, replaceable in tests: the wall
//! clock, the disk usage, who to tell about dispatched messages, and the
//! write lease that bounds its puts, if any.

use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Wall-clock milliseconds since the Unix epoch. Store timestamps, retention
/// ages and `deleteWhen` hours all come from here.
pub trait Clock: Send + Sync + Debug {
    fn now_millis(&self) -> i64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }
}

/// A clock that tests move by hand; starts at the system time.
#[derive(Debug, Default)]
pub struct ManualClock {
    offset_ms: AtomicI64,
}

impl ManualClock {
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock::default())
    }

    /// Moves the clock forward (or back) by `ms`.
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        SystemClock.now_millis() + self.offset_ms.load(Ordering::SeqCst)
    }
}

/// How full the filesystem holding a path is, as a ratio 0..1.
pub trait DiskUsage: Send + Sync + Debug {
    fn used_ratio(&self, path: &Path) -> Option<f64>;
}

/// `statvfs(2)`: used blocks over total blocks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Statvfs;

impl DiskUsage for Statvfs {
    fn used_ratio(&self, path: &Path) -> Option<f64> {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs fills the zeroed struct; the path is NUL-terminated.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 || st.f_blocks == 0 {
            return None;
        }
        let total = st.f_blocks as f64;
        Some((total - st.f_bfree as f64) / total)
    }
}

/// A disk usage that tests set by hand (ratio in per mille).
#[derive(Debug, Default)]
pub struct FixedDiskUsage {
    per_mille: AtomicU64,
}

impl FixedDiskUsage {
    pub fn new(ratio: f64) -> Arc<FixedDiskUsage> {
        let d = Arc::new(FixedDiskUsage::default());
        d.set(ratio);
        d
    }

    pub fn set(&self, ratio: f64) {
        self.per_mille.store((ratio * 1000.0) as u64, Ordering::SeqCst);
    }
}

impl DiskUsage for FixedDiskUsage {
    fn used_ratio(&self, _: &Path) -> Option<f64> {
        Some(self.per_mille.load(Ordering::SeqCst) as f64 / 1000.0)
    }
}

/// One message that just entered its consume queue.
#[derive(Clone, Copy, Debug)]
pub struct Dispatched<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub queue_offset: u64,
    /// The consume queue's new max offset (`queue_offset + 1`).
    pub next_queue_offset: u64,
    pub tags_code: i64,
    pub store_timestamp: i64,
    pub physical_offset: u64,
    pub size: u32,
    /// The raw properties string, for filters that need more than the tag.
    pub properties: &'a [u8],
}

/// Told about every message the dispatcher adds to a consume queue, on the
/// dispatcher thread: keep it short (wake long-polling pulls, nothing more).
pub trait DispatchListener: Send + Sync {
    fn on_dispatch(&self, message: &Dispatched<'_>);
}

/// Optional parts of a store, with defaults for production.
#[derive(Clone)]
pub struct StoreHooks {
    pub clock: Arc<dyn Clock>,
    pub disk: Arc<dyn DiskUsage>,
    pub listener: Option<Arc<dyn DispatchListener>>,
    /// Puts are taken only while this lease holds; none: always.
    pub lease: Option<Arc<crate::WriteLease>>,
}

impl Default for StoreHooks {
    fn default() -> StoreHooks {
        StoreHooks { clock: Arc::new(SystemClock), disk: Arc::new(Statvfs), listener: None, lease: None }
    }
}

impl Debug for StoreHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHooks")
            .field("clock", &self.clock)
            .field("disk", &self.disk)
            .field("listener", &self.listener.is_some())
            .field("lease", &self.lease)
            .finish()
    }
}
