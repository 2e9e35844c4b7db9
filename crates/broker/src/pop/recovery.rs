//! Rebuilding the ledger at startup: each revive queue is read from the
//! revive group's offset (the oldest checkpoint live when it was last
//! recorded) to its end, applying checkpoints and acks in order. A pop whose
//! offset commit was lost in a crash is found again here: the group's
//! position moves past every replayed checkpoint, so its messages are not
//! popped twice.

use rmq_model::QueueOffset;
use rmq_store::AcceptAll;

use super::ledger::{Checkpoint, CkKey};
use super::order::OrderState;
use super::records::ReviveRecord;
use super::{PopEngine, REVIVE_GROUP};

/// Records read per store lookup.
const BATCH: u32 = 256;

impl PopEngine {
    /// Replays the revive log; returns the number of live checkpoints.
    pub(crate) fn recover(&self) -> usize {
        for qid in 0..self.revive_queues {
            let from = self
                .offsets
                .query(REVIVE_GROUP, &self.revive_topic, qid)
                .unwrap_or(0)
                .max(self.min_offset(&self.revive_topic, qid));
            self.replay_queue(qid, from);
        }
        self.record_progress();
        self.ledger().len()
    }

    fn replay_queue(&self, qid: i32, mut offset: i64) {
        let end = self.max_offset(&self.revive_topic, qid);
        while offset < end {
            let got = self.store.get_messages(&self.revive_topic, qid, QueueOffset(offset as u64), BATCH, &AcceptAll);
            if got.messages.is_empty() {
                break;
            }
            for (stored, at) in got.messages.iter().zip(&got.queue_offsets) {
                if let Some(record) = ReviveRecord::decode(stored) {
                    self.apply(record, qid, at.as_i64());
                }
            }
            offset = got.next_begin_offset.as_i64().max(offset + 1);
        }
    }

    fn apply(&self, record: ReviveRecord, qid: i32, log_offset: i64) {
        match record {
            ReviveRecord::Checkpoint(ck) => {
                let offsets: Vec<i64> =
                    ck.queue_offset_diff.iter().filter_map(|d| ck.start_offset.checked_add(*d)).collect();
                let Some(last) = offsets.last().copied() else { return };
                let key = CkKey {
                    group: ck.cid,
                    topic: ck.topic,
                    queue_id: ck.queue_id,
                    start_offset: ck.start_offset,
                    pop_time: ck.pop_time,
                };
                let position = self.offsets.query(&key.group, &key.topic, key.queue_id).unwrap_or(-1);
                if position <= last {
                    self.offsets.commit(&key.group, &key.topic, key.queue_id, last + 1);
                }
                let live =
                    Checkpoint { invisible_time: ck.invisible_time, revive_qid: qid, offsets, acked: 0, log_offset };
                self.ledger().add(key, live);
            }
            ReviveRecord::Ack(ack) => {
                for offset in ack.offsets() {
                    let key = CkKey {
                        group: ack.consumer_group.clone(),
                        topic: ack.topic.clone(),
                        queue_id: ack.queue_id,
                        start_offset: ack.start_offset,
                        pop_time: ack.pop_time,
                    };
                    self.ledger().ack(&key, offset);
                }
            }
            ReviveRecord::OrderAck(o) => {
                let position = self.offsets.query(&o.consumer_group, &o.topic, o.queue_id).unwrap_or(-1);
                if position < o.next {
                    self.offsets.commit(&o.consumer_group, &o.topic, o.queue_id, o.next);
                }
                // The queue's state after the change the record logs; the last one wins.
                if o.pop_time != 0 && o.offsets.len() <= 64 {
                    let key = (o.consumer_group, o.topic, o.queue_id);
                    let state = OrderState {
                        pop_time: o.pop_time,
                        invisible_until: o.invisible_until,
                        offsets: o.offsets,
                        acked: o.acked,
                        deliveries: o.delivered_offsets.into_iter().zip(o.delivered_counts).collect(),
                    };
                    self.order().restore(&key, state, log_offset);
                }
            }
        }
    }
}
