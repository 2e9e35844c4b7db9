//! The proxy's settings: `conf/rmq-proxy.json` read as Java's `ProxyConfig`
//! reads it (fastjson, so numbers in strings and keys in any case are fine),
//! then the command line on top.

use serde::Deserialize;

use crate::tls::{TlsMode, TlsSettings};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Where the proxy finds its brokers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyMode {
    /// In front of every broker of the cluster, found through the NameServers.
    Cluster,
    /// Inside one broker process (`mqbroker --enable-proxy`): only that
    /// broker's queues are served.
    Local { broker_name: String },
}

/// Java's `remotingListenPort`.
pub const DEFAULT_REMOTING_PORT: u16 = 8080;

/// Everything the proxy needs to serve. Defaults are Java's `ProxyConfig`'s.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    pub cluster_name: String,
    /// `;`-separated NameServer list.
    pub namesrv_addr: String,
    pub listen: SocketAddr,
    /// `remotingListenPort`: the remoting port for 4.x-protocol clients
    /// (they take the proxy for their NameServer and their brokers).
    /// `None`: Java's 8080 in cluster mode, none in local mode, where the
    /// broker's own port already serves them.
    pub remoting_port: Option<u16>,
    /// `remotingAccessAddr`: the host routes name as every broker's address
    /// on the remoting port; empty: the address the client reached the
    /// proxy on.
    pub remoting_access_addr: Option<String>,
    /// TLS on the remoting port (`tls.server.mode` and Java's other `tls.*`
    /// switches, as on the brokers' ports); the caller resolves it.
    pub remoting_server_tls: rmq_remoting::ServerTls,
    pub mode: ProxyMode,
    /// Shortest invisible time a receive may ask for (`minInvisibleTimeMillsForRecv`).
    pub min_invisible_ms: i64,
    /// Longest invisible time (`maxInvisibleTimeMills`, 12 h).
    pub max_invisible_ms: i64,
    /// Bounds of a receive's long polling (`grpcClientConsumer{Min,Max}LongPollingTimeoutMillis`).
    pub min_long_polling_ms: i64,
    pub max_long_polling_ms: i64,
    /// Largest message body (`maxMessageSize`, 4 MiB).
    pub max_message_size: usize,
    /// Furthest a delivery timestamp may lie ahead (`maxDelayTimeMills`, 1 day).
    pub max_delay_ms: i64,
    /// Invisible time used when a client asks the proxy to renew (`defaultInvisibleTimeMills`).
    pub default_invisible_ms: i64,
    /// Timeout of each call to a broker (Java: 2 s; receives use the client's deadline).
    pub broker_timeout_ms: u64,
    /// TLS on the gRPC port (Java's default: permissive, self-signed test certificate).
    pub tls: TlsSettings,
    /// How the proxy's remoting client reaches NameServers and brokers
    /// (`tls.enable`); `None`: plaintext.
    pub remoting_tls: Option<rmq_remoting::ClientTls>,
    /// How long a Telemetry stream may stay silent before its first Settings
    /// (then it is closed, so idle streams hold nothing for long).
    pub settings_within_ms: u64,
    /// `aclEnable` (rmq's key; Java's 5.0–5.2 proxy has no such switch):
    /// check 5.x clients' credentials and permissions against `acl_file`.
    /// In local mode the broker's `aclEnable` turns it on too.
    pub acl_enable: bool,
    /// `aclFilePath`: the ACL 1.0 accounts (`${ROCKETMQ_HOME}/conf/plain_acl.yml`).
    pub acl_file: PathBuf,
    /// Whether the proxy signs its remoting calls to brokers
    /// (`enableAclRpcHookForClusterMode`, Java's key; set in local mode when
    /// the broker has `aclEnable=true`).
    pub sign_broker_calls: bool,
    /// The account the proxy signs with (`innerClientAuthenticationCredentials`,
    /// Java's key); when absent, read from `tools_file`.
    pub broker_credentials: Option<rmq_client::Credentials>,
    /// Java's `${ROCKETMQ_HOME}/conf/tools.yml` (`accessKey:` / `secretKey:`).
    pub tools_file: PathBuf,
    /// How the proxy keeps `auto_renew` receives invisible (Java's `renew*` keys).
    pub renew: RenewConfig,
    /// `enableTopicMessageTypeCheck`: refuse a send whose type is not the
    /// topic's `message.type` attribute.
    pub topic_message_type_check: bool,
}

