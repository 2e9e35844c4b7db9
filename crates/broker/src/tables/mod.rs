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
pub use groups::SubscriptionGroups;
pub use offsets::ConsumerOffsets;
pub use request_modes::RequestModes;
pub use topics::{TopicDefaults, TopicTable};
