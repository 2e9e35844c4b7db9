#!/usr/bin/env bash
# Tests of the distribution: the bin/ scripts, the image, flake.nix and the
# compose files. Every container, volume and network it creates is removed on
# exit, failed or not.
#
#   scripts/test-dist.sh                      everything
#   scripts/test-dist.sh bin                  bin/ scripts under dash, busybox sh and bash (no Docker)
#   scripts/test-dist.sh image                build the image, test entrypoint/health/signals/refusals
#   scripts/test-dist.sh nix                  nix flake check against integration/nix-stub
#   scripts/test-dist.sh compose [MODE...]    single 2m-noslave 2m-2s-async 2m-2s-sync 2m-2s-controller proxy (needs the image)
#
# Last line: "dist: N passed, N failed, N skipped"; exit status 1 on any failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
image=${RMQ_IMAGE:-rmq:local}
all_modes="single 2m-noslave 2m-2s-async 2m-2s-sync 2m-2s-controller proxy"

passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIPPED: $*"; }
section() { printf '\n== %s\n' "$*"; }

tmp=$(mktemp -d)
projects=() containers=() bg_pids=()
cleanup() {
  local p c
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
  for c in "${containers[@]}"; do docker rm -f -v "$c" >/dev/null 2>&1; done
  for p in "${projects[@]}"; do
    local mode=${p#rmqtest-}; mode=${mode%-*}
    docker-compose -p "$p" -f "compose/$mode.yml" down -v --remove-orphans >/dev/null 2>&1
  done
  rm -rf "$tmp" 2>/dev/null || { chmod -R u+rwx "$tmp"; rm -rf "$tmp"; }
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# expect STATUS REGEX DESCRIPTION -- COMMAND...: runs COMMAND (stdout and
# stderr together), wants exit STATUS and, unless REGEX is empty, a match.
# The output is kept in $out for further checks.
out=
expect() {
  local want=$1 pat=$2 desc=$3 rc=0
  shift 4
  out=$("$@" 2>&1) || rc=$?
  if [ "$rc" = "$want" ] && { [ -z "$pat" ] || grep -qE -- "$pat" <<<"$out"; }; then
    ok "$desc"
  else
    fail "$desc: status $rc (wanted $want), output: $(head -c 800 <<<"$out")"
  fi
}

# has REGEX DESCRIPTION: checks the last $out (or the file given as $3).
has() {
  if grep -qE -- "$1" "${3:-/dev/stdin}" <<<"$out"; then ok "$2"; else fail "$2: no /$1/ in: $(head -c 800 <<<"$out")"; fi
}

# logs_have CONTAINER REGEX: whether the container's log holds a match.
# The log is captured before grep reads it: `docker logs | grep -q` fails
# under pipefail whenever grep stops reading before docker logs has written
# its last line (SIGPIPE), which made a boot-line check flaky in CI.
logs_have() {
  local log
  log=$(docker logs "$1" 2>&1)
  grep -q -- "$2" <<<"$log"
}

# The binaries rmq-cli declares (the "workspace" has them even if not built).
if ! metadata=$(cargo metadata --no-deps --format-version 1 --locked 2>&1); then
  echo "FAIL - cargo metadata failed, so the binaries the workspace declares are unknown: $(tail -3 <<<"$metadata")"
  exit 1
fi
declared=$(python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "rmq-cli":
        print(" ".join(t["name"] for t in p["targets"] if "bin" in t["kind"]))' <<<"$metadata")
declared=" $declared "
declares() { [[ $declared == *" $1 "* ]]; }

free_port() {
  python3 -c '
import socket, sys
while True:
    s = socket.socket(); s.bind(("", 0)); p = s.getsockname()[1]; s.close()
    ok = True
    for q in (p - 2, p + 1):
        t = socket.socket()
        try: t.bind(("", q))
        except OSError: ok = False
        t.close()
    if ok and p > 1024: print(p); sys.exit(0)'
}

# --- bin/ ----------------------------------------------------------------------

test_bin() {
  local stub=$tmp/stub empty=$tmp/empty inst=$tmp/inst home=$tmp/home
  mkdir -p "$stub" "$empty" "$inst/bin" "$inst/lib" "$home" "$tmp/t" "$tmp/links"
  chmod 755 "$tmp"   # the unwritable-directory tests run as another user
  for b in mqnamesrv mqbroker mqadmin mqproxy mqcontroller; do
    cat >"$stub/$b" <<'EOF'
#!/bin/sh
{ echo "argv0=$0"; for a in "$@"; do echo "arg=$a"; done
  echo "HOME=$HOME"; echo "NAMESRV_ADDR=${NAMESRV_ADDR:-}"; echo "ROCKETMQ_HOME=$ROCKETMQ_HOME"; } >"$STUB_OUT"
echo "stub ran"
EOF
    chmod +x "$stub/$b"
    cp "$stub/$b" "$inst/lib/$b"
  done
  cp bin/* "$inst/bin/"
  ln -sf "$root/bin/mqadmin" "$tmp/links/mqadmin"
  local p; p=$(free_port)
  printf 'listenPort=%s\n' "$p" >"$tmp/ns.properties"
  cat conf/2m-2s-sync/broker-a.properties >"$tmp/broker.properties"
  printf 'listenPort=%s\n' "$p" >>"$tmp/broker.properties"
  printf 'brokerName=broker-a\nbrokerRole=MASTER\n' >"$tmp/bad-role.properties"
  printf '{ "brokerName": "broker-a" }\n' >"$tmp/bad-json.properties"
  printf 'brokerId=one\n' >"$tmp/bad-id.properties"
  mkdir -p "$tmp/ro" && chmod 555 "$tmp/ro"
  export STUB_OUT=$tmp/stub.out TMPDIR=$tmp/t
  local as_other=()
  if [ "$(id -u)" = 0 ]; then as_other=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi

  if command -v shellcheck >/dev/null; then
    expect 0 "" "shellcheck -s sh: bin/ and the image's scripts" -- \
      sh -c 'cd bin && shellcheck -s sh -x mqnamesrv mqbroker mqproxy mqcontroller mqshutdown mqadmin rmq-common.sh ../docker/docker-entrypoint.sh ../docker/healthcheck.sh'
  else
    skip "shellcheck is not installed"
  fi

  local shells=(dash "busybox sh" bash) sh
  for sh in "${shells[@]}"; do
    section "bin/ under $sh"
    local -a S
    read -r -a S <<<"$sh"
    if ! command -v "${S[0]}" >/dev/null; then fail "$sh is not installed (scripts/ci-deps.sh)"; continue; fi
    local E=(env -u JAVA_OPT -u JAVA_OPT_EXT -u HEAP_OPTS -u JAVA_HOME -u ROCKETMQ_HOME -u NAMESRV_ADDR HOME="$home")

    expect 1 "mqbroker: the rmq binary 'mqbroker' is not built yet" "[$sh] a missing binary is one line and exit 1" -- \
      "${E[@]}" RMQ_BIN_DIR="$empty" "${S[@]}" bin/mqbroker
    [ "$(wc -l <<<"$out")" = 1 ] && ok "[$sh] ... exactly one line" || fail "[$sh] missing binary printed $(wc -l <<<"$out") lines"

    expect 0 "stub ran" "[$sh] mqbroker execs the binary" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" "${S[@]}" bin/mqbroker -c "$tmp/broker.properties" -n 127.0.0.1:9876 autoCreateTopicEnable=true
    if [ "$(grep '^arg=' "$STUB_OUT" | tr '\n' ' ')" = "arg=-c arg=$tmp/broker.properties arg=-n arg=127.0.0.1:9876 arg=autoCreateTopicEnable=true " ]; then
      ok "[$sh] ... with the arguments unchanged"
    else
      fail "[$sh] arguments changed: $(grep '^arg=' "$STUB_OUT" | tr '\n' ' ')"
    fi
    grep -qx "ROCKETMQ_HOME=$root" "$STUB_OUT" && ok "[$sh] ROCKETMQ_HOME derived from the script's location" \
      || fail "[$sh] ROCKETMQ_HOME: $(grep ROCKETMQ_HOME "$STUB_OUT")"

    expect 0 "stub ran" "[$sh] a symlinked script still finds its home" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" "${S[@]}" "$tmp/links/mqadmin" clusterList
    grep -qx "ROCKETMQ_HOME=$root" "$STUB_OUT" && ok "[$sh] ... ROCKETMQ_HOME is the checkout" || fail "[$sh] symlink: $(cat "$STUB_OUT")"

    expect 0 "stub ran" "[$sh] installed layout: bin/ runs ../lib/<binary>" -- \
      "${E[@]}" "${S[@]}" "$inst/bin/mqadmin" topicList -n 127.0.0.1:9876
    grep -qx "argv0=$inst/lib/mqadmin" "$STUB_OUT" && grep -qx "ROCKETMQ_HOME=$inst" "$STUB_OUT" \
      && ok "[$sh] ... with ROCKETMQ_HOME=<install dir>" || fail "[$sh] installed layout: $(cat "$STUB_OUT")"

    expect 0 "" "[$sh] an exported ROCKETMQ_HOME is trusted" -- \
      "${E[@]}" ROCKETMQ_HOME=/opt/rocketmq-4.9.8 RMQ_BIN_DIR="$stub" "${S[@]}" bin/mqadmin clusterList
    grep -qx "ROCKETMQ_HOME=/opt/rocketmq-4.9.8" "$STUB_OUT" && ok "[$sh] ... and passed on" || fail "[$sh] ROCKETMQ_HOME: $(cat "$STUB_OUT")"

    expect 0 "note: ignoring Java-only settings \(rmq runs no JVM\): -Xms1g -Xmx1g HEAP_OPTS JAVA_HOME" \
      "[$sh] Java-only options are named in one note" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" JAVA_OPT="-Duser.home=/nowhere -Xms1g" \
      JAVA_OPT_EXT="-Duser.home=\"$tmp/h2\" -Drocketmq.namesrv.addr=10.0.0.1:9876 -Xmx1g" HEAP_OPTS=-Xmn1g JAVA_HOME=/usr/lib/jvm \
      "${S[@]}" bin/mqnamesrv -c "$tmp/ns.properties"
    grep -qx "HOME=$tmp/h2" "$STUB_OUT" && grep -qx "NAMESRV_ADDR=10.0.0.1:9876" "$STUB_OUT" \
      && ok "[$sh] -Duser.home (JAVA_OPT_EXT wins) and -Drocketmq.namesrv.addr become HOME and NAMESRV_ADDR" \
      || fail "[$sh] Java properties: $(cat "$STUB_OUT")"
    [ -d "$tmp/h2/logs/rocketmqlogs" ] && ok "[$sh] ... and the log directory is created there" || fail "[$sh] no $tmp/h2/logs/rocketmqlogs"

    expect 0 "stub ran" "[$sh] -m/-p/-h run without checks (missing -c file)" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" "${S[@]}" bin/mqbroker -m -c "$tmp/missing.properties"

    expect 0 "stub ran" "[$sh] --enable-proxy starts the broker with the proxy inside" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" "${S[@]}" bin/mqbroker --enable-proxy -c "$tmp/broker.properties"
    grep -q -- "^arg=--enable-proxy$" "$STUB_OUT" && ok "[$sh] ... passed on to the binary" \
      || fail "[$sh] --enable-proxy did not reach the binary: $(cat "$STUB_OUT")"

    expect 255 "^mqbroker: config file $tmp/missing.properties not found" "[$sh] missing -c file: exit 255, one line" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" "${S[@]}" bin/mqbroker -c "$tmp/missing.properties"
    expect 255 "brokerRole must be ASYNC_MASTER, SYNC_MASTER or SLAVE, not \"MASTER\"" "[$sh] bad brokerRole: exit 255" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" "${S[@]}" bin/mqbroker -c "$tmp/bad-role.properties"
    expect 255 "line 1: .* is not a key=value setting" "[$sh] a file that is no properties file: exit 255" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" "${S[@]}" bin/mqbroker -c "$tmp/bad-json.properties"
    expect 255 "brokerId must be a number" "[$sh] non-numeric brokerId: exit 255" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" "${S[@]}" bin/mqbroker -c "$tmp/bad-id.properties"
    expect 255 "RMQ_BROKER_PROPS is malformed|BROKER_IP2/RMQ_BROKER_PROPS is malformed" "[$sh] bad RMQ_BROKER_PROPS: exit 255" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" RMQ_BROKER_PROPS="listenPort=abc" "${S[@]}" bin/mqbroker -c "$tmp/broker.properties"

    expect 253 "The Name Server Address\[localhost\] illegal" "[$sh] -n without a port: Java's message, exit 253" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" "${S[@]}" bin/mqbroker -c "$tmp/broker.properties" -n localhost
    expect 253 "the NameServer address no-such-host.invalid:9876 does not resolve" "[$sh] unresolvable NameServer: exit 253" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" RMQ_RESOLVE_TIMEOUT=1 NAMESRV_ADDR=no-such-host.invalid:9876 "${S[@]}" bin/mqbroker -c "$tmp/broker.properties"

    if [ ${#as_other[@]} -gt 0 ] || [ "$(id -u)" != 0 ]; then
      expect 253 "cannot write to the log directory $tmp/ro/logs/rocketmqlogs as uid" "[$sh] unwritable log directory: exit 253" -- \
        "${as_other[@]}" env HOME="$tmp/ro" RMQ_BIN_DIR="$stub" "${S[@]}" "$inst/bin/mqnamesrv" -c "$tmp/ns.properties"
      mkdir -p "$tmp/home-other" && chmod 777 "$tmp/t" "$tmp/home-other"
      expect 253 "cannot write to the store directory $tmp/ro/store" "[$sh] unwritable store directory: exit 253" -- \
        "${as_other[@]}" env HOME="$tmp/home-other" TMPDIR="$tmp/t" RMQ_BIN_DIR="$stub" RMQ_BROKER_PROPS="storePathRootDir=$tmp/ro/store" \
        "${S[@]}" "$inst/bin/mqbroker" -c "$tmp/broker.properties"
    fi

    local q; q=$(free_port)
    python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("",int(sys.argv[1]))); s.listen(); time.sleep(30)' "$q" &
    local lp=$!
    bg_pids+=("$lp")
    for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$q") 2>/dev/null && break; sleep 0.1; done
    printf 'listenPort=%s\n' "$q" >"$tmp/taken.properties"
    expect 255 "port $q \(listenPort\) is already in use" "[$sh] NameServer port taken: exit 255" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" "${S[@]}" bin/mqnamesrv -c "$tmp/taken.properties"
    expect 255 "port $q \(the fast port, listenPort - 2\) is already in use" "[$sh] broker fast port taken: exit 255" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" RMQ_BROKER_PROPS="listenPort=$((q + 2))" "${S[@]}" bin/mqbroker
    kill "$lp" 2>/dev/null; wait "$lp" 2>/dev/null

    rm -f "$tmp/health"
    expect 0 "stub ran" "[$sh] BROKER_IP1/BROKER_IP2/RMQ_BROKER_PROPS start the broker" -- \
      "${E[@]}" RMQ_BIN_DIR="$stub" RMQ_HEALTH_FILE="$tmp/health" BROKER_IP1=10.9.8.7 BROKER_IP2=10.9.8.6 \
      RMQ_BROKER_PROPS="listenPort=$p
storePathRootDir=$tmp/store-a" "${S[@]}" bin/mqbroker -c conf/2m-2s-sync/broker-a.properties -n 127.0.0.1:9876
    local overlay; overlay=$(sed -n '/^arg=-c$/{n;s/^arg=//p;}' "$STUB_OUT")
    if [ -n "$overlay" ] && [ "$overlay" != conf/2m-2s-sync/broker-a.properties ] && [ -f "$overlay" ] \
      && grep -qx "brokerRole=SYNC_MASTER" "$overlay" && grep -qx "brokerIP1=10.9.8.7" "$overlay" \
      && grep -qx "brokerIP2=10.9.8.6" "$overlay" && grep -qx "listenPort=$p" "$overlay" \
      && grep -qx "arg=-n" "$STUB_OUT"; then
      ok "[$sh] ... through an overlay of the -c file, other arguments kept"
    else
      fail "[$sh] overlay: $(cat "$STUB_OUT"; cat "$overlay" 2>/dev/null)"
    fi
    [ -d "$tmp/store-a" ] && ok "[$sh] ... storePathRootDir from the overlay is the one checked" || fail "[$sh] $tmp/store-a not created"
    [ "$(cat "$tmp/health" 2>/dev/null)" = "broker 127.0.0.1 $p" ] && ok "[$sh] ... role and port recorded for the healthcheck" \
      || fail "[$sh] health file: $(cat "$tmp/health" 2>/dev/null)"

    expect 0 "^Usage: mqshutdown broker \| namesrv \| controller \| proxy$" "[$sh] mqshutdown with a bad role prints usage, exit 0" -- \
      "${S[@]}" bin/mqshutdown nonsense
    if unshare --fork --pid --mount-proc true 2>/dev/null; then
      # Own PID namespace: only our fake processes are visible, nobody else's
      # servers can be stopped by the test. busybox's ps is used for busybox sh.
      mkdir -p "$tmp/bb" "$tmp/fake"
      ln -sf "$(command -v busybox)" "$tmp/bb/ps"
      cp "$(command -v sleep)" "$tmp/fake/mqbroker"
      local P=$PATH
      [ "$sh" = "busybox sh" ] && P=$tmp/bb:$PATH
      expect 1 "^No mqbroker running\.$" "[$sh] mqshutdown broker with none running: exit 1" -- \
        unshare --fork --pid --mount-proc env PATH="$P" "${S[@]}" bin/mqshutdown broker
      expect 0 "^The mqbroker\([0-9]+\) is running\.\.\.$" \
        "[$sh] mqshutdown broker sends SIGTERM to the mqbroker process" -- \
        unshare --fork --pid --mount-proc env PATH="$P" sh -c "
          '$tmp/fake/mqbroker' 30 & f=\$!; sleep 0.2
          $sh bin/mqshutdown broker; wait \$f; echo fake exited \$?"
      has "^Send shutdown request to mqbroker\([0-9]+\) OK$" "[$sh] ... with Java's messages"
      has "^fake exited 143$" "[$sh] ... and the process ends by SIGTERM"
      expect 1 "^No mqnamesrv running\.$" "[$sh] mqshutdown namesrv ignores brokers" -- \
        unshare --fork --pid --mount-proc env PATH="$P" sh -c "'$tmp/fake/mqbroker' 5 & sleep 0.2; exec $sh bin/mqshutdown namesrv"
    else
      skip "[$sh] mqshutdown process tests need a PID namespace (unshare, as root)"
    fi
  done
  unset STUB_OUT TMPDIR
}

# --- image ---------------------------------------------------------------------

image_bins=
test_image() {
  section "image"
  local log=$tmp/build-image.log
  if scripts/build-image.sh --tag "$image" >"$log" 2>&1; then
    ok "scripts/build-image.sh: $(tail -1 "$log")"
  else
    fail "scripts/build-image.sh failed: $(tail -20 "$log")"
    return
  fi
  image_bins=" $(tr '\n' ' ' <docker/context/binaries.txt) "
  local b
  for b in mqnamesrv mqbroker mqadmin mqproxy mqcontroller; do
    if declares "$b" && [[ $image_bins != *" $b "* ]]; then fail "the workspace declares $b but the image lacks it"; fi
  done
  grep -q '^FROM scratch$' docker/Dockerfile && ! grep -qiE '^FROM +[^s]|^# *syntax' docker/Dockerfile \
    && ok "Dockerfile refers to no other image" || fail "Dockerfile must be FROM scratch only"

  expect 2 "^usage: docker run <image> nameserver\|broker" "bare docker run prints usage, exit 2" -- docker run --rm "$image"
  expect 0 "^3000:3000 /home/rocketmq/rocketmq/bin /home/rocketmq$" "uid 3000, WORKDIR \$ROCKETMQ_HOME/bin, HOME" -- \
    docker run --rm "$image" sh -c 'echo "$(id -u):$(id -g) $(pwd) $HOME"'
  expect 0 "^ok$" "RocketMQ's paths exist (/opt/rocketmq, versioned ROCKETMQ_HOME, conf/2m-2s-sync)" -- \
    docker run --rm "$image" sh -c 'test -f /opt/rocketmq/conf/2m-2s-sync/broker-a-s.properties &&
      test -x /home/rocketmq/rocketmq-*/bin/mqbroker && test -w /home/rocketmq/store && echo ok'
  # The controller (preview, single node) from the role and its sample file.
  local ctl=rmqtest-ctl-$$
  containers+=("$ctl")
  docker run -d --name "$ctl" -e NODE_ROLE=controller "$image" -c ../conf/controller/controller-standalone.conf >/dev/null
  for _ in $(seq 1 100); do logs_have "$ctl" "The Controller Server boot success" && break; sleep 0.1; done
  if logs_have "$ctl" "The Controller Server boot success"; then
    ok "NODE_ROLE=controller runs mqcontroller with conf/controller/controller-standalone.conf"
    expect 0 "^healthy: controller answered" "the healthcheck asks the controller over remoting" -- \
      docker exec "$ctl" sh docker-healthcheck.sh
  else
    fail "no controller boot line: $(docker logs "$ctl" 2>&1 | tail -5)"
  fi
  docker rm -f "$ctl" >/dev/null 2>&1

  local c=rmqtest-ns-$$ t0 t1
  containers+=("$c")
  t0=$(date +%s%N)
  docker run -d --name "$c" "$image" nameserver >/dev/null
  for _ in $(seq 1 200); do logs_have "$c" "The Name Server boot success" && break; sleep 0.05; done
  t1=$(date +%s%N)
  if logs_have "$c" "The Name Server boot success. serializeType=JSON"; then
    ok "docker run <image> nameserver prints the boot line ($(( (t1 - t0) / 1000000 )) ms from docker run)"
  else
    fail "no NameServer boot line: $(docker logs "$c" 2>&1 | tail -5)"
  fi
  expect 0 "^ *1 +rocketmq +([0-9:]+ +)?/home/rocketmq/rocketmq/lib/mqnamesrv" "the server is PID 1, as uid 3000" -- docker exec "$c" ps
  for _ in $(seq 1 30); do [ "$(docker inspect -f '{{.State.Health.Status}}' "$c")" = healthy ] && break; sleep 1; done
  expect 0 "^healthy healthy: namesrv answered" "HEALTHCHECK turns healthy (a remoting round trip)" -- \
    docker inspect -f '{{.State.Health.Status}} {{(index .State.Health.Log 0).Output}}' "$c"
  t0=$(date +%s%N)
  docker stop -t 10 "$c" >/dev/null
  t1=$(date +%s%N)
  local ms=$(( (t1 - t0) / 1000000 )) code
  code=$(docker inspect -f '{{.State.ExitCode}}' "$c")
  if [ "$code" = 0 ] && [ "$ms" -lt 5000 ]; then ok "docker stop: SIGTERM handled by PID 1, exit 0 in $ms ms"; else fail "docker stop took $ms ms, exit $code"; fi

  docker start "$c" >/dev/null; sleep 1
  expect 0 "Send shutdown request to mqnamesrv\(1\) OK" "mqshutdown namesrv inside the container stops PID 1" -- \
    docker exec "$c" sh mqshutdown namesrv
  for _ in $(seq 1 50); do [ "$(docker inspect -f '{{.State.Running}}' "$c")" = false ] && break; sleep 0.1; done
  [ "$(docker inspect -f '{{.State.Running}} {{.State.ExitCode}}' "$c")" = "false 0" ] && ok "... and the container exits 0" \
    || fail "after mqshutdown: $(docker inspect -f '{{.State.Running}} {{.State.ExitCode}}' "$c")"

  mkdir -p "$tmp/rootowned" && chmod 755 "$tmp/rootowned"
  if [ "$(id -u)" = 0 ]; then
    expect 253 "^mqnamesrv: cannot write to the log directory /home/rocketmq/logs/rocketmqlogs as uid 3000: .*chown -R 3000:3000" \
      "a root-owned bind mount on logs: one line, exit 253" -- \
      docker run --rm -v "$tmp/rootowned:/home/rocketmq/logs" "$image" nameserver
  fi
  containers+=("$c-role")
  docker run -d --name "$c-role" -e NODE_ROLE=nameserver "$image" >/dev/null
  for _ in $(seq 1 100); do logs_have "$c-role" "boot success" && break; sleep 0.05; done
  expect 0 "The Name Server boot success" "NODE_ROLE=nameserver starts the NameServer" -- docker logs "$c-role"
  docker rm -f "$c-role" >/dev/null 2>&1

  expect 253 "^mqbroker: the NameServer address nowhere:9876 does not resolve" "broker with an unresolvable NameServer: one line, exit 253" -- \
    docker run --rm -e NAMESRV_ADDR=nowhere:9876 -e RMQ_RESOLVE_TIMEOUT=2 "$image" broker
  expect 255 "^mqbroker: config file ../conf/nope.conf not found" "sh mqbroker -c <missing file>: one line, exit 255" -- \
    docker run --rm "$image" sh mqbroker -c ../conf/nope.conf
  expect 253 "cannot write to the store directory /home/rocketmq/store" "a root-owned bind mount on the store: exit 253" -- \
    docker run --rm -v "$tmp/rootowned:/home/rocketmq/store" "$image" broker
}

# --- nix -----------------------------------------------------------------------

test_nix() {
  section "nix"
  if ! command -v nix >/dev/null; then
    if [ "${CI:-}" = true ]; then fail "nix is not installed (scripts/ci-deps.sh installs nix-bin)"; else skip "nix is not installed"; fi
    return
  fi
  local nixf=(nix --extra-experimental-features 'nix-command flakes')
  local stub=(--override-input nixpkgs "path:$root/integration/nix-stub")
  # In a git checkout the flake is its tracked files (a path: reference would
  # copy target/ and docker/context/ into the store as well).
  local ref=$root
  git rev-parse --git-dir >/dev/null 2>&1 || ref="path:$root"
  expect 0 "" "nix flake check --no-build (nixpkgs stand-in)" -- "${nixf[@]}" flake check --no-build "$ref" "${stub[@]}"
  local sys; sys=$("${nixf[@]}" eval --impure --raw --expr builtins.currentSystem 2>/dev/null)
  for app in mqnamesrv mqbroker mqadmin mqproxy mqcontroller; do
    expect 0 "^/nix/store/.*/bin/$app$" "nix app $app points at bin/$app" -- \
      "${nixf[@]}" eval --raw "$ref#apps.$sys.$app.program" "${stub[@]}"
  done
  # Nix 2.8's flake check does not look at an app's type; ask for it.
  expect 0 "^default=app mqadmin=app mqbroker=app mqcontroller=app mqnamesrv=app mqproxy=app mqshutdown=app$" "every app has type \"app\"" -- \
    "${nixf[@]}" eval --raw "$ref#apps.$sys" "${stub[@]}" --apply \
    'apps: builtins.concatStringsSep " " (builtins.attrValues (builtins.mapAttrs (n: v: "${n}=${v.type}") apps))'
  expect 0 "^/nix/store/.*\.drv$" "packages.default evaluates to a derivation" -- \
    "${nixf[@]}" eval --raw "$ref#packages.$sys.default.drvPath" "${stub[@]}"
  expect 0 "" "devShells.default evaluates" -- "${nixf[@]}" eval --raw "$ref#devShells.$sys.default.drvPath" "${stub[@]}"
}

# --- compose -------------------------------------------------------------------

host_ip() {
  ip -4 route get 192.0.2.255 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1
}

wait_healthy() { # project file timeout
  local p=$1 f=$2 deadline=$(( $(date +%s) + $3 )) ids id st bad
  while :; do
    ids=$(docker-compose -p "$p" -f "$f" ps -q)
    bad=
    for id in $ids; do
      st=$(docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")
      [ "$st" = running/healthy ] || bad="$bad $(docker inspect -f '{{.Name}}' "$id")=$st"
    done
    [ -n "$ids" ] && [ -z "$bad" ] && return 0
    [ "$(date +%s)" -ge "$deadline" ] && { echo "$bad"; return 1; }
    sleep 0.5
  done
}

test_compose_mode() {
  local mode=$1
  local f=compose/$mode.yml p=rmqtest-$mode-$$ brokers
  section "compose $mode"
  brokers=$(docker-compose -f "$f" config --services | grep -E '^(broker|proxy)' | tr '\n' ' ')
  local ip_env=() how="brokers advertise their container address"
  if [ "$mode" = 2m-2s-async ] || [ "$mode" = 2m-2s-sync ]; then
    local hip; hip=$(host_ip)
    if [ -n "$hip" ]; then ip_env=(RMQ_BROKER_IP="$hip"); how="RMQ_BROKER_IP=$hip (host address, published ports)"; fi
  fi
  projects+=("$p")
  local t0 t1 err
  t0=$(date +%s)
  if ! err=$(env "${ip_env[@]}" RMQ_IMAGE="$image" timeout 180 docker-compose -p "$p" -f "$f" up -d namesrv $brokers 2>&1); then
    fail "docker-compose up $mode: $(tail -5 <<<"$err")"
    docker-compose -p "$p" -f "$f" logs --no-color --tail 20 2>&1 | tail -40
    return
  fi
  if wait_healthy "$p" "$f" 120 >"$tmp/unhealthy"; then
    t1=$(date +%s)
    ok "compose $mode: every service healthy $((t1 - t0)) s after up ($how)"
  else
    fail "compose $mode: not healthy:$(cat "$tmp/unhealthy")"
    docker-compose -p "$p" -f "$f" logs --no-color --tail 20 2>&1 | tail -40
  fi
  expect 0 "The Name Server boot success" "compose $mode: NameServer boot line" -- docker-compose -p "$p" -f "$f" logs --no-color namesrv
  local b
  for b in $brokers; do
    if [ "$b" = proxy ]; then
      expect 0 "The proxy boot success\. gRPC on 0\.0\.0\.0:8081, remoting on 0\.0\.0\.0:8080 and name server is namesrv:9876" \
        "compose $mode: proxy boot line" -- docker-compose -p "$p" -f "$f" logs --no-color proxy
      continue
    fi
    expect 0 "The broker\[broker-[ab], [0-9.]+:109[0-9]1\] boot success\. serializeType=JSON and name server is namesrv:9876" \
      "compose $mode: $b boot line" -- docker-compose -p "$p" -f "$f" logs --no-color "$b"
    [ -n "${ip_env[*]}" ] && has "\[broker-[ab], ${ip_env[0]#RMQ_BROKER_IP=}:" "compose $mode: $b advertises RMQ_BROKER_IP"
  done

  # Bad input through compose: one line, and the status compose reports.
  # The controller samples name their NameServer in the file, which outranks
  # NAMESRV_ADDR: there the bad address goes through the file's overlay.
  local file_ns=()
  [ "$mode" = 2m-2s-controller ] && file_ns=(RMQ_EXTRA_BROKER_PROPS=namesrvAddr=nowhere:9876)
  if [ -n "$brokers" ]; then
    expect 253 "^mqbroker: the NameServer address nowhere:9876 does not resolve" \
      "compose $mode: unresolvable NameServer: one line, status 253 from docker-compose run" -- \
      env RMQ_IMAGE="$image" "${file_ns[@]}" docker-compose -p "$p" -f "$f" run --rm --no-deps -T -e NAMESRV_ADDR=nowhere:9876 -e RMQ_RESOLVE_TIMEOUT=2 broker-a
  fi

  if [ -z "$brokers" ]; then
    :
  else
    local admin=(env RMQ_BIN_DIR="$root/docker/context/home/rocketmq/rocketmq/lib" bin/mqadmin) n_brokers
    n_brokers=$(tr ' ' '\n' <<<"$brokers" | grep -c '^broker')
    expect 0 "broker-a" "compose $mode: mqadmin clusterList inside the network" -- \
      docker-compose -p "$p" -f "$f" exec -T namesrv ./mqadmin clusterList -n namesrv:9876
    [ "$(grep -cE 'broker-[ab] ' <<<"$out")" -ge "$n_brokers" ] && ok "compose $mode: clusterList shows $n_brokers broker(s)" \
      || fail "compose $mode: clusterList: $out"
    local topic=DistSmoke$$ body="hello-from-the-host-$mode-$$"
    expect 0 "" "compose $mode: host mqadmin updateTopic on the cluster" -- \
      "${admin[@]}" updateTopic -n 127.0.0.1:9876 -c DefaultCluster -t "$topic"
    expect 0 "SEND_OK" "compose $mode: a client on the host produces" -- \
      "${admin[@]}" sendMessage -n 127.0.0.1:9876 -t "$topic" -p "$body"
    # A consumer that finds nothing on its first look looks again (up to 5
    # s), as real ones do: consumable NAMESRV GROUP BODY waits for that.
    consumable() {
      local out
      for _ in 1 2 3 4 5; do
        out=$("${admin[@]}" consumeMessage -n "$1" -t "$topic" -g "$2" -c 8 2>/dev/null || true)
        grep -q -- "$3" <<<"$out" && return 0
        sleep 1
      done
    }
    consumable 127.0.0.1:9876 "DistSmokeGroup$$" "$body" || true
    expect 0 "$body" "compose $mode: a client on the host consumes it" -- \
      "${admin[@]}" consumeMessage -n 127.0.0.1:9876 -t "$topic" -g "DistSmokeGroup$$" -c 8
    if [ "$mode" = 2m-2s-controller ]; then
      # listed_as_master GROUP IP:PORT NAMESRV TRIES: whether the NameServer
      # lists IP:PORT as GROUP's brokerId 0 within TRIES half-seconds.
      listed_as_master() {
        local out
        for _ in $(seq 1 "$4"); do
          # Captured first: grep -q closing the pipe early would fail it under pipefail.
          out=$("${admin[@]}" clusterList -n "$3" 2>/dev/null || true)
          grep -qE "$1 +0 +$2 " <<<"$out" && return 0
          sleep 0.5
        done
        return 1
      }
      # Automatic failover: broker-a's master killed, its other node is
      # elected and listed as brokerId 0, and takes broker-a's sends.
      local n1_ip
      n1_ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' \
        "$(docker-compose -p "$p" -f "$f" ps -q broker-a-n1)")
      docker-compose -p "$p" -f "$f" kill broker-a >/dev/null 2>&1
      listed_as_master broker-a "$n1_ip:10931" 127.0.0.1:9876 40 && ok "compose $mode: docker-compose kill broker-a: broker-a-n1 listed as broker-a's master" \
        || fail "compose $mode: broker-a-n1 ($n1_ip) not listed as master 20 s after the kill: $("${admin[@]}" clusterList -n 127.0.0.1:9876 2>&1)"
      expect 0 "SEND_OK" "compose $mode: broker-a takes sends again, through broker-a-n1" -- \
        "${admin[@]}" sendMessage -n 127.0.0.1:9876 -t "$topic" -p "after-failover-$$" -b broker-a
      # One of the three NameServers, with its controller, killed (the Raft
      # leader or not): the other two still fail broker-b's master over.
      local b_ip
      b_ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' \
        "$(docker-compose -p "$p" -f "$f" ps -q broker-b-n1)")
      docker-compose -p "$p" -f "$f" kill namesrv >/dev/null 2>&1
      sleep 5 # the controllers elect a new leader (1-2 s election timeout, then a vote)
      docker-compose -p "$p" -f "$f" kill broker-b >/dev/null 2>&1
      listed_as_master broker-b "$b_ip:10941" 127.0.0.1:9886 60 && ok "compose $mode: NameServer and controller n0 killed, then broker-b: broker-b-n1 listed as master" \
        || fail "compose $mode: broker-b-n1 ($b_ip) not listed as master after the kills: $("${admin[@]}" clusterList -n 127.0.0.1:9886 2>&1)"
      expect 0 "SEND_OK" "compose $mode: broker-b takes sends through broker-b-n1 (NameServers n1, n2)" -- \
        "${admin[@]}" sendMessage -n "127.0.0.1:9886;127.0.0.1:9896" -t "$topic" -p "after-second-failover-$$" -b broker-b
    fi
    if grep -q '"8080:8080"' "$f"; then
      # A remoting client through the proxy's remoting port: it takes the
      # proxy for its NameServer, and the routes it gets name the proxy.
      local via_body="through-the-proxy-$mode-$$"
      expect 0 "SEND_OK" "compose $mode: a remoting client on the host sends through the proxy (127.0.0.1:8080)" -- \
        "${admin[@]}" sendMessage -n 127.0.0.1:8080 -t "$topic" -p "$via_body"
      consumable 127.0.0.1:8080 "DistProxyGroup$$" "$via_body" || true
      expect 0 "$via_body" "compose $mode: ... and consumes it through the proxy" -- \
        "${admin[@]}" consumeMessage -n 127.0.0.1:8080 -t "$topic" -g "DistProxyGroup$$" -c 8
    fi
    if grep -q '"8081:8081"' "$f"; then
      # A RocketMQ 5 client (the official Rust one, gRPC) on the host, through the proxy.
      local smoke=${CARGO_TARGET_DIR:-$root/target}/debug/examples/grpc_smoke
      [ -x "$smoke" ] || cargo build -q -p rmq-interop-v5 --example grpc_smoke
      # Not anchored: the client's logger writes stderr from its own thread, so
      # GRPC_OK can land in the middle of one of its lines.
      expect 0 "GRPC_OK [0-9A-Fa-f]+" "compose $mode: a 5.x gRPC client on the host sends and receives through 127.0.0.1:8081" -- \
        timeout 60 "$smoke" 127.0.0.1:8081 "$topic"
    fi
    if [[ $brokers == *broker-a-s* ]]; then
      # Each slave replicated when its commit log reaches its master's; the
      # message went to one of the two masters, so check both pairs.
      local ma sa mb sb offset_of
      offset_of() { "${admin[@]}" brokerStatus -n 127.0.0.1:9876 -b "127.0.0.1:$1" 2>/dev/null | sed -n 's/^commitLogMaxOffset *: *//p'; }
      for _ in $(seq 1 40); do
        ma=$(offset_of 10911) sa=$(offset_of 10931) mb=$(offset_of 10921) sb=$(offset_of 10941)
        [ -n "$ma" ] && [ -n "$mb" ] && [ "$ma" = "$sa" ] && [ "$mb" = "$sb" ] && [ $((ma + mb)) -gt 0 ] && break
        sleep 0.5
      done
      [ -n "$ma" ] && [ -n "$mb" ] && [ "$ma" = "$sa" ] && [ "$mb" = "$sb" ] && [ $((ma + mb)) -gt 0 ] \
        && ok "compose $mode: slaves caught up with their masters (broker-a $ma, broker-b $mb)" \
        || fail "compose $mode: slaves behind: broker-a $ma / slave $sa, broker-b $mb / slave $sb"
    fi
  fi

  t0=$(date +%s)
  if docker-compose -p "$p" -f "$f" down -v --remove-orphans >/dev/null 2>&1; then
    ok "compose $mode: down -v in $(( $(date +%s) - t0 )) s"
  else
    fail "compose $mode: down -v failed"
  fi
  if grep -q "^${p}_" <<<"$(docker volume ls -q)"; then fail "compose $mode: volumes left behind"; fi
}

test_compose() {
  local modes=("$@") m
  [ ${#modes[@]} -gt 0 ] || read -r -a modes <<<"$all_modes"
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    fail "compose: image $image missing (scripts/build-image.sh, or run '$0 image' first)"
    return
  fi
  for m in "${modes[@]}"; do
    if [ ! -f "compose/$m.yml" ]; then fail "no compose/$m.yml"; continue; fi
    expect 0 "" "compose/$m.yml is valid for docker-compose (v1)" -- docker-compose -f "compose/$m.yml" config -q
    test_compose_mode "$m"
  done
}

# --- main ----------------------------------------------------------------------

what=${1:-all}
[ $# -gt 0 ] && shift
started=$(date +%s)
case $what in
  bin) test_bin ;;
  image) test_image ;;
  nix) test_nix ;;
  compose) test_compose "$@" ;;
  all) test_bin; test_nix; test_image; test_compose ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
echo
echo "distribution tests took $(( $(date +%s) - started )) s"
echo "dist: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
