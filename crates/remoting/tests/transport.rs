//! The transport over real TCP on 127.0.0.1, server and client together.
//! Behaviours checked against Java's `NettyRemotingAbstract` and
//! `NettyRemotingServer`: request/response matching by opaque, oneway and
//! server-initiated requests, dispatch errors and connection-level behaviour.

mod common;

use bytes::Bytes;
use common::*;
use rmq_protocol::{RemotingCommand, ResponseCode, SerializeType};
use rmq_remoting::{Client, ClientConfig, RejectAll, RemotingError};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

fn client() -> Client {
    Client::new(ClientConfig::default(), Arc::new(RejectAll))
}

fn sleep_req(ms: u64) -> RemotingCommand {
    req(SLEEP).with_ext("ms", ms.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_in_both_header_encodings() {
    let server = start(config()).await;
    let client = client();
    for kind in [SerializeType::Json, SerializeType::RocketMq] {
        let mut request = req(ECHO).with_ext("x", "y\u{e9}").with_body(Bytes::from_static(b"hello body"));
        request.serialize_type = kind;
        let response = client.invoke(&server.addr(), request, WAIT).await.unwrap();
        assert!(response.is_response());
        assert_eq!(response.response_code(), ResponseCode::Success);
        assert_eq!(response.serialize_type, kind, "the response follows the request's encoding");
        assert_eq!(response.ext("x"), Some("y\u{e9}"));
        assert_eq!(response.body.to_bytes(), Bytes::from_static(b"hello body"));
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_code_is_not_supported() {
    let server = start(config()).await;
    let response = client().invoke(&server.addr(), req(9999), WAIT).await.unwrap();
    assert_eq!(response.code, 3);
    assert_eq!(response.remark.as_deref(), Some(" request type 9999 not supported"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_all_answers_not_supported() {
    // A client serving nothing still answers a server's request properly.
    let server = start(config()).await;
    let client = client();
    let response = client.invoke(&server.addr(), req(CALLBACK), WAIT).await.unwrap();
    assert_eq!(response.ext("code"), Some("3"), "callback got: {response:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oneway_gets_no_response() {
    let server = start(config()).await;
    let mut raw = Raw::connect(server.addr).await;
    raw.send(&req(COUNT).with_opaque(1).into_oneway()).await;
    raw.send(&req(9999).with_opaque(2).into_oneway()).await; // not even an error
    raw.send(&req(ECHO).with_opaque(3)).await;
    let first = raw.recv().await.unwrap();
    assert_eq!(first.opaque, 3, "the only response is the echo's");
    server.service.until(|s| s.counted.load(Ordering::SeqCst) == 1).await;

    // And through the client API.
    let client = client();
    client.invoke_oneway(&server.addr(), req(COUNT)).await.unwrap();
    server.service.until(|s| s.counted.load(Ordering::SeqCst) == 2).await;
    let conn = client.connection(&server.addr()).await.unwrap();
    assert_eq!(conn.pending_requests(), 0);
    drop(raw);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_complete_out_of_order_and_match_by_opaque() {
    let server = start(config()).await;
    let conn = client().connection(&server.addr()).await.unwrap();
    let mut all = JoinSet::new();
    for i in 0..64u64 {
        let conn = conn.clone();
        // Later requests finish first.
        all.spawn(async move { (i, conn.request(sleep_req((64 - i) * 3), WAIT).await) });
    }
    let mut order = Vec::new();
    while let Some(done) = all.join_next().await {
        let (i, response) = done.unwrap();
        let response = response.unwrap();
        assert_eq!(response.remark, Some(((64 - i) * 3).to_string()));
        order.push(i);
    }
    assert_ne!(order, (0..64).collect::<Vec<_>>(), "completion order should differ from sending order");
    assert_eq!(conn.pending_requests(), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_does_not_block_fast_one() {
    let server = start(config()).await;
    let conn = client().connection(&server.addr()).await.unwrap();
    let slow = tokio::spawn({
        let conn = conn.clone();
        async move { conn.request(sleep_req(1500), WAIT).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let fast = conn.request(req(ECHO), WAIT).await.unwrap();
    assert_eq!(fast.response_code(), ResponseCode::Success);
    assert!(started.elapsed() < Duration::from_millis(500), "fast request took {:?}", started.elapsed());
    assert!(!slow.is_finished());
    assert_eq!(slow.await.unwrap().unwrap().remark.as_deref(), Some("1500"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sends_requests_to_the_client_over_the_same_connection() {
    let server = start(config()).await;
    let client_side = Arc::new(ClientSide::default());
    let client = Client::new(ClientConfig::default(), Arc::clone(&client_side));
    let response = client.invoke(&server.addr(), req(CALLBACK), WAIT).await.unwrap();
    assert_eq!(response.response_code(), ResponseCode::Success, "{response:?}");
    assert_eq!(response.body.to_bytes(), Bytes::from_static(b"from client"));
    assert_eq!(server.service.connected.load(Ordering::SeqCst), 1, "one connection serves both directions");
    assert_eq!(client_side.connected.load(Ordering::SeqCst), 1);
    client.close_all();
    server.service.until(|s| s.disconnected.load(Ordering::SeqCst) == 1).await;
    server.stop().await;
    eventually(|| client_side.disconnected.load(Ordering::SeqCst) == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_removes_the_pending_entry() {
    let server = start(config()).await;
    let conn = client().connection(&server.addr()).await.unwrap();
    let started = Instant::now();
    let error = conn.request(req(HOLD), Duration::from_millis(100)).await.unwrap_err();
    assert!(matches!(error, RemotingError::Timeout { .. }), "{error}");
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(conn.pending_requests(), 0);

    // A request abandoned by its caller leaves nothing behind either.
    let abandoned = tokio::time::timeout(Duration::from_millis(50), conn.request(req(HOLD), WAIT)).await;
    assert!(abandoned.is_err());
    assert_eq!(conn.pending_requests(), 0);

    // The late responses are dropped; the connection goes on.
    server.service.gate.add_permits(2);
    server.service.until(|s| s.holding.load(Ordering::SeqCst) == 0).await;
    let response = conn.request(req(ECHO), WAIT).await.unwrap();
    assert_eq!(response.response_code(), ResponseCode::Success);
    assert!(!conn.is_closed());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frame_closes_only_its_connection() {
    let server = start(config()).await;
    let client = client();
    let good = client.connection(&server.addr()).await.unwrap();
    let frames: [(&str, &[u8]); 5] = [
        ("negative length", &[0xff, 0xff, 0xff, 0xff]),
        ("length below the header word", &[0, 0, 0, 2, 0, 0]),
        ("oversized", &[0x7f, 0xff, 0xff, 0xff]),
        ("header past the frame", &[0, 0, 0, 6, 0, 0, 0, 9, b'{', b'}']),
        ("garbage JSON", &[0, 0, 0, 6, 0, 0, 0, 2, b'{', b'x']),
    ];
    for (what, bytes) in frames {
        let mut raw = Raw::connect(server.addr).await;
        raw.send_bytes(bytes).await;
        assert!(raw.recv().await.is_none(), "{what}: the server closes the connection");
        let response = good.request(req(ECHO), WAIT).await.unwrap();
        assert_eq!(response.response_code(), ResponseCode::Success, "{what}: others are still served");
    }
    server.service.until(|s| s.disconnected.load(Ordering::SeqCst) == 5).await;
    assert!(!good.is_closed());
    server.stop().await;
}

/// Java's cap (`NettyDecoder`, `frameMaxLength`) counts the length prefix too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_frame_is_inclusive_of_the_length_prefix() {
    let mut config = config();
    config.max_frame = 1024;
    let server = start(config).await;
    let frame_of = |total: usize| {
        let mut head = bytes::BytesMut::new();
        rmq_protocol::frame::encode(&req(COUNT).with_opaque(5), &mut head).unwrap();
        req(COUNT).with_opaque(5).with_body(vec![7u8; total - head.len()])
    };
    let mut raw = Raw::connect(server.addr).await;
    raw.send(&frame_of(1024)).await;
    assert_eq!(raw.recv().await.map(|r| r.opaque), Some(5), "a frame of exactly max_frame bytes is served");
    raw.send(&frame_of(1025)).await;
    assert!(raw.recv().await.is_none(), "one byte more closes the connection");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_are_closed_at_once_until_one_closes() {
    let mut config = config();
    config.max_connections = 1;
    let server = start(config).await;
    let first = client();
    first.invoke(&server.addr(), req(ECHO), WAIT).await.unwrap();

    // Not left waiting in the backlog: closed, so the client fails fast.
    let second = client();
    let started = Instant::now();
    let refused = second.invoke(&server.addr(), req(ECHO), WAIT).await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(!matches!(refused, Err(RemotingError::Timeout { .. })), "{refused:?}");
    assert!(started.elapsed() < WAIT, "refused at once, not after the timeout");
    assert_eq!(server.service.connected.load(Ordering::SeqCst), 1);

    // Once the server has seen the first one close, the next is served (the
    // client reconnects on each attempt).
    first.close_all();
    let deadline = Instant::now() + WAIT;
    let response = loop {
        match second.invoke(&server.addr(), req(ECHO), WAIT).await {
            Ok(response) => break response,
            Err(e) => assert!(Instant::now() < deadline, "still refused after the first closed: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(response.response_code(), ResponseCode::Success);
    assert_eq!(server.service.connected.load(Ordering::SeqCst), 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_limit_answers_system_busy() {
    let mut config = config();
    config.max_in_flight_per_connection = 2;
    let server = start(config).await;
    let conn = client().connection(&server.addr()).await.unwrap();
    let held: Vec<_> = (0..2)
        .map(|_| {
            let conn = conn.clone();
            tokio::spawn(async move { conn.request(req(HOLD), WAIT).await })
        })
        .collect();
    server.service.until(|s| s.holding.load(Ordering::SeqCst) == 2).await;
    let busy = conn.request(req(ECHO), WAIT).await.unwrap();
    assert_eq!(busy.code, 2);
    assert_eq!(busy.remark.as_deref(), Some("[OVERLOAD]system busy, start flow control for a while"));
    // A oneway beyond the limit is dropped silently; frames are read in
    // order, so once the next request is refused, the oneway was too.
    conn.oneway(req(COUNT)).await.unwrap();
    assert_eq!(conn.request(req(ECHO), WAIT).await.unwrap().code, 2);

    server.service.gate.add_permits(2);
    for held in held {
        assert_eq!(held.await.unwrap().unwrap().response_code(), ResponseCode::Success);
    }
    let after = conn.request(req(ECHO), WAIT).await.unwrap();
    assert_eq!(after.response_code(), ResponseCode::Success);
    assert_eq!(server.service.counted.load(Ordering::SeqCst), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connection_is_closed_busy_one_is_not() {
    let mut config = config();
    config.idle_timeout = Duration::from_millis(300);
    let server = start(config).await;
    let client = client();
    let idle = client.connection(&server.addr()).await.unwrap();

    let busy_client = self::client();
    let busy = busy_client.connection(&server.addr()).await.unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(700) {
        busy.request(req(ECHO), WAIT).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(idle.is_closed(), "idle for 700 ms with a 300 ms limit");
    assert!(!busy.is_closed(), "traffic every 100 ms keeps it open");
    tokio::time::timeout(WAIT, busy.closed()).await.expect("closed once idle");
    server.service.until(|s| s.disconnected.load(Ordering::SeqCst) == 2).await;
    // The client reconnects on next use.
    client.invoke(&server.addr(), req(ECHO), WAIT).await.unwrap();
    server.stop().await;
}

/// Java's default: `serverChannelMaxIdleTimeSeconds` = 120, with no read
/// and no write (`IdleStateHandler(0, 0, 120)`). Paused time jumps there.
#[tokio::test(start_paused = true)]
async fn idle_timeout_default_is_120_seconds() {
    let server = start(config()).await;
    let conn = client().connection(&server.addr()).await.unwrap();
    conn.request(req(ECHO), WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_secs(119)).await;
    conn.request(req(ECHO), WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_secs(119)).await;
    assert!(!conn.is_closed(), "the request 119 s ago counts as traffic");
    tokio::time::timeout(Duration::from_secs(2), conn.closed()).await.expect("closed 120 s after the last traffic");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_in_flight_requests_finish() {
    let server = start(config()).await;
    let conn = client().connection(&server.addr()).await.unwrap();
    let in_flight = tokio::spawn({
        let conn = conn.clone();
        async move { conn.request(sleep_req(300), WAIT).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    server.stop().await;
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.remark.as_deref(), Some("300"));
    assert!(started.elapsed() < Duration::from_secs(2));
    tokio::time::timeout(WAIT, conn.closed()).await.expect("closed after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_still_reads_responses_to_the_servers_own_requests() {
    let server = start(config()).await;
    let client = Client::new(ClientConfig::default(), Arc::new(ClientSide::default()));
    let conn = client.connection(&server.addr()).await.unwrap();
    // The handler waits for the client's answer, which comes after the stop.
    let in_flight = tokio::spawn(async move { conn.request(req(CALLBACK).with_ext("ms", "300"), WAIT).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.stop().await;
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.body.to_bytes(), Bytes::from_static(b"from client"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drops_requests_held_beyond_the_grace_period() {
    let mut config = config();
    config.shutdown_grace = Duration::from_millis(200);
    let server = start(config).await;
    let service = Arc::clone(&server.service);
    let conn = client().connection(&server.addr()).await.unwrap();
    let held = tokio::spawn({
        let conn = conn.clone();
        async move { conn.request(req(HOLD), Duration::from_secs(30)).await }
    });
    service.until(|s| s.holding.load(Ordering::SeqCst) == 1).await;
    let started = Instant::now();
    server.stop().await;
    assert!(started.elapsed() < Duration::from_secs(1), "run returned after {:?}", started.elapsed());
    let error = held.await.unwrap().unwrap_err();
    assert!(matches!(error, RemotingError::Closed(_)), "{error}");
    assert_eq!(service.disconnected.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reconnects_after_server_restart_on_the_same_port() {
    let server = start(config()).await;
    let addr = server.addr;
    let client = client();
    let before = client.connection(&addr.to_string()).await.unwrap();
    client.invoke(&addr.to_string(), req(ECHO), WAIT).await.unwrap();
    server.stop().await;
    tokio::time::timeout(WAIT, before.closed()).await.expect("client sees the close");
    let failed = client.invoke(&addr.to_string(), req(ECHO), WAIT).await;
    assert!(matches!(failed, Err(RemotingError::Connect { .. })), "nobody listens: {failed:?}");

    let mut config = config();
    config.listen = addr;
    let again = start(config).await;
    let response = client.invoke(&addr.to_string(), req(ECHO), WAIT).await.unwrap();
    assert_eq!(response.response_code(), ResponseCode::Success);
    let after = client.connection(&addr.to_string()).await.unwrap();
    assert_ne!(before.id(), after.id());
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_disconnect_callbacks_run_once_each() {
    let server = start(config()).await;
    let client_side = Arc::new(ClientSide::default());
    let client = Client::new(ClientConfig::default(), Arc::clone(&client_side));
    // Many callers at once share one connect attempt.
    let mut callers = JoinSet::new();
    for _ in 0..16 {
        let client = client.clone();
        let addr = server.addr();
        callers.spawn(async move { client.connection(&addr).await.unwrap().id() });
    }
    let ids: Vec<_> = callers.join_all().await;
    assert!(ids.iter().all(|id| *id == ids[0]));
    let conn = client.connection(&server.addr()).await.unwrap();
    conn.request(req(ECHO), WAIT).await.unwrap();
    conn.close();
    conn.close();
    assert!(matches!(conn.request(req(ECHO), WAIT).await, Err(RemotingError::Closed(_))));
    server.service.until(|s| s.disconnected.load(Ordering::SeqCst) == 1).await;
    let service = Arc::clone(&server.service);
    server.stop().await;
    eventually(|| client_side.disconnected.load(Ordering::SeqCst) == 1).await;
    assert_eq!(client_side.connected.load(Ordering::SeqCst), 1);
    assert_eq!(service.connected.load(Ordering::SeqCst), 1);
}

/// Polls `check` until it holds (or fails the test after a while).
async fn eventually(check: impl Fn() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < WAIT, "condition not reached in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_panic_answers_system_error() {
    let server = start(config()).await;
    let client = client();
    let response = client.invoke(&server.addr(), req(PANIC), WAIT).await.unwrap();
    assert_eq!(response.response_code(), ResponseCode::SystemError);
    assert!(response.remark.unwrap().contains("asked to panic"));
    client.invoke(&server.addr(), req(ECHO), WAIT).await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_and_chunked_bodies_arrive_intact() {
    let server = start(config()).await;
    let client = client();
    // 3 MiB in several chunks: sent from their own buffers, read in pieces.
    let chunks: Vec<Bytes> = (0..6u8).map(|i| Bytes::from(vec![i; 512 * 1024 + usize::from(i)])).collect();
    let expected: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    let request = req(ECHO).with_body(rmq_protocol::Body::Chunks(chunks));
    let response = client.invoke(&server.addr(), request, WAIT).await.unwrap();
    assert_eq!(response.body.to_bytes(), Bytes::from(expected));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_failure_and_hostnames() {
    let server = start(config()).await;
    let client = client();
    let by_name = format!("localhost:{}", server.addr.port());
    let response = client.invoke(&by_name, req(ECHO), WAIT).await;
    // `localhost` may resolve to ::1 first on some hosts; the server listens on IPv4 only.
    if let Err(error) = &response {
        assert!(matches!(error, RemotingError::Connect { .. }), "{error}");
    }
    server.stop().await;
    let refused = client.invoke("127.0.0.1:1", req(ECHO), WAIT).await;
    assert!(matches!(refused, Err(RemotingError::Connect { .. })), "{refused:?}");
}
