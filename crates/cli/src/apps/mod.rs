//! The programs of the distribution, callable from their own binaries
//! (`mqnamesrv`, `mqbroker`, `mqadmin`, `mqproxy`, `mqcontroller`) and from the multi-call `rmq`,
//! which the image ships once under all those names to keep it small.

pub mod admin;
pub mod broker;
pub mod controller;
pub mod namesrv;
pub mod proxy;

use std::ffi::OsString;
use std::process::ExitCode;

/// The programs `rmq` can be, by name.
pub const PROGRAMS: [&str; 5] = ["mqnamesrv", "mqbroker", "mqadmin", "mqproxy", "mqcontroller"];

/// Runs the program named by `args[0]`'s file name (a link named `mqbroker`),
/// or by `args[1]` (`rmq mqbroker -c …`).
pub fn dispatch(args: Vec<OsString>) -> ExitCode {
    let called = args.first().map(std::path::Path::new).and_then(|p| p.file_name()).and_then(|n| n.to_str());
    if let Some(program) = called.filter(|n| PROGRAMS.contains(n)) {
        let program = program.to_owned();
        return run(&program, args);
    }
    match args.get(1).and_then(|a| a.to_str()).filter(|n| PROGRAMS.contains(n)) {
        Some(program) => {
            let program = program.to_owned();
            run(&program, args.into_iter().skip(1).collect())
        }
        None => {
            eprintln!("usage: rmq <{}> [options]   (or run it under one of those names)", PROGRAMS.join("|"));
            ExitCode::from(crate::exit::BAD_ARGUMENTS as u8)
        }
    }
}

/// Parses a server's command line as Java's `ServerUtil.parseCmdLine` answers
/// it: `-h` prints usage and exits 0, anything unparsable prints usage and
/// exits 1. `Err` holds that exit status.
pub(crate) fn parse_args<A: clap::Parser>(args: Vec<OsString>) -> Result<A, i32> {
    A::try_parse_from(args).map_err(|e| {
        let code = if e.use_stderr() { crate::exit::BAD_ARGUMENTS } else { crate::exit::OK };
        let _ = e.print();
        code
    })
}

/// The runtime a server runs on: one worker per core, at most four. `Err`
/// holds the exit status after saying why it could not start.
pub(crate) fn server_runtime() -> Result<tokio::runtime::Runtime, i32> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().map_err(|e| {
        eprintln!("cannot start the runtime: {e}");
        crate::exit::START_FAILED
    })
}

fn run(program: &str, args: Vec<OsString>) -> ExitCode {
    match program {
        "mqnamesrv" => namesrv::main(args),
        "mqbroker" => broker::main(args),
        "mqproxy" => proxy::main(args),
        "mqcontroller" => controller::main(args),
        _ => admin::main(args),
    }
}
