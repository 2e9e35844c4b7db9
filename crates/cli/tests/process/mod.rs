//! Shared by the controller suites: a server process started under its own
//! `-Duser.home`, its stdout read on a thread, killed with SIGKILL when the
//! test drops it (a failed test leaves no process behind).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// A running `mqcontroller`, `mqnamesrv` or `mqbroker`.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Starts `bin` with `args`, its home (and so its logs) in `home`.
    pub fn start(bin: &str, home: &Path, args: &[&str]) -> Running {
        let mut child = Command::new(bin)
            .args(args)
            .env("JAVA_OPT", format!("-Duser.home={}", home.display()))
            .env_remove("JAVA_OPT_EXT")
            .env_remove("NAMESRV_ADDR")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Running { child, lines }
    }

    /// Waits for a line containing `needle`, within `within`.
    pub fn wait_line(&self, needle: &str, within: Duration) -> String {
        self.wait_lines(&[needle], within).remove(0)
    }

    /// Waits until a line has contained each of `needles`, in any order;
    /// returns those lines in the order of `needles`.
    pub fn wait_lines(&self, needles: &[&str], within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut found: Vec<Option<String>> = vec![None; needles.len()];
        let mut seen = VecDeque::new();
        while found.iter().any(Option::is_none) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(i) = (0..needles.len()).find(|&i| found[i].is_none() && line.contains(needles[i])) {
                        found[i] = Some(line);
                    } else {
                        if seen.len() == 20 {
                            seen.pop_front();
                        }
                        seen.push_back(line);
                    }
                }
                Err(e) => {
                    panic!("no line with each of {needles:?} within {within:?} ({e}); the last lines:\n{seen:#?}")
                }
            }
        }
        found.into_iter().flatten().collect()
    }

    /// Sends signal `name` (`STOP`, `CONT`, ...): a stopped process keeps
    /// its sockets open but answers nothing, as a host cut off the network.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success(), "kill -{name} {}", self.child.id());
    }

    /// Kills the process with SIGKILL and reaps it.
    pub fn sigkill(self) {
        drop(self);
    }
}
