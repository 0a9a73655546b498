#!/usr/bin/env bash
# A scratch PostgreSQL server for the storage tests: a fresh cluster in DIR, owned by an
# unprivileged user (postgres when run as root: the server refuses to run as root), listening
# on 127.0.0.1 at a free port and on a unix socket in DIR, trusting local connections.
#
#   tools/postgres_test_server.sh start DIR   # prints the URL; writes it to DIR/url
#   tools/postgres_test_server.sh stop DIR    # stops it and removes DIR
#
# Fails (exit 1, a message naming the missing package) when the server binaries are absent:
# the tests that need the server must not silently skip.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

bindir=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && bindir=$d
done
if [ -z "$bindir" ]; then
  echo "postgres_test_server: no initdb under /usr/lib/postgresql/*/bin:" \
       "install the Debian package 'postgresql' (tools/install_deps.sh)" >&2
  exit 1
fi

# Runs a server binary as the unprivileged owner of the cluster.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
  start)
    rm -rf "$dir"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" -eq 0 ]; then
      if ! id postgres >/dev/null 2>&1; then
        echo "postgres_test_server: running as root needs the 'postgres' user" \
             "(created by the Debian package 'postgresql')" >&2
        exit 1
      fi
      chown postgres "$dir"
      # The owner must reach DIR through its parents (mktemp folders are 0700).
      chmod o+x "$(dirname "$dir")" 2>/dev/null || true
    fi
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    # A free port: bind 0 and read back what the kernel chose (a race with other binders is
    # possible but pg_ctl below then fails loudly).
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    url="postgresql://postgres@127.0.0.1:$port/postgres"
    echo "$url" >"$dir/url"
    echo "$port" >"$dir/port"
    echo "$url"
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *) usage ;;
esac
