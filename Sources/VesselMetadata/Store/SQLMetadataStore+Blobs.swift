import SQLKit
import VesselCore

extension SQLMetadataStore: BlobIndex {
    public func recordBlob(_ digest: Digest, size: UInt64, proof: BlobProof?) async throws {
        try await recordBlob(digest, size: size, proof: proof, sweepSeq: nil)
    }

    /// Records the blob and names it; with `sweepSeq` (from `beginBlobUpload`), refuses when
    /// a sweep of the digest began since, in the same transaction.
    func recordBlob(_ digest: Digest, size: UInt64, proof: BlobProof?, sweepSeq: Int64?) async throws {
        let now = clock()
        try await backend.transaction { db in
            try await self.nameBlobs(db, [digest.description], at: now)
            if let sweepSeq { try await self.checkNotSwept(db, digest, sweepSeq: sweepSeq) }
            try await db.raw("""
                INSERT INTO blobs (digest, size, created_at) VALUES (\(bind: digest.description), \(bind: Int64(size)), \(bind: now))
                ON CONFLICT (digest) DO NOTHING
                """).run()
            guard let proof else { return }
            try await db.raw("""
                INSERT INTO blob_proofs (owner, name, principal, digest, created_at)
                VALUES (\(bind: proof.model.owner), \(bind: proof.model.name), \(bind: proof.principal), \(bind: digest.description), \(bind: now))
                ON CONFLICT (owner, name, principal, digest) DO NOTHING
                """).run()
        }
    }

    public func blobSize(_ digest: Digest) async throws -> UInt64? {
        try await backend.read { db in
            try await db.raw("SELECT size FROM blobs WHERE digest = \(bind: digest.description)").first()
                .map { UInt64(try $0.decode(column: "size", as: Int64.self)) }
        }
    }

    public func unusableBlobs(_ digests: [Digest], model: ModelName, principal: String, readable: [Scope]) async throws -> [Digest] {
        var usable = Set<String>()
        let keys = Array(Set(digests.map(\.description)))
        let proved: SQLQueryString = """
            EXISTS (SELECT 1 FROM blob_proofs p WHERE p.digest = b.digest AND p.owner = \(bind: model.owner)
              AND p.name = \(bind: model.name) AND p.principal = \(bind: principal))
            """
        let condition = Self.readableClause(readable).map { readable in
            proved + """
                 OR EXISTS (SELECT 1 FROM version_files f JOIN versions v ON v.id = f.version_id JOIN models m ON m.id = v.model_id
                  WHERE f.digest = b.digest AND v.state IN ('ready', 'quarantined', 'archived') AND \(readable))
                """
        } ?? proved
        for chunk in keys.batches(of: 500) {
            let found = try await backend.read { db in
                try await db.raw("SELECT b.digest FROM blobs b WHERE b.digest IN (\(binds: chunk)) AND (\(condition))").all()
                    .map { try $0.decode(column: "digest", as: String.self) }
            }
            usable.formUnion(found)
        }
        var seen = Set<String>()
        return digests.filter { !usable.contains($0.description) && seen.insert($0.description).inserted }
    }
}

extension SQLMetadataStore: BlobMembership {
    /// Committed versions only (`ready`, `quarantined`, `archived`: `pull --allow-quarantined`
    /// needs the quarantined ones). A pending draft's files are not the model's yet, and a
    /// deleted version's are garbage.
    public func modelContainsBlob(model: ModelName, digest: Digest) async throws -> Bool {
        try await backend.read { db in
            try await db.raw("""
                SELECT 1 AS present FROM version_files f JOIN versions v ON v.id = f.version_id JOIN models m ON m.id = v.model_id
                WHERE m.owner = \(bind: model.owner) AND m.name = \(bind: model.name) AND f.digest = \(bind: digest.description)
                  AND v.state IN ('ready', 'quarantined', 'archived') LIMIT 1
                """).first() != nil
        }
    }
}
