# shellcheck shell=sh disable=SC2034,SC2154
# (variables are set and read across this file and its callers)
# Shared by bin/mqnamesrv, bin/mqbroker and bin/mqadmin; sourced, never run.
#
# The callers set rmq_prog (mqnamesrv, mqbroker, mqadmin) and rmq_bindir (the
# directory holding these scripts, symlinks resolved) before sourcing it.
#
# What lives here:
#   - translating the Java scripts' environment (JAVA_OPT, JAVA_OPT_EXT,
#     HEAP_OPTS, ...) into what the rmq binaries understand;
#   - finding the binary (installed layout or a cargo checkout);
#   - the start-up checks that turn a bad setup into one clear line and a
#     non-zero exit status (config file, writable directories, NameServer
#     address, ports), before the server starts;
#   - the environment overlay (BROKER_IP1, BROKER_IP2, RMQ_BROKER_PROPS,
#     RMQ_NAMESRV_PROPS) that layers settings over a config file without
#     editing it.
#
# Plain POSIX sh: it runs under busybox sh (the image), dash and bash.

# Java's exit statuses, kept so that scripts watching them see the same thing.
RMQ_EXIT_FAILURE=255   # System.exit(-1): a start-up exception (bad file, port in use)
RMQ_EXIT_INIT=253      # System.exit(-3): initialisation failed (store, namesrv address)

rmq_say() { printf '%s: %s\n' "$rmq_prog" "$*" >&2; }

rmq_die() { rmq_code=$1; shift; rmq_say "$*"; exit "$rmq_code"; }

# --- ROCKETMQ_HOME -----------------------------------------------------------

# Like the Java scripts: trusted when set, otherwise the parent of bin/.
if [ -z "${ROCKETMQ_HOME:-}" ]; then
  ROCKETMQ_HOME=$(cd "$rmq_bindir/.." && pwd -P)
fi
export ROCKETMQ_HOME

# --- Java habits -------------------------------------------------------------

# Reads JAVA_OPT then JAVA_OPT_EXT (appended last by the Java scripts, so it
# wins): -Duser.home=DIR becomes HOME, -Drocketmq.namesrv.addr=ADDR becomes
# NAMESRV_ADDR, -Drocketmq.home.dir=DIR becomes ROCKETMQ_HOME; the binaries
# read -Drmq.log.*, -Drocketmq.serialize.type and -Dtls.* (TLS switches)
# themselves. Everything else
# in them only tunes a JVM, so it is listed in one note and otherwise ignored,
# together with HEAP_OPTS, JAVA_HOME, MAX_POSSIBLE_HEAP and RMQ_NUMA_NODE.
rmq_translate_java_env() {
  if [ -z "${HOME:-}" ]; then
    HOME=$(awk -F: -v u="$(id -u)" '$3 == u { print $6; exit }' /etc/passwd 2>/dev/null)
    export HOME
  fi
  rmq_ignored=
  set -f
  for rmq_w in ${JAVA_OPT:-} ${JAVA_OPT_EXT:-}; do
    case $rmq_w in
      -Duser.home=?*) HOME=$(rmq_unquote "${rmq_w#-Duser.home=}"); export HOME ;;
      -Drocketmq.namesrv.addr=?*) NAMESRV_ADDR=$(rmq_unquote "${rmq_w#-Drocketmq.namesrv.addr=}"); export NAMESRV_ADDR ;;
      -Drocketmq.home.dir=?*) ROCKETMQ_HOME=$(rmq_unquote "${rmq_w#-Drocketmq.home.dir=}"); export ROCKETMQ_HOME ;;
      # Read by the binaries themselves from JAVA_OPT.
      -Drmq.log.*=?* | -Drocketmq.serialize.type=?*) ;;
      -Dtls.?*) ;;
      *) rmq_ignored="$rmq_ignored $rmq_w" ;;
    esac
  done
  set +f
  for rmq_v in HEAP_OPTS JAVA_HOME MAX_POSSIBLE_HEAP RMQ_NUMA_NODE; do
    eval "rmq_val=\${$rmq_v:-}"
    [ -n "$rmq_val" ] && rmq_ignored="$rmq_ignored $rmq_v"
  done
  if [ -n "$rmq_ignored" ]; then
    rmq_say "note: ignoring Java-only settings (rmq runs no JVM):$rmq_ignored"
  fi
}

