//! `statsAll`: per topic and consumer group, the backlog and the rates and
//! day totals the masters keep (`TOPIC_PUT_NUMS`, `GROUP_GET_NUMS`), in
//! Java's columns. Failures of one broker or group are skipped, as in Java,
//! so one unreachable broker does not hide the rest.

use anyhow::Result;
use rmq_model::topic as topics;
use rmq_protocol::body::admin::BrokerStatsData;

use crate::admin::Ctx;
use crate::admin::format::front;
use crate::admin::options::Args;

/// Java's `compute24HourSum`: the day's sum, else the hour's, else the minute's.
fn day_sum(data: &BrokerStatsData) -> i64 {
    [data.stats_day.sum, data.stats_hour.sum, data.stats_minute.sum].into_iter().find(|&s| s != 0).unwrap_or(0)
}

/// Sums one statistic over the masters: (tps over the last minute, day total).
async fn over_masters(ctx: &Ctx, masters: &[String], name: &str, key: &str) -> (f64, i64) {
    let (mut tps, mut sum) = (0.0, 0);
    for addr in masters {
        if let Ok(data) = ctx.admin.broker_stats_data(addr, name, key).await {
            tps += data.stats_minute.tps;
            sum += day_sum(&data);
        }
    }
    (tps, sum)
}

/// The group's messages not yet consumed on the topic's masters (Java asks
/// the masters of the group's retry topic, which a group that only committed
/// offsets does not have yet).
async fn backlog(ctx: &Ctx, masters: &[String], group: &str, topic: &str) -> i64 {
    let mut total = 0;
    for addr in masters {
        if let Ok(stats) = ctx.admin.consume_stats(addr, group, Some(topic)).await {
            total += stats.total_diff();
        }
    }
    total.max(0)
}

pub async fn stats_all(ctx: &Ctx, args: &Args) -> Result<()> {
    let active_only = args.has('a');
    let selected = args.get('t').filter(|t| !t.is_empty());
    let topic_list = ctx.admin.topic_list().await?;
    println!(
        "{:<64}  {:<64} {:>12} {:>11} {:>11} {:>14} {:>14}",
        "#Topic", "#Consumer Group", "#Accumulation", "#InTPS", "#OutTPS", "#InMsg24Hour", "#OutMsg24Hour"
    );
    for topic in &topic_list.topic_list {
        if topic.starts_with(topics::RETRY_GROUP_TOPIC_PREFIX) || topic.starts_with(topics::DLQ_GROUP_TOPIC_PREFIX) {
            continue;
        }
        if selected.as_ref().is_some_and(|t| t != topic) {
            continue;
        }
        let Ok(route) = ctx.route(topic).await else { continue };
        let masters: Vec<String> =
            route.data.broker_datas.iter().filter_map(|b| b.broker_addrs.get(&0).cloned()).collect();
        let (in_tps, in_day) = over_masters(ctx, &masters, "TOPIC_PUT_NUMS", topic).await;
        let mut groups = std::collections::BTreeSet::new();
        for addr in &masters {
            if let Ok(list) = ctx.admin.topic_consumed_by(addr, topic).await {
                groups.extend(list.group_list);
            }
        }
        let shown = front(topic, 64);
        if groups.is_empty() {
            if !active_only || in_day > 0 {
                println!(
                    "{shown:<64}  {:<64} {:>12} {in_tps:>11.2} {:>11} {in_day:>14} {:>14}",
                    "", 0, "", "NO_CONSUMER"
                );
            }
            continue;
        }
        for group in &groups {
            let key = format!("{topic}@{group}");
            let (out_tps, out_day) = over_masters(ctx, &masters, "GROUP_GET_NUMS", &key).await;
            let backlog = backlog(ctx, &masters, group, topic).await;
            if !active_only || in_day > 0 || out_day > 0 {
                println!(
                    "{shown:<64}  {:<64} {backlog:>12} {in_tps:>11.2} {out_tps:>11.2} {in_day:>14} {out_day:>14}",
                    front(group, 64)
                );
            }
        }
    }
    Ok(())
}
