//! The drivers over real loopback TCP with two real stores in temp dirs, and
//! against hand-written peers that misbehave (garbage, stalls, a slave ahead
//! of its master, a master that no longer has the slave's offset).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rmq_model::record::NewMessage;
use rmq_model::{BrokerRole, PhysicalOffset, QueueOffset};
use rmq_replication::handshake::CHALLENGE_LEN;
use rmq_replication::master::LogBounds;
use rmq_replication::{
    Admission, AllowList, HaConfig, HaCredentials, Master, ReplicaHello, ReplicaLog, SecretLookup, Slave, SyncOutcome,
};
use rmq_store::{AcceptAll, MessageStore, StoreConfig, StoreError, StoreHooks};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;

const FILE: u64 = 64 * 1024;

fn config(root: &Path, role: BrokerRole) -> StoreConfig {
    let mut c = StoreConfig::new(root);
    c.mapped_file_size_commit_log = FILE;
    c.mapped_file_size_consume_queue = 20 * 1000;
    c.max_hash_slot_num = 64;
    c.max_index_num = 1024;
    c.broker_role = role;
    c.store_host = "127.0.0.1:10911".parse().unwrap();
    c
}

fn open(root: &Path, role: BrokerRole) -> Arc<MessageStore> {
    Arc::new(MessageStore::open(config(root, role), StoreHooks::default()).unwrap())
}

fn put(store: &MessageStore, n: usize, body_len: usize) -> PhysicalOffset {
    let body = vec![b'x'; body_len];
    let mut end = store.max_physical_offset();
    for i in 0..n {
        let props = format!("UNIQ_KEY\u{1}K{i}\u{2}");
        let msg = NewMessage {
            topic: "HaTopic",
            queue_id: (i % 4) as i32,
            flag: 0,
            body: &body,
            properties: props.as_bytes(),
            sys_flag: 0,
            born_timestamp: 1,
            born_host: "127.0.0.1:5000".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        end = store.put(&msg).unwrap().end_offset;
    }
    end
}

fn fast() -> HaConfig {
    HaConfig { heartbeat_interval_ms: 200, housekeeping_interval_ms: 1_500, ..HaConfig::default() }
}

async fn wait_until(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct MasterSide {
    master: Arc<Master>,
    addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

async fn serve(log: Arc<dyn ReplicaLog>, config: HaConfig) -> MasterSide {
    serve_admitting(log, config, Admission::anyone()).await
}

async fn serve_admitting(log: Arc<dyn ReplicaLog>, config: HaConfig, admission: Admission) -> MasterSide {
    serve_master(log, Master::new(config, admission)).await
}

async fn serve_master(log: Arc<dyn ReplicaLog>, master: Master) -> MasterSide {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let master = Arc::new(master);
    let stop = CancellationToken::new();
    let task = tokio::spawn(master.clone().serve(listener, log, stop.clone()));
    MasterSide { master, addr, stop, task }
}

impl MasterSide {
    async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task).await.expect("HA server stops").unwrap();
    }
}

fn follow(log: Arc<dyn ReplicaLog>, master: SocketAddr, config: HaConfig) -> (Arc<Slave>, CancellationToken) {
    follow_as(log, master, Slave::new(config))
}

fn follow_as(log: Arc<dyn ReplicaLog>, master: SocketAddr, slave: Slave) -> (Arc<Slave>, CancellationToken) {
    let slave = Arc::new(slave);
    slave.set_master(&master.to_string());
    let stop = CancellationToken::new();
    tokio::spawn(slave.clone().run(log, stop.clone()));
    (slave, stop)
}

fn same_bytes(a: &MessageStore, b: &MessageStore, from: u64, to: u64) -> bool {
    let mut at = from;
    while at < to {
        let (Some(x), Some(y)) = (a.read_raw(PhysicalOffset(at), 8192), b.read_raw(PhysicalOffset(at), 8192)) else {
            return false;
        };
        let n = x.len().min(y.len());
        if n == 0 || x[..n] != y[..n] {
            return false;
        }
        at += n as u64;
    }
    true
}

/// Connects to `master` from `source` (any of 127/8 is this host on Linux),
/// sends a report of offset 0, and returns how many bytes came back before
/// the master closed the connection (panics if it did not within 5 s).
async fn knock(master: SocketAddr, source: &str) -> usize {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let mut peer = socket.connect(master).await.unwrap();
    // The master may have closed already: a failed write is fine.
    let _ = peer.write_all(&0u64.to_be_bytes()).await;
    let mut got = 0;
    let mut buf = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match peer.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got += n,
            }
        }
    })
    .await
    .expect("the master closes a refused connection");
    got
}

