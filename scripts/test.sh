#!/usr/bin/env bash
# The project's test command: everything CI checks, in order, stopping at the
# first failure. Run it from anywhere inside the checkout.
#
#   scripts/test.sh    formatting, lints, every Rust test, a bounded fuzz run,
#                      then the distribution (bin/, image, nix, compose) and
#                      the container suites
#
# CARGO_TARGET_DIR may point outside the checkout to keep builds warm.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "fuzz: every decoder for a bounded time (docs/security.md)"
scripts/fuzz.sh "${RMQ_FUZZ_SECONDS:-15}"

step "distribution: bin/, image, nix, compose"
scripts/test-dist.sh

step "integration: every documented mode in containers (docs/integration.md)"
scripts/test-integration.sh
