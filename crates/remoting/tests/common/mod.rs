//! A test service and helpers to start servers and speak raw frames.

#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use rmq_protocol::{RemotingCommand, ResponseCode, frame};
use rmq_remoting::{CancellationToken, Connection, LimitCounters, Server, ServerConfig, Service, not_supported};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;

/// Answers with the request's body and its ext field `x`.
pub const ECHO: i32 = 1000;
/// Sleeps ext `ms` milliseconds, then answers with the number as remark.
pub const SLEEP: i32 = 1001;
/// Waits for a permit of `gate`, then answers.
pub const HOLD: i32 = 1002;
/// Counts the request, answers (the answer must not be sent if oneway).
pub const COUNT: i32 = 1003;
/// Asks the peer `CALLBACK_TO_CLIENT` (passing ext `ms` on) over the same
/// connection and answers with the body and code of the peer's answer.
pub const CALLBACK: i32 = 1004;
pub const PANIC: i32 = 1005;
/// Answers with a body of [`BIG_BODY`] zero bytes (shared, never copied),
/// counted in `big_alive` until the response is written or dropped.
pub const BIG: i32 = 1006;
pub const BIG_BODY: usize = 256 * 1024;
static ZEROS: [u8; BIG_BODY] = [0; BIG_BODY];
/// The code the server sends the client in `CALLBACK`.
pub const CALLBACK_TO_CLIENT: i32 = 2000;

pub const WAIT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct TestService {
    pub connected: AtomicUsize,
    pub disconnected: AtomicUsize,
    pub changed: Notify,
    pub counted: AtomicUsize,
    pub holding: AtomicUsize,
    pub gate: Semaphore,
    /// `BIG` responses not yet dropped (queued, or being written).
    pub big_alive: Arc<AtomicUsize>,
}

impl TestService {
    pub fn new() -> Arc<TestService> {
        Arc::new(TestService {
            connected: AtomicUsize::new(0),
            disconnected: AtomicUsize::new(0),
            changed: Notify::new(),
            counted: AtomicUsize::new(0),
            holding: AtomicUsize::new(0),
            gate: Semaphore::new(0),
            big_alive: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Waits until `check` holds, re-checked on every change.
    pub async fn until(&self, check: impl Fn(&TestService) -> bool) {
        tokio::time::timeout(WAIT, async {
            loop {
                let changed = self.changed.notified();
                if check(self) {
                    return;
                }
                // Notify may have fired before we started waiting: poll too.
                let _ = tokio::time::timeout(Duration::from_millis(20), changed).await;
            }
        })
        .await
        .expect("condition not reached in time");
    }
}

impl Service for TestService {
    async fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        match request.code {
            ECHO => {
                let mut response = RemotingCommand::success().with_body(request.body.to_bytes());
                if let Some(x) = request.ext("x") {
                    response = response.with_ext("x", x);
                }
                Some(response)
            }
            SLEEP => {
                let ms: u64 = request.ext("ms").and_then(|v| v.parse().ok()).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Some(RemotingCommand::response(ResponseCode::Success, Some(ms.to_string())))
            }
            HOLD => {
                self.holding.fetch_add(1, Ordering::SeqCst);
                self.changed.notify_waiters();
                self.gate.acquire().await.expect("gate open").forget();
                self.holding.fetch_sub(1, Ordering::SeqCst);
                Some(RemotingCommand::success())
            }
            COUNT => {
                self.counted.fetch_add(1, Ordering::SeqCst);
                self.changed.notify_waiters();
                Some(RemotingCommand::success())
            }
            CALLBACK => {
                let mut callback = req(CALLBACK_TO_CLIENT);
                if let Some(ms) = request.ext("ms") {
                    callback = callback.with_ext("ms", ms);
                }
                let answer = conn.request(callback, WAIT).await;
                Some(match answer {
                    Ok(answer) => RemotingCommand::success()
                        .with_body(answer.body.to_bytes())
                        .with_ext("code", answer.code.to_string()),
                    Err(e) => RemotingCommand::response(ResponseCode::SystemError, Some(e.to_string())),
                })
            }
            PANIC => panic!("asked to panic"),
            BIG => {
                self.big_alive.fetch_add(1, Ordering::SeqCst);
                let body = Bytes::from_owner(Counted(Arc::clone(&self.big_alive)));
                Some(RemotingCommand::success().with_body(body))
            }
            _ => Some(not_supported(&request)),
        }
    }

    fn on_connected(&self, _conn: &Connection) {
        self.connected.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    fn on_disconnected(&self, _conn: &Connection) {
        self.disconnected.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }
}

/// A `BIG` body: zeros, counted while alive.
struct Counted(Arc<AtomicUsize>);

impl AsRef<[u8]> for Counted {
    fn as_ref(&self) -> &[u8] {
        &ZEROS
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a client serves: `CALLBACK_TO_CLIENT`, after sleeping ext `ms`.
#[derive(Debug, Default)]
pub struct ClientSide {
    pub connected: AtomicUsize,
    pub disconnected: AtomicUsize,
}

impl Service for ClientSide {
    async fn handle(&self, _conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        match request.code {
            CALLBACK_TO_CLIENT => {
                let ms: u64 = request.ext("ms").and_then(|v| v.parse().ok()).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Some(RemotingCommand::success().with_body(Bytes::from_static(b"from client")))
            }
            _ => Some(not_supported(&request)),
        }
    }

    fn on_connected(&self, _conn: &Connection) {
        self.connected.fetch_add(1, Ordering::SeqCst);
    }

    fn on_disconnected(&self, _conn: &Connection) {
        self.disconnected.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn req(code: i32) -> RemotingCommand {
    RemotingCommand { code, version: 409, ..RemotingCommand::default() }
}

/// A running server and the means to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub service: Arc<TestService>,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<()>,
    /// What the server's limits refused or closed.
    pub counters: Arc<LimitCounters>,
}

impl Running {
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Cancels the token and waits for `run` to return.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.task).await.expect("run returns").expect("run does not panic");
    }
}

pub fn config() -> ServerConfig {
    ServerConfig::new("127.0.0.1:0".parse().unwrap())
}

pub async fn start(config: ServerConfig) -> Running {
    start_with(config, TestService::new()).await
}

pub async fn start_with(config: ServerConfig, service: Arc<TestService>) -> Running {
    let server = Server::bind(config).await.expect("bind");
    let addr = server.local_addr();
    let counters = server.counters();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(Arc::clone(&service), shutdown.clone()));
    Running { addr, service, shutdown, task, counters }
}

/// A bare socket speaking frames by hand.
pub struct Raw {
    pub stream: TcpStream,
    buf: BytesMut,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw { stream: TcpStream::connect(addr).await.expect("connect"), buf: BytesMut::new() }
    }

    /// Connects from `local` (another loopback address plays another host).
    pub async fn connect_from(local: std::net::IpAddr, addr: SocketAddr) -> Raw {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind(SocketAddr::new(local, 0)).expect("bind the local address");
        Raw { stream: socket.connect(addr).await.expect("connect"), buf: BytesMut::new() }
    }

    pub async fn send(&mut self, cmd: &RemotingCommand) {
        let mut out = BytesMut::new();
        frame::encode(cmd, &mut out).unwrap();
        self.stream.write_all(&out).await.unwrap();
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// The next frame, or `None` once the peer closed the connection.
    pub async fn recv(&mut self) -> Option<RemotingCommand> {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(cmd) = frame::decode(&mut self.buf, 1 << 24).unwrap() {
                    return Some(cmd);
                }
                match self.stream.read_buf(&mut self.buf).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
        })
        .await
        .expect("a frame or EOF in time")
    }
}
