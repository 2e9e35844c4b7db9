//! The engine over a real store in a temporary directory, with the clock
//! passed in: delivery times, the window's end, restarts after a crash.

use super::*;
use crate::timer::checkpoint::CheckpointFile;
use crate::timer::deliver::DELIVERED_FROM;
use crate::timer::log::SEGMENT_BYTES;
use rmq_model::Properties;
use rmq_model::record::NewMessage;
use rmq_store::{StoreConfig, StoreHooks};
use std::collections::HashMap;
use std::time::Duration;

const T0: i64 = 1_800_000_000_000;
const ALL: Budget = Budget { enqueue: 100_000, deliver: 100_000 };

fn open_store(root: &Path) -> Arc<MessageStore> {
    let mut c = StoreConfig::new(root);
    c.mapped_file_size_commit_log = 4 << 20;
    c.flush_interval_commit_log = 10;
    c.flush_commit_log_least_pages = 0;
    c.message_index_enable = false;
    Arc::new(MessageStore::open(c, StoreHooks::default()).unwrap())
}

fn open_engine(store: &Arc<MessageStore>, root: &Path, slots: usize, now: i64) -> TimerEngine {
    let geometry = Geometry { precision_ms: 1000, wheel_slots: slots, segment_bytes: SEGMENT_BYTES };
    // A fresh registry each time, as in a new process.
    TimerEngine::open(store.clone(), &root.join("rmq_timer"), geometry, now, Arc::default()).unwrap()
}

/// Parks `body` as the send path would, due at `out_ms` for `TopicA`.
fn park(store: &MessageStore, body: &str, out_ms: i64) {
    park_with(store, body, out_ms, &[]);
}

/// Parks the recall marker RECALL_MESSAGE writes for the message `id` of
/// TopicA due at `out_ms` (Java's `RecallMessageProcessor.buildMessage`).
fn park_recall(store: &MessageStore, id: &str, out_ms: i64) {
    park_with(store, id, out_ms, &[(keys::TIMER_DEL_UNIQKEY, &format!("TopicA+{id}"))]);
}

fn park_with(store: &MessageStore, body: &str, out_ms: i64, extra: &[(&str, &str)]) {
    let mut p = Properties::new();
    p.insert(keys::TIMER_OUT_MS, out_ms.to_string());
    p.insert(keys::REAL_TOPIC, "TopicA");
    p.insert(keys::REAL_QUEUE_ID, "1");
    p.insert(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, body);
    for (k, v) in extra {
        p.insert(*k, *v);
    }
    let props = p.encode();
    let msg = NewMessage {
        topic: TIMER_TOPIC,
        queue_id: 0,
        flag: 0,
        body: body.as_bytes(),
        properties: props.as_bytes(),
        sys_flag: 0,
        born_timestamp: T0,
        born_host: "127.0.0.1:5000".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    store.put(&msg).unwrap();
    assert!(store.wait_dispatched(store.max_physical_offset(), Duration::from_secs(5)));
}

/// Bodies delivered to TopicA queue 1, with their properties.
fn delivered(store: &MessageStore) -> Vec<(String, Properties)> {
    assert!(store.wait_dispatched(store.max_physical_offset(), Duration::from_secs(5)));
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let got = store.get_messages("TopicA", 1, QueueOffset(offset), 32, &AcceptAll);
        if got.messages.is_empty() {
            return out;
        }
        for m in &got.messages {
            let view = record::decode_message(m, false).unwrap();
            out.push((String::from_utf8_lossy(view.body).into_owned(), view.decode_properties()));
        }
        offset = got.next_begin_offset.0;
    }
}

fn bodies(store: &MessageStore) -> Vec<String> {
    delivered(store).into_iter().map(|(b, _)| b).collect()
}

