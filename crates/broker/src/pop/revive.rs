//! Bringing back what was not acked in time: when a checkpoint falls due,
//! each unacked message is stored again in the group's POP retry topic
//! (`%RETRY%<group>_<topic>`, queue 0) with `reconsumeTimes + 1` and
//! `1ST_POP_TIME`, or in `%DLQ%<group>` once it was delivered
//! `1 + retryMaxTimes` times; then a batch ack marks the checkpoint done in
//! the revive log. Only masters revive.

use rmq_model::properties::keys;
use rmq_model::record::{self, NewMessage};
use rmq_model::{QueueOffset, perm};
use rmq_protocol::receipt::{RetryFlag, pop_retry_topic};
use rmq_remoting::CancellationToken;
use rmq_store::AcceptAll;
use std::sync::Arc;
use std::time::Duration;

use super::PopEngine;
use super::ledger::{Checkpoint, CkKey};
use super::records::{AckRecord, ReviveRecord};
use crate::now_ms;

/// Longest sleep between looks at the ledger.
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// How often the revive group's offsets (the replay start) are moved on.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

impl PopEngine {
    /// Rebuilds the ledger from the revive log, then revives due checkpoints
    /// until `stop`. Runs on masters; the broker serves while it replays, and
    /// POP requests wait for the replay ([`PopEngine::ready`]).
    pub(crate) async fn run_revive(self: Arc<Self>, store: Arc<rmq_store::MessageStore>, stop: CancellationToken) {
        let engine = self.clone();
        let replay = tokio::task::spawn_blocking(move || {
            // The dispatcher must have caught up for the revive queues to be read whole.
            let end = store.max_physical_offset();
            while !store.wait_dispatched(end, Duration::from_secs(60)) {
                tracing::warn!("POP: waiting for the dispatcher to reach {} before replaying the revive log", end.0);
            }
            engine.recover()
        });
        let replayed = match replay.await {
            Ok(live) => {
                if live > 0 {
                    tracing::info!("POP: {live} checkpoints in flight recovered from the revive log");
                }
                true
            }
            Err(e) => {
                // Serve, but never move the replay start: the next start replays again.
                tracing::error!(
                    "POP: replay of the revive log failed: {e}; in-flight messages come back after a restart"
                );
                false
            }
        };
        self.set_ready();
        let mut last_progress = tokio::time::Instant::now();
        loop {
            let woken = self.revive_wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            self.revive_due(now_ms());
            if replayed && last_progress.elapsed() >= PROGRESS_EVERY {
                self.record_progress();
                last_progress = tokio::time::Instant::now();
            }
            let sleep = match self.ledger().next_due() {
                Some(at) => Duration::from_millis((at - now_ms()).clamp(0, MAX_SLEEP.as_millis() as i64) as u64),
                None => MAX_SLEEP,
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = woken => {}
                _ = tokio::time::sleep(sleep) => {}
            }
        }
        if replayed {
            self.record_progress();
        }
    }

    /// Revives every checkpoint due at `now`.
    pub(crate) fn revive_due(&self, now: i64) {
        let due = self.ledger().take_due(now);
        for (key, mut ck) in due {
            if let Err(e) = self.revive(&key, &mut ck) {
                tracing::warn!("revive of {}:{} for {} failed, retrying soon: {e}", key.topic, key.queue_id, key.group);
                // Put back what is left, due again in a second.
                let retry = Checkpoint { invisible_time: now - key.pop_time + 1000, ..ck };
                self.ledger().add(key, retry);
            }
        }
    }

    /// Brings back the unacked messages of `ck`, marking each in `ck` as it
    /// goes, so that a failure part-way does not bring one back twice.
    fn revive(&self, key: &CkKey, ck: &mut Checkpoint) -> Result<(), String> {
        let unacked: Vec<i64> = ck.unacked().collect();
        for &offset in &unacked {
            let got = self.store.get_messages(&key.topic, key.queue_id, QueueOffset(offset as u64), 1, &AcceptAll);
            let Some(stored) =
                got.messages.first().filter(|_| got.queue_offsets.first() == Some(&QueueOffset(offset as u64)))
            else {
                tracing::warn!("revive: {}:{} offset {offset} is gone (retention?); skipped", key.topic, key.queue_id);
                continue;
            };
            self.bring_back(key, stored)?;
            ck.mark_acked(offset);
        }
        let done = AckRecord {
            ack_offset: unacked.first().copied().unwrap_or(key.start_offset),
            ack_offset_list: unacked,
            start_offset: key.start_offset,
            consumer_group: key.group.clone(),
            topic: key.topic.clone(),
            queue_id: key.queue_id,
            pop_time: key.pop_time,
            broker_name: self.broker_name.clone(),
        };
        self.write(&ReviveRecord::Ack(done), ck.revive_qid).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Stores one unacked message again for its group.
    fn bring_back(&self, key: &CkKey, stored: &[u8]) -> Result<(), String> {
        let view = record::decode_message(stored, false).map_err(|e| e.to_string())?;
        let max_reconsume = self.groups.get(&key.group).map_or(16, |g| g.retry_max_times);
        if view.reconsume_times >= max_reconsume {
            return self.to_dlq(&key.group, stored);
        }
        let retry = if RetryFlag::of(&key.topic) == RetryFlag::Normal {
            pop_retry_topic(&key.topic, &key.group)
        } else {
            key.topic.clone()
        };
        let (_, created) = self.topics.get_or_create(&retry, 1, perm::READ_WRITE, now_ms());
        if created {
            self.topics.changed();
        }
        let mut props = view.decode_properties();
        if view.reconsume_times == 0 || !props.contains(keys::FIRST_POP_TIME) {
            props.insert(keys::FIRST_POP_TIME, key.pop_time.to_string());
        }
        props.remove(keys::POP_CK);
        let properties = props.encode();
        let msg = NewMessage {
            reconsume_times: view.reconsume_times + 1,
            prepared_transaction_offset: 0,
            ..view.stored_again(&retry, 0, properties.as_bytes())
        };
        self.store.put(&msg).map(|_| ()).map_err(|e| e.to_string())
    }

    /// Moves each revive queue's replay start to its oldest live checkpoint
    /// (or its end when none is live).
    pub(crate) fn record_progress(&self) {
        let _gate = self.progress_gate.write().unwrap_or_else(|e| e.into_inner());
        for qid in 0..self.revive_queues {
            let mut start = self.ledger().replay_start(qid);
            if qid == 0 {
                // FIFO queues log their state to revive queue 0.
                start = start.into_iter().chain(self.order().replay_start()).min();
            }
            let start = start.unwrap_or_else(|| self.max_offset(&self.revive_topic, qid));
            if self.offsets.query(super::REVIVE_GROUP, &self.revive_topic, qid) != Some(start) {
                self.offsets.commit(super::REVIVE_GROUP, &self.revive_topic, qid, start);
            }
        }
    }
}
