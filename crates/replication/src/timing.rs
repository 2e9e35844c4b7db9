//! The knobs of replication, from the broker's `ha*` keys (Java's `MessageStoreConfig`).

use crate::codec::MAX_TRANSFER_BODY;

/// Timing and sizes shared by both sides. All times in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HaConfig {
    /// `haSendHeartbeatInterval`: a side that sent nothing for this long sends
    /// a heartbeat (master: an empty transfer; slave: its offset again).
    pub heartbeat_interval_ms: u64,
    /// `haHousekeepingInterval`: a side that received nothing for this long
    /// closes the connection (the peer is gone or stalled).
    pub housekeeping_interval_ms: u64,
    /// `haTransferBatchSize`: most bytes in one transfer, capped at
    /// [`MAX_TRANSFER_BODY`].
    pub transfer_batch_size: usize,
    /// `haSlaveFallbehindMax`: SYNC_MASTER counts no slave in sync that is
    /// this many bytes or more behind the master.
    pub slave_fallbehind_max: u64,
    /// Most slaves one master serves at once.
    pub max_slaves: usize,
    /// Most SYNC_MASTER sends waiting for a slave at once; past it they are
    /// answered at once (busy).
    pub max_waiters: usize,
}

impl Default for HaConfig {
    fn default() -> HaConfig {
        HaConfig {
            heartbeat_interval_ms: 5_000,
            housekeeping_interval_ms: 20_000,
            transfer_batch_size: 32 * 1024,
            slave_fallbehind_max: 256 * 1024 * 1024,
            max_slaves: 64,
            max_waiters: 100_000,
        }
    }
}

impl HaConfig {
    /// The batch size actually used: at least 1 byte, at most one frame.
    pub fn batch(&self) -> usize {
        self.transfer_batch_size.clamp(1, MAX_TRANSFER_BODY)
    }
}
