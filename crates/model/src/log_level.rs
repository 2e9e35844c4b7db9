//! `rmqLogLevel` changed at run time. Neither the broker nor the NameServer
//! knows how its logs are written: the binary that installed the subscriber
//! registers, once, how to replace its level filter, and UPDATE_BROKER_CONFIG
//! or UPDATE_NAMESRV_CONFIG calls it.

use std::sync::OnceLock;

type Hook = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

static HOOK: OnceLock<Hook> = OnceLock::new();

/// Registers how to apply a new level filter (first registration wins).
pub fn on_change(hook: impl Fn(&str) -> Result<(), String> + Send + Sync + 'static) {
    let _ = HOOK.set(Box::new(hook));
}

/// Applies `directives`; without a registered hook (tests, embedding) there is
/// nothing to change and the key is only stored.
pub fn apply(directives: &str) -> Result<(), String> {
    match HOOK.get() {
        Some(hook) => hook(directives),
        None => Ok(()),
    }
}