/// rmq's admission (not in Java): a guarded master closes a peer that is
/// neither a registered slave nor allowed before sending it anything, the
/// peer takes no slot and settles no SYNC wait; a refusal asks for the
/// registered slaves again; once registered, the slave streams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guarded_master_serves_only_known_slaves() {
    let dir = tempfile::tempdir().unwrap();
    let master_store = open(&dir.path().join("m"), BrokerRole::SyncMaster);
    let end = put(&master_store, 100, 100);
    let allowed = AllowList::parse("127.0.0.3").unwrap();
    let m = serve_admitting(master_store.clone(), fast(), Admission::guarded(allowed)).await;
    assert_eq!(knock(m.addr, "127.0.0.2").await, 0, "a stranger gets no CommitLog bytes");
    tokio::time::timeout(Duration::from_secs(1), m.master.refresh_wanted())
        .await
        .expect("a refusal asks for a refresh");
    let status = m.master.status(end);
    assert_eq!((status.connections, status.refused), (0, 1));
    assert_eq!(m.master.wait_for_slave(end, end, Duration::from_millis(200)).await, SyncOutcome::NotAvailable);
    // The allow-list admits its addresses: this one reads the stream.
    assert!(knock_and_read(m.addr, "127.0.0.3").await > 0);
    // A slave on 127.0.0.1 is refused until registered, then replicates.
    let slave_store = open(&dir.path().join("s"), BrokerRole::Slave);
    let (_slave, stop) = follow(slave_store.clone(), m.addr, fast());
    wait_until("the slave is refused", Duration::from_secs(5), || m.master.status(end).refused >= 2).await;
    assert_eq!(slave_store.max_physical_offset(), PhysicalOffset(0));
    m.master.set_registered_slaves(["127.0.0.1".parse().unwrap()]);
    wait_until("the registered slave catches up", Duration::from_secs(10), || slave_store.max_physical_offset() == end)
        .await;
    assert_eq!(knock(m.addr, "127.0.0.2").await, 0, "strangers stay out");
    stop.cancel();
    m.shutdown().await;
}

/// rmq's `haAuthEnable` (not in Java): a master that challenges its slaves
/// streams nothing to a peer that reports an offset without answering, nor
/// to a slave with no account or a wrong secret; a slave with the account
/// catches up and settles SYNC waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticating_master_streams_only_to_slaves_with_an_account() {
    let dir = tempfile::tempdir().unwrap();
    let master_store = open(&dir.path().join("m"), BrokerRole::SyncMaster);
    let end = put(&master_store, 100, 100);
    let accounts = SecretLookup::new(|key: &str| (key == "rmq-slave").then(|| "slave-secret".to_owned()));
    let m = serve_master(master_store.clone(), Master::new(fast(), Admission::anyone()).with_auth(accounts)).await;
    let credentials = |secret: &str| HaCredentials { access_key: "rmq-slave".into(), secret_key: secret.into() };

    assert_eq!(knock(m.addr, "127.0.0.2").await, CHALLENGE_LEN, "a Java-style peer gets the challenge, no CommitLog");
    let slave_store = open(&dir.path().join("s"), BrokerRole::Slave);
    let (_plain, stop_plain) = follow(slave_store.clone(), m.addr, fast());
    let (_wrong, stop_wrong) =
        follow_as(slave_store.clone(), m.addr, Slave::new(fast()).with_credentials(credentials("guessed")));
    wait_until("both refused", Duration::from_secs(10), || m.master.status(end).refused >= 3).await;
    stop_plain.cancel();
    stop_wrong.cancel();
    assert_eq!(slave_store.max_physical_offset(), PhysicalOffset(0), "nothing streamed to them");
    assert_eq!(m.master.wait_for_slave(end, end, Duration::from_millis(200)).await, SyncOutcome::NotAvailable);

    let (slave, stop) =
        follow_as(slave_store.clone(), m.addr, Slave::new(fast()).with_credentials(credentials("slave-secret")));
    wait_until("the slave with the account catches up", Duration::from_secs(10), || {
        slave_store.max_physical_offset() == end
    })
    .await;
    assert!(same_bytes(&master_store, &slave_store, 0, end.0));
    let more = put(&master_store, 1, 100);
    assert_eq!(m.master.wait_for_slave(more, more, Duration::from_secs(5)).await, SyncOutcome::Replicated);
    assert!(slave.status().connected);
    stop.cancel();
    m.shutdown().await;
}

