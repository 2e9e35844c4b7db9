//! One function per request: decode the typed header (and body), act on the
//! tables, build the response. Failures are [`crate::NamesrvError`]s that
//! [`crate::NameServer::process`] turns into Java's codes and remarks.

pub(crate) mod broker;
pub(crate) mod config;
pub(crate) mod kv;
pub(crate) mod route;

#[cfg(test)]
mod tests;
