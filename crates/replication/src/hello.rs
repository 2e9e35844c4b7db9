//! rmq's replica hello, an extension for controller mode: a replica names
//! itself to its master before its first report.
//!
//! ```text
//! slave → master   hello: | "RMQR" | version: u8 (1) | flags: u8 | broker id: i64 BE |   14 bytes
//!                  flags: bit 0 syncFromLastFile, bit 1 asyncLearner
//! ```
//!
//! Classic HA tells the master nothing but a connection's address. Java's
//! controller mode replaced it with its own handshake (AutoSwitch HA); rmq
//! keeps the classic stream and adds only this hello, so a master knows
//! which broker each connection is (the in-sync set is then exact, even with
//! several replicas on one host), whether it is an `asyncLearner` (never in
//! the in-sync set, never counted for a SYNC send) and where an empty replica
//! wants to start (`syncFromLastFile`).
//!
//! The hello cannot be mistaken for a classic report: read as one, its first
//! 8 bytes are an offset above 5.9 × 10^18, which no CommitLog reaches. A
//! master therefore accepts both: a connection that starts with a report is a
//! classic slave (4.x, or a Java slave) and is served as before.

use bytes::{Buf, BytesMut};

pub const MAGIC: [u8; 4] = *b"RMQR";
pub const VERSION: u8 = 1;
/// Bytes of a hello.
pub const HELLO_LEN: usize = 14;

const SYNC_FROM_LAST_FILE: u8 = 1;
const ASYNC_LEARNER: u8 = 2;

/// Who a replica is, as it tells its master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaHello {
    /// The id the controller gave this broker.
    pub broker_id: i64,
    /// An empty replica starts at the master's last file, not its first
    /// (`syncFromLastFile`).
    pub sync_from_last_file: bool,
    /// Replicates but never joins the in-sync set (`asyncLearner`).
    pub async_learner: bool,
}

/// The start of a connection's first bytes, as the master reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// Not enough bytes yet to tell.
    Undecided,
    /// A classic slave: its reports start at once.
    Classic,
    /// A hello, consumed from the buffer.
    Hello(ReplicaHello),
}

/// Why a hello was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloError {
    #[error("replica hello of version {0}, this master understands version {VERSION}")]
    Version(u8),
    #[error("replica hello with unknown flags {0:#04x}")]
    Flags(u8),
}

impl ReplicaHello {
    pub fn encode(&self) -> [u8; HELLO_LEN] {
        let mut flags = 0;
        if self.sync_from_last_file {
            flags |= SYNC_FROM_LAST_FILE;
        }
        if self.async_learner {
            flags |= ASYNC_LEARNER;
        }
        let mut hello = [0u8; HELLO_LEN];
        hello[..4].copy_from_slice(&MAGIC);
        hello[4] = VERSION;
        hello[5] = flags;
        hello[6..].copy_from_slice(&self.broker_id.to_be_bytes());
        hello
    }
}

/// Reads a connection's opening from `src`: a hello is consumed, a classic
/// report left for the report decoder.
pub fn read_opening(src: &mut BytesMut) -> Result<Opening, HelloError> {
    let seen = src.len().min(MAGIC.len());
    if src[..seen] != MAGIC[..seen] {
        return Ok(Opening::Classic);
    }
    if src.len() < HELLO_LEN {
        return Ok(Opening::Undecided);
    }
    let mut hello = src.split_to(HELLO_LEN);
    hello.advance(MAGIC.len());
    let version = hello.get_u8();
    if version != VERSION {
        return Err(HelloError::Version(version));
    }
    let flags = hello.get_u8();
    if flags & !(SYNC_FROM_LAST_FILE | ASYNC_LEARNER) != 0 {
        return Err(HelloError::Flags(flags));
    }
    Ok(Opening::Hello(ReplicaHello {
        broker_id: hello.get_i64(),
        sync_from_last_file: flags & SYNC_FROM_LAST_FILE != 0,
        async_learner: flags & ASYNC_LEARNER != 0,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;
    use rmq_model::PhysicalOffset;

    #[test]
    fn a_hello_round_trips_and_leaves_the_report_after_it() {
        let hello = ReplicaHello { broker_id: 3, sync_from_last_file: true, async_learner: false };
        let mut wire = BytesMut::from(&hello.encode()[..]);
        codec::encode_report(PhysicalOffset(4096), &mut wire);
        assert_eq!(read_opening(&mut wire), Ok(Opening::Hello(hello)));
        assert_eq!(codec::decode_reports(&mut wire), Ok(Some(PhysicalOffset(4096))));
    }

    #[test]
    fn a_classic_report_is_told_apart_by_its_first_byte() {
        let mut wire = BytesMut::new();
        codec::encode_report(PhysicalOffset(u64::from(u32::MAX)), &mut wire);
        assert_eq!(read_opening(&mut wire), Ok(Opening::Classic));
        assert_eq!(wire.len(), codec::REPORT_LEN, "nothing consumed");
    }

    #[test]
    fn a_partial_hello_waits_and_a_bad_one_is_refused() {
        let hello = ReplicaHello { broker_id: 2, sync_from_last_file: false, async_learner: true }.encode();
        for cut in 0..HELLO_LEN {
            let mut wire = BytesMut::from(&hello[..cut]);
            assert_eq!(read_opening(&mut wire), Ok(Opening::Undecided), "{cut} bytes");
        }
        let mut newer = hello;
        newer[4] = 2;
        assert_eq!(read_opening(&mut BytesMut::from(&newer[..])), Err(HelloError::Version(2)));
        let mut odd = hello;
        odd[5] = 0x80;
        assert_eq!(read_opening(&mut BytesMut::from(&odd[..])), Err(HelloError::Flags(0x80)));
    }
}
