import SQLKit
import VesselCore

extension SQLMetadataStore: GarbageCollectionStore {
    /// Models read per query (their versions come in a second one).
    static let subjectModelPage = 50

    /// Read 50 models at a time: one statement for every version kept PostgreSQL's statement
    /// busy past its 5 s timeout while a debug build decoded 90,000 rows. What keeps a version
    /// is read with `IN (SELECT …)`, which both databases evaluate once per query: a correlated
    /// `COUNT(*)` per version walked all of `aliases` (not indexed by version) for each of them.
    public func retentionSubjects() async throws -> [RetentionSubject] {
        var subjects: [RetentionSubject] = []
        var after = ("", "")
        while true {
            let from = after
            let (page, models, last) = try await backend.read { db -> ([RetentionSubject], Int, (String, String)) in
                let models = try await db.raw("""
                    SELECT id, owner, name FROM models WHERE owner > \(bind: from.0) OR (owner = \(bind: from.0) AND name > \(bind: from.1))
                    ORDER BY owner, name LIMIT \(bind: Self.subjectModelPage)
                    """).all().map { (try $0.decode(column: "id", as: String.self), try $0.decode(column: "owner", as: String.self), try $0.decode(column: "name", as: String.self)) }
                guard let last = models.last else { return ([], 0, from) }
                let names = Dictionary(uniqueKeysWithValues: try models.map { ($0.0, try ModelName(owner: $0.1, name: $0.2)) })
                let rows = try await db.raw("""
                    SELECT v.model_id, v.id, v.number, v.state, COALESCE(v.committed_at, v.created_at) AS committed_at,
                      CASE WHEN v.id IN (SELECT a.version_id FROM aliases a) THEN 1 ELSE 0 END AS aliases,
                      CASE WHEN v.id IN (SELECT d.blue_version_id FROM deployments d WHERE d.blue_version_id IS NOT NULL)
                        OR v.id IN (SELECT d.green_version_id FROM deployments d WHERE d.green_version_id IS NOT NULL) THEN 1 ELSE 0 END AS pools,
                      CASE WHEN v.id IN (SELECT h.version_id FROM holds h) THEN 1 ELSE 0 END AS held
                    FROM versions v
                    WHERE v.model_id IN (\(binds: models.map(\.0))) AND v.state IN ('ready', 'quarantined', 'archived')
                    """).all()
                var page: [RetentionSubject] = []
                for row in rows {
                    guard let model = names[try row.decode(column: "model_id", as: String.self)] else { continue }
                    page.append(RetentionSubject(
                        model: model,
                        id: try row.decode(column: "id", as: String.self),
                        candidate: RetentionCandidate(
                            number: try row.decode(column: "number", as: Int.self),
                            state: VersionState(rawValue: try row.decode(column: "state", as: String.self)) ?? .ready,
                            committedAt: try row.decode(column: "committed_at", as: Int64.self),
                            aliased: try row.decode(column: "aliases", as: Int64.self) > 0,
                            deployed: try row.decode(column: "pools", as: Int64.self) > 0,
                            held: try row.decode(column: "held", as: Int64.self) > 0)))
                }
                return (page, models.count, (last.1, last.2))
            }
            // By model (owner, name), then number, as the plan groups them.
            subjects += page.sorted { ($0.model.owner, $0.model.name, $0.candidate.number) < ($1.model.owner, $1.model.name, $1.candidate.number) }
            if models < Self.subjectModelPage { break }
            after = last
        }
        return subjects
    }

    public func pendingDrafts() async throws -> [DraftSubject] {
        try await backend.read { db in
            try await db.raw("""
                SELECT m.owner, m.name, v.id, v.created_at FROM versions v JOIN models m ON m.id = v.model_id
                WHERE v.state = 'pending' ORDER BY v.created_at
                """).all().map { row in
                DraftSubject(model: try ModelName(owner: try row.decode(column: "owner", as: String.self), name: try row.decode(column: "name", as: String.self)),
                             id: try row.decode(column: "id", as: String.self), createdAt: try row.decode(column: "created_at", as: Int64.self))
            }
        }
    }

