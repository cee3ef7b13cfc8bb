#!/usr/bin/env python3
"""Fills a running registry through its API and measures registration rate and page latency
(issue 27). One backend per call; scripts/bench_search.sh runs them all and prints the ratios.

Usage: bench_search.py KIND URL TOKEN MODELS LEVELS [CLIENTS] [SUMMARY]
  KIND    vessel | mlflow (an `mlflow server`, through its REST API 2.0)
  LEVELS  comma-separated version counts (e.g. 10000,100000): the registry is filled up to each
          in turn and the pages are timed there.
  SUMMARY a file the JSON summary is appended to.
Vessel registers a version as draft + commit of a one-file manifest whose blob is uploaded once
(2 requests); MLflow as model-versions/create (1 request, it stores no files). The first 10% of
the first level (at most 500) come from 1 client, the rest from CLIENTS threads. Pages are
client-side wall time of one localhost request, median and p99 of 30.
"""
import hashlib, http.client, json, statistics, sys, threading, time, urllib.parse

kind, url, token, n_models = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
levels = [int(x) for x in sys.argv[5].split(",")]
clients = int(sys.argv[6]) if len(sys.argv) > 6 else 8
summary_path = sys.argv[7] if len(sys.argv) > 7 else None
host = urllib.parse.urlparse(url)
local = threading.local()

def conn():
    if not hasattr(local, "c"): local.c = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
    return local.c

def call(method, path, body=None, raw=None):
    headers = {"Authorization": f"Bearer {token}"} if kind == "vessel" else {}
    data = raw
    if body is not None:
        data = json.dumps(body).encode(); headers["Content-Type"] = "application/json"
    if data is not None:
        headers["Content-Length"] = str(len(data))
    try:
        c = conn(); c.request(method, path, body=data, headers=headers)
        r = c.getresponse(); text = r.read()
    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
        # A connection idle past the server's keep-alive timeout (the pages follow a long fill):
        # a GET is asked again on a new one; a write is not (it may have been applied).
        if method != "GET": raise
        del local.c
        c = conn(); c.request(method, path, body=data, headers=headers)
        r = c.getresponse(); text = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {text[:300]!r}")
    return json.loads(text) if text else None

blob = b'{"bench": true}'
digest = "sha256:" + hashlib.sha256(blob).hexdigest()
if kind == "vessel":
    models = [f"o{i % 100:02d}/model-{i:05d}" for i in range(n_models)]
else:
    models = [f"o{i % 100:02d}~model-{i:05d}" for i in range(n_models)]

def describe(i): return f"bench model {i} {'bert' if i % 10 == 0 else 'gpt'}"

def create_model(i):
    if kind == "vessel":
        call("POST", f"/api/v1/models/{models[i]}", {"description": describe(i), "tags": ["bench", f"t{i % 10}"]})
    else:
        call("POST", "/api/2.0/mlflow/registered-models/create",
             {"name": models[i], "description": describe(i), "tags": [{"key": "bench", "value": "1"}, {"key": f"t{i % 10}", "value": "1"}]})

def register(model, n):
    if kind == "vessel":
        d = call("POST", f"/api/v1/models/{model}/drafts",
                 {"files": [{"path": f"config-{n}.json", "size": len(blob), "digest": digest, "media_type": "application/json"}], "description": "v"})
        call("POST", f"/api/v1/models/{model}/drafts/{d['draft_id']}/commit")
    else:
        call("POST", "/api/2.0/mlflow/model-versions/create", {"name": model, "source": f"s3://bench/{model}/{n}", "description": "v"})

create_model(0)
if kind == "vessel":  # the blob, uploaded once: every later version may name it
    call("PUT", f"/api/v1/models/{models[0]}/blobs/{digest}", raw=blob)
register(models[0], 0)
for i in range(1, n_models): create_model(i)
print(f"models: {n_models} created", flush=True)

registered = 1
def fill(total, threads):
    global registered
    counter = iter(range(registered, registered + total)); lock = threading.Lock(); lat = []
    def work():
        while True:
            with lock:
                k = next(counter, None)
            if k is None: return
            t = time.perf_counter(); register(models[k % n_models], k); dt = time.perf_counter() - t
            with lock: lat.append(dt)
    ts = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for t in ts: t.start()
    for t in ts: t.join()
    registered += total
    return total / (time.perf_counter() - start), lat

