//! The master's tokio side: accepts slaves on the HA port, runs one
//! [`MasterSession`] per connection, and settles SYNC_MASTER waits through
//! the shared [`Replicas`].
//!
//! Each connection is one task: it streams while there is data (checking for
//! reports between frames without blocking), otherwise it waits for a report,
//! new data, or the session's next deadline. Every write is bounded by
//! `haHousekeepingInterval`, so a slave that stops reading is dropped too.
//!
//! A connection is first put to the master's [`Admission`]: a peer that is
//! not a known slave is closed unread, before it takes a slot. With
//! [`Master::with_auth`] it must then answer the [`handshake`] challenge
//! within [`AUTH_TIMEOUT`], still before it takes a slot; at most
//! [`MAX_PENDING_HANDSHAKES`] wait for theirs at once.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::BytesMut;
use rmq_model::PhysicalOffset;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::{Admission, Verdict};
use crate::codec::{self, WireError};
use crate::handshake::{self, SecretLookup};
use crate::hello::{self, Opening, ReplicaHello};
use crate::log::ReplicaLog;
use crate::master::{MasterClose, MasterSession, Send};
use crate::sync::{Lag, Replicas, SlaveId, SlaveLag, Wait};
use crate::timing::HaConfig;
use crate::{Clock, DriverError};

/// How often, at most, the write history behind the lag in ms is recorded.
const WRITE_SAMPLE: Duration = Duration::from_millis(1);

/// How long a slave has to answer the HA challenge.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections waiting to answer the challenge at once; past it new ones are
/// closed, so strangers cannot pile up tasks.
pub const MAX_PENDING_HANDSHAKES: usize = 64;

/// How a SYNC_MASTER send's wait for a slave ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncOutcome {
    /// A slave holds the records (SEND_OK).
    Replicated,
    /// No slave in sync (SLAVE_NOT_AVAILABLE).
    NotAvailable,
    /// The slave did not confirm within the timeout (FLUSH_SLAVE_TIMEOUT).
    Timeout,
    /// Too many sends were already waiting.
    Busy,
}

/// What the master reports about replication (GET_BROKER_RUNTIME_INFO).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MasterStatus {
    pub connections: usize,
    /// Highest offset a connected slave holds.
    pub replicated: Option<PhysicalOffset>,
    pub lag: Option<Lag>,
    /// SYNC sends waiting for a slave.
    pub waiting: usize,
    /// Connections refused since the start: not a known slave, or (with
    /// authentication) no valid answer to the challenge.
    pub refused: u64,
    /// Each connected slave's lag.
    pub slaves: Vec<SlaveLag>,
}

/// The master's replication state, shared by the HA server task, its
/// connections and the send path.
#[derive(Debug)]
pub struct Master {
    config: HaConfig,
    replicas: Mutex<Replicas<oneshot::Sender<()>>>,
    clock: Clock,
    next_id: AtomicU64,
    admission: Mutex<Admission>,
    /// Woken when a refusal asks for the registered slaves again.
    refresh: Notify,
    /// The accounts a slave must prove it holds; `None`: no challenge (Java).
    auth: Option<SecretLookup>,
    /// Connections that failed the challenge.
    auth_refused: AtomicU64,
}

impl Master {
    /// A master that admits slaves by `admission`.
    pub fn new(config: HaConfig, admission: Admission) -> Master {
        Master {
            config,
            replicas: Mutex::new(Replicas::new(config.slave_fallbehind_max, config.max_waiters)),
            clock: Clock::new(),
            next_id: AtomicU64::new(1),
            admission: Mutex::new(admission),
            refresh: Notify::new(),
            auth: None,
            auth_refused: AtomicU64::new(0),
        }
    }

    /// Requires every slave to answer the [`handshake`] challenge with an
    /// account `lookup` knows, after admission and before it is served.
    pub fn with_auth(mut self, lookup: SecretLookup) -> Master {
        self.auth = Some(lookup);
        self
    }

