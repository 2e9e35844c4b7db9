#!/usr/bin/env bash
# Builds rmq and starts a single-master cluster in the background, the way
# RocketMQ's quick start does:
#
#   nohup sh bin/mqnamesrv &
#   nohup sh bin/mqbroker -n localhost:9876 --enable-proxy &
#
# NameServer on localhost:9876, broker on 10911 (and 10909, 10912), and
# RocketMQ 5's gRPC clients served on localhost:8081 (--enable-proxy, the
# RocketMQ 5 quick start's local mode). Logs and
# store under $HOME as with Java: ~/logs/rocketmqlogs/{namesrv,broker}.log,
# ~/store. Stop with: sh bin/mqshutdown broker; sh bin/mqshutdown namesrv
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p rmq-cli
logs="$HOME/logs/rocketmqlogs"
mkdir -p "$logs"

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

# Waits until the log file $1 holds a line matching $3 written past byte $2
# (its size before the server started), or fails after 10 s.
wait_for_line() {
  for _ in $(seq 1 100); do
    # Captured, not piped into grep -q: under pipefail an early-closing grep fails the pipe.
    if [ -f "$1" ] && grep -q -- "$3" <<<"$(tail -c +"$(($2 + 1))" "$1")"; then
      grep -- "$3" <<<"$(tail -c +"$(($2 + 1))" "$1")" | tail -n 1
      return 0
    fi
    sleep 0.1
  done
  echo "no '$3' in $1 within 10 s; see that file" >&2
  return 1
}

for port in 9876 10909 10911 10912 8081; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use: is rmq (or RocketMQ) running? Stop it with bin/mqshutdown." >&2
    exit 1
  fi
done

ns_from=$(size_of "$logs/namesrv.log")
nohup sh bin/mqnamesrv >/dev/null 2>&1 &
wait_for_line "$logs/namesrv.log" "$ns_from" "The Name Server boot success"
broker_from=$(size_of "$logs/broker.log")
nohup sh bin/mqbroker -n localhost:9876 --enable-proxy >/dev/null 2>&1 &
wait_for_line "$logs/broker.log" "$broker_from" "The proxy boot success"
echo "rmq is running: NameServer localhost:9876 (remoting clients), proxy localhost:8081 (RocketMQ 5 gRPC clients)."
echo "Try: sh bin/mqadmin clusterList -n localhost:9876"
