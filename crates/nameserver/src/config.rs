//! The NameServer's configuration: RocketMQ's keys of `NamesrvConfig` and of
//! the `NettyServerConfig` parts that mean something here (`listenPort`,
//! `bindAddress`, `serverChannelMaxIdleTimeSeconds`), with 4.9.8's
//! defaults.
//!
//! Values come from the defaults, then the `-c` properties file, then
//! UPDATE_NAMESRV_CONFIG at run time (which only the per-request switches
//! such as `orderMessageEnable` notice; ports and paths are read at startup,
//! as in Java). Java-only tuning keys are accepted with a note
//! ([`JAVA_ONLY_KEYS`]); any other unknown key is warned about by name and
//! ignored, never fatal.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rmq_model::allow_list::AllowList;
use rmq_model::config::{Applied, BadValue};
use rmq_model::config_struct;

use crate::error::NamesrvError;

config_struct! {
    /// Every key of `namesrv.properties` that rmq acts on.
    pub struct NamesrvConfig {
        /// Installation directory; from `ROCKETMQ_HOME` when unset. rmq needs
        /// nothing from it but keeps it for GET_NAMESRV_CONFIG.
        rocketmq_home: Option<String> = "rocketmqHome" => std::env::var("ROCKETMQ_HOME").ok(),
        /// Where the KV config lives (`{"configTable":{ns:{k:v}}}`); loaded at
        /// start, rewritten after every change.
        kv_config_path: String = "kvConfigPath" => home_file(&default_home(), KV_CONFIG_FILE),
        /// Where UPDATE_NAMESRV_CONFIG writes the whole config back. Java
        /// sets it to the `-c` file, and so does `mqnamesrv`.
        config_store_path: String = "configStorePath" => home_file(&default_home(), CONFIG_STORE_FILE),
        /// Environment name used by Java's cluster-test mode; kept, unused.
        product_env_name: String = "productEnvName" => "center".to_owned(),
        /// Java's cluster-test mode (routes looked up under a product
        /// environment). Not implemented: a warning is logged when true.
        cluster_test: bool = "clusterTest" => false,
        /// Put the KV namespace `ORDER_TOPIC_CONFIG` into routes as `orderTopicConf`.
        order_message_enable: bool = "orderMessageEnable" => false,
        /// 5.x: return the `ORDER_TOPIC_CONFIG` namespace to registering brokers.
        return_order_topic_config_to_broker: bool = "returnOrderTopicConfigToBroker" => true,
        /// `;`-separated keys UPDATE_NAMESRV_CONFIG may not change, on top of
        /// `configBlackList`, `configStorePath`, `kvConfigPath` and `rocketmqHome`.
        config_black_list: String = "configBlackList" => "configBlackList;configStorePath;kvConfigPath".to_owned(),
        /// 5.x: serve GET_ALL_TOPIC_LIST_FROM_NAMESERVER (else answer "disable").
        enable_all_topic_list: bool = "enableAllTopicList" => true,
        /// 5.x: serve GET_TOPICS_BY_CLUSTER (else answer "disable").
        enable_topic_list: bool = "enableTopicList" => true,
        /// Period of the scan for silent brokers, ms. (4.9.8 has no key and
        /// scans every 10 s; 5.x's key defaults to 5 s.)
        scan_not_active_broker_interval: u64 = "scanNotActiveBrokerInterval" => 10_000,
        /// rmq only: how long a broker may stay silent before it leaves every
        /// route, ms, unless its registration names its own
        /// `heartbeatTimeoutMillis` (5.x). Java's fixed value is 120 s.
        broker_channel_expired_time: u64 = "brokerChannelExpiredTime" => 120_000,
        /// The port clients and brokers connect to.
        listen_port: u16 = "listenPort" => 9876,
        /// 5.x: the address to listen on.
        bind_address: String = "bindAddress" => "0.0.0.0".to_owned(),
        /// Close a connection with no traffic either way for this long, seconds;
        /// the brokers on it leave the routes.
        server_channel_max_idle_time_seconds: u64 = "serverChannelMaxIdleTimeSeconds" => 120,
        /// rmq's own: who may change the NameServer's state (register,
        /// unregister or heart-beat a broker, add or wipe write permission,
        /// register or delete a topic, put or delete KV config, update this
        /// config): IP addresses and CIDR blocks, comma-separated. 127.0.0.1
        /// and ::1 are always allowed. Empty: everyone, as Java.
        write_allowed_addresses: String = "writeAllowedAddresses" => String::new(),
        /// rmq only: connections one IP address may hold open at once; past
        /// it new ones are closed on accept. 0: no cap.
        max_connections_per_ip: usize = "maxConnectionsPerIp" => 1_000,
        /// rmq only: close a connection whose queued responses made no write
        /// progress for this long, seconds (its peer reads nothing); 0 counts as 1.
        server_channel_write_timeout_seconds: u64 = "serverChannelWriteTimeoutSeconds" => 60,
        /// rmq only: close a connection whose request frame, once started, is
        /// not complete after this long, seconds (a peer trickling bytes); 0
        /// counts as 1.
        server_frame_read_timeout_seconds: u64 = "serverFrameReadTimeoutSeconds" => 30,
        /// rmq only: the log level, as `tracing` directives (`info`,
        /// `warn,rmq_remoting=debug`); `RUST_LOG` wins at start. Changeable at
        /// run time with `mqadmin updateNamesrvConfig -k rmqLogLevel -v debug`.
        rmq_log_level: String = "rmqLogLevel" => String::new(),

        /// rmq's own, with the names of RocketMQ 5's broker and controller
        /// keys (Java's NameServer exports no metrics): `PROM` serves
        /// Prometheus metrics at `/metrics`; `DISABLE` exports nothing.
        metrics_exporter_type: String = "metricsExporterType" => "DISABLE".to_owned(),
        /// The IP address the endpoint binds; blank: `bindAddress`.
        metrics_prom_exporter_host: String = "metricsPromExporterHost" => String::new(),
        metrics_prom_exporter_port: u16 = "metricsPromExporterPort" => 5557,
        /// Constant labels added to every series, `key:value,key:value`.
        metrics_label: String = "metricsLabel" => String::new(),
        /// Refuse to start when the metrics port cannot be bound (by default
        /// the NameServer starts without metrics and says why).
        metrics_exporter_required: bool = "metricsExporterRequired" => false,
    }
}