/// Renewal of messages a push consumer received with `auto_renew` and has
/// not acknowledged yet (Java's `DefaultReceiptHandleManager`). Defaults are
/// Java 5.3's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenewConfig {
    /// `enableProxyAutoRenew`: off, `auto_renew` receives get
    /// `defaultInvisibleTimeMills` once and nothing more.
    pub enabled: bool,
    /// `renewAheadTimeMillis`: a message is renewed when it would become
    /// visible within this long.
    pub ahead_ms: i64,
    /// `renewSliceTimeMillis` (Java 5.0–5.1): when set, every renewal (and the
    /// receive itself) takes this invisible time; unset, renewals follow
    /// Java 5.2+'s steps (1, 3, 5, 10, 30 min, then 1 h).
    pub slice_ms: Option<i64>,
    /// `renewMaxTimeMillis`: after this long since the receive, the proxy
    /// stops renewing and hands the message back for redelivery after the
    /// group's retry delay.
    pub max_ms: i64,
    /// `renewSchedulePeriodMillis`: how often the held messages are looked at.
    pub period_ms: u64,
    /// `maxRenewRetryTimes`: failed renewals of one message before giving up.
    pub max_retries: u32,
    /// `invisibleTimeMillisWhenClear`: what a gone client's messages are
    /// left with (visible again this soon).
    pub clear_invisible_ms: i64,
}

impl Default for RenewConfig {
    fn default() -> RenewConfig {
        RenewConfig {
            enabled: true,
            ahead_ms: 10_000,
            slice_ms: None,
            max_ms: 3 * 3600 * 1000,
            period_ms: 5_000,
            max_retries: 3,
            clear_invisible_ms: 1_000,
        }
    }
}

/// `${ROCKETMQ_HOME}/conf/<name>` (the working directory without ROCKETMQ_HOME, as the broker).
pub fn home_conf(name: &str) -> PathBuf {
    let home = std::env::var_os("ROCKETMQ_HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join("conf").join(name)
}

impl Default for ProxyConfig {
    fn default() -> ProxyConfig {
        ProxyConfig {
            cluster_name: "DefaultCluster".into(),
            namesrv_addr: "127.0.0.1:9876".into(),
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8081),
            remoting_port: None,
            remoting_access_addr: None,
            remoting_server_tls: rmq_remoting::ServerTls::disabled(),
            mode: ProxyMode::Cluster,
            min_invisible_ms: 10_000,
            max_invisible_ms: 12 * 3600 * 1000,
            min_long_polling_ms: 5_000,
            max_long_polling_ms: 20_000,
            max_message_size: 4 * 1024 * 1024,
            max_delay_ms: 24 * 3600 * 1000,
            default_invisible_ms: 60_000,
            broker_timeout_ms: 3_000,
            tls: TlsSettings::default(),
            remoting_tls: None,
            settings_within_ms: 30_000,
            acl_enable: false,
            acl_file: home_conf("plain_acl.yml"),
            sign_broker_calls: false,
            broker_credentials: None,
            tools_file: home_conf("tools.yml"),
            renew: RenewConfig::default(),
            topic_message_type_check: true,
        }
    }
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Parse { path: String, source: serde_json::Error },
    #[error("{path}: proxyMode must be LOCAL or CLUSTER, not '{mode}'")]
    Mode { path: String, mode: String },
    #[error("{path}: innerClientAuthenticationCredentials must be {{\"accessKey\":\"..\",\"secretKey\":\"..\"}}")]
    Credentials { path: String },
}

/// The keys of `rmq-proxy.json` rmq acts on; any other key is accepted and
/// named in the log as having no effect.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ProxyJson {
    #[serde(rename = "rocketMQClusterName")]
    rocket_mq_cluster_name: Option<String>,
    namesrv_addr: Option<String>,
    grpc_server_port: Option<u16>,
    remoting_listen_port: Option<u16>,
    remoting_access_addr: Option<String>,
    proxy_mode: Option<String>,
    min_invisible_time_mills_for_recv: Option<i64>,
    max_invisible_time_mills: Option<i64>,
    grpc_client_consumer_min_long_polling_timeout_millis: Option<i64>,
    grpc_client_consumer_max_long_polling_timeout_millis: Option<i64>,
    max_message_size: Option<i64>,
    max_delay_time_mills: Option<i64>,
    default_invisible_time_mills: Option<i64>,
    tls_test_mode_enable: Option<bool>,
    tls_cert_path: Option<String>,
    tls_key_path: Option<String>,
    acl_enable: Option<bool>,
    acl_file_path: Option<String>,
    enable_acl_rpc_hook_for_cluster_mode: Option<bool>,
    inner_client_authentication_credentials: Option<serde_json::Value>,
    enable_proxy_auto_renew: Option<bool>,
    renew_ahead_time_millis: Option<i64>,
    renew_slice_time_millis: Option<i64>,
    renew_max_time_millis: Option<i64>,
    renew_schedule_period_millis: Option<i64>,
    max_renew_retry_times: Option<i64>,
    invisible_time_millis_when_clear: Option<i64>,
    enable_topic_message_type_check: Option<bool>,
}

