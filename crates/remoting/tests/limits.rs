//! Limits a hostile peer cannot pass, each over real TCP with a normal
//! client on the same server that must not notice: a peer that never reads
//! its responses, a peer trickling a frame byte by byte, one host opening
//! connection after connection. Bounds are set small so each test takes a
//! few seconds.

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use rmq_protocol::{RemotingCommand, ResponseCode, frame};
use rmq_remoting::{Client, ClientConfig, RejectAll};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client() -> Client {
    Client::new(ClientConfig::default(), Arc::new(RejectAll))
}

/// Echoes one request and says how long the answer took.
async fn echo_round_trip(client: &Client, server: &Running) -> Duration {
    let started = Instant::now();
    let response = client.invoke(&server.addr(), req(ECHO), WAIT).await.expect("the normal client is answered");
    assert_eq!(response.response_code(), ResponseCode::Success);
    started.elapsed()
}

/// Reads until the peer closes; false if it did not within `WAIT`.
async fn closed_by_peer(stream: &mut tokio::net::TcpStream) -> bool {
    let mut sink = vec![0u8; 1 << 20];
    tokio::time::timeout(WAIT, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_reads_nothing_is_closed_and_its_queued_responses_freed() {
    let mut config = config();
    config.write_timeout = Duration::from_secs(1);
    let server = start(config).await;

    // 400 requests for 256 KiB each (100 MiB of answers), and not one byte
    // read: the socket buffers fill, the rest waits in the write queue.
    let mut hostile = Raw::connect(server.addr).await;
    let mut requests = BytesMut::new();
    for opaque in 0..400 {
        frame::encode(&RemotingCommand { opaque, ..req(BIG) }, &mut requests).unwrap();
    }
    let started = Instant::now();
    hostile.send_bytes(&requests).await;
    server.service.until(|s| s.big_alive.load(Ordering::SeqCst) >= 100).await;

    let normal = client();
    let mut slowest = Duration::ZERO;
    while server.counters.snapshot().write_timeouts == 0 {
        assert!(started.elapsed() < 2 * WAIT, "the peer that reads nothing is still connected");
        slowest = slowest.max(echo_round_trip(&normal, &server).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started.elapsed() >= Duration::from_secs(1), "closed before the write timeout");
    assert!(slowest < Duration::from_secs(2), "the normal client waited {slowest:?} for an echo");

    server.service.until(|s| s.disconnected.load(Ordering::SeqCst) == 1).await;
    server.service.until(|s| s.big_alive.load(Ordering::SeqCst) == 0).await;
    assert!(closed_by_peer(&mut hostile.stream).await, "the hostile peer sees its connection closed");
    echo_round_trip(&normal, &server).await;
    assert_eq!(server.counters.snapshot().write_timeouts, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_reads_slowly_but_steadily_gets_every_response() {
    let mut config = config();
    config.write_timeout = Duration::from_secs(2);
    let server = start(config).await;

    // 80 answers of 256 KiB (20 MiB), read 256 KiB each 50 ms: about 5 MB/s,
    // far slower than the server writes, so its writes wait on the reader,
    // and for twice the write timeout in all: only progress keeps it open.
    let mut slow = Raw::connect(server.addr).await;
    let mut requests = BytesMut::new();
    for opaque in 0..80 {
        frame::encode(&RemotingCommand { opaque, ..req(BIG) }, &mut requests).unwrap();
    }
    slow.send_bytes(&requests).await;
    let mut buf = BytesMut::new();
    let mut answers = 0;
    let reading = tokio::time::timeout(4 * WAIT, async {
        while answers < 80 {
            let mut chunk = vec![0u8; 256 * 1024];
            let n = slow.stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed after {answers} answers");
            buf.extend_from_slice(&chunk[..n]);
            while let Some(answer) = frame::decode(&mut buf, 1 << 24).unwrap() {
                assert_eq!(answer.body.len(), BIG_BODY);
                answers += 1;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(reading.is_ok(), "{answers} of 80 answers in time");
    assert_eq!(server.counters.snapshot().write_timeouts, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_trickled_byte_by_byte_is_cut_off_and_streaming_clients_are_not() {
    let mut config = config();
    config.frame_timeout = Duration::from_secs(1);
    let server = start(config).await;

    // A normal client keeps 8 requests of 64 KiB in flight for 2.5 s: its
    // read buffer almost never empties, but its frames keep completing.
    let streaming = client();
    let addr = server.addr();
    let stream_task = tokio::spawn(async move {
        let body = Bytes::from(vec![7u8; 64 * 1024]);
        let started = Instant::now();
        let mut answered = 0;
        while started.elapsed() < Duration::from_millis(2500) {
            let mut wave = tokio::task::JoinSet::new();
            for _ in 0..8 {
                let (streaming, addr, body) = (streaming.clone(), addr.clone(), body.clone());
                wave.spawn(async move { streaming.invoke(&addr, req(ECHO).with_body(body), WAIT).await });
            }
            while let Some(response) = wave.join_next().await {
                let response = response.unwrap().expect("the streaming client is answered");
                assert_eq!(response.body.len(), body.len());
                answered += 1;
            }
        }
        answered
    });

    // A frame that claims a megabyte and gets one byte each 100 ms.
    let mut trickler = Raw::connect(server.addr).await;
    let started = Instant::now();
    trickler.send_bytes(&1_000_000i32.to_be_bytes()).await;
    let mut byte = [0u8; 1];
    let cut_off = tokio::time::timeout(2 * WAIT, async {
        loop {
            tokio::select! {
                read = trickler.stream.read(&mut byte) => if matches!(read, Ok(0) | Err(_)) { return },
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if trickler.stream.write_all(&[0]).await.is_err() {
                        return;
                    }
                }
            }
        }
    })
    .await;
    assert!(cut_off.is_ok(), "the trickling peer is still connected");
    assert!(started.elapsed() >= Duration::from_secs(1), "cut off before the frame timeout");
    assert_eq!(server.counters.snapshot().frame_timeouts, 1);

    // A large frame sent at full speed is served.
    let big = Bytes::from(vec![1u8; 4 * 1024 * 1024]);
    let response = client().invoke(&server.addr(), req(ECHO).with_body(big.clone()), WAIT).await.unwrap();
    assert_eq!(response.body.to_bytes(), big);

    let answered = stream_task.await.unwrap();
    assert!(answered >= 8, "the streaming client got {answered} answers");
    assert_eq!(server.counters.snapshot().frame_timeouts, 1, "only the trickler was cut off");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_gets_its_connection_cap_and_other_hosts_are_served() {
    let mut config = config();
    config.max_connections_per_ip = 3;
    let server = start(config).await;
    // 127.0.0.2 is loopback too: it plays the hostile host.
    let hostile_ip: IpAddr = "127.0.0.2".parse().unwrap();

    let mut hostile = Vec::new();
    for _ in 0..20 {
        hostile.push(Raw::connect_from(hostile_ip, server.addr).await);
    }
    let mut served = 0;
    for raw in &mut hostile {
        raw.send(&req(ECHO)).await;
        if raw.recv().await.is_some() {
            served += 1;
        }
    }
    assert_eq!(served, 3, "connections past the cap are closed on accept");
    assert_eq!(server.counters.snapshot().refused_per_ip, 17);

    // Another host is not affected: its connections count on their own.
    let normals: Vec<Client> = (0..3).map(|_| client()).collect();
    for normal in &normals {
        echo_round_trip(normal, &server).await;
    }

    // A slot comes back when a connection of the host closes.
    hostile.truncate(2);
    let deadline = Instant::now() + WAIT;
    loop {
        let mut again = Raw::connect_from(hostile_ip, server.addr).await;
        again.send(&req(ECHO)).await;
        if again.recv().await.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "no slot came back after a connection closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
}
