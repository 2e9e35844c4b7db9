//! Where a process's TLS switches come from, in the order Java applies them:
//!
//! 1. the defaults (`TlsSystemConfig`'s: permissive ports, test mode on,
//!    clients in plaintext);
//! 2. the `tls.*` keys (and `useTLS`) of the server's own properties file,
//!    which the caller has applied already;
//! 3. JVM system properties: `-Dtls.*=` in `JAVA_OPT`/`JAVA_OPT_EXT`;
//! 4. the file named by `-Dtls.config.file=` (default
//!    `/etc/rocketmq/tls.properties`), read only if it exists. Java's
//!    `TlsHelper` loads it last, so a key it sets wins over the `-D` one.

use rmq_remoting::tls::{CONFIG_FILE_KEY, DEFAULT_CONFIG_FILE, KEYS};
use rmq_remoting::{ClientTls, TlsSettings};
use std::path::PathBuf;

use crate::{java_opts, properties};

/// `base` (defaults plus a config file's keys) with the system properties
/// and the TLS file laid over it. The error names the key or file at fault.
pub fn resolve(mut base: TlsSettings) -> anyhow::Result<TlsSettings> {
    resolve_with(&mut base, java_opts::property)?;
    Ok(base)
}

/// [`resolve`] with `property` looking up system properties.
fn resolve_with(settings: &mut TlsSettings, property: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
    for key in KEYS.iter().filter(|key| key.starts_with("tls.")) {
        if let Some(value) = property(key) {
            settings.apply(key, &value).map_err(|e| anyhow::anyhow!("-D{key}: {e}"))?;
        }
    }
    let file = property(CONFIG_FILE_KEY).map_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE), PathBuf::from);
    if file.is_file() {
        let map = properties::load(&file)?;
        settings.apply_all(properties::pairs(&map)).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    }
    Ok(())
}

/// The client side for a tool or a client-only process (mqadmin, mqbench,
/// the proxy's connections to brokers): `None` unless `tls.enable` is on.
pub fn client() -> anyhow::Result<Option<ClientTls>> {
    let settings = resolve(TlsSettings::default())?;
    Ok(ClientTls::from_settings(&settings)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_remoting::tls::TlsMode;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |key| map.get(key).cloned()
    }

    #[test]
    fn system_properties_beat_the_config_file_and_the_tls_file_beats_both() {
        let dir = tempfile::tempdir().unwrap();
        let tls_file = dir.path().join("tls.properties");
        std::fs::write(&tls_file, "tls.test.mode.enable=false\ntls.server.need.client.auth=optional\n").unwrap();
        let mut settings = TlsSettings::default();
        settings.apply("tls.server.mode", "disabled").unwrap(); // from broker.properties
        settings.apply("tls.test.mode.enable", "true").unwrap();
        let file = tls_file.display().to_string();
        let props = [("tls.server.mode", "enforcing"), ("tls.test.mode.enable", "true"), ("tls.config.file", &file)];
        resolve_with(&mut settings, lookup(&props)).unwrap();
        assert_eq!(settings.server_mode, TlsMode::Enforcing);
        assert!(!settings.test_mode, "the TLS file has the last word, as in Java");
        assert_eq!(settings.need_client_auth, rmq_remoting::tls::ClientAuth::Optional);
    }

    #[test]
    fn a_bad_value_names_its_source() {
        let mut settings = TlsSettings::default();
        let error = resolve_with(&mut settings, lookup(&[("tls.server.mode", "on")])).unwrap_err().to_string();
        assert!(error.contains("-Dtls.server.mode") && error.contains("\"on\""), "{error}");
        let missing = lookup(&[("tls.config.file", "/nonexistent/tls.properties")]);
        resolve_with(&mut settings, missing).expect("an absent TLS file is skipped");
    }
}
