//! `mqcontroller`: RocketMQ 5's controller, started the way
//! `ControllerStartup` is, and the controller `mqnamesrv` embeds with
//! `enableControllerInNamesrv=true`.
//!
//! ```text
//! mqcontroller [-c controller.properties] [-p] [-h]
//! ```
//!
//! Prints `load config properties file OK, <file>` for `-c`, then
//! `The Controller Server boot success. serializeType=JSON` once it listens
//! (on the port of its own `controllerDLegerPeers` entry, as Java's DLedger
//! controller), and exits 0 after SIGTERM or SIGINT; 1 for a command line
//! that does not parse, 255 for any failure to start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use rmq_controller::ControllerConfig;
use rmq_controller::config::JAVA_ONLY_KEYS;
use rmq_controller::runtime::{self, BoundController};

use crate::{exit, java_opts, logging, properties, signals};

#[derive(Parser, Debug)]
#[command(name = "mqcontroller", about = "RocketMQ controller (rmq)", disable_version_flag = true)]
struct Args {
    /// Controller config properties file
    #[arg(short = 'c', long = "configFile", value_name = "file")]
    config_file: Option<PathBuf>,
    /// Print all config items
    #[arg(short = 'p', long = "printConfigItem")]
    print_config_item: bool,
}

/// Runs `mqcontroller` with `args` (the program name first).
pub fn main(args: Vec<std::ffi::OsString>) -> ExitCode {
    ExitCode::from(run(args) as u8)
}

/// The controller configuration from a properties map; keys the controller
/// does not know are returned (the caller decides whether they are someone
/// else's, as in a NameServer file).
pub(crate) fn config_from(
    map: &BTreeMap<String, String>,
    home: &Path,
) -> anyhow::Result<(ControllerConfig, Vec<String>)> {
    let mut config = ControllerConfig::with_home(home);
    let mut unknown = Vec::new();
    for (key, value) in properties::pairs(map) {
        if config.apply(key, value).map_err(|bad| anyhow::anyhow!("{bad}"))? == rmq_model::config::Applied::Unknown {
            unknown.push(key.to_owned());
        }
    }
    Ok((config, unknown))
}

fn run(args: Vec<std::ffi::OsString>) -> i32 {
    let args: Args = match super::parse_args(args) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let home = java_opts::user_home();
    let mut config = ControllerConfig::with_home(&home);
    let mut unknown = Vec::new();
    if let Some(file) = &args.config_file {
        match properties::load_config_file(file, |map| config_from(map, &home)) {
            Ok((loaded, rest)) => (config, unknown) = (loaded, rest),
            Err(code) => return code,
        }
        config.config_store_path = file.to_string_lossy().into_owned();
    }
    if args.print_config_item {
        print!("{}", config.to_properties_text());
        return exit::OK;
    }
    let log = logging::init("controller", &home);
    log_unknown(&unknown);
    for (key, value) in config.entries() {
        tracing::info!("{key}={value}");
    }
    let runtime = match super::server_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let code = runtime.block_on(async {
        let bound = match bind(config, &home).await {
            Ok(bound) => bound,
            Err(code) => return code,
        };
        let shutdown = match signals::shutdown_token() {
            Ok(token) => token,
            Err(e) => {
                logging::fail(&format!("cannot install signal handlers: {e}"));
                return exit::START_FAILED;
            }
        };
        logging::announce(&format!(
            "The Controller Server boot success. serializeType={}",
            java_opts::serialize_type()
        ));
        bound.serve(shutdown).await;
        exit::OK
    });
    // The runtime's tasks may still log as they stop: before the log ends.
    drop(runtime);
    drop(log);
    code
}

/// Notes the keys nobody knows, and Java's that do nothing here.
pub(crate) fn log_unknown(keys: &[String]) {
    for key in keys {
        if JAVA_ONLY_KEYS.contains(&key.as_str()) {
            tracing::info!("config key '{key}' accepted, no effect in rmq's controller");
        } else {
            tracing::warn!("unknown config key '{key}' ignored");
        }
    }
}

/// Replays the event log and binds the controller port; failures are said
/// and become the exit status.
pub(crate) async fn bind(config: ControllerConfig, home: &Path) -> Result<BoundController, i32> {
    match runtime::bind(config, home).await {
        Ok(bound) => {
            tracing::info!("controller listening on {}", bound.local_addr());
            Ok(bound)
        }
        Err(e) => {
            logging::fail(&format!("controller: {e}"));
            Err(exit::START_FAILED)
        }
    }
}
