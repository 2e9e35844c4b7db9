//! The exporter keys of RocketMQ 5's `BrokerConfig` (and `ControllerConfig`),
//! as rmq reads them.

use std::net::{IpAddr, SocketAddr};

/// Java's `MetricsExporterType`. rmq serves only `PROM`; the others are
/// recognised so that a Java config starts rmq, with a warning that no
/// metrics are exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExporterType {
    Disable,
    OtlpGrpc,
    Prom,
    Log,
}

impl ExporterType {
    /// Java's names, any case (Java's `valueOf` is exact; operators are not).
    pub fn parse(name: &str) -> Result<ExporterType, SettingsError> {
        match name.trim().to_ascii_uppercase().as_str() {
            "" | "DISABLE" => Ok(ExporterType::Disable),
            "OTLP_GRPC" => Ok(ExporterType::OtlpGrpc),
            "PROM" => Ok(ExporterType::Prom),
            "LOG" => Ok(ExporterType::Log),
            _ => Err(SettingsError::UnknownType(name.to_owned())),
        }
    }
}

/// Why the exporter keys cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("metricsExporterType '{0}' is not one of DISABLE, OTLP_GRPC, PROM, LOG")]
    UnknownType(String),
    #[error("metricsPromExporterHost '{0}' is not an IP address")]
    BadHost(String),
    #[error("metricsLabel '{0}' is not a list of key:value pairs with Prometheus label names")]
    BadLabel(String),
}

/// Where and how a server exports its metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExporterSettings {
    pub exporter: ExporterType,
    /// The address `/metrics` listens on.
    pub listen: SocketAddr,
    /// `metricsLabel`: extra constant labels put on every series.
    pub extra_labels: Vec<(String, String)>,
    /// `metricsOtelCardinalityLimit`: most labelled series per metric.
    pub series_limit: usize,
}

impl ExporterSettings {
    /// Reads the keys' values. An empty `host` falls back to `default_host`
    /// (Java binds `brokerIP1` when `metricsPromExporterHost` is blank).
    pub fn parse(
        exporter: &str,
        host: &str,
        default_host: IpAddr,
        port: u16,
        labels: &str,
        series_limit: usize,
    ) -> Result<ExporterSettings, SettingsError> {
        let exporter = ExporterType::parse(exporter)?;
        let host = host.trim();
        let ip = if host.is_empty() {
            default_host
        } else {
            host.parse().map_err(|_| SettingsError::BadHost(host.to_owned()))?
        };
        Ok(ExporterSettings {
            exporter,
            listen: SocketAddr::new(ip, port),
            extra_labels: parse_labels(labels)?,
            series_limit: series_limit.max(1),
        })
    }

    /// Whether an endpoint is to be served.
    pub fn serves_prometheus(&self) -> bool {
        self.exporter == ExporterType::Prom
    }
}

/// `metricsLabel`: `k1:v1,k2:v2`. Java skips a malformed pair with a warning;
/// rmq refuses the whole value, since a label that silently vanishes breaks
/// every query written against it.
fn parse_labels(text: &str) -> Result<Vec<(String, String)>, SettingsError> {
    let mut labels = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once(':') else {
            return Err(SettingsError::BadLabel(text.to_owned()));
        };
        let key = key.trim();
        let valid_name = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name || value.contains(':') {
            return Err(SettingsError::BadLabel(text.to_owned()));
        }
        labels.push((key.to_owned(), value.trim().to_owned()));
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn java_defaults_export_nothing() {
        let s = ExporterSettings::parse("DISABLE", "", LOOPBACK, 5557, "", 50_000).unwrap();
        assert!(!s.serves_prometheus());
        assert_eq!(s.listen, SocketAddr::new(LOOPBACK, 5557));
    }

    #[test]
    fn prom_with_a_host_and_labels() {
        let s = ExporterSettings::parse("prom", "0.0.0.0", LOOPBACK, 6000, "region:eu, az:a", 10).unwrap();
        assert!(s.serves_prometheus());
        assert_eq!(s.listen.to_string(), "0.0.0.0:6000");
        assert_eq!(s.extra_labels, vec![("region".into(), "eu".into()), ("az".into(), "a".into())]);
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = ExporterSettings::parse("PROMETHEUS", "", LOOPBACK, 1, "", 1).unwrap_err();
        assert!(e.to_string().contains("metricsExporterType 'PROMETHEUS'"), "{e}");
        let e = ExporterSettings::parse("PROM", "my-host", LOOPBACK, 1, "", 1).unwrap_err();
        assert!(e.to_string().contains("metricsPromExporterHost"), "{e}");
        for labels in ["novalue", "bad-name:x", "a:b:c"] {
            let e = ExporterSettings::parse("PROM", "", LOOPBACK, 1, labels, 1).unwrap_err();
            assert!(e.to_string().contains("metricsLabel"), "{labels}: {e}");
        }
    }
}
