//! A child process appends in SYNC_FLUSH mode and prints every acknowledged
//! message; the parent SIGKILLs it at random points, recovers the store
//! (a process crash on this boot, since `abort` is left behind with this
//! boot's id) and checks that every acknowledged message is intact, still
//! found by its key, and that nothing half-written is served.
//!
//! The child is this test binary re-invoked with `RMQ_CRASH_CHILD` set.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rmq_model::QueueOffset;
use rmq_model::record;
use rmq_store::{AcceptAll, GetMessageStatus};

const TEST_NAME: &str = "sigkill_at_random_points_loses_nothing_acknowledged";
const QUEUES: i32 = 4;

fn body_for(round: u32, seq: u64) -> Vec<u8> {
    let len = 50 + (seq * 7919 % 1500) as usize;
    let mut body = format!("r{round}-s{seq}:").into_bytes();
    body.resize(len, b'a' + (seq % 26) as u8);
    body
}

fn child(dir: &str, round: u32) {
    let mut cfg = sync_config(std::path::Path::new(dir));
    cfg.mapped_file_size_commit_log = 256 * 1024;
    let store = open(&cfg);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for seq in 0.. {
        let body = body_for(round, seq);
        let queue = (seq % QUEUES as u64) as i32;
        if seq % 5 == 4 {
            // A batch of 3, waited for as a whole.
            let bodies = [body_for(round, seq), body_for(round, seq + 1_000_000), body_for(round, seq + 2_000_000)];
            let msgs: Vec<_> = bodies.iter().map(|b| msg("C", queue, b, b"")).collect();
            let put = store.put_batch(&msgs).unwrap();
            store.wait_flushed(put.end_offset, Duration::from_secs(5)).unwrap();
            for (i, extra) in [0, 1_000_000, 2_000_000].iter().enumerate() {
                writeln!(out, "ACK {queue} {} {round} {}", put.queue_offset.0 + i as u64, seq + extra).unwrap();
            }
        } else {
            let put = store.put_and_wait(&msg("C", queue, &body, b"KEYS\x01k\x02")).unwrap();
            writeln!(out, "ACK {queue} {} {round} {seq}", put.queue_offset.0).unwrap();
        }
        out.flush().unwrap();
    }
}

#[test]
fn sigkill_at_random_points_loses_nothing_acknowledged() {
    if let Ok(spec) = std::env::var("RMQ_CRASH_CHILD") {
        let (dir, round) = spec.rsplit_once('|').unwrap();
        child(dir, round.parse().unwrap());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap().to_owned();
    let started = Instant::now();
    // (queue, queue offset) → (round, seq) of every acknowledged message.
    let mut acked: BTreeMap<(i32, u64), (u32, u64)> = BTreeMap::new();
    let rounds = 24;
    for round in 0..rounds {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env("RMQ_CRASH_CHILD", format!("{root}|{round}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) if l.starts_with("ACK ") => lines.push(l),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            lines
        });
        std::thread::sleep(Duration::from_millis(fastrand::u64(30..250)));
        // SAFETY: plain syscall on our own child's pid.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        for line in &lines {
            let f: Vec<u64> = line[4..].split(' ').map(|x| x.parse().unwrap()).collect();
            let previous = acked.insert((f[0] as i32, f[1]), (f[2] as u32, f[3]));
            assert!(previous.is_none(), "queue offset {:?} acknowledged twice", (f[0], f[1]));
        }
        // A child killed before it finished opening may not have created it yet.
        assert!(lines.is_empty() || dir.path().join("abort").exists(), "a killed store leaves abort behind");
        verify(&root, &acked, round);
    }
    eprintln!("{} acknowledged messages checked over {rounds} kills", acked.len());
    assert!(acked.len() > 100, "the child acknowledged too little: {}", acked.len());
    assert!(started.elapsed() < Duration::from_secs(90));
}

/// Recovers the store and checks every queue entry and acknowledged message.
fn verify(root: &str, acked: &BTreeMap<(i32, u64), (u32, u64)>, round: u32) {
    let mut cfg = sync_config(std::path::Path::new(root));
    cfg.mapped_file_size_commit_log = 256 * 1024;
    let store = open(&cfg);
    let mut keyed = std::collections::BTreeSet::new();
    for queue in 0..QUEUES {
        let max = store.max_offset_in_queue("C", queue).0;
        let mut q = 0;
        while q < max {
            let r = store.get_messages("C", queue, QueueOffset(q), 32, &AcceptAll);
            assert_eq!(r.status, GetMessageStatus::Found, "round {round} queue {queue} offset {q}");
            for (bytes, off) in r.messages.iter().zip(&r.queue_offsets) {
                // Every served record is whole: magic, length and CRC check out.
                let view = record::decode_message(bytes, true)
                    .unwrap_or_else(|e| panic!("round {round}: half-written record served at {queue}/{off:?}: {e}"));
                assert_eq!(view.queue_offset as u64, off.0);
                if view.property("KEYS").is_some() {
                    keyed.insert(view.physical_offset);
                }
                if let Some((r_round, seq)) = acked.get(&(queue, off.0)) {
                    assert!(
                        view.body == body_for(*r_round, *seq).as_slice(),
                        "round {round}: acknowledged message {queue}/{} has the wrong body",
                        off.0
                    );
                }
            }
            q = r.next_begin_offset.0;
        }
    }
    for &(queue, off) in acked.keys() {
        assert!(off < store.max_offset_in_queue("C", queue).0, "round {round}: acknowledged {queue}/{off} lost");
    }
    // Every message with a key is still found by it: the index survived the
    // crash or was rebuilt for what it lacked, and holds nothing twice.
    let found: Vec<i64> = store
        .query_by_key("C", "k", 1 << 20, 0, i64::MAX)
        .messages
        .iter()
        .map(|bytes| record::decode_message(bytes, false).unwrap().physical_offset)
        .collect();
    let unique: std::collections::BTreeSet<i64> = found.iter().copied().collect();
    assert_eq!(unique.len(), found.len(), "round {round}: a key indexed twice");
    let missing: Vec<_> = keyed.difference(&unique).collect();
    assert!(
        missing.is_empty(),
        "round {round}: {} keyed messages not found by key, first {:?}",
        missing.len(),
        missing.first()
    );
    store.shutdown().unwrap();
}
