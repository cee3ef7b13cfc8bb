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
    /// - every existing check row gets the manifest digest of the version it was reported on:
    ///   the row does not name it, but the `check.report` audit entry written with it does
    ///   (same model, actor and microsecond; its target is `version/OWNER/NAME:N`), and that
    ///   version counts if it has the row's digest, deleted or not. Without exactly one such
    ///   entry, the row gets the manifest digest of the oldest (lowest-numbered) committed,
    ///   non-deleted version of its model with the row's digest. Either way a version with
    ///   the same digest under other file names no longer inherits it. A row that matches
    ///   no version keeps NULL and satisfies no gate.
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
        let checks = try await db.raw("""
            SELECT c.id, c.model_id, c.digest, c.reported_by, c.reported_at, m.owner, m.name FROM checks c JOIN models m ON m.id = c.model_id
            WHERE c.manifest_digest IS NULL
            """).all()
        for check in checks {
            let id = try check.decode(column: "id", as: String.self)
            let modelID = try check.decode(column: "model_id", as: String.self)
            let digest = try check.decode(column: "digest", as: String.self)
            let model = try check.decode(column: "owner", as: String.self) + "/" + check.decode(column: "name", as: String.self)
            let prefix = "version/\(model):"
            let reportedOn = Set(try await db.raw("""
                SELECT target FROM audit_log WHERE action = 'check.report' AND model = \(bind: model)
                  AND actor = \(bind: try check.decode(column: "reported_by", as: String.self)) AND at = \(bind: try check.decode(column: "reported_at", as: Int64.self))
                """).all().compactMap { row -> Int? in
                    let target = try row.decode(column: "target", as: String.self)
                    return target.hasPrefix(prefix) ? Int(target.dropFirst(prefix.count)) : nil
                })
            var manifestDigest: String?
            if reportedOn.count == 1, let number = reportedOn.first {
                manifestDigest = try await db.raw("""
                    SELECT manifest_digest FROM versions WHERE model_id = \(bind: modelID) AND number = \(bind: number) AND digest = \(bind: digest)
                    """).first()?.decode(column: "manifest_digest", as: String.self)
            }
            if manifestDigest == nil {
                manifestDigest = try await db.raw("""
                    SELECT manifest_digest FROM versions WHERE model_id = \(bind: modelID) AND digest = \(bind: digest)
                      AND number IS NOT NULL AND state NOT IN ('pending', 'deleted') ORDER BY number LIMIT 1
                    """).first()?.decode(column: "manifest_digest", as: String.self)
            }
            if let manifestDigest {
                try await db.raw("UPDATE checks SET manifest_digest = \(bind: manifestDigest) WHERE id = \(bind: id)").run()
            }
        }
    }
}
