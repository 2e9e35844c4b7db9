//! `mqadmin`: RocketMQ's admin tool (see `rmq_cli::admin`).
//!
//! ```text
//! mqadmin                      the list of sub-commands
//! mqadmin help <command>       a sub-command's options
//! mqadmin <command> [-n 'host:9876;host2:9876'] [options]
//! ```
//!
//! Exit status 0 when the sub-command did its work; 1 for bad options, an
//! unknown sub-command, or a failure (named in one line on stderr).

use std::process::ExitCode;

/// Runs `mqadmin` with `args` (the program name first).
pub fn main(args: Vec<std::ffi::OsString>) -> ExitCode {
    // Output piped into `head` and the like: stop quietly when the reader is
    // gone; any other panic is one line, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let text = info.to_string();
        if text.contains("Broken pipe") {
            std::process::exit(141);
        }
        eprintln!("mqadmin: internal error: {}", text.lines().last().unwrap_or_default());
    }));
    let args: Vec<String> = args.into_iter().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    ExitCode::from(crate::admin::main(args) as u8)
}
