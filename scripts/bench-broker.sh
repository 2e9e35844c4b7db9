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
#   BROKER_EXTRA_CONF=$'metricsExporterType=PROM' scripts/bench-broker.sh
#                                         # more broker keys, one per line
#   SCRAPE=1 scripts/bench-broker.sh      # Prometheus endpoint on, and
#                                         # scraped every second during each case
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CASES=${CASES:-}
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh
bench_setup
ns_port=39876
broker_port=39911
metrics_port=39557
start_namesrv "$ns_port"

start_broker() { # $1 = flushDiskType
  printf 'listenPort=%s\nbrokerIP1=127.0.0.1\nflushDiskType=%s\n' "$broker_port" "$1" >"$home/broker.conf"
  # More keys for the broker, one per line (e.g. metricsExporterType=PROM).
  [ -z "${BROKER_EXTRA_CONF:-}" ] || printf '%s\n' "$BROKER_EXTRA_CONF" >>"$home/broker.conf"
  [ -z "${SCRAPE:-}" ] || printf 'metricsExporterType=PROM\nmetricsPromExporterHost=127.0.0.1\nmetricsPromExporterPort=%s\n' \
    "$metrics_port" >>"$home/broker.conf"
  start_broker_process "$home" "$home/broker.conf" "$home/broker.out" "$ns_port"
}
stop_broker() { kill "$broker_pid"; wait "$broker_pid" || true; rm -rf "$home/store"; }

# Prints mqbench's summary and the broker's CPU time (user + system, from
# /proc) per message sent.
run() { # $1 = label, rest = mqbench producer options
  local label=$1; shift
  local line before after sent
  if [ -n "$CASES" ] && ! printf '%s' "$label" | grep -Eq -- "$CASES"; then return 0; fi
  local scraper=
  if [ -n "${SCRAPE:-}" ]; then
    # A scrape a second, for as long as the case runs; its replies are
    # counted so that a silent endpoint shows.
    (for _ in $(seq "$DURATION"); do curl -fsS "http://127.0.0.1:$metrics_port/metrics" >/dev/null && echo ok; sleep 1; done \
      | wc -l >"$home/scrapes") &
    scraper=$!
  fi
  before=$(cpu_ticks "$broker_pid")
  line=$("$bin/mqbench" producer -n "127.0.0.1:$ns_port" --duration "$DURATION" "$@" | tail -n 1)
  after=$(cpu_ticks "$broker_pid")
  if [ -n "$scraper" ]; then
    wait "$scraper" || true
    line="$line; $(cat "$home/scrapes") scrapes answered"
  fi
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
