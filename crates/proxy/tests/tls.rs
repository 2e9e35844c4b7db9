//! TLS on the gRPC port, checked with clients rmq did not write: Google's
//! gRPC for Python (`grpcio`, installed by scripts/ci-deps.sh with the 5.x
//! Python client) and Python's `ssl`. The proxy runs in-process with no
//! broker behind it: a QueryRoute without a client id is answered by the
//! proxy itself (CLIENT_ID_REQUIRED), which is all a transport test needs.

use rmq_proxy::tls::{TlsMode, TlsSettings};
use rmq_proxy::{ProxyConfig, run};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use tokio_util::sync::CancellationToken;

/// Calls QueryRoute with an empty request over `grpcio` and prints the
/// response's status code, or `ERROR <grpc code>`.
const GRPC_CALL: &str = r#"
import sys, grpc
addr, ca = sys.argv[1], sys.argv[2]
if ca == "-":
    channel = grpc.insecure_channel(addr)
else:
    creds = grpc.ssl_channel_credentials(root_certificates=open(ca, "rb").read())
    channel = grpc.secure_channel(addr, creds, options=[("grpc.ssl_target_name_override", "localhost")])
call = channel.unary_unary("/apache.rocketmq.v2.MessagingService/QueryRoute",
                           request_serializer=lambda b: b, response_deserializer=lambda b: b)
try:
    raw = call(b"", timeout=5)
except grpc.RpcError as e:
    print("ERROR", e.code().name)
    sys.exit(0)
# QueryRouteResponse.status (field 1) .code (field 1, varint)
assert raw[0] == 0x0a, raw
inner = raw[2:2 + raw[1]]
assert inner[0] == 0x08, inner
code, shift, i = 0, 0, 1
while True:
    b = inner[i]; code |= (b & 0x7f) << shift; shift += 7; i += 1
    if b < 0x80: break
print("CODE", code)
"#;

/// A TLS handshake offering ALPN h2 with no certificate check; prints the
/// negotiated protocol or `REFUSED`.
const TLS_PROBE: &str = r#"
import sys, socket, ssl
host, port = sys.argv[1].rsplit(":", 1)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["h2"])
try:
    with socket.create_connection((host, int(port)), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            print("TLS", t.version(), t.selected_alpn_protocol())
except (ssl.SSLError, ConnectionError, OSError) as e:
    print("REFUSED", type(e).__name__)
"#;

fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs (scripts/ci-deps.sh installs what the tests need)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python failed (is grpcio installed? run scripts/ci-deps.sh): {stderr}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A self-signed certificate for `localhost` written as PEM files.
fn certificate(dir: &Path) -> (String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.join("proxy.pem"), dir.join("proxy.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert.display().to_string(), key.display().to_string())
}

async fn start(tls: TlsSettings) -> (SocketAddr, CancellationToken) {
    let config = ProxyConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        namesrv_addr: "127.0.0.1:1".into(),
        tls,
        ..ProxyConfig::default()
    };
    let stop = CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let token = stop.clone();
    tokio::spawn(async move {
        run(config, token, move |addr| {
            let _ = tx.send(addr);
        })
        .await
        .expect("proxy runs")
    });
    (rx.await.expect("proxy listens"), stop)
}

async fn blocking(script: &'static str, args: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || python(script, &args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .unwrap()
}

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
    let (addr, stop) = start(tls).await;
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
    let (addr, stop) = start(tls).await;
    let a = addr.to_string();
    assert_eq!(blocking(GRPC_CALL, vec![a.clone(), cert]).await, "CODE 40017");
    assert_eq!(blocking(GRPC_CALL, vec![a, "-".into()]).await, "ERROR UNAVAILABLE", "plaintext is closed");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_is_plaintext_only_and_test_mode_makes_a_certificate() {
    let (addr, stop) = start(TlsSettings { mode: TlsMode::Disabled, ..TlsSettings::default() }).await;
    let a = addr.to_string();
    assert_eq!(blocking(GRPC_CALL, vec![a.clone(), "-".into()]).await, "CODE 40017");
    assert!(blocking(TLS_PROBE, vec![a]).await.starts_with("REFUSED"), "no TLS when disabled");
    stop.cancel();
    // The default: permissive with a self-signed certificate made at start.
    let (addr, stop) = start(TlsSettings::default()).await;
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
