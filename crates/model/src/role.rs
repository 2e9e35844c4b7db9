//! A broker's replication role and flush policy (`BrokerRole`, `FlushDiskType`).

use std::fmt;
use std::str::FromStr;

/// What a broker is in its group: a master that replicates asynchronously or
/// synchronously, or a read-only slave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BrokerRole {
    #[default]
    AsyncMaster,
    SyncMaster,
    Slave,
}

impl BrokerRole {
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerRole::AsyncMaster => "ASYNC_MASTER",
            BrokerRole::SyncMaster => "SYNC_MASTER",
            BrokerRole::Slave => "SLAVE",
        }
    }

    pub fn is_master(self) -> bool {
        self != BrokerRole::Slave
    }
}

/// When the CommitLog reaches the disk: in the background, or before the
/// producer is answered (group commit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FlushDiskType {
    #[default]
    AsyncFlush,
    SyncFlush,
}

impl FlushDiskType {
    pub fn as_str(self) -> &'static str {
        match self {
            FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            FlushDiskType::SyncFlush => "SYNC_FLUSH",
        }
    }
}

/// An enum value that is not one of Java's names. Java's `Enum.valueOf` is exact
/// and upper-case, and so are we; the message lists what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not one of {accepted}")]
pub struct UnknownName {
    pub value: String,
    pub accepted: &'static str,
}

impl FromStr for BrokerRole {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<BrokerRole, UnknownName> {
        match s {
            "ASYNC_MASTER" => Ok(BrokerRole::AsyncMaster),
            "SYNC_MASTER" => Ok(BrokerRole::SyncMaster),
            "SLAVE" => Ok(BrokerRole::Slave),
            _ => Err(UnknownName { value: s.to_owned(), accepted: "ASYNC_MASTER, SYNC_MASTER, SLAVE" }),
        }
    }
}

impl FromStr for FlushDiskType {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<FlushDiskType, UnknownName> {
        match s {
            "ASYNC_FLUSH" => Ok(FlushDiskType::AsyncFlush),
            "SYNC_FLUSH" => Ok(FlushDiskType::SyncFlush),
            _ => Err(UnknownName { value: s.to_owned(), accepted: "ASYNC_FLUSH, SYNC_FLUSH" }),
        }
    }
}

impl fmt::Display for BrokerRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for FlushDiskType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in [BrokerRole::AsyncMaster, BrokerRole::SyncMaster, BrokerRole::Slave] {
            assert_eq!(r.as_str().parse::<BrokerRole>(), Ok(r));
        }
        assert!("async_master".parse::<BrokerRole>().is_err());
        assert_eq!("SYNC_FLUSH".parse::<FlushDiskType>(), Ok(FlushDiskType::SyncFlush));
    }
}
