//! `mqadmin`: see `rmq_cli::apps::admin`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    rmq_cli::apps::admin::main(std::env::args_os().collect())
}
