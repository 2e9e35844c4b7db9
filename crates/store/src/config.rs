//! The store's configuration: RocketMQ's `MessageStoreConfig` keys that this
//! store implements, with Java's defaults, and nothing else.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use rmq_model::{BrokerRole, FlushDiskType, config_struct};

use crate::error::{Result, StoreError};

config_struct! {
    /// Settings of one store directory. Build with [`StoreConfig::new`] (Java's
    /// defaults under a root directory), change fields or [`apply`] keys, then
    /// open the store, which calls [`StoreConfig::validate`].
    ///
    /// The keys are declared in the order `mqbroker -p` prints them.
    ///
    /// [`apply`]: StoreConfig::apply
    pub struct StoreConfig {
        /// A SLAVE refuses puts and only takes replicated bytes.
        broker_role: BrokerRole = "brokerRole" => BrokerRole::AsyncMaster,
        /// ASYNC_FLUSH (in the background) or SYNC_FLUSH (puts wait for the
        /// group commit).
        flush_disk_type: FlushDiskType = "flushDiskType" => FlushDiskType::AsyncFlush,
        /// Holds checkpoint, abort, lock, consumequeue/, index/ and config/.
        /// Java's default is `${user.home}/store`; the broker passes its own
        /// home (which `-Duser.home` may set) through [`StoreConfig::new`].
        /// Setting it moves `storePathCommitLog` along unless that was set to
        /// a directory other than `<root>/commitlog`.
        store_path_root_dir: PathBuf = "storePathRootDir" via move_root => home_store_dir(),
        /// The CommitLog directory, `<root>/commitlog` unless set.
        store_path_commit_log: PathBuf = "storePathCommitLog" => home_store_dir().join("commitlog"),
        /// Bytes per CommitLog file (1 GiB). Every existing file must have
        /// this size; a record never spans two files.
        mapped_file_size_commit_log: u64 = "mappedFileSizeCommitLog" => 1 << 30,
        /// Bytes per consume-queue file, rounded down to a multiple of 20
        /// (300,000 entries).
        mapped_file_size_consume_queue: u64 = "mappedFileSizeConsumeQueue" => 300_000 * 20,
        /// Ms between background CommitLog flushes (ASYNC_FLUSH).
        flush_interval_commit_log: u64 = "flushIntervalCommitLog" => 500,
        /// A background flush waits for this many dirty 4 KiB pages (0 =
        /// flush whatever is dirty).
        flush_commit_log_least_pages: u64 = "flushCommitLogLeastPages" => 4,
        /// Ms after which a background flush ignores the page minimum.
        flush_commit_log_thorough_interval: u64 = "flushCommitLogThoroughInterval" => 10_000,
        /// Ms between consume-queue and index flushes, each followed by a
        /// checkpoint write.
        flush_interval_consume_queue: u64 = "flushIntervalConsumeQueue" => 1000,
        /// Dirty pages a consume queue needs before a periodic flush in Java.
        /// Accepted but not needed: rmq flushes every queue with new entries
        /// at each `flushIntervalConsumeQueue`, so that the checkpoint, where
        /// recovery after a machine crash starts, keeps up with dispatch.
        flush_consume_queue_least_pages: u64 = "flushConsumeQueueLeastPages" => 2,
        /// Ms after which every dirty queue is flushed regardless of pages.
        flush_consume_queue_thorough_interval: u64 = "flushConsumeQueueThoroughInterval" => 60_000,
        /// Ms a SYNC_FLUSH put may wait before it is answered FLUSH_DISK_TIMEOUT.
        sync_flush_timeout: u64 = "syncFlushTimeout" => 5000,
        /// Largest body in bytes (4 MiB).
        max_message_size: usize = "maxMessageSize" => 4 << 20,
        /// Space-separated delays (`1s 5m 2h 1d`) of delay levels 1..n.
        message_delay_level: String = "messageDelayLevel" =>
            "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h".to_owned(),
        /// Build the key index (`index/`).
        message_index_enable: bool = "messageIndexEnable" => true,
        /// Abnormal recovery also starts early enough for the index.
        message_index_safe: bool = "messageIndexSafe" => false,
        /// Hash slots per index file.
        max_hash_slot_num: u32 = "maxHashSlotNum" => 5_000_000,
        /// Entries per index file.
        max_index_num: u32 = "maxIndexNum" => 20_000_000,
        /// Verify body CRCs while recovering.
        check_crc_on_recover: bool = "checkCRCOnRecover" => true,
        /// Hours a CommitLog file is kept after its last write.
        file_reserved_time: u64 = "fileReservedTime" => 72,
        /// `;`-separated hours of the day when expired files are deleted.
        delete_when: String = "deleteWhen" => "04".to_owned(),
        /// Percent of the disk: above it expired files are deleted at any hour.
        disk_max_used_space_ratio: u32 = "diskMaxUsedSpaceRatio" => 75,
        /// Above `diskSpaceCleanForciblyRatio`, delete the oldest files even
        /// if unexpired.
        clean_file_forcibly_enable: bool = "cleanFileForciblyEnable" => true,
        /// Disk use (0..1) above which puts fail with SERVICE_NOT_AVAILABLE.
        /// Java reads it only as the JVM property of the long name.
        disk_space_warning_level_ratio: f64 =
            "diskSpaceWarningLevelRatio" | "rocketmq.broker.diskSpaceWarningLevelRatio" => 0.90,
        /// Disk use (0..1) above which files go even if unexpired (with
        /// `cleanFileForciblyEnable`). Java reads it only as the JVM property
        /// of the long name.
        disk_space_clean_forcibly_ratio: f64 =
            "diskSpaceCleanForciblyRatio" | "rocketmq.broker.diskSpaceCleanForciblyRatio" => 0.85,
        /// Ms between retention checks.
        clean_resource_interval: u64 = "cleanResourceInterval" => 10_000,
        /// Ms paused between two file deletions.
        delete_commit_log_files_interval: u64 = "deleteCommitLogFilesInterval" => 100,
        /// A put lock held longer than this (ms) marks the page cache busy.
        os_page_cache_busy_timeout_mills: u64 = "osPageCacheBusyTimeOutMills" => 1000,
        /// Pull byte cap for data within the in-memory window.
        max_transfer_bytes_on_message_in_memory: u64 = "maxTransferBytesOnMessageInMemory" => 256 * 1024,
        /// Pull count cap for data within the in-memory window.
        max_transfer_count_on_message_in_memory: u64 = "maxTransferCountOnMessageInMemory" => 32,
        /// Pull byte cap for data behind the in-memory window.
        max_transfer_bytes_on_message_in_disk: u64 = "maxTransferBytesOnMessageInDisk" => 64 * 1024,
        /// Pull count cap for data behind the in-memory window.
        max_transfer_count_on_message_in_disk: u64 = "maxTransferCountOnMessageInDisk" => 8,
        /// Percent of RAM behind the CommitLog end that counts as "in memory"
        /// (the pull caps above, the slave suggestion).
        access_message_in_memory_max_ratio: u64 = "accessMessageInMemoryMaxRatio" => 40,
        /// Accept 5.x timer messages (`TIMER_DELIVER_MS`, `TIMER_DELAY_SEC`,
        /// `TIMER_DELAY_MS`) and deliver them at their time; when off, the
        /// broker refuses them, as Java does.
        timer_wheel_enable: bool = "timerWheelEnable" => true,
        /// Granularity of timer delivery, ms: delivery times are rounded to
        /// it and the timer wakes once per tick.
        timer_precision_ms: u64 = "timerPrecisionMs" => 1000,
        /// Longest delay a timer message may ask for, seconds (3 days).
        timer_max_delay_sec: u64 = "timerMaxDelaySec" => 259_200,
        /// Ms between checkpoints of the timer's progress (what a restart
        /// resumes from).
        timer_flush_interval_ms: u64 = "timerFlushIntervalMs" => 1000,
        /// Store host written into records and msgIds: `brokerIP1:listenPort`.
        /// No key: the broker sets it once it has resolved its address.
        store_host: SocketAddr => SocketAddr::from(([127, 0, 0, 1], 10911)),
        /// Cut the CommitLog back to this offset at open, after recovery.
        /// No key: a broker in controller mode sets it when it rejoins a new
        /// master whose log diverged from its own (the epochs' consistent
        /// point); the offset must be the start of a record or the end.
        truncate_to: Option<u64> => None,
    }
}