    public func deleteForRetention(model: ModelName, version: Int, reason: String) async throws -> Bool {
        let now = clock()
        let change = ChangeContext(actor: "system", requestID: nil, reason: reason)
        return try await write { db in
            let modelID = try await self.lockModel(db, model)
            guard let row = try await db.raw("""
                SELECT id, state, digest FROM versions WHERE model_id = \(bind: modelID) AND number = \(bind: version) AND state IN ('ready', 'quarantined', 'archived')
                """).first() else { return false }
            let id = try row.decode(column: "id", as: String.self)
            let keeping = try await db.raw("""
                SELECT (SELECT COUNT(*) FROM aliases a WHERE a.version_id = \(bind: id))
                  + (SELECT COUNT(*) FROM deployments d WHERE d.blue_version_id = \(bind: id) OR d.green_version_id = \(bind: id))
                  + (SELECT COUNT(*) FROM holds h WHERE h.version_id = \(bind: id)) AS keeping
                """).first().map { try $0.decode(column: "keeping", as: Int64.self) } ?? 0
            guard keeping == 0 else { return false }
            let before = try row.decode(column: "state", as: String.self)
            try await db.raw("UPDATE versions SET state = 'deleted' WHERE id = \(bind: id)").run()
            try await self.audit(db, change, at: now, action: "version.delete", target: "version/\(model):\(version)", model: model, before: before, after: "deleted")
            try await self.event(db, .versionDeleted, at: now, model: model, [
                "model": model.description, "version": String(version), "digest": try row.decode(column: "digest", as: String.self),
                "actor": "system", "reason": reason,
            ])
            return true
        }
    }

    public func expireDraft(model: ModelName, id: String) async throws -> Bool {
        try await write { db in
            let modelID = try await self.lockModel(db, model)
            return try await db.raw("""
                UPDATE versions SET state = 'deleted' WHERE id = \(bind: id) AND model_id = \(bind: modelID) AND state = 'pending' RETURNING id
                """).first() != nil
        }
    }

    /// What makes a blob referenced, as SQL over the blob's digest column `column`.
    static func unreferenced(_ column: String, now: Int64) -> SQLQueryString {
        """
        NOT EXISTS (SELECT 1 FROM version_files f JOIN versions v ON v.id = f.version_id WHERE f.digest = \(unsafeRaw: column) AND v.state <> 'deleted')
          AND NOT EXISTS (SELECT 1 FROM upload_sessions s WHERE s.digest = \(unsafeRaw: column) AND s.expires_at > \(bind: now))
        """
    }

    /// Blob rows read per query while looking for candidates.
    static let sweepWindow = 5000

    /// Walks the blobs in digest order a window of `sweepWindow` rows at a time, each window
    /// bounded by its first and last digest, until `limit` candidates are found or the rows
    /// end. Asked for candidates after a digest alone, PostgreSQL joined and sorted the whole
    /// table for every page (5 s a page at 1,000,000 blobs, past the statement timeout).
    public func sweepCandidates(cutoff: Int64, now: Int64, after: String?, limit: Int) async throws -> [SweepCandidate] {
        var found: [SweepCandidate] = []
        var cursor = after ?? ""
        while found.count < limit {
            let start = cursor, want = limit - found.count
            let (page, end) = try await backend.read { db -> ([SweepCandidate], String?) in
                guard let end = try await db.raw("""
                    SELECT MAX(w.digest) AS last FROM (SELECT digest FROM blobs WHERE digest > \(bind: start) ORDER BY digest LIMIT \(bind: Self.sweepWindow)) w
                    """).first().flatMap({ try $0.decode(column: "last", as: String?.self) }) else { return ([], nil) }
                let page = try await db.raw("""
                    SELECT b.digest, b.size FROM blobs b LEFT JOIN blob_names n ON n.digest = b.digest
                    WHERE b.digest > \(bind: start) AND b.digest <= \(bind: end) AND COALESCE(n.named_at, b.created_at) < \(bind: cutoff) AND COALESCE(n.sweeping, 0) = 0
                      AND \(Self.unreferenced("b.digest", now: now))
                    ORDER BY b.digest LIMIT \(bind: want)
                    """).all().map(Self.sweepCandidate)
                return (page, end)
            }
            found += page
            guard let end else { break }
            // A full page may stop before the window's end: the next call starts after its last.
            if found.count >= limit { break }
            cursor = end
        }
        return found
    }

