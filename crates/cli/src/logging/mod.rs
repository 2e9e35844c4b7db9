//! Logging for the binaries: tracing events go to stdout and to
//! `<home>/logs/rocketmqlogs/<name>.log` (RocketMQ's place: `namesrv.log`,
//! `broker.log`, `proxy.log`), with Java-like local timestamps.
//!
//! As with Java's logback configuration, files roll by size into
//! `otherdays/<name>.<i>.log.gz` ([`rolling`]), and the broker writes some
//! kinds of lines to files of their own ([`BROKER_SIDE_LOGS`]: `store.log`,
//! `remoting.log`, `transaction.log`, `pop.log`, `stats.log`) instead of
//! `broker.log`.
//!
//! The level filter is `RUST_LOG`, else the one the caller gives (the broker's
//! `rmqLogLevel`), else `info`, in `tracing`'s directive syntax
//! (`info,rmq_store=debug`); [`set_filter`] replaces it while running.
//!
//! A log file that cannot be written is reported in one line on stderr and
//! logging carries on without it: losing a file must not stop a server.
//!
//! Lines are written by a thread per destination ([`writer`]); at exit
//! [`LogGuard`]'s drop (or [`finish`]) waits until every line logged before
//! is written, so the last ones ("shutdown complete") are never lost.

pub mod rolling;
mod writer;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tracing::Metadata;
use tracing_subscriber::filter::{Targets, filter_fn};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{Registry, reload};

use crate::java_opts;
use rolling::{RollingFile, Window};
use writer::{Drain, LineWriter};

/// Target of [`announce`]'s and [`fail`]'s events: written to the file, kept
/// off stdout (where the line is printed bare).
const ANNOUNCE_TARGET: &str = "rmq::announce";

/// Lines queued per writer thread of stdout and the main file.
const BUFFERED_LINES: usize = 8_192;
/// The same for the side files, which see far fewer lines.
const SIDE_BUFFERED_LINES: usize = 1_024;

/// A file of its own for the lines of some targets, as Java's loggers with
/// `additivity="false"` (`RocketmqStore` → `store.log`, ...).
#[derive(Debug)]
pub struct SideLog {
    /// File name without `.log`.
    pub name: &'static str,
    /// Target prefixes (module paths) whose lines go there.
    pub targets: &'static [&'static str],
    pub window: Window,
}

const MB: u64 = 1 << 20;

/// The broker's side files, with Java's sizes and window lengths. Replication
/// is in `store.log` because Java's HA service logs through the store's logger.
pub const BROKER_SIDE_LOGS: &[SideLog] = &[
    SideLog {
        name: "store",
        targets: &["rmq_store", "rmq_replication", "rmq_broker::ha"],
        window: Window { max_file_size: 128 * MB, max_index: 10 },
    },
    SideLog { name: "remoting", targets: &["rmq_remoting"], window: Window { max_file_size: 100 * MB, max_index: 10 } },
    SideLog {
        name: "transaction",
        targets: &["rmq_broker::transaction"],
        window: Window { max_file_size: 100 * MB, max_index: 10 },
    },
    SideLog {
        name: "pop",
        targets: &["rmq_broker::pop", "rmq_broker::handlers::pop"],
        window: Window { max_file_size: 128 * MB, max_index: 20 },
    },
    SideLog {
        name: "stats",
        targets: &[rmq_broker::stats_log::TARGET],
        window: Window { max_file_size: 100 * MB, max_index: 5 },
    },
];

/// Java's window of a process's main file: `broker.log` 128 MB × 20,
/// `namesrv.log` 100 MB × 5, `proxy.log` 128 MB × 10.
fn main_window(name: &str) -> Window {
    if name.ends_with("namesrv") {
        Window { max_file_size: 100 * MB, max_index: 5 }
    } else if name.ends_with("broker") {
        Window { max_file_size: 128 * MB, max_index: 20 }
    } else {
        Window { max_file_size: 128 * MB, max_index: 10 }
    }
}