/// Java's default root, `${user.home}/store` (`$HOME` here; relative to the
/// working directory when unset).
fn home_store_dir() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join("store")
}

impl StoreConfig {
    /// Java's defaults with everything under `root`.
    pub fn new(root: impl Into<PathBuf>) -> StoreConfig {
        let mut config = StoreConfig::default();
        config.move_root(root.into());
        config
    }

    /// Sets `storePathRootDir`. The CommitLog directory moves along while it
    /// is `<old root>/commitlog`, so that a file setting only the root keeps
    /// the CommitLog under it; one set elsewhere stays.
    pub fn move_root(&mut self, root: PathBuf) {
        if self.store_path_commit_log == self.store_path_root_dir.join("commitlog") {
            self.store_path_commit_log = root.join("commitlog");
        }
        self.store_path_root_dir = root;
    }

    /// Checks the values against each other; the error names the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key, reason: &str| Err(StoreError::Config { key, reason: reason.to_owned() });
        if self.mapped_file_size_commit_log < 4096 {
            return bad("mappedFileSizeCommitLog", "must be at least 4096 bytes");
        }
        if self.mapped_file_size_consume_queue < 20 {
            return bad("mappedFileSizeConsumeQueue", "must hold at least one 20-byte entry");
        }
        if self.max_hash_slot_num == 0 || self.max_index_num < 2 {
            return bad("maxHashSlotNum", "index files need at least one slot and two entries");
        }
        self.delay_levels()?;
        self.delete_hours()?;
        if !(0.0..=1.0).contains(&self.disk_space_warning_level_ratio) {
            return bad("diskSpaceWarningLevelRatio", "must be between 0 and 1");
        }
        if !(0.0..=1.0).contains(&self.disk_space_clean_forcibly_ratio) {
            return bad("diskSpaceCleanForciblyRatio", "must be between 0 and 1");
        }
        if !(10..=60_000).contains(&self.timer_precision_ms) {
            return bad("timerPrecisionMs", "must be between 10 and 60000 ms (the timer wakes once per tick)");
        }
        Ok(())
    }

    /// The delays of levels 1..=n, parsed from `messageDelayLevel`.
    pub fn delay_levels(&self) -> Result<Vec<Duration>> {
        self.message_delay_level
            .split_whitespace()
            .map(|token| {
                let (n, unit) = token.split_at(token.len().saturating_sub(1));
                let secs = match unit {
                    "s" => 1,
                    "m" => 60,
                    "h" => 3600,
                    "d" => 86400,
                    _ => 0,
                };
                match n.parse::<u64>() {
                    Ok(n) if secs > 0 => Ok(Duration::from_secs(n * secs)),
                    _ => Err(StoreError::Config {
                        key: "messageDelayLevel",
                        reason: format!("'{token}' is not a number followed by s, m, h or d"),
                    }),
                }
            })
            .collect()
    }

    /// The hours of `deleteWhen`.
    pub fn delete_hours(&self) -> Result<Vec<u32>> {
        self.delete_when
            .split(';')
            .filter(|h| !h.trim().is_empty())
            .map(|h| match h.trim().parse::<u32>() {
                Ok(h) if h < 24 => Ok(h),
                _ => Err(StoreError::Config { key: "deleteWhen", reason: format!("'{h}' is not an hour 0-23") }),
            })
            .collect()
    }

    /// Consume-queue file size rounded down to whole 20-byte entries.
    pub(crate) fn cq_file_size(&self) -> u64 {
        self.mapped_file_size_consume_queue / 20 * 20
    }

    pub(crate) fn consume_queue_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("consumequeue")
    }

    pub(crate) fn index_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("index")
    }

    /// `<root>/config`, where the broker's JSON tables live.
    pub fn config_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("config")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_model::config::Applied;

    #[test]
    fn defaults_and_keys() {
        let mut c = StoreConfig::new("/tmp/x");
        assert_eq!(c.store_path_commit_log, PathBuf::from("/tmp/x/commitlog"));
        assert_eq!(c.delay_levels().unwrap().len(), 18);
        assert_eq!(c.delay_levels().unwrap()[17], Duration::from_secs(7200));
        assert_eq!(c.apply("storePathRootDir", "/data"), Ok(Applied::Set));
        assert_eq!(c.store_path_commit_log, PathBuf::from("/data/commitlog"));
        assert_eq!(c.apply("flushDiskType", "SYNC_FLUSH"), Ok(Applied::Set));
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        assert_eq!(c.apply("noSuchKey", "1"), Ok(Applied::Unknown));
        let err = c.apply("fileReservedTime", "x").unwrap_err();
        assert!(err.to_string().contains("fileReservedTime"), "{err}");
        c.delete_when = "04;25".into();
        assert!(c.validate().unwrap_err().to_string().contains("deleteWhen"));
        c.delete_when = "04;05".into();
        c.validate().unwrap();
        c.message_delay_level = "1s 5x".into();
        assert!(c.validate().unwrap_err().to_string().contains("5x"));
    }

    #[test]
    fn an_explicit_commitlog_directory_stays_when_the_root_moves() {
        let mut c = StoreConfig::new("/tmp/x");
        c.apply("storePathCommitLog", "/fast/commitlog").unwrap();
        c.apply("storePathRootDir", "/data").unwrap();
        assert_eq!(c.store_path_commit_log, PathBuf::from("/fast/commitlog"));
        assert_eq!(c.store_path_root_dir, PathBuf::from("/data"));
        // Set to what the root implies, it counts as not set, as before.
        c.apply("storePathCommitLog", "/data/commitlog").unwrap();
        c.apply("storePathRootDir", "/other").unwrap();
        assert_eq!(c.store_path_commit_log, PathBuf::from("/other/commitlog"));
    }

    #[test]
    fn booleans_ignore_case_and_aliases_reach_their_field() {
        let mut c = StoreConfig::new("/tmp/x");
        c.apply("messageIndexEnable", "FALSE").unwrap();
        c.apply("checkCRCOnRecover", "False").unwrap();
        c.apply("cleanFileForciblyEnable", "TRUE").unwrap();
        assert!(!c.message_index_enable && !c.check_crc_on_recover && c.clean_file_forcibly_enable);
        c.apply("rocketmq.broker.diskSpaceWarningLevelRatio", "0.5").unwrap();
        c.apply("diskSpaceCleanForciblyRatio", "0.4").unwrap();
        assert_eq!((c.disk_space_warning_level_ratio, c.disk_space_clean_forcibly_ratio), (0.5, 0.4));
        assert_eq!(c.apply("messageIndexSafe", "yes").unwrap_err().key, "messageIndexSafe");
    }

    #[test]
    fn every_key_is_printed_and_the_store_host_is_not_a_key() {
        let c = StoreConfig::new("/tmp/x");
        let entries = c.entries();
        assert_eq!(entries.len(), StoreConfig::KEYS.len());
        assert_eq!(entries[0], ("brokerRole", "ASYNC_MASTER".to_owned()));
        assert_eq!(entries[2], ("storePathRootDir", "/tmp/x".to_owned()));
        assert!(entries.contains(&("diskSpaceWarningLevelRatio", "0.9".to_owned())));
        assert!(!StoreConfig::knows("storeHost"));
    }
}
