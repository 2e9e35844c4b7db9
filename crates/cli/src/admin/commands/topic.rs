//! Topic sub-commands: `updateTopic`, `deleteTopic`, `topicRoute`,
//! `topicStatus`, `topicClusterList`, `topicList`, `updateOrderConf`.

use anyhow::{Result, anyhow};
use rmq_model::{TopicConfig, perm, sysflag, topic as topics};
use std::collections::BTreeSet;

use super::number;
use crate::admin::format::{front, human_time, java_bool, route_pretty};
use crate::admin::options::Args;
use crate::admin::{AtBroker, Ctx};

/// The KV namespace of ordered topics' queue layouts (`NamesrvUtil`).
const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// Java's `TopicConfig.toString`.
fn topic_config_text(c: &TopicConfig) -> String {
    format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, topicFilterType={}, topicSysFlag={}, order={}]",
        c.topic_name,
        c.read_queue_nums,
        c.write_queue_nums,
        perm::to_display(c.perm),
        c.topic_filter_type.as_str(),
        c.topic_sys_flag,
        c.order
    )
}

/// Java's `createOrUpdateOrderConf`: cluster-wide replaces the topic's
/// layout; per broker merges this broker's entry into the existing one.
async fn put_order_conf(ctx: &Ctx, topic: &str, conf: &str, cluster_wide: bool) -> Result<()> {
    if cluster_wide {
        return Ok(ctx.admin.put_kv(ORDER_TOPIC_CONFIG, topic, conf).await?);
    }
    let old = ctx.admin.get_kv(ORDER_TOPIC_CONFIG, topic).await?.unwrap_or_default();
    let name = conf.split(':').next().unwrap_or_default();
    let mut entries: Vec<String> =
        old.split(';').filter(|e| !e.is_empty() && e.split(':').next() != Some(name)).map(str::to_owned).collect();
    entries.push(conf.to_owned());
    Ok(ctx.admin.put_kv(ORDER_TOPIC_CONFIG, topic, &entries.join(";")).await?)
}

pub async fn update_topic(ctx: &Ctx, args: &Args) -> Result<()> {
    let mut config = TopicConfig::new(args.req('t'), 8);
    if let Some(r) = number(args, 'r')? {
        config.read_queue_nums = r;
    }
    if let Some(w) = number(args, 'w')? {
        config.write_queue_nums = w;
    }
    if let Some(p) = number(args, 'p')? {
        config.perm = p;
    }
    let unit = args.get('u').is_some_and(|u| java_bool(&u));
    let unit_sub = args.get('s').is_some_and(|s| java_bool(&s));
    config.topic_sys_flag =
        if unit { sysflag::topic::UNIT } else { 0 } | if unit_sub { sysflag::topic::UNIT_SUB } else { 0 };
    config.order = args.get('o').is_some_and(|o| java_bool(&o));
    let attributes = args.get('a').filter(|a| !a.trim().is_empty());
    if let Some(addr) = args.get('b') {
        ctx.admin.create_topic_with_attributes(&addr, &config, attributes.clone()).await.at(&addr)?;
        if config.order {
            let name = ctx.broker_name_of(&addr).await?;
            let conf = format!("{name}:{}", config.write_queue_nums);
            put_order_conf(ctx, &config.topic_name, &conf, false).await?;
            print!("set broker orderConf. isOrder={}, orderConf=[{conf}]", config.order);
        }
        println!("create topic to {addr} success.");
        print!("{}", topic_config_text(&config));
        return Ok(());
    }
    let cluster = args.req('c');
    for addr in ctx.masters_of_cluster(&cluster).await? {
        ctx.admin.create_topic_with_attributes(&addr, &config, attributes.clone()).await.at(&addr)?;
        println!("create topic to {addr} success.");
    }
    if config.order {
        let info = ctx.cluster_info().await?;
        let names = info.cluster_addr_table.get(&cluster).cloned().unwrap_or_default();
        let conf: Vec<String> = names.iter().map(|n| format!("{n}:{}", config.write_queue_nums)).collect();
        let conf = conf.join(";");
        put_order_conf(ctx, &config.topic_name, &conf, true).await?;
        print!("set cluster orderConf. isOrder={}, orderConf=[{conf}]", config.order);
    }
    print!("{}", topic_config_text(&config));
    Ok(())
}

