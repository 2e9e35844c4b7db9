//! Consumer and producer group sub-commands: `updateSubGroup`,
//! `deleteSubGroup`, `consumerProgress`, `consumerConnection`,
//! `consumerStatus`, `producerConnection`, `cloneGroupOffset`, `resetOffsetByTime`.

use anyhow::{Context, Result, anyhow};
use rmq_model::clock::now_ms;
use rmq_model::{MessageQueue, SubscriptionGroupConfig, topic as topics};
use rmq_protocol::body::admin::ConsumerConnection;
use rmq_protocol::body::heartbeat::{ConsumeType, MessageModel};
use std::collections::BTreeMap;

use super::number;
use super::running_info::{RunningInfo, same_subscription, stuck_queues};
use super::topic::delete_topic_in_cluster;
use crate::admin::format::{date_time, front, java_bool, parse_timestamp, version_desc};
use crate::admin::options::Args;
use crate::admin::{AtBroker, Ctx, is_not_online};

/// Java's `SubscriptionGroupConfig.toString`.
fn group_config_text(c: &SubscriptionGroupConfig) -> String {
    format!(
        "SubscriptionGroupConfig [groupName={}, consumeEnable={}, consumeFromMinEnable={}, consumeBroadcastEnable={}, retryQueueNums={}, retryMaxTimes={}, brokerId={}, whichBrokerWhenConsumeSlowly={}, notifyConsumerIdsChangedEnable={}]",
        c.group_name,
        c.consume_enable,
        c.consume_from_min_enable,
        c.consume_broadcast_enable,
        c.retry_queue_nums,
        c.retry_max_times,
        c.broker_id,
        c.which_broker_when_consume_slowly,
        c.notify_consumer_ids_changed_enable
    )
}

pub async fn update_sub_group(ctx: &Ctx, args: &Args) -> Result<()> {
    let mut config = SubscriptionGroupConfig {
        consume_broadcast_enable: false,
        consume_from_min_enable: false,
        ..SubscriptionGroupConfig::new(args.req('g'))
    };
    if let Some(v) = args.get('s') {
        config.consume_enable = java_bool(&v);
    }
    if let Some(v) = args.get('m') {
        config.consume_from_min_enable = java_bool(&v);
    }
    if let Some(v) = args.get('d') {
        config.consume_broadcast_enable = java_bool(&v);
    }
    if let Some(v) = number(args, 'q')? {
        config.retry_queue_nums = v;
    }
    if let Some(v) = number(args, 'r')? {
        config.retry_max_times = v;
    }
    if let Some(v) = number(args, 'i')? {
        config.broker_id = v;
    }
    if let Some(v) = number(args, 'w')? {
        config.which_broker_when_consume_slowly = v;
    }
    if let Some(v) = args.get('a') {
        config.notify_consumer_ids_changed_enable = java_bool(&v);
    }
    if let Some(v) = args.get('o') {
        config.consume_message_orderly = java_bool(&v);
    }
    if let Some(addr) = args.get('b') {
        ctx.admin.create_group(&addr, &config).await.at(&addr)?;
        println!("create subscription group to {addr} success.");
        print!("{}", group_config_text(&config));
        return Ok(());
    }
    let cluster = args.get('c').ok_or_else(|| anyhow!("give -b <broker address> or -c <cluster name>"))?;
    let mut failed = None;
    for addr in ctx.masters_of_cluster(&cluster).await? {
        match ctx.admin.create_group(&addr, &config).await {
            Ok(()) => println!("create subscription group to {addr} success."),
            Err(e) => {
                eprintln!("create subscription group to {addr} failed: {e}");
                failed = Some(anyhow!("creating the group on {addr} failed: {e}"));
            }
        }
    }
    print!("{}", group_config_text(&config));
    failed.map_or(Ok(()), Err)
}

