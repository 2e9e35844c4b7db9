//! ACL 1.0 as Java's `plain_acl.yml` defines it, for the broker and the
//! proxy alike: the file's accounts, white addresses and permissions
//! ([`Rules`], watched by [`RulesFile`]), remote address patterns
//! ([`AddressPattern`]), request signatures ([`sign`]) and what an account
//! may do on a topic or group ([`Account::check`]).
//!
//! It never depends on the protocol, sockets or a runtime: callers hand it
//! addresses, keys, signed bytes and resource names, and decide themselves
//! what a request needs and how a refusal is answered.

#![forbid(unsafe_code)]

mod address;
mod file;
mod rules;
pub mod sign;

pub use address::{AddressPattern, Segment};
pub use file::RulesFile;
pub use rules::{ANY, Account, DENY, PUB, RETRY_PREFIX, Rules, SUB, group_resource, parse_perm, permits};

/// What can go wrong: a file that does not load, or an account refused a
/// resource.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AclError {
    /// A problem in `plain_acl.yml`, with the line it is on (1-based).
    #[error("line {line}: {message}")]
    File { line: usize, message: String },
    /// The account may not use a resource (`topic:<name>` or
    /// `group:<name>`); worded as Java's `AclException`.
    #[error("No default permission for {0}")]
    Denied(String),
}

impl AclError {
    /// The file's line, for [`AclError::File`].
    pub fn line(&self) -> Option<usize> {
        match self {
            AclError::File { line, .. } => Some(*line),
            AclError::Denied(_) => None,
        }
    }
}
