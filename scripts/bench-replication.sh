#!/usr/bin/env bash
# SYNC_MASTER against ASYNC_MASTER (docs/benchmarks.md, "Broker"): a release
# NameServer, a master and its slave on loopback, the same mqbench load for
# each role; prints both summaries and the difference. Bounded by DURATION.
# BIN=/path/to/release uses prebuilt binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh
bench_setup
ns_port=38876
start_namesrv "$ns_port"

boot() { # $1 = name, $2 = properties
  mkdir -p "$home/$1"
  printf '%s\nbrokerIP1=127.0.0.1\nbrokerClusterName=BenchCluster\nbrokerName=bench-%s\n' "$2" "$role" >"$home/$1/broker.conf"
  start_broker_process "$home/$1" "$home/$1/broker.conf" "$home/$1/out" "$ns_port"
}

declare -A tps
port=38911
for role in ASYNC_MASTER SYNC_MASTER; do
  boot "master-$role" "brokerRole=$role
listenPort=$port"
  boot "slave-$role" "brokerRole=SLAVE
brokerId=1
listenPort=$((port + 10))"
  sleep 4 # the slave connects and reports before the clock starts
  line=$("$bin/mqbench" producer -n "127.0.0.1:$ns_port" -t "Bench$role" -s 1024 -w "${INFLIGHT:-64}" --duration "$DURATION" | tail -n 1)
  printf '%-13s 1024 B, %s in flight: %s\n' "$role" "${INFLIGHT:-64}" "${line#Summary: }"
  tps[$role]=$(sed -n 's/.* s, \([0-9]*\) msg\/s.*/\1/p' <<<"$line")
  port=$((port + 100))
done
awk -v a="${tps[ASYNC_MASTER]}" -v s="${tps[SYNC_MASTER]}" \
  'BEGIN { printf "SYNC_MASTER is %.1f %% below ASYNC_MASTER\n", (a - s) * 100 / a }'