/// `innerClientAuthenticationCredentials`: Java keeps it as a string of
/// JSON; an object is read too.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CredentialsJson {
    access_key: String,
    secret_key: String,
}

const KNOWN_KEYS: &[&str] = &[
    "rocketMQClusterName",
    "namesrvAddr",
    "grpcServerPort",
    "remotingListenPort",
    "remotingAccessAddr",
    "proxyMode",
    "minInvisibleTimeMillsForRecv",
    "maxInvisibleTimeMills",
    "grpcClientConsumerMinLongPollingTimeoutMillis",
    "grpcClientConsumerMaxLongPollingTimeoutMillis",
    "maxMessageSize",
    "maxDelayTimeMills",
    "defaultInvisibleTimeMills",
    "tlsTestModeEnable",
    "tlsCertPath",
    "tlsKeyPath",
    "aclEnable",
    "aclFilePath",
    "enableAclRpcHookForClusterMode",
    "innerClientAuthenticationCredentials",
    "enableProxyAutoRenew",
    "renewAheadTimeMillis",
    "renewSliceTimeMillis",
    "renewMaxTimeMillis",
    "renewSchedulePeriodMillis",
    "maxRenewRetryTimes",
    "invisibleTimeMillisWhenClear",
    "enableTopicMessageTypeCheck",
];

impl ProxyConfig {
    /// Where the remoting port listens, if it does (see [`ProxyConfig::remoting_port`]).
    pub fn remoting_listen(&self) -> Option<SocketAddr> {
        let port = match (self.remoting_port, &self.mode) {
            (Some(port), _) => port,
            (None, ProxyMode::Cluster) => DEFAULT_REMOTING_PORT,
            (None, ProxyMode::Local { .. }) => return None,
        };
        Some(SocketAddr::new(self.listen.ip(), port))
    }

