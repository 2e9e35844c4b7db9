#!/usr/bin/env bash
# Timer-message benchmarks of docs/benchmarks.md ("Timer messages"): starts a
# release NameServer and broker on loopback in a temporary home and measures
#
#   1. scheduling: mqbench sends PENDING timer messages (64 in flight, 128 B),
#      all due in an hour; the summary line is the enqueue throughput;
#   2. what PENDING pending timers cost: the broker's RSS (and its anonymous
#      part, the heap) once the timer has taken them all into its log, the
#      timer's files on disk, and the same broker after a restart (the wheel
#      rebuilt from the log); against a baseline broker holding PENDING plain
#      messages;
#   3. delivery: DUE_AT_ONCE messages due at the same second; how fast they
#      reach their topic (its queues' max offsets, polled with mqadmin).
#
#   scripts/bench-timer.sh
#   PENDING=200000 DUE_AT_ONCE=50000 scripts/bench-timer.sh   # quicker
#   BIN=/path/to/release scripts/bench-timer.sh               # prebuilt binaries
set -euo pipefail
cd "$(dirname "$0")/.."
PENDING=${PENDING:-1000000}
DUE_AT_ONCE=${DUE_AT_ONCE:-200000}
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh
bench_setup
ns_port=39876
broker_port=39911
start_namesrv "$ns_port"
ns="127.0.0.1:$ns_port"

start_broker() {
  printf 'listenPort=%s\nbrokerIP1=127.0.0.1\n' "$broker_port" >"$home/broker.conf"
  start_broker_process "$home" "$home/broker.conf" "$home/broker.out" "$ns_port"
}
stop_broker() { kill "$broker_pid"; wait "$broker_pid" || true; }
wipe_store() { rm -rf "$home/store"; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
disk_bytes() { du -sb "$1" 2>/dev/null | cut -f1; }
# Messages in a topic: the sum of its queues' max offsets.
topic_count() { "$bin/mqadmin" topicStatus -n "$ns" -t "$1" 2>/dev/null | awk 'NR > 1 && $4 ~ /^[0-9]+$/ {s += $4} END {print s + 0}'; }
now_ms() { date +%s%3N; }
memory_line() { # $1 = label
  printf '%-40s RSS %s MiB (anonymous %s MiB)\n' "$1" \
    "$(($(status_kib "$broker_pid" VmRSS) / 1024))" "$(($(status_kib "$broker_pid" RssAnon) / 1024))"
}

echo "date: $(date -u +%FT%TZ)  load: $(cut -d' ' -f1-3 /proc/loadavg)  pending: $PENDING  due at once: $DUE_AT_ONCE"

# --- 1 and 2: scheduling, and the cost of pending timers ---
start_broker
memory_line "idle broker"
echo "scheduling $PENDING timer messages due in 1 h:"
"$bin/mqbench" producer -n "$ns" -t TimerBench -w 64 -s 128 --timerDelaySec 3600 -q "$PENDING" --duration 600 | tail -n 1
want=$((PENDING * 48))
for _ in $(seq 1 600); do
  [ "$(disk_bytes "$home/store/rmq_timer/log")" -ge "$want" ] && break
  sleep 0.1
done
sleep 2
memory_line "$PENDING pending timers"
echo "timer files (rmq_timer/): $(mib "$(disk_bytes "$home/store/rmq_timer")")," \
  "parked messages: $(mib "$("$bin/mqadmin" brokerStatus -n "$ns" -b "127.0.0.1:$broker_port" | awk '$1 == "commitLogMaxOffset" {print $NF}')") of CommitLog"
stop_broker
started=$(now_ms)
start_broker
sleep 1
echo "restart with $PENDING pending: boot in $(($(now_ms) - started)) ms;" \
  "$(grep -ho 'timer: [0-9]* pending entries.*recovered in [0-9]* ms' "$home/broker.out" "$home"/logs/rocketmqlogs/broker.log 2>/dev/null | tail -n 1)"
sleep 2
memory_line "after the restart"
stop_broker
wipe_store

start_broker
echo "baseline: $PENDING plain messages, the same way:"
"$bin/mqbench" producer -n "$ns" -t PlainBench -w 64 -s 128 -q "$PENDING" --duration 600 | tail -n 1
sleep 2
memory_line "baseline: $PENDING plain messages"
stop_broker
started=$(now_ms)
start_broker
echo "baseline restart with $PENDING plain messages: boot in $(($(now_ms) - started)) ms"
stop_broker
wipe_store

# --- 3: delivery when many come due at once ---
start_broker
delay=$((DUE_AT_ONCE / 10000 + 15))
echo "delivery: $DUE_AT_ONCE messages due at the same second, $delay s after the send starts"
"$bin/mqbench" producer -n "$ns" -t TimerBurst -w 64 -s 128 --timerDelaySec "$delay" -q "$DUE_AT_ONCE" --duration 600 | tail -n 1
first=""
for _ in $(seq 1 3000); do
  n=$(topic_count TimerBurst)
  # mqbench's warm-up message is a timer message too.
  if [ -z "$first" ] && [ "$n" -gt 0 ]; then first=$(now_ms); fi
  if [ "$n" -ge "$DUE_AT_ONCE" ]; then break; fi
  sleep 0.05
done
last=$(now_ms)
echo "delivered $n in $((last - first)) ms: $(awk -v n="$n" -v ms=$((last - first)) 'BEGIN { printf "%.0f", n * 1000 / (ms > 0 ? ms : 1) }') msg/s"
stop_broker
