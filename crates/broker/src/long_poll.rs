//! Long polling: pulls that find no new message are parked until a message
//! for their queue is dispatched, or their suspend time runs out.
//!
//! Each (topic, queue) has a [`Notify`]. The store's dispatcher calls
//! [`PullWaiters::arrived`] for every record it puts into a consume queue,
//! which wakes all parked pulls of that queue; they then run again without
//! suspension and answer with what they find. Registering interest happens
//! before the last look at the queue, so a message dispatched in between is
//! never missed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct PullWaiters {
    queues: Mutex<HashMap<String, HashMap<i32, Arc<Notify>>>>,
}

/// The key of a topic's own notifier, woken by an arrival in any of its
/// queues: POPs of every queue (`queueId` -1) park on it.
const ANY_QUEUE: i32 = -1;

impl PullWaiters {
    pub fn new() -> PullWaiters {
        PullWaiters::default()
    }

    /// The notifier of a queue, made on first use. Await
    /// `notify.notified()` (enabled before re-checking the queue) to park.
    pub fn notifier(&self, topic: &str, queue_id: i32) -> Arc<Notify> {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = queues.get(topic).and_then(|q| q.get(&queue_id)) {
            return n.clone();
        }
        queues.entry(topic.to_owned()).or_default().entry(queue_id).or_default().clone()
    }

    /// The notifier woken by an arrival in any queue of `topic`.
    pub fn topic_notifier(&self, topic: &str) -> Arc<Notify> {
        self.notifier(topic, ANY_QUEUE)
    }

    /// A message reached the queue: wakes every pull parked on it, and every
    /// POP parked on its topic.
    pub fn arrived(&self, topic: &str, queue_id: i32) {
        let queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(topic_waiters) = queues.get(topic) {
            if let Some(n) = topic_waiters.get(&queue_id) {
                n.notify_waiters();
            }
            if let Some(n) = topic_waiters.get(&ANY_QUEUE) {
                n.notify_waiters();
            }
        }
    }

    /// Wakes every parked pull (shutdown, so they answer at once).
    pub fn wake_all(&self) {
        let queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        queues.values().flat_map(HashMap::values).for_each(|n| n.notify_waiters());
    }

    /// Forgets a deleted topic's notifiers.
    pub fn remove_topic(&self, topic: &str) {
        self.queues.lock().unwrap_or_else(|e| e.into_inner()).remove(topic);
    }
}

/// The store's dispatcher tells the waiters of every record it dispatched.
impl rmq_store::DispatchListener for PullWaiters {
    fn on_dispatch(&self, m: &rmq_store::Dispatched<'_>) {
        self.arrived(m.topic, m.queue_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn arrival_wakes_a_parked_pull() {
        let waiters = Arc::new(PullWaiters::new());
        let notify = waiters.notifier("T", 1);
        let parked = notify.notified();
        tokio::pin!(parked);
        parked.as_mut().enable();
        // Another queue's arrival does not wake it.
        waiters.arrived("T", 2);
        assert!(tokio::time::timeout(Duration::from_millis(20), parked.as_mut()).await.is_err());
        waiters.arrived("T", 1);
        tokio::time::timeout(Duration::from_secs(1), parked).await.expect("woken");
    }
}
