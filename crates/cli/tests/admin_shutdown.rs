//! `bin/mqshutdown` stops a real `mqbroker` and `mqnamesrv` cleanly, with
//! RocketMQ's messages and exit codes. Run in a PID namespace of its own
//! (`unshare --pid --fork --mount-proc`), so that it can only see, and stop,
//! the servers this test started; skipped where that is not allowed.

mod admin_common;

use admin_common::{MQBROKER, MQNAMESRV, free_broker_port};
use std::path::Path;
use std::process::Command;

#[test]
fn mqshutdown_stops_broker_and_namesrv_cleanly() {
    let probe = Command::new("unshare").args(["--pid", "--fork", "--mount-proc", "true"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: cannot make a PID namespace here (unshare needs root)");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let ns_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(h.join("ns.properties"), format!("listenPort={ns_port}\nbindAddress=127.0.0.1\n")).unwrap();
    let port = free_broker_port();
    std::fs::write(
        h.join("broker.properties"),
        format!("brokerIP1=127.0.0.1\nlistenPort={port}\nmappedFileSizeCommitLog=67108864\nmappedFileSizeConsumeQueue=600000\n"),
    )
    .unwrap();
    let shutdown = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bin/mqshutdown");
    let script = format!(
        r#"
        export JAVA_OPT="-Duser.home={h}"
        {ns} -c {h}/ns.properties > {h}/ns.out 2>&1 &
        NS=$!
        {br} -c {h}/broker.properties -n 127.0.0.1:{ns_port} > {h}/broker.out 2>&1 &
        BR=$!
        i=0
        until grep -q 'boot success' {h}/broker.out; do
          i=$((i+1)); [ $i -gt 300 ] && echo "broker did not boot" && exit 9; sleep 0.1
        done
        sh {sd} broker; echo "shutdown_rc=$?"
        wait $BR; echo "broker_rc=$?"
        sh {sd} broker; echo "again_rc=$?"
        sh {sd} namesrv; echo "namesrv_shutdown_rc=$?"
        wait $NS; echo "namesrv_rc=$?"
        sh {sd} whatever; echo "usage_rc=$?"
        "#,
        h = h.display(),
        ns = MQNAMESRV,
        br = MQBROKER,
        sd = shutdown.display(),
    );
    let out = Command::new("unshare").args(["--pid", "--fork", "--mount-proc", "sh", "-c", &script]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let pid_line = lines.iter().find(|l| l.starts_with("The mqbroker(")).unwrap_or_else(|| panic!("{text}"));
    let pid = pid_line.trim_start_matches("The mqbroker(").trim_end_matches(") is running...");
    assert!(pid.parse::<u32>().is_ok(), "{text}");
    for expected in [
        format!("Send shutdown request to mqbroker({pid}) OK"),
        "shutdown_rc=0".to_owned(),
        "broker_rc=0".to_owned(),
        "No mqbroker running.".to_owned(),
        "again_rc=1".to_owned(),
        "namesrv_shutdown_rc=0".to_owned(),
        "namesrv_rc=0".to_owned(),
        "Usage: mqshutdown broker | namesrv | controller | proxy".to_owned(),
        "usage_rc=0".to_owned(),
    ] {
        assert!(lines.contains(&expected.as_str()), "missing '{expected}' in:\n{text}");
    }
    // A clean stop removes the store's abort marker.
    assert!(h.join("store/commitlog").exists(), "the broker used {}", h.join("store").display());
    assert!(!h.join("store/abort").exists(), "the broker did not shut down cleanly");
}
