//! `mqnamesrv` as operators and scripts see it: options, output lines, files
//! and exit codes (4.9.8 `NamesrvStartup`, `ServerUtil`).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mqnamesrv");

fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("JAVA_OPT", format!("-Duser.home={}", home.display()))
        .env_remove("JAVA_OPT_EXT")
        .output()
        .unwrap()
}

#[test]
fn help_bad_options_and_print_config() {
    let home = tempfile::tempdir().unwrap();
    let help = run(home.path(), &["-h"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--configFile"));
    assert_eq!(run(home.path(), &["--nope"]).status.code(), Some(1));

    let conf = home.path().join("namesrv.properties");
    std::fs::write(&conf, "listenPort=9999\norderMessageEnable=true\nserverWorkerThreads=4\n").unwrap();
    let printed = run(home.path(), &["-c", conf.to_str().unwrap(), "-p", "-n", "127.0.0.1:9876"]);
    assert_eq!(printed.status.code(), Some(0));
    let text = String::from_utf8(printed.stdout).unwrap();
    assert!(text.starts_with(&format!("load config properties file OK, {}\n", conf.display())), "{text}");
    for line in ["listenPort=9999", "orderMessageEnable=true", &format!("configStorePath={}", conf.display())] {
        assert!(text.lines().any(|l| l == line), "missing {line} in {text}");
    }
    let kv = home.path().join("namesrv/kvConfig.json");
    assert!(text.contains(&format!("kvConfigPath={}\n", kv.display())), "{text}");
    assert!(!home.path().join("logs").exists(), "-p starts nothing");

    let missing = run(home.path(), &["-c", "/nonexistent/namesrv.properties"]);
    assert_eq!(missing.status.code(), Some(255));
    std::fs::write(&conf, "listenPort=ninety\n").unwrap();
    let bad = run(home.path(), &["-c", conf.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("listenPort"));
}

#[test]
fn a_port_in_use_is_one_clear_line_and_exit_255() {
    let home = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("0.0.0.0:0").unwrap();
    let conf = home.path().join("namesrv.properties");
    std::fs::write(&conf, format!("listenPort={}\n", taken.local_addr().unwrap().port())).unwrap();
    let out = run(home.path(), &["-c", conf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(255));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("Address already in use"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("boot success"));
}

/// Kills the server if a test fails before stopping it, so that no process
/// outlives the test (and holds its output pipes open).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn boots_serves_logs_and_stops_on_sigterm() {
    let home = tempfile::tempdir().unwrap();
    let conf = home.path().join("namesrv.properties");
    std::fs::write(&conf, "listenPort=0\nbindAddress=127.0.0.1\nnoSuchKey=1\n").unwrap();
    let mut child = Running(
        Command::new(BIN)
            .args(["-c", conf.to_str().unwrap()])
            .env("JAVA_OPT", format!("-Duser.home={}", home.path().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The boot line is printed directly, log lines by a writer thread: they
    // may come in either order.
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let (mut port, mut booted) = (None, false);
    while port.is_none() || !booted {
        let line = lines.next().expect("stdout ends before the boot line").unwrap();
        if let Some(addr) = line.split("listening on ").nth(1) {
            port = addr.rsplit(':').next().and_then(|p| p.trim().parse::<u16>().ok());
        }
        booted |= line == "The Name Server boot success. serializeType=JSON";
    }
    std::net::TcpStream::connect(("127.0.0.1", port.unwrap())).expect("it listens");

    // The file is written by a background thread: give it a moment.
    let log_path = home.path().join("logs/rocketmqlogs/namesrv.log");
    let deadline = Instant::now() + Duration::from_secs(30);
    let log = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("The Name Server boot success. serializeType=JSON") || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(log.contains("The Name Server boot success. serializeType=JSON"), "{log}");
    assert!(log.contains("unknown config key 'noSuchKey' ignored"), "{log}");

    assert!(Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap().success());
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("SIGTERM received, shutting down") && log.contains("shutdown complete"), "{log}");
}
