#!/usr/bin/env python3
"""Helper of scripts/bench_lineage.sh (issue 25 benchmark; figures in docs/lineage.md "Benchmark").

  seed URL TOKEN N        through the API: models bench/hot and bench/bg, dataset bench/raw:1 (the
                          hot revision), then N each of dataset revisions (a chain bench/seedchain),
                          runs reading bench/raw:1 and versions of bench/hot pushed with a run; the
                          time of each kind is printed (the API fill rate)
  fill DB TOTAL HOT       in bulk with SQL in the store's own schema (server stopped): runs reading
                          bench/raw:1 and versions of bench/hot produced by them up to HOT each, then
                          background datasets (10 revisions each, each derived from the one before),
                          runs (each reading one revision) and versions (one per run, model bench/bg)
                          up to TOTAL nodes (dataset revisions + runs + versions)
  measure URL TOKEN RUNS  GET .../datasets/bench/raw/revisions/1/lineage RUNS times (keep-alive)
  explain DB              the plans of the walk's queries for the hot revision
DB is sqlite:PATH or a postgres:// URL.
"""
import hashlib, json, statistics, sys, time
sys.path.insert(0, __import__("os").path.dirname(__file__))
from bench_search_scale import DB, API  # noqa: E402  (same DB/API helpers)

HOT_REF = "bench/raw:1"


def seed(url, token, n):
    api = API(url, token)
    blob = b'{"bench": "lineage"}'
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    for m in ("bench/hot", "bench/bg"):
        api.call("POST", f"/api/v1/models/{m}", {"description": "lineage bench"})
        api.call("PUT", f"/api/v1/models/{m}/blobs/{digest}", raw=blob)
    api.call("POST", "/api/v1/datasets/bench/raw/revisions", {"uri": "s3://lake/raw/1", "description": "the hot revision"})
    t = time.time()
    for i in range(n):
        body = {"uri": f"s3://lake/seedchain/{i + 1}"}
        if i: body["from"] = [f"bench/seedchain:{i}"]
        api.call("POST", "/api/v1/datasets/bench/seedchain/revisions", body)
    t_ds = time.time() - t
    t = time.time()
    runs = []
    for i in range(n):
        rid = f"run_seed{i:08d}"
        api.call("POST", f"/api/v1/runs/bench/{rid}", {"name": f"seed {i}", "datasets": [HOT_REF], "params": {"i": str(i)}})
        runs.append(rid)
    t_run = time.time() - t
    t = time.time()
    for rid in runs:
        d = api.call("POST", "/api/v1/models/bench/hot/drafts",
                     {"files": [{"path": "config.json", "size": len(blob), "digest": digest, "media_type": "application/json"}],
                      "description": "v", "lineage": {"run": f"bench/{rid}"}})
        api.call("POST", f"/api/v1/models/bench/hot/drafts/{d['draft_id']}/commit")
    t_ver = time.time() - t
    total = t_ds + t_run + t_ver
    rate = 3 * n / total
    print(f"seed through the API: {n} dataset revisions {t_ds:.1f} s ({n / t_ds:.0f}/s), {n} runs {t_run:.1f} s ({n / t_run:.0f}/s), "
          f"{n} versions pushed with a run {t_ver:.1f} s ({n / t_ver:.0f}/s, draft+commit); {rate:.0f} nodes/s overall: "
          f"100,000 nodes through the API would take ~{100000 / rate / 60:.0f} min", flush=True)
    print(json.dumps({"nodes_per_s": rate}))


def plan(total, hot, revs_now):
    """The background counts: what is left of TOTAL after the hot walk (1 + 2 * HOT) and the seed chain."""
    rest = total - (1 + 2 * hot) - (revs_now - 1)
    bg_runs = bg_vers = (rest * 2) // 5
    bg_revs = rest - bg_runs - bg_vers
    return bg_revs, bg_runs, bg_vers


