//! Shared by the `admin_*` suites: a real `mqnamesrv` and `mqbroker` started
//! as processes under a temporary home, `mqadmin` runs against them, and
//! golden-file comparison of output layouts.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const MQADMIN: &str = env!("CARGO_BIN_EXE_mqadmin");
pub const MQNAMESRV: &str = env!("CARGO_BIN_EXE_mqnamesrv");
pub const MQBROKER: &str = env!("CARGO_BIN_EXE_mqbroker");

pub use rmq_testkit::ports::free_broker_port;

/// Reads a child's stdout in a thread; lines arrive on the channel.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing `needle`; returns every line seen until then.
fn wait_for(rx: &mpsc::Receiver<String>, needle: &str, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = line.contains(needle);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no line with '{needle}' within {within:?}; saw:\n{}", seen.join("\n"));
}

/// A NameServer and a broker (`broker-a` of `DefaultCluster`) as processes.
pub struct Servers {
    pub home: tempfile::TempDir,
    pub namesrv: String,
    pub broker: String,
    children: Vec<Child>,
    /// `-D` options every process started here gets in `JAVA_OPT`, mqadmin included.
    java_opt_extra: String,
}

impl Servers {
    pub fn start() -> Servers {
        Servers::start_full("", "", "")
    }

    /// [`Servers::start`], with `java_opt_extra` added to every `JAVA_OPT`.
    pub fn start_with_java_opt(java_opt_extra: &str) -> Servers {
        Servers::start_full(java_opt_extra, "", "")
    }

    /// As [`Servers::start`], with more `key=value` lines for the
    /// NameServer's and the broker's properties files.
    pub fn start_with(namesrv_extra: &str, broker_extra: &str) -> Servers {
        Servers::start_full("", namesrv_extra, broker_extra)
    }

    fn start_full(java_opt_extra: &str, namesrv_extra: &str, broker_extra: &str) -> Servers {
        let home = tempfile::tempdir().expect("home");
        let java_opt = format!("-Duser.home={} {java_opt_extra}", home.path().display());
        let ns_conf = home.path().join("namesrv.properties");
        let port = rmq_testkit::ports::free_port();
        std::fs::write(&ns_conf, format!("listenPort={port}\nbindAddress=127.0.0.1\n{namesrv_extra}")).unwrap();
        let mut ns = Command::new(MQNAMESRV)
            .args(["-c", ns_conf.to_str().unwrap()])
            .env("JAVA_OPT", &java_opt)
            .env_remove("NAMESRV_ADDR")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mqnamesrv");
        let ns_lines = lines_of(&mut ns);
        wait_for(&ns_lines, "boot success", Duration::from_secs(20));
        let namesrv = format!("127.0.0.1:{port}");
        let broker_port = free_broker_port();
        let conf = home.path().join("broker.properties");
        std::fs::write(
            &conf,
            format!(
                "brokerClusterName=DefaultCluster\nbrokerName=broker-a\nbrokerIP1=127.0.0.1\nlistenPort={broker_port}\n\
                 mappedFileSizeCommitLog=67108864\nmappedFileSizeConsumeQueue=600000\nmaxIndexNum=100000\nmaxHashSlotNum=20000\n\
                 {broker_extra}"
            ),
        )
        .unwrap();
        let mut broker = Command::new(MQBROKER)
            .args(["-c", conf.to_str().unwrap(), "-n", &namesrv])
            .env("JAVA_OPT", &java_opt)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mqbroker");
        let broker_lines = lines_of(&mut broker);
        wait_for(&broker_lines, "boot success", Duration::from_secs(30));
        // Drain the rest so the servers never block on a full pipe.
        for rx in [ns_lines, broker_lines] {
            std::thread::spawn(move || while rx.recv().is_ok() {});
        }
        let servers = Servers {
            home,
            namesrv,
            broker: format!("127.0.0.1:{broker_port}"),
            children: vec![broker, ns],
            java_opt_extra: java_opt_extra.to_owned(),
        };
        servers.wait_until_registered();
        servers
    }

    /// Until `clusterList` shows the broker.
    fn wait_until_registered(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.mqadmin(&["clusterList"]);
            if out.stdout.contains(&self.broker) {
                return;
            }
            assert!(Instant::now() < deadline, "the broker never registered: {out:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `mqadmin <args> -n <namesrv>`.
    pub fn mqadmin(&self, args: &[&str]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-n", self.namesrv.as_str()]);
        run_mqadmin_with(&all, self.home.path(), &self.java_opt_extra)
    }

    /// [`Servers::mqadmin`] run in `cwd`, for commands that write files
    /// relative to the working directory (`consumerStatus`).
    pub fn mqadmin_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-n", self.namesrv.as_str()]);
        run(mqadmin_command(&all, self.home.path(), &self.java_opt_extra).current_dir(cwd))
    }

    /// Until `topicRoute` finds the topic (registration is asynchronous).
    pub fn wait_for_route(&self, topic: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.mqadmin(&["topicRoute", "-t", topic]).code != 0 {
            assert!(Instant::now() < deadline, "no route for {topic}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        }
        for child in &mut self.children {
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One `mqadmin` run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run_mqadmin(args: &[&str], home: &Path) -> Run {
    run_mqadmin_with(args, home, "")
}

/// [`run_mqadmin`] with `java_opt` as `JAVA_OPT`.
pub fn run_mqadmin_with(args: &[&str], home: &Path, java_opt: &str) -> Run {
    run(&mut mqadmin_command(args, home, java_opt))
}

/// `mqadmin <args>` with `HOME` and `JAVA_OPT` set and no inherited NameServer.
fn mqadmin_command(args: &[&str], home: &Path, java_opt: &str) -> Command {
    let mut command = Command::new(MQADMIN);
    command
        .args(args)
        .env("HOME", home)
        .env_remove("NAMESRV_ADDR")
        .env("JAVA_OPT", java_opt)
        .env_remove("JAVA_OPT_EXT")
        .env_remove("RUST_BACKTRACE");
    command
}

fn run(command: &mut Command) -> Run {
    let out: Output = command.output().expect("mqadmin runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Replaces every `yyyy-MM-dd HH:mm:ss[,SSS]` with `<TIME>`.
pub fn mask_times(text: &str) -> String {
    let b = text.as_bytes();
    let shape = |at: usize| -> Option<usize> {
        let pat = b"dddd-dd-dd dd:dd:dd";
        if at + pat.len() > b.len() {
            return None;
        }
        for (i, p) in pat.iter().enumerate() {
            let c = b[at + i];
            let ok = if *p == b'd' { c.is_ascii_digit() } else { c == *p };
            if !ok {
                return None;
            }
        }
        let mut end = at + pat.len();
        if b.get(end) == Some(&b',') && b.get(end + 1..end + 4).is_some_and(|d| d.iter().all(u8::is_ascii_digit)) {
            end += 4;
        }
        Some(end)
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if let Some(end) = shape(i) {
            out.push_str("<TIME>");
            i = end;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

/// Compares `actual` with `tests/golden/<name>`; `RMQ_UPDATE_GOLDEN=1`
/// rewrites the file instead.
pub fn assert_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("RMQ_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if expected != actual {
        panic!("output differs from {}:\n--- expected\n{expected}\n--- actual\n{actual}", path.display());
    }
}