/// Java's `UpdateTopicPermSubCommand`: the topic's queue counts and flags as
/// its route has them, with the new permission, on one master (`-b`, which
/// must be a master serving the topic) or on every master of a cluster.
pub async fn update_topic_perm(ctx: &Ctx, args: &Args) -> Result<()> {
    let topic = args.req('t');
    let perm: u32 = number(args, 'p')?.unwrap_or_default();
    let route = ctx.client.fetch_route(&topic).await?;
    let first = route.queue_datas.first().ok_or_else(|| anyhow!("the route of {topic} has no queues"))?;
    let mut config = TopicConfig::new(topic.clone(), first.write_queue_nums);
    config.read_queue_nums = first.read_queue_nums;
    config.topic_sys_flag = first.topic_sys_flag;
    config.perm = perm;
    if let Some(addr) = args.get('b') {
        let master = route.broker_datas.iter().find(|b| b.broker_addrs.get(&0) == Some(&addr));
        let Some(master) = master else {
            return Err(anyhow!("updateTopicPerm error broker not exit or broker is not master!."));
        };
        let old = route.queue_datas.iter().find(|q| q.broker_name == master.broker_name).map_or(0, |q| q.perm);
        if old == perm {
            print!("new perm equals to the old one!\n");
            return Ok(());
        }
        ctx.admin.create_topic(&addr, &config).await.at(&addr)?;
        print!("update topic perm from {old} to {perm} in {addr} success.\n");
        print!("{}.\n", topic_config_text(&config));
        return Ok(());
    }
    for addr in ctx.masters_of_cluster(&args.req('c')).await? {
        ctx.admin.create_topic(&addr, &config).await.at(&addr)?;
        print!("update topic perm from {} to {perm} in {addr} success.\n", first.perm);
    }
    Ok(())
}

/// Java's `DeleteTopicSubCommand.deleteTopic`, also used by `deleteSubGroup`.
pub async fn delete_topic_in_cluster(ctx: &Ctx, cluster: &str, topic: &str) -> Result<()> {
    for addr in ctx.masters_of_cluster(cluster).await? {
        ctx.admin.delete_topic_in_broker(&addr, topic).await.at(&addr)?;
    }
    println!("delete topic [{topic}] from cluster [{cluster}] success.");
    ctx.admin.delete_topic_in_namesrv(topic, Some(cluster)).await?;
    println!("delete topic [{topic}] from NameServer success.");
    Ok(())
}

pub async fn delete_topic(ctx: &Ctx, args: &Args) -> Result<()> {
    delete_topic_in_cluster(ctx, &args.req('c'), &args.req('t')).await
}

pub async fn topic_route(ctx: &Ctx, args: &Args) -> Result<()> {
    let topic = args.req('t');
    let route = ctx.client.fetch_route(&topic).await?;
    if !args.has('l') {
        println!("{}", route_pretty(&route));
        return Ok(());
    }
    let row = |a: &str, b: &str, c: &str, d: &str, e: &str, f: &str| {
        println!("{a:<45} {b:<32} {c:<50} {d:<10} {e:<11} {f:<5}")
    };
    row("#ClusterName", "#BrokerName", "#BrokerAddrs", "#ReadQueue", "#WriteQueue", "#Perm");
    let mut brokers = route.broker_datas.clone();
    brokers.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
    let (mut reads, mut writes) = (0u32, 0u32);
    let names: BTreeSet<&str> = route.queue_datas.iter().map(|q| q.broker_name.as_str()).collect();
    for b in &brokers {
        let Some(q) = route.queue_datas.iter().find(|q| q.broker_name == b.broker_name) else { continue };
        reads += q.read_queue_nums;
        writes += q.write_queue_nums;
        let addrs: Vec<String> = b.broker_addrs.iter().map(|(id, addr)| format!("{id}={addr}")).collect();
        let addrs = format!("{{{}}}", addrs.join(", "));
        row(
            &b.cluster,
            &b.broker_name,
            &addrs,
            &q.read_queue_nums.to_string(),
            &q.write_queue_nums.to_string(),
            &q.perm.to_string(),
        );
    }
    println!("{}", "-".repeat(158));
    row("Total:", &names.len().to_string(), "", &reads.to_string(), &writes.to_string(), "");
    Ok(())
}

