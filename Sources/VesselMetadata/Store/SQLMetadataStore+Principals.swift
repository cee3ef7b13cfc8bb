import SQLKit
import VesselCore

extension SQLMetadataStore: PrincipalStore {
    public func createPrincipal(name: String, kind: PrincipalKind, change: ChangeContext) async throws -> PrincipalInfo {
        guard NameRules.isValidModelPart(name) else {
            throw VesselError.invalidArgument("principal name '\(name)' must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
        }
        let now = clock()
        let id = makeID()
        return try await write(conflictMessage: "principal '\(name)' already exists") { db in
            try await db.raw("""
                INSERT INTO principals (id, name, kind, created_at) VALUES (\(bind: id), \(bind: name), \(bind: kind.rawValue), \(bind: now))
                """).run()
            try await self.audit(db, change, at: now, action: "principal.create", target: "principal/\(name)", model: nil, after: kind.rawValue)
            return PrincipalInfo(name: name, kind: kind, createdAt: Timestamp.rfc3339(micros: now))
        }
    }

    public func listPrincipals() async throws -> [PrincipalInfo] {
        try await backend.read { db in
            try await db.raw("SELECT name, kind, created_at FROM principals ORDER BY name").all().map(Self.principal)
        }
    }

    public func principal(named name: String) async throws -> PrincipalInfo? {
        try await backend.read { db in
            try await db.raw("SELECT name, kind, created_at FROM principals WHERE name = \(bind: name)").first().map(Self.principal)
        }
    }

    static func principal(_ row: any SQLRow) throws -> PrincipalInfo {
        PrincipalInfo(
            name: try row.decode(column: "name", as: String.self),
            kind: PrincipalKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .user,
            createdAt: Timestamp.rfc3339(micros: try row.decode(column: "created_at", as: Int64.self))
        )
    }
}
