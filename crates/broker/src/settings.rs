//! Everything a broker process is configured with: the broker's own keys
//! ([`BrokerConfig`]) and the store's ([`StoreConfig`]), loaded from one
//! properties source as Java applies one `Properties` object to all its config
//! classes, plus the values resolved at startup (broker name, advertised
//! addresses, store root under the user's home).

use rmq_model::BrokerRole;
use rmq_remoting::TlsSettings;
use rmq_store::StoreConfig;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use crate::config::{BrokerConfig, LoadReport};
use crate::namesrv::BrokerIdentity;

/// The broker's and the store's configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    pub broker: BrokerConfig,
    pub store: StoreConfig,
    /// TLS on the listen and fast ports and for the broker's own clients
    /// (`tls.*` keys, `useTLS`); Java's defaults until told otherwise.
    pub tls: TlsSettings,
}

/// A key whose value does not parse, or a combination that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

impl Settings {
    /// Defaults, with the store under `<home>/store`.
    pub fn new(home: &Path) -> Settings {
        Settings {
            broker: BrokerConfig::default(),
            store: StoreConfig::new(home.join("store")),
            tls: TlsSettings::default(),
        }
    }

    /// Applies `key=value` pairs to whichever config knows each key, the
    /// broker's first, as Java applies one `Properties` object to each of
    /// its config classes. Keys neither knows are sorted into unknown and
    /// Java-only ones by [`BrokerConfig::apply_all`]; the first value that
    /// does not parse, in the order given, stops with an error naming its key.
    pub fn apply_all<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<LoadReport, SettingsError> {
        let store = &mut self.store;
        let tls = &mut self.tls;
        let mut store_error = None;
        // Lazily, so that errors keep the order of the pairs: a bad store
        // value ends the pairs the broker sees.
        let not_for_store = pairs.into_iter().filter_map(|(key, value)| {
            if store_error.is_some() {
                return None;
            }
            if TlsSettings::knows(key) {
                if let Err(e) = tls.apply(key, value) {
                    store_error = Some(e.to_string());
                }
                return None;
            }
            if BrokerConfig::knows(key) || !StoreConfig::knows(key) {
                return Some((key, value));
            }
            if let Err(e) = store.apply(key, value) {
                store_error = Some(e.to_string());
            }
            None
        });
        let report = self.broker.apply_all(not_for_store);
        if let Some(e) = store_error {
            return Err(SettingsError(e));
        }
        report.map_err(|e| SettingsError(e.to_string()))
    }

    pub fn role(&self) -> BrokerRole {
        self.store.broker_role
    }

    /// Fills in what Java computes at startup: the broker name (host name),
    /// the advertised addresses (first non-loopback IPv4), the store host, and
    /// forces a master's id to 0. Then checks the whole.
    pub fn resolve(&mut self) -> Result<(), SettingsError> {
        if self.broker.broker_name.is_none() {
            self.broker.broker_name = Some(host_name());
        }
        if self.broker.broker_ip1.is_none() {
            self.broker.broker_ip1 = Some(local_ip().to_string());
        }
        if self.broker.broker_ip2.is_none() {
            self.broker.broker_ip2 = self.broker.broker_ip1.clone();
        } else if self.broker.ha_listen_address.is_none()
            && let Some(ip2) = self.broker.broker_ip2.as_deref().and_then(|ip| ip.trim().parse::<IpAddr>().ok())
            && is_local_ip(ip2)
        {
            // An explicit brokerIP2 of this host is where slaves are told to
            // connect: the HA port binds it alone. One that is not this
            // host's (an address NAT maps here) cannot be bound: every
            // interface then, as Java.
            self.broker.ha_listen_address = Some(ip2.to_string());
        }
        self.broker.broker_id = self.broker.effective_broker_id(self.role());
        self.broker.ha_listen_port = Some(self.broker.ha_port());
        self.broker.validate(self.role()).map_err(SettingsError)?;
        let ip = self.advertised_ip()?;
        self.store.store_host = SocketAddr::new(ip, self.broker.listen_port);
        self.store.validate().map_err(|e| SettingsError(e.to_string()))?;
        Ok(())
    }

    fn advertised_ip(&self) -> Result<IpAddr, SettingsError> {
        let ip1 = self.broker.broker_ip1.as_deref().unwrap_or_default();
        if let Ok(ip) = ip1.parse() {
            return Ok(ip);
        }
        // A host name: resolve it once, as the store host must be an address.
        std::net::ToSocketAddrs::to_socket_addrs(&(ip1, 0))
            .ok()
            .and_then(|mut addrs| addrs.next())
            .map(|a| a.ip())
            .ok_or_else(|| SettingsError(format!("brokerIP1 '{ip1}' is neither an IP address nor a resolvable host")))
    }

    /// The name, id and addresses this broker registers with.
    pub fn identity(&self) -> BrokerIdentity {
        BrokerIdentity::of(&self.broker)
    }
}

/// Whether `ip` is an address of one of this host's interfaces.
fn is_local_ip(ip: IpAddr) -> bool {
    if_addrs::get_if_addrs().is_ok_and(|ifs| ifs.iter().any(|i| i.ip() == ip))
}

/// This host's name, as Java's default `brokerName`.
pub fn host_name() -> String {
    match gethostname::gethostname().into_string() {
        Ok(name) if !name.is_empty() => name,
        _ => "DEFAULT_BROKER".to_owned(),
    }
}

