#!/usr/bin/env python3
"""The web UI render benchmark's steps (run by scripts/bench_ui.sh, issue 29).

  fill URL TOKEN VERSIONS CLIENTS   registers VERSIONS versions of bench/m through the API
                                    (draft + commit of a one-file manifest, one blob)
  audit SQLITE TOTAL                appends entries to the audit chain of a stopped server's
                                    metadata.sqlite until it holds TOTAL, with the canonical
                                    encoding and hashes (AuditChain.swift), three of them by the
                                    actor `rare-actor` first (the oldest, for the filter's worst case)
  render URL TOKEN RUNS             signs in through /ui/login, checks the chain verifies, and
                                    times pages: wall time of one GET on loopback, p50 and p99
  browser URL TOKEN CHROMIUM        DOMContentLoaded of the same pages in Chromium (Playwright)
"""
import hashlib, http.client, json, re, sqlite3, statistics, sys, threading, time, urllib.parse

MODEL = "bench/m"


def conn(url):
    host = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(host.hostname, host.port, timeout=120)


def call(c, token, method, path, body=None, raw=None):
    headers = {"Authorization": f"Bearer {token}"}
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if data is not None:
        headers["Content-Length"] = str(len(data))
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    text = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {text[:300]!r}")
    return json.loads(text) if text else None


def fill(url, token, n_versions, clients):
    blob = b'{"bench": "ui"}'
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    c = conn(url)
    call(c, token, "POST", f"/api/v1/models/{MODEL}", {"description": "web UI bench", "tags": ["bench"]})
    call(c, token, "PUT", f"/api/v1/models/{MODEL}/blobs/{digest}", raw=blob)
    counter = iter(range(n_versions))
    lock = threading.Lock()
    local = threading.local()

    def work():
        local.c = conn(url)
        while True:
            with lock:
                k = next(counter, None)
            if k is None:
                return
            d = call(local.c, token, "POST", f"/api/v1/models/{MODEL}/drafts",
                     {"files": [{"path": f"config-{k}.json", "size": len(blob), "digest": digest, "media_type": "application/json"}]})
            call(local.c, token, "POST", f"/api/v1/models/{MODEL}/drafts/{d['draft_id']}/commit")

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    print(f"fill: {n_versions} versions of {MODEL} through the API in {elapsed:.0f} s ({n_versions / elapsed:.0f} versions/s, {clients} clients)", flush=True)


def canonical(seq, at, actor, action, target, model, before, after, request_id, reason, prev):
    out = bytearray(b"vessel-audit-v1\n")
    for name, value in (("seq", str(seq)), ("at", str(at)), ("actor", actor), ("action", action), ("target", target),
                        ("model", model), ("before", before), ("after", after), ("request_id", request_id),
                        ("reason", reason), ("prev_hash", prev)):
        out += name.encode()
        if value is None:
            out += b"=-"
        else:
            data = value.encode()
            out += f"={len(data)}:".encode() + data
        out += b"\n"
    return bytes(out)