/// Connects from `source`, reports offset 0, and returns the bytes of the
/// first read (the stream of an admitted peer).
async fn knock_and_read(master: SocketAddr, source: &str) -> usize {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let mut peer = socket.connect(master).await.unwrap();
    peer.write_all(&0u64.to_be_bytes()).await.unwrap();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(5), peer.read(&mut buf)).await.expect("data in time").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_slave_catches_up_and_follows_live_writes() {
    let dir = tempfile::tempdir().unwrap();
    let master_store = open(&dir.path().join("m"), BrokerRole::AsyncMaster);
    put(&master_store, 200, 100);
    let m = serve(master_store.clone(), fast()).await;
    let slave_store = open(&dir.path().join("s"), BrokerRole::Slave);
    let (slave, stop) = follow(slave_store.clone(), m.addr, fast());
    let end = master_store.max_physical_offset();
    wait_until("catch up", Duration::from_secs(10), || slave_store.max_physical_offset() == end).await;
    let end = put(&master_store, 300, 100);
    wait_until("live writes", Duration::from_secs(10), || slave_store.max_physical_offset() == end).await;
    assert!(same_bytes(&master_store, &slave_store, 0, end.0));
    // The slave's own dispatcher built the consume queues from the bytes.
    assert!(slave_store.wait_dispatched(end, Duration::from_secs(5)));
    assert_eq!(slave_store.max_offset_in_queue("HaTopic", 0), QueueOffset(125));
    let got = slave_store.get_messages("HaTopic", 1, QueueOffset(0), 32, &AcceptAll);
    assert_eq!(got.messages.len(), 32);
    // The master sees the slave, in step.
    wait_until("ack", Duration::from_secs(5), || m.master.status(end).replicated == Some(end)).await;
    let status = m.master.status(end);
    assert_eq!(status.connections, 1);
    assert_eq!(status.lag.unwrap().bytes, 0);
    assert!(slave.status().connected);
    stop.cancel();
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_slave_starts_at_the_masters_last_file() {
    let dir = tempfile::tempdir().unwrap();
    let master_store = open(&dir.path().join("m"), BrokerRole::AsyncMaster);
    // About 2.5 files.
    let end = put(&master_store, 1600, 60);
    assert!(end.0 > 2 * FILE);
    let m = serve(master_store.clone(), fast()).await;
    let slave_store = open(&dir.path().join("s"), BrokerRole::Slave);
    let (_slave, stop) = follow(slave_store.clone(), m.addr, fast());
    wait_until("catch up", Duration::from_secs(10), || slave_store.max_physical_offset() == end).await;
    let start = end.0 - end.0 % FILE;
    assert_eq!(slave_store.min_physical_offset(), PhysicalOffset(start));
    assert!(same_bytes(&master_store, &slave_store, start, end.0));
    assert!(slave_store.wait_dispatched(end, Duration::from_secs(5)));
    // Queues start where the master's last file starts, as on a Java slave.
    let got = slave_store.get_messages("HaTopic", 0, slave_store.min_offset_in_queue("HaTopic", 0), 32, &AcceptAll);
    assert!(!got.messages.is_empty());
    stop.cancel();
    m.shutdown().await;
}

/// Controller mode: a replica's hello names it, says where it starts when
/// empty, and keeps a learner out of every SYNC wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_replica_starts_where_it_asks_and_a_learner_never_acknowledges() {
    let dir = tempfile::tempdir().unwrap();
    let master_store = open(&dir.path().join("m"), BrokerRole::SyncMaster);
    let end = put(&master_store, 1600, 60);
    assert!(end.0 > 2 * FILE);
    let m = serve(master_store.clone(), fast()).await;
    let hello = ReplicaHello { broker_id: 2, sync_from_last_file: false, async_learner: false };
    let all_store = open(&dir.path().join("all"), BrokerRole::Slave);
    let (_all, stop_all) = follow_as(all_store.clone(), m.addr, Slave::new(fast()).with_hello(hello));
    let last_store = open(&dir.path().join("last"), BrokerRole::Slave);
    let from_last = ReplicaHello { broker_id: 3, sync_from_last_file: true, async_learner: true };
    let (_last, stop_last) = follow_as(last_store.clone(), m.addr, Slave::new(fast()).with_hello(from_last));
    let caught_up = || all_store.max_physical_offset() == end && last_store.max_physical_offset() == end;
    wait_until("both catch up", Duration::from_secs(10), caught_up).await;
    assert_eq!(all_store.min_physical_offset(), PhysicalOffset(0), "syncFromLastFile=false: from the first byte");
    assert!(same_bytes(&master_store, &all_store, 0, end.0));
    assert_eq!(last_store.min_physical_offset(), PhysicalOffset(end.0 - end.0 % FILE));
    let mut named: Vec<_> = m.master.status(end).slaves.iter().filter_map(|s| s.hello).collect();
    named.sort_by_key(|h| h.broker_id);
    assert_eq!(named, vec![hello, from_last]);

    // Only the learner left: a SYNC send has nobody to wait for.
    stop_all.cancel();
    wait_until("member detached", Duration::from_secs(5), || m.master.status(end).connections == 1).await;
    let end = put(&master_store, 1, 100);
    wait_until("the learner holds it", Duration::from_secs(5), || last_store.max_physical_offset() == end).await;
    let waited = m.master.wait_for_slave(end, end, Duration::from_millis(300)).await;
    assert_eq!(waited, SyncOutcome::NotAvailable, "a learner's acknowledgement does not count");
    stop_last.cancel();
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_waits_are_released_by_the_slave_and_refused_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let master_store = open(&dir.path().join("m"), BrokerRole::SyncMaster);
    let m = serve(master_store.clone(), fast()).await;
    let end = put(&master_store, 1, 100);
    let t = Duration::from_millis(500);
    assert_eq!(m.master.wait_for_slave(end, end, t).await, SyncOutcome::NotAvailable);
    let slave_store = open(&dir.path().join("s"), BrokerRole::Slave);
    let (_slave, stop) = follow(slave_store.clone(), m.addr, fast());
    wait_until("slave attached", Duration::from_secs(10), || m.master.status(end).replicated == Some(end)).await;
    for _ in 0..50 {
        let end = put(&master_store, 1, 100);
        let outcome = m.master.wait_for_slave(end, master_store.max_physical_offset(), Duration::from_secs(3)).await;
        assert_eq!(outcome, SyncOutcome::Replicated);
        assert!(slave_store.max_physical_offset() >= end, "acked means held by the slave");
    }
    stop.cancel();
    // Once the slave is gone, its offset no longer counts.
    wait_until("slave detached", Duration::from_secs(5), || m.master.status(end).connections == 0).await;
    let end = put(&master_store, 1, 100);
    assert_eq!(m.master.wait_for_slave(end, end, t).await, SyncOutcome::NotAvailable);
    m.shutdown().await;
}

