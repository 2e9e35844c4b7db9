//! Exit codes of RocketMQ's startup classes (`NamesrvStartup`,
//! `BrokerStartup`). Java exits with negative numbers, which the shell sees
//! modulo 256.

/// `-h`/`--help`, `-p`, or a clean shutdown.
pub const OK: i32 = 0;
/// The command line does not parse (`ServerUtil.parseCmdLine`).
pub const BAD_ARGUMENTS: i32 = 1;
/// Java's `-1`: any failure to start (unreadable config file, bad value,
/// port in use, unwritable KV file...).
pub const START_FAILED: i32 = 255;
/// Java's `-2`: `ROCKETMQ_HOME` unset (only where a binary needs it).
pub const NO_ROCKETMQ_HOME: i32 = 254;
/// Java's `-3`: initialization failed after the config was read.
pub const INIT_FAILED: i32 = 253;
