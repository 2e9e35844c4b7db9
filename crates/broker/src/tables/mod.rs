//! The broker's metadata tables, each in memory behind short locks and saved
//! to its own file under `config/`: topics (`topics.json`), subscription
//! groups (`subscriptionGroup.json`), consumer offsets
//! (`consumerOffset.json`) and delay-level progress (`delayOffset.json`).
//! They know nothing of requests or of each other.

mod delay_offsets;
mod file;
mod groups;
mod offsets;
mod request_modes;
mod topics;

pub use delay_offsets::DelayOffsets;
pub use file::TableFile;
pub use groups::{AutoCreate, SubscriptionGroups};
pub use offsets::ConsumerOffsets;
pub use request_modes::RequestModes;
pub use topics::{CreateTopicError, TopicDefaults, TopicTable};

use std::sync::atomic::{AtomicBool, Ordering};

/// Warns once when first-use creation is refused because a table reached its
/// `autoCreate…MaxCount`, and again only after a creation succeeded: a
/// flood of sends to new names must not also flood the log.
#[derive(Debug, Default)]
struct FullWarning(AtomicBool);

impl FullWarning {
    fn refused(&self, table: &str, count: usize, key: &str) {
        if !self.0.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "{table}: {count} entries, the limit of {key}; names used for the first time are no longer \
                 created (admins still create them); logged once until a creation succeeds again"
            );
        }
    }

    fn created(&self) {
        if self.0.load(Ordering::Relaxed) {
            self.0.store(false, Ordering::Relaxed);
        }
    }
}
