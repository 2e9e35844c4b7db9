//! `mqadmin`: RocketMQ's admin tool with the Java tool's sub-command names,
//! options and output layouts (4.9.8 `MQAdminStartup` and its `SubCommand`s),
//! so the scripts that parse its output keep working.
//!
//! Where Java prints a stack trace and exits 0, this prints one line on
//! stderr naming what failed and exits 1: bad options (with the usage), an
//! unknown sub-command, an unreachable NameServer or broker, a refusal.
//!
//! * [`options`]: commons-cli style options parsed with clap, and the help;
//! * [`format`]: Java's printing conventions (times, versions, maps, JSON);
//! * `commands`: one module per family of sub-commands.

mod commands;
pub mod format;
pub mod options;

use anyhow::{Context, Result, anyhow};
use rmq_client::admin::Admin;
use rmq_client::{Client, ClientError, ClientOptions, TopicRoute};
use rmq_model::MessageQueue;
use rmq_protocol::body::admin::{ConsumeStats, ConsumerConnection, TopicStatsTable};
use rmq_protocol::body::cluster::ClusterInfo;
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::java_opts;
use options::{Args, ParseOutcome};

/// What every sub-command gets: the client, its admin calls, and the `-n` list.
#[derive(Debug)]
pub struct Ctx {
    pub client: Client,
    pub admin: Admin,
    /// `-n` as given on the command line (not from the environment).
    pub namesrv_option: Option<String>,
}

/// Java's `CommandUtil` message for a cluster the NameServer does not know.
pub const NO_CLUSTER: &str = "Make sure the specified clusterName exists or the name server connected to is correct.";

/// Runs `mqadmin` with its arguments (program name excluded); the exit code.
pub fn main(args: Vec<String>) -> i32 {
    let Some(first) = args.first() else {
        print_command_list();
        return 0;
    };
    if first == "help" && args.len() == 2 {
        return match commands::find(&args[1]) {
            Some(spec) => {
                print!("{}", options::help(spec));
                0
            }
            None => {
                println!("The sub command {} not exist.", args[1]);
                1
            }
        };
    }
    let Some(spec) = commands::find(first) else {
        println!("The sub command {first} not exist.");
        return 1;
    };
    // Java's electMaster and cleanBrokerMetadata name their broker-name
    // option `-bn`, which a one-letter parser would read as -b n.
    let rest: Vec<String> = args[1..]
        .iter()
        .map(|a| {
            let takes_bn = spec.name == "electMaster" || spec.name == "cleanBrokerMetadata";
            if takes_bn && a == "-bn" { "--brokerName".to_owned() } else { a.clone() }
        })
        .collect();
    let parsed = match options::parse(spec, &rest) {
        Ok(parsed) => parsed,
        Err(ParseOutcome::Help) => {
            print!("{}", options::help(spec));
            return 0;
        }
        Err(ParseOutcome::Invalid(problem)) => {
            eprintln!("mqadmin {}: {problem}", spec.name);
            print!("{}", options::help(spec));
            return 1;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mqadmin: cannot start the runtime: {e}");
            return 1;
        }
    };
    let tls = match crate::tls::client() {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("mqadmin: TLS: {e}");
            return 1;
        }
    };
    let outcome = runtime.block_on(async {
        let ctx = context(&parsed, tls);
        let result = commands::run(spec, &ctx, &parsed).await;
        ctx.client.close();
        result
    });
    use std::io::Write;
    let _ = std::io::stdout().flush();
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{} command failed: {}", spec.name, one_line(&e));
            1
        }
    }
}

/// An error and its causes on one line.
fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

fn print_command_list() {
    println!("The most commonly used mqadmin commands are:");
    for spec in commands::ALL {
        println!("   {:<20} {}", spec.name, spec.desc);
    }
    println!();
    println!("See 'mqadmin help <command>' for more information on a specific command.");
}

/// `-n`, else `NAMESRV_ADDR`, else `-Drocketmq.namesrv.addr=` in `JAVA_OPT`.
fn context(args: &Args, tls: Option<rmq_remoting::ClientTls>) -> Ctx {
    let option = args.get('n').filter(|n| !n.is_empty());
    let addrs = option
        .clone()
        .or_else(|| std::env::var("NAMESRV_ADDR").ok().filter(|a| !a.trim().is_empty()))
        .or_else(|| java_opts::property("rocketmq.namesrv.addr"))
        .unwrap_or_default();
    let client = Client::new(ClientOptions { tls, ..ClientOptions::new(&addrs) });
    Ctx { admin: Admin::new(client.clone()), client, namesrv_option: option }
}

