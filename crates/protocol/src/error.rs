//! Errors of the codec. A frame error means the byte stream can no longer be
//! trusted: the transport closes that connection and no other.

use std::io;

/// Default frame cap, as Java's `com.rocketmq.remoting.frameMaxLength`: 16 MiB
/// for the whole frame including its length prefix.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame length {0} is smaller than the 4-byte header-length word")]
    BadLength(i64),
    #[error("frame of {size} bytes exceeds the {max}-byte limit")]
    TooLarge { size: usize, max: usize },
    #[error("header length {header} exceeds the {available} bytes left in the frame")]
    BadHeaderLength { header: usize, available: usize },
    #[error("unknown serialize type {0} (0 = JSON, 1 = ROCKETMQ)")]
    UnknownSerializeType(u8),
    #[error("unreadable JSON header: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unreadable ROCKETMQ header: {0}")]
    Binary(&'static str),
    #[error("header of {0} bytes does not fit the 24-bit header-length field")]
    HeaderTooLarge(usize),
    #[error(transparent)]
    Io(#[from] io::Error),
}