# $1 without the quotes around it, as the binaries read -D values.
rmq_unquote() { printf '%s' "$1" | sed "s/^[\"']*//; s/[\"']*\$//"; }

# --- the binary --------------------------------------------------------------

# Sets rmq_bin to the executable called $1, or exits 1 saying where it looked.
# Order: $RMQ_BIN_DIR; ../lib next to bin/ (the image, nix and tarball
# layout); in a cargo checkout the newer of the release and debug builds.
rmq_find_bin() {
  rmq_bin=
  rmq_looked=
  rmq_root=$(cd "$rmq_bindir/.." && pwd -P)
  if [ -n "${RMQ_BIN_DIR:-}" ]; then
    rmq_candidates="$RMQ_BIN_DIR/$1"
  else
    rmq_candidates="$rmq_root/lib/$1"
    if [ -f "$rmq_root/Cargo.toml" ]; then
      rmq_tdir=${CARGO_TARGET_DIR:-$rmq_root/target}
      case $rmq_tdir in /*) ;; *) rmq_tdir=$rmq_root/$rmq_tdir ;; esac
      rmq_candidates="$rmq_candidates $rmq_tdir/release/$1 $rmq_tdir/debug/$1"
    fi
  fi
  set -f
  for rmq_c in $rmq_candidates; do
    rmq_looked="$rmq_looked $rmq_c"
    if [ -f "$rmq_c" ] && [ -x "$rmq_c" ]; then
      # -nt is not POSIX but dash, bash and busybox all have it.
      # shellcheck disable=SC3013
      if [ -z "$rmq_bin" ] || [ "$rmq_c" -nt "$rmq_bin" ]; then rmq_bin=$rmq_c; fi
    fi
  done
  set +f
  if [ -z "$rmq_bin" ]; then
    rmq_die 1 "the rmq binary '$1' is not built yet or not installed (looked for:$rmq_looked); build it with: cargo build --release -p rmq-cli"
  fi
}

# --- reading a .properties file ------------------------------------------------

# Prints the last value of key $2 in properties file $1 (Java rules, simplified:
# '=', ':' or blanks separate; leading blanks of the value dropped; comments
# with # or !). Prints nothing when the key is absent.
rmq_prop() {
  [ -n "$1" ] && [ -r "$1" ] || return 0
  awk -v k="$2" '
    /^[ \t]*[#!]/ { next }
    {
      line = $0; sub(/\r$/, "", line); sub(/^[ \t]+/, "", line)
      if (substr(line, 1, length(k)) != k) next
      rest = substr(line, length(k) + 1)
      if (rest != "" && rest !~ /^[ \t]*[=:]/ && rest !~ /^[ \t]/) next
      sub(/^[ \t]*[=:]?[ \t]*/, "", rest); v = rest; found = 1
    }
    END { if (found) print v }' "$1"
}

# Exits with one line when file $1 cannot be a usable properties file:
# missing, a directory or unreadable; then checks its settings.
rmq_check_conf() {
  [ -e "$1" ] || rmq_die $RMQ_EXIT_FAILURE "config file $1 not found (working directory $(pwd))"
  [ -d "$1" ] && rmq_die $RMQ_EXIT_FAILURE "config file $1 is a directory, not a file"
  [ -r "$1" ] || rmq_die $RMQ_EXIT_FAILURE "config file $1 is not readable by uid $(id -u)"
  rmq_check_props "config file $1" <"$1"
}

