//! LOCK_BATCH_MQ / UNLOCK_BATCH_MQ over the wire (Java's `RebalanceLockManager`).

mod common;

use common::*;
use rmq_model::{MessageQueue, fastjson};
use rmq_protocol::body::lock::{LockBatchRequestBody, LockBatchResponseBody};
use rmq_protocol::{RemotingCommand, RequestCode};

fn body(client_id: &str, queues: &[i32]) -> Vec<u8> {
    fastjson::to_vec(&LockBatchRequestBody {
        consumer_group: "orderly-g".into(),
        client_id: client_id.into(),
        only_this_broker: true,
        mq_set: queues.iter().map(|q| MessageQueue::new("Ordered", "broker-a", *q)).collect(),
    })
}

fn held(response: &RemotingCommand) -> Vec<i32> {
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let body: LockBatchResponseBody = fastjson::from_slice(&response.body.to_bytes()).unwrap();
    let mut q: Vec<i32> = body.lock_ok_mq_set.iter().map(|m| m.queue_id).collect();
    q.sort();
    q
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_is_locked_by_one_client_at_a_time() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let addr = broker.addr.clone();
    let (client, _) = client();
    let lock = |id: &str, q: &[i32]| RemotingCommand::bare_request(RequestCode::LockBatchMq).with_body(body(id, q));
    let unlock = |id: &str, q: &[i32]| RemotingCommand::bare_request(RequestCode::UnlockBatchMq).with_body(body(id, q));
    assert_eq!(held(&invoke(&client, &addr, lock("A", &[0, 1])).await), vec![0, 1]);
    assert_eq!(held(&invoke(&client, &addr, lock("B", &[0, 1, 2, 3])).await), vec![2, 3]);
    assert_eq!(
        held(&invoke(&client, &addr, lock("A", &[0, 1, 2])).await),
        vec![0, 1],
        "renewal keeps, others' stay theirs"
    );
    // Unlocking someone else's queue does nothing; one's own frees it.
    assert_eq!(invoke(&client, &addr, unlock("B", &[0])).await.code, 0);
    assert_eq!(held(&invoke(&client, &addr, lock("B", &[0])).await), Vec::<i32>::new());
    assert_eq!(invoke(&client, &addr, unlock("A", &[0])).await.code, 0);
    assert_eq!(held(&invoke(&client, &addr, lock("B", &[0])).await), vec![0]);
    // Bad bodies get a remark, not a dropped connection.
    let r = invoke(
        &client,
        &addr,
        RemotingCommand::bare_request(RequestCode::LockBatchMq).with_body(b"{not json".to_vec()),
    )
    .await;
    assert_eq!(r.code, 1);
    assert!(r.remark.unwrap().contains("not valid"));
    broker.stop().await;
}
