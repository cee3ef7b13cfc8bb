#!/usr/bin/env bash
# Runs the nginx example of docs/tls.md ("Behind a proxy") for real: Debian's nginx terminates TLS
# with a throwaway CA (scripts/tls_test_pki.sh) and proxies to `vessel serve` on plain HTTP on
# loopback with --trust-proxy 127.0.0.1/32. Through nginx, with --ca-cert: push (a 96 MiB model,
# so bodies above nginx's 1 MiB default stream), pull (byte-compared), alias set, deploy, a
# deployment long-poll woken by a change, and one that runs out its full 60 s (proxy_read_timeout
# must be above 60 s); then the audit's client_address must be what nginx put in X-Forwarded-For.
# Everything lives under one folder in /tmp, removed at the end; exits non-zero on any failure.
# Not part of CI.
#
#   scripts/nginx_example.sh                    # uses .build/release/vessel, else .build/debug/vessel
#   VESSEL_BIN=/path/to/vessel KEEP=1 scripts/nginx_example.sh   # KEEP=1: leave the folder for a look
#
# Installs nginx with apt-get when it is missing (needs root); it is never started as a service.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL_BIN:-}
if [[ -z $vessel ]]; then
  for candidate in "$root/.build/release/vessel" "$root/.build/debug/vessel"; do
    [[ -x $candidate ]] && { vessel=$candidate; break; }
  done