# Reads properties on stdin and exits with one line, naming them as $1, at
# the first line that is no "key=value" or whose value RocketMQ could not
# parse for one of the keys whose type it checks (numbers and enums).
rmq_check_props() {
  rmq_bad=$(awk '
    function fail(msg) { printf "line %d: %s", NR, msg; exit }
    cont { cont = ($0 ~ /\\$/); next }
    {
      line = $0; sub(/\r$/, "", line); sub(/^[ \t]+/, "", line)
      if (line == "" || line ~ /^[#!]/) next
      if (line !~ /^[A-Za-z_][A-Za-z0-9_.-]*([ \t]*[=:]|[ \t]|$)/)
        fail("\"" substr(line, 1, 40) "\" is not a key=value setting")
      cont = (line ~ /\\$/)
      key = line; sub(/[ \t=:].*$/, "", key)
      val = substr(line, length(key) + 1); sub(/^[ \t]*[=:]?[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
      if (key ~ /^(brokerId|listenPort|haListenPort|fileReservedTime|brokerPermission|defaultTopicQueueNums|mappedFileSizeCommitLog|mappedFileSizeConsumeQueue|maxMessageSize|diskMaxUsedSpaceRatio)$/ && val !~ /^-?[0-9]+$/)
        fail(key " must be a number, not \"" val "\"")
      if (key == "brokerRole" && val !~ /^(ASYNC_MASTER|SYNC_MASTER|SLAVE)$/)
        fail("brokerRole must be ASYNC_MASTER, SYNC_MASTER or SLAVE, not \"" val "\"")
      if (key == "flushDiskType" && val !~ /^(ASYNC_FLUSH|SYNC_FLUSH)$/)
        fail("flushDiskType must be ASYNC_FLUSH or SYNC_FLUSH, not \"" val "\"")
    }' 2>&1) || true
  [ -n "$rmq_bad" ] && rmq_die $RMQ_EXIT_FAILURE "$1 is malformed: $rmq_bad"
  return 0
}

# --- start-up checks ---------------------------------------------------------

# Exits when directory $1 (described as $2) cannot be created or written to.
rmq_check_writable() {
  rmq_probe="$1/.rmq-write-test.$$"
  # The probe runs in a subshell: a failed redirection on a special builtin
  # such as ':' would end the script itself.
  if ! mkdir -p "$1" 2>/dev/null || ! (: >"$rmq_probe") 2>/dev/null; then
    rmq_die $RMQ_EXIT_INIT "cannot write to the $2 $1 as uid $(id -u): make it writable by that uid (for a bind-mounted host directory: chown -R $(id -u):$(id -g) <host dir>) or use a named volume"
  fi
  rm -f "$rmq_probe"
}

# Exits when TCP port $1 (described as $2; $3 is the setting that moves it)
# already has a listener in this network namespace. Linux only (reads /proc/net/tcp*); elsewhere it trusts bind.
rmq_check_port() {
  [ -r /proc/net/tcp ] || return 0
  rmq_hex=$(printf '%04X' "$1")
  if awk -v p=":$rmq_hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
      /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
    rmq_die $RMQ_EXIT_FAILURE "port $1 ($2) is already in use on this host; stop what listens there or set another $3"
  fi
}

# Exits when a NameServer address list ("host:port;host:port") is malformed
# or names a host that does not resolve. Waits up to RMQ_RESOLVE_TIMEOUT
# seconds (default 10) for names to appear, as a compose network may need.
rmq_check_namesrv_addr() {
  rmq_list=$1
  rmq_wait=${RMQ_RESOLVE_TIMEOUT:-10}
  rmq_old_ifs=$IFS
  IFS=';'
  set -f
  for rmq_a in $rmq_list; do
    IFS=$rmq_old_ifs
    rmq_a=$(printf '%s' "$rmq_a" | tr -d ' \t')
    [ -z "$rmq_a" ] && continue
    rmq_host=${rmq_a%:*}
    rmq_port=${rmq_a##*:}
    case $rmq_a in *:*) ;; *) rmq_port= ;; esac
    case $rmq_port in ''|*[!0-9]*)
      rmq_die $RMQ_EXIT_INIT "The Name Server Address[$rmq_list] illegal, please set it as follows, \"127.0.0.1:9876;192.168.0.1:9876\"" ;;
    esac
    case $rmq_host in ''|*[!0-9.]*) ;; *) continue ;; esac   # an IPv4 literal
    rmq_t=0
    while ! rmq_resolves "$rmq_host" "$rmq_port"; do
      rmq_t=$((rmq_t + 1))
      if [ "$rmq_t" -ge "$rmq_wait" ]; then
        rmq_die $RMQ_EXIT_INIT "the NameServer address $rmq_a does not resolve: no host named '$rmq_host' (check -n, NAMESRV_ADDR or namesrvAddr)"
      fi
      sleep 1
    done
  done
  IFS=$rmq_old_ifs
  set +f
}

# True when host name $1 resolves; also true when this system offers no way
# to tell (then the server's own error is what the user sees).
rmq_resolves() {
  if command -v getent >/dev/null 2>&1; then
    getent hosts "$1" >/dev/null 2>&1
    return
  fi
  if command -v nc >/dev/null 2>&1; then
    # busybox nc says "bad address" for a name it cannot resolve; any other
    # outcome (connected, refused, timed out) means the name resolved.
    ! nc -w 1 "$1" "$2" </dev/null 2>&1 | grep -q 'bad address'
    return
  fi
  return 0
}

# --- arguments and overlay ---------------------------------------------------

# Scans the server's arguments: sets rmq_conf (-c/--configFile), rmq_ns
# (-n/--namesrvAddr) and rmq_info=1 when only information is asked for
# (-h, -p, -m), in which case no checks run.
rmq_scan_args() {
  rmq_conf='' rmq_ns='' rmq_info='' rmq_next=''
  for rmq_a in "$@"; do
    case $rmq_next in
      c) rmq_conf=$rmq_a; rmq_next=; continue ;;
      n) rmq_ns=$rmq_a; rmq_next=; continue ;;
    esac
    case $rmq_a in
      -c|--configFile) rmq_next=c ;;
      --configFile=*) rmq_conf=${rmq_a#--configFile=} ;;
      -c?*) rmq_conf=${rmq_a#-c} ;;
      -n|--namesrvAddr) rmq_next=n ;;
      --namesrvAddr=*) rmq_ns=${rmq_a#--namesrvAddr=} ;;
      -n?*) rmq_ns=${rmq_a#-n} ;;
      -h|--help|-p|--printConfigItem|-m|--printImportantConfig) rmq_info=1 ;;
    esac
  done
}

