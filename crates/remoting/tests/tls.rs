//! TLS on a real port, as Java's `TlsModeHandler` sorts connections:
//! permissive serves both kinds, enforcing closes plaintext without touching
//! the TLS clients, client authentication refuses certificate-less clients,
//! and a client outside rmq (Python's `ssl`) gets a RocketMQ answer.

mod common;

use bytes::Bytes;
use common::*;
use rmq_protocol::ResponseCode;
use rmq_remoting::tls::{TlsMode, TlsSettings};
use rmq_remoting::{Client, ClientConfig, ClientTls, RejectAll, ServerTls};
use std::path::PathBuf;
use std::sync::Arc;

fn server_tls(settings: &TlsSettings) -> ServerTls {
    ServerTls::from_settings(settings).expect("server TLS")
}

fn client(tls: Option<ClientTls>) -> Client {
    Client::new(ClientConfig { tls, ..ClientConfig::default() }, Arc::new(RejectAll))
}

fn tls_client(settings: &TlsSettings) -> Client {
    let settings = TlsSettings { client_enable: true, ..settings.clone() };
    client(Some(ClientTls::from_settings(&settings).expect("client TLS").expect("tls.enable is on")))
}

fn mode(mode: TlsMode) -> TlsSettings {
    TlsSettings { server_mode: mode, ..TlsSettings::default() }
}

async fn start_tls(tls: &ServerTls) -> Running {
    start(rmq_remoting::ServerConfig { tls: tls.clone(), ..config() }).await
}

async fn echo(client: &Client, server: &Running, body: Bytes) -> Result<Bytes, rmq_remoting::RemotingError> {
    let response = client.invoke(&server.addr(), req(ECHO).with_body(body), WAIT).await?;
    assert_eq!(response.response_code(), ResponseCode::Success);
    Ok(response.body.to_bytes())
}

