#!/usr/bin/env python3
"""Pages at scale (issue 27, docs/search.md "Pages at scale"): a registry seeded through its API,
grown in bulk with SQL inside the store's own schema, then its 100-row pages timed at a shallow
and a deep depth. scripts/bench_search_scale.sh drives it; one backend per call.

  bench_search_scale.py seed URL TOKEN SEED_MODELS SEED_VERSIONS
      SEED_MODELS models o{i%100:02d}/model-{i:05d} (tags bench, t{i%10}; every tenth "bert" in
      its description), SEED_VERSIONS versions each: draft + commit of a one-file manifest whose
      blob is uploaded once. These are the rows the bulk fill copies.
  bench_search_scale.py fill DB MODELS VERSIONS        (server stopped)
      DB is sqlite:PATH or a postgres:// URL (psql). Adds models up to MODELS (same naming,
      tags in `models.tags` and `model_tags`) and versions up to VERSIONS: each a copy of the
      first seed version (state, digests, sizes, summary, its version_files rows: the manifest
      digest stays that of the files), numbered on from its model's `version_seq`, created
      1 µs after the previous one. Every tenth goes to o01/model-00001 (the busy model), the
      other nine of each ten to model (k / 10) % MODELS: every model gets its share. `models.version_seq` and `updated_at` are moved to match.
      Not copied: the audit entry and events of each commit (no list reads them; the chain
      stays valid, it just does not mention bulk versions).
  bench_search_scale.py measure DB URL TOKEN RUNS SUMMARY LABEL
      Checks the registry (counts, order, no repeats across pages, forged deep cursors equal to
      walked ones), then times each page RUNS times: loopback wall time of one GET, p50/p99.
      Deep pages use a cursor for the row 90% of the way through, sealed with the registry's
      own cursor key (vessel_secrets 'page_cursor'), checked equal to a walked cursor.
"""
import base64, hashlib, hmac, http.client, json, statistics, subprocess, sqlite3, sys, time, urllib.parse

BUSY = "o01/model-00001"


def model_name(i): return f"o{i % 100:02d}/model-{i:05d}"


