//! The producer benchmark: `-w` workers each keep one send (or one batch of
//! `-b` messages) in flight, so `-w` is the number of sends in flight.

use bytes::Bytes;
use rmq_client::{Client, ClientOptions, Message, Producer, ProducerOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::stats::{Meter, delta};
use super::{Limit, stamp, timestamp};
use tokio::task::JoinSet;

/// What to send and how.
#[derive(Clone, Debug)]
pub struct ProducerRun {
    pub namesrv: String,
    pub topic: String,
    pub group: String,
    /// Sends in flight (Java's `-w` thread count).
    pub workers: usize,
    /// Body size in bytes.
    pub size: usize,
    /// Messages per send: 1 for single sends, more for SEND_BATCH_MESSAGE.
    pub batch: usize,
    /// Give every message a distinct `KEYS` (indexed by the broker).
    pub keys: bool,
    /// Tags cycle over this many values (`Tag0`…); 0 sends none.
    pub tag_count: usize,
    /// Oneway sends: no answer awaited (latency is then the write only).
    pub oneway: bool,
    /// Messages per second on a fixed schedule (`--tps`); `None` runs
    /// closed-loop. At most `workers` sends are in flight either way.
    pub rate: Option<u64>,
    /// Make every message a timer message due at this time (ms).
    pub timer_deliver_ms: Option<i64>,
    pub limit: Limit,
}

/// Runs the benchmark, printing a line every second; returns the meter.
pub async fn run(r: ProducerRun) -> anyhow::Result<Arc<Meter>> {
    let client = Client::new(ClientOptions::new(&r.namesrv));
    // Java's benchmark does not compress; nor do we, so the broker stores
    // exactly `-s` bytes per body.
    let options = ProducerOptions { compress_over: None, ..ProducerOptions::default() };
    let producer = Producer::with_options(client, &r.group, options);
    warm_up(&producer, &r).await?;

    let meter = Arc::new(Meter::new());
    let started = Instant::now();
    let workers = match r.rate {
        Some(rate) => fixed_rate(&producer, &r, rate, &meter),
        None => closed_loop(&producer, &r, &meter),
    };
    let reporter = tokio::spawn(report_every_second(meter.clone()));
    // Workers end by themselves at the message count; the duration stops them.
    let (mut workers, stop) = workers;
    let deadline = tokio::time::sleep(r.limit.duration.unwrap_or(Duration::MAX));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            done = workers.join_next() => if done.is_none() { break },
            _ = &mut deadline, if !stop.load(Ordering::Relaxed) => stop.store(true, Ordering::Relaxed),
        }
    }
    let elapsed = started.elapsed();
    reporter.abort();
    // Wait for the reporter to be gone, so no per-second line follows the summary.
    let _ = reporter.await;
    summary(&meter, elapsed);
    producer.client().shutdown();
    Ok(meter)
}

/// `-w` workers, each starting its next send when the last one answered.
fn closed_loop(producer: &Producer, r: &ProducerRun, meter: &Arc<Meter>) -> (JoinSet<()>, Arc<AtomicBool>) {
    let stop = Arc::new(AtomicBool::new(false));
    let sequence = Arc::new(AtomicU64::new(0));
    let body = Bytes::from(vec![b'a'; r.size]);
    let mut workers = JoinSet::new();
    for _ in 0..r.workers.max(1) {
        let (producer, meter, stop, sequence, body, r) =
            (producer.clone(), meter.clone(), stop.clone(), sequence.clone(), body.clone(), r.clone());
        workers.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let first = sequence.fetch_add(r.batch as u64, Ordering::Relaxed);
                if r.limit.messages.is_some_and(|m| first >= m) {
                    break;
                }
                let msgs: Vec<Message> = (0..r.batch as u64).map(|i| message(&r, &body, first + i)).collect();
                let sent = Instant::now();
                let outcome = send(&producer, &r, &msgs).await;
                record(&meter, &msgs, sent.elapsed(), outcome);
            }
        });
    }
    (workers, stop)
}