/// The KV file under the user's home, as Java's default `kvConfigPath`.
pub const KV_CONFIG_FILE: &str = "namesrv/kvConfig.json";
/// The config file under the user's home, as Java's default `configStorePath`.
pub const CONFIG_STORE_FILE: &str = "namesrv/namesrv.properties";

/// Keys that tune Java's thread pools, Netty or features rmq does not have.
/// They are accepted so a Java config file starts rmq unchanged, and noted
/// with the reason they do nothing.
pub const JAVA_ONLY_KEYS: &[(&str, &str)] = &[
    ("serverWorkerThreads", "tokio schedules all work"),
    ("serverCallbackExecutorThreads", "tokio schedules all work"),
    ("serverSelectorThreads", "tokio schedules all work"),
    ("serverOnewaySemaphoreValue", "rmq bounds requests per connection instead"),
    ("serverAsyncSemaphoreValue", "rmq bounds requests per connection instead"),
    ("serverSocketSndBufSize", "the kernel's socket buffer defaults apply"),
    ("serverSocketRcvBufSize", "the kernel's socket buffer defaults apply"),
    ("serverSocketBacklog", "the kernel's backlog default applies"),
    ("writeBufferHighWaterMark", "Netty tuning"),
    ("writeBufferLowWaterMark", "Netty tuning"),
    ("serverPooledByteBufAllocatorEnable", "Netty tuning"),
    ("useEpollNativeSelector", "Netty tuning"),
    ("enableShutdownGracefully", "rmq always shuts down gracefully"),
    ("shutdownWaitTimeSeconds", "rmq always shuts down gracefully"),
    ("clientRequestThreadPoolNums", "tokio schedules all work"),
    ("defaultThreadPoolNums", "tokio schedules all work"),
    ("clientRequestThreadPoolQueueCapacity", "tokio schedules all work"),
    ("defaultThreadPoolQueueCapacity", "tokio schedules all work"),
    ("unRegisterBrokerQueueCapacity", "unregistrations are applied at once"),
    ("supportActingMaster", "5.x acting master is not implemented"),
    ("notifyMinBrokerIdChanged", "5.x acting master is not implemented"),
    ("needWaitForService", "rmq serves routes as soon as it starts"),
    ("waitSecondsForService", "rmq serves routes as soon as it starts"),
    ("deleteTopicWithBrokerRegistration", "topics missing from a registration are kept, as in 4.x"),
];

