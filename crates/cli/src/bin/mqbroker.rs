//! `mqbroker`: see `rmq_cli::apps::broker`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    rmq_cli::apps::broker::main(std::env::args_os().collect())
}
