//! `mqproxy`: see `rmq_cli::apps::proxy`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    rmq_cli::apps::proxy::main(std::env::args_os().collect())
}
