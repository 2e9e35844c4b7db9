#!/usr/bin/env bash
# SYNC_MASTER against ASYNC_MASTER, and controller mode with
# allAckInSyncStateSet against SYNC_MASTER (docs/benchmarks.md, "Replication"):
# a release NameServer, a master and its slave on loopback (a controller and
# two controller-mode brokers for the third), the same mqbench load for each;
# prints the summaries and the differences. Bounded by DURATION.
# BIN=/path/to/release uses prebuilt binaries. CONTROLLER_PROPS adds lines to
# the controller-mode brokers' config (e.g. enableMasterLease=true).
# ONLY_CONTROLLER=1 runs the controller-mode case alone.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh
bench_setup
ns_port=38876
start_namesrv "$ns_port"

boot() { # $1 = name, $2 = properties
  mkdir -p "$home/$1"
  printf '%s\nbrokerIP1=127.0.0.1\nbrokerClusterName=BenchCluster\nbrokerName=bench-%s\n' "$2" "$role" >"$home/$1/broker.conf"
  start_broker_process "$home/$1" "$home/$1/broker.conf" "$home/$1/out" "$ns_port"
}

declare -A tps
port=38911
roles="ASYNC_MASTER SYNC_MASTER"
[ -z "${ONLY_CONTROLLER:-}" ] || roles=""
for role in $roles; do
  boot "master-$role" "brokerRole=$role
listenPort=$port"
  boot "slave-$role" "brokerRole=SLAVE
brokerId=1
listenPort=$((port + 10))"
  sleep 4 # the slave connects and reports before the clock starts
  line=$("$bin/mqbench" producer -n "127.0.0.1:$ns_port" -t "Bench$role" -s 1024 -w "${INFLIGHT:-64}" --duration "$DURATION" | tail -n 1)
  printf '%-13s 1024 B, %s in flight: %s\n' "$role" "${INFLIGHT:-64}" "${line#Summary: }"
  tps[$role]=$(sed -n 's/.* s, \([0-9]*\) msg\/s.*/\1/p' <<<"$line")
  port=$((port + 100))
done

# Controller mode with allAckInSyncStateSet (the node booted first is master;
# a send waits for every other member of the in-sync set).
ctl_port=38878
printf 'controllerDLegerGroup=g\ncontrollerDLegerPeers=n0-127.0.0.1:%s\ncontrollerDLegerSelfId=n0\ncontrollerStorePath=%s\n' \
  "$ctl_port" "$home/controller" >"$home/controller.conf"
HOME=$home "$bin/mqcontroller" -c "$home/controller.conf" >"$home/controller.out" 2>&1 &
pids+=($!)
sleep 1
role=ALL_ACK
for node in 0 1; do
  boot "controller-n$node" "enableControllerMode=true
controllerAddr=127.0.0.1:$ctl_port
allAckInSyncStateSet=true
checkSyncStateSetPeriod=500
listenPort=$((port + node * 10))
${CONTROLLER_PROPS:-}"
done
for _ in $(seq 1 100); do
  grep -q "SyncStateSetNums.2" <<<"$("$bin/mqadmin" getSyncStateSet -a "127.0.0.1:$ctl_port" -b bench-ALL_ACK 2>/dev/null)" && break
  sleep 0.2
done
line=$("$bin/mqbench" producer -n "127.0.0.1:$ns_port" -t BenchAllAck -s 1024 -w "${INFLIGHT:-64}" --duration "$DURATION" | tail -n 1)
printf '%-13s 1024 B, %s in flight: %s\n' "allAck" "${INFLIGHT:-64}" "${line#Summary: }"
tps[ALL_ACK]=$(sed -n 's/.* s, \([0-9]*\) msg\/s.*/\1/p' <<<"$line")

[ -z "${ONLY_CONTROLLER:-}" ] || exit 0
awk -v a="${tps[ASYNC_MASTER]}" -v s="${tps[SYNC_MASTER]}" -v c="${tps[ALL_ACK]}" \
  'BEGIN { printf "SYNC_MASTER is %.1f %% below ASYNC_MASTER; controller mode with allAckInSyncStateSet %.1f %% below SYNC_MASTER\n", (a - s) * 100 / a, (s - c) * 100 / s }'