    public func blobsFreedByDeleting(_ ids: [String], cutoff: Int64, now: Int64) async throws -> [SweepCandidate] {
        let doomed = Set(ids)
        var digests = Set<String>()
        for chunk in ids.batches(of: 500) {
            let found = try await backend.read { db in
                try await db.raw("SELECT DISTINCT digest FROM version_files WHERE version_id IN (\(binds: chunk))").all()
                    .map { try $0.decode(column: "digest", as: String.self) }
            }
            digests.formUnion(found)
        }
        let sorted = digests.sorted()
        var freed: [SweepCandidate] = []
        for chunk in sorted.batches(of: 500) {
            let (blobs, users) = try await backend.read { db in
                let blobs = try await db.raw("""
                    SELECT b.digest, b.size FROM blobs b LEFT JOIN blob_names n ON n.digest = b.digest
                    WHERE b.digest IN (\(binds: chunk)) AND COALESCE(n.named_at, b.created_at) < \(bind: cutoff) AND COALESCE(n.sweeping, 0) = 0
                      AND NOT EXISTS (SELECT 1 FROM upload_sessions s WHERE s.digest = b.digest AND s.expires_at > \(bind: now))
                    """).all().map(Self.sweepCandidate)
                let users = try await db.raw("""
                    SELECT f.digest, f.version_id FROM version_files f JOIN versions v ON v.id = f.version_id
                    WHERE f.digest IN (\(binds: chunk)) AND v.state <> 'deleted'
                    """).all().map { (try $0.decode(column: "digest", as: String.self), try $0.decode(column: "version_id", as: String.self)) }
                return (blobs, users)
            }
            let stillUsed = Set(users.filter { !doomed.contains($0.1) }.map(\.0))
            freed += blobs.filter { !stillUsed.contains($0.digest.description) }
        }
        return freed
    }

    public func beginSweep(_ digest: Digest, cutoff: Int64, now: Int64) async throws -> UInt64? {
        let key = digest.description
        do {
            return try await write { db -> UInt64? in
                try await db.raw("""
                    INSERT INTO blob_names (digest, named_at, sweep_seq, sweeping) VALUES (\(bind: key), 0, 0, 0) ON CONFLICT (digest) DO NOTHING
                    """).run()
                // The name row's lock first: a draft, commit or upload naming this digest either
                // committed before (and its reference or name is seen below) or waits for us.
                guard try await db.raw("""
                    UPDATE blob_names SET sweeping = 1, sweep_seq = sweep_seq + 1
                    WHERE digest = \(bind: key) AND sweeping = 0 AND named_at < \(bind: cutoff) RETURNING digest
                    """).first() != nil else { throw SweepSkipped() }
                let referenced = try await db.raw("""
                    SELECT 1 AS referenced WHERE NOT (\(Self.unreferenced("'\(key)'", now: now)))
                      OR EXISTS (SELECT 1 FROM blob_proofs p WHERE p.digest = \(bind: key) AND p.created_at >= \(bind: cutoff))
                      OR EXISTS (SELECT 1 FROM leases l WHERE l.name LIKE 'backup:%' AND l.expires_at > \(bind: now))
                    """).first() != nil
                if referenced { throw SweepSkipped() }
                try await db.raw("DELETE FROM blob_proofs WHERE digest = \(bind: key)").run()
                let size = try await db.raw("DELETE FROM blobs WHERE digest = \(bind: key) RETURNING size").first()
                    .map { try $0.decode(column: "size", as: Int64.self) }
                return UInt64(max(0, size ?? 0))
            }
        } catch is SweepSkipped {
            return nil
        }
    }

    public func finishSweep(_ digest: Digest) async throws {
        try await backend.transaction { db in
            try await db.raw("UPDATE blob_names SET sweeping = 0 WHERE digest = \(bind: digest.description)").run()
        }
    }