impl Ctx {
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        Ok(self.admin.cluster_info().await?)
    }

    /// Master addresses of a cluster's broker groups (`fetchMasterAddrByClusterName`).
    pub async fn masters_of_cluster(&self, cluster: &str) -> Result<Vec<String>> {
        let info = self.cluster_info().await?;
        let names = info.cluster_addr_table.get(cluster).ok_or_else(|| anyhow!("[error] {NO_CLUSTER}"))?;
        let masters: BTreeSet<String> = names
            .iter()
            .filter_map(|name| info.broker_addr_table.get(name)?.master_addr().map(str::to_owned))
            .collect();
        Ok(masters.into_iter().collect())
    }

    /// Every address of a cluster's brokers, slaves included.
    pub async fn addrs_of_cluster(&self, cluster: &str) -> Result<Vec<String>> {
        let info = self.cluster_info().await?;
        let names = info.cluster_addr_table.get(cluster).ok_or_else(|| anyhow!("[error] {NO_CLUSTER}"))?;
        let addrs: BTreeSet<String> = names
            .iter()
            .filter_map(|name| info.broker_addr_table.get(name))
            .flat_map(|b| b.broker_addrs.values().cloned())
            .collect();
        Ok(addrs.into_iter().collect())
    }

    /// The broker group a broker address belongs to (`fetchBrokerNameByAddr`).
    pub async fn broker_name_of(&self, addr: &str) -> Result<String> {
        let info = self.cluster_info().await?;
        info.broker_addr_table
            .iter()
            .find(|(_, b)| b.broker_addrs.values().any(|a| a == addr))
            .map(|(name, _)| name.clone())
            .ok_or_else(|| anyhow!("{NO_CLUSTER}"))
    }

    pub async fn route(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        Ok(self.client.route(topic).await?)
    }

    /// A broker address per broker group of the topic's route, master first.
    pub async fn route_addrs(&self, topic: &str) -> Result<Vec<String>> {
        let route = self.route(topic).await?;
        Ok(route.data.broker_datas.iter().filter_map(|b| route.any_addr(&b.broker_name).map(str::to_owned)).collect())
    }

    /// `examineTopicStats`: the topic's stats on every broker of its route.
    pub async fn topic_stats(&self, topic: &str) -> Result<TopicStatsTable> {
        let mut table = TopicStatsTable::default();
        for addr in self.route_addrs(topic).await? {
            table.offset_table.extend(self.admin.topic_stats(&addr, topic).await?.offset_table);
        }
        if table.offset_table.is_empty() {
            return Err(anyhow!("Not found the topic stats info"));
        }
        Ok(table)
    }

    /// `examineConsumeStats`: the group's progress on every broker of its
    /// retry topic's route.
    pub async fn consume_stats(&self, group: &str, topic: Option<&str>) -> Result<ConsumeStats> {
        let mut stats = ConsumeStats::default();
        for addr in self.route_addrs(&rmq_model::topic::retry_topic(group)).await? {
            let part = self.admin.consume_stats(&addr, group, topic).await?;
            stats.offset_table.extend(part.offset_table);
            stats.consume_tps += part.consume_tps;
        }
        if stats.offset_table.is_empty() {
            return Err(anyhow!(
                "Not found the consumer group consume stats, because return offset table is empty, maybe the consumer not consume any message"
            ));
        }
        Ok(stats)
    }

    /// The broker to ask about a group's consumers: `broker` (`-b`) when
    /// given, else the first broker of the group's retry topic, where every
    /// consumer of the group sends its heartbeats (Java's
    /// `examineConsumerConnectionInfo` and `getConsumerRunningInfo`).
    pub async fn group_broker(&self, group: &str, broker: Option<&str>) -> Result<String> {
        match broker {
            Some(addr) => Ok(addr.to_owned()),
            None => self
                .route_addrs(&rmq_model::topic::retry_topic(group))
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| anyhow!("Not found the consumer group connection")),
        }
    }

    /// `examineConsumerConnectionInfo`: asks [`Ctx::group_broker`].
    pub async fn consumer_connection(&self, group: &str, broker: Option<&str>) -> Result<ConsumerConnection> {
        let addr = self.group_broker(group, broker).await?;
        let conn = self.admin.consumer_connection(&addr, group).await?;
        if conn.connection_set.is_empty() {
            return Err(anyhow!("Not found the consumer group connection"));
        }
        Ok(conn)
    }

    /// The queues of a consume stats table whose topic is `topic`.
    pub fn queues_of<'a, V>(
        table: &'a std::collections::BTreeMap<MessageQueue, V>,
        topic: &'a str,
    ) -> impl Iterator<Item = (&'a MessageQueue, &'a V)> {
        table.iter().filter(move |(mq, _)| mq.topic == topic)
    }
}

/// Whether an error is a server's CONSUMER_NOT_ONLINE.
pub fn is_not_online(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ClientError>().and_then(ClientError::code) == Some(rmq_protocol::ResponseCode::ConsumerNotOnline)
}

/// Context for an error about one broker.
pub trait AtBroker<T> {
    fn at(self, addr: &str) -> Result<T>;
}

impl<T> AtBroker<T> for Result<T, ClientError> {
    fn at(self, addr: &str) -> Result<T> {
        self.with_context(|| format!("broker {addr}"))
    }
}