def apifill(url, token, total, hot, n_seed):
    """The same graph as fill, all through the API (when the seed's rate says it fits the budget)."""
    api = API(url, token)
    blob = b'{"bench": "lineage"}'
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    files = [{"path": "config.json", "size": len(blob), "digest": digest, "media_type": "application/json"}]
    t0 = time.time()
    bg_revs, bg_runs, bg_vers = plan(total, hot, 1 + n_seed)

    def run_and_version(rid, dataset, model):
        api.call("POST", f"/api/v1/runs/bench/{rid}", {"datasets": [dataset]})
        d = api.call("POST", f"/api/v1/models/bench/{model}/drafts", {"files": files, "description": "v", "lineage": {"run": f"bench/{rid}"}})
        api.call("POST", f"/api/v1/models/bench/{model}/drafts/{d['draft_id']}/commit")
    for k in range(hot - n_seed):
        run_and_version(f"run_api{k:09d}", HOT_REF, "hot")
    for k in range(bg_revs):
        body = {"uri": f"s3://lake/bg/{k}"}
        if k % 10: body["from"] = [f"bench/bg-{k // 10:05d}:{k % 10}"]
        api.call("POST", f"/api/v1/datasets/bench/bg-{k // 10:05d}/revisions", body)
    for k in range(bg_runs):
        r = k % bg_revs
        run_and_version(f"run_apibg{k:09d}", f"bench/bg-{r // 10:05d}:{r % 10 + 1}", "bg")
    print(f"fill through the API: {hot - n_seed} hot runs and versions, {bg_revs} revisions in {(bg_revs + 9) // 10} datasets, "
          f"{bg_runs} runs, {bg_vers} versions in {time.time() - t0:.1f} s", flush=True)


def count(db, sql): return int(db.rows(sql)[0][0])


