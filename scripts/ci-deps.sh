#!/usr/bin/env bash
# Installs the system packages the test suite needs, if they are missing.
set -euo pipefail
need=()
# Distribution (scripts/build-image.sh, scripts/test-dist.sh): dpkg-dev and
# musl-tools to build the image's busybox from Debian's source
# (scripts/build-busybox.sh, which adds a deb-src entry itself), a host busybox
# for test-dist.sh's "busybox sh" runs of bin/, `file` to check binaries are
# static, Nix to evaluate flake.nix, dash and shellcheck to hold the bin/
# scripts to POSIX sh.
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static || need+=(busybox-static)
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
command -v musl-gcc >/dev/null || need+=(musl-tools)
# A C compiler: the linker cargo calls, and mimalloc's C sources.
command -v cc >/dev/null || need+=(gcc)
command -v file >/dev/null || need+=(file)
command -v nix >/dev/null || need+=(nix-bin)
command -v dash >/dev/null || need+=(dash)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v prometheus >/dev/null || need+=(prometheus) # crates/cli/tests/metrics_prometheus.rs
command -v nsenter >/dev/null || need+=(util-linux)   # integration: the partial-partition case
command -v iptables >/dev/null || need+=(iptables)   # the same (Docker's engine brings it too)
# Python 3 and pip, for the official RocketMQ 5 Python client (below).
command -v python3 >/dev/null || need+=(python3 python3-pip)
command -v rustfmt >/dev/null || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
# The official RocketMQ 5 Python client, for crates/interop-v5/tests/python_client.rs
# (pinned: the suite was written against this version's API).
python3 -c 'import rocketmq.v5' 2>/dev/null || python3 -m pip install -q rocketmq-python-client==5.1.2
# cargo-fuzz, for scripts/fuzz.sh (libFuzzer over every decoder).
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
