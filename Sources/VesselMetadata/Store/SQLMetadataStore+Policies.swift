import SQLKit
import VesselCore

extension SQLMetadataStore: FormatPolicyStore {
    public func setFormatPolicy(scope: Scope, formats: [String], change: ChangeContext) async throws -> FormatPolicyInfo {
        let now = clock()
        let list = formats.joined(separator: ",")
        try await write { db in
            let before = try await db.raw("SELECT formats FROM format_policies WHERE scope = \(bind: scope.description)").first()
                .map { try $0.decode(column: "formats", as: String.self) }
            if before == nil {
                try await db.raw("""
                    INSERT INTO format_policies (scope, formats, updated_at, updated_by)
                    VALUES (\(bind: scope.description), \(bind: list), \(bind: now), \(bind: change.actor))
                    """).run()
            } else {
                try await db.raw("""
                    UPDATE format_policies SET formats = \(bind: list), updated_at = \(bind: now), updated_by = \(bind: change.actor)
                    WHERE scope = \(bind: scope.description)
                    """).run()
            }
            let model: ModelName? = if case .model(let name) = scope { name } else { nil }
            try await self.audit(db, change, at: now, action: "policy.set", target: "policy/\(scope)", model: model, before: before, after: list)
        }
        return FormatPolicyInfo(scope: scope.description, formats: formats, updatedAt: Timestamp.rfc3339(micros: now), updatedBy: change.actor)
    }

    public func formatPolicies() async throws -> [FormatPolicyInfo] {
        try await backend.read { db in
            try await db.raw("SELECT scope, formats, updated_at, updated_by FROM format_policies ORDER BY scope").all().map(Self.policy)
        }
    }

    public func formatPolicy(for model: ModelName) async throws -> [String]? {
        let scopes = Scope.covering(model).map(\.description)
        let found = try await backend.read { db in
            try await db.raw("SELECT scope, formats, updated_at, updated_by FROM format_policies WHERE scope IN (\(binds: scopes))").all().map(Self.policy)
        }
        for scope in scopes { if let policy = found.first(where: { $0.scope == scope }) { return policy.formats } }
        return nil
    }

    static func policy(_ row: any SQLRow) throws -> FormatPolicyInfo {
        FormatPolicyInfo(
            scope: try row.decode(column: "scope", as: String.self),
            formats: try row.decode(column: "formats", as: String.self).split(separator: ",").map(String.init),
            updatedAt: Timestamp.rfc3339(micros: try row.decode(column: "updated_at", as: Int64.self)),
            updatedBy: try row.decode(column: "updated_by", as: String.self)
        )
    }
}
