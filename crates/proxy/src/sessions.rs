//! The 5.x clients the proxy knows, by client id (`x-mq-client-id`): the
//! settings each sent on its Telemetry stream, what it said it is, and the
//! stream's sending half so the proxy can push commands to it (transaction
//! checks, thread-stack and verify-message requests).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use rmq_protocol::LanguageCode;

use crate::pb::{ClientType, Settings, TelemetryCommand, settings::PubSub};

/// Where commands for one client's Telemetry stream go.
pub(crate) type TelemetrySender = mpsc::Sender<Result<TelemetryCommand, tonic::Status>>;

/// Most clients remembered at once; beyond it new clients are refused, so a
/// flood of fake client ids cannot grow the table without bound.
pub(crate) const MAX_SESSIONS: usize = 100_000;

/// How long a client whose Telemetry stream closed is remembered without a
/// heartbeat (clients heartbeat every 10–30 s).
pub(crate) const FORGET_AFTER: Duration = Duration::from_secs(120);

/// What a client said of itself when it sent its settings.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientInfo {
    pub language: LanguageCode,
    /// As the client wrote it (`5.0.0`).
    pub version: String,
    /// When its first settings arrived, in ms since the epoch.
    pub since_ms: i64,
}

/// A connected consumer: enough to register it at brokers and answer for it.
#[derive(Clone, Debug)]
pub(crate) struct Consumer {
    pub client_id: String,
    pub settings: Settings,
    pub info: ClientInfo,
    /// `None` once its stream closed.
    pub telemetry: Option<TelemetrySender>,
}

#[derive(Debug)]
struct Session {
    settings: Settings,
    info: ClientInfo,
    telemetry: Option<TelemetrySender>,
    /// The last Settings or Heartbeat.
    last_seen: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct Sessions {
    by_client: Mutex<HashMap<String, Session>>,
    next: AtomicUsize,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.by_client.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records what a client said it is; false when the table is full.
    pub fn register(&self, client_id: &str, settings: Settings, info: ClientInfo, telemetry: TelemetrySender) -> bool {
        let mut all = self.lock();
        if all.len() >= MAX_SESSIONS && !all.contains_key(client_id) {
            return false;
        }
        // Settings sent again keep the time the client first appeared.
        let since_ms = all.get(client_id).map_or(info.since_ms, |s| s.info.since_ms);
        let info = ClientInfo { since_ms, ..info };
        let session = Session { settings, info, telemetry: Some(telemetry), last_seen: Instant::now() };
        all.insert(client_id.to_owned(), session);
        true
    }

    /// The consumer `client_id`, if the proxy knows one by that id.
    pub fn consumer(&self, client_id: &str) -> Option<Consumer> {
        let all = self.lock();
        let session = all.get(client_id)?;
        Self::as_consumer(client_id, session)
    }

    /// Every consumer whose stream is open.
    pub fn connected_consumers(&self) -> Vec<Consumer> {
        let all = self.lock();
        all.iter().filter_map(|(id, s)| Self::as_consumer(id, s)).filter(|c| c.telemetry.is_some()).collect()
    }

    fn as_consumer(client_id: &str, s: &Session) -> Option<Consumer> {
        matches!(s.settings.pub_sub, Some(PubSub::Subscription(_))).then(|| Consumer {
            client_id: client_id.to_owned(),
            settings: s.settings.clone(),
            info: s.info.clone(),
            telemetry: s.telemetry.clone().filter(|t| !t.is_closed()),
        })
    }

    /// A heartbeat: the client is alive; its settings, if known.
    pub fn touch(&self, client_id: &str) -> Option<Settings> {
        let mut all = self.lock();
        let session = all.get_mut(client_id)?;
        session.last_seen = Instant::now();
        Some(session.settings.clone())
    }

    /// Forgets clients whose stream is closed and that have not been seen
    /// for `idle`; returns how many.
    pub fn sweep(&self, idle: Duration) -> usize {
        let mut all = self.lock();
        let before = all.len();
        all.retain(|_, s| s.telemetry.as_ref().is_some_and(|t| !t.is_closed()) || s.last_seen.elapsed() < idle);
        before - all.len()
    }

    pub fn settings(&self, client_id: &str) -> Option<Settings> {
        self.lock().get(client_id).map(|s| s.settings.clone())
    }

    /// The client's stream closed: it stays known until it says goodbye.
    pub fn detach(&self, client_id: &str, telemetry: &TelemetrySender) {
        if let Some(s) = self.lock().get_mut(client_id)
            && s.telemetry.as_ref().is_some_and(|t| t.same_channel(telemetry))
        {
            s.telemetry = None;
        }
    }

    pub fn remove(&self, client_id: &str) -> Option<Settings> {
        self.lock().remove(client_id).map(|s| s.settings)
    }

    /// Topics some connected producer publishes to: the producer groups the
    /// proxy registers at brokers for transaction checks.
    pub fn published_topics(&self) -> BTreeSet<String> {
        self.lock()
            .values()
            .filter_map(|s| match &s.settings.pub_sub {
                Some(PubSub::Publishing(p)) => Some(p.topics.iter().map(|t| t.name.clone()).collect::<Vec<_>>()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// A connected producer of `topic`, taken in turn (Java's
    /// `getAvailableChannel`), to ask about a transaction.
    pub fn producer_of(&self, topic: &str) -> Option<TelemetrySender> {
        let all = self.lock();
        let candidates: Vec<&TelemetrySender> = all
            .values()
            .filter(|s| s.settings.client_type == Some(ClientType::Producer as i32))
            .filter(|s| match &s.settings.pub_sub {
                Some(PubSub::Publishing(p)) => p.topics.iter().any(|t| t.name == topic),
                _ => false,
            })
            .filter_map(|s| s.telemetry.as_ref())
            .filter(|t| !t.is_closed())
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % candidates.len();
        Some(candidates[i].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::{Publishing, Resource};

    fn producer_of(topic: &str) -> Settings {
        Settings {
            client_type: Some(ClientType::Producer as i32),
            pub_sub: Some(PubSub::Publishing(Publishing {
                topics: vec![Resource { resource_namespace: String::new(), name: topic.into() }],
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    #[test]
    fn producers_by_topic_and_forgetting_the_gone() {
        let sessions = Sessions::default();
        let (tx, rx) = mpsc::channel(1);
        assert!(sessions.register("a", producer_of("T"), ClientInfo::default(), tx.clone()));
        assert!(sessions.consumer("a").is_none(), "a producer is no consumer");
        assert!(sessions.producer_of("T").is_some());
        assert!(sessions.producer_of("U").is_none());
        assert_eq!(sessions.published_topics().into_iter().collect::<Vec<_>>(), ["T"]);
        // Stream open: kept however long idle.
        assert_eq!(sessions.sweep(Duration::ZERO), 0);
        drop(rx);
        assert!(sessions.producer_of("T").is_none(), "a closed stream is not asked");
        sessions.detach("a", &tx);
        assert!(sessions.touch("a").is_some(), "remembered after its stream closed");
        assert_eq!(sessions.sweep(Duration::from_secs(60)), 0, "seen just now");
        assert_eq!(sessions.sweep(Duration::ZERO), 1);
        assert!(sessions.settings("a").is_none());
    }
}
