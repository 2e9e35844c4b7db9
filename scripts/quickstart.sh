#!/usr/bin/env bash
# Builds rmq and starts a NameServer on localhost:9876, in the background,
# the way RocketMQ's quick start does (`nohup sh bin/mqnamesrv &`).
# Logs: ~/logs/rocketmqlogs/namesrv.log. Stop with: bin/mqshutdown namesrv
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p rmq-cli
export PATH="$PWD/target/release:$PATH"
nohup target/release/mqnamesrv >/tmp/rmq-namesrv.out 2>&1 &
for _ in $(seq 1 100); do
  if grep -q "boot success" /tmp/rmq-namesrv.out 2>/dev/null; then
    cat /tmp/rmq-namesrv.out
    exit 0
  fi
  sleep 0.1
done
echo "mqnamesrv did not report boot success; see /tmp/rmq-namesrv.out" >&2
exit 1