def fill(db, total, hot):
    t0 = time.time()
    pad = db.pad
    hot_rev = db.rows("SELECT r.id FROM dataset_revisions r JOIN datasets d ON d.id = r.dataset_id "
                      "WHERE d.owner = 'bench' AND d.name = 'raw' AND r.number = 1")[0][0]
    creator = db.rows("SELECT created_by FROM runs ORDER BY created_at LIMIT 1")[0][0]
    tmpl_run = db.rows("SELECT id FROM runs ORDER BY created_at DESC LIMIT 1")[0][0]
    tmpl_ver = db.rows("SELECT v.id FROM versions v JOIN models m ON m.id = v.model_id WHERE m.owner = 'bench' AND m.name = 'hot' "
                       "AND v.number IS NOT NULL ORDER BY v.number DESC LIMIT 1")[0][0]
    now = count(db, "SELECT MAX(created_at) FROM versions") + 1
    runs_now = count(db, "SELECT COUNT(*) FROM runs")
    revs_now = count(db, "SELECT COUNT(*) FROM dataset_revisions")
    hot_runs = count(db, f"SELECT COUNT(*) FROM run_datasets WHERE revision_id = '{hot_rev}'")
    hot_vers = count(db, f"SELECT COUNT(*) FROM version_lineage l JOIN runs r ON r.id = l.run_id JOIN run_datasets d ON d.run_id = r.id "
                         f"WHERE d.revision_id = '{hot_rev}'")
    assert hot_runs == hot_vers == runs_now, (hot_runs, hot_vers, runs_now)
    add_hot = hot - hot_runs
    bg_revs, bg_runs, bg_vers = plan(total, hot, revs_now)
    n_ds = (bg_revs + 9) // 10
    rcols = db.columns("runs")
    vcols = db.columns("versions")

    def run_copy(ids_from, n):  # runs copied from the template run, id/name/created_at per k
        ov = {"id": f"'run_bulk' || {pad('k', 9)}", "name": "'bulk ' || CAST(k AS TEXT)", "created_at": f"{now} + k",
              "params": "'{}'", "metrics": "'{}'"}
        sel = ", ".join(ov.get(c, f"t.{c}") for c in rcols)
        return f"INSERT INTO runs ({', '.join(rcols)}) SELECT {sel} FROM {db.series(ids_from, ids_from + n)}, runs t WHERE t.id = '{tmpl_run}';"

    def ver_copy(model, k0, n, number0, run_of):  # versions copied from the template version, each linked to run_of(k)
        ov = {"id": f"'00000000-0000-4000-8000-' || {pad('k', 12)}", "model_id": f"(SELECT id FROM models WHERE owner = 'bench' AND name = '{model}')",
              "number": f"{number0} + k - {k0}", "created_at": f"{now} + k", "committed_at": f"{now} + k"}
        sel = ", ".join(ov.get(c, f"t.{c}") for c in vcols)
        rng = db.series(k0, k0 + n)
        return f"""
INSERT INTO versions ({', '.join(vcols)}) SELECT {sel} FROM {rng}, versions t WHERE t.id = '{tmpl_ver}';
INSERT INTO version_files (version_id, path, size, digest, media_type)
SELECT '00000000-0000-4000-8000-' || {pad('k', 12)}, f.path, f.size, f.digest, f.media_type FROM {rng}, version_files f WHERE f.version_id = '{tmpl_ver}';
INSERT INTO version_lineage (version_id, run_id) SELECT '00000000-0000-4000-8000-' || {pad('k', 12)}, {run_of} FROM {rng};
UPDATE models SET version_seq = (SELECT MAX(number) FROM versions v WHERE v.model_id = models.id) WHERE owner = 'bench' AND name = '{model}';"""

    hot_number = count(db, "SELECT version_seq FROM models WHERE owner = 'bench' AND name = 'hot'")
    sql = []
    # Hot: runs k in [0, add_hot) read the hot revision, version k of bench/hot comes from run k.
    sql.append(run_copy(0, add_hot))
    sql.append(f"INSERT INTO run_datasets (run_id, revision_id) SELECT 'run_bulk' || {pad('k', 9)}, '{hot_rev}' FROM {db.series(0, add_hot)};")
    sql.append(ver_copy("hot", 0, add_hot, hot_number + 1, f"'run_bulk' || {pad('k', 9)}"))
    # Background datasets bench/bg-NNNNN, revisions 1..10; revision k is number k % 10 + 1 of dataset k / 10.
    dsid = lambda e: f"'00000000-0000-4000-a000-' || {pad(e, 12)}"
    revid = lambda e: f"'00000000-0000-4000-b000-' || {pad(e, 12)}"
    sql.append(f"""
INSERT INTO datasets (id, owner, name, created_at, created_by, revision_seq)
SELECT {dsid('k')}, 'bench', 'bg-' || {pad('k', 5)}, {now} + k, '{creator}', 0 FROM {db.series(0, n_ds)};
INSERT INTO dataset_revisions (id, dataset_id, number, uri, digest, size, description, created_at, created_by)
SELECT {revid('k')}, {dsid('k / 10')}, k % 10 + 1, 's3://lake/bg/' || CAST(k AS TEXT), NULL, NULL, '', {now} + k, '{creator}'
FROM {db.series(0, bg_revs)};
INSERT INTO dataset_sources (revision_id, source_id) SELECT {revid('k')}, {revid('k - 1')} FROM {db.series(0, bg_revs)} WHERE k % 10 <> 0;
UPDATE datasets SET revision_seq = (SELECT MAX(number) FROM dataset_revisions r WHERE r.dataset_id = datasets.id) WHERE owner = 'bench' AND name LIKE 'bg-%';""")
    # Background runs k in [add_hot, add_hot + bg_runs), each reading one background revision; one version each.
    k0 = add_hot
    sql.append(run_copy(k0, bg_runs))
    sql.append(f"INSERT INTO run_datasets (run_id, revision_id) SELECT 'run_bulk' || {pad('k', 9)}, {revid(f'(k - {k0}) % {bg_revs}')} "
               f"FROM {db.series(k0, k0 + bg_runs)};")
    sql.append(ver_copy("bg", k0, bg_vers, 1, f"'run_bulk' || {pad('k', 9)}"))
    db.script("\n".join(sql))
    if db.pg:
        db.rows("ANALYZE")
    report(db, f"fill in bulk (SQL), {time.time() - t0:.1f} s: {add_hot} hot runs, {add_hot} hot versions, {bg_revs} revisions in {n_ds} datasets, {bg_runs} runs, {bg_vers} versions added")


