//! Message sub-commands: `queryMsgById`, `queryMsgByKey`,
//! `queryMsgByUniqueKey`, `queryMsgByOffset`, `sendMessage`, `consumeMessage`.

use anyhow::{Context, Result, anyhow};
use rmq_client::{Message, MessageExt, Producer, PullConsumer, PullRequest, PullStatus};
use rmq_model::{MessageQueue, fastjson};
use rmq_protocol::body::admin::ConsumeMessageDirectlyResult;
use rmq_protocol::body::heartbeat::ConsumeType;
use rmq_protocol::body::route::MASTER_ID;
use std::fmt::Write;
use std::path::PathBuf;

use super::number;
use crate::admin::format::{human_time, parse_timestamp, properties_to_string};
use crate::admin::options::Args;
use crate::admin::{AtBroker, Ctx, is_not_online};

/// Where `queryMsg*` writes message bodies (Java's `/tmp/rocketmq/msgbodys`).
const BODY_DIR: &str = "/tmp/rocketmq/msgbodys";

fn write_body(msg: &MessageExt, index: usize) -> Result<String> {
    std::fs::create_dir_all(BODY_DIR).with_context(|| format!("cannot create {BODY_DIR}"))?;
    let mut path = PathBuf::from(BODY_DIR).join(msg.msg_id());
    if index > 0 {
        path = PathBuf::from(format!("{}_{index}", path.display()));
    }
    std::fs::write(&path, &msg.body).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path.display().to_string())
}

/// `QueryMsgByIdSubCommand.printMsg` (with the `OffsetID:` line) or
/// `QueryMsgByUniqueKeySubCommand.showMessage` (without).
async fn print_message(ctx: &Ctx, msg: &MessageExt, offset_line: bool, index: usize) -> Result<()> {
    let path = write_body(msg, index)?;
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "{label:<20} {value}");
    };
    if offset_line {
        line("OffsetID:", msg.offset_msg_id.clone());
    }
    line("Topic:", msg.topic.clone());
    line("Tags:", format!("[{}]", msg.tags().unwrap_or("null")));
    line("Keys:", format!("[{}]", msg.keys().unwrap_or("null")));
    line("Queue ID:", msg.queue_id.to_string());
    line("Queue Offset:", msg.queue_offset.to_string());
    line("CommitLog Offset:", msg.commit_log_offset.to_string());
    line("Reconsume Times:", msg.reconsume_times.to_string());
    line("Born Timestamp:", human_time(msg.born_timestamp));
    line("Store Timestamp:", human_time(msg.store_timestamp));
    line("Born Host:", msg.born_host.to_string());
    line("Store Host:", msg.store_host.to_string());
    line("System Flag:", msg.sys_flag.to_string());
    line("Properties:", properties_to_string(&msg.properties));
    line("Message Body Path:", path);
    print!("{out}");
    let tracks = track(ctx, msg).await?;
    if tracks.is_empty() {
        print!("\n\nWARN: No Consumer");
    } else {
        print!("\n\n");
        for (group, kind, desc) in tracks {
            print!(
                "MessageTrack [consumerGroup={group}, trackType={kind}, exceptionDesc={}]",
                desc.unwrap_or_else(|| "null".into())
            );
        }
    }
    println!();
    Ok(())
}

/// `messageTrackDetail`: for each group consuming the topic, whether it has
/// consumed the message.
async fn track(ctx: &Ctx, msg: &MessageExt) -> Result<Vec<(String, &'static str, Option<String>)>> {
    let Some(addr) = ctx.route_addrs(&msg.topic).await?.into_iter().next() else { return Ok(Vec::new()) };
    let groups = ctx.admin.topic_consumed_by(&addr, &msg.topic).await.at(&addr)?;
    let mut out = Vec::new();
    for group in groups.group_list {
        let conn = match ctx.consumer_connection(&group, None).await {
            Ok(conn) => conn,
            Err(e) => {
                let kind = if is_not_online(&e) || e.to_string().contains("Not found the consumer group connection") {
                    "NOT_ONLINE"
                } else {
                    "UNKNOWN"
                };
                out.push((group, kind, Some(format!("{e:#}"))));
                continue;
            }
        };
        let kind = match conn.consume_type {
            ConsumeType::ConsumeActively => "PULL",
            ConsumeType::ConsumePassively => match consumed(ctx, msg, &group).await {
                Ok(true) => {
                    let filtered = conn.subscription_table.get(&msg.topic).is_some_and(|s| {
                        !s.tags_set.is_empty()
                            && !s.tags_set.iter().any(|t| t == "*")
                            && !msg.tags().is_some_and(|t| s.tags_set.iter().any(|x| x == t))
                    });
                    if filtered { "CONSUMED_BUT_FILTERED" } else { "CONSUMED" }
                }
                Ok(false) => "NOT_CONSUME_YET",
                Err(e) => {
                    out.push((group, if is_not_online(&e) { "NOT_ONLINE" } else { "UNKNOWN" }, Some(format!("{e:#}"))));
                    continue;
                }
            },
            ConsumeType::ConsumePop => "UNKNOWN",
        };
        out.push((group, kind, None));
    }
    Ok(out)
}

