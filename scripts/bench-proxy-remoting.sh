#!/usr/bin/env bash
# Remoting clients through the proxy's remoting port (docs/benchmarks.md,
# "Remoting clients through mqproxy"): release binaries on loopback, a client
# we did not write (rocketmq-client-rust 1.0, crates/interop/examples/
# peer_bench.rs) sending 1 KB messages with INFLIGHT in flight for SECONDS,
# with a push consumer receiving them (end-to-end latency). Once straight to
# the broker (the NameServer's routes), once through `mqproxy`'s remoting
# port (the client takes the proxy for its NameServer). Prints each run's
# summary and the CPU the broker and the proxy spent per message.
#
#   scripts/bench-proxy-remoting.sh              # 15 s, 64 in flight
#   SECONDS_EACH=30 INFLIGHT=128 scripts/bench-proxy-remoting.sh
#   BIN=/path/to/release scripts/bench-proxy-remoting.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${SECONDS_EACH:-15}
INFLIGHT=${INFLIGHT:-64}
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked -p rmq-cli --bin mqnamesrv --bin mqbroker --bin mqproxy --bin mqadmin >&2
fi
bench_setup
# The client: release, thin LTO is plenty for a load generator.
CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  cargo build --release --locked -p rmq-interop --example peer_bench >&2
client=${CARGO_TARGET_DIR:-$PWD/target}/release/examples/peer_bench

start_namesrv 59876
printf 'listenPort=59911\nbrokerIP1=127.0.0.1\n' >"$home/broker.conf"
start_broker_process "$home" "$home/broker.conf" "$home/broker.out" 59876
broker=$broker_pid
printf '{"grpcServerPort": 58082, "remotingListenPort": 58080}\n' >"$home/proxy.json"
HOME=$home "$bin/mqproxy" -n 127.0.0.1:59876 -pc "$home/proxy.json" >"$home/proxy.out" 2>&1 &
proxy=$!
pids+=("$proxy")
for _ in $(seq 1 6000); do grep -q "The proxy boot success" "$home/proxy.out" && break; sleep 0.01; done
HOME=$home "$bin/mqadmin" updateTopic -n 127.0.0.1:59876 -c DefaultCluster -t PeerDirect -r 8 -w 8 >/dev/null
HOME=$home "$bin/mqadmin" updateTopic -n 127.0.0.1:59876 -c DefaultCluster -t PeerViaProxy -r 8 -w 8 >/dev/null
sleep 1

echo "date: $(date -u +%FT%TZ)  load: $(cut -d' ' -f1-3 /proc/loadavg)  1 KB, $INFLIGHT in flight, ${SECONDS_EACH} s"
hz=$(getconf CLK_TCK)
run() { # $1 label, $2 the client's NameServer, $3 topic
  local b0 p0 b1 p1 sent
  b0=$(cpu_ticks "$broker") p0=$(cpu_ticks "$proxy")
  "$client" "$2" "$3" "$INFLIGHT" "$SECONDS_EACH" consume >"$home/$1.out" 2>&1
  b1=$(cpu_ticks "$broker") p1=$(cpu_ticks "$proxy")
  grep -v '^progress' "$home/$1.out" | sed "s/^/$1 /"
  sent=$(HOME=$home "$bin/mqadmin" topicStatus -n 127.0.0.1:59876 -t "$3" | awk 'NR > 1 { s += $4 } END { print s + 0 }')
  awk -v b=$((b1 - b0)) -v p=$((p1 - p0)) -v hz="$hz" -v n="$sent" -v l="$1" 'BEGIN {
    if (n > 0) printf "%s CPU per message (send + consume): broker %.1f us, mqproxy %.1f us (%d messages)\n", l, b * 1e6 / hz / n, p * 1e6 / hz / n, n }'
}
run direct 127.0.0.1:59876 PeerDirect
run via-proxy 127.0.0.1:58080 PeerViaProxy
