import SQLKit
import VesselCore

extension SQLMetadataStore: GrantStore {
    public func grant(principal: String, role: Role, scope: Scope, change: ChangeContext) async throws -> GrantInfo {
        let now = clock()
        try await write(conflictMessage: "\(principal) already holds \(role.rawValue) on \(scope)") { db in
            let id = try await self.principalID(db, principal)
            try await db.raw("""
                INSERT INTO grants (principal_id, role, scope, created_at, created_by)
                VALUES (\(bind: id), \(bind: role.rawValue), \(bind: scope.description), \(bind: now), \(bind: change.actor))
                """).run()
            try await self.audit(db, change, at: now, action: "grant.add", target: "principal/\(principal)", model: Self.model(of: scope), after: "\(role.rawValue) on \(scope)")
        }
        return GrantInfo(principal: principal, role: role, scope: scope.description, createdAt: Timestamp.rfc3339(micros: now), createdBy: change.actor)
    }

    public func revoke(principal: String, role: Role, scope: Scope, change: ChangeContext) async throws {
        let now = clock()
        try await write { db in
            let id = try await self.principalID(db, principal)
            let found = try await db.raw("""
                SELECT role FROM grants WHERE principal_id = \(bind: id) AND role = \(bind: role.rawValue) AND scope = \(bind: scope.description)
                """).first()
            guard found != nil else { throw VesselError.notFound("\(principal) holds no \(role.rawValue) grant on \(scope)") }
            try await db.raw("""
                DELETE FROM grants WHERE principal_id = \(bind: id) AND role = \(bind: role.rawValue) AND scope = \(bind: scope.description)
                """).run()
            try await self.audit(db, change, at: now, action: "grant.remove", target: "principal/\(principal)", model: Self.model(of: scope), before: "\(role.rawValue) on \(scope)")
        }
    }

    public func grants(principal: String?) async throws -> [GrantInfo] {
        try await backend.read { db in
            let rows: [any SQLRow]
            let query = "SELECT p.name, g.role, g.scope, g.created_at, g.created_by FROM grants g JOIN principals p ON p.id = g.principal_id"
            if let principal {
                rows = try await db.raw("\(unsafeRaw: query) WHERE p.name = \(bind: principal) ORDER BY p.name, g.scope, g.role").all()
            } else {
                rows = try await db.raw("\(unsafeRaw: query) ORDER BY p.name, g.scope, g.role").all()
            }
            return try rows.map { row in
                GrantInfo(
                    principal: try row.decode(column: "name", as: String.self),
                    role: try Role(parsing: try row.decode(column: "role", as: String.self)),
                    scope: try row.decode(column: "scope", as: String.self),
                    createdAt: Timestamp.rfc3339(micros: try row.decode(column: "created_at", as: Int64.self)),
                    createdBy: try row.decode(column: "created_by", as: String.self)
                )
            }
        }
    }

    public func role(of principal: String, on model: ModelName?) async throws -> Role? {
        try await role(of: principal, onScope: model.map(Scope.model) ?? .registry)
    }

    public func role(of principal: String, onScope scope: Scope) async throws -> Role? {
        let scopes = scope.coveringScopes.map(\.description)
        let roles = try await backend.read { db in
            try await db.raw("""
                SELECT g.role FROM grants g JOIN principals p ON p.id = g.principal_id
                WHERE p.name = \(bind: principal) AND g.scope IN (\(binds: scopes))
                """).all().compactMap { Role(rawValue: try $0.decode(column: "role", as: String.self)) }
        }
        return roles.max()
    }

    func principalID(_ db: any SQLDatabase, _ name: String) async throws -> String {
        guard let row = try await db.raw("SELECT id FROM principals WHERE name = \(bind: name)").first() else {
            throw VesselError.notFound("principal '\(name)' does not exist")
        }
        return try row.decode(column: "id", as: String.self)
    }

    static func model(of scope: Scope) -> ModelName? {
        if case .model(let name) = scope { return name }
        return nil
    }
}