/// Waits (boundedly) for `check`: the server counts a refusal just after
/// the client may already have seen it.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "{what}: not within {WAIT:?}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A body large enough to leave the encode buffer and go out through the
/// writer's vectored path, so TLS sees split records and partial writes.
fn large_body() -> Bytes {
    Bytes::from((0..300_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permissive_port_serves_plaintext_and_tls_clients_alike() {
    let tls = server_tls(&mode(TlsMode::Permissive));
    let server = start_tls(&tls).await;
    let plain = client(None);
    let secure = tls_client(&TlsSettings::default());
    for body in [Bytes::from_static(b"small"), large_body()] {
        assert_eq!(echo(&plain, &server, body.clone()).await.unwrap(), body);
        assert_eq!(echo(&secure, &server, body.clone()).await.unwrap(), body);
    }
    assert_eq!(tls.refused_plaintext(), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enforcing_port_closes_plaintext_clients_and_keeps_serving_tls_ones() {
    let tls = server_tls(&mode(TlsMode::Enforcing));
    let server = start_tls(&tls).await;
    let secure = tls_client(&TlsSettings::default());
    assert_eq!(echo(&secure, &server, Bytes::from_static(b"before")).await.unwrap(), &b"before"[..]);

    let mut raw = Raw::connect(server.addr).await;
    raw.send(&req(ECHO)).await;
    assert!(raw.recv().await.is_none(), "a plaintext request gets the connection closed, no answer");
    assert!(client(None).invoke(&server.addr(), req(ECHO), WAIT).await.is_err());
    eventually("both refusals are counted", || tls.refused_plaintext() >= 2).await;

    assert_eq!(echo(&secure, &server, Bytes::from_static(b"after")).await.unwrap(), &b"after"[..]);
    assert_eq!(server.service.connected.load(std::sync::atomic::Ordering::SeqCst), 1, "the TLS connection survived");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_port_stays_plaintext() {
    let server = start_tls(&server_tls(&mode(TlsMode::Disabled))).await;
    assert!(echo(&tls_client(&TlsSettings::default()), &server, Bytes::new()).await.is_err());
    assert_eq!(echo(&client(None), &server, Bytes::from_static(b"p")).await.unwrap(), &b"p"[..]);
    server.stop().await;
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files.
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf = |names: Vec<String>| {
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = rcgen::CertificateParams::new(names).unwrap().signed_by(&key, &ca).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server_cert, server_key) = leaf(vec!["127.0.0.1".into(), "localhost".into()]);
        let (client_cert, client_key) = leaf(vec!["rmq-client".into()]);
        Pki {
            ca: write("ca.pem", ca.pem()),
            server_cert: write("server.pem", server_cert),
            server_key: write("server.key", server_key),
            client_cert: write("client.pem", client_cert),
            client_key: write("client.key", client_key),
            _dir: dir,
        }
    }

    /// Real certificates, no test mode, both sides checking each other.
    fn settings(&self) -> TlsSettings {
        TlsSettings {
            server_mode: TlsMode::Enforcing,
            test_mode: false,
            server_cert_path: Some(self.server_cert.clone()),
            server_key_path: Some(self.server_key.clone()),
            server_auth_client: true,
            server_trust_cert_path: Some(self.ca.clone()),
            client_auth_server: true,
            client_trust_cert_path: Some(self.ca.clone()),
            ..TlsSettings::default()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn need_client_auth_require_refuses_a_client_without_a_certificate() {
    let pki = Pki::new();
    let settings = TlsSettings { need_client_auth: rmq_remoting::tls::ClientAuth::Require, ..pki.settings() };
    let tls = server_tls(&settings);
    let server = start_tls(&tls).await;

    let anonymous = tls_client(&settings);
    assert!(echo(&anonymous, &server, Bytes::new()).await.is_err(), "no client certificate, no service");
    eventually("the failed handshake is counted", || tls.failed_handshakes() >= 1).await;

    let with_cert = TlsSettings {
        client_cert_path: Some(pki.client_cert.clone()),
        client_key_path: Some(pki.client_key.clone()),
        ..settings.clone()
    };
    let known = tls_client(&with_cert);
    assert_eq!(echo(&known, &server, Bytes::from_static(b"mtls")).await.unwrap(), &b"mtls"[..]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_checking_the_server_refuses_a_certificate_it_does_not_trust() {
    let pki = Pki::new();
    // The server shows a self-signed test certificate; the client trusts only the CA.
    let server = start_tls(&server_tls(&mode(TlsMode::Enforcing))).await;
    let strict = tls_client(&pki.settings());
    assert!(echo(&strict, &server, Bytes::new()).await.is_err());
    server.stop().await;
}

#[test]
fn unusable_settings_name_the_key_at_fault() {
    let missing = TlsSettings {
        server_cert_path: Some(PathBuf::from("/nonexistent/server.pem")),
        server_key_path: Some(PathBuf::from("/nonexistent/server.key")),
        ..TlsSettings::default()
    };
    let error = ServerTls::from_settings(&missing).unwrap_err().to_string();
    assert!(error.contains("tls.server.certPath") && error.contains("/nonexistent/server.pem"), "{error}");

    let no_cert = TlsSettings { test_mode: false, ..TlsSettings::default() };
    let error = ServerTls::from_settings(&no_cert).unwrap_err().to_string();
    assert!(error.contains("tls.server.certPath"), "{error}");

    let no_trust =
        TlsSettings { client_enable: true, test_mode: false, client_auth_server: true, ..TlsSettings::default() };
    let error = ClientTls::from_settings(&no_trust).unwrap_err().to_string();
    assert!(error.contains("tls.client.trustCertPath"), "{error}");
}

/// A RocketMQ request over Python's `ssl`: the frame is built by hand
/// (JSON header), as any non-rmq client would.
const PYTHON_PROBE: &str = r#"
import json, socket, ssl, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with socket.create_connection((host, port), timeout=5) as raw:
    with ctx.wrap_socket(raw, server_hostname=host) as s:
        header = json.dumps({"code": int(sys.argv[3]), "flag": 0, "language": "PYTHON", "opaque": 7,
                             "serializeTypeCurrentRPC": "JSON", "version": 409}).encode()
        s.sendall(struct.pack(">II", 4 + len(header), len(header)) + header)
        def exactly(n):
            data = b""
            while len(data) < n:
                chunk = s.recv(n - len(data))
                if not chunk:
                    sys.exit("closed early")
                data += chunk
            return data
        total, = struct.unpack(">I", exactly(4))
        frame = exactly(total)
        header_len = struct.unpack(">I", frame[:4])[0] & 0xFFFFFF
        answer = json.loads(frame[4:4 + header_len])
        print(s.version(), answer["code"], answer["opaque"])
"#;

/// Runs [`PYTHON_PROBE`] against `addr` with request `code`; `None` without python3.
pub fn python_probe(addr: &str, code: i32) -> Option<String> {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let output =
        std::process::Command::new("python3").args(["-c", PYTHON_PROBE, host, port, &code.to_string()]).output();
    match output {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: python3 is not installed");
            None
        }
        Err(e) => panic!("cannot run python3: {e}"),
        Ok(out) => {
            assert!(out.status.success(), "probe failed: {}", String::from_utf8_lossy(&out.stderr));
            Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_ssl_completes_a_handshake_and_gets_a_rocketmq_answer() {
    let server = start_tls(&server_tls(&mode(TlsMode::Enforcing))).await;
    let addr = server.addr();
    let answer = tokio::task::spawn_blocking(move || python_probe(&addr, 4242)).await.unwrap();
    if let Some(answer) = answer {
        let code = 3; // REQUEST_CODE_NOT_SUPPORTED
        assert!(answer.starts_with("TLSv1."), "{answer}");
        assert!(answer.ends_with(&format!(" {code} 7")), "REQUEST_CODE_NOT_SUPPORTED for opaque 7: {answer}");
    }
    server.stop().await;
}
