//! TLS on the gRPC port, with Java's switches: `tls.server.mode`
//! `disabled` (plaintext only), `permissive` (Java's default: TLS and
//! plaintext on one port, told apart by the first byte, 0x16 opening a TLS
//! handshake) or `enforcing` (TLS only). The certificate comes from
//! `tlsCertPath`/`tlsKeyPath` (PEM); without one, test mode
//! (`tlsTestModeEnable`, on by default as in Java) makes a self-signed
//! certificate at start, which the 5.x Java client accepts (it does not
//! verify the proxy's certificate unless told to).

use rmq_remoting::tls::certs;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How long a new connection may take to send its first byte and finish a
/// handshake before it is dropped (a client that connects and says nothing
/// holds no more than this).
const HANDSHAKE_WITHIN: Duration = Duration::from_secs(10);
/// Connections accepted but not yet taken by the gRPC server.
const ACCEPT_QUEUE: usize = 128;

/// The same switch as the remoting ports' `tls.server.mode`.
pub use rmq_remoting::tls::TlsMode;

/// The TLS part of the proxy's settings.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    pub mode: TlsMode,
    pub cert_path: Option<PathBuf>,
    pub key_path: Option<PathBuf>,
    /// Without a certificate: make a self-signed one (else serve plaintext only).
    pub test_mode: bool,
}

impl Default for TlsSettings {
    fn default() -> TlsSettings {
        TlsSettings { mode: TlsMode::Permissive, cert_path: None, key_path: None, test_mode: true }
    }
}

/// A TLS setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    Certificate(#[from] rmq_remoting::tls::TlsError),
    #[error("tlsCertPath and tlsKeyPath must be given together")]
    Half,
    #[error("the TLS certificate and key do not fit: {0}")]
    Config(#[from] rustls::Error),
    #[error("tls.server.mode=enforcing needs a certificate (tlsCertPath/tlsKeyPath) or tlsTestModeEnable=true")]
    NoCertificate,
}

/// The acceptor for `settings`, `None` when no TLS is served.
pub fn acceptor(settings: &TlsSettings) -> Result<Option<TlsAcceptor>, TlsError> {
    if settings.mode == TlsMode::Disabled {
        return Ok(None);
    }
    let (certs, key) = match (&settings.cert_path, &settings.key_path) {
        (Some(cert), Some(key)) => (certs::read_chain("tlsCertPath", cert)?, certs::read_key("tlsKeyPath", key)?),
        (None, None) if settings.test_mode => certs::self_signed(&["localhost", "rmq-proxy"])?,
        (None, None) if settings.mode == TlsMode::Enforcing => return Err(TlsError::NoCertificate),
        (None, None) => return Ok(None),
        _ => return Err(TlsError::Half),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

/// One accepted connection, in the clear or under TLS.
#[derive(Debug)]
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => s.get_ref().0,
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        TcpConnectInfo { local_addr: self.tcp().local_addr().ok(), remote_addr: self.tcp().peer_addr().ok() }
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Accepts connections until `stop`, each sorted (and handshaken) in its
/// own task so a slow one never holds up the others; the ones ready for
/// gRPC come out of the returned channel.
pub fn incoming(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    mode: TlsMode,
    stop: CancellationToken,
) -> mpsc::Receiver<io::Result<Conn>> {
    let (tx, rx) = mpsc::channel(ACCEPT_QUEUE);
    tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!("gRPC accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stop.cancelled() => return,
            };
            let _ = stream.set_nodelay(true);
            let (tx, acceptor) = (tx.clone(), acceptor.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_WITHIN, sort(stream, peer, acceptor, mode)).await {
                    Ok(Some(conn)) => {
                        let _ = tx.send(Ok(conn)).await;
                    }
                    Ok(None) => {}
                    Err(_) => tracing::debug!("{peer} neither spoke nor finished a TLS handshake in time"),
                }
            });
        }
    });
    rx
}

/// TLS or plaintext, by the first byte and the mode; `None` drops it.
async fn sort(stream: TcpStream, peer: SocketAddr, acceptor: Option<TlsAcceptor>, mode: TlsMode) -> Option<Conn> {
    let mut first = [0u8; 1];
    let n = stream.peek(&mut first).await.ok()?;
    let tls = n == 1 && first[0] == 0x16;
    match (tls, acceptor) {
        (true, Some(acceptor)) => match acceptor.accept(stream).await {
            Ok(s) => Some(Conn::Tls(Box::new(s))),
            Err(e) => {
                tracing::debug!("TLS handshake with {peer} failed: {e}");
                None
            }
        },
        (false, _) if mode == TlsMode::Enforcing => {
            tracing::debug!("{peer} spoke plaintext to an enforcing TLS port; closed");
            None
        }
        _ => Some(Conn::Plain(stream)),
    }
}
