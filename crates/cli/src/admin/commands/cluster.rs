//! `clusterList` and `clusterRT` (4.9.8 `ClusterListSubCommand`,
//! `CLusterSendMsgRTCommand`).

use anyhow::Result;
use rmq_client::{Message, Producer};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::number;
use crate::admin::Ctx;
use crate::admin::options::Args;
use rmq_model::clock::now_ms;

pub async fn cluster_list(ctx: &Ctx, args: &Args) -> Result<()> {
    let interval: Option<u64> = number(args, 'i')?;
    let mut first = true;
    loop {
        if !first {
            tokio::time::sleep(Duration::from_secs(interval.unwrap_or(1))).await;
        }
        first = false;
        if args.has('m') {
            more_stats(ctx).await?;
        } else {
            base_info(ctx).await?;
        }
        if interval.is_none() {
            return Ok(());
        }
    }
}

/// Every broker of every cluster: (cluster, broker name, id, address).
async fn brokers(ctx: &Ctx) -> Result<Vec<(String, String, i64, String)>> {
    let info = ctx.cluster_info().await?;
    let mut out = Vec::new();
    for (cluster, names) in &info.cluster_addr_table {
        for name in names {
            let Some(group) = info.broker_addr_table.get(name) else { continue };
            for (id, addr) in &group.broker_addrs {
                out.push((cluster.clone(), name.clone(), *id, addr.clone()));
            }
        }
    }
    Ok(out)
}

async fn base_info(ctx: &Ctx) -> Result<()> {
    println!(
        "{:<16}  {:<22}  {:<4}  {:<22} {:<16} {:>19} {:>19} {:>10} {:>5} {:>6}",
        "#Cluster Name",
        "#Broker Name",
        "#BID",
        "#Addr",
        "#Version",
        "#InTPS(LOAD)",
        "#OutTPS(LOAD)",
        "#PCWait(ms)",
        "#Hour",
        "#SPACE"
    );
    for (cluster, name, id, addr) in brokers(ctx).await? {
        let table = match ctx.admin.runtime_info(&addr).await {
            Ok(t) => t,
            Err(e) => {
                eprintln!("clusterList: runtime info of {addr} unavailable: {e}");
                BTreeMap::new()
            }
        };
        let get = |k: &str| table.get(k).cloned().unwrap_or_default();
        let first_rate = |k: &str| get(k).split(' ').next().and_then(|t| t.parse::<f64>().ok()).unwrap_or(0.0);
        let hour = get("earliestMessageTimeStamp")
            .parse::<i64>()
            .map_or(0.0, |earliest| (now_ms() - earliest) as f64 / 1000.0 / 60.0 / 60.0);
        let space = get("commitLogDiskRatio").parse::<f64>().unwrap_or(0.0);
        println!(
            "{:<16}  {:<22}  {:<4}  {:<22} {:<16} {:>19} {:>19} {:>10} {:>5} {:>6}",
            cluster,
            name,
            id,
            addr,
            get("brokerVersionDesc"),
            format!(
                "{:>9.2}({},{}ms)",
                first_rate("putTps"),
                get("sendThreadPoolQueueSize"),
                get("sendThreadPoolQueueHeadWaitTimeMills")
            ),
            format!(
                "{:>9.2}({},{}ms)",
                first_rate("getTransferedTps"),
                get("pullThreadPoolQueueSize"),
                get("pullThreadPoolQueueHeadWaitTimeMills")
            ),
            get("pageCacheLockTimeMills"),
            format!("{hour:2.2}"),
            format!("{space:.4}")
        );
    }
    Ok(())
}

async fn more_stats(ctx: &Ctx) -> Result<()> {
    println!(
        "{:<16}  {:<32} {:>14} {:>14} {:>14} {:>14}",
        "#Cluster Name", "#Broker Name", "#InTotalYest", "#OutTotalYest", "#InTotalToday", "#OutTotalToday"
    );
    for (cluster, name, _, addr) in brokers(ctx).await? {
        let table = ctx.admin.runtime_info(&addr).await.unwrap_or_default();
        let n = |k: &str| table.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        let (in_yest, out_yest, in_today, out_today) = if table.is_empty() {
            (0, 0, 0, 0)
        } else {
            (
                n("msgPutTotalTodayMorning") - n("msgPutTotalYesterdayMorning"),
                n("msgGetTotalTodayMorning") - n("msgGetTotalYesterdayMorning"),
                n("msgPutTotalTodayNow") - n("msgPutTotalTodayMorning"),
                n("msgGetTotalTodayNow") - n("msgGetTotalTodayMorning"),
            )
        };
        println!("{cluster:<16}  {name:<32} {in_yest:>14} {out_yest:>14} {in_today:>14} {out_today:>14}");
    }
    Ok(())
}

/// Sends `-a` messages of `-s` bytes to each broker's own topic and prints
/// the mean send time, every `-i` seconds, until interrupted.
pub async fn cluster_rt(ctx: &Ctx, args: &Args) -> Result<()> {
    let amount: u64 = number(args, 'a')?.unwrap_or(100);
    let size: usize = number(args, 's')?.unwrap_or(128);
    let interval: u64 = number(args, 'i')?.unwrap_or(10);
    let tlog = args.get('p').is_some_and(|p| crate::admin::format::java_bool(&p));
    let room = args.get('m').unwrap_or_else(|| "noname".to_owned());
    let info = ctx.cluster_info().await?;
    let clusters: Vec<String> = match args.get('c') {
        Some(c) => vec![c],
        None => info.cluster_addr_table.keys().cloned().collect(),
    };
    let producer = Producer::new(ctx.client.clone(), &now_ms().to_string());
    if !tlog {
        println!(
            "{:<24}  {:<24}  {:<4}  {:<8}  {:<8}",
            "#Cluster Name", "#Broker Name", "#RT", "#successCount", "#failCount"
        );
    }
    loop {
        for cluster in &clusters {
            let Some(names) = info.cluster_addr_table.get(cluster) else {
                print!("cluster [{cluster}] not exist");
                break;
            };
            for name in names {
                let msg = Message::new(name.clone(), vec![b'a'; size]);
                let (mut elapsed, mut ok, mut failed) = (Duration::ZERO, 0u64, 0u64);
                for i in 0..amount {
                    let start = Instant::now();
                    match producer.send(&msg).await {
                        Ok(_) => ok += 1,
                        Err(_) => failed += 1,
                    }
                    if i != 0 {
                        elapsed += start.elapsed();
                    }
                }
                let rt = elapsed.as_millis() as f64 / (amount as f64 - 1.0);
                if tlog {
                    let time = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M:%S");
                    println!("{time}|{room}|{cluster}|{name}|{}", rt.round());
                } else {
                    println!("{:<24}  {:<24}  {:<8}  {:<16}  {:<16}", cluster, name, format!("{rt:.2}"), ok, failed);
                }
            }
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tokio::time::sleep(Duration::from_secs(interval)).await;
    }
}