def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(len(xs) * p))]

def timed(path, runs=30):
    xs = []
    for _ in range(runs):
        t = time.perf_counter(); call("GET", path); xs.append(time.perf_counter() - t)
    return statistics.median(xs) * 1e3, pct(xs, .99) * 1e3

def deep(path, pages):
    cursor = None; key = "next_cursor" if kind == "vessel" else "next_page_token"
    param = "cursor" if kind == "vessel" else "page_token"
    for _ in range(pages):
        page = call("GET", path + (f"&{param}={urllib.parse.quote(cursor)}" if cursor else ""))
        cursor = page.get(key)
        if not cursor: break
    return path + (f"&{param}={urllib.parse.quote(cursor)}" if cursor else "")

def q(s): return urllib.parse.quote(s)
busiest = models[1]
if kind == "vessel":
    checks = lambda: [
        ("models page 1", "/api/v1/models?limit=100"),
        ("models page 20", deep("/api/v1/models?limit=100", 19)),
        ("models search=bert (name LIKE)", "/api/v1/models?limit=100&search=bert"),
        ("models tag=t3", "/api/v1/models?limit=100&tag=t3"),
        ("versions of one model (name=), page 1", f"/api/v1/models/{busiest}/versions?limit=100"),
        ("versions of one model (name=), page 5", deep(f"/api/v1/models/{busiest}/versions?limit=100", 4)),
        ("versions across models, page 1", "/api/v1/versions?limit=100"),
        ("versions across models, page 20", deep("/api/v1/versions?limit=100", 19)),
        ("versions model_search=bert state=ready", "/api/v1/versions?limit=100&model_search=bert&state=ready"),
        ("versions digest=<shared blob>", f"/api/v1/versions?limit=100&digest={digest}"),
    ]
else:
    checks = lambda: [
        ("models page 1", "/api/2.0/mlflow/registered-models/search?max_results=100"),
        ("models page 20", deep("/api/2.0/mlflow/registered-models/search?max_results=100", 19)),
        ("models search=bert (name LIKE)", "/api/2.0/mlflow/registered-models/search?max_results=100&filter=" + q("name LIKE '%bert%'")),
        ("models tag=t3", "/api/2.0/mlflow/registered-models/search?max_results=100&filter=" + q("tags.t3 = '1'")),
        ("versions of one model (name=), page 1", "/api/2.0/mlflow/model-versions/search?max_results=100&filter=" + q(f"name = '{busiest}'")),
        ("versions of one model (name=), page 5", deep("/api/2.0/mlflow/model-versions/search?max_results=100&filter=" + q(f"name = '{busiest}'"), 4)),
        ("versions across models, page 1", "/api/2.0/mlflow/model-versions/search?max_results=100"),
        ("versions across models, page 20", deep("/api/2.0/mlflow/model-versions/search?max_results=100", 19)),
        ("versions model_search=bert state=ready", "/api/2.0/mlflow/model-versions/search?max_results=100&filter=" + q("name LIKE '%bert%'")),
    ]

summary = {"kind": kind, "levels": {}}
for index, level in enumerate(levels):
    if index == 0:
        one = min(500, max(1, level // 10))
        rate1, lat1 = fill(one, 1)
        print(f"register 1 client: {rate1:.0f} versions/s, p50 {pct(lat1, .5)*1e3:.1f} ms, p99 {pct(lat1, .99)*1e3:.1f} ms", flush=True)
        rate8, lat8 = fill(max(0, level - registered), clients)
        print(f"register {clients} clients: {rate8:.0f} versions/s, p50 {pct(lat8, .5)*1e3:.1f} ms, p99 {pct(lat8, .99)*1e3:.1f} ms", flush=True)
        summary.update(rate1=rate1, rate8=rate8, p99_8=pct(lat8, .99) * 1e3)
    else:
        rate, _ = fill(max(0, level - registered), clients)
        print(f"filled to {level} at {rate:.0f} versions/s ({clients} clients)", flush=True)
    print(f"-- {registered} versions, {n_models} models", flush=True)
    pages = {}
    for label, path in checks():
        p50, p99 = timed(path)
        pages[label] = p50
        print(f"   {label:42s} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms", flush=True)
    summary["levels"][str(level)] = pages
if summary_path:
    with open(summary_path, "a") as f: f.write(json.dumps(summary) + "\n")
