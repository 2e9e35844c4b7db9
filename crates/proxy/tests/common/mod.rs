//! What the proxy's tests share: the proxy started in-process, and Python
//! helpers built on clients rmq did not write (`grpcio`, `ssl`).

#![allow(dead_code)]

use rmq_proxy::tls::TlsSettings;
use rmq_proxy::{ProxyConfig, run};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use tokio_util::sync::CancellationToken;

/// Calls QueryRoute with an empty request over `grpcio` and prints the
/// response's status code, or `ERROR <grpc code>`.
pub const GRPC_CALL: &str = r#"
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
pub const TLS_PROBE: &str = r#"
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

pub fn python(script: &str, args: &[&str]) -> String {
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
pub fn certificate(dir: &Path) -> (String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.join("proxy.pem"), dir.join("proxy.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert.display().to_string(), key.display().to_string())
}

/// Starts a proxy on an ephemeral port (NameServer `namesrv`, else none
/// reachable); returns where it listens and its stop switch.
pub async fn start(tls: TlsSettings, namesrv: Option<String>) -> (SocketAddr, CancellationToken) {
    start_with(ProxyConfig {
        tls,
        namesrv_addr: namesrv.unwrap_or_else(|| "127.0.0.1:1".into()),
        ..ProxyConfig::default()
    })
    .await
}

/// Starts a proxy with `config`, on an ephemeral loopback port.
pub async fn start_with(mut config: ProxyConfig) -> (SocketAddr, CancellationToken) {
    config.listen = "127.0.0.1:0".parse().unwrap();
    // Tests run side by side: the remoting port on an ephemeral port too.
    config.remoting_port = Some(0);
    let stop = CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let token = stop.clone();
    tokio::spawn(async move {
        run(config, token, move |addr, _remoting| {
            let _ = tx.send(addr);
        })
        .await
        .expect("proxy runs")
    });
    (rx.await.expect("proxy listens"), stop)
}

pub async fn blocking(script: &'static str, args: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || python(script, &args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .unwrap()
}

/// Any unary call with raw request bytes (hex) and an optional client id;
/// prints the response's first field as `CODE n` (a Status), or `ERROR
/// <grpc code>`.
pub const RAW_CALL: &str = r#"
import sys, grpc
addr, method, body_hex, client_id = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
channel = grpc.insecure_channel(addr)
call = channel.unary_unary(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)
meta = [("x-mq-client-id", client_id)] if client_id != "-" else []
try:
    raw = call(bytes.fromhex(body_hex), timeout=10, metadata=meta)
except grpc.RpcError as e:
    print("ERROR", e.code().name)
    sys.exit(0)
assert raw[0] == 0x0a, raw
inner = raw[2:2 + raw[1]]
code, shift, i = 0, 0, 1
while True:
    b = inner[i]; code |= (b & 0x7f) << shift; shift += 7; i += 1
    if b < 0x80: break
print("CODE", code)
"#;

/// Opens a Telemetry stream that never sends; prints how it ended.
pub const SILENT_TELEMETRY: &str = r#"
import sys, time, grpc
addr = sys.argv[1]
channel = grpc.insecure_channel(addr)
call = channel.stream_stream("/apache.rocketmq.v2.MessagingService/Telemetry",
                             request_serializer=lambda b: b, response_deserializer=lambda b: b)
def silence():
    time.sleep(30)
    return
    yield
started = time.time()
try:
    for _ in call(silence(), metadata=[("x-mq-client-id", "silent")], timeout=20):
        pass
    print("ENDED", round(time.time() - started))
except grpc.RpcError as e:
    print("ERROR", e.code().name, round(time.time() - started))
"#;

/// Opens `n` TCP connections that send nothing, checks a gRPC call still
/// works meanwhile, then how many the server closed within `wait` seconds.
pub const IDLE_SOCKETS: &str = r#"
import sys, socket, time, grpc
addr, n, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
host, port = addr.rsplit(":", 1)
socks = [socket.create_connection((host, int(port)), timeout=5) for _ in range(n)]
channel = grpc.insecure_channel(addr)
call = channel.unary_unary("/apache.rocketmq.v2.MessagingService/QueryRoute",
                           request_serializer=lambda b: b, response_deserializer=lambda b: b)
t = time.time(); call(b"", timeout=5); served_ms = (time.time() - t) * 1000
time.sleep(wait)
closed = 0
for s in socks:
    s.settimeout(0.5)
    try:
        if s.recv(1) == b"":
            closed += 1
    except (socket.timeout, ConnectionError):
        pass
print("SERVED", int(served_ms), "CLOSED", closed)
"#;