    public func unfinishedSweeps() async throws -> [Digest] {
        try await backend.read { db in
            try await db.raw("SELECT digest FROM blob_names WHERE sweeping = 1 ORDER BY digest").all()
                .compactMap { try? Digest(try $0.decode(column: "digest", as: String.self)) }
        }
    }

    public func claimOrphans(_ digests: [Digest], cutoff: Int64) async throws -> [Digest] {
        var claimed: [Digest] = []
        for digest in digests {
            let key = digest.description
            let took = try await backend.transaction { db -> Bool in
                try await db.raw("""
                    INSERT INTO blob_names (digest, named_at, sweep_seq, sweeping) VALUES (\(bind: key), 0, 0, 0) ON CONFLICT (digest) DO NOTHING
                    """).run()
                guard try await db.raw("""
                    UPDATE blob_names SET sweeping = 1, sweep_seq = sweep_seq + 1
                    WHERE digest = \(bind: key) AND sweeping = 0 AND named_at < \(bind: cutoff) RETURNING digest
                    """).first() != nil else { return false }
                if try await db.raw("SELECT 1 AS present FROM blobs WHERE digest = \(bind: key)").first() != nil {
                    try await db.raw("UPDATE blob_names SET sweeping = 0 WHERE digest = \(bind: key)").run()
                    return false
                }
                return true
            }
            if took { claimed.append(digest) }
        }
        return claimed
    }

    /// Records a run in `gc_runs` and, unless it was a dry run, emits `gc.completed` in the same transaction.
    public func recordGCRun(_ report: GCReport, holder: String) async throws {
        let started = Timestamp.parse(report.startedAt).map(Timestamp.micros) ?? clock()
        try await backend.transaction { db in
            try await db.raw("""
                INSERT INTO gc_runs (id, started_at, duration_ms, dry_run, versions, drafts, blobs, bytes, holder)
                VALUES (\(bind: self.makeID()), \(bind: started), \(bind: report.durationMs), \(bind: report.dryRun ? 1 : 0), \(bind: Int64(report.versions.count)),
                  \(bind: Int64(report.drafts)), \(bind: Int64(report.blobs)), \(bind: report.bytes), \(bind: holder))
                """).run()
            // A run that changed something (or could have) is announced; a dry run is not.
            guard !report.dryRun else { return }
            var payload = ["actor": "system", "versions": String(report.versions.count), "drafts": String(report.drafts), "blobs": String(report.blobs),
                           "bytes": String(report.bytes), "duration_ms": String(report.durationMs)]
            payload["sweep_skipped"] = report.sweepSkipped
            try await self.event(db, .gcCompleted, at: self.clock(), model: nil, payload)
        }
    }

    public func gcRuns(limit: Int) async throws -> [GCRunInfo] {
        try await backend.read { db in
            try await db.raw("""
                SELECT started_at, duration_ms, dry_run, versions, drafts, blobs, bytes FROM gc_runs ORDER BY started_at DESC LIMIT \(bind: limit)
                """).all().map { row in
                GCRunInfo(startedAt: Timestamp.rfc3339(micros: try row.decode(column: "started_at", as: Int64.self)),
                          durationMs: try row.decode(column: "duration_ms", as: Int64.self), dryRun: try row.decode(column: "dry_run", as: Int64.self) != 0,
                          versions: Int(try row.decode(column: "versions", as: Int64.self)), drafts: Int(try row.decode(column: "drafts", as: Int64.self)),
                          blobs: Int(try row.decode(column: "blobs", as: Int64.self)), bytes: try row.decode(column: "bytes", as: Int64.self))
            }
        }
    }

    static func sweepCandidate(_ row: any SQLRow) throws -> SweepCandidate {
        SweepCandidate(digest: try Digest(try row.decode(column: "digest", as: String.self)),
                       size: UInt64(max(0, try row.decode(column: "size", as: Int64.self))))
    }
}

/// Rolls a sweep's transaction back: the blob stays.
struct SweepSkipped: Error {}