    /// Reads `path` over the defaults; returns the keys it ignored too.
    /// `proxyMode: LOCAL` in the file alone cannot name a broker, so it is
    /// only honoured by `mqbroker --enable-proxy`, which sets the mode itself.
    pub fn load(path: &Path) -> Result<(ProxyConfig, Vec<String>), ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
        ProxyConfig::from_json(&text).map_err(|e| match e {
            ConfigError::Parse { source, .. } => ConfigError::Parse { path: shown.clone(), source },
            ConfigError::Mode { mode, .. } => ConfigError::Mode { path: shown.clone(), mode },
            ConfigError::Credentials { .. } => ConfigError::Credentials { path: shown.clone() },
            other => other,
        })
    }

    /// Parses the text of an `rmq-proxy.json`.
    pub fn from_json(text: &str) -> Result<(ProxyConfig, Vec<String>), ConfigError> {
        let parse = |source| ConfigError::Parse { path: String::new(), source };
        let value: serde_json::Value = if text.trim().is_empty() {
            serde_json::Value::Object(Default::default())
        } else {
            rmq_model::fastjson::from_str(text).map_err(parse)?
        };
        let ignored = value
            .as_object()
            .map(|o| o.keys().filter(|k| !KNOWN_KEYS.iter().any(|n| n.eq_ignore_ascii_case(k))).cloned().collect())
            .unwrap_or_default();
        let json: ProxyJson = rmq_model::fastjson::from_value(&value).map_err(parse)?;
        let mut config = ProxyConfig::default();
        if let Some(name) = json.rocket_mq_cluster_name {
            config.cluster_name = name;
        }
        if let Some(addr) = json.namesrv_addr.filter(|a| !a.trim().is_empty()) {
            config.namesrv_addr = addr;
        }
        if let Some(port) = json.grpc_server_port {
            config.listen.set_port(port);
        }
        config.remoting_port = json.remoting_listen_port;
        config.remoting_access_addr = json.remoting_access_addr.filter(|a| !a.trim().is_empty());
        if let Some(mode) = json.proxy_mode
            && !mode.eq_ignore_ascii_case("cluster")
            && !mode.eq_ignore_ascii_case("local")
        {
            return Err(ConfigError::Mode { path: String::new(), mode });
        }
        let set = |target: &mut i64, v: Option<i64>| {
            if let Some(v) = v {
                *target = v;
            }
        };
        set(&mut config.min_invisible_ms, json.min_invisible_time_mills_for_recv);
        set(&mut config.max_invisible_ms, json.max_invisible_time_mills);
        set(&mut config.min_long_polling_ms, json.grpc_client_consumer_min_long_polling_timeout_millis);
        set(&mut config.max_long_polling_ms, json.grpc_client_consumer_max_long_polling_timeout_millis);
        set(&mut config.max_delay_ms, json.max_delay_time_mills);
        set(&mut config.default_invisible_ms, json.default_invisible_time_mills);
        let renew = &mut config.renew;
        if let Some(on) = json.enable_proxy_auto_renew {
            renew.enabled = on;
        }
        set(&mut renew.ahead_ms, json.renew_ahead_time_millis);
        set(&mut renew.max_ms, json.renew_max_time_millis);
        set(&mut renew.clear_invisible_ms, json.invisible_time_millis_when_clear);
        renew.slice_ms = json.renew_slice_time_millis.filter(|ms| *ms > 0);
        if let Some(ms) = json.renew_schedule_period_millis {
            // At least every 100 ms: a zero period would spin.
            renew.period_ms = ms.max(100) as u64;
        }
        if let Some(n) = json.max_renew_retry_times {
            renew.max_retries = n.clamp(0, i64::from(u32::MAX)) as u32;
        }
        if let Some(on) = json.enable_topic_message_type_check {
            config.topic_message_type_check = on;
        }
        if let Some(test_mode) = json.tls_test_mode_enable {
            config.tls.test_mode = test_mode;
        }
        config.tls.cert_path = json.tls_cert_path.filter(|p| !p.is_empty()).map(Into::into);
        config.tls.key_path = json.tls_key_path.filter(|p| !p.is_empty()).map(Into::into);
        if let Some(on) = json.acl_enable {
            config.acl_enable = on;
        }
        if let Some(path) = json.acl_file_path.filter(|p| !p.trim().is_empty()) {
            config.acl_file = path.into();
        }
        if let Some(on) = json.enable_acl_rpc_hook_for_cluster_mode {
            config.sign_broker_calls = on;
        }
        config.broker_credentials = match json.inner_client_authentication_credentials {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(text)) if text.trim().is_empty() => None,
            Some(value) => {
                let value = match value {
                    serde_json::Value::String(text) => rmq_model::fastjson::from_str(&text)
                        .map_err(|_| ConfigError::Credentials { path: String::new() })?,
                    other => other,
                };
                let c: CredentialsJson = rmq_model::fastjson::from_value(&value)
                    .map_err(|_| ConfigError::Credentials { path: String::new() })?;
                if c.access_key.is_empty() || c.secret_key.is_empty() {
                    return Err(ConfigError::Credentials { path: String::new() });
                }
                Some(rmq_client::Credentials::new(c.access_key, c.secret_key))
            }
        };
        if let Some(size) = json.max_message_size {
            config.max_message_size = if size <= 0 { usize::MAX } else { size as usize };
        }
        Ok((config, ignored))
    }
}

