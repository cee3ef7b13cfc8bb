#!/usr/bin/env python3
"""Fills a running Vessel through its API and measures search page latency (issue 27).

Usage: bench_search.py URL TOKEN MODELS VERSIONS [CLIENTS]
Registers VERSIONS versions spread over MODELS models (draft + commit of a one-file manifest
whose blob is uploaded once), with CLIENTS threads, and prints versions/s; then times pages
(client-side wall time of one HTTP request on localhost, median and p99 of 30): the first and
a deep page of each models sort, a model's versions, and the searches across models.
"""
import hashlib, http.client, json, statistics, sys, threading, time, urllib.parse

url, token, n_models, n_versions = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
clients = int(sys.argv[5]) if len(sys.argv) > 5 else 8
host = urllib.parse.urlparse(url)

def conn():
    return http.client.HTTPConnection(host.hostname, host.port, timeout=60)

def call(c, method, path, body=None, raw=None):
    headers = {"Authorization": f"Bearer {token}"}
    data = raw
    if body is not None:
        data = json.dumps(body).encode(); headers["Content-Type"] = "application/json"
    if data is not None:
        headers["Content-Length"] = str(len(data))
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse(); text = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {text[:300]!r}")
    return json.loads(text) if text else None

blob = b'{"bench": true}'
digest = "sha256:" + hashlib.sha256(blob).hexdigest()
models = [f"o{i % 100:02d}/model-{i:05d}" for i in range(n_models)]
c = conn()
# The blob, uploaded once for the first model and committed there: every later version may name it.
first = models[0]
call(c, "POST", f"/api/v1/models/{first}", {"description": "bench model 0", "tags": ["bench", "t0"]})
call(c, "PUT", f"/api/v1/models/{first}/blobs/{digest}", raw=blob)

def register(model, n, descr):
    d = call(c_local(), "POST", f"/api/v1/models/{model}/drafts",
             {"files": [{"path": f"config-{n}.json", "size": len(blob), "digest": digest, "media_type": "application/json"}], "description": descr})
    call(c_local(), "POST", f"/api/v1/models/{model}/drafts/{d['draft_id']}/commit")

local = threading.local()
def c_local():
    if not hasattr(local, "c"): local.c = conn()
    return local.c

register(first, 0, "seed")
for i, m in enumerate(models[1:], 1):
    call(c, "POST", f"/api/v1/models/{m}", {"description": f"bench model {i} {'bert' if i % 10 == 0 else 'gpt'}", "tags": ["bench", f"t{i % 10}"]})
print(f"models: {n_models} created", flush=True)

def fill(total, threads):
    counter = iter(range(total)); lock = threading.Lock(); lat = []
    def work():
        while True:
            with lock:
                k = next(counter, None)
            if k is None: return
            t = time.perf_counter(); register(models[k % n_models], k, "v"); dt = time.perf_counter() - t
            with lock: lat.append(dt)
    ts = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for t in ts: t.start()
    for t in ts: t.join()
    return total / (time.perf_counter() - start), lat

def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(len(xs) * p))]

one = min(500, n_versions // 10 or 1)
rate1, lat1 = fill(one, 1)
print(f"register (draft+commit, 2 requests) 1 client: {rate1:.0f} versions/s, p50 {pct(lat1, .5)*1e3:.1f} ms, p99 {pct(lat1, .99)*1e3:.1f} ms", flush=True)
rate8, lat8 = fill(n_versions - one - 1, clients)
print(f"register {clients} clients: {rate8:.0f} versions/s, p50 {pct(lat8, .5)*1e3:.1f} ms, p99 {pct(lat8, .99)*1e3:.1f} ms ({n_versions} versions total)", flush=True)

def timed(path, runs=30):
    xs = []
    for _ in range(runs):
        t = time.perf_counter(); call(c, "GET", path); xs.append(time.perf_counter() - t)
    return statistics.median(xs) * 1e3, pct(xs, .99) * 1e3

def deep(path, pages):
    cursor = None
    for _ in range(pages):
        page = call(c, "GET", path + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""))
        cursor = page["next_cursor"]
        if not cursor: break
    return path + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")

busiest = models[1]
checks = [
    ("models sort=name, page 1", "/api/v1/models?limit=100"),
    ("models sort=name, page 50", deep("/api/v1/models?limit=100", 49)),
    ("models sort=created, page 50", deep("/api/v1/models?limit=100&sort=created", 49)),
    ("models sort=updated, page 1", "/api/v1/models?limit=100&sort=updated"),
    ("models search=bert", "/api/v1/models?limit=100&search=bert"),
    ("models tag=t3", "/api/v1/models?limit=100&tag=t3"),
    (f"versions of {busiest}, page 1", f"/api/v1/models/{busiest}/versions?limit=100"),
    ("versions across models, page 1", "/api/v1/versions?limit=100"),
    ("versions across models, page 20", deep("/api/v1/versions?limit=100", 19)),
    ("versions model_search=bert state=ready", "/api/v1/versions?limit=100&model_search=bert&state=ready"),
    ("versions digest=<shared blob>", f"/api/v1/versions?limit=100&digest={digest}"),
]
for label, path in checks:
    p50, p99 = timed(path)
    print(f"{label:45s} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
