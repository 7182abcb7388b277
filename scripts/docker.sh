#!/usr/bin/env bash
# A Docker daemon and a tiny local image for the container tests (root only).
#
#   scripts/docker.sh start   install docker.io + busybox-static if missing, start dockerd if no
#                             daemon answers on /var/run/docker.sock, build the image
#                             grt-busybox:latest if missing; prints the socket path and
#                             `started` (this call started dockerd) or `running`
#   scripts/docker.sh stop    stop the dockerd this script started (if any) and its containers
#
# The daemon runs with no bridge network and no iptables/ip-forward changes
# (--bridge=none --iptables=false --ip-forward=false), its own data root, exec root and
# pidfile under /var/tmp/gadgetrt-docker, and listens on the standard socket
# /var/run/docker.sock (where gadgetrt's discovery looks, like ig). A daemon already
# answering there is used as is and never stopped. Containers must run with --network none.
# No registry is needed: the image is `docker import`ed from a root fs holding
# busybox-static (/bin/busybox and its applet symlinks).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
STATE=/var/tmp/gadgetrt-docker
SOCK=/var/run/docker.sock
PIDFILE=$STATE/dockerd.pid
IMAGE=grt-busybox:latest
DOCKER="docker -H unix://$SOCK"

die() { echo "docker.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root"

answers() { $DOCKER version --format '{{.Server.Version}}' >/dev/null 2>&1; }

install() {
  local need=()
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
  dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
  if [ ${#need[@]} -gt 0 ]; then
    echo "docker.sh: installing ${need[*]}" >&2
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  command -v docker >/dev/null 2>&1 || die "no docker CLI after installing docker.io"
}

STATUS=running
start_daemon() {
  answers && return 0
  STATUS=started
  mkdir -p "$STATE"
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    die "dockerd (pid $(cat "$PIDFILE")) is running but does not answer on $SOCK; see $STATE/dockerd.log"
  fi
  rm -f "$PIDFILE"
  # A stale socket from a dead daemon would make dockerd refuse to start.
  [ -S "$SOCK" ] && rm -f "$SOCK"
  echo "docker.sh: starting dockerd (data root $STATE/data, log $STATE/dockerd.log)" >&2
  setsid dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    --data-root "$STATE/data" --exec-root "$STATE/exec" --pidfile "$PIDFILE" \
    -H "unix://$SOCK" >"$STATE/dockerd.log" 2>&1 </dev/null &
  echo started >"$STATE/owned"
  for _ in $(seq 1 120); do
    answers && return 0
    kill -0 $! 2>/dev/null || { tail -20 "$STATE/dockerd.log" >&2; die "dockerd exited"; }
    sleep 0.5
  done
  tail -20 "$STATE/dockerd.log" >&2
  die "dockerd did not answer on $SOCK within 60 s"
}

build_image() {
  $DOCKER image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  local root; root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
  cp /bin/busybox "$root/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
  echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
  echo "root:x:0:" >"$root/etc/group"
  tar -C "$root" -c . | $DOCKER import -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
  rm -rf "$root"
  $DOCKER image inspect "$IMAGE" >/dev/null 2>&1 || die "could not build $IMAGE"
}

stop_daemon() {
  [ -f "$STATE/owned" ] || { echo "docker.sh: no dockerd started by this script" >&2; return 0; }
  if answers; then
    local ids; ids=$($DOCKER ps -aq --filter label=gadgetrt-test 2>/dev/null || true)
    [ -z "$ids" ] || $DOCKER rm -f $ids >/dev/null 2>&1 || true
  fi
  if [ -f "$PIDFILE" ]; then
    local pid; pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
  fi
  rm -f "$STATE/owned" "$PIDFILE"
  echo "docker.sh: dockerd stopped" >&2
}

case "${1:-}" in
  start) install; start_daemon; build_image; echo "$SOCK $STATUS" ;;
  stop) stop_daemon ;;
  *) die "usage: $0 start|stop" ;;
esac
