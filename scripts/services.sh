#!/usr/bin/env bash
# Starts and stops the real services the scale-out suites run against, on loopback only:
#
#   scripts/services.sh start-postgres   # PostgreSQL on 127.0.0.1:$VESSEL_PG_PORT (54329)
#   scripts/services.sh stop-postgres
#   scripts/services.sh crash-postgres  # `pg_ctl -m immediate stop`, keeping the data for resume-postgres
#   scripts/services.sh resume-postgres # starts a crashed (or stopped) instance again, same port and data
#   scripts/services.sh start-rgw        # Ceph RADOS Gateway (S3) on 127.0.0.1:$VESSEL_RGW_PORT (7480)
#   scripts/services.sh stop-rgw
#   scripts/services.sh start-extra-rgw PORT  # a second radosgw on 127.0.0.1:PORT, same Ceph cluster
#   scripts/services.sh stop-extra-rgw PORT   # SIGKILLs that gateway only; start it again with start-extra-rgw
#
# Each `start-*` installs the Debian packages when missing (needs root and apt), starts a
# throwaway instance whose state lives under $VESSEL_SERVICES_DIR, and prints the `export`
# lines the test suites read (eval them). Each `stop-*` stops it and removes its state.
# VESSEL_PG_SETTINGS adds PostgreSQL settings (`name=value …`, after the defaults, so they win);
# crash/resume keep them. The fault tests' private clusters use all of these
# (Tests/VesselTestSupport/DisposablePostgres.swift).
# The extra gateway is how a fault test stops "the S3 server" without stopping the one the other
# suites share, or the OSD (its objects live in RAM: killing it loses them). It serves the same
# buckets and users from the same cluster (the instance under VESSEL_RGW_PORT, which must run),
# runs no background threads (GC, lifecycle, quota: the shared gateway does them), keeps its
# state under that instance's folder, and goes with its stop-rgw.
# Exit status: 0 started/stopped, 1 the service could not be installed or started.
set -euo pipefail

SERVICES_DIR=${VESSEL_SERVICES_DIR:-/tmp/vessel-services}
PG_PORT=${VESSEL_PG_PORT:-54329}
PG_DIR="$SERVICES_DIR/postgres-$PG_PORT"
RGW_PORT=${VESSEL_RGW_PORT:-7480}
RGW_DIR="$SERVICES_DIR/rgw-$RGW_PORT"

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
  local options="-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR -c fsync=off -c max_connections=300" setting
  for setting in ${VESSEL_PG_SETTINGS:-}; do options="$options -c $setting"; done
  printf '%s\n' "$options" >"$PG_DIR/options"
  pg_ctl_start || return 1
  # `vessel` owns the main database and may create one database per test.
  runuser -u postgres -- "$bin/psql" -q -h "$PG_DIR" -p "$PG_PORT" -U postgres \
    -c "CREATE ROLE vessel LOGIN CREATEDB PASSWORD 'vessel'" -c "CREATE DATABASE vessel OWNER vessel" >/dev/null
  echo "export VESSEL_TEST_POSTGRES_URL=postgres://vessel:vessel@127.0.0.1:$PG_PORT/vessel"
}

# Starts the instance under $PG_DIR with the options start_postgres saved. The server gets none
# of this script's descriptors beyond 0-2: a caller that waits for them to close (Foundation's
# Process, which the tests start this script with) would otherwise wait as long as it runs.
pg_ctl_start() {
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      case "$fd" in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
    done
    runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 120 start -o "$(cat "$PG_DIR/options")" >/dev/null
  ) || { log "postgres did not start: $(tail -5 "$PG_DIR/log")"; return 1; }
}

# A crash: the server stops at once, without a checkpoint; the data stays for resume_postgres.
crash_postgres() {
  [ -f "$PG_DIR/data/postmaster.pid" ] || { log "no postgres runs under $PG_DIR"; return 1; }
  runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null
}

# Starts a crashed instance again on its port; returns once it accepts connections (after recovery).
resume_postgres() {
  [ -f "$PG_DIR/options" ] || { log "no postgres was started under $PG_DIR"; return 1; }
  if [ -f "$PG_DIR/data/postmaster.pid" ] && runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
    return 0
  fi
  pg_ctl_start
}

stop_postgres() {
  local bin; bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
}

