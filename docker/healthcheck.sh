#!/bin/sh
# The image's HEALTHCHECK: one real request over RocketMQ's remoting protocol,
# with nothing but busybox (printf, nc, tr). No `timeout`: its watcher process
# would be left to PID 1 (the server, which does not reap) as a zombie on
# every check; docker's own --timeout bounds a hung check.
#
#   healthcheck.sh                    the server this container started
#   healthcheck.sh namesrv|broker|proxy|controller [PORT]
#
# bin/mqnamesrv and bin/mqbroker record role and port in $RMQ_HEALTH_FILE when
# they start. The NameServer is asked for the cluster table (code 106), a
# broker for its runtime info (code 28), a controller for its metadata (1005). Healthy = an answer that echoes the
# request's opaque, whatever its code: the server reads frames and replies.
# The proxy (gRPC) is sent HTTP/2's connection preface and an empty SETTINGS
# frame; healthy = it answers with a SETTINGS frame of its own.
set -u
rmq_role=${1:-} rmq_host=127.0.0.1 rmq_port=${2:-}
if [ -z "$rmq_role" ]; then
  if [ -z "${RMQ_HEALTH_FILE:-}" ] || [ ! -r "$RMQ_HEALTH_FILE" ]; then
    echo "unhealthy: no rmq server was started in this container (nothing in ${RMQ_HEALTH_FILE:-RMQ_HEALTH_FILE})"
    exit 1
  fi
  read -r rmq_role rmq_host rmq_port <"$RMQ_HEALTH_FILE"
fi
case $rmq_role in
  namesrv) rmq_code=106 rmq_port=${rmq_port:-9876} ;;
  broker) rmq_code=28 rmq_port=${rmq_port:-10911} ;;
  proxy) rmq_port=${rmq_port:-8081} ;;
  controller) rmq_code=1005 rmq_port=${rmq_port:-9878} ;;
  *) echo "usage: healthcheck.sh [namesrv|broker|proxy|controller] [PORT]"; exit 2 ;;
esac

if [ "$rmq_role" = proxy ]; then
  # Preface, then a SETTINGS frame: length 0, type 4, flags 0, stream 0.
  rmq_answer=$({ printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\000\000\000\004\000\000\000\000\000'; sleep 1; } |
    nc -w 2 "$rmq_host" "$rmq_port" 2>/dev/null | head -c 9 | od -An -tu1 | tr -s ' ')
  case $rmq_answer in
    " "[0-9]*" "[0-9]*" "[0-9]*" 4 "*)
      echo "healthy: proxy answered HTTP/2 on $rmq_host:$rmq_port"; exit 0 ;;
    *)
      echo "unhealthy: proxy on $rmq_host:$rmq_port gave no HTTP/2 answer${rmq_answer:+ ($rmq_answer)}"; exit 1 ;;
  esac
fi

# A big-endian 32-bit integer as 4 raw bytes (octal escapes built on purpose).
# shellcheck disable=SC2059
be32() {
  printf "\\$(printf %03o $(($1 >> 24 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))"
  printf "\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 & 255)))"
}

rmq_opaque=$(( $$ % 100000 + 1 ))
rmq_header="{\"code\":$rmq_code,\"flag\":0,\"language\":\"JAVA\",\"opaque\":$rmq_opaque,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":401}"
# Frame: total length, header length (top byte 0 = JSON), header, no body.
# The sleep keeps our side open while the answer comes back: a server may drop
# a connection whose client has finished writing, answer or not.
rmq_answer=$({ be32 $((${#rmq_header} + 4)); be32 ${#rmq_header}; printf '%s' "$rmq_header"; sleep 1; } |
  nc -w 2 "$rmq_host" "$rmq_port" 2>&1 | tr -d '\000')
case $rmq_answer in
  *"\"opaque\":$rmq_opaque,"* | *"\"opaque\":$rmq_opaque}"*)
    echo "healthy: $rmq_role answered on $rmq_host:$rmq_port" ;;
  *)
    echo "unhealthy: $rmq_role on $rmq_host:$rmq_port gave no remoting answer${rmq_answer:+ ($rmq_answer)}"
    exit 1 ;;
esac
