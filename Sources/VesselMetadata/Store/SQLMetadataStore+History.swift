import SQLKit
import VesselCore

extension SQLMetadataStore {
    static let requestQuery = """
        SELECT r.id, m.owner, m.name, r.alias, v.number, v.digest, r.status, r.requested_by, r.reason, r.created_at,
          r.decided_by, r.decided_at, r.decision_reason, r.deployment
        FROM promotion_requests r JOIN models m ON m.id = r.model_id JOIN versions v ON v.id = r.version_id
        """

    func promotionRequest(id: String) async throws -> PromotionRequestInfo? {
        try await backend.read { db in
            try await db.raw("\(unsafeRaw: Self.requestQuery) WHERE r.id = \(bind: id)").first().map(Self.request)
        }
    }

    public func promotionRequests(model: ModelName?) async throws -> [PromotionRequestInfo] {
        try await backend.read { db in
            if let model {
                return try await db.raw("""
                    \(unsafeRaw: Self.requestQuery) WHERE m.owner = \(bind: model.owner) AND m.name = \(bind: model.name) ORDER BY r.created_at DESC
                    """).all().map(Self.request)
            }
            return try await db.raw("\(unsafeRaw: Self.requestQuery) ORDER BY r.created_at DESC LIMIT 1000").all().map(Self.request)
        }
    }

    static func request(_ row: any SQLRow) throws -> PromotionRequestInfo {
        PromotionRequestInfo(
            id: try row.decode(column: "id", as: String.self),
            model: try ModelName(owner: try row.decode(column: "owner", as: String.self), name: try row.decode(column: "name", as: String.self)),
            kind: try row.decode(column: "deployment", as: String?.self) == nil ? "alias" : "deployment",
            alias: try row.decode(column: "alias", as: String.self),
            version: try row.decode(column: "number", as: Int.self),
            digest: try Digest(try row.decode(column: "digest", as: String.self)),
            status: try row.decode(column: "status", as: String.self),
            requestedBy: try row.decode(column: "requested_by", as: String.self),
            reason: try row.decode(column: "reason", as: String?.self),
            createdAt: Timestamp.rfc3339(micros: try row.decode(column: "created_at", as: Int64.self)),
            decidedBy: try row.decode(column: "decided_by", as: String?.self),
            decidedAt: try row.decode(column: "decided_at", as: Int64?.self).map(Timestamp.rfc3339(micros:)),
            decisionReason: try row.decode(column: "decision_reason", as: String?.self)
        )
    }

    /// Every move of the alias, oldest first, read from the audit chain.
    public func aliasHistory(model: ModelName, alias: AliasName) async throws -> [AliasHistoryEntry] {
        let target = "alias/\(model)@\(alias)"
        return try await backend.read { db in
            try await db.raw("""
                SELECT seq, at, actor, action, before_value, after_value, reason FROM audit_log
                WHERE model = \(bind: model.description) AND target = \(bind: target) AND action IN ('alias.set', 'alias.remove')
                ORDER BY seq
                """).all().map { row in
                AliasHistoryEntry(
                    seq: try row.decode(column: "seq", as: Int64.self),
                    time: Timestamp.rfc3339(micros: try row.decode(column: "at", as: Int64.self)),
                    actor: try row.decode(column: "actor", as: String.self),
                    action: try row.decode(column: "action", as: String.self),
                    fromVersion: try row.decode(column: "before_value", as: String?.self).flatMap { Int($0) },
                    toVersion: try row.decode(column: "after_value", as: String?.self).flatMap { Int($0) },
                    reason: try row.decode(column: "reason", as: String?.self)
                )
            }
        }
    }

    public func resolveAlias(model: ModelName, alias: AliasName, at: Int64?) async throws -> ResolvedAlias {
        let version: Int?
        if let at {
            let target = "alias/\(model)@\(alias)"
            version = try await backend.read { db in
                try await db.raw("""
                    SELECT after_value FROM audit_log WHERE model = \(bind: model.description) AND target = \(bind: target)
                      AND action IN ('alias.set', 'alias.remove') AND at <= \(bind: at)
                    ORDER BY seq DESC LIMIT 1
                    """).first()
            }.flatMap { try $0.decode(column: "after_value", as: String?.self) }.flatMap { Int($0) }
        } else {
            version = try await aliases(model: model).first { $0.alias == alias.value }?.version
        }
        guard let version else {
            throw VesselError.notFound("alias '\(alias)' of model '\(model)' did not exist \(at.map { "at \(Timestamp.rfc3339(micros: $0))" } ?? "")")
        }
        let digest = try await backend.read { db in
            let modelID = try await self.modelID(db, model)
            return try await db.raw("SELECT digest FROM versions WHERE model_id = \(bind: modelID) AND number = \(bind: version)").first()?
                .decode(column: "digest", as: String.self)
        }
        guard let digest else { throw VesselError.notFound("version \(model):\(version) does not exist") }
        return ResolvedAlias(model: model, alias: alias.value, version: version, digest: try Digest(digest))
    }
}
