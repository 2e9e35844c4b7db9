//! The store's configuration: RocketMQ's `MessageStoreConfig` keys that this
//! store implements, with Java's defaults, and nothing else.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use rmq_model::{BrokerRole, FlushDiskType};

use crate::error::{Result, StoreError};

/// Settings of one store directory. Build with [`StoreConfig::new`] (Java's
/// defaults under a root directory), change fields, then open the store, which
/// calls [`StoreConfig::validate`].
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `storePathRootDir`: holds checkpoint, abort, lock, consumequeue/, index/
    /// and config/. Default `${user.home}/store`.
    pub store_path_root_dir: PathBuf,
    /// `storePathCommitLog`: the CommitLog directory. Default `<root>/commitlog`.
    pub store_path_commit_log: PathBuf,
    /// `mappedFileSizeCommitLog`, bytes per CommitLog file. Default 1 GiB. Every
    /// existing file must have this size; a record never spans two files.
    pub mapped_file_size_commit_log: u64,
    /// `mappedFileSizeConsumeQueue`, bytes per consume-queue file; rounded down to
    /// a multiple of 20. Default 6,000,000 (300,000 entries).
    pub mapped_file_size_consume_queue: u64,
    /// `flushDiskType`: ASYNC_FLUSH (background) or SYNC_FLUSH (puts wait for
    /// the group commit). Default ASYNC_FLUSH.
    pub flush_disk_type: FlushDiskType,
    /// `brokerRole`: a SLAVE refuses puts and only takes replicated bytes.
    pub broker_role: BrokerRole,
    /// `flushIntervalCommitLog`, ms between background CommitLog flushes. Default 500.
    pub flush_interval_commit_log: u64,
    /// `flushCommitLogLeastPages`: a background flush waits for this many dirty
    /// 4 KiB pages (0 = flush whatever is dirty). Default 4.
    pub flush_commit_log_least_pages: u64,
    /// `flushCommitLogThoroughInterval`, ms after which a flush ignores the page
    /// minimum. Default 10000.
    pub flush_commit_log_thorough_interval: u64,
    /// `flushIntervalConsumeQueue`, ms between consume-queue and index flushes
    /// (each followed by a checkpoint write). Default 1000.
    pub flush_interval_consume_queue: u64,
    /// `flushConsumeQueueLeastPages`: dirty pages a consume queue needs before a
    /// periodic flush. Default 2.
    pub flush_consume_queue_least_pages: u64,
    /// `flushConsumeQueueThoroughInterval`, ms after which every dirty queue is
    /// flushed regardless of pages. Default 60000.
    pub flush_consume_queue_thorough_interval: u64,
    /// `syncFlushTimeout`, ms a SYNC_FLUSH put may wait before it is answered
    /// FLUSH_DISK_TIMEOUT. Default 5000.
    pub sync_flush_timeout: u64,
    /// `maxMessageSize`: largest body in bytes. Default 4 MiB.
    pub max_message_size: usize,
    /// `messageDelayLevel`: space-separated delays (`1s 5m 2h 1d`) of levels 1..n.
    pub message_delay_level: String,
    /// `messageIndexEnable`: build the key index. Default true.
    pub message_index_enable: bool,
    /// `messageIndexSafe`: abnormal recovery also starts early enough for the
    /// index. Default false.
    pub message_index_safe: bool,
    /// `maxHashSlotNum`: hash slots per index file. Default 5,000,000.
    pub max_hash_slot_num: u32,
    /// `maxIndexNum`: entries per index file. Default 20,000,000.
    pub max_index_num: u32,
    /// `checkCRCOnRecover`: verify body CRCs while recovering. Default true.
    pub check_crc_on_recover: bool,
    /// `fileReservedTime`, hours a CommitLog file is kept after its last write. Default 72.
    pub file_reserved_time: u64,
    /// `deleteWhen`: `;`-separated hours of the day when expired files are deleted. Default "04".
    pub delete_when: String,
    /// `diskMaxUsedSpaceRatio`, percent: above it expired files are deleted at
    /// any hour. Default 75.
    pub disk_max_used_space_ratio: u32,
    /// `cleanFileForciblyEnable`: above `disk_space_clean_forcibly_ratio`, delete
    /// the oldest files even if unexpired. Default true.
    pub clean_file_forcibly_enable: bool,
    /// `rocketmq.broker.diskSpaceWarningLevelRatio` (0..1): above it puts fail
    /// with SERVICE_NOT_AVAILABLE. Default 0.90.
    pub disk_space_warning_level_ratio: f64,
    /// `rocketmq.broker.diskSpaceCleanForciblyRatio` (0..1). Default 0.85.
    pub disk_space_clean_forcibly_ratio: f64,
    /// `cleanResourceInterval`, ms between retention checks. Default 10000.
    pub clean_resource_interval: u64,
    /// `deleteCommitLogFilesInterval`, ms paused between two file deletions. Default 100.
    pub delete_commit_log_files_interval: u64,
    /// `osPageCacheBusyTimeOutMills`: a put lock held longer marks the page cache busy. Default 1000.
    pub os_page_cache_busy_timeout_mills: u64,
    /// `maxTransferBytesOnMessageInMemory`: pull byte cap for hot data. Default 262144.
    pub max_transfer_bytes_on_message_in_memory: u64,
    /// `maxTransferCountOnMessageInMemory`: pull count cap for hot data. Default 32.
    pub max_transfer_count_on_message_in_memory: u64,
    /// `maxTransferBytesOnMessageInDisk`: pull byte cap for cold data. Default 65536.
    pub max_transfer_bytes_on_message_in_disk: u64,
    /// `maxTransferCountOnMessageInDisk`: pull count cap for cold data. Default 8.
    pub max_transfer_count_on_message_in_disk: u64,
    /// `accessMessageInMemoryMaxRatio`, percent of RAM behind the CommitLog end
    /// that counts as "in memory". Default 40.
    pub access_message_in_memory_max_ratio: u64,
    /// Store host written into records and msgIds: `brokerIP1:listenPort`.
    pub store_host: SocketAddr,
}