/// `-Drmq.log.maxFileSize=` (`128MB`, `1GB`, bytes) and `-Drmq.log.maxIndex=`
/// in `JAVA_OPT` replace every file's defaults (rmq's; Java users edit the
/// logback XML instead). A value that does not parse is reported and ignored.
fn configured(window: Window) -> Window {
    let mut window = window;
    if let Some(text) = java_opts::property("rmq.log.maxFileSize") {
        match rolling::parse_size(&text).filter(|&n| n > 0) {
            Some(size) => window.max_file_size = size,
            None => {
                eprintln!("-Drmq.log.maxFileSize={text} is not a size such as 128MB; keeping {}", window.max_file_size)
            }
        }
    }
    if let Some(text) = java_opts::property("rmq.log.maxIndex") {
        match text.trim().parse() {
            Ok(count) => window.max_index = count,
            Err(_) => eprintln!("-Drmq.log.maxIndex={text} is not a count; keeping {}", window.max_index),
        }
    }
    window
}

/// How long the exit waits at most for queued lines to be written: far more
/// than a loaded machine needs, yet an end when a disk stops answering.
const EXIT_WAIT: Duration = Duration::from_secs(30);

/// The writer threads [`finish`] ends: global so that an exit that cannot
/// wait for [`LogGuard`]'s drop (a second SIGTERM) writes the lines too.
static DRAINS: Mutex<Vec<Drain>> = Mutex::new(Vec::new());

/// Dropping it writes out every line logged so far ([`finish`]) and ends
/// logging: drop it last, before the process exits.
#[derive(Debug)]
pub struct LogGuard {
    /// Where the main log file is, if it could be opened.
    pub file: Option<PathBuf>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        finish();
    }
}

/// Waits until every line logged so far is written and flushed (at most
/// 30 s; stdout only while it takes lines), then stops the writer threads:
/// lines logged afterwards are dropped. Call it before `std::process::exit`;
/// [`LogGuard`]'s drop calls it on a return from `main`. A concurrent call
/// waits for the first to end.
pub fn finish() {
    let deadline = Instant::now() + EXIT_WAIT;
    let mut drains = DRAINS.lock().unwrap_or_else(PoisonError::into_inner);
    let unfinished = drains.drain(..).map(|d| d.finish(deadline)).filter(|done| !done).count();
    if unfinished > 0 {
        eprintln!(
            "{unfinished} log writer(s) still writing after {} s; their last lines may be lost",
            EXIT_WAIT.as_secs()
        );
    }
}

/// A writer thread for `sink`, registered for [`finish`]; `None`, reported
/// on stderr, if no thread can be started.
fn start(sink: impl io::Write + Send + 'static, lines: usize, lossy: bool) -> Option<LineWriter> {
    match writer::spawn(sink, lines, lossy) {
        Ok((writer, drain)) => {
            DRAINS.lock().unwrap_or_else(PoisonError::into_inner).push(drain);
            Some(writer)
        }
        Err(e) => {
            eprintln!("cannot start a log writer thread: {e}; logging on without it");
            None
        }
    }
}

/// `<home>/logs/rocketmqlogs/<name>.log`.
pub fn log_file(home: &Path, name: &str) -> PathBuf {
    home.join("logs").join("rocketmqlogs").join(format!("{name}.log"))
}

/// `yyyy-MM-dd HH:mm:ss,SSS` in local time, as RocketMQ's logback patterns.
struct JavaTime;

impl FormatTime for JavaTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        write!(w, "{}", chrono::Local::now().format("%Y-%m-%d %H:%M:%S,%3f"))
    }
}

fn has_target(meta: &Metadata<'_>, prefixes: &[&str]) -> bool {
    target_matches(meta.target(), prefixes)
}

/// `target` is one of `prefixes` or a module inside one.
fn target_matches(target: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| target.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with("::")))
}

/// Replaces the level filter while running (`rmqLogLevel` through
/// UPDATE_BROKER_CONFIG). Fails, changing nothing, on directives that do not
/// parse or before [`init`].
pub fn set_filter(directives: &str) -> Result<(), String> {
    let filter = parse_levels(directives)?;
    let handle = FILTER.get().ok_or("logging is not initialised")?;
    handle.reload(filter).map_err(|e| e.to_string())
}

/// `info`, or `info,rmq_store=debug`: a default level and levels per module.
/// tracing-subscriber's `Targets` rather than its `EnvFilter`, whose span
/// and field filters nobody configures here and whose regex engine costs the
/// image ~0.2 MB.
fn parse_levels(directives: &str) -> Result<Targets, String> {
    directives.trim().parse::<Targets>().map_err(|e| format!("log level '{directives}': {e}"))
}

static FILTER: OnceLock<reload::Handle<Targets, Registry>> = OnceLock::new();