/// Whether the group's committed offset on the message's queue (on the
/// broker that stored it) is past the message.
async fn consumed(ctx: &Ctx, msg: &MessageExt, group: &str) -> Result<bool> {
    let stats = ctx.consume_stats(group, None).await?;
    let info = ctx.cluster_info().await?;
    for (mq, w) in Ctx::queues_of(&stats.offset_table, &msg.topic) {
        if mq.queue_id != msg.queue_id {
            continue;
        }
        let master = info.broker_addr_table.get(&mq.broker_name).and_then(|b| b.broker_addrs.get(&MASTER_ID));
        if master.is_some_and(|m| *m == msg.store_host.to_string()) && w.consumer_offset > msg.queue_offset {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Java's `ConsumeMessageDirectlyResult.toString` of a client's answer.
fn direct_result_text(json: &str) -> String {
    fastjson::from_str::<ConsumeMessageDirectlyResult>(json).unwrap_or_default().to_string()
}

/// Asks a consumer (through a broker of its group) to consume one message.
async fn push_to_consumer(ctx: &Ctx, group: &str, client_id: &str, msg_id: &str) -> Result<()> {
    let addr = ctx
        .route_addrs(&rmq_model::topic::retry_topic(group))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("no broker serves the group {group}"))?;
    let answer = ctx.admin.consume_message_directly(&addr, group, client_id, msg_id).await.at(&addr)?;
    print!("{}", direct_result_text(&answer));
    Ok(())
}

pub async fn query_by_id(ctx: &Ctx, args: &Args) -> Result<()> {
    let ids: Vec<String> =
        args.req('i').split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if let (Some(group), Some(client)) = (args.get('g'), args.get('d')) {
        for id in &ids {
            push_to_consumer(ctx, &group, &client, id).await?;
        }
        return Ok(());
    }
    if args.has('s') {
        if !args.get('s').is_some_and(|s| crate::admin::format::java_bool(&s)) {
            return Ok(());
        }
        let producer = Producer::new(ctx.client.clone(), "ReSendMsgById");
        for id in &ids {
            let msg = ctx.admin.view_message(id).await?;
            print!("prepare resend msg. originalMsgId={id}");
            let mut again = Message::new(msg.topic.clone(), msg.body.clone());
            again.flag = msg.flag;
            again.properties = msg.properties.clone();
            let result = producer.send(&again).await?;
            print!(
                "SendResult [sendStatus={}, msgId={}, offsetMsgId={}, messageQueue=MessageQueue [topic={}, brokerName={}, queueId={}], queueOffset={}]",
                result.status,
                result.msg_id,
                result.offset_msg_id,
                result.queue.topic,
                result.queue.broker_name,
                result.queue.queue_id,
                result.queue_offset
            );
        }
        return Ok(());
    }
    for id in &ids {
        let msg = ctx.admin.view_message(id).await.with_context(|| format!("message {id}"))?;
        print_message(ctx, &msg, true, 0).await?;
    }
    Ok(())
}

/// Asks every broker of the topic's route; merges what they found.
async fn query_all(ctx: &Ctx, topic: &str, key: &str, max: i32, unique: bool) -> Result<Vec<MessageExt>> {
    let mut found = Vec::new();
    for addr in ctx.route_addrs(topic).await? {
        found.extend(ctx.admin.query_message(&addr, topic, key, max, (0, i64::MAX), unique).await.at(&addr)?);
    }
    if found.is_empty() {
        return Err(anyhow!("query message by key finished, but no message."));
    }
    Ok(found)
}

pub async fn query_by_key(ctx: &Ctx, args: &Args) -> Result<()> {
    let msgs = query_all(ctx, &args.req('t'), &args.req('k'), 64, false).await?;
    println!("{:<50} {:>4} {:>40}", "#Message ID", "#QID", "#Offset");
    for m in &msgs {
        println!("{:<50} {:>4} {:>40}", m.msg_id(), m.queue_id, m.queue_offset);
    }
    Ok(())
}

pub async fn query_by_unique_key(ctx: &Ctx, args: &Args) -> Result<()> {
    let (id, topic) = (args.req('i'), args.req('t'));
    if let (Some(group), Some(client)) = (args.get('g'), args.get('d')) {
        return push_to_consumer(ctx, &group, &client, &id).await;
    }
    let mut msgs = query_all(ctx, &topic, &id, 32, true).await?;
    msgs.sort_by_key(|m| m.store_timestamp);
    let shown = if args.has('a') { msgs.len() } else { 1 };
    for (i, msg) in msgs.iter().take(shown).enumerate() {
        print_message(ctx, msg, false, i).await?;
    }
    Ok(())
}

pub async fn query_by_offset(ctx: &Ctx, args: &Args) -> Result<()> {
    let queue_id: i32 = number(args, 'i')?.unwrap_or_default();
    let offset: i64 = number(args, 'o')?.unwrap_or_default();
    let mq = MessageQueue::new(args.req('t'), args.req('b'), queue_id);
    let consumer = PullConsumer::new(ctx.client.clone(), rmq_model::subscription::TOOLS_CONSUMER_GROUP);
    let result = consumer.pull(&mq, &PullRequest::new("*", offset, 1)).await?;
    if let Some(mut msg) = result.messages.into_iter().next() {
        msg.properties.insert("MIN_OFFSET", result.min_offset.to_string());
        msg.properties.insert("MAX_OFFSET", result.max_offset.to_string());
        print_message(ctx, &msg, true, 0).await?;
    }
    Ok(())
}

pub async fn send_message(ctx: &Ctx, args: &Args) -> Result<()> {
    let topic = args.req('t');
    let mut msg = Message::new(topic.clone(), args.req('p').into_bytes());
    if let Some(keys) = args.get('k') {
        msg = msg.with_keys(keys);
    }
    if let Some(tags) = args.get('c') {
        msg = msg.with_tags(tags);
    }
    let broker = args.get('b');
    let queue_id: Option<i32> = number(args, 'i')?;
    if queue_id.is_some() && broker.is_none() {
        print!("Broker name must be set if the queue is chosen!");
        return Err(anyhow!("-i needs -b"));
    }
    let group = chrono::Utc::now().timestamp_millis().to_string();
    let producer = Producer::new(ctx.client.clone(), &group);
    let result = match (broker, queue_id) {
        (Some(broker), Some(queue_id)) if queue_id > -1 => {
            producer.send_to(&msg, &MessageQueue::new(topic, broker, queue_id)).await
        }
        _ => producer.send(&msg).await,
    };
    // As Java's: a failed send prints no table (the error goes to stderr).
    let r = result?;
    println!("{:<32}  {:<4}  {:<20}    {}", "#Broker Name", "#QID", "#Send Result", "#MsgId");
    println!("{:<32}  {:<4}  {:<20}    {}", r.queue.broker_name, r.queue.queue_id, r.status.as_str(), r.msg_id);
    Ok(())
}

/// Java's `MessageExt.toString` of a pulled message.
fn message_text(msg: &MessageExt, broker_name: &str) -> String {
    let body: Vec<String> = msg.body.iter().map(|b| (*b as i8).to_string()).collect();
    format!(
        "MessageExt [brokerName={broker_name}, queueId={}, storeSize={}, queueOffset={}, sysFlag={}, bornTimestamp={}, bornHost=/{}, storeTimestamp={}, storeHost=/{}, msgId={}, commitLogOffset={}, bodyCRC={}, reconsumeTimes={}, preparedTransactionOffset={}, toString()=Message{{topic='{}', flag={}, properties={}, body=[{}], transactionId='null'}}]",
        msg.queue_id,
        msg.store_size,
        msg.queue_offset,
        msg.sys_flag,
        msg.born_timestamp,
        msg.born_host,
        msg.store_timestamp,
        msg.store_host,
        msg.msg_id(),
        msg.commit_log_offset,
        msg.body_crc,
        msg.reconsume_times,
        msg.prepared_transaction_offset,
        msg.topic,
        msg.flag,
        properties_to_string(&msg.properties),
        body.join(", ")
    )
}

fn mq_text(mq: &MessageQueue) -> String {
    format!("MessageQueue [topic={}, brokerName={}, queueId={}]", mq.topic, mq.broker_name, mq.queue_id)
}

/// `ConsumeMessageCommand.pullMessageByQueue`: pulls `[min, max]` and prints it.
async fn print_queue(consumer: &PullConsumer, mq: &MessageQueue, min: i64, max: i64) -> Result<()> {
    let mut offset = min;
    while offset <= max {
        let want = (max - offset + 1).clamp(1, i32::MAX as i64) as i32;
        let result = consumer.pull(mq, &PullRequest::new("*", offset, want)).await?;
        offset = result.next_begin_offset;
        match result.status {
            PullStatus::Found => {
                print!("Consume ok\n");
                for mut msg in result.messages {
                    msg.properties.insert("MIN_OFFSET", result.min_offset.to_string());
                    msg.properties.insert("MAX_OFFSET", result.max_offset.to_string());
                    println!(
                        "MSGID: {} {} BODY: {}",
                        msg.msg_id(),
                        message_text(&msg, &mq.broker_name),
                        String::from_utf8_lossy(&msg.body)
                    );
                }
            }
            PullStatus::NoMatchedMsg => {
                print!("{} no matched msg. status={}, offset={offset}\n", mq_text(mq), result.status.as_str())
            }
            PullStatus::NoNewMsg | PullStatus::OffsetIllegal => {
                print!("{} print msg finished. status={}, offset={offset}\n", mq_text(mq), result.status.as_str());
                break;
            }
        }
    }
    Ok(())
}

pub async fn consume_message(ctx: &Ctx, args: &Args) -> Result<()> {
    let group = args.get('g').unwrap_or_else(|| rmq_model::subscription::TOOLS_CONSUMER_GROUP.to_owned());
    let consumer = PullConsumer::new(ctx.client.clone(), &group);
    let topic = args.req('t');
    let count: i64 = number(args, 'c')?.unwrap_or(128);
    if count <= 0 {
        print!("Please input a positive messageNumber!");
        return Err(anyhow!("-c must be positive"));
    }
    let broker = args.get('b');
    let queue_id: Option<i32> = number(args, 'i')?;
    if queue_id.is_some() && broker.is_none() {
        print!("Please set the brokerName before queueId!");
        return Err(anyhow!("-i needs -b"));
    }
    let offset: Option<i64> = number(args, 'o')?;
    if offset.is_some() && queue_id.is_none() {
        print!("Please set queueId before offset!");
        return Err(anyhow!("-o needs -i"));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let stamp = |c: char| -> Result<i64> {
        match args.get(c) {
            None => Ok(0),
            Some(text) => {
                parse_timestamp(&text).ok_or_else(|| anyhow!("the timestamp '{text}' of -{c} does not parse"))
            }
        }
    };
    let (begin, end) = (stamp('s')?, stamp('e')?);
    if begin > now {
        print!("Please set the beginTimestamp before now!");
        return Err(anyhow!("-s is in the future"));
    }
    if end > now {
        print!("Please set the endTimestamp before now!");
        return Err(anyhow!("-e is in the future"));
    }
    if end > 0 && begin > end {
        print!("Please make sure that the beginTimestamp is less than or equal to the endTimestamp");
        return Err(anyhow!("-s is after -e"));
    }
    let bounds = |mq: MessageQueue| {
        let consumer = consumer.clone();
        async move {
            let mut min = consumer.min_offset(&mq).await?;
            let mut max = consumer.max_offset(&mq).await?;
            if begin > 0 {
                min = consumer.search_offset(&mq, begin).await?;
            }
            if end > 0 {
                max = consumer.search_offset(&mq, end).await?;
            }
            Ok::<_, anyhow::Error>((min, max))
        }
    };
    if let (Some(broker), Some(queue_id)) = (broker, queue_id) {
        let mq = MessageQueue::new(topic, broker, queue_id);
        let (min, mut max) = bounds(mq.clone()).await?;
        let start = offset.unwrap_or(0);
        if start > max {
            print!("{} no matched msg, offset={start}\n", mq_text(&mq));
            return Ok(());
        }
        let min = min.max(start);
        if max - min > count {
            print!("The oldler {count} message will be provided\n");
            max = min + count - 1;
        }
        return print_queue(&consumer, &mq, min, max).await;
    }
    let mut left = count;
    for mq in consumer.queues(&topic).await? {
        if left == 0 {
            return Ok(());
        }
        let (min, mut max) = bounds(mq.clone()).await?;
        // Java subtracts one more per queue, so messages of later queues go
        // unprinted although the count allows them; here the count is exact.
        if max - min > left {
            print!("The older {left} message of the {} queue will be provided\n", mq.queue_id);
            max = min + left - 1;
            left = 0;
        } else {
            left -= (max - min).max(0);
        }
        print_queue(&consumer, &mq, min, max).await?;
    }
    Ok(())
}
