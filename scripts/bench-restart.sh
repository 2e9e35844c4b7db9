#!/usr/bin/env bash
# Restart after SIGKILL (docs/benchmarks.md, "Restart after SIGKILL"): fills
# a store with batches of 16 x 1 KB for FILL seconds, SIGKILLs the broker,
# starts it again and times the exec to its boot line. Release binaries, a
# temporary home (about 0.35 GB of CommitLog per second of FILL), loopback.
#
#   scripts/bench-restart.sh               # FILL=15: about 5 GB
#   FILL=60 scripts/bench-restart.sh       # about 20 GB
#   BIN=/path/to/release scripts/bench-restart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
FILL=${FILL:-15}
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh
bench_setup
boot() { start_broker_process "$home" "$home/broker.conf" "$1" 49876; } # $1 = output file

start_namesrv 49876
printf 'listenPort=49911\nbrokerIP1=127.0.0.1\n' >"$home/broker.conf"
boot "$home/first.out"
echo "filling for ${FILL}s" >&2
"$bin/mqbench" producer -n 127.0.0.1:49876 --duration "$FILL" -t Restart -s 1024 -w 16 -b 16 | tail -n 1
kill -9 "$broker_pid"
wait "$broker_pid" 2>/dev/null || true
sync
started=$(date +%s%N)
boot "$home/second.out"
ended=$(date +%s%N)
grep -h "CommitLog recovered" "$home/second.out" | sed 's/.*INFO //'
printf 'restart after SIGKILL: %d ms to the boot line\n' $(((ended - started) / 1000000))
