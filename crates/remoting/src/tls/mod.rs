//! TLS on the remoting ports, with Java's switches (`TlsSystemConfig`).
//!
//! * [`TlsSettings`]: the `tls.*` keys and their defaults; where the values
//!   come from is the caller's business.
//! * [`ServerTls`]: per port, `tls.server.mode` decides: `disabled` serves
//!   plaintext exactly as before; `permissive` (Java's default) peeks at the
//!   first byte of each connection and runs a TLS handshake when it is 0x16;
//!   `enforcing` closes plaintext connections (counted, logged once per peer
//!   address) and leaves everyone else alone.
//! * [`ClientTls`]: `tls.enable` makes a [`crate::Client`] connect with TLS.
//! * [`Stream`]: a connection in the clear or under TLS; the reader and the
//!   writer get its halves, so plaintext keeps its direct, vectored writes.
//!
//! rustls with the ring provider: no OpenSSL.

pub mod certs;
mod client;
mod server;
mod settings;
mod stream;

pub use client::ClientTls;
pub use server::ServerTls;
pub use settings::{CONFIG_FILE_KEY, ClientAuth, DEFAULT_CONFIG_FILE, KEYS, TlsMode, TlsSettings};
pub use stream::Stream;
pub(crate) use stream::{ReadHalf, WriteHalf};

use std::path::PathBuf;

/// A TLS setting that cannot be used; each names the key to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{key}={value:?} is not valid: expected {expected}")]
    BadValue { key: String, value: String, expected: &'static str },
    #[error("{key} is set but encrypted private keys are not supported: give an unencrypted PEM key")]
    KeyPassword { key: String },
    #[error("cannot use {key}={}: {reason}", path.display())]
    File { key: &'static str, path: PathBuf, reason: String },
    #[error("{key} is needed because {because}")]
    Missing { key: &'static str, because: &'static str },
    #[error(
        "tls.server.mode is not disabled but no certificate is configured: set tls.server.certPath and \
         tls.server.keyPath, or tls.test.mode.enable=true for a self-signed one, or tls.server.mode=disabled"
    )]
    NoServerCertificate,
    #[error("cannot make the self-signed test certificate: {0}")]
    SelfSigned(String),
    #[error("the TLS certificate and key cannot be used: {0}")]
    Rustls(#[from] rustls::Error),
}