/// `setConsumeMode`: PULL or POP for a group on a topic (Java 5's
/// `SetConsumeModeSubCommand`), on one broker or every master of a cluster.
pub async fn set_consume_mode(ctx: &Ctx, args: &Args) -> Result<()> {
    use rmq_protocol::body::assignment::{MessageRequestMode, SetMessageRequestModeRequestBody};
    let mode = match args.req('m').to_ascii_uppercase().as_str() {
        "PULL" => MessageRequestMode::Pull,
        "POP" => MessageRequestMode::Pop,
        other => return Err(anyhow!("mode must be PULL or POP, not {other}")),
    };
    let body = SetMessageRequestModeRequestBody {
        topic: args.req('t'),
        consumer_group: args.req('g'),
        mode,
        pop_share_queue_num: number(args, 'q')?.unwrap_or(0),
    };
    let brokers = match args.get('b') {
        Some(addr) => vec![addr],
        None => ctx.masters_of_cluster(&args.req('c')).await?,
    };
    for addr in brokers {
        ctx.admin.set_message_request_mode(&addr, &body).await.at(&addr)?;
        println!("set consume mode to {addr} success.");
    }
    println!(
        "topic[{}] group[{}] consume mode[{}] popShareQueueNum[{}]",
        body.topic,
        body.consumer_group,
        args.req('m').to_ascii_uppercase(),
        body.pop_share_queue_num
    );
    Ok(())
}

pub async fn delete_sub_group(ctx: &Ctx, args: &Args) -> Result<()> {
    let group = args.req('g');
    let remove_offset = args.get('r').is_some_and(|r| java_bool(&r));
    if let Some(addr) = args.get('b') {
        ctx.admin.delete_group(&addr, &group, remove_offset).await.at(&addr)?;
        println!("delete subscription group [{group}] from broker [{addr}] success.");
        return Ok(());
    }
    let cluster = args.get('c').ok_or_else(|| anyhow!("give -b <broker address> or -c <cluster name>"))?;
    for master in ctx.masters_of_cluster(&cluster).await? {
        ctx.admin.delete_group(&master, &group, remove_offset).await.at(&master)?;
        println!("delete subscription group [{group}] from broker [{master}] in cluster [{cluster}] success.");
    }
    for topic in [topics::retry_topic(&group), topics::dlq_topic(&group)] {
        if let Err(e) = delete_topic_in_cluster(ctx, &cluster, &topic).await {
            eprintln!("deleting {topic} failed: {e}");
        }
    }
    Ok(())
}

/// Which client (its IP) consumes each queue, from the clients' running info.
async fn allocation(ctx: &Ctx, group: &str) -> BTreeMap<MessageQueue, String> {
    let mut out = BTreeMap::new();
    let Ok(addr) = ctx.group_broker(group, None).await else { return out };
    let Ok(conn) = ctx.consumer_connection(group, Some(&addr)).await else { return out };
    for c in &conn.connection_set {
        let Ok(info) = running_info(ctx, &addr, group, &c.client_id, false).await else { continue };
        let ip = c.client_id.split('@').next().unwrap_or_default().to_owned();
        out.extend(info.mq_table.into_keys().map(|mq| (mq, ip.clone())));
    }
    out
}

