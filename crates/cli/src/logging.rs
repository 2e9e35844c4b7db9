//! Logging for the binaries: tracing events go to stdout and to
//! `<home>/logs/rocketmqlogs/<name>.log` (RocketMQ's place: `namesrv.log`,
//! `broker.log`), with Java-like local timestamps. `RUST_LOG` filters (default
//! `info`).
//!
//! A log file that cannot be written is reported in one line on stderr and
//! logging carries on to stdout only: losing the file must not stop a server.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::prelude::*;

/// Target of [`announce`]'s and [`fail`]'s events: written to the file, kept
/// off stdout (where the line is printed bare).
const ANNOUNCE_TARGET: &str = "rmq::announce";

/// Lines queued per writer thread. The queue is allocated up front (32 bytes
/// a line), so tracing-appender's default of 128,000 would cost 4 MiB each.
const BUFFERED_LINES: usize = 8_192;

/// Keeps the writer threads running; drop it last (it flushes on drop).
#[derive(Debug)]
pub struct LogGuard {
    _stdout: WorkerGuard,
    _file: Option<WorkerGuard>,
    /// Where the log file is, if it could be opened.
    pub file: Option<PathBuf>,
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

fn open_append(path: &Path) -> io::Result<fs::File> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

/// Installs the global subscriber for the process `name` (`namesrv`, ...).
pub fn init(name: &str, home: &Path) -> LogGuard {
    let path = log_file(home, name);
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Through a writer thread too: a stdout nobody drains (a full pipe) drops
    // log lines instead of stalling the server.
    let (stdout_writer, stdout_guard) =
        NonBlockingBuilder::default().buffered_lines_limit(BUFFERED_LINES).lossy(true).finish(io::stdout());
    let stdout = tracing_subscriber::fmt::layer()
        .with_timer(JavaTime)
        .with_target(false)
        .with_ansi(false)
        .with_writer(stdout_writer)
        .with_filter(filter_fn(|meta| meta.target() != ANNOUNCE_TARGET))
        .with_filter(filter());
    let (file_layer, guard, file) = match open_append(&path) {
        Ok(file) => {
            // The disk keeps up: wait rather than lose file lines in a burst.
            let (writer, guard) =
                NonBlockingBuilder::default().buffered_lines_limit(BUFFERED_LINES).lossy(false).finish(file);
            let layer = tracing_subscriber::fmt::layer()
                .with_timer(JavaTime)
                .with_target(false)
                .with_ansi(false)
                .with_writer(writer)
                .with_filter(filter());
            (Some(layer), Some(guard), Some(path))
        }
        Err(e) => {
            eprintln!("cannot write the log file {}: {e}; logging to stdout only", path.display());
            (None, None, None)
        }
    };
    let _ = tracing_subscriber::registry().with(stdout).with(file_layer).try_init();
    LogGuard { _stdout: stdout_guard, _file: guard, file }
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
}