    fn replicas(&self) -> MutexGuard<'_, Replicas<oneshot::Sender<()>>> {
        self.replicas.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn admission(&self) -> MutexGuard<'_, Admission> {
        self.admission.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many slaves a SYNC send waits for (see
    /// [`Replicas::set_required`](crate::sync::Replicas::set_required)).
    pub fn set_required_acks(&self, required: usize) {
        for waiter in self.replicas().set_required(required) {
            let _ = waiter.send(());
        }
    }

    /// The addresses the NameServers list as slaves of this broker group:
    /// from now on these (and the allow-list) are admitted.
    pub fn set_registered_slaves(&self, slaves: impl IntoIterator<Item = IpAddr>) {
        self.admission().set_registered(slaves);
    }

    /// Resolves when a refused connection asks for the registered slaves
    /// again (at most once a second; see [`crate::admission`]).
    pub async fn refresh_wanted(&self) {
        self.refresh.notified().await;
    }

    /// Puts a new connection to the admission rule, logging and asking for
    /// a refresh as it says. Whether to serve it.
    fn admit(&self, peer: SocketAddr) -> bool {
        let verdict = self.admission().check(peer.ip(), self.clock.now_ms());
        match verdict {
            Verdict::Admit => true,
            Verdict::Refuse { log, refresh } => {
                if log {
                    tracing::warn!(
                        "HA: connection from {peer} refused: not a slave of this broker group registered with \
                         the name servers, nor in haAllowedAddresses (further refusals of {} are counted, \
                         logged once a minute)",
                        peer.ip()
                    );
                }
                if refresh {
                    // notify_one keeps a permit: a refusal just before the
                    // broker starts waiting is not lost.
                    self.refresh.notify_one();
                }
                false
            }
        }
    }

    /// SYNC_MASTER: waits until a slave holds everything below `end`, at most
    /// `timeout`. `master_max` is the CommitLog end now (for the in-sync rule).
    pub async fn wait_for_slave(
        &self,
        end: PhysicalOffset,
        master_max: PhysicalOffset,
        timeout: Duration,
    ) -> SyncOutcome {
        let (tx, rx) = oneshot::channel();
        let deadline = self.clock.now_ms() + timeout.as_millis() as u64;
        match self.replicas().wait(end, master_max, deadline, tx) {
            Wait::Done(_) => return SyncOutcome::Replicated,
            Wait::NotAvailable(_) => return SyncOutcome::NotAvailable,
            Wait::Busy(_) => return SyncOutcome::Busy,
            Wait::Parked => {}
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(())) => SyncOutcome::Replicated,
            _ => {
                // Drop this and any other stale waiter.
                let now = self.clock.now_ms();
                drop(self.replicas().expire(now));
                SyncOutcome::Timeout
            }
        }
    }

    /// Connections, replicated offset and lag against `master_max`.
    pub fn status(&self, master_max: PhysicalOffset) -> MasterStatus {
        let r = self.replicas();
        MasterStatus {
            connections: r.connections(),
            replicated: r.replicated(),
            lag: r.lag(master_max, self.clock.now_ms()),
            waiting: r.waiting(),
            slaves: r.per_slave(master_max, self.clock.now_ms()),
            refused: self.admission().refused() + self.auth_refused.load(Ordering::Relaxed),
        }
    }

    fn ack(&self, id: SlaveId, offset: PhysicalOffset) {
        let released = self.replicas().on_ack(id, offset);
        for waiter in released {
            let _ = waiter.send(());
        }
    }

