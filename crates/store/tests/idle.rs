//! An open store with nothing to do uses no CPU: its services sleep until a
//! put or their period wakes them. (Before the first put the preparer once
//! asked for work it could not do in a loop, one core at 100 %.)

mod common;

use common::*;
use std::time::Duration;

/// CPU time this process has used, in clock ticks (user + system).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn an_idle_store_sleeps() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&small_config(dir.path()));
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu_ticks();
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks() - before;
    // Ticks are 10 ms: a spinning thread would show about 200.
    assert!(used < 20, "an idle store used {used} ticks of CPU in 2 s");
    store.shutdown().unwrap();
}