class DB:
    def __init__(self, spec):
        self.pg = spec.startswith("postgres")
        if self.pg:
            self.url = spec
        else:
            self.conn = sqlite3.connect(spec.removeprefix("sqlite:"), isolation_level=None, timeout=60)

    def rows(self, sql):
        if self.pg:
            out = subprocess.run(["psql", self.url, "-XAtq", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                                 check=True, capture_output=True, text=True).stdout
            return [line.split("\t") for line in out.splitlines() if line]
        return [[str(c) if c is not None else "" for c in r] for r in self.conn.execute(sql).fetchall()]

    def script(self, sql):
        if self.pg:
            subprocess.run(["psql", self.url, "-Xq", "-v", "ON_ERROR_STOP=1", "-1", "-f", "-"], input=sql, check=True, text=True,
                           stdout=subprocess.DEVNULL)
        else:
            self.conn.executescript("BEGIN;\n" + sql + "\nCOMMIT;")

    def series(self, lo, hi):  # a FROM item: rows k in [lo, hi)
        if self.pg: return f"generate_series({lo}, {hi - 1}) AS s(k)"
        return f"(WITH RECURSIVE r(k) AS (SELECT {lo} UNION ALL SELECT k + 1 FROM r WHERE k < {hi - 1}) SELECT k FROM r) AS s"

    def pad(self, expr, n):
        if self.pg: return f"lpad(CAST({expr} AS TEXT), {n}, '0')"
        return f"substr('{'0' * n}' || ({expr}), -{n}, {n})"

    def columns(self, table):
        if self.pg:
            return [r[0] for r in self.rows(f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' "
                                            "AND table_schema = current_schema() ORDER BY ordinal_position")]
        return [r[1] for r in self.rows(f"PRAGMA table_info({table})")]


# ---------------------------------------------------------------- seed (through the API)

class API:
    def __init__(self, url, token):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.token = u.hostname, u.port, token
        self.c = None

    def call(self, method, path, body=None, raw=None, ok=True):
        headers = {"Authorization": f"Bearer {self.token}"}
        data = raw
        if body is not None:
            data = json.dumps(body).encode(); headers["Content-Type"] = "application/json"
        if data is not None: headers["Content-Length"] = str(len(data))
        for attempt in range(2):
            try:
                if self.c is None: self.c = http.client.HTTPConnection(self.host, self.port, timeout=120)
                self.c.request(method, path, body=data, headers=headers)
                r = self.c.getresponse(); text = r.read(); break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.c = None
                if method != "GET" or attempt: raise
        if ok and r.status >= 300: raise SystemExit(f"{method} {path}: {r.status} {text[:300]!r}")
        return json.loads(text) if text else None


def seed(url, token, n_models, n_versions):
    api = API(url, token)
    blob = b'{"bench": "scale"}'
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    for i in range(n_models):
        api.call("POST", f"/api/v1/models/{model_name(i)}",
                 {"description": f"bench model {i} {'bert' if i % 10 == 0 else 'gpt'}", "tags": ["bench", f"t{i % 10}"]})
    api.call("PUT", f"/api/v1/models/{model_name(0)}/blobs/{digest}", raw=blob)
    for n in range(n_versions):
        for i in range(n_models):
            d = api.call("POST", f"/api/v1/models/{model_name(i)}/drafts",
                         {"files": [{"path": "config.json", "size": len(blob), "digest": digest, "media_type": "application/json"}],
                          "description": "v"})
            api.call("POST", f"/api/v1/models/{model_name(i)}/drafts/{d['draft_id']}/commit")
    print(f"seed: {n_models} models x {n_versions} versions through the API", flush=True)


# ---------------------------------------------------------------- bulk fill (SQL)

def fill(db, n_models, n_versions):
    t0 = time.time()
    have_models = int(db.rows("SELECT COUNT(*) FROM models")[0][0])
    have = int(db.rows("SELECT COUNT(*) FROM versions WHERE number IS NOT NULL")[0][0])
    # The first seed version: every bulk row at every level copies it (and so holds its blob).
    tmpl = db.rows("SELECT id, created_by FROM versions WHERE number IS NOT NULL AND state = 'ready' ORDER BY created_at, id LIMIT 1")[0]
    tmpl_id = tmpl[0]
    creator = db.rows("SELECT created_by FROM models ORDER BY created_at LIMIT 1")[0][0]
    t_models = int(db.rows("SELECT MAX(created_at) FROM models")[0][0])
    t_versions = int(db.rows("SELECT MAX(created_at) FROM versions")[0][0])
    pad5 = lambda e: db.pad(e, 5)
    owner = f"'o' || {db.pad('k % 100', 2)}"
    sql = []
    if have_models < n_models:
        # Bulk models: ids shaped like the API's UUIDs, names and tags as seed() makes them.
        mid = f"'00000000-0000-4000-9000-' || {db.pad('k', 12)}"
        sql.append(f"""
INSERT INTO models (id, owner, name, description, tags, created_at, created_by, version_seq, updated_at)
SELECT {mid}, {owner}, 'model-' || {pad5('k')},
  'bench model ' || CAST(k AS TEXT) || CASE WHEN k % 10 = 0 THEN ' bert' ELSE ' gpt' END,
  '["bench","t' || CAST(k % 10 AS TEXT) || '"]', {t_models} + k, '{creator}', 0, {t_models} + k
FROM {db.series(have_models, n_models)};
INSERT INTO model_tags (tag, model_id) SELECT 'bench', {mid} FROM {db.series(have_models, n_models)};
INSERT INTO model_tags (tag, model_id) SELECT 't' || CAST(k % 10 AS TEXT), {mid} FROM {db.series(have_models, n_models)};""")
    if have < n_versions:
        # Which model each new version k goes to (index), then its id via owner/name.
        idx = f"CASE WHEN k % 10 = 0 THEN 1 ELSE (k / 10) % {n_models} END"
        vcols = db.columns("versions")
        override = {"id": "b.vid", "model_id": "b.model_id", "number": "b.number", "created_at": "b.created_at", "committed_at": "b.created_at"}
        select = ", ".join(override.get(c, f"t.{c}") for c in vcols)
        sql.append(f"""
CREATE TEMP TABLE bench_batch (k BIGINT PRIMARY KEY, vid TEXT, model_id TEXT, number BIGINT, created_at BIGINT);
INSERT INTO bench_batch (k, vid, model_id, number, created_at)
SELECT x.k, '00000000-0000-4000-8000-' || {db.pad('x.k', 12)}, m.id,
  m.version_seq + ROW_NUMBER() OVER (PARTITION BY m.id ORDER BY x.k), {t_versions} + x.k
FROM (SELECT k, {idx} AS i FROM {db.series(have, n_versions)}) AS x
JOIN models m ON m.owner = 'o' || {db.pad('x.i % 100', 2)} AND m.name = 'model-' || {db.pad('x.i', 5)};
CREATE INDEX bench_batch_model ON bench_batch (model_id, created_at);
INSERT INTO versions ({', '.join(vcols)}) SELECT {select} FROM bench_batch b, versions t WHERE t.id = '{tmpl_id}' ORDER BY b.k;
INSERT INTO version_files (version_id, path, size, digest, media_type)
SELECT b.vid, f.path, f.size, f.digest, f.media_type FROM bench_batch b, version_files f WHERE f.version_id = '{tmpl_id}' ORDER BY b.k;
UPDATE models SET version_seq = (SELECT MAX(number) FROM versions v WHERE v.model_id = models.id),
  updated_at = (SELECT MAX(created_at) FROM bench_batch b WHERE b.model_id = models.id)
WHERE id IN (SELECT DISTINCT model_id FROM bench_batch);
DROP TABLE bench_batch;""")
    if sql:
        db.script("\n".join(sql))
    if db.pg:  # what autovacuum does shortly after a bulk load; the server's own reads then plan on fresh statistics
        subprocess.run(["psql", db.url, "-Xqc", "ANALYZE"], check=True)
    total = db.rows("SELECT COUNT(*) FROM versions WHERE number IS NOT NULL")[0][0]
    print(f"fill: {n_models} models, {total} versions ({int(total) - have} added in bulk) in {time.time() - t0:.1f} s", flush=True)


# ---------------------------------------------------------------- measure

def sealer(db):
    key = base64.b64decode(db.rows("SELECT value FROM vessel_secrets WHERE name = 'page_cursor'")[0][0])
    def seal(body, lst):
        b = body.encode()
        tag = hmac.new(key, lst.encode() + b"\0" + b, hashlib.sha256).digest()
        return base64.b64encode(b + tag).decode().replace("+", "-").replace("/", "_").replace("=", "")
    return seal


def measure(db, url, token, runs, summary_path, label):
    api = API(url, token)
    q = urllib.parse.quote
    api.call("GET", "/api/v1/models?limit=1")  # makes the cursor key if the registry has none yet
    seal = sealer(db)
    n_models = int(db.rows("SELECT COUNT(*) FROM models")[0][0])
    n_versions = int(db.rows("SELECT COUNT(*) FROM versions WHERE number IS NOT NULL")[0][0])
    busy_seq = int(db.rows(f"SELECT version_seq FROM models WHERE owner = 'o01' AND name = 'model-00001'")[0][0])
    problems = []

    def walk(path, key, pages=None, cursor=None):
        """Every row of a list (or its first `pages` pages) from `cursor`: [(row keys)], [cursors]."""
        seen, cursors = [], []
        while True:
            page = api.call("GET", path + (f"&cursor={q(cursor)}" if cursor else ""))
            seen += [key(r) for r in page["items"]]
            cursor = page.get("next_cursor")
            cursors.append(cursor)
            if not cursor or (pages and len(cursors) >= pages): return seen, cursors

    def check(name, cond):
        if not cond: problems.append(name)
        print(f"   check {'ok  ' if cond else 'FAIL'} {name}", flush=True)

    # Consistency: the busy model's versions, walked (whole list up to 100k rows, else its last 10%).
    vkey = lambda r: r["version"]
    deep_number = max(1, busy_seq // 10)  # the cursor "before number N" of the page 90% through
    if busy_seq <= 20000:
        seen, cursors = walk(f"/api/v1/models/{BUSY}/versions?limit=100", vkey)
        check(f"{BUSY}: {len(seen)} versions walked = version_seq {busy_seq}, strictly descending, no repeats",
              seen == list(range(busy_seq, 0, -1)))
        check(f"{BUSY}: a sealed cursor equals the walked one (page 3)",
              len(cursors) < 3 or cursors[2] is None or cursors[2] == seal(str(busy_seq - 300 + 1), f"versions {BUSY}"))
    tail, _ = walk(f"/api/v1/models/{BUSY}/versions?limit=100", vkey, cursor=seal(str(deep_number + 1), f"versions {BUSY}"))
    check(f"{BUSY}: from the deep cursor, versions {deep_number}..1 with no gap or repeat", tail == list(range(deep_number, 0, -1)))
    # Cross-model search: first pages walked and compared with the database order.
    order = db.rows("SELECT v.created_at, v.id FROM versions v WHERE v.number IS NOT NULL AND v.state IN ('ready','quarantined','archived') "
                    "ORDER BY v.created_at DESC, v.id DESC LIMIT 500")
    seen, cursors = walk("/api/v1/versions?limit=100", lambda r: (r["model"], r["version"]), pages=5)
    check("versions search: 5 pages walked, 500 distinct rows", len(seen) == len(set(seen)) == min(500, n_versions))
    check("versions search: a sealed cursor equals the walked one (page 3)",
          len(cursors) < 3 or cursors[2] is None or cursors[2] == seal(f"{order[299][0]} {order[299][1]}", "versions search"))
    models_walk, mcur = walk("/api/v1/models?limit=100", lambda r: r["model"], pages=3)
    check("models: 3 pages walked, ascending, distinct", models_walk == sorted(set(models_walk)) and len(models_walk) == min(300, n_models))

    info = api.call("GET", f"/api/v1/models/{BUSY}")
    check(f"{BUSY}: the API's versions {info.get('versions')} and latest_version {info.get('latest_version')} = version_seq",
          info.get("versions") == busy_seq and info.get("latest_version") == busy_seq)
    # Deep keys: 90% of the way through each order.
    deep_model = db.rows(f"SELECT owner, name FROM models ORDER BY owner, name LIMIT 1 OFFSET {int(n_models * 0.9)}")[0]
    deep_v = db.rows(f"SELECT created_at, id FROM versions WHERE number IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET {int(n_versions * 0.9)}")[0]
    mc = q(seal(f"{deep_model[0]}/{deep_model[1]}", "models"))
    vc = q(seal(f"{deep_v[0]} {deep_v[1]}", "versions search"))
    bc = q(seal(str(deep_number + 1), f"versions {BUSY}"))
    one = model_name(21)  # made in bulk, versions all made in bulk
    digest = db.rows("SELECT f.digest FROM version_files f JOIN versions v ON v.id = f.version_id WHERE v.number IS NOT NULL ORDER BY v.created_at, v.id LIMIT 1")[0][0]
    checks = [
        ("models", "page 1", "/api/v1/models?limit=100"),
        ("models", "deep (90%)", f"/api/v1/models?limit=100&cursor={mc}"),
        ("models search=bert", "page 1", "/api/v1/models?limit=100&search=bert"),
        ("models search=bert", "deep (90%)", f"/api/v1/models?limit=100&search=bert&cursor={mc}"),
        ("models tag=t3", "page 1", "/api/v1/models?limit=100&tag=t3"),
        ("models tag=t3", "deep (90%)", f"/api/v1/models?limit=100&tag=t3&cursor={mc}"),
        (f"versions of {BUSY} ({busy_seq})", "page 1", f"/api/v1/models/{BUSY}/versions?limit=100"),
        (f"versions of {BUSY} ({busy_seq})", "deep (90%)", f"/api/v1/models/{BUSY}/versions?limit=100&cursor={bc}"),
        ("versions of a quiet model", "page 1", f"/api/v1/models/{one}/versions?limit=100"),
        ("versions search (all models)", "page 1", "/api/v1/versions?limit=100"),
        ("versions search (all models)", "deep (90%)", f"/api/v1/versions?limit=100&cursor={vc}"),
        ("versions model_search=bert state=ready", "page 1", "/api/v1/versions?limit=100&model_search=bert&state=ready"),
        ("versions model_search=bert state=ready", "deep (90%)", f"/api/v1/versions?limit=100&model_search=bert&state=ready&cursor={vc}"),
        ("versions digest=<shared blob>", "page 1", f"/api/v1/versions?limit=100&digest={q(digest)}"),
        ("versions digest=<shared blob>", "deep (90%)", f"/api/v1/versions?limit=100&digest={q(digest)}&cursor={vc}"),
    ]
    results = []
    print(f"-- {label}: {n_models} models, {n_versions} versions; ms per 100-row page, loopback, {runs} runs", flush=True)
    for name, depth, path in checks:
        page = api.call("GET", path)
        rows = len(page["items"])
        xs = []
        for _ in range(runs):
            t = time.perf_counter(); api.call("GET", path); xs.append((time.perf_counter() - t) * 1e3)
        xs.sort()
        p50, p99 = statistics.median(xs), xs[min(len(xs) - 1, int(len(xs) * .99))]
        results.append({"list": name, "depth": depth, "rows": rows, "p50": round(p50, 2), "p99": round(p99, 2), "path": path})
        print(f"   {name:42s} {depth:11s} rows {rows:3d}  p50 {p50:7.2f}  p99 {p99:7.2f}{'  > 5 ms' if p50 > 5 else ''}", flush=True)
    with open(summary_path, "a") as f:
        f.write(json.dumps({"label": label, "models": n_models, "versions": n_versions, "problems": problems, "pages": results}) + "\n")
    if problems: raise SystemExit(f"{label}: consistency checks failed: {problems}")


# ---------------------------------------------------------------- explain

VERSION_SELECT = ("SELECT v.id, v.number, v.state, v.digest, v.manifest_digest, v.file_count, v.total_size, v.description, v.findings, "
                  "v.created_at, v.created_by, v.summary, m.owner AS model_owner, m.name AS model_name FROM versions v JOIN models m ON m.id = v.model_id")
STATES = "v.number IS NOT NULL AND (v.state || '') IN ('ready', 'quarantined', 'archived')"


def page_sql(db, path):
    """The query the store (Sources/VesselMetadata/Store/SQLMetadataStore+Search.swift) sends for
    one page of `path`, its binds inlined and the cursor decoded (admin: readable is 1 = 1)."""
    u = urllib.parse.urlparse(path)
    args = urllib.parse.parse_qs(u.query)
    lit = lambda v: "'" + str(v).replace("'", "''") + "'"
    key = None
    if "cursor" in args:
        text = args["cursor"][0].replace("-", "+").replace("_", "/")
        key = base64.b64decode(text + "=" * (-len(text) % 4))[:-32].decode()
    like = lambda t, a, b: f"({a} LIKE {lit('%' + t.lower() + '%')} ESCAPE '\\' OR {b} LIKE {lit('%' + t.lower() + '%')} ESCAPE '\\')"
    parts = u.path.split("/")
    if u.path == "/api/v1/models":
        cond = ["1 = 1"]
        if "search" in args: cond.append(like(args["search"][0], "LOWER(m.owner || '/' || m.name)", "LOWER(m.description)"))
        for t in args.get("tag", []): cond.append(f"m.id IN (SELECT t.model_id FROM model_tags t WHERE t.tag = {lit(t)})")
        if key: o, n = key.split("/", 1); cond.append(f"(m.owner, m.name) > ({lit(o)}, {lit(n)})")
        return f"SELECT m.* FROM models m WHERE {' AND '.join(cond)} ORDER BY m.owner, m.name LIMIT 101"
    if u.path == "/api/v1/versions":
        cond = ["1 = 1", STATES]
        if "digest" in args: cond.append(f"v.id IN (SELECT f.version_id FROM version_files f WHERE f.digest = {lit(args['digest'][0])})")
        if "model_search" in args: cond.append(like(args["model_search"][0], "LOWER(m.owner || '/' || m.name)", "LOWER(m.description)"))
        if key: t, i = key.split(" ", 1); cond.append(f"(v.created_at, v.id) < ({t}, {lit(i)})")
        return f"{VERSION_SELECT} WHERE {' AND '.join(cond)} ORDER BY v.created_at DESC, v.id DESC LIMIT 101"
    owner, name = parts[4], parts[5]
    mid = db.rows(f"SELECT id FROM models WHERE owner = {lit(owner)} AND name = {lit(name)}")[0][0]
    before = key or str(2**63 - 1)
    return f"{VERSION_SELECT} WHERE v.model_id = {lit(mid)} AND v.number < {before} AND {STATES} ORDER BY v.number DESC LIMIT 101"


def explain(db, path):
    sql = page_sql(db, path)
    print(sql)
    if db.pg:
        for r in db.rows("EXPLAIN (ANALYZE, BUFFERS) " + sql): print(r[0])
    else:
        for r in db.rows("EXPLAIN QUERY PLAN " + sql): print("  " * 0 + " | ".join(r[1:]))
        t = time.perf_counter(); db.rows(sql); print(f"(sqlite3 {sqlite3.sqlite_version}, python: {(time.perf_counter() - t) * 1e3:.2f} ms)")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "seed": seed(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "fill": fill(DB(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "measure": measure(DB(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6], sys.argv[7])
    elif cmd == "explain": explain(DB(sys.argv[2]), sys.argv[3])
    else: raise SystemExit(__doc__)