def report(db, what):
    print(what, flush=True)
    n_rev = count(db, "SELECT COUNT(*) FROM dataset_revisions")
    n_run = count(db, "SELECT COUNT(*) FROM runs")
    n_ver = count(db, "SELECT COUNT(*) FROM versions v JOIN version_lineage l ON l.version_id = v.id WHERE v.number IS NOT NULL")
    edges = count(db, "SELECT (SELECT COUNT(*) FROM dataset_sources) + (SELECT COUNT(*) FROM run_datasets) + (SELECT COUNT(*) FROM version_lineage WHERE run_id IS NOT NULL)")
    print(f"in the database: {n_rev} dataset revisions + {n_run} runs + {n_ver} versions = {n_rev + n_run + n_ver} nodes, {edges} edges", flush=True)


def measure(url, token, runs):
    api = API(url, token)
    path = "/api/v1/datasets/bench/raw/revisions/1/lineage"
    api.call("GET", path)  # warm
    times = []
    for _ in range(runs):
        t = time.perf_counter(); g = api.call("GET", path); times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(round(0.99 * len(times) + 0.5)) - 1)]
    print(f"API GET {path}: {len(g['nodes'])} nodes, {len(g['edges'])} edges; {runs} calls p50 {statistics.median(times):.1f} ms, "
          f"p99 {p99:.1f} ms, max {times[-1]:.1f} ms", flush=True)
    print(json.dumps({"p50": statistics.median(times), "p99": p99}))


def explain(db):
    hot_rev = db.rows("SELECT r.id FROM dataset_revisions r JOIN datasets d ON d.id = r.dataset_id "
                      "WHERE d.owner = 'bench' AND d.name = 'raw' AND r.number = 1")[0][0]
    runs = [r[0] for r in db.rows(f"SELECT run_id FROM run_datasets WHERE revision_id = '{hot_rev}' ORDER BY run_id LIMIT 500")]
    inl = ", ".join(f"'{r}'" for r in runs)
    qs = [f"SELECT revision_id AS a, run_id AS b FROM run_datasets WHERE revision_id IN ('{hot_rev}')",
          f"SELECT l.run_id AS a, l.version_id AS b FROM version_lineage l JOIN versions v ON v.id = l.version_id WHERE v.number IS NOT NULL AND l.run_id IN ({inl})"]
    # The same step in chunks of 100 ids instead of the store's 500: does the planner then use version_lineage_run?
    qs.append(qs[1].replace(inl, ", ".join(f"'{r}'" for r in runs[:100])))
    for q in qs:
        print("--", q[:140] + "…", f"({q.count(chr(39)) // 2} ids)")
        for r in db.rows(("EXPLAIN ANALYZE " if db.pg else "EXPLAIN QUERY PLAN ") + q):
            print("   ", " ".join(r)[:200])


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "seed": seed(args[0], args[1], int(args[2]))
    elif cmd == "apifill": apifill(args[0], args[1], int(args[2]), int(args[3]), int(args[4]))
    elif cmd == "fill": fill(DB(args[0]), int(args[1]), int(args[2]))
    elif cmd == "measure": measure(args[0], args[1], int(args[2]))
    elif cmd == "count": report(DB(args[0]), args[1])
    elif cmd == "explain": explain(DB(args[0]))
    else: raise SystemExit(f"unknown command {cmd}")
