//! [`Ledger`]: which transactions are settled, derived from the op queue.
//!
//! Invariants, with P the checker's half progress:
//! * every half message at a queue offset ≥ P has an origin ≥ `live_low`
//!   (copies are only made of messages ≥ P, new half messages land at ≥ P);
//! * a transaction whose origin is < `live_low` has no half message left
//!   for the checker: it was settled, given up or is being settled now, so
//!   its entry can be retired and a late END_TRANSACTION for it refused;
//! * op progress only passes op messages of retired transactions, so a
//!   restart rebuilds the same ledger from the op queue.

use rmq_model::QueueOffset;
use rmq_model::properties::keys;
use rmq_model::record;
use rmq_model::topic::{TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC};
use rmq_store::{AcceptAll, GetMessageStatus, MessageStore};
use std::collections::BTreeMap;

use super::{HALF_QUEUE, Progress, origin_at, origin_of};

/// Records read from a queue per store call.
const BATCH: u32 = 256;

#[derive(Debug, Default)]
pub(crate) struct Ledger {
    loaded: bool,
    /// Origin → queue offset of the op message that settled it.
    settled: BTreeMap<i64, i64>,
    /// Op queue offset → the origin it settled (`None`: unreadable op).
    ops: BTreeMap<i64, Option<i64>>,
    /// Op messages below this offset are in `ops`.
    op_read: i64,
    /// Lowest origin among half messages at or after `progress.half`.
    live_low: i64,
    progress: Progress,
}

impl Ledger {
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// Builds the ledger from the op queue (from the op progress on) and the
    /// half queue (from the half progress on).
    pub fn load(&mut self, progress: &Progress, store: &MessageStore) {
        *self = Ledger { loaded: true, op_read: progress.op, progress: *progress, ..Ledger::default() };
        self.sync_ops(store);
        self.live_low = live_low(store, progress.half);
        tracing::info!(
            "transaction ledger loaded: half progress {}, op progress {}, {} settled, lowest live origin {}",
            progress.half,
            progress.op,
            self.settled.len(),
            self.live_low
        );
    }

    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Reads op messages dispatched since the last read.
    pub fn sync_ops(&mut self, store: &MessageStore) {
        loop {
            let got = store.get_messages(
                TRANS_OP_HALF_TOPIC,
                HALF_QUEUE,
                QueueOffset(self.op_read as u64),
                BATCH,
                &AcceptAll,
            );
            match got.status {
                GetMessageStatus::Found => {}
                GetMessageStatus::OffsetTooSmall | GetMessageStatus::NoMatchedMessage => {
                    if got.next_begin_offset.as_i64() <= self.op_read {
                        return;
                    }
                    self.op_read = got.next_begin_offset.as_i64();
                    continue;
                }
                _ => return,
            }
            for (stored, offset) in got.messages.iter().zip(&got.queue_offsets) {
                let origin = record::decode_message(stored, false).ok().and_then(|view| {
                    let half: i64 = std::str::from_utf8(view.body).ok()?.trim().parse().ok()?;
                    let noted = view
                        .property(keys::TRANSACTION_PREPARED_QUEUE_OFFSET)
                        .and_then(|v| std::str::from_utf8(v).ok()?.parse::<i64>().ok());
                    Some(noted.or_else(|| origin_at(store, half)).unwrap_or(half))
                });
                self.note(origin, offset.as_i64());
            }
            if got.next_begin_offset.as_i64() <= self.op_read {
                return;
            }
            self.op_read = got.next_begin_offset.as_i64();
        }
    }

    /// Records an op message (just written, or read back).
    pub fn note(&mut self, origin: Option<i64>, op_offset: i64) {
        self.ops.insert(op_offset, origin);
        if let Some(origin) = origin {
            self.settled.entry(origin).or_insert(op_offset);
        }
    }

    pub fn is_settled(&self, origin: i64) -> bool {
        self.settled.contains_key(&origin)
    }

    /// Whether a transaction is over for the checker: its half message at
    /// `offset` was passed and no copy of it is waiting.
    pub fn is_finished(&self, offset: i64, origin: i64) -> bool {
        offset < self.progress.half && origin < self.live_low
    }

    /// After a check round reached `half`: recomputes the lowest live
    /// origin, retires what is settled below it and moves the op progress
    /// over their op messages.
    pub fn advance(&mut self, half: i64, store: &MessageStore) -> Progress {
        let low = live_low(store, half);
        self.retire(half, low)
    }

    /// [`Ledger::advance`] once the lowest live origin is known.
    fn retire(&mut self, half: i64, low: i64) -> Progress {
        self.live_low = low;
        self.settled.retain(|origin, _| *origin >= low);
        let mut op = self.progress.op;
        while op < self.op_read {
            match self.ops.get(&op) {
                Some(Some(origin)) if *origin >= low => break,
                _ => op += 1,
            }
        }
        self.ops.retain(|offset, _| *offset >= op);
        self.progress = Progress { half, op };
        self.progress
    }
}

/// The lowest origin of the half messages from `from` to the end of the
/// queue, or `from` when there are none.
fn live_low(store: &MessageStore, from: i64) -> i64 {
    let mut low = from;
    let mut at = from;
    loop {
        let got = store.get_messages(TRANS_HALF_TOPIC, HALF_QUEUE, QueueOffset(at.max(0) as u64), BATCH, &AcceptAll);
        if got.status != GetMessageStatus::Found {
            if matches!(got.status, GetMessageStatus::NoMatchedMessage | GetMessageStatus::OffsetTooSmall)
                && got.next_begin_offset.as_i64() > at
            {
                at = got.next_begin_offset.as_i64();
                continue;
            }
            return low;
        }
        for stored in &got.messages {
            if let Ok(view) = record::decode_message(stored, false) {
                low = low.min(origin_of(&view));
            }
        }
        if got.next_begin_offset.as_i64() <= at {
            return low;
        }
        at = got.next_begin_offset.as_i64();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_and_retirement() {
        let mut l = Ledger { loaded: true, op_read: 3, ..Ledger::default() };
        l.note(Some(5), 0);
        l.note(None, 1);
        l.note(Some(9), 2);
        l.note(Some(5), 3);
        assert!(l.is_settled(5));
        assert!(l.is_settled(9));
        assert!(!l.is_settled(7));
        // Retire below 6: op 0 (origin 5) and op 1 (unreadable) pass; op 2
        // (origin 9) stays, and with it op 3.
        assert_eq!(l.retire(10, 6), Progress { half: 10, op: 2 });
        assert!(!l.is_settled(5));
        assert!(l.is_settled(9));
        assert!(l.is_finished(4, 5));
        assert!(!l.is_finished(4, 6), "a copy of origin 6 may still wait");
        assert!(!l.is_finished(10, 5), "not yet passed by the checker");
    }
}
