//! Running one case: bounded in time, its containers and network removed
//! whatever happens, its message counts reported.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::docker;

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// The running case: its name and the run id every resource it creates is
/// labelled with.
#[derive(Debug)]
pub struct Case {
    name: &'static str,
    run: String,
    resources: AtomicUsize,
}

impl Case {
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `rmq-it-<pid>-<n>`: unique per case on this engine.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// A fresh name for a network (containers are named after their network).
    pub fn next_resource_name(&self) -> String {
        match self.resources.fetch_add(1, Ordering::Relaxed) {
            0 => self.run.clone(),
            n => format!("{}-{n}", self.run),
        }
    }
}

/// Message counts of a case, as reported in docs/integration.md.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Send attempts (every kind).
    pub sent: usize,
    /// SEND_OK results (oneway sends get none).
    pub acked: usize,
    /// Distinct messages the consumers received.
    pub received: usize,
    /// Messages that had to arrive and did not: acknowledged ones, and in
    /// fault-free cases oneway ones too. Every case asserts it is 0.
    pub lost: usize,
    /// One line on what happened (failover times, redeliveries, ...).
    pub note: String,
}

/// Runs `body` as case `name`, failing it after `limit`. Whatever the
/// outcome, everything labelled with the case's run id is removed afterwards
/// (the cluster's own `Drop` normally did it already; a leftover after a
/// passing case fails it). Needs a multi-threaded runtime.
pub async fn run<F, Fut>(name: &'static str, limit: Duration, body: F)
where
    F: FnOnce(Case) -> Fut,
    Fut: Future<Output = Tally> + Send + 'static,
{
    docker::preflight();
    let run = format!("rmq-it-{}-{}", std::process::id(), RUNS.fetch_add(1, Ordering::Relaxed) + 1);
    let case = Case { name, run: run.clone(), resources: AtomicUsize::new(0) };
    eprintln!("[rmq-it] {name}: run {run}, bounded to {limit:?}");
    let started = Instant::now();
    let mut task = tokio::spawn(body(case));
    let outcome = match tokio::time::timeout(limit, &mut task).await {
        Ok(Ok(tally)) => Ok(tally),
        Ok(Err(e)) if e.is_panic() => Err(Failure::Panic(e.into_panic())),
        Ok(Err(e)) => Err(Failure::Message(format!("case task ended: {e}"))),
        Err(_) => {
            // Dropping the case's future drops its cluster, which removes it.
            task.abort();
            let _ = task.await;
            Err(Failure::Message(format!("case {name} did not finish within its {limit:?} bound")))
        }
    };
    let elapsed = started.elapsed();
    let leftovers = docker::sweep(&docker::docker(), docker::LABEL_RUN, &run).await;
    if leftovers > 0 {
        eprintln!("[rmq-it] {name}: the sweep removed {leftovers} leftover container(s)/network(s) of run {run}");
    }
    match outcome {
        Ok(tally) => {
            record(name, "passed", Some(&tally), elapsed);
            assert_eq!(leftovers, 0, "{name}: {leftovers} container(s)/network(s) were left behind (removed now)");
        }
        Err(failure) => {
            record(name, "FAILED", None, elapsed);
            match failure {
                Failure::Panic(payload) => std::panic::resume_unwind(payload),
                Failure::Message(m) => panic!("{m}"),
            }
        }
    }
}

enum Failure {
    Panic(Box<dyn std::any::Any + Send>),
    Message(String),
}

/// Prints the case's result line and, when `RMQ_IT_RESULTS` names a file,
/// appends it there as tab-separated values (scripts/test-integration.sh
/// turns them into the table of docs/integration.md).
fn record(name: &str, status: &str, tally: Option<&Tally>, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    let line = match tally {
        Some(t) => {
            format!("{name}\t{status}\t{}\t{}\t{}\t{}\t{secs:.0}\t{}", t.sent, t.acked, t.received, t.lost, t.note)
        }
        None => format!("{name}\t{status}\t-\t-\t-\t-\t{secs:.0}\t"),
    };
    eprintln!("[rmq-it] RESULT {}", line.replace('\t', " | "));
    if let Ok(path) = std::env::var("RMQ_IT_RESULTS")
        && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&path)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Runs cleanup `fut` to completion from a `Drop`: in place on a
/// multi-threaded runtime (as testcontainers does for its containers), else on
/// a short-lived runtime of its own.
pub(crate) fn block_on_cleanup<F>(fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(move || handle.block_on(fut));
        }
        _ => {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    rt.block_on(fut);
                }
            })
            .join();
        }
    }
}