fi
[[ -n $vessel && -x $vessel ]] || { echo "error: no vessel binary (swift build, or set VESSEL_BIN)" >&2; exit 1; }
if ! command -v nginx >/dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
  echo "== installing nginx (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y nginx >/dev/null
  # The package enables its service; this script runs nginx itself.
  systemctl disable nginx >/dev/null 2>&1 || true
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d /tmp/vessel-nginx.XXXXXX)
serve_pid='' nginx_pid='' idle_poll_pid=''
cleanup() {
  local status=$?
  [[ -n $idle_poll_pid ]] && kill "$idle_poll_pid" 2>/dev/null || true
  [[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  if (( status != 0 )); then
    echo "FAILED (exit $status); logs:" >&2
    tail -n 20 "$work"/serve.log "$work"/nginx/logs/error.log >&2 2>/dev/null || true
  fi
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

echo "== $("$nginx_bin" -v 2>&1); vessel: $vessel; folder: $work"
bash "$root/scripts/tls_test_pki.sh" "$work/pki"
vessel_port=$(free_port)
nginx_port=$(free_port)
export VESSEL_ADMIN_TOKEN=vsl_nginx-example-admin

# Vessel on embedded defaults (SQLite + local blobs), plain HTTP on loopback, nginx trusted.
"$vessel" serve --data-dir "$work/data" --host 127.0.0.1 --port "$vessel_port" \
  --trust-proxy 127.0.0.1/32 --log-level warning >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$vessel_port/healthz" >/dev/null 2>&1 && break
  kill -0 "$serve_pid" 2>/dev/null || fail "vessel serve exited"
  sleep 0.2
done
curl -sf "http://127.0.0.1:$vessel_port/healthz" >/dev/null || fail "vessel serve did not come up"

# The server block is docs/tls.md's example with the test PKI's files, port 127.0.0.1:$nginx_port
# and upstream 127.0.0.1:$vessel_port; the rest makes a standalone nginx run under $work.
mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
worker_processes 1;
events { worker_connections 256; }
http {
    access_log $work/nginx/logs/access.log;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path       $work/nginx/tmp/proxy;
    fastcgi_temp_path     $work/nginx/tmp/fastcgi;
    uwsgi_temp_path       $work/nginx/tmp/uwsgi;
    scgi_temp_path        $work/nginx/tmp/scgi;

    server {
        listen 127.0.0.1:$nginx_port ssl http2;
        server_name localhost;
        ssl_certificate     $work/pki/server.pem;
        ssl_certificate_key $work/pki/server.key;
        client_max_body_size 0;            # pushes stream blobs of any size
        proxy_request_buffering off;       # … without spooling them to disk first
        proxy_buffering off;               # pulls stream too
        proxy_read_timeout 1h;             # long transfers and deployment long-polls (up to 60 s)
        proxy_send_timeout 1h;
        location / {
            proxy_pass http://127.0.0.1:$vessel_port;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }
}
CONF
"$nginx_bin" -t -q -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>&1 | grep -v '^$' >&2 || true
"$nginx_bin" -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>>"$work/nginx/logs/stderr.log" &
nginx_pid=$!
export VESSEL_SERVER="https://127.0.0.1:$nginx_port" VESSEL_TOKEN=$VESSEL_ADMIN_TOKEN
ca=(--ca-cert "$work/pki/ca.pem")
for _ in $(seq 1 50); do
  curl -sf --cacert "$work/pki/ca.pem" "$VESSEL_SERVER/healthz" >/dev/null 2>&1 && break
  kill -0 "$nginx_pid" 2>/dev/null || fail "nginx exited: $(cat "$work/nginx/logs/stderr.log")"
  sleep 0.2
done
"$vessel" whoami "${ca[@]}" >/dev/null || fail "whoami through nginx"
echo "== whoami through nginx (TLS by nginx, --ca-cert) ok"
# The client insists on the CA: without it the handshake with nginx is refused (exit 6).
set +e; "$vessel" whoami >/dev/null 2>&1; without=$?; set -e
[[ $without == 6 ]] || fail "whoami without --ca-cert: exit $without, expected 6"

# Push a model larger than nginx's default 1 MiB body limit and its buffers, pull it back.
model="$work/model"; mkdir -p "$model"
head -c $((96 << 20)) /dev/urandom >"$model/weights.bin"
printf '{"architectures": ["Demo"], "hidden_size": 64}\n' >"$model/config.json"
"$vessel" push "$model" --model acme/nginx --alias staging "${ca[@]}" --json >"$work/push.json" || fail "push"
"$vessel" pull acme/nginx@staging "$work/pulled" --cache-dir "$work/cache" "${ca[@]}" --json >/dev/null || fail "pull"
cmp "$model/weights.bin" "$work/pulled/weights.bin" || fail "pulled weights differ"
cmp "$model/config.json" "$work/pulled/config.json" || fail "pulled config differs"
echo "== push + pull of 96 MiB through nginx ok (byte-identical)"
"$vessel" alias set acme/nginx production 1 "${ca[@]}" --json >/dev/null || fail "alias set"
echo "== alias set ok"

# Deployments: one that will change (woken long-poll) and one that stays idle (full 60 s wait).
"$vessel" deploy acme/nginx:1 --env prod-eu "${ca[@]}" --json >/dev/null || fail "deploy prod-eu"
"$vessel" deploy acme/nginx:1 --env idle "${ca[@]}" --json >/dev/null || fail "deploy idle"
api="$VESSEL_SERVER/api/v1/models/acme/nginx/deployments"
auth=(-H "Authorization: Bearer $VESSEL_TOKEN" --cacert "$work/pki/ca.pem")
idle_rev=$(curl -sf "${auth[@]}" "$api/idle" | json 'd["revision"]')
curl -s -o /dev/null -w '%{http_code} %{time_total}' "${auth[@]}" "$api/idle?wait=60&after=$idle_rev" >"$work/idle-poll.txt" &
idle_poll_pid=$!
rev=$(curl -sf "${auth[@]}" "$api/prod-eu" | json 'd["revision"]')
curl -s -o "$work/poll.json" -w '%{http_code} %{time_total}' "${auth[@]}" "$api/prod-eu?wait=30&after=$rev" >"$work/poll.txt" &
poll_pid=$!
sleep 2
"$vessel" deploy acme/nginx@staging --env prod-eu "${ca[@]}" --json >/dev/null || fail "second deploy"
wait "$poll_pid" || fail "long-poll curl failed"
read -r code took <"$work/poll.txt" || true
[[ $code == 200 ]] || fail "woken long-poll answered $code"
new_rev=$(json 'd["revision"]' <"$work/poll.json")
(( new_rev > rev )) || fail "long-poll document has revision $new_rev, not above $rev"
echo "== long-poll woken by a deploy through nginx: 200, revision $rev -> $new_rev after ${took}s"

# Audit: through nginx, client_address is what nginx put in X-Forwarded-For. The vessel client
# is on 127.0.0.1 (a trusted proxy address itself), so a write is also made with curl from
# 127.0.0.2, with a spoofed X-Forwarded-For that nginx appends to and Vessel must not believe.
curl -sf --interface 127.0.0.2 "${auth[@]}" -X POST -H 'Content-Type: application/json' \
  -H 'X-Forwarded-For: 203.0.113.9' -d '{"name": "via-nginx", "kind": "user"}' \
  "$VESSEL_SERVER/api/v1/principals" >/dev/null || fail "principal create via nginx from 127.0.0.2"
"$vessel" audit --json "${ca[@]}" >"$work/audit.json" || fail "audit --json"
python3 - "$work/audit.json" <<'PY' || fail "audit client addresses"
import json, sys
items = json.load(open(sys.argv[1]))["items"]
by_target = {}
for e in items:
    by_target.setdefault(e.get("target"), []).append(e)
def address(target):
    entries = by_target.get(target)
    if not entries:
        sys.exit(f"no audit entry for {target}; targets: {sorted(map(str, by_target))}")
    return entries[0].get("client_address"), entries[0].get("action")
got, action = address("principal/via-nginx")
print(f"   audit {action} principal/via-nginx: client_address={got} (curl from 127.0.0.2, spoofed X-Forwarded-For: 203.0.113.9)")
if got != "127.0.0.2":
    sys.exit(f"client_address {got!r}, expected 127.0.0.2 (nginx's X-Forwarded-For entry; the spoofed one must be ignored)")
for e in items:
    if "acme/nginx" in str(e.get("target", "")) and e.get("client_address") != "127.0.0.1":
        sys.exit(f"{e.get('action')} {e.get('target')}: client_address {e.get('client_address')!r}, expected 127.0.0.1")
n = sum(1 for e in items if "acme/nginx" in str(e.get("target", "")))
print(f"   {n} entries for acme/nginx (push, alias set, deploys): client_address=127.0.0.1")
PY
echo "== audit client_address via nginx ok"

echo "== waiting for the idle long-poll (wait=60) to run out through nginx"
wait "$idle_poll_pid" || true
idle_poll_pid=''
read -r code took <"$work/idle-poll.txt" || true
[[ $code == 304 ]] || fail "idle long-poll answered $code after ${took}s, expected 304 (proxy_read_timeout too short?)"
echo "== idle long-poll: 304 after ${took}s through nginx ok"
grep -E '\[(error|crit|alert|emerg)\]' "$work/nginx/logs/error.log" && fail "nginx logged errors"
echo "PASS: the nginx example of docs/tls.md ran ($("$nginx_bin" -v 2>&1 | sed 's/.*: //'))"
