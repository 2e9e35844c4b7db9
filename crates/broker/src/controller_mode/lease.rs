//! The master lease (`enableMasterLease`, an rmq key): a master cut off from
//! the controllers but still reachable by its producers must stop taking
//! writes before the controllers can elect another master, or two masters
//! of one group accept writes and the old one's are cut when it rejoins.
//!
//! The rule, with every time on this broker's monotonic clock:
//! * Every heartbeat period the master sends BROKER_HEARTBEAT to the
//!   controller leader as a request. The leader answers SUCCESS only after a
//!   quorum confirmed its leadership (`rmq_controller`), so the answer proves
//!   the leader recorded a heartbeat at some instant after the send.
//! * A success for a heartbeat sent at `t` lets the master take sends until
//!   `t + lease`, `lease` being `controllerHeartBeatTimeoutMills` less two
//!   heartbeat periods ([`crate::config::BrokerConfig::master_lease`]).
//! * A controller counts a broker gone no earlier than its timeout after the
//!   last heartbeat it recorded; a lease holder is not counted gone when its
//!   connection closes; and a new leader waits that timeout before electing
//!   (`rmq_controller`). So no replacement is elected before `t + timeout`,
//!   later than the lease's end.
//!
//! Until the first success of a role the master refuses sends; the first
//! renewal is sent as the role starts, so that lasts one round trip.
//!
//! The lease is the store's ([`rmq_store::WriteLease`]): every put compares
//! its end with the clock, so neither a client's send nor the broker's own
//! writes (delay and timer deliveries, transaction checks, POP records) land
//! outside it, and a master paused past its lease refuses the sends queued
//! in its sockets before any timer could run. The send path asks first
//! ([`Replication::refusal`]) only to word its answer.

use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::CancellationToken;
use tokio::sync::watch;
use tokio::time::Instant;

use super::link::ControllerLink;
use crate::ha::Replication;

/// Keeps `replication`'s lease while this master serves: renews every
/// `period` and logs when the lease lapses and when it is confirmed again.
/// Returns once `stop`.
pub(crate) async fn keep(
    link: Arc<ControllerLink>,
    beat: impl Fn() -> rmq_protocol::header::BrokerHeartbeatRequestHeader + Send + 'static,
    replication: Arc<Replication>,
    (period, lease): (Duration, Duration),
    stop: CancellationToken,
) {
    // `replication` starts with no lease (`Replication::new`).
    // When the last confirmed heartbeat was sent.
    let (confirmed, mut renewed) = watch::channel(None::<Instant>);
    let renewing = tokio::spawn(renew(link, beat, (period, lease), replication, confirmed, stop.clone()));
    let mut lapsed = true;
    loop {
        let ends = renewed.borrow_and_update().map(|sent| sent + lease);
        let expiry = async {
            match ends {
                Some(at) if !lapsed => tokio::time::sleep_until(at).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop.cancelled() => break,
            changed = renewed.changed() => {
                if changed.is_err() {
                    break;
                }
                let valid = renewed.borrow().is_some_and(|sent| sent + lease > Instant::now());
                if lapsed && valid {
                    lapsed = false;
                    tracing::info!("controller mode: master lease confirmed by the controller leader; taking sends");
                }
            }
            () = expiry => {
                lapsed = true;
                tracing::warn!(
                    "controller mode: master lease lapsed ({} ms without a confirmation from the controller leader); \
                     refusing sends until one comes",
                    lease.as_millis()
                );
            }
        }
    }
    renewing.abort();
}

/// Sends a renewal every `period` (no sooner than the previous one ends);
/// for each one the leader confirms, extends the lease to its send time
/// plus `lease` and publishes that send time.
async fn renew(
    link: Arc<ControllerLink>,
    beat: impl Fn() -> rmq_protocol::header::BrokerHeartbeatRequestHeader,
    (period, lease): (Duration, Duration),
    replication: Arc<Replication>,
    confirmed: watch::Sender<Option<Instant>>,
    stop: CancellationToken,
) {
    let mut failures = 0u32;
    loop {
        let sent = Instant::now();
        match link.renew_lease(beat()).await {
            Ok(()) => {
                failures = 0;
                replication.hold_lease_until((sent + lease).into_std());
                confirmed.send_replace(Some(sent));
            }
            Err(e) => {
                failures += 1;
                // One line when it starts failing, then one every 30 tries.
                if failures % 30 == 1 {
                    tracing::warn!("controller mode: renewing the master lease: {e}");
                }
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep_until(sent + period) => {}
        }
    }
}
