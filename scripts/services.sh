#!/usr/bin/env bash
# Starts and stops the real services the scale-out suites run against, on loopback only:
#
#   scripts/services.sh start-postgres   # PostgreSQL on 127.0.0.1:$VESSEL_PG_PORT (54329)
#   scripts/services.sh stop-postgres
#
# Each `start-*` installs the Debian packages when missing (needs root and apt), starts a
# throwaway instance whose state lives under $VESSEL_SERVICES_DIR, and prints the `export`
# lines the test suites read (eval them). Each `stop-*` stops it and removes its state.
# Exit status: 0 started/stopped, 1 the service could not be installed or started.
set -euo pipefail

SERVICES_DIR=${VESSEL_SERVICES_DIR:-/tmp/vessel-services}
PG_PORT=${VESSEL_PG_PORT:-54329}
PG_DIR="$SERVICES_DIR/postgres-$PG_PORT"

log() { printf '%s\n' "$*" >&2; }

# Installs Debian packages without letting their maintainer scripts start a system service.
apt_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || { log "cannot install $* (needs root and apt-get)"; return 1; }
  local guard=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$guard" ]; then printf '#!/bin/sh\nexit 101\n' >"$guard"; chmod 755 "$guard"; created=1; fi
  local status=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1; } \
    || status=1
  if [ "$created" = 1 ]; then rm -f "$guard"; fi
  return "$status"
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

start_postgres() {
  if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
    log "installing postgresql"
    apt_install postgresql postgresql-client || return 1
  fi
  local bin; bin=$(pg_bin)
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then stop_postgres; fi
  rm -rf "$PG_DIR"; mkdir -p "$PG_DIR"; chown postgres:postgres "$PG_DIR"; chmod 700 "$PG_DIR"
  runuser -u postgres -- "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
    || { log "initdb failed: $(tail -3 "$PG_DIR/initdb.log")"; return 1; }
  runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w start \
    -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR -c fsync=off -c max_connections=300" >/dev/null \
    || { log "postgres did not start: $(tail -5 "$PG_DIR/log")"; return 1; }
  # `vessel` owns the main database and may create one database per test.
  runuser -u postgres -- "$bin/psql" -q -h "$PG_DIR" -p "$PG_PORT" -U postgres \
    -c "CREATE ROLE vessel LOGIN CREATEDB PASSWORD 'vessel'" -c "CREATE DATABASE vessel OWNER vessel" >/dev/null
  echo "export VESSEL_TEST_POSTGRES_URL=postgres://vessel:vessel@127.0.0.1:$PG_PORT/vessel"
}

stop_postgres() {
  local bin; bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
}

case "${1:-}" in
  start-postgres) start_postgres ;;
  stop-postgres) stop_postgres ;;
  *) log "usage: $0 start-postgres|stop-postgres"; exit 2 ;;
esac
