#!/usr/bin/env bash
# The integration suites (integration/, docs/integration.md): every documented
# mode started from the rmq image through testcontainers, faults injected
# through the containers, messages checked with rocketmq-client-rust.
#
#   scripts/test-integration.sh [--no-build] [FILTER]
#
#   --no-build  use the image as it is (default: scripts/build-image.sh first)
#   FILTER      run only the cases whose name contains FILTER (cargo's filter)
#
# Environment: RMQ_IMAGE (default rmq:local; with another name nothing is
# built), RMQ_IT_TIMEOUT (seconds for running the cases once built, default
# 900; each case has its own bound too), CARGO_TARGET_DIR.
# Prints a table of the cases (messages sent, acknowledged, received, lost,
# seconds) at the end. Whatever happens, every container and network the
# suites labelled is removed before it exits.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

build=1
filter=()
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "test-integration.sh: unknown option $1" >&2; exit 2 ;;
    *) filter+=("$1"); shift ;;
  esac
done

say() { printf '==> %s\n' "$*"; }

if ! docker info >/dev/null 2>&1; then
  echo "test-integration.sh: the Docker engine does not answer (is dockerd running?)" >&2
  exit 1
fi

# Removes what test processes that no longer run labelled (the suites remove
# their own; this catches a killed run).
# shellcheck disable=SC2317  # called from the EXIT trap
sweep() {
  local fmt='{{.ID}} {{.Label "rmq.integration.pid"}}' id pid n=0
  while read -r id pid; do
    if [ -z "$id" ] || [ -d "/proc/$pid" ]; then continue; fi
    docker rm -f -v "$id" >/dev/null 2>&1 && n=$((n + 1))
  done < <(docker ps -a --filter label=rmq.integration.pid --format "$fmt" 2>/dev/null)
  while read -r id pid; do
    if [ -z "$id" ] || [ -d "/proc/$pid" ]; then continue; fi
    docker network rm "$id" >/dev/null 2>&1 && n=$((n + 1))
  done < <(docker network ls --filter label=rmq.integration.pid --format "$fmt" 2>/dev/null)
  [ "$n" = 0 ] || echo "test-integration.sh: removed $n leftover container(s)/network(s)"
}

results=$(mktemp)
trap 'sweep; rm -f "$results"' EXIT
trap 'exit 130' INT TERM

if [ -z "${RMQ_IMAGE:-}" ] && [ "$build" = 1 ]; then
  say "building the image (scripts/build-image.sh)"
  if ! out=$(scripts/build-image.sh 2>&1); then
    tail -40 <<<"$out"
    echo "test-integration.sh: the image build failed" >&2
    exit 1
  fi
  tail -1 <<<"$out"
fi
export RMQ_IMAGE=${RMQ_IMAGE:-rmq:local}
export RMQ_IT_RESULTS=$results

# --workspace resolves features as the workspace's own test build does, so
# the suite reuses those artifacts instead of rebuilding its dependencies.
suite=(cargo test --workspace --locked --test modes)
say "building the suites"
"${suite[@]}" --no-run || exit 1

limit=${RMQ_IT_TIMEOUT:-900}
say "cargo test -p rmq-integration (image $RMQ_IMAGE, cases one at a time, at most $limit s)"
start=$(date +%s)
timeout --kill-after=30 "$limit" "${suite[@]}" -- --ignored --test-threads=1 "${filter[@]}"
rc=$?
[ "$rc" = 124 ] && echo "test-integration.sh: the suites ran past $limit s and were stopped"

printf '\n| Case | Result | Sent | Acknowledged | Received | Lost | Seconds | Notes |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n'
while IFS=$'\t' read -r name status sent acked received lost secs note; do
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$status" "$sent" "$acked" "$received" "$lost" "$secs" "$note"
done <"$results"
echo "integration: $(( $(date +%s) - start )) s wall time"
exit "$rc"
