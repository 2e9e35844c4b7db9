//! `mqnamesrv`: see `rmq_cli::apps::namesrv`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    rmq_cli::apps::namesrv::main(std::env::args_os().collect())
}