/// What applying a set of properties found besides the values it set.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// Keys rmq does not know: warn about each by name.
    pub unknown: Vec<String>,
    /// [`JAVA_ONLY_KEYS`] that were given: note each once.
    pub java_only: Vec<String>,
}

impl ApplyReport {
    /// Logs one line per unknown or Java-only key.
    pub fn log(&self, source: &str) {
        for key in &self.unknown {
            tracing::warn!("{source}: unknown config key '{key}' ignored");
        }
        for key in &self.java_only {
            let why = JAVA_ONLY_KEYS.iter().find(|(k, _)| k == key).map_or("", |(_, why)| *why);
            tracing::info!("{source}: config key '{key}' accepted, no effect in rmq ({why})");
        }
    }
}

impl NamesrvConfig {
    /// `writeAllowedAddresses` parsed; `None` when empty (everyone may write).
    pub fn write_allow_list(&self) -> Result<Option<AllowList>, NamesrvError> {
        let list = AllowList::parse(&self.write_allowed_addresses).map_err(|reason| NamesrvError::BadConfigValue {
            key: "writeAllowedAddresses".into(),
            value: self.write_allowed_addresses.clone(),
            reason,
        })?;
        Ok((!list.is_empty()).then_some(list))
    }

    /// The defaults, with the paths under `home` (Java's `user.home`).
    pub fn with_home(home: &Path) -> NamesrvConfig {
        NamesrvConfig {
            kv_config_path: home_file(home, KV_CONFIG_FILE),
            config_store_path: home_file(home, CONFIG_STORE_FILE),
            ..NamesrvConfig::default()
        }
    }

    /// Applies every pair; stops at the first value that does not parse.
    pub fn apply_all<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ApplyReport, BadValue> {
        let mut report = ApplyReport::default();
        for (key, value) in pairs {
            if self.apply(key, value)? == Applied::Unknown {
                if JAVA_ONLY_KEYS.iter().any(|(k, _)| *k == key) {
                    report.java_only.push(key.to_owned());
                } else {
                    report.unknown.push(key.to_owned());
                }
            }
        }
        Ok(report)
    }

    /// Keys UPDATE_NAMESRV_CONFIG refuses (4.9.8 `DefaultRequestProcessor`).
    pub fn black_list(&self) -> Vec<&str> {
        let mut keys = vec!["configBlackList", "configStorePath", "kvConfigPath", "rocketmqHome"];
        keys.extend(self.config_black_list.split(';').map(str::trim).filter(|k| !k.is_empty()));
        keys
    }

    /// Every key as `key=value` lines: `-p` output, GET_NAMESRV_CONFIG body
    /// and the file UPDATE_NAMESRV_CONFIG writes.
    pub fn to_properties_text(&self) -> String {
        self.entries().into_iter().map(|(k, v)| format!("{k}={}\n", escape_value(&v))).collect()
    }

    pub fn scan_interval(&self) -> Duration {
        Duration::from_millis(self.scan_not_active_broker_interval.max(1))
    }

