import SQLKit
import VesselCore

extension SQLMetadataStore: RetentionStore {
    public func setRetentionPolicy(scope: Scope, policy: RetentionPolicyInfo, change: ChangeContext) async throws -> RetentionPolicyInfo {
        let now = clock()
        let after = Self.describe(policy)
        try await write { db in
            let before = try await db.raw("SELECT \(unsafeRaw: Self.policyColumns) FROM retention_policies WHERE scope = \(bind: scope.description)").first()
                .map { Self.describe(try Self.retentionPolicy($0)) }
            try await db.raw("DELETE FROM retention_policies WHERE scope = \(bind: scope.description)").run()
            try await db.raw("""
                INSERT INTO retention_policies (scope, keep_last, keep_for, delete_quarantined_after, drafts_expire_after, updated_at, updated_by)
                VALUES (\(bind: scope.description), \(bind: policy.keepLast.map(Int64.init)), \(bind: policy.keepFor), \(bind: policy.deleteQuarantinedAfter),
                  \(bind: policy.draftsExpireAfter), \(bind: now), \(bind: change.actor))
                """).run()
            try await self.audit(db, change, at: now, action: "retention.set", target: "retention/\(scope)", model: Self.model(of: scope), before: before, after: after)
        }
        var stored = policy
        stored.scope = scope.description
        stored.updatedAt = Timestamp.rfc3339(micros: now)
        stored.updatedBy = change.actor
        return stored
    }

    public func retentionPolicies() async throws -> [RetentionPolicyInfo] {
        try await backend.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.policyColumns) FROM retention_policies ORDER BY scope").all().map(Self.retentionPolicy)
        }
    }

    public func removeRetentionPolicy(scope: Scope, change: ChangeContext) async throws {
        let now = clock()
        try await write { db in
            guard let row = try await db.raw("SELECT \(unsafeRaw: Self.policyColumns) FROM retention_policies WHERE scope = \(bind: scope.description)").first() else {
                throw VesselError.notFound("scope '\(scope)' has no retention policy")
            }
            try await db.raw("DELETE FROM retention_policies WHERE scope = \(bind: scope.description)").run()
            try await self.audit(db, change, at: now, action: "retention.remove", target: "retention/\(scope)", model: Self.model(of: scope),
                                 before: Self.describe(try Self.retentionPolicy(row)))
        }
    }

    public func hold(model: ModelName, version: Int, reason: String, change: ChangeContext) async throws -> HoldInfo {
        let now = clock()
        try await write { db in
            let id = try await self.liveVersionID(db, model: model, version: version)
            try await db.raw("DELETE FROM holds WHERE version_id = \(bind: id)").run()
            try await db.raw("""
                INSERT INTO holds (version_id, reason, created_at, created_by) VALUES (\(bind: id), \(bind: reason), \(bind: now), \(bind: change.actor))
                """).run()
            try await self.audit(db, change, at: now, action: "version.hold", target: "version/\(model):\(version)", model: model, after: reason)
        }
        return HoldInfo(model: model.description, version: version, reason: reason, createdAt: Timestamp.rfc3339(micros: now), createdBy: change.actor)
    }

    public func unhold(model: ModelName, version: Int, change: ChangeContext) async throws {
        let now = clock()
        try await write { db in
            let id = try await self.liveVersionID(db, model: model, version: version)
            guard let row = try await db.raw("DELETE FROM holds WHERE version_id = \(bind: id) RETURNING reason").first() else {
                throw VesselError.notFound("version \(model):\(version) is not held")
            }
            try await self.audit(db, change, at: now, action: "version.unhold", target: "version/\(model):\(version)", model: model,
                                 before: try row.decode(column: "reason", as: String.self))
        }
    }

    public func holds() async throws -> [HoldInfo] {
        try await backend.read { db in
            try await db.raw("""
                SELECT m.owner, m.name, v.number, h.reason, h.created_at, h.created_by FROM holds h
                JOIN versions v ON v.id = h.version_id JOIN models m ON m.id = v.model_id
                WHERE v.state <> 'deleted' ORDER BY m.owner, m.name, v.number
                """).all().map { row in
                HoldInfo(model: "\(try row.decode(column: "owner", as: String.self))/\(try row.decode(column: "name", as: String.self))",
                         version: try row.decode(column: "number", as: Int.self), reason: try row.decode(column: "reason", as: String.self),
                         createdAt: Timestamp.rfc3339(micros: try row.decode(column: "created_at", as: Int64.self)),
                         createdBy: try row.decode(column: "created_by", as: String.self))
            }
        }
    }

    /// The id of a committed version that is not deleted.
    func liveVersionID(_ db: any SQLDatabase, model: ModelName, version: Int) async throws -> String {
        let modelID = try await self.modelID(db, model)
        guard let row = try await db.raw("""
            SELECT id FROM versions WHERE model_id = \(bind: modelID) AND number = \(bind: version) AND state IN ('ready', 'quarantined', 'archived')
            """).first() else {
            throw VesselError.notFound("version \(model):\(version) does not exist")
        }
        return try row.decode(column: "id", as: String.self)
    }

    static let policyColumns = "scope, keep_last, keep_for, delete_quarantined_after, drafts_expire_after, updated_at, updated_by"

    static func retentionPolicy(_ row: any SQLRow) throws -> RetentionPolicyInfo {
        RetentionPolicyInfo(
            scope: try row.decode(column: "scope", as: String.self),
            keepLast: try row.decode(column: "keep_last", as: Int64?.self).map(Int.init),
            keepFor: try row.decode(column: "keep_for", as: Int64?.self),
            deleteQuarantinedAfter: try row.decode(column: "delete_quarantined_after", as: Int64?.self),
            draftsExpireAfter: try row.decode(column: "drafts_expire_after", as: Int64?.self),
            updatedAt: Timestamp.rfc3339(micros: try row.decode(column: "updated_at", as: Int64.self)),
            updatedBy: try row.decode(column: "updated_by", as: String.self)
        )
    }

    /// The policy as the audit entry shows it: `keep-last=5 keep-for=30d`.
    static func describe(_ policy: RetentionPolicyInfo) -> String {
        var parts: [String] = []
        if let n = policy.keepLast { parts.append("keep-last=\(n)") }
        if let s = policy.keepFor { parts.append("keep-for=\(RetentionRules.text(s))") }
        if let s = policy.deleteQuarantinedAfter { parts.append("delete-quarantined-after=\(RetentionRules.text(s))") }
        if let s = policy.draftsExpireAfter { parts.append("drafts-expire-after=\(RetentionRules.text(s))") }
        return parts.joined(separator: " ")
    }
}
