//! The slave's tokio side: follows the master named by configuration or by
//! the NameServer, runs a [`SlaveSession`] per connection, appends what
//! arrives to the store and reports its end.
//!
//! Reconnects after 1 s, backing off to 10 s while attempts fail without
//! receiving anything (a master that refuses this slave is not hammered). A
//! new master address takes effect when the current connection ends: a slave
//! never leaves a live master because a NameServer named another one (two
//! masters claiming one broker name make the NameServers flip between them).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::BytesMut;
use rmq_model::PhysicalOffset;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::codec::{self, MAX_TRANSFER_BODY};
use crate::handshake::{self, HaCredentials, HandshakeError};
use crate::hello::ReplicaHello;
use crate::log::ReplicaLog;
use crate::server::AUTH_TIMEOUT;
use crate::slave::{Apply, SlaveClose, SlaveSession};
use crate::timing::HaConfig;
use crate::{Clock, DriverError};

const RECONNECT_MIN: Duration = Duration::from_secs(1);
const RECONNECT_MAX: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Read buffer of the connection, as Java's slave (4 MiB).
const READ_BUFFER: usize = 4 * 1024 * 1024;

/// What the slave reports about its replication.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaveStatus {
    /// The master's HA address being followed (or to be followed).
    pub master: Option<String>,
    pub connected: bool,
    /// The master address of the live connection, if any.
    pub following: Option<String>,
    /// The master's transfer position as last seen.
    pub master_position: Option<PhysicalOffset>,
    /// Why the last connection ended, if it failed.
    pub last_error: Option<String>,
}

/// The slave's replication state, shared by its HA client task and the
/// broker (which sets the master address from NameServer answers).
#[derive(Debug)]
pub struct Slave {
    config: HaConfig,
    /// Answers the master's challenge with this account (`haAuthAccessKey`).
    credentials: Option<HaCredentials>,
    /// Names this replica to the master on every connection (controller mode).
    hello: Option<ReplicaHello>,
    target: watch::Sender<Option<String>>,
    status: Mutex<SlaveStatus>,
    clock: Clock,
}

impl Slave {
    pub fn new(config: HaConfig) -> Slave {
        Slave {
            config,
            credentials: None,
            hello: None,
            target: watch::Sender::new(None),
            status: Mutex::new(SlaveStatus::default()),
            clock: Clock::new(),
        }
    }

    /// Answers the master's [`handshake`] challenge with `credentials` on
    /// every connection (a master with `haAuthEnable`).
    pub fn with_credentials(mut self, credentials: HaCredentials) -> Slave {
        self.credentials = Some(credentials);
        self
    }

    /// Sends `hello` before the first report of every connection: an rmq
    /// master in controller mode then knows which broker this is.
    pub fn with_hello(mut self, hello: ReplicaHello) -> Slave {
        self.hello = Some(hello);
        self
    }

    fn state(&self) -> MutexGuard<'_, SlaveStatus> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the master's HA address; returns whether it changed.
    pub fn set_master(&self, addr: &str) -> bool {
        self.target.send_if_modified(|t| {
            if t.as_deref() == Some(addr) {
                false
            } else {
                *t = Some(addr.to_owned());
                true
            }
        })
    }

    /// The master address to follow.
    pub fn master(&self) -> Option<String> {
        self.target.borrow().clone()
    }

    pub fn status(&self) -> SlaveStatus {
        let mut s = self.state().clone();
        s.master = self.master();
        s
    }

