//! `auto_renew`: a push consumer receives with `auto_renew` and leaves the
//! invisible time to the proxy, which keeps every received-but-unacked
//! message invisible until the client acks it, nacks it, forwards it to the
//! DLQ, goes away, or `renewMaxTimeMillis` has passed (Java's
//! `DefaultReceiptHandleManager`).
//!
//! Every `renewSchedulePeriodMillis` the held messages are looked at: those
//! that would turn visible within `renewAheadTimeMillis` get a new invisible
//! time (CHANGE_MESSAGE_INVISIBLETIME, which gives them a new handle at the
//! broker; the client keeps the one it was given, and the proxy swaps in the
//! latest when the client acks). Past the maximum the proxy stops and lets
//! the message come back after the group's retry delay; a client that is
//! gone gets its messages back after `invisibleTimeMillisWhenClear`.

use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::Proxy;
use crate::pb::Code;
use crate::receipt::ClientHandle;

/// Invisible time of the n-th renewal when no `renewSliceTimeMillis` is set
/// (Java 5.2+'s `RenewStrategyPolicy`): 1, 3, 5, 10, 30 minutes, then 1 hour.
const RENEW_STEPS_MS: [i64; 6] = [60_000, 180_000, 300_000, 600_000, 1_800_000, 3_600_000];

/// A group's default retry delays (Java's `CustomizedRetryPolicy`), used
/// when the proxy stops renewing: the delay for reconsume times `n` is
/// entry `n + 2`.
const RETRY_DELAYS_S: [i64; 18] =
    [1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200];

/// Renewals running at once, so a scan over many messages does not flood a broker.
const CONCURRENT_RENEWALS: usize = 16;

/// One message the proxy keeps invisible for a client.
#[derive(Debug)]
struct Held {
    topic: String,
    group: String,
    /// The latest handle (the broker's after the last renewal).
    handle: ClientHandle,
    received_at_ms: i64,
    reconsume_times: i32,
    renew_times: usize,
    failed_renewals: u32,
}

/// The lock is held while a renewal is in flight, so an ack that comes
/// meanwhile waits for the handle the renewal gets.
type Entry = Arc<tokio::sync::Mutex<Held>>;

/// Who holds a message: the client and the group it received for.
type Holder = (String, String);

/// The messages held per client and group, by the handle the client was given.
#[derive(Debug, Default)]
pub(crate) struct Renewals {
    held: Mutex<HashMap<Holder, HashMap<String, Entry>>>,
}

impl Renewals {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Holder, HashMap<String, Entry>>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts renewing a message just received with `auto_renew`.
    pub fn hold(&self, client_id: &str, group: &str, topic: &str, handle: ClientHandle, reconsume_times: i32) {
        let held = Held {
            topic: topic.to_owned(),
            group: group.to_owned(),
            received_at_ms: rmq_model::clock::now_ms(),
            handle: handle.clone(),
            reconsume_times,
            renew_times: 0,
            failed_renewals: 0,
        };
        self.lock()
            .entry((client_id.to_owned(), group.to_owned()))
            .or_default()
            .insert(handle.to_string(), Arc::new(tokio::sync::Mutex::new(held)));
    }

    /// Stops renewing the message the client knows as `text`; its latest
    /// handle, once a renewal in flight has finished. `None` when the proxy
    /// does not hold it.
    pub async fn release(&self, client_id: &str, group: &str, text: &str) -> Option<ClientHandle> {
        let entry = {
            let mut all = self.lock();
            let key = (client_id.to_owned(), group.to_owned());
            let by_handle = all.get_mut(&key)?;
            let entry = by_handle.remove(text)?;
            if by_handle.is_empty() {
                all.remove(&key);
            }
            entry
        };
        Some(entry.lock().await.handle.clone())
    }

    /// Stops renewing one message (renewal over or failed for good).
    fn forget(&self, holder: &Holder, text: &str) {
        let mut all = self.lock();
        if let Some(by_handle) = all.get_mut(holder) {
            by_handle.remove(text);
            if by_handle.is_empty() {
                all.remove(holder);
            }
        }
    }

    /// Takes every message a client holds, in all its groups.
    fn take_client(&self, client_id: &str) -> Vec<Entry> {
        let mut all = self.lock();
        let holders: Vec<Holder> = all.keys().filter(|(c, _)| c == client_id).cloned().collect();
        holders.iter().filter_map(|h| all.remove(h)).flat_map(|m| m.into_values()).collect()
    }

    fn clients(&self) -> Vec<String> {
        let clients: std::collections::BTreeSet<String> = self.lock().keys().map(|(c, _)| c.clone()).collect();
        clients.into_iter().collect()
    }

    fn snapshot(&self) -> Vec<(Holder, String, Entry)> {
        self.lock()
            .iter()
            .flat_map(|(holder, m)| m.iter().map(move |(text, e)| (holder.clone(), text.clone(), e.clone())))
            .collect()
    }

    /// How many messages are held (all clients).
    #[cfg(test)]
    fn count(&self) -> usize {
        self.lock().values().map(HashMap::len).sum()
    }
}

/// What a look at one held message decided.
enum Verdict {
    Keep,
    Forget,
}

