import SQLKit
import VesselCore

/// Reads the web UI shows and the API had no route for (issue 29): a version's check reports,
/// and every alias move of a model. Both read what is already stored; nothing is written.
public protocol UIReadStore: Sendable {
    /// Every check report that counts for this version, newest first: those keyed by its
    /// manifest digest, as the gates read them (decision 0013). - Throws: `not_found`.
    func checkReports(model: ModelName, version: Int) async throws -> [CheckInfo]
    /// The newest `limit` alias moves of `model` (any alias), newest first, from the audit chain.
    func aliasMoves(model: ModelName, limit: Int) async throws -> [(alias: String, entry: AliasHistoryEntry)]
}

extension SQLMetadataStore: UIReadStore {
    public func checkReports(model: ModelName, version: Int) async throws -> [CheckInfo] {
        try await backend.read { db in
            let modelID = try await self.modelID(db, model)
            guard let row = try await db.raw("""
                SELECT digest, manifest_digest FROM versions WHERE model_id = \(bind: modelID) AND number = \(bind: version) AND state <> 'deleted'
                """).first() else {
                throw VesselError.notFound("version \(model):\(version) does not exist")
            }
            let digest = try VesselCore.Digest(try row.decode(column: "digest", as: String.self))
            let manifestDigest = try row.decode(column: "manifest_digest", as: String.self)
            return try await db.raw("""
                SELECT name, status, metrics, url, reported_by, reported_at FROM checks
                WHERE model_id = \(bind: modelID) AND manifest_digest = \(bind: manifestDigest) ORDER BY seq DESC, id DESC LIMIT 500
                """).all().map { row in
                CheckInfo(model: model, version: version, digest: digest, manifestDigest: try VesselCore.Digest(manifestDigest),
                          name: try row.decode(column: "name", as: String.self), status: try row.decode(column: "status", as: String.self),
                          metrics: try Self.decodeJSON([String: Double].self, try row.decode(column: "metrics", as: String.self)),
                          url: try row.decode(column: "url", as: String?.self), reportedBy: try row.decode(column: "reported_by", as: String.self),
                          reportedAt: Timestamp.rfc3339(micros: try row.decode(column: "reported_at", as: Int64.self)))
            }
        }
    }

    public func aliasMoves(model: ModelName, limit: Int) async throws -> [(alias: String, entry: AliasHistoryEntry)] {
        let prefix = "alias/\(model)@"
        return try await backend.read { db in
            try await db.raw("""
                SELECT seq, at, actor, action, target, before_value, after_value, reason FROM audit_log
                WHERE model = \(bind: model.description) AND action IN ('alias.set', 'alias.remove')
                ORDER BY seq DESC LIMIT \(bind: limit)
                """).all().compactMap { row in
                let target = try row.decode(column: "target", as: String.self)
                guard target.hasPrefix(prefix) else { return nil }
                let entry = AliasHistoryEntry(
                    seq: try row.decode(column: "seq", as: Int64.self),
                    time: Timestamp.rfc3339(micros: try row.decode(column: "at", as: Int64.self)),
                    actor: try row.decode(column: "actor", as: String.self),
                    action: try row.decode(column: "action", as: String.self),
                    fromVersion: try row.decode(column: "before_value", as: String?.self).flatMap { Int($0) },
                    toVersion: try row.decode(column: "after_value", as: String?.self).flatMap { Int($0) },
                    reason: try row.decode(column: "reason", as: String?.self))
                return (String(target.dropFirst(prefix.count)), entry)
            }
        }
    }
}
