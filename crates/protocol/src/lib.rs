//! RocketMQ's remoting protocol as a pure codec.
//!
//! This crate turns bytes into typed values and back: [`frame`] (length-
//! prefixed frames, decoded in two bounded steps), [`RemotingCommand`] with
//! both header encodings (JSON and ROCKETMQ binary), the [`RequestCode`] and
//! [`ResponseCode`] enums, typed custom headers ([`header`]) and the JSON
//! bodies ([`body`]). It does no I/O and knows nothing of sockets, tasks or the
//! store, so the server, the client, tools, fuzzers and benchmarks share it.
//!
//! Java counterparts (4.9.8): frames and both header encodings in
//! [`RemotingCommand.java`][rc] and [`RocketMQSerializable.java`][rs]; codes,
//! headers and bodies under `common/src/main/java/org/apache/rocketmq/common/protocol/`.
//!
//! [rc]: https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/remoting/src/main/java/org/apache/rocketmq/remoting/protocol/RemotingCommand.java
//! [rs]: https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/remoting/src/main/java/org/apache/rocketmq/remoting/protocol/RocketMQSerializable.java

#![forbid(unsafe_code)]

mod binary_header;
pub mod body;
pub mod code;
#[cfg(feature = "tokio-codec")]
pub mod codec;
pub mod command;
pub mod error;
mod ext_fields;
pub mod frame;
pub mod header;
mod json_header;
pub mod recall;
pub mod receipt;
pub mod remark;

pub use code::{RequestCode, ResponseCode};
pub use command::{Body, ExtFields, LanguageCode, RMQ_VERSION, RemotingCommand, SerializeType};
pub use error::{DEFAULT_MAX_FRAME, FrameError};
pub use header::{CommandHeader, HeaderError};
