//! The TLS switches, under Java's names (`TlsSystemConfig`) and with Java's
//! defaults. Where a value comes from (JVM system properties, the
//! `tls.config.file`, a broker's properties) is the caller's business: this
//! type only knows the keys and what their values mean.

use std::path::PathBuf;

use super::TlsError;

/// `tls.server.mode`: what a server port accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// Plaintext only; a TLS client is closed.
    Disabled,
    /// TLS and plaintext on one port, told apart by the first byte (Java's default).
    #[default]
    Permissive,
    /// TLS only; a plaintext client is closed.
    Enforcing,
}

impl TlsMode {
    pub fn parse(text: &str) -> Option<TlsMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "disabled" => Some(TlsMode::Disabled),
            "permissive" => Some(TlsMode::Permissive),
            "enforcing" => Some(TlsMode::Enforcing),
            _ => None,
        }
    }
}

impl std::fmt::Display for TlsMode {
    /// The name as the key takes it (and Java logs it).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsMode::Disabled => "disabled",
            TlsMode::Permissive => "permissive",
            TlsMode::Enforcing => "enforcing",
        })
    }
}

/// `tls.server.need.client.auth`: whether a server asks TLS clients for a certificate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    #[default]
    None,
    /// Asked for; a client without one is still served.
    Optional,
    /// A client without a certificate fails the handshake.
    Require,
}

impl ClientAuth {
    pub fn parse(text: &str) -> Option<ClientAuth> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Some(ClientAuth::None),
            "optional" => Some(ClientAuth::Optional),
            "require" => Some(ClientAuth::Require),
            _ => None,
        }
    }
}

/// Every TLS switch of a process, server and client side. `Default` is Java's
/// defaults: permissive server ports, test mode on (a self-signed certificate
/// when none is configured; clients accept any server certificate), clients
/// in plaintext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    /// `tls.server.mode`.
    pub server_mode: TlsMode,
    /// `tls.test.mode.enable`: without a configured certificate the server
    /// makes a self-signed one at start; clients accept any server certificate.
    pub test_mode: bool,
    /// `tls.server.certPath`: the server's certificate chain, PEM.
    pub server_cert_path: Option<PathBuf>,
    /// `tls.server.keyPath`: its private key, PEM (PKCS#8, PKCS#1 or SEC1), unencrypted.
    pub server_key_path: Option<PathBuf>,
    /// `tls.server.need.client.auth`.
    pub need_client_auth: ClientAuth,
    /// `tls.server.authClient`: check client certificates against
    /// `tls.server.trustCertPath` (false: any certificate will do).
    pub server_auth_client: bool,
    /// `tls.server.trustCertPath`: the CA certificates client certificates must chain to, PEM.
    pub server_trust_cert_path: Option<PathBuf>,
    /// `tls.enable` (also a broker's `useTLS`): rmq's own clients connect with TLS.
    pub client_enable: bool,
    /// `tls.client.authServer`: check the server's certificate against
    /// `tls.client.trustCertPath` (false: any certificate will do).
    pub client_auth_server: bool,
    /// `tls.client.trustCertPath`: the CA certificates a server certificate must chain to, PEM.
    pub client_trust_cert_path: Option<PathBuf>,
    /// `tls.client.certPath`: the certificate a client presents, PEM.
    pub client_cert_path: Option<PathBuf>,
    /// `tls.client.keyPath`: its private key, PEM, unencrypted.
    pub client_key_path: Option<PathBuf>,
}

impl Default for TlsSettings {
    fn default() -> TlsSettings {
        TlsSettings {
            server_mode: TlsMode::Permissive,
            test_mode: true,
            server_cert_path: None,
            server_key_path: None,
            need_client_auth: ClientAuth::None,
            server_auth_client: false,
            server_trust_cert_path: None,
            client_enable: false,
            client_auth_server: false,
            client_trust_cert_path: None,
            client_cert_path: None,
            client_key_path: None,
        }
    }
}

/// Where the TLS file is looked for when `tls.config.file` is not given (Java's default).
pub const DEFAULT_CONFIG_FILE: &str = "/etc/rocketmq/tls.properties";
/// The key naming the TLS properties file.
pub const CONFIG_FILE_KEY: &str = "tls.config.file";