pub async fn consumer_progress(ctx: &Ctx, args: &Args) -> Result<()> {
    let show_ip = args.get('s').is_some_and(|s| s.eq_ignore_ascii_case("true"));
    let Some(group) = args.get('g') else { return all_groups_progress(ctx).await };
    let stats = ctx.consume_stats(&group, None).await?;
    let clients = if show_ip { allocation(ctx, &group).await } else { BTreeMap::new() };
    if show_ip {
        println!(
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20}  {}",
            "#Topic", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Client IP", "#Diff", "#LastTime"
        );
    } else {
        println!(
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20}  {}",
            "#Topic", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Diff", "#LastTime"
        );
    }
    let mut diff_total = 0i64;
    for (mq, w) in &stats.offset_table {
        let diff = w.broker_offset - w.consumer_offset;
        diff_total += diff;
        let last = if w.last_timestamp == 0 { "N/A".to_owned() } else { date_time(w.last_timestamp) };
        let (topic, broker) = (front(&mq.topic, 64), front(&mq.broker_name, 32));
        if show_ip {
            let ip = clients.get(mq).map_or("N/A", String::as_str);
            println!(
                "{topic:<64}  {broker:<32}  {:<4}  {:<20}  {:<20}  {ip:<20} {diff:<20}  {last}",
                mq.queue_id, w.broker_offset, w.consumer_offset
            );
        } else {
            println!(
                "{topic:<64}  {broker:<32}  {:<4}  {:<20}  {:<20}  {diff:<20}  {last}",
                mq.queue_id, w.broker_offset, w.consumer_offset
            );
        }
    }
    println!();
    println!("Consume TPS: {:.2}", stats.consume_tps);
    println!("Diff Total: {diff_total}");
    // 5.x POP groups: messages popped and not acked yet (4.x's layout above is kept).
    let inflight: i64 = stats.offset_table.values().map(|w| (w.pull_offset - w.consumer_offset).max(0)).sum();
    if inflight > 0 {
        println!("Inflight Total: {inflight}");
    }
    Ok(())
}

/// `consumerProgress` without `-g`: one line per group (every `%RETRY%` topic).
async fn all_groups_progress(ctx: &Ctx) -> Result<()> {
    println!(
        "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {}",
        "#Group", "#Count", "#Version", "#Type", "#Model", "#TPS", "#Diff Total"
    );
    let list = ctx.admin.topic_list().await?;
    for topic in &list.topic_list {
        let Some(group) = topic.strip_prefix(topics::RETRY_GROUP_TOPIC_PREFIX) else { continue };
        let stats = ctx.consume_stats(group, None).await.ok();
        let conn = ctx.consumer_connection(group, None).await.ok();
        let count = conn.as_ref().map_or(0, |c| c.connection_set.len());
        let (version, kind, model) = match &conn {
            Some(c) if count > 0 => {
                let min = c.connection_set.iter().map(|x| x.version).min().unwrap_or(0);
                let kind = if c.consume_type == ConsumeType::ConsumeActively { "PULL" } else { "PUSH" };
                let model = if c.consume_type == ConsumeType::ConsumePassively {
                    match c.message_model {
                        MessageModel::Clustering => "CLUSTERING",
                        MessageModel::Broadcasting => "BROADCASTING",
                    }
                } else {
                    ""
                };
                (version_desc(min), kind, model)
            }
            _ => ("OFFLINE".to_owned(), "", ""),
        };
        let tps = stats.as_ref().map_or(0, |s| s.consume_tps as i32);
        let diff = stats.as_ref().map_or(0, |s| s.total_diff());
        println!("{:<64}  {count:<6}  {version:<24} {kind:<5}  {model:<14}  {tps:<7}  {diff}", front(group, 64));
    }
    Ok(())
}

pub async fn consumer_connection(ctx: &Ctx, args: &Args) -> Result<()> {
    let broker = args.get('b');
    let cc = ctx.consumer_connection(&args.req('g'), broker.as_deref()).await?;
    println!("{:<36} {:<22} {:<10} {}", "#ClientId", "#ClientAddr", "#Language", "#Version");
    for c in &cc.connection_set {
        println!("{:<36} {:<22} {:<10} {}", c.client_id, c.client_addr, c.language, version_desc(c.version));
    }
    println!();
    println!("Below is subscription:");
    println!("{:<20} {}", "#Topic", "#SubExpression");
    for sub in cc.subscription_table.values() {
        println!("{:<20} {}", sub.topic, sub.sub_string);
    }
    println!();
    println!("ConsumeType: {}", cc.consume_type.as_str());
    println!("MessageModel: {}", cc.message_model.as_str());
    println!("ConsumeFromWhere: {}", cc.consume_from_where.as_str());
    Ok(())
}

