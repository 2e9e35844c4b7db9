# shellcheck shell=bash
# Shared by scripts/bench-*.sh (sourced, not run): release binaries, a
# temporary home removed at exit with every process started here, the
# NameServer, waiting for boot lines, a process's CPU time.

# Sets `bin`: BIN if given (prebuilt mqnamesrv, mqbroker, mqbench), else a
# fresh release build. Sets `home` (temporary) and the exit trap.
bench_setup() {
  if [ -n "${BIN:-}" ]; then
    bin=$BIN
  else
    cargo build --release --locked -p rmq-cli --bin mqnamesrv --bin mqbroker --bin mqbench --bin mqcontroller --bin mqadmin >&2
    bin=${CARGO_TARGET_DIR:-$PWD/target}/release
  fi
  home=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$home"
}

# Starts a NameServer on 127.0.0.1:$1 with its files under $home.
start_namesrv() {
  printf 'listenPort=%s\n' "$1" >"$home/namesrv.conf"
  HOME=$home "$bin/mqnamesrv" -c "$home/namesrv.conf" >"$home/namesrv.out" 2>&1 &
  pids+=($!)
}

# Starts a broker (`HOME=$1`, config file $2, output file $3, NameServer
# 127.0.0.1:$4) and waits up to 60 s for its boot line; sets `broker_pid`.
start_broker_process() {
  HOME=$1 "$bin/mqbroker" -n "127.0.0.1:$4" -c "$2" >"$3" 2>&1 &
  broker_pid=$!
  pids+=("$broker_pid")
  for _ in $(seq 1 6000); do grep -q "boot success" "$3" && return 0; sleep 0.01; done
  echo "broker did not boot: $(tail -n 3 "$3")" >&2
  exit 1
}

# User + system CPU time of process $1, in clock ticks (getconf CLK_TCK).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
