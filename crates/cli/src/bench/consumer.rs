//! The consumer benchmark: pulls every queue of a topic with long polling
//! (or pops them, [`super::pop_consumer`]),
//! from the queues' current ends (new messages only) unless told to start at
//! the beginning, and measures end-to-end latency: born (producer clock) to
//! consumed, and stored (broker clock) to consumed, in milliseconds; and, for
//! bodies a fixed-rate producer stamped, scheduled send to consumed in
//! microseconds (E2E).

use rmq_client::{Client, ClientOptions, MessageExt, PullConsumer};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::stats::{Meter, delta};
use super::{Limit, pop_consumer, stamp, timestamp};
use rmq_model::clock::now_ms;

#[derive(Clone, Debug)]
pub struct ConsumerRun {
    pub namesrv: String,
    pub topic: String,
    pub group: String,
    /// Tag expression (`*`, `TagA||TagB`).
    pub expression: String,
    /// Start at each queue's first message instead of its end.
    pub from_start: bool,
    /// Consume by POP (5.x) instead of pull.
    pub pop: Option<PopMode>,
    pub limit: Limit,
}

/// POP instead of pull: how long popped messages stay invisible, and how
/// many poppers run per master.
#[derive(Clone, Copy, Debug)]
pub struct PopMode {
    pub invisible_ms: i64,
    pub workers: usize,
}

/// Runs the benchmark, printing a line every second; returns the born-to-
/// consumed latency meter.
pub async fn run(r: ConsumerRun) -> anyhow::Result<Arc<Meter>> {
    let consumer = PullConsumer::new(Client::new(ClientOptions::new(&r.namesrv)), &r.group);
    let born_to_consumed = Arc::new(Meter::new());
    let stored_to_consumed = Arc::new(Meter::new());
    let end_to_end = Arc::new(Meter::new());
    let on_batch: pop_consumer::OnBatch = {
        let (b2c, s2c, e2e) = (born_to_consumed.clone(), stored_to_consumed.clone(), end_to_end.clone());
        Arc::new(move |batch: &[MessageExt]| {
            let (now, now_us) = (now_ms(), stamp::now_us());
            for m in batch {
                b2c.success(1, ms(now - m.born_timestamp));
                s2c.success(1, ms(now - m.store_timestamp));
                if let Some(sent_us) = stamp::read(&m.body) {
                    e2e.success(1, Duration::from_micros(now_us.saturating_sub(sent_us)));
                }
            }
        })
    };
    let started = Instant::now();
    let mut consumers = match r.pop {
        Some(mode) => {
            let settings = pop_consumer::PopSettings {
                group: r.group.clone(),
                topic: r.topic.clone(),
                expression: r.expression.clone(),
                invisible_ms: mode.invisible_ms,
                workers: mode.workers,
            };
            pop_consumer::spawn(Arc::new(consumer.client().clone()), settings, on_batch).await?
        }
        None => spawn_pullers(&consumer, &r, on_batch, &born_to_consumed).await?,
    };
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    let (mut b_before, mut s_before, mut e_before) =
        (born_to_consumed.take(), stored_to_consumed.take(), end_to_end.take());
    loop {
        ticks.tick().await;
        let (b_now, s_now, e_now) = (born_to_consumed.take(), stored_to_consumed.take(), end_to_end.take());
        let (b, s, e) = (delta(b_now, b_before), delta(s_now, s_before), delta(e_now, e_before));
        let e2e = if e.ok > 0 {
            format!(" Average(E2E) RT(ms): {:7.3} MAX(E2E) RT(ms): {:.3}", e.avg_ms(), e.latency_max_us as f64 / 1000.0)
        } else {
            String::new()
        };
        println!(
            "Current Time: {} Consume TPS: {} Average(B2C) RT(ms): {:7.3} Average(S2C) RT(ms): {:7.3} MAX(B2C) RT(ms): {:.3} MAX(S2C) RT(ms): {:.3}{e2e}",
            timestamp(),
            b.ok,
            b.avg_ms(),
            s.avg_ms(),
            b.latency_max_us as f64 / 1000.0,
            s.latency_max_us as f64 / 1000.0
        );
        (b_before, s_before, e_before) = (b_now, s_now, e_now);
        if r.limit.reached(started.elapsed(), b_now.ok) {
            break;
        }
    }
    consumers.abort_all();
    let secs = started.elapsed().as_secs_f64();
    let total = born_to_consumed.take();
    println!(
        "Summary: consumed {} in {secs:.1} s, {:.0} msg/s; B2C RT(ms) p50 {:.3} p99 {:.3} p99.9 {:.3} max {:.3}; S2C p99 {:.3}",
        total.ok,
        total.ok as f64 / secs.max(1e-9),
        born_to_consumed.percentile_ms(0.50),
        born_to_consumed.percentile_ms(0.99),
        born_to_consumed.percentile_ms(0.999),
        born_to_consumed.max_ms(),
        stored_to_consumed.percentile_ms(0.99)
    );
    let e2e = end_to_end.take();
    if e2e.ok > 0 {
        println!(
            "E2E (scheduled send to consumed): {} messages, RT(ms) avg {:.3} p50 {:.3} p99 {:.3} p99.9 {:.3} max {:.3}",
            e2e.ok,
            e2e.avg_ms(),
            end_to_end.percentile_ms(0.50),
            end_to_end.percentile_ms(0.99),
            end_to_end.percentile_ms(0.999),
            end_to_end.max_ms()
        );
    }
    consumer.client().shutdown();
    Ok(born_to_consumed)
}

/// One long-polling puller per readable queue, from its end (or start).
async fn spawn_pullers(
    consumer: &PullConsumer,
    r: &ConsumerRun,
    on_batch: pop_consumer::OnBatch,
    failures: &Arc<Meter>,
) -> anyhow::Result<tokio::task::JoinSet<()>> {
    let queues = consumer.queues(&r.topic).await?;
    if queues.is_empty() {
        anyhow::bail!("topic {} has no readable queue", r.topic);
    }
    let mut pullers = tokio::task::JoinSet::new();
    for mq in queues {
        let offset = if r.from_start { consumer.min_offset(&mq).await? } else { consumer.max_offset(&mq).await? };
        let mut puller =
            consumer.puller(mq, &r.expression, offset).with_long_polling(Duration::from_secs(15)).with_batch_size(32);
        let (on_batch, failures) = (on_batch.clone(), failures.clone());
        pullers.spawn(async move {
            loop {
                match puller.next_batch().await {
                    Ok(batch) => on_batch(&batch),
                    Err(e) => {
                        if failures.first_failure() {
                            eprintln!("pull failed: {e}");
                        }
                        failures.failure(1);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
    }
    Ok(pullers)
}

fn ms(v: i64) -> Duration {
    Duration::from_millis(v.max(0) as u64)
}
