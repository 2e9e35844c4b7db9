//! TLS on the gRPC port, checked with clients rmq did not write: Google's
//! gRPC for Python (`grpcio`, installed by scripts/ci-deps.sh with the 5.x
//! Python client) and Python's `ssl`. The proxy runs in-process with no
//! broker behind it: a QueryRoute without a client id is answered by the
//! proxy itself (CLIENT_ID_REQUIRED), which is all a transport test needs.

mod common;

use common::{GRPC_CALL, TLS_PROBE, blocking, certificate, start};
use rmq_proxy::tls::{TlsMode, TlsSettings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissive_serves_tls_and_plaintext_on_one_port() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let tls = TlsSettings {
        mode: TlsMode::Permissive,
        cert_path: Some(cert.clone().into()),
        key_path: Some(key.into()),
        test_mode: false,
    };
    let (addr, stop) = start(tls, None).await;
    let a = addr.to_string();
    assert_eq!(blocking(GRPC_CALL, vec![a.clone(), cert]).await, "CODE 40017", "gRPC over TLS, CLIENT_ID_REQUIRED");
    assert_eq!(blocking(GRPC_CALL, vec![a.clone(), "-".into()]).await, "CODE 40017", "plaintext gRPC too");
    assert!(blocking(TLS_PROBE, vec![a]).await.ends_with(" h2"), "ALPN h2");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforcing_refuses_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let tls = TlsSettings {
        mode: TlsMode::Enforcing,
        cert_path: Some(cert.clone().into()),
        key_path: Some(key.into()),
        test_mode: false,
    };
    let (addr, stop) = start(tls, None).await;
    let a = addr.to_string();
    assert_eq!(blocking(GRPC_CALL, vec![a.clone(), cert]).await, "CODE 40017");
    assert_eq!(blocking(GRPC_CALL, vec![a, "-".into()]).await, "ERROR UNAVAILABLE", "plaintext is closed");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_is_plaintext_only_and_test_mode_makes_a_certificate() {
    let (addr, stop) = start(TlsSettings { mode: TlsMode::Disabled, ..TlsSettings::default() }, None).await;
    let a = addr.to_string();
    assert_eq!(blocking(GRPC_CALL, vec![a.clone(), "-".into()]).await, "CODE 40017");
    assert!(blocking(TLS_PROBE, vec![a]).await.starts_with("REFUSED"), "no TLS when disabled");
    stop.cancel();
    // The default: permissive with a self-signed certificate made at start.
    let (addr, stop) = start(TlsSettings::default(), None).await;
    let probe = blocking(TLS_PROBE, vec![addr.to_string()]).await;
    assert!(probe.starts_with("TLS TLSv1.") && probe.ends_with(" h2"), "{probe}");
    stop.cancel();
}

#[test]
fn enforcing_without_a_certificate_is_refused_at_start() {
    let tls = TlsSettings { mode: TlsMode::Enforcing, test_mode: false, ..TlsSettings::default() };
    assert!(matches!(rmq_proxy::tls::acceptor(&tls), Err(rmq_proxy::tls::TlsError::NoCertificate)));
    let half = TlsSettings { cert_path: Some("/x.pem".into()), ..TlsSettings::default() };
    assert!(matches!(rmq_proxy::tls::acceptor(&half), Err(rmq_proxy::tls::TlsError::Half)));
}