def audit(path, total):
    db = sqlite3.connect(path)
    seq, prev = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    start = seq
    at = int(time.time() * 1e6)
    rows = []
    actions = ["alias.set", "deployment.advanced", "model.update", "version.commit", "check.report"]
    while seq < total:
        seq += 1
        k = seq - start
        actor = "rare-actor" if k <= 3 else f"bench-bot-{k % 7}"
        action = actions[k % len(actions)]
        target = f"model/{MODEL}"
        row = (seq, at + k, actor, action, target, MODEL, None, f"bulk {k}", None, "bench fill")
        digest = hashlib.sha256(canonical(*row, prev)).hexdigest()
        rows.append(row + (prev, digest))
        prev = digest
    db.executemany("INSERT INTO audit_log (seq, at, actor, action, target, model, before_value, after_value, request_id, reason, prev_hash, hash) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
    db.commit()
    print(f"audit: {len(rows)} entries appended in bulk after the API's {start}: {seq} in the chain", flush=True)


def sign_in(url, token):
    c = conn(url)
    c.request("GET", "/ui/login")
    r = c.getresponse()
    html = r.read().decode()
    login = re.search(r"vessel_login=([^;]+)", r.getheader("Set-Cookie") or "").group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode({"csrf": csrf, "token": token, "next": "/ui/models"})
    c.request("POST", "/ui/login", body=body, headers={"Cookie": f"vessel_login={login}", "Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    cookies = [v for k, v in r.getheaders() if k.lower() == "set-cookie" and v.startswith("vessel_session=")]
    if r.status != 303 or not cookies:
        raise SystemExit(f"sign-in failed: {r.status}")
    return cookies[0].split(";")[0]


def get(c, cookie, path):
    c.request("GET", path, headers={"Cookie": cookie})
    r = c.getresponse()
    body = r.read().decode()
    if r.status != 200:
        raise SystemExit(f"GET {path}: {r.status} {body[:300]}")
    return body


def follow(c, cookie, path, rel_text, times):
    """The address `times` pages on from `path`, following its next link."""
    for _ in range(times):
        body = get(c, cookie, path)
        found = re.search(r'<a href="([^"]+)" rel="next">' + rel_text, body)
        if not found:
            break
        path = found.group(1).replace("&amp;", "&")
    return path


def pages(url, token):
    cookie = sign_in(url, token)
    c = conn(url)
    first_model = f"/ui/models/{MODEL}"
    return cookie, [
        ("model page 1 (50 of the versions)", first_model),
        ("model page 100 (versions 4951-5000 back)", follow(c, cookie, first_model, "Older versions", 99)),
        ("audit page 1", "/ui/audit"),
        ("audit page 50", follow(c, cookie, "/ui/audit", "Older entries", 49)),
        ("audit actor=rare-actor (3 oldest entries)", "/ui/audit?actor=rare-actor"),
        ("audit action=deployment", "/ui/audit?action=deployment"),
    ]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def render(url, token, runs):
    c = conn(url)
    verified = call(c, token, "GET", "/api/v1/audit/verify")
    print(f"chain verification: {json.dumps(verified)}", flush=True)
    if not verified.get("ok"):
        raise SystemExit("the filled audit chain does not verify")
    cookie, named = pages(url, token)
    versions = get(c, cookie, f"/ui/models/{MODEL}").count('class="state state-')
    print(f"server-side render (GET on loopback, sequential, {runs} runs after 5 warm-ups; {versions} versions on a model page):", flush=True)
    for name, path in named:
        for _ in range(5):
            get(c, cookie, path)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            get(c, cookie, path)
            times.append((time.perf_counter() - t) * 1e3)
        print(f"  {name:45s} p50 {statistics.median(times):6.1f} ms  p99 {pct(times, 0.99):6.1f} ms  ({path[:60]})", flush=True)


def browser(url, token, chromium):
    from playwright.sync_api import sync_playwright
    cookie, named = pages(url, token)
    name, value = cookie.split("=", 1)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            context = b.new_context()
            host = urllib.parse.urlparse(url)
            context.add_cookies([{"name": name, "value": value, "domain": host.hostname, "path": "/ui", "httpOnly": True, "sameSite": "Strict"}])
            page = context.new_page()
            print("DOMContentLoaded in Chromium (loopback, 20 loads after 2 warm-ups):", flush=True)
            for label, path in named:
                times = []
                for run in range(22):
                    response = page.goto(url + path, wait_until="domcontentloaded")
                    if response is None or response.status != 200:
                        raise SystemExit(f"{path}: {response.status if response else None}")
                    dcl = page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
                    if run >= 2:
                        times.append(dcl)
                print(f"  {label:45s} p50 {statistics.median(times):6.1f} ms  max {max(times):6.1f} ms", flush=True)
        finally:
            b.close()


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "fill":
        fill(args[0], args[1], int(args[2]), int(args[3]))
    elif mode == "audit":
        audit(args[0], int(args[1]))
    elif mode == "render":
        render(args[0], args[1], int(args[2]))
    elif mode == "browser":
        browser(args[0], args[1], args[2])
    else:
        raise SystemExit(__doc__)