#[test]
fn delivers_each_message_when_its_tick_ends() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let mut engine = open_engine(&store, dir.path(), 1 << 10, T0);
    park(&store, "a", T0 + 2000);
    park(&store, "b", T0 + 5000);
    assert_eq!(engine.round(T0 + 100, ALL, false).unwrap(), Next::SleepUntil(T0 + 1000));
    assert_eq!(engine.round(T0 + 2999, ALL, false).unwrap(), Next::SleepUntil(T0 + 3000));
    assert!(bodies(&store).is_empty(), "not before the end of the tick");
    engine.round(T0 + 3000, ALL, false).unwrap();
    let got = delivered(&store);
    assert_eq!(got.len(), 1);
    let (body, props) = &got[0];
    assert_eq!(body, "a");
    assert_eq!(props.get(keys::REAL_TOPIC), None);
    assert_eq!(props.get(keys::REAL_QUEUE_ID), None);
    assert_eq!(props.get(keys::TIMER_OUT_MS), Some((T0 + 2000).to_string().as_str()), "kept, as Java does");
    assert_eq!(props.get(keys::TIMER_DEQUEUE_MS), Some((T0 + 3000).to_string().as_str()));
    assert_eq!(props.get(keys::TIMER_ENQUEUE_MS), Some((T0 + 100).to_string().as_str()));
    assert_eq!(props.get(keys::WAIT_STORE_MSG_OK), Some("false"));
    assert!(props.get(DELIVERED_FROM).is_some());
    engine.round(T0 + 5999, ALL, false).unwrap();
    assert_eq!(bodies(&store), ["a"]);
    engine.round(T0 + 6000, ALL, false).unwrap();
    assert_eq!(bodies(&store), ["a", "b"]);
    store.shutdown().unwrap();
}

#[test]
fn a_message_due_at_once_goes_with_the_next_tick() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let mut engine = open_engine(&store, dir.path(), 1 << 10, T0);
    engine.round(T0 + 5000, ALL, false).unwrap();
    park(&store, "late", T0 + 1000);
    engine.round(T0 + 5500, ALL, false).unwrap();
    assert!(bodies(&store).is_empty());
    engine.round(T0 + 6000, ALL, false).unwrap();
    assert_eq!(bodies(&store), ["late"]);
    store.shutdown().unwrap();
}

#[test]
fn a_message_due_beyond_the_window_waits_at_its_end_and_arrives_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let mut engine = open_engine(&store, dir.path(), 8, T0);
    park(&store, "far", T0 + 30_000);
    for second in 0..=31 {
        engine.round(T0 + second * 1000, ALL, false).unwrap();
        let expected: &[&str] = if second >= 31 { &["far"] } else { &[] };
        assert_eq!(bodies(&store), expected, "at second {second}");
    }
    store.shutdown().unwrap();
}

#[test]
fn a_restart_after_a_crash_neither_loses_nor_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let mut engine = open_engine(&store, dir.path(), 1 << 10, T0);
    for i in 0..30 {
        park(&store, &format!("m{i}"), T0 + 2000 + (i % 3) * 1000);
    }
    engine.round(T0, ALL, true).unwrap();
    // After the checkpoint: more arrive and are enqueued, and the first slot
    // is half delivered when the process dies (the engine is dropped
    // without a checkpoint).
    for i in 30..40 {
        park(&store, &format!("m{i}"), T0 + 4000);
    }
    let half = Budget { enqueue: 100_000, deliver: 4 };
    assert_eq!(engine.round(T0 + 3000, half, true).unwrap(), Next::Busy);
    assert_eq!(bodies(&store).len(), 4);
    drop(engine);

    let mut engine = open_engine(&store, dir.path(), 1 << 10, T0 + 3000);
    engine.round(T0 + 3500, ALL, true).unwrap();
    assert_eq!(bodies(&store).len(), 10, "the first slot completed, its four not again");
    // Die again right after, having delivered the second slot.
    engine.round(T0 + 4000, ALL, false).unwrap();
    drop(engine);
    let mut engine = open_engine(&store, dir.path(), 1 << 10, T0 + 4000);
    engine.round(T0 + 6000, ALL, true).unwrap();
    let got = bodies(&store);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for b in &got {
        *counts.entry(b.as_str()).or_default() += 1;
    }
    assert_eq!(counts.len(), 40, "every message delivered: {got:?}");
    assert!(counts.values().all(|n| *n == 1), "none twice: {counts:?}");
    store.shutdown().unwrap();
}

