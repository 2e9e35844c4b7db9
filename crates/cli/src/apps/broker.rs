//! `mqbroker`: RocketMQ's broker, started the way `BrokerStartup` is.
//!
//! ```text
//! mqbroker [-c broker.conf] [-n 'host:9876;host2:9876'] [-p] [-m] [-h]
//! ```
//!
//! Configuration precedence, as Java's: defaults, then `NAMESRV_ADDR`, then
//! the `-c` file, then the command line. Prints
//! `The broker[<name>, <ip:port>] boot success. serializeType=JSON and name server is <addrs>`
//! once it serves, and exits 0 after SIGTERM or SIGINT having unregistered,
//! flushed and closed its store. Exit codes as Java's `BrokerStartup`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{exit, java_opts, logging, properties, signals};
use clap::Parser;
use rmq_broker::config::LoadReport;
use rmq_broker::{BootInfo, Settings};

#[derive(Parser, Debug)]
#[command(name = "mqbroker", about = "RocketMQ broker (rmq)", disable_version_flag = true)]
struct Args {
    /// Broker config properties file
    #[arg(short = 'c', long = "configFile", value_name = "file")]
    config_file: Option<PathBuf>,
    /// Print all config items
    #[arg(short = 'p', long = "printConfigItem")]
    print_config_item: bool,
    /// Print important config items
    #[arg(short = 'm', long = "printImportantConfig")]
    print_important_config: bool,
    /// Name server address list, eg: '192.168.0.1:9876;192.168.0.2:9876'
    #[arg(short = 'n', long = "namesrvAddr", value_name = "addr")]
    namesrv_addr: Option<String>,
    /// Also serve RocketMQ 5's gRPC clients (the proxy, local mode) on grpcServerPort (8081)
    #[arg(long = "enable-proxy")]
    enable_proxy: bool,
    /// Proxy config file (JSON) when --enable-proxy is given
    #[arg(long = "proxyConfigPath", value_name = "file")]
    proxy_config_path: Option<PathBuf>,
}

/// The keys `-m` prints: those that decide who the broker is and where it listens.
const IMPORTANT_KEYS: &[&str] = &[
    "brokerClusterName",
    "brokerName",
    "brokerId",
    "brokerRole",
    "flushDiskType",
    "namesrvAddr",
    "brokerIP1",
    "brokerIP2",
    "listenPort",
    "haListenPort",
    "storePathRootDir",
    "storePathCommitLog",
    "autoCreateTopicEnable",
];

/// Runs `mqbroker` with `args` (the program name first, as `std::env::args_os`).
pub fn main(args: Vec<std::ffi::OsString>) -> ExitCode {
    ExitCode::from(run(args) as u8)
}

pub(crate) fn run(args: Vec<std::ffi::OsString>) -> i32 {
    let args: Args = match super::parse_args(super::proxy::java_short_options(args)) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let home = java_opts::user_home();
    let mut settings = Settings::new(&home);
    let mut report = LoadReport::default();
    let env_namesrv = std::env::var("NAMESRV_ADDR").ok().or_else(|| java_opts::property("rocketmq.namesrv.addr"));
    if let Some(addr) = env_namesrv.filter(|a| !a.trim().is_empty()) {
        settings.broker.namesrv_addr = Some(addr);
    }
    if let Some(file) = &args.config_file {
        let loaded = properties::load_config_file(file, |map| {
            settings.apply_all(properties::pairs(map)).map_err(|bad| anyhow::anyhow!("{}: {bad}", file.display()))
        });
        match loaded {
            Ok(r) => report = r,
            Err(code) => return code,
        }
    }
    if let Some(addr) = &args.namesrv_addr {
        settings.broker.namesrv_addr = Some(addr.clone());
    }
    if let Err(e) = settings.resolve() {
        eprintln!("{e}");
        return exit::INIT_FAILED;
    }
    settings.tls = match crate::tls::resolve(settings.tls) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("TLS: {e}");
            return exit::START_FAILED;
        }
    };
    if args.print_config_item || args.print_important_config {
        print_config(&settings, args.print_important_config.then_some(IMPORTANT_KEYS));
        return exit::OK;
    }

    let proxy = if args.enable_proxy {
        match super::proxy::load_config(args.proxy_config_path.as_deref()) {
            Ok((config, _)) => Some(local_proxy_acl(config, &settings.broker)),
            Err(e) => {
                eprintln!("load proxy config failed, {e}");
                return exit::START_FAILED;
            }
        }
    } else {
        None
    };
    let log_name = if settings.broker.isolate_log_enable {
        format!("{}_{}/broker", settings.identity().broker_name, settings.broker.broker_id)
    } else {
        "broker".to_owned()
    };
    let log = logging::init_with(&log_name, &home, logging::BROKER_SIDE_LOGS, Some(&settings.broker.rmq_log_level));
    rmq_model::log_level::on_change(logging::set_filter);
    for key in &report.unknown {
        tracing::warn!("config key '{key}' is not supported by rmq and is ignored");
    }
    if settings.broker.enable_slave_acting_master {
        tracing::warn!(
            "enableSlaveActingMaster=true is not supported by rmq: a slave never stands in for its master \
             (use controller mode, enableControllerMode=true, for failover)"
        );
    }
    if !report.java_only.is_empty() {
        tracing::info!("JVM/thread-pool keys accepted with no effect in rmq: {}", report.java_only.join(", "));
    }
    for (key, value) in all_entries(&settings) {
        tracing::info!("{key}={value}");
    }
    tracing::info!("tls.server.mode={}, tls.enable={}", settings.tls.server_mode, settings.tls.client_enable);
    let code = serve(settings, proxy);
    drop(log);
    code
}

