//! Domain types of RocketMQ that both the wire protocol and the store speak.
//!
//! This crate owns the vocabulary: offsets as newtypes, message properties and
//! their string encoding, sysFlag and permission bits, topic and subscription
//! group configuration, data versions, message ids, Java's `String.hashCode`, and
//! the fastjson dialect RocketMQ writes its JSON in.
//!
//! It does no I/O and must never depend on tokio, sockets or files: the protocol
//! codec, the store and every tool build on it, so it stays small and pure.

#![forbid(unsafe_code)]

pub mod allow_list;
pub mod clock;
pub mod config;
pub mod data_version;
pub mod fastjson;
pub mod java;
pub mod log_level;
pub mod message_queue;
pub mod msg_id;
pub mod offsets;
pub mod perm;
pub mod properties;
pub mod record;
pub mod role;
pub mod subscription;
pub mod sysflag;
pub mod tables;
pub mod topic;
pub mod topic_attributes;

pub use data_version::DataVersion;
pub use message_queue::MessageQueue;
pub use offsets::{PhysicalOffset, QueueOffset};
pub use properties::Properties;
pub use role::{BrokerRole, FlushDiskType};
pub use subscription::SubscriptionGroupConfig;
pub use topic::{TopicConfig, TopicFilterType};
