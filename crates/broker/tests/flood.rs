//! Excess load is refused with SYSTEM_BUSY, never queued without bound: with
//! room for two sends in flight, a burst of 200 concurrent SYNC_FLUSH sends
//! on one connection gets answers (stored or SYSTEM_BUSY) for every request,
//! and the broker serves normally afterwards.

mod common;

use common::{TestBroker, client, send_request};
use rmq_protocol::ResponseCode;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_capacity_gets_system_busy() {
    let home = tempfile::tempdir().unwrap();
    let broker =
        TestBroker::start(home.path(), &[("sendThreadPoolQueueCapacity", "2"), ("flushDiskType", "SYNC_FLUSH")]).await;
    let (c, _) = client();
    let addr = broker.addr.clone();
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (c, addr) = (c.clone(), addr.clone());
        burst.spawn(async move {
            let req = send_request("pg", "Flooded", 0, 0, &[], format!("m{i}").as_bytes());
            c.invoke(&addr, req, Duration::from_secs(10)).await.map(|r| r.response_code())
        });
    }
    let (mut ok, mut busy) = (0, 0);
    while let Some(done) = burst.join_next().await {
        match done.unwrap().expect("every request is answered") {
            ResponseCode::Success => ok += 1,
            ResponseCode::SystemBusy => busy += 1,
            other => panic!("unexpected answer {other}"),
        }
    }
    assert_eq!(ok + busy, 200);
    assert!(busy > 0, "a burst of 200 against room for 2 meets SYSTEM_BUSY (ok {ok})");
    assert!(ok > 0);
    let r = c.invoke(&addr, send_request("pg", "Flooded", 0, 0, &[], b"after"), Duration::from_secs(10)).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success);
    broker.stop().await;
}
