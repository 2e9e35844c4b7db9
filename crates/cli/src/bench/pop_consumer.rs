//! The consumer benchmark's POP mode: `workers` tasks per master broker pop
//! up to 32 messages at a time from every queue of the topic (queue -1,
//! long-polled) and ack each response with one BATCH_ACK_MESSAGE, built from
//! the response's offset lists as a 5.x client builds it.

use bytes::Bytes;
use rmq_client::{Client, MessageExt};
use rmq_protocol::body::pop::{BatchAck, BatchAckMessageRequestBody};
use rmq_protocol::header::PopMessageRequestHeader;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// What the poppers hand each consumed batch to.
pub type OnBatch = Arc<dyn Fn(&[MessageExt]) + Send + Sync>;

#[derive(Clone, Debug)]
pub struct PopSettings {
    pub group: String,
    pub topic: String,
    pub expression: String,
    pub invisible_ms: i64,
    pub workers: usize,
}

/// Starts the poppers on every master of the topic's route.
pub async fn spawn(client: Arc<Client>, s: PopSettings, on_batch: OnBatch) -> anyhow::Result<JoinSet<()>> {
    let route = client.route(&s.topic).await?;
    let masters: Vec<(String, String)> = route
        .data
        .broker_datas
        .iter()
        .filter_map(|b| route.master(&b.broker_name).map(|a| (b.broker_name.clone(), a.to_owned())))
        .collect();
    if masters.is_empty() {
        anyhow::bail!("topic {} has no master to pop from", s.topic);
    }
    let mut tasks = JoinSet::new();
    for (broker_name, addr) in masters {
        for _ in 0..s.workers.max(1) {
            let (client, s, on_batch, broker_name, addr) =
                (client.clone(), s.clone(), on_batch.clone(), broker_name.clone(), addr.clone());
            tasks.spawn(async move { pop_loop(&client, &s, &broker_name, &addr, &on_batch).await });
        }
    }
    Ok(tasks)
}

async fn pop_loop(client: &Client, s: &PopSettings, broker_name: &str, addr: &str, on_batch: &OnBatch) {
    loop {
        let header = PopMessageRequestHeader {
            consumer_group: s.group.clone(),
            topic: s.topic.clone(),
            queue_id: -1,
            max_msg_nums: 32,
            invisible_time: s.invisible_ms,
            poll_time: 15_000,
            born_time: Some(rmq_model::clock::now_ms()),
            init_mode: Some(0),
            exp_type: Some("TAG".into()),
            exp: Some(s.expression.clone()),
            order: Some(false),
            attempt_id: None,
        };
        let request = RemotingCommand::request(RequestCode::PopMessage, &header);
        let response = match client.invoke(addr, request, Some(Duration::from_secs(20))).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("pop from {addr} failed: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if response.code != ResponseCode::Success.to_i32() {
            continue;
        }
        let body: Bytes = response.body.to_bytes();
        match MessageExt::decode_all(&body) {
            Ok(messages) => on_batch(&messages),
            Err(e) => eprintln!("a pop answer from {addr} does not decode: {e}"),
        }
        let ack = batch_ack(&response, s, broker_name);
        if !ack.acks.is_empty() {
            let request = RemotingCommand::bare_request(RequestCode::BatchAckMessage)
                .with_body(rmq_model::fastjson::to_vec(&ack));
            if let Err(e) = client.invoke(addr, request, None).await {
                eprintln!("batch ack to {addr} failed: {e}");
            }
        }
    }
}

/// One batch ack entry per queue of the response (`startOffsetInfo` and
/// `msgOffsetInfo` list them in the same order).
fn batch_ack(r: &RemotingCommand, s: &PopSettings, broker_name: &str) -> BatchAckMessageRequestBody {
    let num = |k: &str| r.ext(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let (pop_time, invisible_time, revive_qid) = (num("popTime"), num("invisibleTime"), num("reviveQid") as i32);
    let starts = r.ext("startOffsetInfo").unwrap_or_default();
    let offsets = r.ext("msgOffsetInfo").unwrap_or_default();
    let mut body = BatchAckMessageRequestBody { broker_name: broker_name.to_owned(), acks: Vec::new() };
    for (start, msgs) in starts.split(';').zip(offsets.split(';')) {
        let f: Vec<&str> = start.split(' ').collect();
        let m: Vec<&str> = msgs.split(' ').collect();
        let (Some(flag), Some(queue), Some(so), Some(list)) = (f.first(), f.get(1), f.get(2), m.get(2)) else {
            continue;
        };
        let mut ack = BatchAck {
            consumer_group: s.group.clone(),
            topic: s.topic.clone(),
            retry: (*flag).to_owned(),
            start_offset: so.parse().unwrap_or(0),
            queue_id: queue.parse().unwrap_or(0),
            revive_queue_id: revive_qid,
            pop_time,
            invisible_time,
            bit_set: Vec::new(),
        };
        list.split(',').filter_map(|o| o.parse().ok()).for_each(|o| ack.set(o));
        body.acks.push(ack);
    }
    body
}
