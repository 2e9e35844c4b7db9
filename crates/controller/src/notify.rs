//! Sends NOTIFY_BROKER_ROLE_CHANGED (oneway) to the members of a group
//! after an election, in the background: a broker that does not answer
//! delays nobody, and learns the new master at its next registration anyway.

use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::{Client, ClientConfig, RejectAll};

use crate::controller::RoleChange;

#[derive(Clone)]
pub struct Notifier {
    client: Client,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier")
    }
}

impl Default for Notifier {
    fn default() -> Notifier {
        let config = ClientConfig { connect_timeout: Duration::from_secs(3), ..ClientConfig::default() };
        Notifier { client: Client::new(config, Arc::new(RejectAll)) }
    }
}

impl Notifier {
    pub fn send(&self, notices: Vec<RoleChange>) {
        for notice in notices {
            for target in notice.targets {
                let client = self.client.clone();
                let request = notice.request.clone().into_oneway();
                tokio::spawn(async move {
                    tracing::info!("Try notify broker {target} that role changed");
                    if let Err(e) = client.invoke_oneway(&target, request).await {
                        tracing::warn!("Failed to notify broker {target} that role changed: {e}");
                    }
                });
            }
        }
    }

    pub fn close(&self) {
        self.client.close_all();
    }
}
