//! What a delivered timer message looks like, and how recovery recognises
//! the copies it already delivered.
//!
//! The copy is the parked message under its real topic and queue with the
//! properties Java's `TimerMessageStore.convert` leaves: `REAL_TOPIC` and
//! `REAL_QID` removed; `TIMER_OUT_MS` kept (it also keeps the copy from
//! being parked again); `TIMER_ENQUEUE_MS` and `TIMER_DEQUEUE_MS` set;
//! `WAIT` false. rmq adds [`DELIVERED_FROM`], the CommitLog offset of the
//! parked message, so that after a crash the copies written since the last
//! checkpoint can be found and not delivered twice.

use rmq_model::properties::keys;
use rmq_model::record::{self, RecordView};
use rmq_model::{PhysicalOffset, Properties};
use rmq_store::MessageStore;
use std::collections::HashSet;

/// rmq's property on a delivered copy: the CommitLog offset of the parked
/// message it was made from.
pub(crate) const DELIVERED_FROM: &str = rmq_model::properties::keys::TIMER_DELIVERED_FROM;

/// Topic, queue and properties of the copy of `parked` (stored at CommitLog
/// `origin`); `None` if it has no real topic to go to.
pub(crate) fn copy_of(
    parked: &RecordView<'_>,
    origin: u64,
    enqueue_ms: i64,
    now_ms: i64,
) -> Option<(String, i32, Properties)> {
    let mut props = parked.decode_properties();
    let topic = props.remove(keys::REAL_TOPIC)?;
    let queue_id = props.remove(keys::REAL_QUEUE_ID).and_then(|q| q.parse().ok()).unwrap_or(0);
    props.insert(keys::TIMER_ENQUEUE_MS, enqueue_ms.to_string());
    props.insert(keys::TIMER_DEQUEUE_MS, now_ms.to_string());
    props.insert(keys::WAIT_STORE_MSG_OK, "false");
    props.insert(DELIVERED_FROM, origin.to_string());
    Some((topic, queue_id, props))
}

/// The origins of the copies stored in the CommitLog from `from` to its
/// end: what the timer delivered after its last checkpoint.
pub(crate) fn delivered_since(store: &MessageStore, from: u64) -> HashSet<u64> {
    let file_size = store.config().mapped_file_size_commit_log;
    let end = store.max_physical_offset().0;
    let mut at = from.max(store.min_physical_offset().0);
    let mut found = HashSet::new();
    while at < end {
        let Some(rec) = store.message_at(PhysicalOffset(at)) else {
            // The blank at a file's end: go on with the next file.
            at = (at / file_size + 1) * file_size;
            continue;
        };
        if let Ok(view) = record::decode_message(&rec, false)
            && let Some(origin) = view.property(DELIVERED_FROM)
            && let Some(origin) = std::str::from_utf8(origin).ok().and_then(|o| o.parse().ok())
        {
            found.insert(origin);
        }
        at += rec.len() as u64;
    }
    found
}