impl StoreConfig {
    /// Java's defaults with everything under `root`.
    pub fn new(root: impl Into<PathBuf>) -> StoreConfig {
        let root = root.into();
        StoreConfig {
            store_path_commit_log: root.join("commitlog"),
            store_path_root_dir: root,
            mapped_file_size_commit_log: 1 << 30,
            mapped_file_size_consume_queue: 300_000 * 20,
            flush_disk_type: FlushDiskType::AsyncFlush,
            broker_role: BrokerRole::AsyncMaster,
            flush_interval_commit_log: 500,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval: 10_000,
            flush_interval_consume_queue: 1000,
            flush_consume_queue_least_pages: 2,
            flush_consume_queue_thorough_interval: 60_000,
            sync_flush_timeout: 5000,
            max_message_size: 4 << 20,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h".into(),
            message_index_enable: true,
            message_index_safe: false,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            check_crc_on_recover: true,
            file_reserved_time: 72,
            delete_when: "04".into(),
            disk_max_used_space_ratio: 75,
            clean_file_forcibly_enable: true,
            disk_space_warning_level_ratio: 0.90,
            disk_space_clean_forcibly_ratio: 0.85,
            clean_resource_interval: 10_000,
            delete_commit_log_files_interval: 100,
            os_page_cache_busy_timeout_mills: 1000,
            max_transfer_bytes_on_message_in_memory: 256 * 1024,
            max_transfer_count_on_message_in_memory: 32,
            max_transfer_bytes_on_message_in_disk: 64 * 1024,
            max_transfer_count_on_message_in_disk: 8,
            access_message_in_memory_max_ratio: 40,
            store_host: SocketAddr::from(([127, 0, 0, 1], 10911)),
        }
    }

