//! `mqbench`: RocketMQ's benchmark producer and consumer (`benchmark/producer.sh`,
//! `benchmark/consumer.sh`) with their flags, plus a duration and a count so
//! that every run stops by itself.
//!
//! ```text
//! mqbench producer -n 127.0.0.1:9876 -t BenchmarkTest -w 64 -s 1024 --duration 30
//! mqbench producer -n 127.0.0.1:9876 -t BenchmarkTest -w 16 -s 1024 -b 16 -q 1000000
//! mqbench consumer -n 127.0.0.1:9876 -t BenchmarkTest -g bench_consumer --duration 30
//! ```

#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use rmq_cli::bench::{Limit, consumer, producer};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "mqbench", about = "RocketMQ benchmark producer and consumer (rmq)", disable_version_flag = true)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Send messages as fast as `-w` sends in flight allow, or at `--tps`.
    Producer {
        /// Name server address list, eg: '192.168.0.1:9876;192.168.0.2:9876'
        #[arg(short = 'n', long = "namesrvAddr", env = "NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
        namesrv: String,
        /// Topic name
        #[arg(short = 't', long = "topic", default_value = "BenchmarkTest")]
        topic: String,
        /// Sends in flight (Java: thread count)
        #[arg(short = 'w', long = "threadCount", default_value_t = 64)]
        workers: usize,
        /// Message body size, bytes
        #[arg(short = 's', long = "messageSize", default_value_t = 128)]
        size: usize,
        /// Give every message a distinct key
        #[arg(short = 'k', long = "keyEnable", default_value_t = false, action = clap::ArgAction::Set)]
        keys: bool,
        /// Number of distinct tags (0: none)
        #[arg(short = 'c', long = "tagCount", default_value_t = 0)]
        tag_count: usize,
        /// Messages per send (SEND_BATCH_MESSAGE when above 1)
        #[arg(short = 'b', long = "batchSize", default_value_t = 1)]
        batch: usize,
        /// Send oneway (no answer awaited)
        #[arg(long)]
        oneway: bool,
        /// Messages per second on a fixed schedule (latency from each send's
        /// scheduled time; bodies stamped for the consumer's E2E figures);
        /// without it, each of the -w workers sends as soon as its last send
        /// was answered
        #[arg(long)]
        tps: Option<u64>,
        /// Send timer messages, all due at once this many seconds after
        /// the run starts (TIMER_DELIVER_MS)
        #[arg(long = "timerDelaySec")]
        timer_delay_sec: Option<u64>,
        /// Producer group
        #[arg(short = 'g', long = "group", default_value = "benchmark_producer")]
        group: String,
        /// Stop after this many seconds
        #[arg(long, default_value_t = 30)]
        duration: u64,
        /// Stop after this many messages (Java: messageQuantity)
        #[arg(short = 'q', long = "messageQuantity")]
        messages: Option<u64>,
    },
    /// Consume a topic and measure end-to-end latency.
    Consumer {
        #[arg(short = 'n', long = "namesrvAddr", env = "NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
        namesrv: String,
        #[arg(short = 't', long = "topic", default_value = "BenchmarkTest")]
        topic: String,
        /// Consumer group
        #[arg(short = 'g', long = "group", default_value = "benchmark_consumer")]
        group: String,
        /// Tag expression
        #[arg(short = 'e', long = "expression", default_value = "*")]
        expression: String,
        /// Start at the queues' first messages instead of their ends
        #[arg(long)]
        from_start: bool,
        /// Consume by POP (RocketMQ 5) instead of pull: pop 32 at a time, batch-ack each answer
        #[arg(long)]
        pop: bool,
        /// POP: how long popped messages stay invisible, ms
        #[arg(long, default_value_t = 60_000)]
        invisible_ms: i64,
        /// POP: concurrent poppers per master broker
        #[arg(long, default_value_t = 4)]
        pop_workers: usize,
        #[arg(long, default_value_t = 30)]
        duration: u64,
        /// Stop after this many messages
        #[arg(short = 'q', long = "messageQuantity")]
        messages: Option<u64>,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match args.command {
            Command::Producer {
                namesrv,
                topic,
                workers,
                size,
                keys,
                tag_count,
                batch,
                oneway,
                tps,
                timer_delay_sec,
                group,
                duration,
                messages,
            } => {
                let limit = Limit { duration: Some(Duration::from_secs(duration)), messages };
                let run = producer::ProducerRun {
                    namesrv,
                    topic,
                    group,
                    workers,
                    size,
                    batch: batch.max(1),
                    keys,
                    tag_count,
                    oneway,
                    rate: tps.filter(|t| *t > 0),
                    timer_deliver_ms: timer_delay_sec.map(|s| rmq_model::clock::now_ms() + s as i64 * 1000),
                    limit,
                };
                producer::run(run).await.map(|_| ())
            }
            Command::Consumer {
                namesrv,
                topic,
                group,
                expression,
                from_start,
                pop,
                invisible_ms,
                pop_workers,
                duration,
                messages,
            } => {
                let limit = Limit { duration: Some(Duration::from_secs(duration)), messages };
                let pop = pop.then_some(consumer::PopMode { invisible_ms, workers: pop_workers });
                consumer::run(consumer::ConsumerRun { namesrv, topic, group, expression, from_start, pop, limit })
                    .await
                    .map(|_| ())
            }
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqbench: {e}");
            ExitCode::FAILURE
        }
    }
}
