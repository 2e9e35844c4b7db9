//! `mqadmin`: see `rmq_cli::apps::admin`.

fn main() -> std::process::ExitCode {
    rmq_cli::apps::admin::main(std::env::args_os().collect())
}
