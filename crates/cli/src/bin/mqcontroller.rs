//! `mqcontroller`: see `rmq_cli::apps::controller`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    rmq_cli::apps::controller::main(std::env::args_os().collect())
}