pub async fn topic_status(ctx: &Ctx, args: &Args) -> Result<()> {
    let table = ctx.topic_stats(&args.req('t')).await?;
    println!(
        "{:<32}  {:<4}  {:<20}  {:<20}    {}",
        "#Broker Name", "#QID", "#Min Offset", "#Max Offset", "#Last Updated"
    );
    for (mq, offsets) in &table.offset_table {
        let last =
            if offsets.last_update_timestamp > 0 { human_time(offsets.last_update_timestamp) } else { String::new() };
        println!(
            "{:<32}  {:<4}  {:<20}  {:<20}    {}",
            front(&mq.broker_name, 32),
            mq.queue_id,
            offsets.min_offset,
            offsets.max_offset,
            last
        );
    }
    Ok(())
}

/// The clusters whose broker groups host the topic.
async fn clusters_of_topic(ctx: &Ctx, topic: &str) -> Result<BTreeSet<String>> {
    let route = ctx.route(topic).await?;
    let info = ctx.cluster_info().await?;
    Ok(route
        .data
        .broker_datas
        .iter()
        .filter_map(|b| info.cluster_addr_table.iter().find(|(_, names)| names.contains(&b.broker_name)))
        .map(|(cluster, _)| cluster.clone())
        .collect())
}

pub async fn topic_cluster_list(ctx: &Ctx, args: &Args) -> Result<()> {
    for cluster in clusters_of_topic(ctx, &args.req('t')).await? {
        println!("{cluster}");
    }
    Ok(())
}

pub async fn topic_list(ctx: &Ctx, args: &Args) -> Result<()> {
    let list = ctx.admin.topic_list().await?;
    if !args.has('c') {
        for topic in &list.topic_list {
            println!("{topic}");
        }
        return Ok(());
    }
    println!("{:<20}  {:<48}  {:<48}", "#Cluster Name", "#Topic", "#Consumer Group");
    for topic in &list.topic_list {
        if topics::is_retry_topic(topic) || topics::is_dlq_topic(topic) {
            continue;
        }
        let cluster = clusters_of_topic(ctx, topic).await.ok().and_then(|c| c.into_iter().next()).unwrap_or_default();
        let mut groups: Vec<String> = Vec::new();
        if let Some(addr) = ctx.route_addrs(topic).await.ok().and_then(|a| a.into_iter().next())
            && let Ok(list) = ctx.admin.topic_consumed_by(&addr, topic).await
        {
            groups = list.group_list.into_iter().collect();
        }
        if groups.is_empty() {
            groups.push(String::new());
        }
        for group in groups {
            println!("{:<20}  {:<64}  {:<64}", front(&cluster, 20), front(topic, 64), front(&group, 64));
        }
    }
    Ok(())
}

pub async fn update_order_conf(ctx: &Ctx, args: &Args) -> Result<()> {
    let topic = args.req('t');
    match args.req('m').as_str() {
        "get" => {
            let conf = ctx
                .admin
                .get_kv(ORDER_TOPIC_CONFIG, &topic)
                .await?
                .ok_or_else(|| anyhow!("No config item, Namespace: {ORDER_TOPIC_CONFIG} Key: {topic}"))?;
            print!("get orderConf success. topic=[{topic}], orderConf=[{conf}] ");
        }
        "put" => {
            let conf = args.get('v').unwrap_or_default();
            if conf.trim().is_empty() {
                return Err(anyhow!("please set orderConf with option -v."));
            }
            put_order_conf(ctx, &topic, &conf, true).await?;
            print!("update orderConf success. topic=[{topic}], orderConf=[{conf}]");
        }
        "delete" => {
            ctx.admin.delete_kv(ORDER_TOPIC_CONFIG, &topic).await?;
            print!("delete orderConf success. topic=[{topic}]");
        }
        other => return Err(anyhow!("unknown method '{other}' for -m: use put, get or delete")),
    }
    Ok(())
}