    /// Sets one field from its RocketMQ property name. Returns `Ok(false)` for
    /// a key the store does not know, so the caller can warn about it by name.
    pub fn apply(&mut self, key: &str, value: &str) -> Result<bool> {
        fn num<T: std::str::FromStr>(key: &'static str, v: &str) -> Result<T> {
            v.trim().parse().map_err(|_| StoreError::Config { key, reason: format!("'{v}' is not a number") })
        }
        fn flag(key: &'static str, v: &str) -> Result<bool> {
            match v.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(StoreError::Config { key, reason: format!("'{v}' is not true or false") }),
            }
        }
        let v = value;
        match key {
            "storePathRootDir" => {
                let old_default = self.store_path_root_dir.join("commitlog");
                self.store_path_root_dir = PathBuf::from(v.trim());
                if self.store_path_commit_log == old_default {
                    self.store_path_commit_log = self.store_path_root_dir.join("commitlog");
                }
            }
            "storePathCommitLog" => self.store_path_commit_log = PathBuf::from(v.trim()),
            "mappedFileSizeCommitLog" => self.mapped_file_size_commit_log = num("mappedFileSizeCommitLog", v)?,
            "mappedFileSizeConsumeQueue" => self.mapped_file_size_consume_queue = num("mappedFileSizeConsumeQueue", v)?,
            "flushDiskType" => {
                self.flush_disk_type = v.trim().parse().map_err(|e: rmq_model::role::UnknownName| {
                    StoreError::Config { key: "flushDiskType", reason: e.to_string() }
                })?
            }
            "brokerRole" => {
                self.broker_role = v.trim().parse().map_err(|e: rmq_model::role::UnknownName| StoreError::Config {
                    key: "brokerRole",
                    reason: e.to_string(),
                })?
            }
            "flushIntervalCommitLog" => self.flush_interval_commit_log = num("flushIntervalCommitLog", v)?,
            "flushCommitLogLeastPages" => self.flush_commit_log_least_pages = num("flushCommitLogLeastPages", v)?,
            "flushCommitLogThoroughInterval" => {
                self.flush_commit_log_thorough_interval = num("flushCommitLogThoroughInterval", v)?
            }
            "flushIntervalConsumeQueue" => self.flush_interval_consume_queue = num("flushIntervalConsumeQueue", v)?,
            "flushConsumeQueueLeastPages" => {
                self.flush_consume_queue_least_pages = num("flushConsumeQueueLeastPages", v)?
            }
            "flushConsumeQueueThoroughInterval" => {
                self.flush_consume_queue_thorough_interval = num("flushConsumeQueueThoroughInterval", v)?
            }
            "syncFlushTimeout" => self.sync_flush_timeout = num("syncFlushTimeout", v)?,
            "maxMessageSize" => self.max_message_size = num("maxMessageSize", v)?,
            "messageDelayLevel" => self.message_delay_level = v.trim().to_owned(),
            "messageIndexEnable" => self.message_index_enable = flag("messageIndexEnable", v)?,
            "messageIndexSafe" => self.message_index_safe = flag("messageIndexSafe", v)?,
            "maxHashSlotNum" => self.max_hash_slot_num = num("maxHashSlotNum", v)?,
            "maxIndexNum" => self.max_index_num = num("maxIndexNum", v)?,
            "checkCRCOnRecover" => self.check_crc_on_recover = flag("checkCRCOnRecover", v)?,
            "fileReservedTime" => self.file_reserved_time = num("fileReservedTime", v)?,
            "deleteWhen" => self.delete_when = v.trim().to_owned(),
            "diskMaxUsedSpaceRatio" => self.disk_max_used_space_ratio = num("diskMaxUsedSpaceRatio", v)?,
            "cleanFileForciblyEnable" => self.clean_file_forcibly_enable = flag("cleanFileForciblyEnable", v)?,
            "diskSpaceWarningLevelRatio" | "rocketmq.broker.diskSpaceWarningLevelRatio" => {
                self.disk_space_warning_level_ratio = num("diskSpaceWarningLevelRatio", v)?
            }
            "diskSpaceCleanForciblyRatio" | "rocketmq.broker.diskSpaceCleanForciblyRatio" => {
                self.disk_space_clean_forcibly_ratio = num("diskSpaceCleanForciblyRatio", v)?
            }
            "cleanResourceInterval" => self.clean_resource_interval = num("cleanResourceInterval", v)?,
            "deleteCommitLogFilesInterval" => {
                self.delete_commit_log_files_interval = num("deleteCommitLogFilesInterval", v)?
            }
            "osPageCacheBusyTimeOutMills" => {
                self.os_page_cache_busy_timeout_mills = num("osPageCacheBusyTimeOutMills", v)?
            }
            "maxTransferBytesOnMessageInMemory" => {
                self.max_transfer_bytes_on_message_in_memory = num("maxTransferBytesOnMessageInMemory", v)?
            }
            "maxTransferCountOnMessageInMemory" => {
                self.max_transfer_count_on_message_in_memory = num("maxTransferCountOnMessageInMemory", v)?
            }
            "maxTransferBytesOnMessageInDisk" => {
                self.max_transfer_bytes_on_message_in_disk = num("maxTransferBytesOnMessageInDisk", v)?
            }
            "maxTransferCountOnMessageInDisk" => {
                self.max_transfer_count_on_message_in_disk = num("maxTransferCountOnMessageInDisk", v)?
            }
            "accessMessageInMemoryMaxRatio" => {
                self.access_message_in_memory_max_ratio = num("accessMessageInMemoryMaxRatio", v)?
            }
            _ => return Ok(false),
        }
        Ok(true)
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

    #[test]
    fn defaults_and_keys() {
        let mut c = StoreConfig::new("/tmp/x");
        assert_eq!(c.store_path_commit_log, PathBuf::from("/tmp/x/commitlog"));
        assert_eq!(c.delay_levels().unwrap().len(), 18);
        assert_eq!(c.delay_levels().unwrap()[17], Duration::from_secs(7200));
        assert!(c.apply("storePathRootDir", "/data").unwrap());
        assert_eq!(c.store_path_commit_log, PathBuf::from("/data/commitlog"));
        assert!(c.apply("flushDiskType", "SYNC_FLUSH").unwrap());
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        assert!(!c.apply("noSuchKey", "1").unwrap());
        let err = c.apply("fileReservedTime", "x").unwrap_err();
        assert!(err.to_string().contains("fileReservedTime"), "{err}");
        c.delete_when = "04;25".into();
        assert!(c.validate().unwrap_err().to_string().contains("deleteWhen"));
        c.delete_when = "04;05".into();
        c.validate().unwrap();
        c.message_delay_level = "1s 5x".into();
        assert!(c.validate().unwrap_err().to_string().contains("5x"));
    }
}
