#!/usr/bin/env bash
# A/B of two builds of the broker on this machine, in one window: runs
# scripts/bench-broker.sh with the binaries of A, then of B, then A, then B
# (ROUNDS times), so that the machine's drift over the window (other load, the
# disk's fsync times) falls on both alike. Prints each run's lines prefixed
# with its build.
#
#   scripts/bench-ab.sh A_RELEASE_DIR B_RELEASE_DIR
#   ROUNDS=3 DURATION=15 CASES='64 in flight|batches' scripts/bench-ab.sh old/release new/release
#
# Each directory holds release builds of mqnamesrv, mqbroker and mqbench;
# B's mqbench drives both, so only the broker differs. A_ENV and B_ENV add
# environment to one side's scripts/bench-broker.sh, so one build can be
# compared with itself under another setting:
#
#   B_ENV='SCRAPE=1' scripts/bench-ab.sh new/release new/release
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 2 ]; then
  echo "usage: $0 A_RELEASE_DIR B_RELEASE_DIR" >&2
  exit 2
fi
a=$(cd "$1" && pwd)
b=$(cd "$2" && pwd)
ROUNDS=${ROUNDS:-2}
mixed=$(mktemp -d)
trap 'rm -rf "$mixed"' EXIT
# A's servers with B's client.
ln -s "$a/mqnamesrv" "$mixed/mqnamesrv"
ln -s "$a/mqbroker" "$mixed/mqbroker"
ln -s "$b/mqbench" "$mixed/mqbench"
for round in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    dir=$mixed side_env=${A_ENV:-}
    [ "$side" = B ] && dir=$b side_env=${B_ENV:-}
    echo "== round $round/$ROUNDS, build $side ${side_env}" >&2
    # shellcheck disable=SC2086 # side_env is a list of NAME=value words
    env $side_env BIN="$dir" scripts/bench-broker.sh | sed "s/^/$side  /"
  done
done
