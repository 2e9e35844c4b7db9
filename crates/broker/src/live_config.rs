//! The broker's configuration as it stands: read by handlers on every
//! request, changed while running by UPDATE_BROKER_CONFIG. Every subsystem
//! that reads a value which may change holds an `Arc<LiveConfig>`; values
//! fixed at startup are copied out at construction instead.

use std::sync::{RwLock, RwLockReadGuard};

use crate::config::BrokerConfig;

#[derive(Debug)]
pub struct LiveConfig(RwLock<BrokerConfig>);

impl LiveConfig {
    pub fn new(config: BrokerConfig) -> LiveConfig {
        LiveConfig(RwLock::new(config))
    }

    /// The configuration now; do not hold the guard across an await.
    pub fn get(&self) -> RwLockReadGuard<'_, BrokerConfig> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a runtime change.
    pub fn update(&self, change: impl FnOnce(&mut BrokerConfig)) {
        change(&mut self.0.write().unwrap_or_else(|e| e.into_inner()));
    }
}