    /// Follows the master until `stop`.
    pub async fn run(self: Arc<Self>, log: Arc<dyn ReplicaLog>, stop: CancellationToken) {
        let mut target = self.target.subscribe();
        let mut delay = RECONNECT_MIN;
        loop {
            let addr = tokio::select! {
                _ = stop.cancelled() => return,
                t = target.wait_for(Option::is_some) => match t {
                    Ok(t) => t.clone().unwrap_or_default(),
                    Err(_) => return,
                },
            };
            let connected = tokio::select! {
                _ = stop.cancelled() => return,
                c = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr)) => c,
            };
            let received = match connected {
                Ok(Ok(stream)) => {
                    tracing::info!("HA: connected to master {addr}");
                    {
                        let mut state = self.state();
                        state.connected = true;
                        state.following = Some(addr.clone());
                    }
                    let mut received = false;
                    let outcome = self.follow(stream, &addr, &*log, &stop, &mut target, &mut received).await;
                    let mut state = self.state();
                    state.connected = false;
                    state.following = None;
                    match outcome {
                        Ok(()) if stop.is_cancelled() => return,
                        Ok(()) => {
                            tracing::warn!("HA: master {addr} closed the connection");
                            state.last_error = Some(format!("master {addr} closed the connection"));
                        }
                        Err(e) => {
                            tracing::warn!("HA: dropping the connection to master {addr}: {e}");
                            state.last_error = Some(e.to_string());
                        }
                    }
                    received
                }
                Ok(Err(e)) => {
                    if delay == RECONNECT_MIN {
                        tracing::warn!("HA: cannot connect to master {addr}: {e}");
                    }
                    false
                }
                Err(_) => {
                    tracing::warn!("HA: connecting to master {addr} timed out");
                    false
                }
            };
            delay = if received { RECONNECT_MIN } else { (delay * 2).min(RECONNECT_MAX) };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(if received { RECONNECT_MIN } else { delay / 2 }) => {}
            }
        }
    }

    async fn follow(
        &self,
        stream: TcpStream,
        addr: &str,
        log: &dyn ReplicaLog,
        stop: &CancellationToken,
        target: &mut watch::Receiver<Option<String>>,
        received: &mut bool,
    ) -> Result<(), DriverError> {
        let mut stream = stream;
        let _ = stream.set_nodelay(true);
        if let Some(credentials) = &self.credentials {
            tokio::time::timeout(AUTH_TIMEOUT, handshake::answer_master(&mut stream, credentials))
                .await
                .unwrap_or(Err(HandshakeError::NoChallenge(AUTH_TIMEOUT)))?;
        }
        let (mut rd, mut wr) = stream.into_split();
        let (mut session, first) = SlaveSession::connected(self.config, log.max_offset(), self.clock.now_ms());
        if let Some(hello) = &self.hello {
            self.write(&mut wr, &hello.encode()).await?;
        }
        self.report(&mut wr, first).await?;
        target.borrow_and_update();
        let mut inbox = BytesMut::with_capacity(64 * 1024);
        loop {
            while let Some(t) = codec::decode_transfer(&mut inbox, MAX_TRANSFER_BODY)? {
                let now = self.clock.now_ms();
                match session.on_transfer(t.offset, t.data.len(), log.max_offset(), now)? {
                    Apply::Nothing => {}
                    Apply::Append { offset } => {
                        log.append(offset, &t.data)?;
                    }
                    Apply::BeginAndAppend { offset } => {
                        tracing::info!("HA: empty CommitLog starts at the master's offset {offset}");
                        log.begin_at(offset)?;
                        log.append(offset, &t.data)?;
                    }
                }
                *received = true;
                self.state().master_position = session.master_position();
            }
            if let Some(offset) = session.after_append(log.max_offset(), self.clock.now_ms()) {
                self.report(&mut wr, offset).await?;
            }
            let deadline = self.clock.instant_at(session.next_deadline());
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                read = read_some(&mut rd, &mut inbox) => match read {
                    Ok(0) => return Ok(()),
                    Ok(_) => session.on_read(self.clock.now_ms()),
                    Err(e) => return Err(DriverError::Io(e)),
                },
                _ = tokio::time::sleep_until(deadline) => {
                    if let Some(offset) = session.tick(log.max_offset(), self.clock.now_ms())? {
                        self.report(&mut wr, offset).await?;
                    }
                }
                changed = target.changed() => {
                    if changed.is_ok() && let Some(other) = target.borrow_and_update().clone() && other != addr {
                        tracing::warn!(
                            "HA: the NameServer now names {other} as this broker group's master; \
                             staying with {addr} while it is connected (two masters with one brokerName?)"
                        );
                    }
                }
            }
        }
    }

    async fn report(&self, wr: &mut OwnedWriteHalf, offset: PhysicalOffset) -> Result<(), DriverError> {
        let mut buf = BytesMut::with_capacity(codec::REPORT_LEN);
        codec::encode_report(offset, &mut buf);
        self.write(wr, &buf).await
    }

    /// Writes `bytes`, bounded by `haHousekeepingInterval`.
    async fn write(&self, wr: &mut OwnedWriteHalf, bytes: &[u8]) -> Result<(), DriverError> {
        let limit = Duration::from_millis(self.config.housekeeping_interval_ms.max(1));
        match tokio::time::timeout(limit, wr.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(DriverError::Io(e)),
            Err(_) => Err(DriverError::WriteStalled { ms: limit.as_millis() as u64 }),
        }
    }
}

/// Reads into `inbox`, never letting it grow past the read buffer size
/// (a transfer is at most [`MAX_TRANSFER_BODY`] plus its header).
async fn read_some(rd: &mut tokio::net::tcp::OwnedReadHalf, inbox: &mut BytesMut) -> std::io::Result<usize> {
    if inbox.capacity() - inbox.len() < 8 * 1024 && inbox.capacity() < READ_BUFFER {
        inbox.reserve(64 * 1024);
    }
    rd.read_buf(inbox).await
}

impl From<SlaveClose> for DriverError {
    fn from(e: SlaveClose) -> DriverError {
        DriverError::Slave(e)
    }
}
