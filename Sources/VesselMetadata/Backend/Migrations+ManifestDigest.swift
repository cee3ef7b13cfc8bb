import SQLKit
import VesselCore

extension Migrations {
    /// 10: the manifest digest (SHA-256 over every file's path, size and digest; docs/api.md)
    /// on versions and on checks, which are keyed by it from now on instead of by `digest`,
    /// the model-signing root digest, which ignores file names (decision 0013).
    ///
    /// SQL has no SHA-256 on both databases, so `backfillManifestDigests` fills the columns in
    /// Swift, in this step's transaction, exactly once:
    /// - every existing version (drafts included) gets the manifest digest of its stored
    ///   `version_files` rows, in manifest order;
    /// - every existing check row gets the manifest digest of the oldest (lowest-numbered)
    ///   committed, non-deleted version of its model with the row's `digest`. A check row
    ///   never recorded the version it was reported on, so that is the best-known owner; a
    ///   later version with the same digest but other file names then does not inherit it. A
    ///   row no such version matches keeps NULL and satisfies no gate.
    static let manifestDigests: [String] = [
        "ALTER TABLE versions ADD COLUMN manifest_digest TEXT",
        "ALTER TABLE checks ADD COLUMN manifest_digest TEXT",
        "CREATE INDEX checks_manifest_digest ON checks (model_id, manifest_digest, name, seq)",
    ]

    /// Fills in `manifestDigests`' columns for rows written before it (see there).
    static func backfillManifestDigests(_ db: any SQLDatabase) async throws {
        let versions = try await db.raw("SELECT id FROM versions WHERE manifest_digest IS NULL").all()
            .map { try $0.decode(column: "id", as: String.self) }
        for id in versions {
            let entries = try await db.raw("SELECT path, size, digest, media_type FROM version_files WHERE version_id = \(bind: id)").all()
                .map { row in
                    ManifestEntry(
                        path: try row.decode(column: "path", as: String.self),
                        size: UInt64(try row.decode(column: "size", as: Int64.self)),
                        digest: try Digest(try row.decode(column: "digest", as: String.self)),
                        mediaType: try row.decode(column: "media_type", as: String.self)
                    )
                }
                .sorted { ManifestPath.precedes($0.path, $1.path) }
            let digest = Manifest.manifestDigest(ofOrdered: entries)
            try await db.raw("UPDATE versions SET manifest_digest = \(bind: digest.description) WHERE id = \(bind: id)").run()
        }
        try await db.raw("""
            UPDATE checks SET manifest_digest = (
              SELECT v.manifest_digest FROM versions v
              WHERE v.model_id = checks.model_id AND v.digest = checks.digest AND v.number IS NOT NULL AND v.state NOT IN ('pending', 'deleted')
              ORDER BY v.number LIMIT 1)
            WHERE manifest_digest IS NULL
            """).run()
    }
}