impl ProxyConfig {
    /// Java's TLS system properties (`-D` in JAVA_OPT): `tls.server.mode`,
    /// `tls.server.certPath`, `tls.server.keyPath`, `tls.test.mode.enable`;
    /// `property` looks one up. They win over the file, as in Java.
    pub fn apply_tls_properties(&mut self, property: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        if let Some(mode) = property("tls.server.mode") {
            self.tls.mode = TlsMode::parse(&mode)
                .ok_or_else(|| format!("tls.server.mode must be disabled, permissive or enforcing, not '{mode}'"))?;
        }
        if let Some(path) = property("tls.server.certPath") {
            self.tls.cert_path = Some(path.into());
        }
        if let Some(path) = property("tls.server.keyPath") {
            self.tls.key_path = Some(path.into());
        }
        if let Some(on) = property("tls.test.mode.enable") {
            self.tls.test_mode = on.trim().eq_ignore_ascii_case("true");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javas_shipped_file_and_lenient_values() {
        let (c, ignored) = ProxyConfig::from_json(r#"{"rocketMQClusterName": "DefaultCluster"}"#).unwrap();
        assert_eq!((c.cluster_name.as_str(), c.listen.port()), ("DefaultCluster", 8081));
        assert!(ignored.is_empty());
        let text = "{\"grpcServerPort\":\"18081\",\"maxMessageSize\":0,\"remotingListenPort\":8080}\n";
        let (c, ignored) = ProxyConfig::from_json(text).unwrap();
        assert_eq!(c.listen.port(), 18081);
        assert_eq!(c.max_message_size, usize::MAX);
        assert!(ignored.is_empty(), "{ignored:?}");
        assert_eq!(c.remoting_port, Some(8080));
        assert_eq!(c.remoting_listen(), Some("0.0.0.0:8080".parse().unwrap()));
        let (c, _) =
            ProxyConfig::from_json(r#"{"remotingAccessAddr": "proxy.example", "remotingListenPort": "0"}"#).unwrap();
        assert_eq!((c.remoting_access_addr.as_deref(), c.remoting_port), (Some("proxy.example"), Some(0)));
        let local = ProxyConfig { mode: ProxyMode::Local { broker_name: "a".into() }, ..ProxyConfig::default() };
        assert_eq!(local.remoting_listen(), None, "local mode: the broker's own port serves remoting");
        assert_eq!(ProxyConfig::default().remoting_listen().map(|a| a.port()), Some(8080));
    }

    #[test]
    fn broken_files_say_why() {
        assert!(matches!(ProxyConfig::from_json("{\"grpcServerPort\": \"x\"}"), Err(ConfigError::Parse { .. })));
        assert!(matches!(ProxyConfig::from_json("{\"proxyMode\": \"mesh\"}"), Err(ConfigError::Mode { .. })));
        assert!(ProxyConfig::from_json("").is_ok());
        for bad in [
            r#"{"innerClientAuthenticationCredentials": "{\"accessKey\":\"a\"}"}"#,
            r#"{"innerClientAuthenticationCredentials": 5}"#,
        ] {
            assert!(matches!(ProxyConfig::from_json(bad), Err(ConfigError::Credentials { .. })), "{bad}");
        }
    }

    #[test]
    fn renewal_and_type_check_keys() {
        let (c, _) = ProxyConfig::from_json("{}").unwrap();
        assert_eq!(c.renew, RenewConfig::default());
        assert!(c.topic_message_type_check);
        let text = r#"{"enableProxyAutoRenew": false, "renewAheadTimeMillis": 2000, "renewSliceTimeMillis": "4000",
            "renewMaxTimeMillis": 9000, "renewSchedulePeriodMillis": 0, "maxRenewRetryTimes": 5,
            "invisibleTimeMillisWhenClear": 500, "enableTopicMessageTypeCheck": false}"#;
        let (c, ignored) = ProxyConfig::from_json(text).unwrap();
        assert!(ignored.is_empty(), "{ignored:?}");
        let expected = RenewConfig {
            enabled: false,
            ahead_ms: 2000,
            slice_ms: Some(4000),
            max_ms: 9000,
            period_ms: 100,
            max_retries: 5,
            clear_invisible_ms: 500,
        };
        assert_eq!(c.renew, expected);
        assert!(!c.topic_message_type_check);
    }

    #[test]
    fn acl_keys() {
        let (c, _) = ProxyConfig::from_json("{}").unwrap();
        assert!(!c.acl_enable && !c.sign_broker_calls && c.broker_credentials.is_none());
        assert!(c.acl_file.ends_with("conf/plain_acl.yml"));
        let text = r#"{"aclEnable": "true", "aclFilePath": "/etc/rmq/acl.yml", "enableAclRpcHookForClusterMode": 1,
            "innerClientAuthenticationCredentials": "{\"accessKey\":\"proxyAk\",\"secretKey\":\"proxySk\"}"}"#;
        let (c, ignored) = ProxyConfig::from_json(text).unwrap();
        assert!(ignored.is_empty());
        assert!(c.acl_enable && c.sign_broker_calls);
        assert_eq!(c.acl_file, PathBuf::from("/etc/rmq/acl.yml"));
        assert_eq!(c.broker_credentials, Some(rmq_client::Credentials::new("proxyAk", "proxySk")));
        let object = r#"{"innerClientAuthenticationCredentials": {"accessKey": "a1", "secretKey": "s1"}}"#;
        let (c, _) = ProxyConfig::from_json(object).unwrap();
        assert_eq!(c.broker_credentials, Some(rmq_client::Credentials::new("a1", "s1")));
    }
}