/// The first non-loopback IPv4 address of this host (Java's
/// `RemotingUtil.getLocalAddress`), or 127.0.0.1 if there is none.
pub fn local_ip() -> IpAddr {
    if_addrs::get_if_addrs()
        .ok()
        .and_then(|ifs| {
            ifs.into_iter().filter(|i| !i.is_loopback()).map(|i| i.ip()).find(|ip| ip.is_ipv4() && !ip.is_unspecified())
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_go_to_their_config() {
        let mut s = Settings::new(Path::new("/home/rocketmq"));
        let report = s
            .apply_all([
                ("brokerName", "broker-a"),
                ("flushDiskType", "SYNC_FLUSH"),
                ("brokerRole", "SLAVE"),
                ("brokerId", "1"),
                ("storePathRootDir", "/data/store"),
                ("serverWorkerThreads", "8"),
                ("noSuchKey", "x"),
            ])
            .unwrap();
        assert_eq!(report.java_only, vec!["serverWorkerThreads"]);
        assert_eq!(report.unknown, vec!["noSuchKey"]);
        assert_eq!(s.role(), BrokerRole::Slave);
        assert_eq!(s.store.store_path_commit_log, Path::new("/data/store/commitlog"));
        s.broker.broker_ip1 = Some("10.0.0.5".into());
        s.resolve().unwrap();
        assert_eq!(s.store.store_host, "10.0.0.5:10911".parse().unwrap());
        let id = s.identity();
        assert_eq!(
            (id.broker_addr.as_str(), id.ha_server_addr.as_str(), id.broker_id),
            ("10.0.0.5:10911", "10.0.0.5:10912", 1)
        );
    }

    #[test]
    fn masters_are_id_zero_and_bad_values_name_the_key() {
        let mut s = Settings::new(Path::new("/tmp"));
        s.apply_all([("brokerId", "3")]).unwrap();
        s.resolve().unwrap();
        assert_eq!(s.broker.broker_id, 0);
        let err = Settings::new(Path::new("/tmp")).apply_all([("listenPort", "ten")]).unwrap_err();
        assert!(err.0.contains("listenPort"), "{err}");
        let err = Settings::new(Path::new("/tmp")).apply_all([("flushDiskType", "FAST")]).unwrap_err();
        assert!(err.0.contains("flushDiskType"), "{err}");
        // The first bad value in the order given is the one reported.
        let both = [("flushDiskType", "FAST"), ("listenPort", "ten")];
        let err = Settings::new(Path::new("/tmp")).apply_all(both).unwrap_err();
        assert!(err.0.contains("flushDiskType"), "{err}");
        let err = Settings::new(Path::new("/tmp")).apply_all(both.into_iter().rev()).unwrap_err();
        assert!(err.0.contains("listenPort"), "{err}");
    }

    #[test]
    fn tls_keys_and_use_tls_set_the_tls_settings_and_are_not_unknown() {
        let mut s = Settings::new(Path::new("/tmp"));
        let report = s.apply_all([("tls.server.mode", "enforcing"), ("useTLS", "true")]).unwrap();
        assert!(report.unknown.is_empty(), "{:?}", report.unknown);
        assert_eq!(s.tls.server_mode, rmq_remoting::tls::TlsMode::Enforcing);
        assert!(s.tls.client_enable);
        let err = Settings::new(Path::new("/tmp")).apply_all([("tls.server.mode", "strict")]).unwrap_err();
        assert!(err.0.contains("tls.server.mode"), "{err}");
    }

    /// rmq's `haListenAddress`: set, it is bound; unset, an explicit
    /// `brokerIP2` of this host is; otherwise every interface, as Java.
    #[test]
    fn where_the_ha_port_binds() {
        let resolved = |pairs: &[(&str, &str)]| {
            let mut s = Settings::new(Path::new("/tmp"));
            s.apply_all([("brokerIP1", "10.0.0.5")].iter().chain(pairs).copied()).unwrap();
            s.resolve().map(|()| s.broker.ha_bind_ip().unwrap().to_string())
        };
        assert_eq!(resolved(&[]).unwrap(), "0.0.0.0");
        assert_eq!(resolved(&[("brokerIP2", "127.0.0.1")]).unwrap(), "127.0.0.1");
        assert_eq!(resolved(&[("brokerIP2", "203.0.113.7")]).unwrap(), "0.0.0.0", "not this host's: not bindable");
        let both = [("brokerIP2", "127.0.0.1"), ("haListenAddress", "0.0.0.0")];
        assert_eq!(resolved(&both).unwrap(), "0.0.0.0");
        let err = resolved(&[("haListenAddress", "localhost")]).unwrap_err();
        assert!(err.0.contains("haListenAddress"), "{err}");
        let err = resolved(&[("haAllowedAddresses", "10.0.0.0/8,10.0.0.0/40")]).unwrap_err();
        assert!(err.0.contains("haAllowedAddresses") && err.0.contains("10.0.0.0/40"), "{err}");
    }

    #[test]
    fn dledger_is_refused_and_controller_mode_needs_its_controllers() {
        let resolved = |pairs: &[(&str, &str)]| {
            let mut s = Settings::new(Path::new("/tmp"));
            s.apply_all(pairs.iter().copied()).unwrap();
            s.broker.broker_ip1 = Some("10.0.0.5".into());
            s.resolve()
        };
        let err = resolved(&[("enableDLegerCommitLog", "true")]).unwrap_err();
        assert!(err.0.contains("enableDLegerCommitLog") && err.0.contains("not supported"), "{err}");
        let err = resolved(&[("enableControllerMode", "true")]).unwrap_err();
        assert!(err.0.contains("controllerAddr"), "{err}");
        // In controller mode the controller assigns the role: a SLAVE with
        // brokerId 0 is not an error.
        let on = [
            ("enableControllerMode", "true"),
            ("controllerAddr", "127.0.0.1:9878"),
            ("brokerRole", "SLAVE"),
            ("brokerId", "0"),
        ];
        resolved(&on).unwrap();
    }
}