fn file_writer(path: &Path, window: Window, lines: usize) -> Option<LineWriter> {
    match RollingFile::open(path, configured(window)) {
        // The disk keeps up: wait rather than lose file lines in a burst.
        Ok(file) => start(file, lines, false),
        Err(e) => {
            eprintln!("cannot write the log file {}: {e}; logging on without it", path.display());
            None
        }
    }
}

/// Installs the global subscriber for the process `name` (`namesrv`,
/// `broker`, `broker-a_0/broker`, ...), with `side_logs` beside its file and
/// `level` as the filter when `RUST_LOG` is unset.
pub fn init_with(name: &str, home: &Path, side_logs: &[SideLog], level: Option<&str>) -> LogGuard {
    let from_env = std::env::var("RUST_LOG").ok().filter(|l| !l.trim().is_empty());
    let directives = from_env.as_deref().or(level.filter(|l| !l.trim().is_empty())).unwrap_or("info");
    let initial = parse_levels(directives).unwrap_or_else(|e| {
        eprintln!("{e}; using info");
        Targets::new().with_default(tracing::Level::INFO)
    });
    let (filter, handle) = reload::Layer::new(initial);
    let _ = FILTER.set(handle);
    let fmt = || tracing_subscriber::fmt::layer().with_timer(JavaTime).with_target(false).with_ansi(false);

    // Through a writer thread too: a stdout nobody drains (a full pipe) drops
    // log lines instead of stalling the server.
    let mut layers = Vec::new();
    if let Some(stdout) = start(io::stdout(), BUFFERED_LINES, true) {
        layers.push(fmt().with_writer(stdout).with_filter(filter_fn(|meta| meta.target() != ANNOUNCE_TARGET)).boxed());
    }

    let dir = log_file(home, name).parent().map(Path::to_path_buf).unwrap_or_default();
    let path = log_file(home, name);
    let main_file = file_writer(&path, main_window(name), BUFFERED_LINES).map(|writer| {
        let routed: Vec<&'static str> = side_logs.iter().flat_map(|s| s.targets.iter().copied()).collect();
        layers.push(fmt().with_writer(writer).with_filter(filter_fn(move |m| !has_target(m, &routed))).boxed());
        path
    });
    for side in side_logs {
        if let Some(writer) = file_writer(&dir.join(format!("{}.log", side.name)), side.window, SIDE_BUFFERED_LINES) {
            let targets = side.targets;
            layers.push(fmt().with_writer(writer).with_filter(filter_fn(move |m| has_target(m, targets))).boxed());
        }
    }
    let _ = tracing_subscriber::registry().with(filter).with(layers).try_init();
    LogGuard { file: main_file }
}

/// [`init_with`] with no side files and the default level.
pub fn init(name: &str, home: &Path) -> LogGuard {
    init_with(name, home, &[], None)
}

/// Prints `line` to stdout exactly as given (tools wait for boot lines such as
/// `The Name Server boot success. serializeType=JSON`) and writes it to the
/// log file.
pub fn announce(line: &str) {
    println!("{line}");
    tracing::info!(target: ANNOUNCE_TARGET, "{line}");
}

/// Prints why the process cannot go on as one line on stderr and writes it
/// to the log file as an error.
pub fn fail(line: &str) {
    eprintln!("{line}");
    tracing::error!(target: ANNOUNCE_TARGET, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_goes_under_rocketmqlogs() {
        assert_eq!(log_file(Path::new("/home/u"), "namesrv"), PathBuf::from("/home/u/logs/rocketmqlogs/namesrv.log"));
    }

    #[test]
    fn targets_match_whole_module_paths() {
        let matches = target_matches;
        assert!(matches("rmq_store", &["rmq_store"]));
        assert!(matches("rmq_store::commitlog", &["rmq_store"]));
        assert!(!matches("rmq_store_extra", &["rmq_store"]));
        assert!(matches("rmq_broker::pop::take", &["rmq_broker::pop"]));
        assert!(!matches("rmq_broker::popular", &["rmq_broker::pop"]));
    }

    #[test]
    fn main_windows_are_javas() {
        assert_eq!(main_window("broker"), Window { max_file_size: 128 * MB, max_index: 20 });
        assert_eq!(main_window("broker-a_0/broker"), Window { max_file_size: 128 * MB, max_index: 20 });
        assert_eq!(main_window("namesrv"), Window { max_file_size: 100 * MB, max_index: 5 });
    }
}
