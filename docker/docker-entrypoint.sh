#!/bin/sh
# The image's entrypoint, compatible with RocketMQ's images:
#
#   docker run rmq nameserver [mqnamesrv options]     (also: namesrv)
#   docker run rmq broker [mqbroker options]          (add --enable-proxy for 5.x gRPC clients)
#   docker run rmq proxy [mqproxy options]
#   docker run rmq controller -c ../conf/controller/controller-standalone.conf   (preview, single node)
#   docker run -e NODE_ROLE=broker rmq [mqbroker options]
#   docker run rmq sh mqbroker -c ../conf/broker.conf  any other command runs as given
#   docker exec <container> ./mqadmin clusterList -n namesrv:9876
#
# Every path ends in exec, so the server is PID 1 and gets docker's SIGTERM.
rmq_here=$(cd "$(dirname "$0")" && pwd)

rmq_usage() {
  cat <<USAGE
usage: docker run <image> nameserver|broker|proxy|controller [options]   (or set NODE_ROLE=...)
       docker run <image> <command> [args]              e.g. sh mqbroker -c ../conf/broker.conf -n namesrv:9876
USAGE
}

rmq_role_program() {
  case $1 in
    nameserver|namesrv) echo mqnamesrv ;;
    broker) echo mqbroker ;;
    proxy) echo mqproxy ;;
    controller) echo mqcontroller ;;
    *)
      echo "docker-entrypoint: unknown role '$1' (NODE_ROLE): use nameserver, broker, proxy or controller" >&2
      exit 1 ;;
  esac
}

case ${1:-} in
  nameserver|namesrv|broker|proxy|controller)
    rmq_prog=$(rmq_role_program "$1") || exit 1
    shift
    exec /bin/sh "$rmq_here/$rmq_prog" "$@" ;;
  ''|-*)
    if [ -n "${NODE_ROLE:-}" ]; then
      rmq_prog=$(rmq_role_program "$NODE_ROLE") || exit 1
      exec /bin/sh "$rmq_here/$rmq_prog" "$@"
    fi
    if [ $# -eq 0 ]; then
      rmq_usage >&2
      exit 2
    fi ;;
esac
exec "$@"
