//! `mqproxy`: RocketMQ 5's gRPC endpoint for 5.x clients, started the way
//! `ProxyStartup` is.
//!
//! ```text
//! mqproxy [-n 'host:9876;host2:9876'] [-pc conf/rmq-proxy.json] [-pm cluster|local] [-bc broker.conf]
//! ```
//!
//! Cluster mode (the default) serves every broker the NameServers know; it
//! prints `The proxy boot success. gRPC on <addr>, remoting on <addr> and name server is <addrs>`
//! once it listens and exits 0 after SIGTERM or SIGINT. `-pm local` is
//! `mqbroker --enable-proxy -c <bc>`: a broker with the proxy inside.
//! NameServer precedence as Java's: the file's `namesrvAddr`, then
//! `NAMESRV_ADDR` / `-Drocketmq.namesrv.addr`, then `-n`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::{exit, java_opts, logging, signals};
use clap::Parser;
use rmq_proxy::ProxyConfig;

#[derive(Parser, Debug)]
#[command(
    name = "mqproxy",
    about = "RocketMQ proxy: the gRPC endpoint of 5.x clients (rmq)",
    disable_version_flag = true
)]
struct Args {
    /// Name server address list, eg: '192.168.0.1:9876;192.168.0.2:9876'
    #[arg(short = 'n', long = "namesrvAddr", value_name = "addr")]
    namesrv_addr: Option<String>,
    /// Proxy config file (JSON), by default $ROCKETMQ_HOME/conf/rmq-proxy.json if it exists
    #[arg(long = "proxyConfigPath", value_name = "file")]
    proxy_config_path: Option<PathBuf>,
    /// cluster (in front of every broker) or local (with a broker in this process)
    #[arg(long = "proxyMode", value_name = "mode")]
    proxy_mode: Option<String>,
    /// Broker config file of local mode
    #[arg(long = "brokerConfigPath", value_name = "file")]
    broker_config_path: Option<PathBuf>,
}

/// Java's two-letter short options (`-pc`, `-pm`, `-bc`) as long ones, so
/// clap reads them; `-pc=x` works too.
pub(crate) fn java_short_options(args: Vec<OsString>) -> Vec<OsString> {
    let long = |s: &str| match s {
        "-pc" => Some("--proxyConfigPath"),
        "-pm" => Some("--proxyMode"),
        "-bc" => Some("--brokerConfigPath"),
        _ => None,
    };
    args.into_iter()
        .map(|a| match a.to_str() {
            Some(s) => match s.split_once('=') {
                Some((flag, value)) if long(flag).is_some() => {
                    OsString::from(format!("{}={value}", long(flag).unwrap_or(flag)))
                }
                _ => long(s).map_or(a.clone(), OsString::from),
            },
            None => a,
        })
        .collect()
}

/// Runs `mqproxy` with `args` (the program name first).
pub fn main(args: Vec<OsString>) -> ExitCode {
    ExitCode::from(run(args) as u8)
}

/// The proxy settings of `-pc` (or `conf/rmq-proxy.json` under
/// ROCKETMQ_HOME when it exists), defaults otherwise.
pub(crate) fn load_config(path: Option<&Path>) -> Result<(ProxyConfig, Vec<String>), String> {
    let default = std::env::var_os("ROCKETMQ_HOME").map(|home| PathBuf::from(home).join("conf/rmq-proxy.json"));
    let path = match path {
        Some(p) => Some(p.to_path_buf()),
        None => default.filter(|p| p.exists()),
    };
    let (mut config, ignored) = match path {
        Some(p) => ProxyConfig::load(&p).map_err(|e| e.to_string())?,
        None => (ProxyConfig::default(), Vec::new()),
    };
    config.apply_tls_properties(java_opts::property)?;
    config.remoting_tls = crate::tls::client().map_err(|e| format!("TLS: {e}"))?;
    config.remoting_server_tls = remoting_server_tls(&config)?;
    Ok((config, ignored))
}

/// TLS on the remoting port: Java's `tls.*` switches as the brokers' ports
/// take them (permissive by default), with the proxy's own certificate
/// (`tlsCertPath`/`tlsKeyPath`) when it names one.
fn remoting_server_tls(config: &ProxyConfig) -> Result<rmq_remoting::ServerTls, String> {
    let mut settings = crate::tls::resolve(rmq_remoting::TlsSettings::default()).map_err(|e| format!("TLS: {e}"))?;
    if let (Some(cert), Some(key)) = (&config.tls.cert_path, &config.tls.key_path) {
        settings.server_cert_path = Some(cert.clone());
        settings.server_key_path = Some(key.clone());
    }
    rmq_remoting::ServerTls::from_settings(&settings).map_err(|e| format!("TLS on the remoting port: {e}"))
}

fn run(args: Vec<OsString>) -> i32 {
    let args: Args = match super::parse_args(java_short_options(args)) {
        Ok(args) => args,
        Err(code) => return code,
    };
    if let Some(mode) = &args.proxy_mode {
        if mode.eq_ignore_ascii_case("local") {
            let mut broker_args = vec![OsString::from("mqbroker"), OsString::from("--enable-proxy")];
            if let Some(bc) = &args.broker_config_path {
                broker_args.extend([OsString::from("-c"), bc.clone().into_os_string()]);
            }
            if let Some(pc) = &args.proxy_config_path {
                broker_args.extend([OsString::from("--proxyConfigPath"), pc.clone().into_os_string()]);
            }
            if let Some(ns) = &args.namesrv_addr {
                broker_args.extend([OsString::from("-n"), OsString::from(ns)]);
            }
            return super::broker::run(broker_args);
        }
        if !mode.eq_ignore_ascii_case("cluster") {
            eprintln!("proxyMode must be cluster or local, not '{mode}'");
            return exit::BAD_ARGUMENTS;
        }
    }
    let (mut config, ignored) = match load_config(args.proxy_config_path.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("load proxy config failed, {e}");
            return exit::START_FAILED;
        }
    };
    let env_namesrv = std::env::var("NAMESRV_ADDR").ok().or_else(|| java_opts::property("rocketmq.namesrv.addr"));
    if let Some(addr) = env_namesrv.filter(|a| !a.trim().is_empty()) {
        config.namesrv_addr = addr;
    }
    if let Some(addr) = &args.namesrv_addr {
        config.namesrv_addr = addr.clone();
    }
    let home = java_opts::user_home();
    let log = logging::init("proxy", &home);
    for key in &ignored {
        tracing::info!("proxy config key '{key}' has no effect in rmq");
    }
    let code = serve(config);
    drop(log);
    code
}

fn serve(config: ProxyConfig) -> i32 {
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
        let namesrv = config.namesrv_addr.clone();
        let ready = move |addr: std::net::SocketAddr, remoting: Option<std::net::SocketAddr>| {
            let remoting = remoting.map(|r| format!(", remoting on {r}")).unwrap_or_default();
            logging::announce(&format!(
                "The proxy boot success. gRPC on {addr}{remoting} and name server is {namesrv}"
            ));
        };
        match rmq_proxy::run(config, shutdown, ready).await {
            Ok(()) => exit::OK,
            Err(e) => {
                logging::fail(&e.to_string());
                exit::START_FAILED
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javas_two_letter_options() {
        let args: Vec<OsString> = ["mqproxy", "-pc", "a.json", "-pm=local", "-n", "x:9876"].map(OsString::from).into();
        let got: Vec<String> = java_short_options(args).into_iter().map(|a| a.into_string().unwrap()).collect();
        assert_eq!(got, ["mqproxy", "--proxyConfigPath", "a.json", "--proxyMode=local", "-n", "x:9876"]);
    }
}
