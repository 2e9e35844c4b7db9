//! The server side: what a new connection is (TLS or plaintext, by its first
//! byte, as Java's `TlsModeHandler` decides) and whether the port's mode lets
//! it in.

use rustls::ServerConfig;
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::certs::{self, AnyCertificate};
use super::{ClientAuth, Stream, TlsError, TlsMode, TlsSettings};

/// The first byte of a TLS record carrying a handshake (a ClientHello).
const HANDSHAKE_RECORD: u8 = 0x16;
/// Peers whose refusal is logged by name; past that, refusals are only counted
/// (and logged at powers of two), so a scan cannot grow this set without bound.
const REMEMBERED_PEERS: usize = 1024;

/// What one server port does about TLS: its mode and, unless disabled, the
/// acceptor. Cheap to clone; the clones share the refusal counters, so the
/// owner can read them while the server runs.
#[derive(Clone)]
pub struct ServerTls {
    mode: TlsMode,
    acceptor: Option<TlsAcceptor>,
    refusals: Arc<Refusals>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("mode", &self.mode)
            .field("refused_plaintext", &self.refused_plaintext())
            .field("failed_handshakes", &self.failed_handshakes())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Refusals {
    plaintext: AtomicU64,
    failed_handshakes: AtomicU64,
    logged: Mutex<HashSet<IpAddr>>,
}

impl Default for ServerTls {
    fn default() -> ServerTls {
        ServerTls::disabled()
    }
}

impl ServerTls {
    /// Plaintext only, without even a look at the first byte: the transport
    /// as it is without TLS (a TLS client then fails on a frame too large).
    pub fn disabled() -> ServerTls {
        ServerTls { mode: TlsMode::Disabled, acceptor: None, refusals: Arc::default() }
    }

    /// Builds the server side of `settings`: reads the certificate files (or
    /// makes the test certificate), so a bad setting fails at start.
    pub fn from_settings(settings: &TlsSettings) -> Result<ServerTls, TlsError> {
        if settings.server_mode == TlsMode::Disabled {
            return Ok(ServerTls::disabled());
        }
        let (chain, key) = match (&settings.server_cert_path, &settings.server_key_path) {
            (Some(cert), Some(key)) => {
                (certs::read_chain("tls.server.certPath", cert)?, certs::read_key("tls.server.keyPath", key)?)
            }
            (None, None) if settings.test_mode => certs::self_signed(&["localhost"])?,
            (None, None) => return Err(TlsError::NoServerCertificate),
            (Some(_), None) => {
                return Err(TlsError::Missing { key: "tls.server.keyPath", because: "tls.server.certPath is set" });
            }
            (None, Some(_)) => {
                return Err(TlsError::Missing { key: "tls.server.certPath", because: "tls.server.keyPath is set" });
            }
        };
        let provider = certs::provider();
        let builder =
            ServerConfig::builder_with_provider(Arc::clone(&provider)).with_safe_default_protocol_versions()?;
        let config = match settings.need_client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            auth => {
                let mandatory = auth == ClientAuth::Require;
                let verifier: Arc<dyn rustls::server::danger::ClientCertVerifier> = if settings.server_auth_client {
                    let Some(trust) = &settings.server_trust_cert_path else {
                        return Err(TlsError::Missing {
                            key: "tls.server.trustCertPath",
                            because: "tls.server.authClient=true",
                        });
                    };
                    let roots = certs::read_roots("tls.server.trustCertPath", trust)?;
                    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider);
                    let verifier = if mandatory { verifier } else { verifier.allow_unauthenticated() };
                    verifier.build().map_err(|e| TlsError::Rustls(rustls::Error::General(e.to_string())))?
                } else {
                    Arc::new(AnyCertificate::new(&provider, mandatory))
                };
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = config.with_single_cert(chain, key)?;
        Ok(ServerTls {
            mode: settings.server_mode,
            acceptor: Some(TlsAcceptor::from(Arc::new(config))),
            refusals: Arc::default(),
        })
    }

    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// Plaintext connections closed because the port is enforcing.
    pub fn refused_plaintext(&self) -> u64 {
        self.refusals.plaintext.load(Ordering::Relaxed)
    }

    /// TLS handshakes that failed (no client certificate where one is
    /// required, a client that does not trust ours, garbage after 0x16).
    pub fn failed_handshakes(&self) -> u64 {
        self.refusals.failed_handshakes.load(Ordering::Relaxed)
    }

    /// Sorts a new connection: `None` closes it. `within` bounds the wait for
    /// the first byte and the handshake together (a peer that connects and
    /// says nothing holds its connection slot no longer than that).
    pub(crate) async fn accept(&self, tcp: TcpStream, peer: SocketAddr, within: Duration) -> Option<Stream> {
        let Some(acceptor) = &self.acceptor else {
            // Disabled: Java closes TLS clients (it peeks); we let the frame
            // check do it, so plaintext pays nothing for TLS being possible.
            return Some(Stream::Plain(tcp));
        };
        match tokio::time::timeout(within, self.sort(acceptor, tcp, peer)).await {
            Ok(sorted) => sorted,
            Err(_) => {
                tracing::debug!("{peer} neither spoke nor finished a TLS handshake within {within:?}; closed");
                None
            }
        }
    }

    async fn sort(&self, acceptor: &TlsAcceptor, tcp: TcpStream, peer: SocketAddr) -> Option<Stream> {
        let mut first = [0u8; 1];
        match tcp.peek(&mut first).await {
            Ok(0) => return None,
            Ok(_) => {}
            Err(error) => {
                tracing::debug!("reading the first byte from {peer} failed: {error}");
                return None;
            }
        }
        if first[0] != HANDSHAKE_RECORD {
            if self.mode == TlsMode::Enforcing {
                self.refuse(peer, &self.refusals.plaintext, "plaintext connection refused: tls.server.mode=enforcing");
                return None;
            }
            return Some(Stream::Plain(tcp));
        }
        match acceptor.accept(tcp).await {
            Ok(tls) => Some(Stream::Tls(Box::new(tls.into()))),
            Err(error) => {
                self.refuse(peer, &self.refusals.failed_handshakes, &format!("TLS handshake failed: {error}"));
                None
            }
        }
    }

    /// Counts a refusal and logs it the first time its peer's address is refused.
    fn refuse(&self, peer: SocketAddr, counter: &AtomicU64, why: &str) {
        let count = counter.fetch_add(1, Ordering::Relaxed) + 1;
        let first_for_peer = {
            let mut logged = self.refusals.logged.lock().unwrap_or_else(|e| e.into_inner());
            if logged.len() < REMEMBERED_PEERS { logged.insert(peer.ip()) } else { count.is_power_of_two() }
        };
        if first_for_peer {
            tracing::warn!("{peer}: {why} ({count} so far; further refusals of this address are not logged)");
        } else {
            tracing::debug!("{peer}: {why}");
        }
    }
}
