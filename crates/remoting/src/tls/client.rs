//! The client side: how rmq's own clients open TLS connections when
//! `tls.enable` is on, checking the server as Java's client does.

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::io;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::certs::{self, AnyCertificate};
use super::{Stream, TlsError, TlsSettings};

/// The TLS side of a [`crate::Client`]. Cheap to clone.
#[derive(Clone)]
pub struct ClientTls {
    connector: TlsConnector,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

impl ClientTls {
    /// The client side of `settings`, `None` unless `tls.enable` is on.
    /// Reads the files it names, so a bad setting fails at start.
    ///
    /// As Java: in test mode, or with `tls.client.authServer=false`, any
    /// server certificate is accepted; otherwise it must chain to
    /// `tls.client.trustCertPath`. `tls.client.certPath`/`keyPath`, when
    /// given, are shown to servers that ask for a certificate.
    pub fn from_settings(settings: &TlsSettings) -> Result<Option<ClientTls>, TlsError> {
        if !settings.client_enable {
            return Ok(None);
        }
        let provider = certs::provider();
        let builder =
            ClientConfig::builder_with_provider(Arc::clone(&provider)).with_safe_default_protocol_versions()?;
        let builder = if settings.test_mode || !settings.client_auth_server {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyCertificate::new(&provider, false)))
        } else {
            let Some(trust) = &settings.client_trust_cert_path else {
                return Err(TlsError::Missing {
                    key: "tls.client.trustCertPath",
                    because: "tls.client.authServer=true",
                });
            };
            builder.with_root_certificates(certs::read_roots("tls.client.trustCertPath", trust)?)
        };
        let config = match (&settings.client_cert_path, &settings.client_key_path) {
            (Some(cert), Some(key)) => builder.with_client_auth_cert(
                certs::read_chain("tls.client.certPath", cert)?,
                certs::read_key("tls.client.keyPath", key)?,
            )?,
            (None, None) => builder.with_no_client_auth(),
            (Some(_), None) => {
                return Err(TlsError::Missing { key: "tls.client.keyPath", because: "tls.client.certPath is set" });
            }
            (None, Some(_)) => {
                return Err(TlsError::Missing { key: "tls.client.certPath", because: "tls.client.keyPath is set" });
            }
        };
        Ok(Some(ClientTls { connector: TlsConnector::from(Arc::new(config)) }))
    }

    /// Runs the handshake over a fresh connection to `addr` (`host:port`,
    /// the host naming the certificate's subject when it is checked).
    pub(crate) async fn connect(&self, addr: &str, tcp: TcpStream) -> io::Result<Stream> {
        let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host} is no TLS server name: {e}")))?;
        let tls = self.connector.connect(name, tcp).await?;
        Ok(Stream::Tls(Box::new(tls.into())))
    }
}
