#!/usr/bin/env bash
# A throwaway OCI registry (Debian's docker-registry, i.e. distribution 2.x) on 127.0.0.1.
#
#   scripts/registry.sh start DIR [USER:PASSWORD]   config, storage (DIR/storage), log, pid in DIR;
#                                                   prints the address (127.0.0.1:PORT), also in DIR/addr.
#                                                   With USER:PASSWORD the registry requires basic auth (htpasswd).
#                                                   The port is a free one, or $REGISTRY_PORT when set (fails if taken).
#   scripts/registry.sh stop DIR                    stops the registry started in DIR (its pid only).
#
# Installs the docker-registry package (and apache2-utils for htpasswd) when missing; needs root for that.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [USER:PASSWORD]" >&2; exit 2; }

need() {  # need BINARY PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "installing $2" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2 || {
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2; }
}

case "$cmd" in
start)
  need docker-registry docker-registry
  mkdir -p "$dir/storage"
  dir=$(cd "$dir" && pwd)
  port=$(python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); print(s.getsockname()[1])' "${REGISTRY_PORT:-0}") ||
    { echo "127.0.0.1:${REGISTRY_PORT:-0} is not free" >&2; exit 1; }
  auth=""
  if [ -n "${3:-}" ]; then
    need htpasswd apache2-utils
    htpasswd -Bbn "${3%%:*}" "${3#*:}" > "$dir/htpasswd" 2>/dev/null
    auth="auth:
  htpasswd:
    realm: gadgetrt-test
    path: $dir/htpasswd"
  fi
  cat > "$dir/config.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$auth
YML
  docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
  echo $! > "$dir/pid"
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      echo "127.0.0.1:$port" > "$dir/addr"; echo "127.0.0.1:$port"; exit 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "docker-registry did not start; log:" >&2; cat "$dir/registry.log" >&2; exit 1
  ;;
stop)
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/pid"
  fi
  ;;
*) echo "usage: $0 start|stop DIR [USER:PASSWORD]" >&2; exit 2 ;;
esac
