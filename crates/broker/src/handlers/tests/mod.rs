//! Unit tests of the request handlers over an in-memory log: each rule of a
//! handler, with no store files, no sockets and no background tasks. The
//! wire tests (`crates/broker/tests/`) check the same handlers end to end.

mod offsets;
mod pull;
mod recall;
mod send;
mod send_back;
