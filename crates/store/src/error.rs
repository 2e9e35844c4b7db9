//! The store's one error type, and the RocketMQ statuses it maps to.

use std::io;
use std::path::PathBuf;

use rmq_model::record::RecordError;

/// `Result` of the store layer.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why the store refuses writes although it is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    ShutDown,
    /// Disk use passed `diskSpaceWarningLevelRatio`; reads still work.
    DiskFull,
    /// A slave: only replicated bytes may be appended.
    ReadOnly,
    /// A CommitLog flush failed. After a failed fsync the kernel may have
    /// dropped the pages it could not write and a later fsync can succeed
    /// without them, so no write after it could be promised durable: the
    /// store takes no more puts until a restart recovers it from the disk.
    FlushFailed,
    /// The store's [`crate::WriteLease`] has lapsed.
    LeaseLapsed,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unavailable::ShutDown => "the store is shut down",
            Unavailable::DiskFull => "the disk is full",
            Unavailable::ReadOnly => "the store is read-only (slave)",
            Unavailable::LeaseLapsed => {
                "master lease lapsed: this master has not been confirmed lately, so another may have been elected"
            }
            Unavailable::FlushFailed => {
                "a CommitLog flush to disk failed, so nothing written can be promised durable; restart the broker once the disk is repaired"
            }
        })
    }
}

/// Everything that can go wrong in the store. Errors about files name the file
/// and, where it matters, the byte offset in it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("message illegal: {0}")]
    MessageIllegal(String),
    #[error("properties of {len} bytes are longer than 32767")]
    PropertiesSizeExceeded { len: usize },
    #[error("service not available: {0}")]
    ServiceNotAvailable(Unavailable),
    #[error("cannot create mapped file {path}: {source}")]
    CreateMappedFileFailed { path: PathBuf, source: io::Error },
    #[error("flush to disk did not complete within {timeout_ms} ms")]
    FlushDiskTimeout { timeout_ms: u64 },
    /// The flush this write waited for failed (or an earlier one did): the
    /// bytes are written but may never reach the disk.
    #[error("the CommitLog flush failed ({reason}); the message was written but may not be on disk")]
    FlushFailed { reason: String },
    #[error("{path}: {op}: {source}")]
    Io { path: PathBuf, op: &'static str, source: io::Error },
    #[error("{path} at file offset {offset}: {source}")]
    Corrupt { path: PathBuf, offset: u64, source: RecordError },
    #[error("{path}: {reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error("{path} is locked by another process: Lock failed,MQ already started")]
    Locked { path: PathBuf },
    #[error("store directory {path} is not writable: {source}")]
    NotWritable { path: PathBuf, source: io::Error },
    #[error("config key {key}: {reason}")]
    Config { key: &'static str, reason: String },
    #[error("{0}")]
    Json(String),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: io::Error) -> StoreError {
        StoreError::Io { path: path.into(), op, source }
    }

    pub(crate) fn bad_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> StoreError {
        StoreError::BadFile { path: path.into(), reason: reason.into() }
    }

    /// The RocketMQ `PutMessageStatus` this error answers a put with.
    pub fn put_status(&self) -> PutMessageStatus {
        match self {
            StoreError::MessageIllegal(_) => PutMessageStatus::MessageIllegal,
            StoreError::PropertiesSizeExceeded { .. } => PutMessageStatus::PropertiesSizeExceeded,
            StoreError::ServiceNotAvailable(_) => PutMessageStatus::ServiceNotAvailable,
            StoreError::CreateMappedFileFailed { .. } => PutMessageStatus::CreateMappedFileFailed,
            // Java answers a flush that did not succeed as a timeout: the
            // message is stored, but not durably.
            StoreError::FlushDiskTimeout { .. } | StoreError::FlushFailed { .. } => PutMessageStatus::FlushDiskTimeout,
            _ => PutMessageStatus::UnknownError,
        }
    }
}

/// RocketMQ's `PutMessageStatus`, the name the broker turns into a response code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PutMessageStatus {
    PutOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
    ServiceNotAvailable,
    CreateMappedFileFailed,
    MessageIllegal,
    PropertiesSizeExceeded,
    OsPageCacheBusy,
    UnknownError,
}

impl PutMessageStatus {
    /// Java's enum name, used as the response remark.
    pub fn as_str(self) -> &'static str {
        match self {
            PutMessageStatus::PutOk => "PUT_OK",
            PutMessageStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            PutMessageStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            PutMessageStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
            PutMessageStatus::ServiceNotAvailable => "SERVICE_NOT_AVAILABLE",
            PutMessageStatus::CreateMappedFileFailed => "CREATE_MAPEDFILE_FAILED",
            PutMessageStatus::MessageIllegal => "MESSAGE_ILLEGAL",
            PutMessageStatus::PropertiesSizeExceeded => "PROPERTIES_SIZE_EXCEEDED",
            PutMessageStatus::OsPageCacheBusy => "OS_PAGECACHE_BUSY",
            PutMessageStatus::UnknownError => "UNKNOWN_ERROR",
        }
    }
}

impl From<RecordError> for StoreError {
    fn from(e: RecordError) -> StoreError {
        match e {
            RecordError::PropertiesTooLong { len } => StoreError::PropertiesSizeExceeded { len },
            other => StoreError::MessageIllegal(other.to_string()),
        }
    }
}