    pub fn broker_timeout(&self) -> Duration {
        Duration::from_millis(self.broker_channel_expired_time)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.server_channel_max_idle_time_seconds)
    }

    /// `serverChannelWriteTimeoutSeconds`, at least 1 s.
    pub fn write_timeout(&self) -> Duration {
        Duration::from_secs(self.server_channel_write_timeout_seconds.max(1))
    }

    /// `serverFrameReadTimeoutSeconds`, at least 1 s.
    pub fn frame_timeout(&self) -> Duration {
        Duration::from_secs(self.server_frame_read_timeout_seconds.max(1))
    }

    /// `bindAddress:listenPort`.
    pub fn listen_addr(&self) -> String {
        if self.bind_address.contains(':') {
            format!("[{}]:{}", self.bind_address, self.listen_port)
        } else {
            format!("{}:{}", self.bind_address, self.listen_port)
        }
    }
}

/// Escapes what a properties reader would otherwise misread in a value
/// (backslashes, e.g. in Windows paths, and leading blanks).
fn escape_value(value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('\n', "\\n");
    match escaped.strip_prefix(' ') {
        Some(rest) => format!("\\ {rest}"),
        None => escaped,
    }
}

/// `$HOME`, the home Java's `user.home` defaults to.
fn default_home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

fn home_file(home: &Path, file: &str) -> String {
    home.join(file).to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_java() {
        let c = NamesrvConfig::with_home(Path::new("/home/rocketmq"));
        assert_eq!(c.kv_config_path, "/home/rocketmq/namesrv/kvConfig.json");
        assert_eq!(c.config_store_path, "/home/rocketmq/namesrv/namesrv.properties");
        assert_eq!((c.listen_port, c.product_env_name.as_str()), (9876, "center"));
        assert!(!c.order_message_enable);
        assert_eq!(c.listen_addr(), "0.0.0.0:9876");
        assert_eq!(c.broker_timeout(), Duration::from_secs(120));
    }

    #[test]
    fn unknown_and_java_only_keys_are_sorted_out() {
        let mut c = NamesrvConfig::with_home(Path::new("/h"));
        let report = c
            .apply_all([
                ("listenPort", "9877"),
                ("orderMessageEnable", "TRUE"),
                ("serverWorkerThreads", "4"),
                ("foo", "1"),
            ])
            .unwrap();
        assert_eq!(report.unknown, ["foo"]);
        assert_eq!(report.java_only, ["serverWorkerThreads"]);
        assert_eq!((c.listen_port, c.order_message_enable), (9877, true));
        let bad = c.apply_all([("listenPort", "99999")]).unwrap_err();
        assert_eq!(bad.key, "listenPort");
    }

    #[test]
    fn connection_limits_are_read_and_zero_timeouts_mean_one_second() {
        let mut c = NamesrvConfig::with_home(Path::new("/h"));
        assert_eq!((c.max_connections_per_ip, c.write_timeout(), c.frame_timeout()), (1_000, secs(60), secs(30)));
        let report = c
            .apply_all([
                ("maxConnectionsPerIp", "0"),
                ("serverChannelWriteTimeoutSeconds", "5"),
                ("serverFrameReadTimeoutSeconds", "0"),
            ])
            .unwrap();
        assert!(report.unknown.is_empty(), "{report:?}");
        assert_eq!((c.max_connections_per_ip, c.write_timeout(), c.frame_timeout()), (0, secs(5), secs(1)));
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn black_list_and_properties_text() {
        let mut c = NamesrvConfig::with_home(Path::new("/h"));
        c.config_black_list = "configBlackList;listenPort".into();
        assert_eq!(
            c.black_list(),
            ["configBlackList", "configStorePath", "kvConfigPath", "rocketmqHome", "configBlackList", "listenPort"]
        );
        c.rocketmq_home = None;
        c.product_env_name = " C:\\x".into();
        let text = c.to_properties_text();
        assert!(text.starts_with("rocketmqHome=\nkvConfigPath=/h/namesrv/kvConfig.json\n"), "{text}");
        assert!(text.contains("productEnvName=\\ C:\\\\x\n"), "{text}");
        assert_eq!(text.lines().count(), NamesrvConfig::KEYS.len());
    }
}
