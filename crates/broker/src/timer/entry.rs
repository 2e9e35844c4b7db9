//! One timer-log entry: a parked message, the slot it waits in, and the link
//! to the entry that waited in the same slot before it.
//!
//! Layout (48 bytes, big-endian like RocketMQ's files):
//!
//! | bytes | field          | meaning                                              |
//! |-------|----------------|------------------------------------------------------|
//! | 0..8  | `slot_tick`    | the tick whose slot links this entry                 |
//! | 8..16 | `deliver_ms`   | the message's `TIMER_OUT_MS`                         |
//! | 16..24| `offset`       | CommitLog offset of the parked message               |
//! | 24..28| `size`         | its size in bytes                                    |
//! | 28..32| magic          | [`ENTRY_MAGIC`], or [`RECALL_MAGIC`] for a recall marker; zeros are not an entry |
//! | 32..40| `prev`         | log position of the previous entry of the slot, + 1; 0 = none |
//! | 40..48| `enqueue_ms`   | when the message entered the timer (`TIMER_ENQUEUE_MS`) |
//!
//! `slot_tick` differs from `deliver_ms / precision` only for a message due
//! beyond the wheel's window: it waits in the window's last slot and is
//! appended again, nearer its time, when that slot comes round.

/// Bytes of one entry.
pub(crate) const ENTRY_SIZE: u64 = 48;
/// Marks a written entry; a torn or never-written one reads as zeros.
pub(crate) const ENTRY_MAGIC: u32 = 0x5449_4D31; // "TIM1"
/// Marks a written entry whose message is a recall marker
/// (`TIMER_DEL_UNIQKEY`): recovery finds the markers among the pending
/// entries without reading every parked message, and delivery skips them.
pub(crate) const RECALL_MAGIC: u32 = 0x5449_4D52; // "TIMR"

/// Where an entry lives in the timer log: its byte position from the log's
/// very first entry (file names are such positions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct LogPos(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub slot_tick: i64,
    pub deliver_ms: i64,
    pub offset: u64,
    pub size: u32,
    pub prev: Option<LogPos>,
    pub enqueue_ms: i64,
    /// A recall marker, never delivered itself.
    pub recall: bool,
}

impl Entry {
    pub(crate) fn encode(&self) -> [u8; ENTRY_SIZE as usize] {
        let mut out = [0u8; ENTRY_SIZE as usize];
        out[0..8].copy_from_slice(&self.slot_tick.to_be_bytes());
        out[8..16].copy_from_slice(&self.deliver_ms.to_be_bytes());
        out[16..24].copy_from_slice(&self.offset.to_be_bytes());
        out[24..28].copy_from_slice(&self.size.to_be_bytes());
        let magic = if self.recall { RECALL_MAGIC } else { ENTRY_MAGIC };
        out[28..32].copy_from_slice(&magic.to_be_bytes());
        let prev = self.prev.map_or(0, |p| p.0 + 1);
        out[32..40].copy_from_slice(&prev.to_be_bytes());
        out[40..48].copy_from_slice(&self.enqueue_ms.to_be_bytes());
        out
    }

    /// `None` when the bytes are not a written entry (wrong magic).
    pub(crate) fn decode(b: &[u8]) -> Option<Entry> {
        let u64_at = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if b.len() < ENTRY_SIZE as usize {
            return None;
        }
        let recall = match u32::from_be_bytes(b[28..32].try_into().expect("4 bytes")) {
            ENTRY_MAGIC => false,
            RECALL_MAGIC => true,
            _ => return None,
        };
        let prev = u64_at(32);
        Some(Entry {
            slot_tick: u64_at(0) as i64,
            deliver_ms: u64_at(8) as i64,
            offset: u64_at(16),
            size: u32::from_be_bytes(b[24..28].try_into().expect("4 bytes")),
            prev: prev.checked_sub(1).map(LogPos),
            enqueue_ms: u64_at(40) as i64,
            recall,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_zeros() {
        let e = Entry {
            slot_tick: 1_700_000_000,
            deliver_ms: 1_700_000_000_000,
            offset: 1 << 40,
            size: 321,
            prev: Some(LogPos(0)),
            enqueue_ms: 42,
            recall: false,
        };
        let bytes = e.encode();
        assert_eq!(&bytes[28..32], b"TIM1");
        assert_eq!(&bytes[32..40], &1u64.to_be_bytes(), "prev is stored + 1 so that 0 means none");
        assert_eq!(Entry::decode(&bytes), Some(e));
        assert_eq!(Entry::decode(&Entry { prev: None, ..e }.encode()).unwrap().prev, None);
        assert_eq!(Entry::decode(&[0u8; 48]), None);
        let marker = Entry { recall: true, ..e }.encode();
        assert_eq!(&marker[28..32], b"TIMR");
        assert_eq!(Entry::decode(&marker), Some(Entry { recall: true, ..e }));
    }
}
