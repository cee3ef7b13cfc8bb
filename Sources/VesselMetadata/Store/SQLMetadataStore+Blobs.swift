import SQLKit
import VesselCore

extension SQLMetadataStore: BlobIndex {
    public func recordBlob(_ digest: Digest, size: UInt64) async throws {
        let now = clock()
        try await backend.transaction { db in
            try await db.raw("""
                INSERT INTO blobs (digest, size, created_at) VALUES (\(bind: digest.description), \(bind: Int64(size)), \(bind: now))
                ON CONFLICT (digest) DO NOTHING
                """).run()
        }
    }

    public func blobSize(_ digest: Digest) async throws -> UInt64? {
        try await backend.read { db in
            try await db.raw("SELECT size FROM blobs WHERE digest = \(bind: digest.description)").first()
                .map { UInt64(try $0.decode(column: "size", as: Int64.self)) }
        }
    }

    public func missingBlobs(_ digests: [Digest]) async throws -> [Digest] {
        var present = Set<String>()
        let keys = Array(Set(digests.map(\.description)))
        for start in stride(from: 0, to: keys.count, by: 500) {
            let chunk = Array(keys[start..<min(start + 500, keys.count)])
            let found = try await backend.read { db in
                try await db.raw("SELECT digest FROM blobs WHERE digest IN (\(binds: chunk))").all()
                    .map { try $0.decode(column: "digest", as: String.self) }
            }
            present.formUnion(found)
        }
        var seen = Set<String>()
        return digests.filter { !present.contains($0.description) && seen.insert($0.description).inserted }
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
