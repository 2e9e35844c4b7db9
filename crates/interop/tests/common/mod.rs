//! Shared setup of the interop suites: an in-process NameServer and broker on
//! free loopback ports, and the third-party client's runtime.
#![allow(dead_code, unused_imports)]

pub mod bin;
pub mod client;
pub mod servers;
