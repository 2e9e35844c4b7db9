//! Broker sub-commands: `brokerStatus`, `brokerConsumeStats`, `getBrokerConfig`,
//! `updateBrokerConfig`, and the store maintenance ones (`cleanExpiredCQ`,
//! `deleteExpiredCommitLog`, `cleanUnusedTopic`).

use anyhow::{Result, anyhow};
use rmq_protocol::RequestCode;
use rmq_protocol::body::route::MASTER_ID;
use std::time::Duration;

use super::number;
use crate::admin::format::{date_time, front, java_bool};

use crate::admin::options::Args;
use crate::admin::{AtBroker, Ctx, NO_CLUSTER};

fn b_or_c(args: &Args) -> Result<(Option<String>, Option<String>)> {
    let (b, c) = (args.get('b'), args.get('c'));
    if b.is_none() && c.is_none() {
        return Err(anyhow!("give -b <broker address> or -c <cluster name>"));
    }
    Ok((b, c))
}

/// Java's `BrokerConsumeStatsSubCommad`: every group's queues on one broker
/// whose lag is at least `-l`, with the broker's total lag.
pub async fn broker_consume_stats(ctx: &Ctx, args: &Args) -> Result<()> {
    let addr = args.req('b');
    let is_order = args.get('o').is_some_and(|o| java_bool(&o));
    let timeout_ms: u64 = number(args, 't')?.unwrap_or(50_000);
    let level: i64 = number(args, 'l')?.unwrap_or(0);
    let list = ctx.admin.broker_consume_stats(&addr, is_order, Duration::from_millis(timeout_ms)).await.at(&addr)?;
    println!(
        "{:<64}  {:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20}  {}",
        "#Topic", "#Group", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Diff", "#LastTime"
    );
    for groups in &list.consume_stats_list {
        for (group, stats) in groups {
            for stat in stats {
                // The offset table is keyed and sorted by queue, as Java sorts it.
                for (mq, o) in &stat.offset_table {
                    let diff = o.broker_offset - o.consumer_offset;
                    if diff < level || o.last_timestamp <= 0 {
                        continue;
                    }
                    println!(
                        "{:<64}  {:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20}  {}",
                        front(&mq.topic, 64),
                        group,
                        front(&mq.broker_name, 32),
                        mq.queue_id,
                        o.broker_offset,
                        o.consumer_offset,
                        diff,
                        date_time(o.last_timestamp)
                    );
                }
            }
        }
    }
    print!("\nDiff Total: {}\n", list.total_diff);
    Ok(())
}

pub async fn broker_status(ctx: &Ctx, args: &Args) -> Result<()> {
    let (broker, cluster) = b_or_c(args)?;
    if let Some(addr) = broker {
        for (key, value) in ctx.admin.runtime_info(&addr).await.at(&addr)? {
            println!("{key:<32}: {value}");
        }
        return Ok(());
    }
    let mut failed = None;
    for addr in ctx.addrs_of_cluster(&cluster.unwrap_or_default()).await? {
        match ctx.admin.runtime_info(&addr).await {
            Ok(table) => table.iter().for_each(|(key, value)| println!("{addr:<24} {key:<32}: {value}")),
            Err(e) => {
                eprintln!("brokerStatus: {addr}: {e}");
                failed = Some(anyhow!("broker {addr}: {e}"));
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

/// `key=value` lines in the order the broker sent them.
fn config_lines(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(|l| l.split_once('=').unwrap_or((l, "")))
}

async fn print_config(ctx: &Ctx, title: &str, addr: &str) -> Result<()> {
    print!("{title}");
    let text = ctx.admin.broker_config(addr).await.at(addr)?;
    if text.trim().is_empty() {
        print!("Broker[{addr}] has no config property!\n");
        return Ok(());
    }
    for (key, value) in config_lines(&text) {
        print!("{key:<50}=  {value}\n");
    }
    println!();
    Ok(())
}

pub async fn get_broker_config(ctx: &Ctx, args: &Args) -> Result<()> {
    let (broker, cluster) = b_or_c(args)?;
    if let Some(addr) = broker {
        return print_config(ctx, &format!("============{addr}============\n"), &addr).await;
    }
    let cluster = cluster.unwrap_or_default();
    let info = ctx.cluster_info().await?;
    let names = info.cluster_addr_table.get(&cluster).ok_or_else(|| anyhow!("[error] {NO_CLUSTER}"))?;
    for name in names {
        let Some(group) = info.broker_addr_table.get(name) else { continue };
        let Some(master) = group.broker_addrs.get(&MASTER_ID) else { continue };
        print_config(ctx, &format!("============Master: {master}============\n"), master).await?;
        for (_, slave) in group.broker_addrs.iter().filter(|(id, _)| **id != MASTER_ID) {
            print_config(ctx, &format!("============My Master: {master}=====Slave: {slave}============\n"), slave)
                .await?;
        }
    }
    Ok(())
}

pub async fn update_broker_config(ctx: &Ctx, args: &Args) -> Result<()> {
    let properties = format!("{}={}\n", args.req('k'), args.req('v'));
    if let Some(addr) = args.get('b') {
        ctx.admin.update_broker_config(&addr, &properties).await.at(&addr)?;
        print!("update broker config success, {addr}\n");
        return Ok(());
    }
    let cluster = args.get('c').ok_or_else(|| anyhow!("give -b <broker address> or -c <cluster name>"))?;
    let mut failed = None;
    for addr in ctx.masters_of_cluster(&cluster).await? {
        match ctx.admin.update_broker_config(&addr, &properties).await {
            Ok(()) => print!("update broker config success, {addr}\n"),
            Err(e) => {
                eprintln!("updateBrokerConfig: {addr}: {e}");
                failed = Some(anyhow!("broker {addr}: {e}"));
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

/// `cleanExpiredCQ`, `deleteExpiredCommitLog`, `cleanUnusedTopic`: one
/// request to a broker, or to every broker of a cluster (all clusters when
/// neither is given); prints `success` or `false` as Java does.
pub async fn maintenance(ctx: &Ctx, args: &Args, code: RequestCode) -> Result<()> {
    let addrs = match (args.get('b'), args.get('c')) {
        (Some(addr), _) => vec![addr],
        (None, Some(cluster)) => ctx.addrs_of_cluster(&cluster).await?,
        (None, None) => {
            let info = ctx.cluster_info().await?;
            info.broker_addr_table.values().flat_map(|b| b.broker_addrs.values().cloned()).collect()
        }
    };
    let mut result = false;
    for addr in &addrs {
        result = match ctx.admin.broker_command(addr, code).await {
            Ok(_) => true,
            Err(e) => {
                eprintln!("{addr}: {e}");
                false
            }
        };
    }
    print!("{}", if result { "success" } else { "false" });
    if result { Ok(()) } else { Err(anyhow!("the broker did not do it")) }
}
