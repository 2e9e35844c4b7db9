#!/usr/bin/env bash
# End-to-end latency at fixed rates (docs/benchmarks.md, "End to end at a
# fixed rate"): a release NameServer and broker on loopback, an mqbench
# consumer pulling with long polling, and an mqbench producer sending 1 KB
# messages at each rate of RATES (--tps: on a schedule, latency from each
# send's scheduled time). Prints, per rate, the producer's send latency, the
# consumer's scheduled-send-to-consumed latency, and the broker's CPU per
# message (sends and pulls) from /proc. Bounded by (rates x DURATION) seconds.
#
#   scripts/bench-e2e.sh                      # 5,000, 10,000, 20,000 msg/s, 15 s each
#   RATES='8000 20000' DURATION=30 scripts/bench-e2e.sh
#   BIN=/path/to/release scripts/bench-e2e.sh # prebuilt binaries
#   BROKER_EXTRA_CONF=$'flushIntervalCommitLog=5000' scripts/bench-e2e.sh
#                                             # more broker keys, one per line
set -euo pipefail
cd "$(dirname "$0")/.."
RATES=${RATES:-5000 10000 20000}
DURATION=${DURATION:-15}
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh
bench_setup
start_namesrv 59876
printf 'listenPort=59911\nbrokerIP1=127.0.0.1\n' >"$home/broker.conf"
[ -z "${BROKER_EXTRA_CONF:-}" ] || printf '%s\n' "$BROKER_EXTRA_CONF" >>"$home/broker.conf"
start_broker_process "$home" "$home/broker.conf" "$home/broker.out" 59876
broker=$broker_pid
# Creates the topic before the consumers look up its queues.
"$bin/mqbench" producer -n 127.0.0.1:59876 -t E2E -s 1024 -w 4 --duration 2 >/dev/null

echo "date: $(date -u +%FT%TZ)  load: $(cut -d' ' -f1-3 /proc/loadavg)  ${DURATION}s per rate"
for tps in $RATES; do
  echo "rate $tps msg/s..." >&2
  "$bin/mqbench" consumer -n 127.0.0.1:59876 -t E2E -g "e2e-$tps" --duration $((DURATION + 3)) >"$home/consumer.out" 2>&1 &
  consumer=$!
  sleep 2
  before=$(cpu_ticks "$broker")
  sent=$("$bin/mqbench" producer -n 127.0.0.1:59876 -t E2E -s 1024 -w 64 --tps "$tps" --duration "$DURATION" | tail -n 1)
  after=$(cpu_ticks "$broker")
  wait "$consumer" || true
  ticks_per_second=$(getconf CLK_TCK)
  printf '%6s msg/s  send:  %s\n' "$tps" "${sent#Summary: }"
  printf '%6s msg/s  e2e:   %s\n' "$tps" "$(grep -h '^E2E' "$home/consumer.out" | sed 's/^E2E (scheduled send to consumed): //')"
  printf '%6s msg/s  broker CPU: %d us per message (sends and pulls)\n' "$tps" \
    $(((after - before) * 1000000 / ticks_per_second / (tps * DURATION)))
done
