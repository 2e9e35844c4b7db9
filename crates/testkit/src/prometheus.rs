//! A real Prometheus (Debian's `prometheus` package; scripts/ci-deps.sh
//! installs it) scraping test servers, and its query API, so tests check
//! metrics with PromQL as operators will.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `prometheus` is on the PATH (tests say so and pass without it).
pub fn installed() -> bool {
    Command::new("prometheus").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// A `prometheus` process, killed when dropped.
#[derive(Debug)]
pub struct Prometheus {
    child: Child,
    api: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Scrapes `targets` (job name, `host:port`) every second, keeping its
    /// data and log under `dir`.
    pub fn start(dir: &Path, targets: &[(&str, String)]) -> Prometheus {
        let jobs: String = targets
            .iter()
            .map(|(job, target)| format!("  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"))
            .collect();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{jobs}"),
        )
        .expect("prometheus.yml written");
        let port = crate::ports::free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("prometheus.log created");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("prometheus-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        let prometheus = Prometheus { child, api: format!("127.0.0.1:{port}") };
        prometheus.wait_until(Duration::from_secs(30), "its API answers", |p| {
            p.get("/-/ready").is_some_and(|r| r.contains("Ready"))
        });
        prometheus
    }

    /// GET `path` on the API; the body of a 200 answer.
    pub fn get(&self, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(&self.api).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.api).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        // Go answers an HTTP/1.0 request as HTTP/1.0.
        let status = head.split_whitespace().nth(1)?;
        (status == "200").then(|| body.to_owned())
    }

    /// The single value of an instant query, if it has exactly one series.
    pub fn value(&self, promql: &str) -> Option<f64> {
        let body = self.get(&format!("/api/v1/query?query={}", encode(promql)))?;
        let json: serde_json::Value = serde_json::from_str(&body).ok()?;
        let result = json["data"]["result"].as_array()?;
        if result.len() != 1 {
            return None;
        }
        result[0]["value"][1].as_str()?.parse().ok()
    }

    /// Polls `check` until it holds; panics naming `what` after `within`.
    pub fn wait_until(&self, within: Duration, what: &str, check: impl Fn(&Prometheus) -> bool) {
        let deadline = Instant::now() + within;
        while !check(self) {
            assert!(Instant::now() < deadline, "Prometheus: {what} did not happen within {within:?}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// Percent-encodes a query for the URL.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