/// A fake slave that reports once and then neither reads nor writes: SYNC
/// sends time out, and housekeeping drops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_slave_times_sync_sends_out_and_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let master_store = open(&dir.path().join("m"), BrokerRole::SyncMaster);
    let start = put(&master_store, 10, 100);
    let m = serve(master_store.clone(), fast()).await;
    let mut peer = TcpStream::connect(m.addr).await.unwrap();
    peer.write_all(&start.as_i64().to_be_bytes()).await.unwrap();
    wait_until("report seen", Duration::from_secs(5), || m.master.status(start).replicated == Some(start)).await;
    let end = put(&master_store, 1, 100);
    let outcome = m.master.wait_for_slave(end, end, Duration::from_millis(300)).await;
    assert_eq!(outcome, SyncOutcome::Timeout);
    assert_eq!(m.master.status(end).waiting, 0, "the expired waiter is gone");
    // Housekeeping (1.5 s here) closes the connection: our read sees EOF
    // after the frames and heartbeats the master sent.
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = vec![0u8; 65536];
        loop {
            match peer.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "master kept a silent slave");
    wait_until("detached", Duration::from_secs(5), || m.master.status(end).connections == 0).await;
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_a_slave_drops_it() {
    let dir = tempfile::tempdir().unwrap();
    let master_store = open(&dir.path().join("m"), BrokerRole::AsyncMaster);
    let end = put(&master_store, 10, 100);
    let m = serve(master_store.clone(), fast()).await;
    for garbage in [&[0xffu8; 8][..], b"GET / HTTP/1.1\r\n\r\n"] {
        let mut peer = TcpStream::connect(m.addr).await.unwrap();
        peer.write_all(garbage).await.unwrap();
        let mut buf = vec![0u8; 65536];
        let eof = tokio::time::timeout(Duration::from_secs(3), async {
            loop {
                match peer.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(eof.is_ok(), "connection not dropped after {garbage:?}");
    }
    assert_eq!(master_store.max_physical_offset(), end, "the master's store is untouched");
    m.shutdown().await;
}

/// A slave whose CommitLog is longer than its master's (it followed another
/// master, or the master lost data) is refused; neither store changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_ahead_of_its_master_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let master_store = open(&dir.path().join("m"), BrokerRole::AsyncMaster);
    let master_end = put(&master_store, 10, 100);
    // A store that was written as a master, then reopened as a slave.
    let slave_root = dir.path().join("s");
    let ahead = {
        let s = open(&slave_root, BrokerRole::AsyncMaster);
        let end = put(&s, 20, 100);
        s.shutdown().unwrap();
        end
    };
    let slave_store = open(&slave_root, BrokerRole::Slave);
    let m = serve(master_store.clone(), fast()).await;
    let (slave, stop) = follow(slave_store.clone(), m.addr, fast());
    wait_until("refusal", Duration::from_secs(5), || slave.status().last_error.is_some()).await;
    assert_eq!(slave_store.max_physical_offset(), ahead);
    assert_eq!(master_store.max_physical_offset(), master_end);
    assert_eq!(m.master.status(master_end).replicated, None);
    stop.cancel();
    m.shutdown().await;
}

/// The master's store, claiming its CommitLog starts later than it does: as
/// if retention had deleted the files the slave still needs.
struct Trimmed(Arc<MessageStore>, PhysicalOffset);

impl ReplicaLog for Trimmed {
    fn bounds(&self) -> LogBounds {
        LogBounds { min: self.1, ..self.0.bounds() }
    }
    fn read(&self, offset: PhysicalOffset, max_len: usize) -> Option<Bytes> {
        if offset < self.1 { None } else { self.0.read(offset, max_len) }
    }
    fn append(&self, offset: PhysicalOffset, data: &[u8]) -> Result<PhysicalOffset, StoreError> {
        self.0.append(offset, data)
    }
    fn begin_at(&self, offset: PhysicalOffset) -> Result<(), StoreError> {
        self.0.begin_at(offset)
    }
    fn written(&self) -> tokio::sync::watch::Receiver<PhysicalOffset> {
        self.0.written()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_whose_offset_the_master_no_longer_holds_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let master_store = open(&dir.path().join("m"), BrokerRole::AsyncMaster);
    put(&master_store, 10, 100);
    let slave_store = open(&dir.path().join("s"), BrokerRole::Slave);
    let m = serve(master_store.clone(), fast()).await;
    let (_slave, stop) = follow(slave_store.clone(), m.addr, fast());
    let end = master_store.max_physical_offset();
    wait_until("first sync", Duration::from_secs(10), || slave_store.max_physical_offset() == end).await;
    stop.cancel();
    m.shutdown().await;
    // More data; then the master "loses" everything before the new end.
    let new_end = put(&master_store, 10, 100);
    let m = serve(Arc::new(Trimmed(master_store.clone(), new_end)), fast()).await;
    let (slave, stop) = follow(slave_store.clone(), m.addr, fast());
    wait_until("refusal", Duration::from_secs(5), || slave.status().last_error.is_some()).await;
    assert_eq!(slave_store.max_physical_offset(), end, "the slave kept what it had");
    stop.cancel();
    m.shutdown().await;
}

/// A fake master that sends a garbage header, or nothing at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_or_silent_master_is_dropped_and_the_slave_store_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let slave_store = open(&dir.path().join("s"), BrokerRole::Slave);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (slave, stop) = follow(slave_store.clone(), addr, fast());
    // 1: a header announcing a negative size.
    let (mut conn, _) = listener.accept().await.unwrap();
    let mut report = [0u8; 8];
    conn.read_exact(&mut report).await.unwrap();
    assert_eq!(report, [0; 8], "an empty slave reports 0");
    conn.write_all(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).await.unwrap();
    wait_until("garbage refused", Duration::from_secs(5), || {
        slave.status().last_error.is_some_and(|e| e.contains("garbage"))
    })
    .await;
    // 2: a master that accepts and then says nothing (housekeeping 1.5 s).
    let (_silent, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept()).await.unwrap().unwrap();
    wait_until("silent master dropped", Duration::from_secs(5), || {
        slave.status().last_error.is_some_and(|e| e.contains("nothing heard"))
    })
    .await;
    assert_eq!(slave_store.max_physical_offset(), PhysicalOffset(0));
    stop.cancel();
}

/// A restarted slave resumes from its own end; a restarted master is found
/// again by the slave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_restart_and_replication_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (m_root, s_root) = (dir.path().join("m"), dir.path().join("s"));
    let master_store = open(&m_root, BrokerRole::AsyncMaster);
    put(&master_store, 100, 100);
    let m = serve(master_store.clone(), fast()).await;
    let slave_store = open(&s_root, BrokerRole::Slave);
    let (_slave, stop) = follow(slave_store.clone(), m.addr, fast());
    let end = master_store.max_physical_offset();
    wait_until("first sync", Duration::from_secs(10), || slave_store.max_physical_offset() == end).await;
    // Slave restarts while the master writes on.
    stop.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;
    slave_store.shutdown().unwrap();
    drop(slave_store);
    let end = put(&master_store, 100, 100);
    let slave_store = open(&s_root, BrokerRole::Slave);
    let (_slave, stop) = follow(slave_store.clone(), m.addr, fast());
    wait_until("slave restart", Duration::from_secs(10), || slave_store.max_physical_offset() == end).await;
    // Master restarts on the same address; the slave reconnects by itself.
    let addr = m.addr;
    m.shutdown().await;
    master_store.shutdown().unwrap();
    drop(master_store);
    let master_store = open(&m_root, BrokerRole::AsyncMaster);
    let end = put(&master_store, 100, 100);
    let listener = TcpListener::bind(addr).await.unwrap();
    let master = Arc::new(Master::new(fast(), Admission::anyone()));
    let m_stop = CancellationToken::new();
    let task = tokio::spawn(master.clone().serve(listener, master_store.clone(), m_stop.clone()));
    wait_until("master restart", Duration::from_secs(15), || slave_store.max_physical_offset() == end).await;
    assert!(same_bytes(&master_store, &slave_store, 0, end.0));
    stop.cancel();
    m_stop.cancel();
    task.await.unwrap();
}

/// A slave store whose appends fail after a while (a full or broken disk):
/// the slave drops the connection with the store's error and keeps what it
/// had; once appends work again it resumes from its own end.
struct FailingAppends {
    store: Arc<MessageStore>,
    fail: std::sync::atomic::AtomicBool,
}

impl ReplicaLog for FailingAppends {
    fn bounds(&self) -> LogBounds {
        self.store.bounds()
    }
    fn read(&self, offset: PhysicalOffset, max_len: usize) -> Option<Bytes> {
        self.store.read(offset, max_len)
    }
    fn append(&self, offset: PhysicalOffset, data: &[u8]) -> Result<PhysicalOffset, StoreError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::MessageIllegal("injected: the disk refuses writes".into()));
        }
        self.store.append(offset, data)
    }
    fn begin_at(&self, offset: PhysicalOffset) -> Result<(), StoreError> {
        self.store.begin_at(offset)
    }
    fn written(&self) -> tokio::sync::watch::Receiver<PhysicalOffset> {
        self.store.written()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_slave_store_drops_the_connection_and_resumes_later() {
    let dir = tempfile::tempdir().unwrap();
    let master_store = open(&dir.path().join("m"), BrokerRole::AsyncMaster);
    put(&master_store, 50, 100);
    let m = serve(master_store.clone(), fast()).await;
    let slave_store = open(&dir.path().join("s"), BrokerRole::Slave);
    let failing = Arc::new(FailingAppends { store: slave_store.clone(), fail: false.into() });
    let (slave, stop) = follow(failing.clone(), m.addr, fast());
    let end = master_store.max_physical_offset();
    wait_until("first sync", Duration::from_secs(10), || slave_store.max_physical_offset() == end).await;
    failing.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let later = put(&master_store, 50, 100);
    wait_until("store error reported", Duration::from_secs(5), || {
        slave.status().last_error.is_some_and(|e| e.contains("injected"))
    })
    .await;
    assert_eq!(slave_store.max_physical_offset(), end, "nothing half-written");
    failing.fail.store(false, std::sync::atomic::Ordering::SeqCst);
    wait_until("resumed", Duration::from_secs(15), || slave_store.max_physical_offset() == later).await;
    assert!(same_bytes(&master_store, &slave_store, 0, later.0));
    stop.cancel();
    m.shutdown().await;
}
