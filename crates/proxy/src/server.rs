//! Starting and stopping the proxy: the remoting client to the brokers, the
//! background tasks (transaction checks, producer-group and consumer heartbeats,
//! renewals, admin calls for 5.x consumers) and the
//! gRPC server on `grpcServerPort`, and the remoting port on `remotingListenPort`.

use std::net::SocketAddr;
use std::sync::Arc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use crate::Proxy;
use crate::config::ProxyConfig;
use crate::pb::messaging_service_server::MessagingServiceServer;
use crate::service::Service;

/// Largest request the gRPC server reads (Java's `grpcMaxInboundMessageSize`, 130 MiB).
const MAX_INBOUND: usize = 130 * 1024 * 1024;
/// gRPC streams one client connection may hold open at once.
const MAX_STREAMS_PER_CONNECTION: u32 = 1024;

/// Errors that stop the proxy from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("the gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// The account the proxy signs its remoting calls with, when it signs them:
/// `innerClientAuthenticationCredentials`, else the tools file. Without
/// one, brokers with ACL on refuse every call, which is said at start.
fn broker_credentials(config: &ProxyConfig) -> Option<rmq_client::Credentials> {
    if !config.sign_broker_calls {
        return None;
    }
    let found = config.broker_credentials.clone().or_else(|| {
        let text = std::fs::read_to_string(&config.tools_file).ok()?;
        crate::auth::tools_credentials(&text)
    });
    match &found {
        Some(c) => tracing::info!("the proxy signs its calls to brokers as accessKey={}", c.access_key),
        None => tracing::warn!(
            "the proxy should sign its calls to brokers (ACL is on) but has no credentials: neither \
             innerClientAuthenticationCredentials nor accessKey/secretKey in {}; brokers with aclEnable=true \
             will refuse its calls",
            config.tools_file.display()
        ),
    }
    found
}

/// Serves until `shutdown`; `ready` gets the bound gRPC address, and the
/// remoting port's when there is one, once both listen.
pub async fn run(
    config: ProxyConfig,
    shutdown: CancellationToken,
    ready: impl FnOnce(SocketAddr, Option<SocketAddr>),
) -> Result<(), ProxyError> {
    let acceptor = crate::tls::acceptor(&config.tls)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ProxyError::Listen { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| ProxyError::Listen { addr: config.listen, source })?;
    let (checks_tx, checks_rx) = tokio::sync::mpsc::unbounded_channel();
    let (calls_tx, calls_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut options = rmq_client::ClientOptions::new(&config.namesrv_addr);
    options.instance_name = Some(format!("rmq-proxy-{}", addr.port()));
    options.transaction_checks = Some(checks_tx);
    options.client_calls = Some(calls_tx);
    options.credentials = broker_credentials(&config);
    options.tls = config.remoting_tls.clone();
    let client = rmq_client::Client::new(options);
    let proxy = Arc::new(Proxy::new(config, client.clone()));
    let tasks = shutdown.child_token();
    let relay = tokio::spawn(proxy.clone().relay_checks(checks_rx, tasks.clone()));
    let heartbeats = tokio::spawn(proxy.clone().heartbeat_producers(tasks.clone()));
    let renewals = tokio::spawn(proxy.clone().renew_held(tasks.clone()));
    let consumers = tokio::spawn(proxy.clone().heartbeat_consumers(tasks.clone()));
    let client_calls = tokio::spawn(proxy.clone().answer_client_calls(calls_rx, tasks.clone()));
    let tls = match (&acceptor, proxy.config.tls.mode) {
        (None, _) => "plaintext",
        (Some(_), crate::tls::TlsMode::Enforcing) => "TLS only",
        (Some(_), _) => "TLS and plaintext",
    };
    tracing::info!("rmq proxy serves gRPC on {addr} ({tls}), NameServer {}", proxy.config.namesrv_addr);
    let remoting = match proxy.config.remoting_listen() {
        Some(listen) => Some(crate::remoting_port::serve(proxy.clone(), listen, tasks.clone()).await?),
        None => None,
    };
    if let Some((remoting_addr, _)) = &remoting {
        tracing::info!("rmq proxy serves remoting clients on {remoting_addr}");
    }
    let connections = crate::tls::incoming(listener, acceptor, proxy.config.tls.mode, tasks.clone());
    ready(addr, remoting.as_ref().map(|(a, _)| *a));
    let service = MessagingServiceServer::new(Service(proxy))
        .max_decoding_message_size(MAX_INBOUND)
        .max_encoding_message_size(MAX_INBOUND);
    let served = tonic::transport::Server::builder()
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
        .add_service(service)
        .serve_with_incoming_shutdown(ReceiverStream::new(connections), shutdown.cancelled())
        .await;
    tasks.cancel();
    let _ = relay.await;
    let _ = heartbeats.await;
    let _ = renewals.await;
    let _ = consumers.await;
    let _ = client_calls.await;
    if let Some((_, serving)) = remoting {
        let _ = serving.await;
    }
    client.close();
    served.map_err(ProxyError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_credentials_from_json_then_tools_yml() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ProxyConfig { tools_file: dir.path().join("tools.yml"), ..ProxyConfig::default() };
        std::fs::write(&config.tools_file, "accessKey: fromTools\nsecretKey: tools-secret\n").unwrap();
        assert_eq!(broker_credentials(&config), None, "not signing unless asked");
        config.sign_broker_calls = true;
        assert_eq!(broker_credentials(&config), Some(rmq_client::Credentials::new("fromTools", "tools-secret")));
        config.broker_credentials = Some(rmq_client::Credentials::new("fromJson", "json-secret"));
        assert_eq!(broker_credentials(&config), Some(rmq_client::Credentials::new("fromJson", "json-secret")));
        config.broker_credentials = None;
        config.tools_file = dir.path().join("missing.yml");
        assert_eq!(broker_credentials(&config), None, "warned about, not fatal");
    }
}
