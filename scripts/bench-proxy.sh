#!/usr/bin/env bash
# RocketMQ 5 clients through the proxy (docs/benchmarks.md, "RocketMQ 5
# clients through the proxy"): release binaries on loopback, the official
# 5.x Rust client (`bench_v5`, crates/interop-v5/examples) sending COUNT
# 1 KB messages with INFLIGHT in flight, then a simple consumer receiving
# and acking them. Once through the broker's own proxy (local mode,
# `mqbroker --enable-proxy`) and once through `mqproxy` (cluster mode) in
# front of the same broker. Prints each run's summary and the CPU the
# broker and the proxy spent per message.
#
#   scripts/bench-proxy.sh                    # 100,000 messages, 64 in flight
#   COUNT=200000 INFLIGHT=128 scripts/bench-proxy.sh
#   BIN=/path/to/release scripts/bench-proxy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-100000}
INFLIGHT=${INFLIGHT:-64}
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked -p rmq-cli --bin mqnamesrv --bin mqbroker --bin mqproxy --bin mqadmin >&2
fi
bench_setup
# The client: release, thin LTO is plenty for a load generator.
CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  cargo build --release --locked -p rmq-interop-v5 --example bench_v5 >&2
client=${CARGO_TARGET_DIR:-$PWD/target}/release/examples/bench_v5

start_namesrv 59876
printf 'listenPort=59911\nbrokerIP1=127.0.0.1\n' >"$home/broker.conf"
printf '{"grpcServerPort": 58081}\n' >"$home/local.json"
printf '{"grpcServerPort": 58082}\n' >"$home/cluster.json"
HOME=$home "$bin/mqbroker" -n 127.0.0.1:59876 -c "$home/broker.conf" --enable-proxy -pc "$home/local.json" \
  >"$home/broker.out" 2>&1 &
broker=$!
pids+=("$broker")
for _ in $(seq 1 6000); do grep -q "The proxy boot success" "$home/broker.out" && break; sleep 0.01; done
HOME=$home "$bin/mqproxy" -n 127.0.0.1:59876 -pc "$home/cluster.json" >"$home/proxy.out" 2>&1 &
proxy=$!
pids+=("$proxy")
for _ in $(seq 1 6000); do grep -q "The proxy boot success" "$home/proxy.out" && break; sleep 0.01; done
HOME=$home "$bin/mqadmin" updateTopic -n 127.0.0.1:59876 -c DefaultCluster -t ProxyBenchLocal -r 8 -w 8 >/dev/null
HOME=$home "$bin/mqadmin" updateTopic -n 127.0.0.1:59876 -c DefaultCluster -t ProxyBenchCluster -r 8 -w 8 >/dev/null
sleep 1

echo "date: $(date -u +%FT%TZ)  load: $(cut -d' ' -f1-3 /proc/loadavg)  $COUNT messages of 1 KB, $INFLIGHT in flight"
hz=$(getconf CLK_TCK)
per_msg() { awk -v t="$1" -v hz="$hz" -v n="$COUNT" 'BEGIN { printf "%.1f", t * 1000000 / hz / n }'; }
run() { # $1 label, $2 port, $3 topic
  local b0 p0 b1 p1
  b0=$(cpu_ticks "$broker") p0=$(cpu_ticks "$proxy")
  "$client" "127.0.0.1:$2" "$3" "$COUNT" "$INFLIGHT" 1024 >"$home/$1.out"
  b1=$(cpu_ticks "$broker") p1=$(cpu_ticks "$proxy")
  sed "s/^/$1 /" "$home/$1.out"
  echo "$1 CPU per message (send + receive + ack): broker process $(per_msg $((b1 - b0))) us, mqproxy process $(per_msg $((p1 - p0))) us"
}
run local 58081 ProxyBenchLocal
run cluster 58082 ProxyBenchCluster
