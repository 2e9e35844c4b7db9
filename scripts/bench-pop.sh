#!/usr/bin/env bash
# POP against pull (docs/benchmarks.md, "POP consumption"): a release
# NameServer and broker on loopback, a topic filled with COUNT 1 KB messages,
# then the same backlog drained once by an mqbench pull consumer (32 per
# pull, offsets committed on the pulls) and once by an mqbench POP consumer
# (32 per POP, one BATCH_ACK per answer, 4 poppers). Prints each one's
# consume rate and the broker's CPU per consumed message. Bounded: each drain
# stops after COUNT messages or LIMIT seconds.
#
#   scripts/bench-pop.sh                       # 300,000 messages
#   COUNT=1000000 scripts/bench-pop.sh
#   BIN=/path/to/release scripts/bench-pop.sh  # prebuilt binaries
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-300000}
LIMIT=${LIMIT:-120}
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh
bench_setup
start_namesrv 59876
printf 'listenPort=59911\nbrokerIP1=127.0.0.1\n' >"$home/broker.conf"
start_broker_process "$home" "$home/broker.conf" "$home/broker.out" 59876
broker=$broker_pid
echo "filling PopBench with $COUNT messages..." >&2
"$bin/mqbench" producer -n 127.0.0.1:59876 -t PopBench -s 1024 -w 32 -b 16 -q "$COUNT" --duration "$LIMIT" | tail -n 1 >&2

echo "date: $(date -u +%FT%TZ)  load: $(cut -d' ' -f1-3 /proc/loadavg)  $COUNT messages of 1 KB"
ticks_per_second=$(getconf CLK_TCK)
drain() { # $1 label, rest: mqbench consumer arguments
  local label=$1
  shift
  echo "draining by $label..." >&2
  local before after
  before=$(cpu_ticks "$broker")
  "$bin/mqbench" consumer -n 127.0.0.1:59876 -t PopBench -q "$COUNT" --duration "$LIMIT" "$@" >"$home/$label.out" 2>&1
  after=$(cpu_ticks "$broker")
  printf '%-5s %s\n' "$label" "$(grep -h '^Summary' "$home/$label.out" | sed 's/^Summary: //')"
  printf "%-5s broker CPU: %s us per message\n" "$label" "$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$COUNT" 'BEGIN { printf "%.2f", t * 1000000 / hz / n }')"
}
drain pull -g bench-pull --from-start
drain pop -g bench-pop --pop
