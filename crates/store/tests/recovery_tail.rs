//! Recovery does not grow with the store: a child process fills many
//! CommitLog files and is killed while it keeps writing.
//!
//! * After SIGKILL (`abort` names this boot) the reopened store scans and
//!   dispatches again only the tail that follows the last dispatched record,
//!   and every acknowledged message is still readable and found by its key.
//! * With `abort` as a machine crash or Java leaves it, recovery starts at
//!   the CommitLog file the checkpoint vouches for, which the dispatcher
//!   keeps within seconds of the end.
//!
//! The child is this test binary re-invoked with `RMQ_TAIL_CHILD` set.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rmq_model::QueueOffset;
use rmq_store::{AcceptAll, StoreConfig};

const QUEUES: u64 = 4;
/// Messages written before the parent starts looking for a moment to kill.
const BULK: u64 = 8_000;
const FILE_SIZE: u64 = 256 * 1024;

fn config(dir: &std::path::Path) -> StoreConfig {
    let mut cfg = small_config(dir);
    cfg.mapped_file_size_commit_log = FILE_SIZE;
    cfg.mapped_file_size_consume_queue = 20 * 4096;
    cfg.max_index_num = 64 * 1024;
    cfg.max_hash_slot_num = 16 * 1024;
    cfg
}

fn body_for(seq: u64) -> Vec<u8> {
    let mut body = format!("m{seq}:").into_bytes();
    body.resize(1000, b'a' + (seq % 26) as u8);
    body
}

/// Writes until killed (ASYNC_FLUSH: a process crash keeps the page cache,
/// so a put that returned is acknowledged), printing each acknowledgement.
fn child(dir: &str) {
    let store = open(&config(std::path::Path::new(dir)));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for seq in 0.. {
        let queue = (seq % QUEUES) as i32;
        let props = format!("KEYS\x01key-{seq}\x02");
        let put = store.put(&msg("T", queue, &body_for(seq), props.as_bytes())).unwrap();
        writeln!(out, "ACK {seq} {queue} {}", put.queue_offset.0).unwrap();
        if seq % 64 == 0 {
            out.flush().unwrap();
        }
        if seq > BULK {
            // Slower from here: the parent kills at a moment of its choosing.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Runs the child in `dir` until `kill_now(seq, time since BULK)` says so,
/// then SIGKILLs it; returns `(seq, queue, queue offset)` of every message it
/// acknowledged.
fn write_until_killed(
    test_name: &str,
    dir: &std::path::Path,
    kill_now: impl Fn(u64, Duration) -> bool,
) -> Vec<(u64, i32, u64)> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env("RMQ_TAIL_CHILD", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    let mut bulk_done: Option<Instant> = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let Some(ack) = line.strip_prefix("ACK ") else { continue };
        let mut f = ack.split(' ').map(|x| x.parse::<u64>().unwrap());
        let (seq, queue, offset) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        acked.push((seq, queue as i32, offset));
        if seq >= BULK && bulk_done.is_none() {
            bulk_done = Some(Instant::now());
        }
        if bulk_done.is_some_and(|t| kill_now(seq, t.elapsed())) {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    acked
}

/// Every acknowledged message is readable; with `by_key`, also found by key.
fn check_acknowledged(store: &rmq_store::MessageStore, acked: &[(u64, i32, u64)], by_key: bool) {
    settle(store);
    for (seq, queue, offset) in acked {
        let got = store.get_messages("T", *queue, QueueOffset(*offset), 1, &AcceptAll);
        let bytes = got.messages.first().unwrap_or_else(|| panic!("message {seq} is readable"));
        assert_eq!(decode(bytes).body, body_for(*seq), "message {seq}");
        if by_key {
            let found = store.query_by_key("T", &format!("key-{seq}"), 4, 0, i64::MAX);
            assert!(
                found.messages.iter().any(|m| decode(m).body == body_for(*seq)),
                "message {seq} is found by its key"
            );
        }
    }
}

#[test]
fn sigkill_after_many_files_dispatches_only_the_tail() {
    if let Ok(dir) = std::env::var("RMQ_TAIL_CHILD") {
        child(&dir);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let acked =
        write_until_killed("sigkill_after_many_files_dispatches_only_the_tail", dir.path(), |seq, _| seq >= BULK + 50);

    let store = open(&config(dir.path()));
    let stats = store.stats();
    let total = stats.max_physical_offset;
    eprintln!(
        "recovery after SIGKILL: scanned {} and dispatched again {} of {total} bytes",
        stats.recovery_scanned_bytes, stats.recovery_redispatched_bytes
    );
    assert!(total > 30 * FILE_SIZE, "many files written: {total}");
    // The tail is what the child wrote and its dispatcher had not yet
    // reached: a few records, far below one file.
    assert!(stats.recovery_scanned_bytes < 2 * FILE_SIZE, "scanned {} of {total}", stats.recovery_scanned_bytes);
    assert!(stats.recovery_redispatched_bytes <= stats.recovery_scanned_bytes);
    check_acknowledged(&store, &acked, true);
}

#[test]
fn a_machine_crash_recovers_from_the_checkpoint_not_from_the_start() {
    if let Ok(dir) = std::env::var("RMQ_TAIL_CHILD") {
        child(&dir);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Recovery trusts the checkpoint minus 3 s: run a while past the bulk.
    let acked = write_until_killed(
        "a_machine_crash_recovers_from_the_checkpoint_not_from_the_start",
        dir.path(),
        |_, since_bulk| since_bulk > Duration::from_millis(4500),
    );
    // An `abort` without this boot's id: as after a power loss, or as Java
    // leaves it. Only the checkpoint says what reached the disk.
    std::fs::write(dir.path().join("abort"), b"").unwrap();

    let store = open(&config(dir.path()));
    let stats = store.stats();
    let total = stats.max_physical_offset;
    eprintln!(
        "recovery after a machine crash: scanned {} and dispatched again {} of {total} bytes",
        stats.recovery_scanned_bytes, stats.recovery_redispatched_bytes
    );
    assert!(total > 30 * FILE_SIZE, "many files written: {total}");
    // The last 3 s and more of writes (5 ms apart), rounded to a file start.
    assert!(stats.recovery_scanned_bytes < 10 * FILE_SIZE, "scanned {} of {total}", stats.recovery_scanned_bytes);
    assert!(stats.recovery_redispatched_bytes <= stats.recovery_scanned_bytes);
    // Keys are not checked: as in Java without `messageIndexSafe`, index
    // files written since the index's checkpoint are dropped after a machine
    // crash, and only what recovery dispatches again is indexed anew.
    check_acknowledged(&store, &acked, false);
}
