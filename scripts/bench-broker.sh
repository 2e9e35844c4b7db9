#!/usr/bin/env bash
# Broker benchmarks of docs/benchmarks.md ("Broker"): starts a release
# NameServer and broker on loopback in a temporary home, runs mqbench for each
# case, prints the summary lines with the broker's CPU time per message (from
# /proc), and stops everything. Every case is bounded
# by --duration; the whole run takes about (cases x DURATION) seconds.
#
#   scripts/bench-broker.sh               # all cases, 10 s each
#   DURATION=30 scripts/bench-broker.sh   # longer runs
#   BIN=/path/to/release scripts/bench-broker.sh
#                                         # prebuilt mqnamesrv/mqbroker/mqbench
#                                         # (scripts/bench-ab.sh compares two)
#   CASES='64 in flight' scripts/bench-broker.sh
#                                         # only the cases whose label matches
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CASES=${CASES:-}
if [ -n "${BIN:-}" ]; then
  bin=$BIN
else
  target=${CARGO_TARGET_DIR:-$PWD/target}
  cargo build --release --locked -p rmq-cli --bin mqnamesrv --bin mqbroker --bin mqbench >&2
  bin=$target/release
fi

home=$(mktemp -d)
ns_port=39876
broker_port=39911
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$home"
}
trap cleanup EXIT

printf 'listenPort=%s\n' "$ns_port" >"$home/namesrv.conf"
HOME=$home "$bin/mqnamesrv" -c "$home/namesrv.conf" >"$home/namesrv.out" 2>&1 &
pids+=($!)

start_broker() { # $1 = flushDiskType
  printf 'listenPort=%s\nbrokerIP1=127.0.0.1\nflushDiskType=%s\n' "$broker_port" "$1" >"$home/broker.conf"
  HOME=$home "$bin/mqbroker" -n "127.0.0.1:$ns_port" -c "$home/broker.conf" >"$home/broker.out" 2>&1 &
  broker_pid=$!
  for _ in $(seq 1 100); do grep -q "boot success" "$home/broker.out" && return 0; sleep 0.1; done
  echo "broker did not boot: $(tail -n 3 "$home/broker.out")" >&2
  exit 1
}
stop_broker() { kill "$broker_pid"; wait "$broker_pid" || true; rm -rf "$home/store"; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Prints mqbench's summary and the broker's CPU time (user + system, from
# /proc) per message sent.
run() { # $1 = label, rest = mqbench producer options
  local label=$1; shift
  local line before after sent
  if [ -n "$CASES" ] && ! printf '%s' "$label" | grep -Eq -- "$CASES"; then return 0; fi
  before=$(cpu_ticks "$broker_pid")
  line=$("$bin/mqbench" producer -n "127.0.0.1:$ns_port" --duration "$DURATION" "$@" | tail -n 1)
  after=$(cpu_ticks "$broker_pid")
  sent=$(printf '%s' "$line" | sed -n 's/.*sent \([0-9]*\) .*/\1/p')
  printf '%-44s %s; broker CPU %s us/msg\n' "$label" "${line#Summary: }" \
    "$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="${sent:-0}" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "-" }')"
}

echo "date: $(date -u +%FT%TZ)  load: $(cut -d' ' -f1-3 /proc/loadavg)  duration: ${DURATION}s per case"
for flush in ASYNC_FLUSH SYNC_FLUSH; do
  start_broker "$flush"
  for size in 128 1024; do
    for w in 1 64; do
      run "$flush ${size} B, $w in flight" -t "Bench$flush$size" -s "$size" -w "$w"
    done
  done
  run "$flush 1024 B, batches of 16, 16 in flight" -t "Bench${flush}Batch" -s 1024 -w 16 -b 16
  stop_broker
done