/// One client's running info, relayed by the broker at `addr`.
async fn running_info(ctx: &Ctx, addr: &str, group: &str, client_id: &str, jstack: bool) -> Result<RunningInfo> {
    let text = ctx.admin.consumer_running_info(addr, group, client_id, jstack).await.at(addr)?;
    RunningInfo::parse(&text).with_context(|| format!("the running info of {client_id} is malformed"))
}

/// `consumerStatus`: the running info of one client (`-i`), or of every
/// client of the group, each saved to `<now-ms>/<clientId>` (relative to the
/// working directory, as Java writes it) with a check of the group as a whole.
pub async fn consumer_status(ctx: &Ctx, args: &Args) -> Result<()> {
    let group = args.req('g');
    let addr = ctx.group_broker(&group, args.get('b').as_deref()).await?;
    let conn = ctx.consumer_connection(&group, Some(&addr)).await?;
    let jstack = args.has('s');
    if let Some(client_id) = args.get('i') {
        let info = running_info(ctx, &addr, &group, &client_id, jstack).await?;
        print!("{}", info.format_string());
        return Ok(());
    }
    let now = now_ms();
    let by_client = save_each_client(ctx, &addr, &group, &conn, jstack, now).await;
    print_group_analysis(&by_client, now);
    Ok(())
}

/// Asks every client of the connection list for its running info, saves
/// each to a file and lists it. A client that fails is named on stderr and
/// skipped (Java prints the stack trace and goes on).
async fn save_each_client(
    ctx: &Ctx,
    addr: &str,
    group: &str,
    conn: &ConsumerConnection,
    jstack: bool,
    now: i64,
) -> BTreeMap<String, RunningInfo> {
    println!("{:<10} {:<40} {:<20} {}", "#Index", "#ClientId", "#Version", "#ConsumerRunningInfoFile");
    let mut by_client = BTreeMap::new();
    let mut index = 1;
    for c in &conn.connection_set {
        let info = match running_info(ctx, addr, group, &c.client_id, jstack).await {
            Ok(info) => info,
            Err(e) => {
                eprintln!("getting the running info of {} failed: {e:#}", c.client_id);
                continue;
            }
        };
        let path = format!("{now}/{}", c.client_id);
        let saved = save(&path, &info.format_string());
        // As Java, a client whose file could not be written is still analyzed.
        by_client.insert(c.client_id.clone(), info);
        if let Err(e) = saved {
            eprintln!("writing {path} failed: {e}");
            continue;
        }
        println!("{index:<10} {:<40} {:<20} {path}", c.client_id, version_desc(c.version));
        index += 1;
    }
    by_client
}

/// `MixAll.string2FileNotSafe`: the file and its missing parent directories.
fn save(path: &str, text: &str) -> std::io::Result<()> {
    if let Some(parent) = std::path::Path::new(path).parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

/// The lines Java's `consumerStatus` prints after the table: whether the
/// clients subscribe alike and, if so, which of their queues look stuck.
fn print_group_analysis(by_client: &BTreeMap<String, RunningInfo>, now: i64) {
    if by_client.is_empty() {
        return;
    }
    if !same_subscription(by_client, now) {
        print!("\n\nWARN: Different subscription in the same group of consumer!!!");
        return;
    }
    print!("\n\nSame subscription in the same group of consumer");
    // Java's analyzeRebalance checks nothing yet: the same subscription is OK.
    print!("\n\nRebalance {}\n", "OK");
    for (client_id, info) in by_client {
        print!("{}", stuck_queues(client_id, info, now));
    }
}

pub async fn producer_connection(ctx: &Ctx, args: &Args) -> Result<()> {
    let (group, topic) = (args.req('g'), args.req('t'));
    let addr = ctx
        .route_addrs(&topic)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("Not found the producer group connection"))?;
    let pc = ctx.admin.producer_connection(&addr, &group).await.at(&addr)?;
    if pc.connection_set.is_empty() {
        return Err(anyhow!("Not found the producer group connection"));
    }
    for (i, c) in pc.connection_set.iter().enumerate() {
        println!(
            "{:04}  {:<32} {:<22} {:<8} {}",
            i + 1,
            c.client_id,
            c.client_addr,
            c.language,
            version_desc(c.version)
        );
    }
    Ok(())
}

