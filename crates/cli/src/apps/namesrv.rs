//! `mqnamesrv`: RocketMQ's NameServer, started the way `NamesrvStartup` is.
//!
//! ```text
//! mqnamesrv [-c namesrv.properties] [-p] [-n addr] [-h]
//! ```
//!
//! Prints `load config properties file OK, <file>` for `-c`, then
//! `The Name Server boot success. serializeType=JSON` once it listens, and
//! exits 0 after SIGTERM or SIGINT. Exit codes as Java's `NamesrvStartup`: 1 for a
//! command line that does not parse, 255 (-1) for any failure to start.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::{exit, java_opts, logging, properties, signals};
use clap::Parser;
use rmq_controller::ControllerConfig;
use rmq_nameserver::config::{ApplyReport, JAVA_ONLY_KEYS};
use rmq_nameserver::{NamesrvConfig, runtime};
use rmq_remoting::{ServerTls, TlsSettings};

#[derive(Parser, Debug)]
#[command(name = "mqnamesrv", about = "RocketMQ NameServer (rmq)", disable_version_flag = true)]
struct Args {
    /// Name server config properties file
    #[arg(short = 'c', long = "configFile", value_name = "file")]
    config_file: Option<PathBuf>,
    /// Print all config items
    #[arg(short = 'p', long = "printConfigItem")]
    print_config_item: bool,
    /// Name server address list, eg: '192.168.0.1:9876;192.168.0.2:9876' (accepted, unused, as in Java)
    #[arg(short = 'n', long = "namesrvAddr", value_name = "addr")]
    namesrv_addr: Option<String>,
}

/// Runs `mqnamesrv` with `args` (the program name first, as `std::env::args_os`).
pub fn main(args: Vec<std::ffi::OsString>) -> ExitCode {
    ExitCode::from(run(args) as u8)
}

fn run(args: Vec<std::ffi::OsString>) -> i32 {
    let args: Args = match super::parse_args(args) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let home = java_opts::user_home();
    let mut config = NamesrvConfig::with_home(&home);
    let mut report = ApplyReport::default();
    let mut tls = TlsSettings::default();
    let mut controller = None;
    if let Some(file) = &args.config_file {
        let loaded = properties::load_config_file(file, |map| {
            tls.apply_all(properties::pairs(map)).map_err(|bad| anyhow::anyhow!("{}: {bad}", file.display()))?;
            controller = embedded_controller(map, &home).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let others = properties::pairs(map).filter(|(key, _)| !TlsSettings::knows(key) && !is_controller_key(key));
            config.apply_all(others).map_err(|bad| anyhow::anyhow!("{}: {bad}", file.display()))
        });
        match loaded {
            Ok(r) => report = r,
            Err(code) => return code,
        }
        config.config_store_path = file.to_string_lossy().into_owned();
    }

    if args.print_config_item {
        print!("{}", config.to_properties_text());
        let noted: Vec<&str> = JAVA_ONLY_KEYS.iter().map(|(k, _)| *k).collect();
        println!("# accepted for compatibility, no effect in rmq: {}", noted.join(", "));
        for key in &report.unknown {
            eprintln!("unknown config key '{key}' ignored");
        }
        return exit::OK;
    }

    let log = logging::init_with("namesrv", &home, &[], Some(&config.rmq_log_level));
    rmq_model::log_level::on_change(logging::set_filter);
    report.log(&args.config_file.as_ref().map_or("defaults".to_owned(), |f| f.display().to_string()));
    for (key, value) in config.entries() {
        tracing::info!("{key}={value}");
    }
    let tls = match crate::tls::resolve(tls).and_then(|tls| Ok(ServerTls::from_settings(&tls)?)) {
        Ok(tls) => tls,
        Err(e) => {
            logging::fail(&format!("TLS: {e}"));
            drop(log);
            return exit::START_FAILED;
        }
    };
    tracing::info!("tls.server.mode={}", tls.mode());
    let code = serve(config, tls, controller, &home);
    drop(log);
    code
}

/// With `enableControllerInNamesrv=true`, the controller's configuration
/// from the same file (Java reads the file into both objects).
fn embedded_controller(
    map: &std::collections::BTreeMap<String, String>,
    home: &std::path::Path,
) -> anyhow::Result<Option<ControllerConfig>> {
    let enabled = map.get(ENABLE_CONTROLLER_KEY).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if !enabled {
        return Ok(None);
    }
    let (config, _) = super::controller::config_from(map, home)?;
    Ok(Some(config))
}

const ENABLE_CONTROLLER_KEY: &str = "enableControllerInNamesrv";

/// Keys only the embedded controller reads: the NameServer does not warn
/// about them.
fn is_controller_key(key: &str) -> bool {
    key == ENABLE_CONTROLLER_KEY || (ControllerConfig::knows(key) && !NamesrvConfig::knows(key))
}

fn serve(config: NamesrvConfig, tls: ServerTls, controller: Option<ControllerConfig>, home: &std::path::Path) -> i32 {
    let runtime = match super::server_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let bound = match runtime::bind_with_tls(config, tls).await {
            Ok(bound) => bound,
            Err(e) => {
                logging::fail(&e.to_string());
                return exit::START_FAILED;
            }
        };
        let shutdown = match signals::shutdown_token() {
            Ok(token) => token,
            Err(e) => {
                logging::fail(&format!("cannot install signal handlers: {e}"));
                return exit::START_FAILED;
            }
        };
        let controller = match controller {
            Some(config) => match super::controller::bind(config, home).await {
                Ok(bound) => Some(bound),
                Err(code) => return code,
            },
            None => None,
        };
        tracing::info!("listening on {}", bound.local_addr());
        logging::announce(&format!("The Name Server boot success. serializeType={}", java_opts::serialize_type()));
        let controller = controller.map(|c| {
            logging::announce(&format!(
                "The ControllerManager boot success. serializeType={}",
                java_opts::serialize_type()
            ));
            tokio::spawn(c.serve(shutdown.clone()))
        });
        let serving = bound.serve(shutdown.clone());
        tokio::pin!(serving);
        tokio::select! {
            biased;
            () = shutdown.cancelled() => {
                let started = Instant::now();
                serving.await;
                tracing::info!("shutdown complete, cost {} ms", started.elapsed().as_millis());
            }
            () = &mut serving => {}
        }
        if let Some(controller) = controller {
            shutdown.cancel();
            let _ = controller.await;
        }
        exit::OK
    })
}
