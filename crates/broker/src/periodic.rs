//! Jobs that run on a period until the broker stops.

use rmq_remoting::CancellationToken;
use std::future::Future;
use std::time::Duration;

/// Runs `job` after `first`, then every `period`, until `stop`. A job that
/// overruns delays the next tick rather than bunching them.
pub(crate) async fn every<F, Fut>(stop: CancellationToken, first: Duration, period: Duration, mut job: F)
where
    F: FnMut() -> Fut + Send,
    Fut: Future<Output = ()> + Send,
{
    tokio::select! {
        _ = stop.cancelled() => return,
        _ = tokio::time::sleep(first) => {}
    }
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => job().await,
        }
    }
}