# Writes the overlay file when there is something to layer: the -c file (if
# any) followed by the lines of $1 (newline-separated key=value). Sets
# rmq_overlay to its path, or leaves it empty when $1 is empty.
rmq_write_overlay() {
  rmq_overlay=
  [ -n "$1" ] || return 0
  rmq_overlay="${TMPDIR:-/tmp}/rmq-$rmq_prog-$(id -u)-$$.properties"
  # Overlays of servers that are gone (a PID no longer alive) are left-overs.
  for rmq_old in "${TMPDIR:-/tmp}/rmq-$rmq_prog-$(id -u)-"*.properties; do
    [ -f "$rmq_old" ] || continue
    rmq_pid=${rmq_old##*-}
    rmq_pid=${rmq_pid%.properties}
    case $rmq_pid in ''|*[!0-9]*) continue ;; esac
    kill -0 "$rmq_pid" 2>/dev/null || rm -f "$rmq_old"
  done
  {
    printf '# Generated by bin/%s at start-up: %s\n' "$rmq_prog" "${rmq_conf:-no -c file}"
    printf '# followed by settings from the environment. Edit those, not this file.\n'
    [ -n "$rmq_conf" ] && cat "$rmq_conf" && echo
    printf '# --- from the environment ---\n%s\n' "$1"
  } >"$rmq_overlay" 2>/dev/null || rmq_die $RMQ_EXIT_FAILURE "cannot write $rmq_overlay (TMPDIR)"
}

# Rewrites the positional arguments: -c/--configFile now points at the
# overlay (or is added), other arguments stay as they were. Call it as
#   eval "set -- $(rmq_args_with_overlay "$@")"
rmq_args_with_overlay() {
  rmq_out='' rmq_skip='' rmq_seen=''
  for rmq_a in "$@"; do
    if [ -n "$rmq_skip" ]; then rmq_skip=; continue; fi
    case $rmq_a in
      -c|--configFile) rmq_skip=1; rmq_seen=1; rmq_a="-c $(rmq_quote "$rmq_overlay")" ;;
      --configFile=*|-c?*) rmq_seen=1; rmq_a="-c $(rmq_quote "$rmq_overlay")" ;;
      *) rmq_a=$(rmq_quote "$rmq_a") ;;
    esac
    rmq_out="$rmq_out $rmq_a"
  done
  [ -z "$rmq_seen" ] && rmq_out="$rmq_out -c $(rmq_quote "$rmq_overlay")"
  printf '%s\n' "$rmq_out"
}

# Single-quotes $1 for eval.
rmq_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# Records role, host and port for bin/mqhealth when RMQ_HEALTH_FILE is set
# (the image sets it; on a host nothing is written).
rmq_record_health() {
  [ -n "${RMQ_HEALTH_FILE:-}" ] || return 0
  printf '%s 127.0.0.1 %s\n' "$1" "$2" >"$RMQ_HEALTH_FILE" 2>/dev/null || true
}
