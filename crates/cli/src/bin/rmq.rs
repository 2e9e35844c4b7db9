//! `rmq`: one binary that is `mqnamesrv`, `mqbroker` or `mqadmin` by the name
//! it is run under (`rmq_cli::apps::dispatch`). The image ships it once
//! under all three names.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    rmq_cli::apps::dispatch(std::env::args_os().collect())
}
