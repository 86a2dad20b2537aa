#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the tests and prints the shell lines that name it:
#
#   eval "$(bash scripts/setup-postgres.sh)"   # exports TEST_POSTGRES_URL and TEST_POSTGRES_DIR
#   ...                                        # tests create one database per server under that URL
#   bash scripts/setup-postgres.sh stop "$TEST_POSTGRES_DIR"
#
# Installs Debian's postgresql when its binaries are missing (as root), then runs initdb and the server
# as the `postgres` user (PostgreSQL refuses to run as root; a non-root caller runs it as itself) with
# its own data directory in a temp dir, listening on 127.0.0.1 only, on a free port, with password
# authentication for the `gantry` role. Progress goes to stderr; stdout carries only the exports.
set -euo pipefail

log() { echo "setup-postgres: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

if [ "${1:-}" = "stop" ]; then
  dir=${2:?usage: $0 stop DIR}
  bin=$(bindir) || exit 0
  [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi

if ! bin=$(bindir); then
  [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed and installing it needs root (run: sudo $0)"
  log "installing postgresql (apt-get)..."
  bash "$(dirname "$0")/apt-install-quiet.sh" postgresql >&2 || die "apt-get could not install postgresql"
  bin=$(bindir) || die "postgresql is installed but no pg_ctl under /usr/lib/postgresql"
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/gantry-postgres-XXXXXX")
chmod 755 "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
password=gantry-test
printf '%s\n' "$password" >"$dir/pwfile"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pwfile"
as_owner "$bin/initdb" -D "$dir/data" -U gantry --pwfile="$dir/pwfile" --auth=scram-sha-256 \
  --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2
  die "initdb failed"
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# Test settings: durability off (a crash loses only test data), enough connections for several servers.
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
  start >/dev/null || {
  cat "$dir/server.log" >&2
  die "the server did not start"
}
log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
echo "export TEST_POSTGRES_URL=postgres://gantry:$password@127.0.0.1:$port/postgres"
echo "export TEST_POSTGRES_DIR=$dir"