impl Proxy {
    /// The renewing task: runs until `stop`.
    pub(crate) async fn renew_held(self: Arc<Self>, stop: CancellationToken) {
        let period = Duration::from_millis(self.config.renew.period_ms);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = stop.cancelled() => return,
            }
            for client in self.renewals.clients() {
                if self.sessions.settings(&client).is_none() {
                    self.return_client_messages(&client).await;
                }
            }
            let due = self.renewals.snapshot().into_iter().map(|(holder, text, entry)| {
                let proxy = self.clone();
                async move {
                    // A message being acked or renewed right now is left to that.
                    let Ok(mut held) = entry.try_lock() else { return };
                    if let Verdict::Forget = proxy.look_at(&mut held).await {
                        drop(held);
                        proxy.renewals.forget(&holder, &text);
                    }
                }
            });
            futures_util::stream::iter(due).for_each_concurrent(CONCURRENT_RENEWALS, |f| f).await;
        }
    }

    /// Renews one message if it is due, or ends its renewal.
    async fn look_at(&self, held: &mut Held) -> Verdict {
        let renew = &self.config.renew;
        let now = rmq_model::clock::now_ms();
        if held.handle.next_visible() - now > renew.ahead_ms {
            return Verdict::Keep;
        }
        if held.failed_renewals >= renew.max_retries {
            tracing::warn!("gave up renewing {} after {} failures", held.handle, held.failed_renewals);
            return Verdict::Forget;
        }
        if now - held.received_at_ms >= renew.max_ms {
            self.stop_renewing(held).await;
            return Verdict::Forget;
        }
        let invisible = renew.slice_ms.unwrap_or(RENEW_STEPS_MS[held.renew_times.min(RENEW_STEPS_MS.len() - 1)]);
        match self.change_invisible(&held.topic, &held.group, &held.handle, invisible).await {
            Ok(renewed) => {
                held.handle = renewed;
                held.renew_times += 1;
                held.failed_renewals = 0;
                Verdict::Keep
            }
            // A handle the broker no longer knows, or a broker not served: no point retrying (as Java).
            Err(refusal) if refusal.0.code == Code::InvalidReceiptHandle as i32 => Verdict::Forget,
            Err(refusal) if refusal.0.code == Code::BadRequest as i32 => Verdict::Forget,
            Err(refusal) => {
                tracing::debug!("renewing {} failed: {}", held.handle, refusal.0.message);
                held.failed_renewals += 1;
                Verdict::Keep
            }
        }
    }

    /// `renewMaxTimeMillis` has passed: the message comes back after the
    /// group's retry delay, as if the client had failed to consume it.
    async fn stop_renewing(&self, held: &Held) {
        if self.group_settings(&held.topic, &held.group).await.is_none() {
            tracing::warn!("group {} is unknown; stopped renewing {} as it is", held.group, held.handle);
            return;
        }
        let step = (held.reconsume_times.max(0) as usize + 2).min(RETRY_DELAYS_S.len() - 1);
        let delay_ms = RETRY_DELAYS_S[step] * 1000;
        if let Err(refusal) = self.change_invisible(&held.topic, &held.group, &held.handle, delay_ms).await {
            tracing::debug!("handing back {} failed: {}", held.handle, refusal.0.message);
        }
    }

    /// A client terminated or is gone: what it held becomes visible again
    /// soon (`invisibleTimeMillisWhenClear`), for the group's other consumers.
    pub(crate) async fn return_client_messages(&self, client_id: &str) {
        let entries = self.renewals.take_client(client_id);
        if entries.is_empty() {
            return;
        }
        tracing::info!("client {client_id} is gone: returning {} held message(s)", entries.len());
        let clear = self.config.renew.clear_invisible_ms;
        let returns = entries.into_iter().map(|entry| async move {
            let held = entry.lock().await;
            if let Err(refusal) = self.change_invisible(&held.topic, &held.group, &held.handle, clear).await {
                tracing::debug!("returning {} failed: {}", held.handle, refusal.0.message);
            }
        });
        futures_util::stream::iter(returns).for_each_concurrent(CONCURRENT_RENEWALS, |f| f).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(offset: i64) -> ClientHandle {
        ClientHandle::parse(&format!("0 1700000000000 60000 0 0 broker-a 1 {offset} 99")).unwrap()
    }

    #[tokio::test]
    async fn held_until_released_per_client_and_group() {
        let r = Renewals::default();
        r.hold("c1", "g", "T", handle(1), 0);
        r.hold("c1", "g", "T", handle(2), 0);
        r.hold("c2", "g", "T", handle(3), 0);
        assert_eq!(r.count(), 3);
        let text = handle(1).to_string();
        assert_eq!(r.release("c2", "g", &text).await, None, "another client's message");
        assert_eq!(r.release("c1", "h", &text).await, None, "another group");
        assert_eq!(r.release("c1", "g", &text).await, Some(handle(1)));
        assert_eq!(r.release("c1", "g", &text).await, None, "released once");
        assert_eq!(r.take_client("c1").len(), 1);
        assert_eq!(r.clients(), ["c2"]);
        r.forget(&("c2".into(), "g".into()), &handle(3).to_string());
        assert_eq!(r.count(), 0);
    }
}
