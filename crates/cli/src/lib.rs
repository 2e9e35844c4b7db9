//! What the rmq binaries share, kept thin so that each binary is argument
//! parsing plus a call into its server crate:
//!
//! * [`java_opts`]: the few JVM-style settings the RocketMQ scripts pass in
//!   `JAVA_OPT`/`JAVA_OPT_EXT` that matter here (`-Duser.home=`, the
//!   serialize type);
//! * [`logging`]: tracing to stdout and `<home>/logs/rocketmqlogs/<name>.log`,
//!   and [`logging::announce`] for boot lines that must appear verbatim;
//! * [`properties`]: reading a Java `.properties` file, reporting its keys;
//! * [`signals`]: SIGTERM/SIGINT to a [`rmq_remoting::CancellationToken`];
//! * [`tls`]: the `tls.*` switches from `-D` options and the TLS file;
//! * [`exit`]: RocketMQ's exit codes;
//! * [`admin`]: `mqadmin`'s sub-commands, over `rmq-client`.
//!
//! Servers never depend on this crate; `anyhow` stops here.

#![forbid(unsafe_code)]

pub mod admin;
pub mod apps;
pub mod bench;
pub mod exit;
pub mod java_opts;
pub mod logging;
pub mod properties;
pub mod signals;
pub mod tls;

/// Every rmq binary allocates through mimalloc. A broker request allocates
/// a few dozen small strings (the header's ext fields) and frees them on
/// another thread as often as not; glibc's allocator spent a tenth of the
/// broker's CPU on that (docs/benchmarks.md, "CPU per message").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