#[test]
fn a_clean_restart_resumes_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let mut engine = open_engine(&store, dir.path(), 1 << 10, T0);
    park(&store, "x", T0 + 10_000);
    engine.round(T0 + 1000, ALL, true).unwrap();
    engine.checkpoint().unwrap();
    drop(engine);
    let mut engine = open_engine(&store, dir.path(), 1 << 10, T0 + 2000);
    assert_eq!(engine.backlog(), 0, "enqueued before the restart");
    engine.round(T0 + 10_999, ALL, false).unwrap();
    assert!(bodies(&store).is_empty());
    engine.round(T0 + 11_000, ALL, false).unwrap();
    assert_eq!(bodies(&store), ["x"]);
    store.shutdown().unwrap();
}

#[test]
fn an_idle_timer_saves_its_checkpoint_once_a_minute_a_busy_one_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let mut engine = open_engine(&store, dir.path(), 1 << 10, T0);
    let file = CheckpointFile::at(&dir.path().join("rmq_timer"));
    for second in 1..60 {
        engine.round(T0 + second * 1000, ALL, true).unwrap();
    }
    assert_eq!(file.load().unwrap(), None, "no fsync per idle tick");
    engine.round(T0 + 61_000, ALL, true).unwrap();
    let idle = file.load().unwrap().expect("saved after a minute");
    assert_eq!(idle.delivered_tick, T0 / 1000 + 60);
    park(&store, "p", T0 + 70_000);
    engine.round(T0 + 61_500, ALL, true).unwrap();
    let busy = file.load().unwrap().unwrap();
    assert_eq!((busy.enqueued, busy.log_end), (1, 48), "taken in: saved at the next round");
    engine.round(T0 + 71_000, ALL, true).unwrap();
    assert_eq!(file.load().unwrap().unwrap().delivered_tick, T0 / 1000 + 70, "delivered: saved at once");
    store.shutdown().unwrap();
}

#[test]
fn a_recalled_message_and_its_marker_are_never_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let mut engine = open_engine(&store, dir.path(), 1 << 10, T0);
    park(&store, "kept", T0 + 2000);
    park(&store, "recalled", T0 + 2000);
    engine.round(T0 + 100, ALL, false).unwrap();
    park_recall(&store, "recalled", T0 + 2000);
    engine.round(T0 + 3000, ALL, false).unwrap();
    assert_eq!(bodies(&store), ["kept"]);
    assert_eq!(engine.recalls.len(), 0, "forgotten once its slot was delivered");
    store.shutdown().unwrap();
}

#[test]
fn a_recall_lasts_across_a_crash_whether_or_not_the_checkpoint_saw_it() {
    for checkpointed in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        let mut engine = open_engine(&store, dir.path(), 1 << 10, T0);
        park(&store, "kept", T0 + 5000);
        park(&store, "recalled", T0 + 5000);
        park_recall(&store, "recalled", T0 + 5000);
        engine.round(T0 + 1000, ALL, checkpointed).unwrap();
        if checkpointed {
            engine.checkpoint().unwrap();
        }
        drop(engine);
        let mut engine = open_engine(&store, dir.path(), 1 << 10, T0 + 2000);
        // Noted by the log's recovery, or else when taken in again.
        assert_eq!(engine.recalls.len(), usize::from(checkpointed), "before the first round");
        engine.round(T0 + 6000, ALL, false).unwrap();
        assert_eq!(bodies(&store), ["kept"], "checkpointed: {checkpointed}");
        store.shutdown().unwrap();
    }
}

#[test]
fn a_recall_of_a_message_beyond_the_window_follows_it_to_its_slot() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let mut engine = open_engine(&store, dir.path(), 8, T0);
    park(&store, "far", T0 + 30_000);
    park(&store, "near", T0 + 30_000);
    engine.round(T0, ALL, false).unwrap();
    // The marker arrives later: it waits at a later window end than the message.
    engine.round(T0 + 5000, ALL, false).unwrap();
    park_recall(&store, "far", T0 + 30_000);
    for second in 5..=31 {
        engine.round(T0 + second * 1000, ALL, false).unwrap();
    }
    assert_eq!(bodies(&store), ["near"]);
    store.shutdown().unwrap();
}
