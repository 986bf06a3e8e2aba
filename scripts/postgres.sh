#!/usr/bin/env bash
# Starts or stops a private PostgreSQL server for the tests: a throw-away cluster in a temp folder, listening on
# 127.0.0.1 only, on a free port, with trust authentication for local test connections.
#   scripts/postgres.sh start   prints the connection string (and remembers the cluster in .postgres-test)
#   scripts/postgres.sh stop    stops it and deletes the cluster
# Uses PostgreSQL 15 (or newer) from /usr/lib/postgresql/*/bin or the PATH, installing it with apt-get when it is
# missing and this runs as root. Run as root, the server runs as the `postgres` user (PostgreSQL refuses root).
set -euo pipefail
cd "$(dirname "$0")/.."
state=.postgres-test

bin=""
for dir in /usr/lib/postgresql/*/bin; do
  [ -x "$dir/pg_ctl" ] && bin="$dir"
done
if [ -z "$bin" ] && command -v pg_ctl >/dev/null 2>&1; then
  bin="$(dirname "$(command -v pg_ctl)")"
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    if [ -z "$bin" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      # a fresh Debian or Ubuntu machine: install the server (as CI does)
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 || \
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1 || true
      for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/pg_ctl" ] && bin="$dir"
      done
    fi
    if [ -z "$bin" ]; then
      echo "PostgreSQL is not installed: install it (Debian/Ubuntu: sudo apt-get install postgresql-15) and run again" >&2
      exit 1
    fi
    dir=$(mktemp -d /tmp/bruno-pg-XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
    as_owner "$bin/initdb" -D "$dir/data" -U bruno --auth=trust -E UTF8 --no-sync >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null
    echo "$dir $port" > "$state"
    echo "Host=127.0.0.1;Port=$port;Username=bruno;Database=postgres"
    ;;
  stop)
    if [ -f "$state" ]; then
      read -r dir _ < "$state"
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
      rm -rf "$dir" "$state"
    fi
    ;;
  *)
    echo "usage: scripts/postgres.sh start|stop" >&2
    exit 1
    ;;
esac