/// Sends on a schedule of `rate` messages per second (a send of `-b`
/// messages every `b / rate` s), whatever the answers; at most `-w` in
/// flight, later sends waiting for room. Latency is counted from each send's
/// scheduled time, and its body stamped with that time.
///
/// The schedule is kept by a thread of its own, which sleeps to each due
/// time with the OS's precision (tens of microseconds) rather than the async
/// timer's millisecond: otherwise every send would start up to a millisecond
/// late and the figures would show the client's clock, not the broker.
fn fixed_rate(producer: &Producer, r: &ProducerRun, rate: u64, meter: &Arc<Meter>) -> (JoinSet<()>, Arc<AtomicBool>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (due_tx, mut due_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant, u64)>();
    let sends_per_second = (rate as f64 / r.batch as f64).max(1e-3);
    let (pacer_stop, limit, batch) = (stop.clone(), r.limit.messages, r.batch as u64);
    std::thread::spawn(move || {
        let wall_start_us = stamp::now_us();
        let start = Instant::now();
        for scheduled in 0u64.. {
            let first = scheduled * batch;
            if pacer_stop.load(Ordering::Relaxed) || limit.is_some_and(|m| first >= m) {
                break;
            }
            let offset = Duration::from_secs_f64(scheduled as f64 / sends_per_second);
            let at = start + offset;
            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if due_tx.send((first, at, wall_start_us + offset.as_micros() as u64)).is_err() {
                break;
            }
        }
    });
    let mut pacer = JoinSet::new();
    let (producer, r, meter) = (producer.clone(), r.clone(), meter.clone());
    pacer.spawn(async move {
        let in_flight = Arc::new(tokio::sync::Semaphore::new(r.workers.max(1)));
        let mut sends = JoinSet::new();
        while let Some((first, at, at_us)) = due_rx.recv().await {
            let (producer, r, meter, in_flight) = (producer.clone(), r.clone(), meter.clone(), in_flight.clone());
            sends.spawn(async move {
                let Ok(_permit) = in_flight.acquire().await else { return };
                let mut body = vec![b'a'; r.size];
                stamp::write(&mut body, at_us);
                let body = Bytes::from(body);
                let msgs: Vec<Message> = (0..r.batch as u64).map(|i| message(&r, &body, first + i)).collect();
                let outcome = send(&producer, &r, &msgs).await;
                record(&meter, &msgs, at.elapsed(), outcome);
            });
            while sends.try_join_next().is_some() {}
        }
        while sends.join_next().await.is_some() {}
    });
    (pacer, stop)
}

async fn send(producer: &Producer, r: &ProducerRun, msgs: &[Message]) -> Result<(), rmq_client::ClientError> {
    if r.oneway {
        producer.send_oneway(&msgs[0]).await.map(|_| ())
    } else if r.batch > 1 {
        producer.send_batch(msgs).await.map(|_| ())
    } else {
        producer.send(&msgs[0]).await.map(|_| ())
    }
}

fn record(meter: &Meter, msgs: &[Message], took: Duration, outcome: Result<(), rmq_client::ClientError>) {
    match outcome {
        Ok(()) => meter.success(msgs.len() as u64, took),
        Err(e) => {
            if meter.first_failure() {
                eprintln!("send failed: {e}");
            }
            meter.failure(msgs.len() as u64);
        }
    }
}

fn message(r: &ProducerRun, body: &Bytes, n: u64) -> Message {
    let mut msg = Message::new(r.topic.clone(), body.clone());
    if r.tag_count > 0 {
        msg = msg.with_tags(format!("Tag{}", n % r.tag_count as u64));
    }
    if r.keys {
        msg = msg.with_keys(format!("bench-{n}"));
    }
    if let Some(at) = r.timer_deliver_ms {
        msg = msg.with_property("TIMER_DELIVER_MS", at.to_string());
    }
    msg
}

/// One send first, so that the route (and the topic, if it is new) exists
/// before the clock starts.
async fn warm_up(producer: &Producer, r: &ProducerRun) -> anyhow::Result<()> {
    let body = Bytes::from(vec![b'a'; r.size]);
    let mut last = None;
    for _ in 0..10 {
        match producer.send(&message(r, &body, 0)).await {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    anyhow::bail!(
        "cannot send to topic {} through {}: {}",
        r.topic,
        r.namesrv,
        last.map(|e| e.to_string()).unwrap_or_default()
    )
}

/// Prints Java's per-second line until aborted.
async fn report_every_second(meter: Arc<Meter>) {
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    let mut before = meter.take();
    loop {
        ticks.tick().await;
        let now = meter.take();
        let d = delta(now, before);
        println!(
            "Current Time: {} Send TPS: {} Max RT(ms): {:.3} Average RT(ms): {:7.3} Send Failed: {} Response Failed: 0",
            timestamp(),
            d.ok,
            d.latency_max_us as f64 / 1000.0,
            d.avg_ms(),
            d.failed
        );
        before = now;
    }
}

fn summary(meter: &Meter, elapsed: Duration) {
    let total = meter.take();
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "Summary: sent {} in {:.1} s, {:.0} msg/s, failed {}; RT(ms) avg {:.3} p50 {:.3} p99 {:.3} p99.9 {:.3} max {:.3}",
        total.ok,
        secs,
        total.ok as f64 / secs,
        total.failed,
        total.avg_ms(),
        meter.percentile_ms(0.50),
        meter.percentile_ms(0.99),
        meter.percentile_ms(0.999),
        meter.max_ms()
    );
}
