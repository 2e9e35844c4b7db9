//! Measures how long a store takes to open after a crash, at a given size:
//! `cargo run --release -p rmq-store --example restart_after_kill -- <dir> <GiB>`.
//!
//! A child process (this program again) fills `<dir>` with 1 KiB messages
//! under default settings (1 GiB CommitLog files, index on) up to `<GiB>`,
//! waits for dispatch, keeps writing about 20,000 messages/s and is killed
//! with SIGKILL five seconds later. The store is then opened twice:
//!
//! * as after a machine crash (`abort` as Java leaves it: empty), where
//!   recovery starts at the CommitLog file the checkpoint vouches for;
//! * as after SIGKILL (`abort` names this boot), after a second child wrote
//!   and was killed again, where recovery starts at the last dispatched record;
//!
//! and once more after the clean shutdown that ends the second open.
//!
//! Each line printed gives the open time and the bytes scanned and dispatched
//! again.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rmq_model::record::NewMessage;
use rmq_store::{MessageStore, StoreConfig, StoreHooks};

const CHILD_ENV: &str = "RMQ_RESTART_CHILD";
const GIB: f64 = (1u64 << 30) as f64;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, gib) = match (args.get(1), args.get(2).and_then(|g| g.parse::<f64>().ok())) {
        (Some(dir), Some(gib)) => (Path::new(dir).to_owned(), gib),
        _ => {
            eprintln!("usage: restart_after_kill <dir> <GiB>");
            std::process::exit(2);
        }
    };
    let target = (gib * GIB) as u64;
    if std::env::var_os(CHILD_ENV).is_some() {
        fill_then_write_steadily(&dir, target);
        return;
    }
    write_and_kill(&dir, gib);
    std::fs::write(dir.join("abort"), b"").expect("write abort");
    measure_open(&dir, "machine crash (empty abort)");
    // The open above ended cleanly; crash once more, by SIGKILL this time.
    write_and_kill(&dir, 0.0);
    measure_open(&dir, "SIGKILL (abort names this boot)");
    // That open ended with a clean shutdown: Java's normal recovery.
    measure_open(&dir, "clean shutdown");
}

/// Runs a child that fills the store to `gib`, then writes steadily;
/// SIGKILLs it five seconds into the steady part (the checkpoint trusts
/// nothing younger than 3 s, and the fill writes hundreds of MB a second).
fn write_and_kill(dir: &Path, gib: f64) {
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .arg(dir)
        .arg(gib.to_string())
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the writer");
    let stdout = child.stdout.take().expect("piped");
    for line in BufReader::new(stdout).lines() {
        if line.expect("read the writer").starts_with("STEADY") {
            break;
        }
    }
    std::thread::sleep(Duration::from_secs(5));
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    eprintln!("writer killed after {:.1} s", started.elapsed().as_secs_f64());
}

fn measure_open(dir: &Path, what: &str) {
    let started = Instant::now();
    let store = MessageStore::open(StoreConfig::new(dir), StoreHooks::default()).expect("open");
    let took = started.elapsed();
    let stats = store.stats();
    println!(
        "{what}: CommitLog {:.2} GiB, open took {} ms, scanned {} MiB, dispatched again {} MiB",
        stats.max_physical_offset as f64 / GIB,
        took.as_millis(),
        stats.recovery_scanned_bytes >> 20,
        stats.recovery_redispatched_bytes >> 20,
    );
    store.shutdown().expect("shutdown");
}

fn message<'a>(queue: i32, body: &'a [u8], props: &'a [u8]) -> NewMessage<'a> {
    NewMessage {
        topic: "RestartTest",
        queue_id: queue,
        flag: 0,
        body,
        properties: props,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.1:5000".parse().expect("address"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// The child: fills to `target` bytes, waits for dispatch, says STEADY and
/// writes 200 messages every 10 ms until killed.
fn fill_then_write_steadily(dir: &Path, target: u64) {
    let store = MessageStore::open(StoreConfig::new(dir), StoreHooks::default()).expect("open");
    let body = vec![b'x'; 1024];
    let mut seq = 0u64;
    let put = |seq: u64| {
        let props = format!("KEYS\x01key-{seq}\x02");
        store.put(&message((seq % 8) as i32, &body, props.as_bytes())).expect("put");
    };
    while store.max_physical_offset().0 < target {
        put(seq);
        seq += 1;
    }
    while !store.wait_dispatched(store.max_physical_offset(), Duration::from_secs(1)) {}
    println!("STEADY");
    std::io::stdout().flush().expect("stdout");
    loop {
        for _ in 0..200 {
            put(seq);
            seq += 1;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
