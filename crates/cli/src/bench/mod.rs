//! `mqbench`: load generators in the spirit of RocketMQ's
//! `benchmark/producer.sh` and `consumer.sh`. Every second they print a line
//! of rates and latencies (their progress); at the end, totals and latency
//! percentiles from an HDR histogram. They stop by themselves after a
//! duration or a message count.
//!
//! The producer runs closed-loop (`-w` sends in flight, each started when the
//! last answered: a measure of capacity) or at a fixed rate (`--tps`: sends
//! started on a schedule that does not wait for the server, latency counted
//! from the scheduled time, so a slow answer is not hidden by fewer sends).
//! Fixed-rate bodies carry their scheduled time ([`stamp`]), from which the
//! consumer measures end to end.

pub mod consumer;
pub mod pop_consumer;
pub mod producer;
pub mod stamp;
pub mod stats;

use std::time::Duration;

/// When a run ends: after a time, after a number of messages, or the first.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub duration: Option<Duration>,
    pub messages: Option<u64>,
}

impl Limit {
    /// Whether a run that started `elapsed` ago and handled `done` messages is over.
    pub fn reached(&self, elapsed: Duration, done: u64) -> bool {
        self.duration.is_some_and(|d| elapsed >= d) || self.messages.is_some_and(|m| done >= m)
    }
}

/// `now` as Java's benchmark prints it.
pub fn timestamp() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        let l = Limit { duration: Some(Duration::from_secs(2)), messages: Some(10) };
        assert!(!l.reached(Duration::from_secs(1), 9));
        assert!(l.reached(Duration::from_secs(2), 0));
        assert!(l.reached(Duration::ZERO, 10));
        let unbounded = Limit { duration: None, messages: None };
        assert!(!unbounded.reached(Duration::from_secs(1_000_000), u64::MAX));
    }
}