    /// Serves slaves on `listener` until `stop`; returns once every
    /// connection task has ended.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, log: Arc<dyn ReplicaLog>, stop: CancellationToken) {
        let tracker = TaskTracker::new();
        let slots = Arc::new(Semaphore::new(self.config.max_slaves.max(1)));
        let handshakes = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
        tracker.spawn(self.clone().follow_writes(log.clone(), stop.clone()));
        loop {
            let accepted = tokio::select! {
                _ = stop.cancelled() => break,
                a = listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("HA accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Before a slot is taken and before a byte is read: a stranger
            // neither reads the CommitLog nor acknowledges for SYNC_MASTER,
            // nor keeps a real slave out by filling `max_slaves`.
            if !self.admit(peer) {
                drop(stream);
                continue;
            }
            let pending = match &self.auth {
                None => None,
                Some(_) => match handshakes.clone().try_acquire_owned() {
                    Ok(pending) => Some(pending),
                    Err(_) => {
                        self.auth_refused.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                },
            };
            let master = self.clone();
            let log = log.clone();
            let stop = stop.clone();
            let slots = slots.clone();
            tracker.spawn(async move {
                let mut stream = stream;
                if let Some(pending) = pending {
                    let passed = master.authenticate(&mut stream, peer).await;
                    drop(pending);
                    if !passed {
                        return;
                    }
                }
                let Ok(_permit) = slots.try_acquire_owned() else {
                    tracing::warn!("HA connection from {peer} refused: already {} slaves", master.config.max_slaves);
                    return;
                };
                master.run_connection(stream, peer, log, stop).await;
            });
        }
        tracker.close();
        tracker.wait().await;
    }

    /// Puts the challenge to a new connection; whether it passed (a failure
    /// is counted and logged).
    async fn authenticate(&self, stream: &mut TcpStream, peer: SocketAddr) -> bool {
        let Some(lookup) = &self.auth else { return true };
        let verdict = tokio::time::timeout(AUTH_TIMEOUT, handshake::challenge_peer(stream, lookup))
            .await
            .unwrap_or(Err(handshake::HandshakeError::TimedOut(AUTH_TIMEOUT)));
        match verdict {
            Ok(access_key) => {
                tracing::info!("HA: slave {peer} authenticated as '{access_key}'");
                true
            }
            Err(why) => {
                let refused = self.auth_refused.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!("HA: connection from {peer} refused (haAuthEnable): {why} ({refused} so far)");
                false
            }
        }
    }

    /// Records when the CommitLog grew, for the lag in ms, at most once per
    /// [`WRITE_SAMPLE`]: woken by every put, this task cost a wake-up of
    /// another worker thread per send (about 2.5 of 10 µs of the broker's CPU
    /// per send, in an A/B), and a lag in ms needs no finer grain (a write is
    /// dated at most one sample late, so a lag reads at most that much short
    /// of `haMaxTimeSlaveNotCatchup`'s seconds).
    async fn follow_writes(self: Arc<Self>, log: Arc<dyn ReplicaLog>, stop: CancellationToken) {
        let mut written = log.written();
        loop {
            let max = *written.borrow_and_update();
            self.replicas().on_written(max, self.clock.now_ms());
            tokio::select! {
                _ = stop.cancelled() => return,
                () = tokio::time::sleep(WRITE_SAMPLE) => {}
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                changed = written.changed() => if changed.is_err() { return },
            }
        }
    }

    async fn run_connection(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        log: Arc<dyn ReplicaLog>,
        stop: CancellationToken,
    ) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        tracing::info!("HA: slave {peer} connected");
        {
            let mut replicas = self.replicas();
            replicas.attach(id);
            replicas.name(id, peer.to_string());
        }
        let result = self.stream_to(id, stream, &*log, &stop).await;
        self.replicas().detach(id);
        match result {
            Ok(()) => tracing::info!("HA: connection of slave {peer} closed"),
            Err(e) => tracing::warn!("HA: dropping slave {peer}: {e}"),
        }
    }

    async fn stream_to(
        &self,
        id: SlaveId,
        stream: TcpStream,
        log: &dyn ReplicaLog,
        stop: &CancellationToken,
    ) -> Result<(), DriverError> {
        let (mut rd, mut wr) = stream.into_split();
        let now = self.clock.now_ms();
        let mut session = MasterSession::new(self.config, now);
        let mut written = log.written();
        let mut inbox = BytesMut::with_capacity(64);
        // Until the first bytes tell a hello from a classic report.
        let mut opened = false;
        let mut frame = BytesMut::with_capacity(codec::TRANSFER_HEADER_LEN + self.config.batch());
        let write_limit = Duration::from_millis(self.config.housekeeping_interval_ms.max(1));
        loop {
            written.borrow_and_update();
            while let Some(send) = session.poll_send(log.max_offset(), self.clock.now_ms()) {
                // A slave far behind must not hold the master's shutdown.
                if stop.is_cancelled() {
                    return Ok(());
                }
                let (offset, data) = match send {
                    Send::Data { offset, max_len } => match log.read(offset, max_len) {
                        Some(data) => (offset, data),
                        None => {
                            let bounds = log.bounds();
                            return Err(MasterClose::NotInLog { slave: offset, min: bounds.min }.into());
                        }
                    },
                    Send::Heartbeat { offset } => (offset, bytes::Bytes::new()),
                };
                frame.clear();
                frame.extend_from_slice(&codec::transfer_header(offset, data.len()));
                frame.extend_from_slice(&data);
                let write = tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    write = tokio::time::timeout(write_limit, wr.write_all(&frame)) => write,
                };
                match write {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(DriverError::Io(e)),
                    Err(_) => return Err(DriverError::WriteStalled { ms: write_limit.as_millis() as u64 }),
                }
                session.on_sent(offset, data.len(), self.clock.now_ms());
                // Take in reports that arrived meanwhile, without waiting.
                match rd.try_read_buf(&mut inbox) {
                    Ok(0) => return Ok(()),
                    Ok(_) => self.take_reports(id, &mut session, &mut opened, &mut inbox, log)?,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(DriverError::Io(e)),
                }
            }
            let deadline = self.clock.instant_at(session.next_deadline());
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                read = rd.read_buf(&mut inbox) => match read {
                    Ok(0) => return Ok(()),
                    Ok(_) => self.take_reports(id, &mut session, &mut opened, &mut inbox, log)?,
                    Err(e) => return Err(DriverError::Io(e)),
                },
                changed = written.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    // Let the sends already running on this worker finish
                    // their puts first: one frame then carries them all,
                    // which costs master and slave fewer wakeups per message.
                    tokio::task::yield_now().await;
                }
                _ = tokio::time::sleep_until(deadline) => session.tick(self.clock.now_ms())?,
            }
        }
    }

    fn take_reports(
        &self,
        id: SlaveId,
        session: &mut MasterSession,
        opened: &mut bool,
        inbox: &mut BytesMut,
        log: &dyn ReplicaLog,
    ) -> Result<(), DriverError> {
        let now = self.clock.now_ms();
        session.on_read(now);
        if !*opened {
            match hello::read_opening(inbox)? {
                Opening::Undecided => return Ok(()),
                Opening::Classic => {}
                Opening::Hello(h) => self.on_hello(id, session, h),
            }
            *opened = true;
        }
        if let Some(offset) = codec::decode_reports(inbox)? {
            let acked = session.on_report(offset, log.bounds(), now)?;
            self.ack(id, acked);
        }
        Ok(())
    }
}

impl Master {
    /// A slave named itself: the in-sync review and the SYNC waits now know
    /// which broker it is, and where it starts when empty.
    fn on_hello(&self, id: SlaveId, session: &mut MasterSession, h: ReplicaHello) {
        tracing::info!(
            "HA: slave connection {id} is broker {}{}{}",
            h.broker_id,
            if h.async_learner { ", an asyncLearner (never in the in-sync set)" } else { "" },
            if h.sync_from_last_file { ", syncFromLastFile" } else { "" },
        );
        session.start_empty_from_last_file(h.sync_from_last_file);
        for waiter in self.replicas().identify(id, h) {
            let _ = waiter.send(());
        }
    }
}

impl From<MasterClose> for DriverError {
    fn from(e: MasterClose) -> DriverError {
        DriverError::Master(e)
    }
}

impl From<WireError> for DriverError {
    fn from(e: WireError) -> DriverError {
        DriverError::Garbage(e)
    }
}