# --- Ceph RADOS Gateway ---------------------------------------------------------------------------
# Pacific (Debian radosgw 16.2) has no single-process mode, so this runs a throwaway cluster of
# three daemons on loopback: one ceph-mon, one ceph-osd whose objects live in RAM (memstore, cephx
# off, pool size 1) and radosgw. Every daemon and command gets `-c $RGW_DIR/ceph.conf`, so
# /etc/ceph and the system's ceph services are never touched. The S3 user and its keys are fixed
# test values; the bucket `vessel-test` is created with versioning Enabled, as in CI.
# Env: VESSEL_RGW_PORT (7480), VESSEL_RGW_MON_PORT (port + 10000), VESSEL_RGW_MEMSTORE_BYTES (6 GiB;
# held in RAM only as objects are written: two 2 GiB objects peaked the OSD at 6.2 GiB RSS; when
# the store is full every write, deletes included, hangs). Measured on a 2-core machine: start
# 3.3-7.7 s, the longer with a compile running beside it (plus ~40 s to install the packages the
# first time); restart over a running instance about the same; stop 0.2 s.
RGW_MON_PORT=${VESSEL_RGW_MON_PORT:-$((RGW_PORT + 10000))}
RGW_MEMSTORE_BYTES=${VESSEL_RGW_MEMSTORE_BYTES:-$((6 << 30))}
RGW_BUCKET=vessel-test
RGW_ACCESS_KEY=vessel-access
RGW_SECRET_KEY=vessel-secret-key-for-tests
RGW_CONF="$RGW_DIR/ceph.conf"

rgw_ceph() { timeout 30 ceph -c "$RGW_CONF" --connect-timeout 20 "$@"; }

