//! The log files of a real `mqbroker`: the side files Java's operators grep
//! (`store.log`, ...), rolling by size into `otherdays/`, and the level
//! changed at run time by `mqadmin updateBrokerConfig -k rmqLogLevel`.

mod admin_common;

use admin_common::Servers;
use std::path::Path;
use std::time::{Duration, Instant};

fn logs(s: &Servers) -> std::path::PathBuf {
    s.home.path().join("logs/rocketmqlogs")
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn is_gzip(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.starts_with(&[0x1f, 0x8b]))
}

#[test]
fn broker_logs_split_roll_and_change_level_at_run_time() {
    // A 2 KB limit: the configuration dump at boot alone rolls broker.log
    // several times.
    let s = Servers::start_with_java_opt("-Drmq.log.maxFileSize=2KB -Drmq.log.maxIndex=2");
    let dir = logs(&s);
    let archives = dir.join("otherdays");
    wait_until("two archives of broker.log", Duration::from_secs(10), || {
        is_gzip(&archives.join("broker.1.log.gz")) && is_gzip(&archives.join("broker.2.log.gz"))
    });
    assert!(!archives.join("broker.3.log.gz").exists(), "maxIndex=2 keeps two archives");
    assert!(size(&dir.join("broker.log")) < 4096, "the live file stays near its limit");
    // Store lines (opening and recovering the store) go to store.log.
    wait_until("store.log written", Duration::from_secs(10), || size(&dir.join("store.log")) > 0);
    for side in ["remoting", "transaction", "pop", "stats"] {
        assert!(dir.join(format!("{side}.log")).exists(), "{side}.log is created at start");
    }

    // At info a request logs nothing; at debug its connection's end is logged
    // to remoting.log; back at info, nothing again.
    let remoting = dir.join("remoting.log");
    s.mqadmin(&["topicList"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(size(&remoting), 0, "nothing at info");

    let bad = s.mqadmin(&["updateBrokerConfig", "-b", &s.broker, "-k", "rmqLogLevel", "-v", "rmq_broker=loud"]);
    assert_ne!(bad.code, 0, "a filter that does not parse is refused: {bad:?}");

    let set = s.mqadmin(&["updateBrokerConfig", "-b", &s.broker, "-k", "rmqLogLevel", "-v", "info,rmq_remoting=debug"]);
    assert_eq!(set.code, 0, "{set:?}");
    s.mqadmin(&["topicList"]);
    wait_until("a debug line in remoting.log", Duration::from_secs(10), || {
        std::fs::read_to_string(&remoting).is_ok_and(|text| text.contains("DEBUG"))
    });

    let set = s.mqadmin(&["updateBrokerConfig", "-b", &s.broker, "-k", "rmqLogLevel", "-v", "info"]);
    assert_eq!(set.code, 0, "{set:?}");
    std::thread::sleep(Duration::from_millis(300));
    let quiet = size(&remoting);
    s.mqadmin(&["topicList"]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(size(&remoting), quiet, "back at info, requests log nothing");
}

#[test]
fn namesrv_level_changes_at_run_time() {
    let s = Servers::start();
    let log = logs(&s).join("namesrv.log");
    let has_debug = || std::fs::read_to_string(&log).is_ok_and(|text| text.contains("DEBUG"));
    s.mqadmin(&["topicList"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!has_debug(), "nothing at debug while the level is info");

    let bad = s.mqadmin(&["updateNamesrvConfig", "-k", "rmqLogLevel", "-v", "rmq_nameserver=loud"]);
    assert_ne!(bad.code, 0, "a filter that does not parse is refused: {bad:?}");
    let got = s.mqadmin(&["getNamesrvConfig"]);
    assert!(!got.stdout.contains("loud"), "a refused update changes nothing: {}", got.stdout);

    let set = s.mqadmin(&["updateNamesrvConfig", "-k", "rmqLogLevel", "-v", "info,rmq_remoting=debug"]);
    assert_eq!(set.code, 0, "{set:?}");
    s.mqadmin(&["topicList"]);
    wait_until("a debug line in namesrv.log", Duration::from_secs(10), has_debug);
    let got = s.mqadmin(&["getNamesrvConfig"]);
    assert!(got.stdout.contains("rmq_remoting=debug"), "the level is part of the config: {}", got.stdout);
}
