#!/usr/bin/env python3
"""Times the SQL of registering a version, statement by statement (issue 27, docs/search.md).

Usage: bench_commit_sql.py DB.sqlite [N]: on a copy (under /tmp) of a filled Vessel SQLite
database, runs N times the statements SQLMetadataStore.createDraft and commitDraft run, in their
two transactions (WAL, synchronous = NORMAL), and prints the mean time of each. Python's sqlite3
caches prepared statements, so this is the engine's own time, without the server's preparation.
"""
import sqlite3, sys, time, uuid, hashlib, collections, shutil
src, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2000
import tempfile, os; dst = os.path.join(tempfile.mkdtemp(prefix="vessel-bench-sql."), "copy.sqlite"); shutil.copy(src, dst)
db = sqlite3.connect(dst, isolation_level=None)
# As the commit ran before 2e866e5: two event_head updates (now one, seq + 2, one INSERT).
for p in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"]: db.execute(p)
mid, owner, name = db.execute("select id, owner, name from models order by name limit 1").fetchone()
digest = db.execute("select digest from version_files limit 1").fetchone()[0]
t = collections.defaultdict(float)
def x(label, sql, args=()):
    s = time.perf_counter(); r = db.execute(sql, args).fetchall(); t[label] += time.perf_counter() - s; return r
start = time.perf_counter()
for i in range(n):
    vid = str(uuid.uuid4()); now = int(time.time()*1000)
    x("draft: BEGIN IMMEDIATE", "BEGIN IMMEDIATE")
    x("draft: INSERT versions", "INSERT INTO versions (id, model_id, number, state, digest, manifest_digest, file_count, total_size, description, findings, created_at, created_by, committed_at) VALUES (?,?,NULL,'pending',?,?,1,10,'v','[]',?,'admin',NULL)", (vid, mid, "sha256:"+hashlib.sha256(vid.encode()).hexdigest(), "sha256:"+hashlib.sha256(vid.encode()).hexdigest(), now))
    x("draft: INSERT version_files", "INSERT INTO version_files (version_id, path, size, digest, media_type) VALUES (?,?,?,?,?)", (vid, f"f{i}.json", 10, digest, "application/json"))
    x("draft: blob_names upsert", "INSERT INTO blob_names (digest, named_at, sweep_seq, sweeping) VALUES (?,?,0,0) ON CONFLICT (digest) DO UPDATE SET named_at = CASE WHEN blob_names.named_at > excluded.named_at THEN blob_names.named_at ELSE excluded.named_at END", (digest, now))
    x("draft: COMMIT", "COMMIT")
    x("commit: BEGIN IMMEDIATE", "BEGIN IMMEDIATE")
    x("commit: lockModel UPDATE models", "UPDATE models SET version_seq = version_seq WHERE owner = ? AND name = ? RETURNING id", (owner, name))
    x("commit: SELECT draft", "SELECT state, number, digest FROM versions WHERE id = ? AND model_id = ?", (vid, mid))
    num = x("commit: UPDATE models version_seq", "UPDATE models SET version_seq = version_seq + 1, updated_at = ? WHERE id = ? RETURNING version_seq", (now, mid))[0][0]
    x("commit: SELECT version_files", "SELECT digest FROM version_files WHERE version_id = ?", (vid,))
    x("commit: blob_names upsert", "INSERT INTO blob_names (digest, named_at, sweep_seq, sweeping) VALUES (?,?,0,0) ON CONFLICT (digest) DO UPDATE SET named_at = CASE WHEN blob_names.named_at > excluded.named_at THEN blob_names.named_at ELSE excluded.named_at END", (digest, now))
    x("commit: UPDATE versions", "UPDATE versions SET number = ?, state = 'ready', findings = '[]', committed_at = ?, summary = NULL, scan_report = NULL, parameters = NULL, dtypes = NULL WHERE id = ?", (num, now, vid))
    seq, prev = x("commit: audit_head UPDATE RETURNING", "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")[0]
    h = hashlib.sha256((prev+str(seq)).encode()).hexdigest()
    x("commit: INSERT audit_log", "INSERT INTO audit_log (seq, at, actor, action, target, model, before_value, after_value, request_id, reason, credential, client_address, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (seq, now, "admin", "version.create", f"version/{owner}/{name}:{num}", f"{owner}/{name}", None, "ready x", "r", None, "token", "127.0.0.1", prev, h))
    x("commit: audit_head UPDATE hash", "UPDATE audit_head SET hash = ? WHERE id = 1", (h,))
    x("commit: SELECT version_lineage", "SELECT run_id FROM version_lineage WHERE version_id = ?", (vid,))
    for k in range(2):
        es = x("commit: event_head UPDATE (x2)", "UPDATE event_head SET seq = seq + 1 WHERE id = 1 RETURNING seq")[0][0]
        cols = [r[1] for r in db.execute("PRAGMA table_info(events)")] if i == 0 and k == 0 else None
        pass
        x("commit: INSERT outbox (x2)", "INSERT INTO events (seq, id, type, at, model, payload) VALUES (?,?,?,?,?,?)", (es, str(uuid.uuid4()), "version.created", now, f"{owner}/{name}", '{"a":"b"}'))
    x("commit: COMMIT", "COMMIT")
total = time.perf_counter() - start
print(f"sqlite {sqlite3.sqlite_version}, {n} draft+commit transactions, {n/total:.0f}/s of SQL alone ({total/n*1e6:.0f} µs each)")
for k, v in t.items(): print(f"  {k:40s} {v/n*1e6:7.1f} µs")
shutil.rmtree(os.path.dirname(dst), ignore_errors=True)