# Prints the last lines of every daemon log, for a start that failed.
rgw_logs() {
  local f
  for f in "$RGW_DIR"/log/*.log; do
    [ -f "$f" ] || continue
    log "--- tail of $f"; tail -8 "$f" >&2
  done
}

rgw_fail() { log "rgw: $*"; rgw_logs; stop_rgw; return 1; }

# One signed S3 request as the test user: rgw_s3 METHOD URL BODY; prints the HTTP status and
# leaves the response body in $RGW_DIR/log/s3.out.
rgw_s3() {
  local hash; hash=$(printf '%s' "$3" | sha256sum | cut -d' ' -f1)
  curl -s -o "$RGW_DIR/log/s3.out" -w '%{http_code}' --max-time 20 -X "$1" "$2" \
    --aws-sigv4 aws:amz:us-east-1:s3 --user "$RGW_ACCESS_KEY:$RGW_SECRET_KEY" \
    -H "x-amz-content-sha256: $hash" ${3:+-H 'Content-Type: application/xml' --data-binary "$3"} || true
}

start_rgw() {
  if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null || ! command -v ceph-osd >/dev/null; then
    log "installing radosgw ceph-mon ceph-osd"
    apt_install radosgw ceph-mon ceph-osd || return 1
  fi
  if [ -d "$RGW_DIR" ]; then stop_rgw; fi
  # Another server on the port would answer the readiness poll below in radosgw's place.
  if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$RGW_PORT/" || true)" != 000 ]; then
    log "rgw: 127.0.0.1:$RGW_PORT is already in use (set VESSEL_RGW_PORT)"; return 1
  fi
  mkdir -p "$RGW_DIR"/{run,log,mon,osd,rgw}
  local fsid osd_uuid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$RGW_CONF" <<CONF
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$RGW_MON_PORT
mon_initial_members = a
public_addr = 127.0.0.1
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_bind_msgr1 = false
run_dir = $RGW_DIR/run
admin_socket = $RGW_DIR/run/\$name.asok
pid_file = $RGW_DIR/run/\$name.pid
log_file = $RGW_DIR/log/\$name.log
keyring = $RGW_DIR/keyring
mon_data = $RGW_DIR/mon/\$name
osd_data = $RGW_DIR/osd/\$name
client_mount_timeout = 30
rgw_init_timeout = 90
rgw_data = $RGW_DIR/rgw/\$name
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
mon_data_avail_warn = 1
# The monitor refuses to start below 5% free disk by default; its data is a few MiB, and
# RGW's objects live in memory (memstore), so a nearly full shared disk must not stop CI.
mon_data_avail_crit = 0
# Each pool radosgw creates waits for a new OSD map; the monitor proposes one per second by default.
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
[osd]
osd_objectstore = memstore
memstore_device_bytes = $RGW_MEMSTORE_BYTES
osd_class_update_on_start = false
osd_crush_update_on_start = false
[client.rgw.vessel]
# radosgw defaults to a secure mon connection, which auth "none" cannot give.
ms_mon_client_mode = crc
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
# Deleted objects' data is freed by garbage collection, by default only after 2 h and then hourly:
# in a store of a few GiB, three 2 GiB uploads deleted in turn fill the OSD, and then every write,
# deletes included, hangs. Here it is freed within seconds.
rgw_gc_obj_min_wait = 0
rgw_gc_processor_period = 5
CONF
  : >"$RGW_DIR/keyring"
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$RGW_MON_PORT]" "$RGW_DIR/monmap" >"$RGW_DIR/log/setup.log" 2>&1 \
    || { rgw_fail "monmaptool failed: $(tail -3 "$RGW_DIR/log/setup.log")"; return 1; }
  ceph-mon -c "$RGW_CONF" -i a --mkfs --monmap "$RGW_DIR/monmap" >>"$RGW_DIR/log/setup.log" 2>&1 \
    || { rgw_fail "ceph-mon --mkfs failed: $(tail -3 "$RGW_DIR/log/setup.log")"; return 1; }
  ceph-mon -c "$RGW_CONF" -i a >>"$RGW_DIR/log/setup.log" 2>&1 || { rgw_fail "ceph-mon did not start"; return 1; }
  # The OSD refuses its own start-up CRUSH update with auth off, so it is placed by hand.
  local id
  id=$(rgw_ceph osd new "$osd_uuid" 2>>"$RGW_DIR/log/setup.log") || { rgw_fail "the monitor did not answer"; return 1; }
  mkdir -p "$RGW_DIR/osd/osd.$id"
  ceph-osd -c "$RGW_CONF" -i "$id" --mkfs --osd-uuid "$osd_uuid" >>"$RGW_DIR/log/setup.log" 2>&1 \
    || { rgw_fail "ceph-osd --mkfs failed: $(tail -3 "$RGW_DIR/log/setup.log")"; return 1; }
  ceph-osd -c "$RGW_CONF" -i "$id" >>"$RGW_DIR/log/setup.log" 2>&1 || { rgw_fail "ceph-osd did not start"; return 1; }
  { rgw_ceph osd crush add-bucket localhost host && rgw_ceph osd crush move localhost root=default \
      && rgw_ceph osd crush add "osd.$id" 1.0 host=localhost; } >>"$RGW_DIR/log/setup.log" 2>&1 \
    || { rgw_fail "placing osd.$id in the CRUSH map failed"; return 1; }
  # In the foreground (-f) and backgrounded here: daemonized, radosgw would block this script
  # until it reached the cluster. In the foreground it writes no pid file, so this does.
  setsid radosgw -f -c "$RGW_CONF" -n client.rgw.vessel </dev/null >>"$RGW_DIR/log/setup.log" 2>&1 &
  local rgw_pid=$!
  echo "$rgw_pid" >"$RGW_DIR/run/client.rgw.vessel.pid"
  disown
  # radosgw creates its pools and then opens the port; the first answer can take a while.
  local deadline=$((SECONDS + 90))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$RGW_PORT/" || true)" != 000 ]; do
    kill -0 "$rgw_pid" 2>/dev/null || { rgw_fail "radosgw exited before answering on 127.0.0.1:$RGW_PORT"; return 1; }
    if [ "$SECONDS" -ge "$deadline" ]; then rgw_fail "radosgw did not answer on 127.0.0.1:$RGW_PORT within 90 s"; return 1; fi
    sleep 0.5
  done
  timeout 60 radosgw-admin -c "$RGW_CONF" user create --uid vessel --display-name vessel \
    --access-key "$RGW_ACCESS_KEY" --secret-key "$RGW_SECRET_KEY" >"$RGW_DIR/log/user.json" 2>>"$RGW_DIR/log/setup.log" \
    || { rgw_fail "radosgw-admin user create failed"; return 1; }
  # The test bucket, with versioning on as in CI. curl signs SigV4 itself (--aws-sigv4), which
  # needs no Python at this point; curl 7.88 signs neither the payload hash (given here as a
  # header) nor a bare `?versioning` subresource correctly (hence `?versioning=`).
  local endpoint="http://127.0.0.1:$RGW_PORT" code
  local versioning='<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>'
  code=$(rgw_s3 PUT "$endpoint/$RGW_BUCKET" "")
  [ "$code" = 200 ] || { rgw_fail "creating bucket $RGW_BUCKET: HTTP $code $(cat "$RGW_DIR/log/s3.out")"; return 1; }
  code=$(rgw_s3 PUT "$endpoint/$RGW_BUCKET?versioning=" "$versioning")
  [ "$code" = 200 ] || { rgw_fail "enabling versioning on $RGW_BUCKET: HTTP $code $(cat "$RGW_DIR/log/s3.out")"; return 1; }
  code=$(rgw_s3 GET "$endpoint/$RGW_BUCKET?versioning=" "")
  [ "$code" = 200 ] && grep -q '<Status>Enabled</Status>' "$RGW_DIR/log/s3.out" \
    || { rgw_fail "versioning on $RGW_BUCKET is not Enabled: HTTP $code $(cat "$RGW_DIR/log/s3.out")"; return 1; }
  echo "export VESSEL_TEST_S3_URL='s3://$RGW_BUCKET?endpoint=$endpoint&region=us-east-1'"
  echo "export VESSEL_TEST_S3_ENDPOINT=$endpoint"
  echo "export VESSEL_TEST_S3_ACCESS_KEY=$RGW_ACCESS_KEY"
  echo "export VESSEL_TEST_S3_SECRET_KEY=$RGW_SECRET_KEY"
}

# Kills the daemons of this instance only: by their pid files, then anything still running with
# this instance's conf. All get SIGKILL: the state is deleted anyway, a clean stop of the memstore
# OSD writes its whole store to disk, and radosgw, once the others are gone, waits on them.
stop_rgw() {
  local f pid pids
  for f in "$RGW_DIR"/run/*.pid; do
    [ -f "$f" ] && pid=$(cat "$f") && [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  done
  local deadline=$((SECONDS + 10))
  while pids=$(pgrep -f -- "-c $RGW_CONF( |\$)"); do
    kill -KILL $pids 2>/dev/null || true
    if [ "$SECONDS" -ge "$deadline" ]; then log "rgw: still running after SIGKILL: $pids"; break; fi
    sleep 0.1
  done
  rm -rf "$RGW_DIR"
}

# A second gateway of the running instance on 127.0.0.1:$1, named client.rgw.extra-$1 (its own
# pid file, admin socket and log under $RGW_DIR); returns once it answers. Does nothing when it runs.
start_extra_rgw() {
  local port=${1:?start-extra-rgw needs a port} name pidfile pid
  [ -f "$RGW_CONF" ] || { log "rgw: no instance runs under $RGW_DIR (set VESSEL_RGW_PORT/VESSEL_SERVICES_DIR)"; return 1; }
  name=client.rgw.extra-$port
  pidfile="$RGW_DIR/run/$name.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
  if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/" || true)" != 000 ]; then
    log "rgw: 127.0.0.1:$port is already in use"; return 1
  fi
  # Started as start_rgw starts the shared one, with none of this script's descriptors beyond 0-2.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      case "$fd" in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
    done
    setsid radosgw -f -c "$RGW_CONF" -n "$name" --ms_mon_client_mode=crc \
      --rgw_frontends="beast endpoint=127.0.0.1:$port" --rgw_enable_gc_threads=false \
      --rgw_enable_lc_threads=false --rgw_enable_quota_threads=false \
      </dev/null >>"$RGW_DIR/log/$name.out" 2>&1 &
    echo $! >"$pidfile"
  )
  pid=$(cat "$pidfile")
  local deadline=$((SECONDS + 90))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/" || true)" != 000 ]; do
    kill -0 "$pid" 2>/dev/null || { log "rgw: the extra gateway exited before answering: $(tail -5 "$RGW_DIR/log/$name.out" "$RGW_DIR/log/$name.log" 2>/dev/null)"; rm -f "$pidfile"; return 1; }
    if [ "$SECONDS" -ge "$deadline" ]; then log "rgw: the extra gateway did not answer on 127.0.0.1:$port within 90 s"; stop_extra_rgw "$port"; return 1; fi
    sleep 0.2
  done
}

# SIGKILLs the extra gateway on $1 (a crash: no request it holds gets an answer) and returns once
# it has exited. The cluster and the shared gateway are untouched.
stop_extra_rgw() {
  local port=${1:?stop-extra-rgw needs a port} pidfile pid
  pidfile="$RGW_DIR/run/client.rgw.extra-$port.pid"
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill -KILL "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then log "rgw: the extra gateway $pid still runs after SIGKILL"; return 1; fi
    sleep 0.05
  done
  rm -f "$pidfile" "$RGW_DIR/run/client.rgw.extra-$port.asok"
}

case "${1:-}" in
  start-postgres) start_postgres ;;
  stop-postgres) stop_postgres ;;
  crash-postgres) crash_postgres ;;
  resume-postgres) resume_postgres ;;
  start-rgw) start_rgw ;;
  stop-rgw) stop_rgw ;;
  start-extra-rgw) start_extra_rgw "${2:-}" ;;
  stop-extra-rgw) stop_extra_rgw "${2:-}" ;;
  *) log "usage: $0 start-postgres|stop-postgres|crash-postgres|resume-postgres|start-rgw|stop-rgw|start-extra-rgw PORT|stop-extra-rgw PORT"; exit 2 ;;
esac
