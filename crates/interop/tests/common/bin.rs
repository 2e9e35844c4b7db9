//! The workspace's binaries, for tests that run real processes.

use std::path::PathBuf;

/// `$CARGO_TARGET_DIR/debug/<name>` (or `target/debug`), next to the test
/// executable's `deps/` directory. Build them first: `cargo build -p rmq-cli`.
pub fn path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let bin = dir.join(name);
    assert!(bin.exists(), "{} is missing: run `cargo build -p rmq-cli` first", bin.display());
    bin
}
