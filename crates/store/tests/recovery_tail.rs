//! Recovery after SIGKILL does not grow with the store: a child process
//! fills many CommitLog files and is killed while it keeps writing; the
//! reopened store scans and dispatches again only the tail that follows the
//! last dispatched record, and every acknowledged message is still readable
//! and still found by its key.
//!
//! The child is this test binary re-invoked with `RMQ_TAIL_CHILD` set.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use rmq_model::QueueOffset;
use rmq_store::{AcceptAll, StoreConfig};

const TEST_NAME: &str = "sigkill_after_many_files_dispatches_only_the_tail";
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
            std::thread::sleep(Duration::from_micros(200));
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
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env("RMQ_TAIL_CHILD", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let Some(ack) = line.strip_prefix("ACK ") else { continue };
        let mut f = ack.split(' ').map(|x| x.parse::<u64>().unwrap());
        let (seq, queue, offset) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        acked.push((seq, queue as i32, offset));
        if seq >= BULK + 500 {
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();

    let cfg = config(dir.path());
    let store = open(&cfg);
    let stats = store.stats();
    let total = stats.max_physical_offset;
    eprintln!(
        "recovery after SIGKILL: scanned {} and dispatched again {} of {total} bytes",
        stats.recovery_scanned_bytes, stats.recovery_redispatched_bytes
    );
    assert!(total > 30 * FILE_SIZE, "many files written: {total}");
    // The tail is what the child wrote and its dispatcher had not yet
    // reached: a few hundred records at most, far below one file.
    assert!(stats.recovery_scanned_bytes < 2 * FILE_SIZE, "scanned {} of {total}", stats.recovery_scanned_bytes);
    assert!(
        stats.recovery_redispatched_bytes <= stats.recovery_scanned_bytes,
        "dispatched again {} of {total}",
        stats.recovery_redispatched_bytes
    );
    settle(&store);
    for (seq, queue, offset) in &acked {
        let got = store.get_messages("T", *queue, QueueOffset(*offset), 1, &AcceptAll);
        let bytes = got.messages.first().unwrap_or_else(|| panic!("message {seq} is readable"));
        assert_eq!(decode(bytes).body, body_for(*seq), "message {seq}");
        let found = store.query_by_key("T", &format!("key-{seq}"), 4, 0, i64::MAX);
        assert!(found.messages.iter().any(|m| decode(m).body == body_for(*seq)), "message {seq} is found by its key");
    }
}