pub async fn clone_group_offset(ctx: &Ctx, args: &Args) -> Result<()> {
    let (src, dest, topic) = (args.req('s'), args.req('d'), args.req('t'));
    let offline = args.get('o').is_some_and(|o| java_bool(&o));
    for addr in ctx.route_addrs(&topics::retry_topic(&src)).await? {
        ctx.admin.clone_group_offset(&addr, &src, &dest, Some(&topic), offline).await.at(&addr)?;
    }
    print!("clone group offset success. srcGroup[{src}], destGroup=[{dest}], topic[{topic}]");
    Ok(())
}

pub async fn reset_offset_by_time(ctx: &Ctx, args: &Args) -> Result<()> {
    let (group, topic, text) = (args.req('g'), args.req('t'), args.req('s'));
    let timestamp = if text == "now" {
        -1
    } else {
        parse_timestamp(&text)
            .ok_or_else(|| anyhow!("the timestamp '{text}' is neither milliseconds nor yyyy-MM-dd#HH:mm:ss:SSS"))?
    };
    let force = args.get('f').is_none_or(|f| java_bool(&f));
    let mut table: BTreeMap<MessageQueue, i64> = BTreeMap::new();
    for addr in ctx.route_addrs(&topic).await? {
        match ctx.admin.reset_offset(&addr, &topic, &group, timestamp, force).await.at(&addr) {
            Ok(body) => table.extend(body.offset_table),
            Err(e) if is_not_online(&e) => return reset_offset_old(ctx, &group, &topic, timestamp, force, &text).await,
            Err(e) => return Err(e),
        }
    }
    println!(
        "rollback consumer offset by specified group[{group}], topic[{topic}], force[{force}], timestamp(string)[{text}], timestamp(long)[{timestamp}]"
    );
    println!("{:<40}  {:<40}  {:<40}", "#brokerName", "#queueId", "#offset");
    for (mq, offset) in &table {
        println!("{:<40}  {:<40}  {:<40}", front(&mq.broker_name, 32), mq.queue_id, offset);
    }
    Ok(())
}

/// The offline fallback (`ResetOffsetByTimeOldCommand`): offsets are
/// searched and committed by the tool itself.
async fn reset_offset_old(ctx: &Ctx, group: &str, topic: &str, timestamp: i64, force: bool, text: &str) -> Result<()> {
    let stats = ctx.consume_stats(group, None).await?;
    let consumer = rmq_client::PullConsumer::new(ctx.client.clone(), group);
    let mut rows = Vec::new();
    for (mq, w) in Ctx::queues_of(&stats.offset_table, topic) {
        let target = if timestamp == -1 {
            consumer.max_offset(mq).await?
        } else {
            consumer.search_offset(mq, timestamp).await?
        };
        let mut rollback = w.consumer_offset;
        if force || target <= w.consumer_offset {
            rollback = target;
            consumer.commit_offset(mq, target).await?;
        }
        rows.push((mq.clone(), w.broker_offset, w.consumer_offset, target, rollback));
    }
    println!(
        "rollback consumer offset by specified consumerGroup[{group}], topic[{topic}], force[{force}], timestamp(string)[{text}], timestamp(long)[{timestamp}]"
    );
    println!(
        "{:<20}  {:<20}  {:<20}  {:<20}  {:<20}  {:<20}",
        "#brokerName", "#queueId", "#brokerOffset", "#consumerOffset", "#timestampOffset", "#rollbackOffset"
    );
    for (mq, broker, consumer, target, rollback) in rows {
        println!(
            "{:<20}  {:<20}  {:<20}  {:<20}  {:<20}  {:<20}",
            front(&mq.broker_name, 32),
            mq.queue_id,
            broker,
            consumer,
            target,
            rollback
        );
    }
    Ok(())
}