/// The keys [`TlsSettings::apply`] knows.
pub const KEYS: &[&str] = &[
    "tls.server.mode",
    "tls.test.mode.enable",
    "tls.server.certPath",
    "tls.server.keyPath",
    "tls.server.keyPassword",
    "tls.server.need.client.auth",
    "tls.server.authClient",
    "tls.server.trustCertPath",
    "tls.enable",
    "useTLS",
    "tls.client.authServer",
    "tls.client.trustCertPath",
    "tls.client.certPath",
    "tls.client.keyPath",
    "tls.client.keyPassword",
];

impl TlsSettings {
    /// Whether `key` is one of the TLS switches.
    pub fn knows(key: &str) -> bool {
        KEYS.contains(&key)
    }

    /// Sets `key` to `value`; a key that is not a TLS switch is left alone
    /// (`Ok(false)`). A value that does not parse is an error naming the key.
    pub fn apply(&mut self, key: &str, value: &str) -> Result<bool, TlsError> {
        let value = value.trim();
        let bad =
            |expected: &'static str| TlsError::BadValue { key: key.to_owned(), value: value.to_owned(), expected };
        let path = || (!value.is_empty()).then(|| PathBuf::from(value));
        match key {
            "tls.server.mode" => {
                self.server_mode = TlsMode::parse(value).ok_or_else(|| bad("disabled, permissive or enforcing"))?
            }
            "tls.test.mode.enable" => self.test_mode = parse_bool(value).ok_or_else(|| bad("true or false"))?,
            "tls.server.certPath" => self.server_cert_path = path(),
            "tls.server.keyPath" => self.server_key_path = path(),
            "tls.server.need.client.auth" => {
                self.need_client_auth = ClientAuth::parse(value).ok_or_else(|| bad("none, optional or require"))?;
            }
            "tls.server.authClient" => {
                self.server_auth_client = parse_bool(value).ok_or_else(|| bad("true or false"))?
            }
            "tls.server.trustCertPath" => self.server_trust_cert_path = path(),
            "tls.enable" | "useTLS" => self.client_enable = parse_bool(value).ok_or_else(|| bad("true or false"))?,
            "tls.client.authServer" => {
                self.client_auth_server = parse_bool(value).ok_or_else(|| bad("true or false"))?
            }
            "tls.client.trustCertPath" => self.client_trust_cert_path = path(),
            "tls.client.certPath" => self.client_cert_path = path(),
            "tls.client.keyPath" => self.client_key_path = path(),
            // Encrypted keys are not supported: refuse rather than serve with
            // a key we cannot read.
            "tls.server.keyPassword" | "tls.client.keyPassword" if !value.is_empty() => {
                return Err(TlsError::KeyPassword { key: key.to_owned() });
            }
            "tls.server.keyPassword" | "tls.client.keyPassword" => {}
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Applies every TLS key among `pairs`, in order; other keys are skipped.
    pub fn apply_all<'a>(&mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<(), TlsError> {
        for (key, value) in pairs {
            self.apply(key, value)?;
        }
        Ok(())
    }
}

/// Java's `Boolean.parseBoolean` is lenient (anything but "true" is false);
/// a typo in a security switch deserves an error instead.
fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_javas() {
        let s = TlsSettings::default();
        assert_eq!(s.server_mode, TlsMode::Permissive);
        assert!(s.test_mode);
        assert!(!s.client_enable);
        assert!(!s.client_auth_server);
        assert_eq!(s.need_client_auth, ClientAuth::None);
    }

    #[test]
    fn keys_set_fields_and_bad_values_name_their_key() {
        let mut s = TlsSettings::default();
        s.apply_all([
            ("tls.server.mode", "Enforcing"),
            ("tls.server.need.client.auth", "require"),
            ("tls.server.certPath", "/c.pem"),
            ("useTLS", "true"),
            ("listenPort", "10911"),
        ])
        .unwrap();
        assert_eq!(s.server_mode, TlsMode::Enforcing);
        assert_eq!(s.need_client_auth, ClientAuth::Require);
        assert_eq!(s.server_cert_path, Some(PathBuf::from("/c.pem")));
        assert!(s.client_enable);
        let error = s.apply("tls.server.mode", "strict").unwrap_err().to_string();
        assert!(error.contains("tls.server.mode") && error.contains("strict"), "{error}");
        assert!(s.apply("tls.enable", "yes").is_err());
        assert!(s.apply("tls.server.keyPassword", "secret").is_err());
        assert!(!s.apply("brokerName", "b").unwrap());
    }
}