fn all_entries(settings: &Settings) -> Vec<(&'static str, String)> {
    let mut entries = settings.broker.entries();
    entries.extend(settings.store.entries());
    entries
}

fn print_config(settings: &Settings, only: Option<&[&str]>) {
    for (key, value) in all_entries(settings) {
        if only.is_none_or(|keys| keys.contains(&key)) {
            println!("{key}={value}");
        }
    }
}

fn serve(settings: Settings, proxy: Option<rmq_proxy::ProxyConfig>) -> i32 {
    let runtime = match super::server_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let shutdown = match signals::shutdown_token() {
            Ok(token) => token,
            Err(e) => {
                eprintln!("cannot install signal handlers: {e}");
                return exit::START_FAILED;
            }
        };
        let serialize_type = java_opts::serialize_type();
        let (booted_tx, booted) = tokio::sync::oneshot::channel::<BootInfo>();
        let ready = move |info: &BootInfo| {
            let _ = booted_tx.send(info.clone());
            let mut line = format!(
                "The broker[{}, {}] boot success. serializeType={serialize_type}",
                info.broker_name, info.broker_addr
            );
            if let Some(ns) = &info.namesrv_addr {
                line.push_str(&format!(" and name server is {ns}"));
            }
            logging::announce(&line);
        };
        let broker = rmq_broker::run(settings, shutdown.clone(), ready);
        let local_proxy = serve_local_proxy(proxy, booted, shutdown.clone());
        let (broker, proxy) = tokio::join!(broker, local_proxy);
        match broker.and_then(|()| proxy.map_err(|e| rmq_broker::BrokerError::ShutdownTask(e.to_string()))) {
            Ok(()) => exit::OK,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("{e}");
                exit::START_FAILED
            }
        }
    })
}

/// Local mode with the broker's `aclEnable=true`: the proxy checks 5.x
/// clients against the broker's own `plain_acl.yml` and signs its calls to
/// the broker with the credentials of `rmq-proxy.json` or the broker home's
/// `conf/tools.yml` (without them the broker refuses it; `run` warns).
fn local_proxy_acl(mut config: rmq_proxy::ProxyConfig, broker: &rmq_broker::BrokerConfig) -> rmq_proxy::ProxyConfig {
    if !broker.acl_enable {
        return config;
    }
    let home =
        broker.rocketmq_home.clone().or_else(|| std::env::var("ROCKETMQ_HOME").ok()).unwrap_or_else(|| ".".to_owned());
    let conf = std::path::Path::new(&home).join("conf");
    config.acl_enable = true;
    config.acl_file = conf.join("plain_acl.yml");
    config.sign_broker_calls = true;
    config.tools_file = conf.join("tools.yml");
    config
}

/// `--enable-proxy`: once the broker serves, the proxy in local mode (only
/// this broker's queues) over the same NameServers. A proxy that cannot
/// start stops the broker too, as Java's local mode does.
async fn serve_local_proxy(
    config: Option<rmq_proxy::ProxyConfig>,
    booted: tokio::sync::oneshot::Receiver<BootInfo>,
    shutdown: rmq_remoting::CancellationToken,
) -> Result<(), rmq_proxy::ProxyError> {
    let Some(mut config) = config else { return Ok(()) };
    let Ok(info) = booted.await else { return Ok(()) };
    match &info.namesrv_addr {
        Some(addr) => config.namesrv_addr = addr.clone(),
        None => tracing::warn!("--enable-proxy without a NameServer: the proxy finds no routes"),
    }
    config.mode = rmq_proxy::ProxyMode::Local { broker_name: info.broker_name.clone() };
    let ready = |addr: std::net::SocketAddr, remoting: Option<std::net::SocketAddr>| {
        let remoting = remoting.map(|r| format!(", remoting on {r}")).unwrap_or_default();
        logging::announce(&format!(
            "The proxy boot success. gRPC on {addr}{remoting}, local mode for broker {}",
            info.broker_name
        ));
    };
    let served = rmq_proxy::run(config, shutdown.clone(), ready).await;
    if let Err(e) = &served {
        logging::fail(&format!("the proxy stops the broker: {e}"));
        shutdown.cancel();
    }
    served
}
