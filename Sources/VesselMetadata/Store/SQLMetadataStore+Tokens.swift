import SQLKit
import VesselCore

extension SQLMetadataStore: TokenStore {
    public func createToken(principal: String, name: String?, hash: String, expiresAt: Int64?, change: ChangeContext) async throws -> TokenInfo {
        let now = clock()
        let id = "tok_" + makeID().replacingOccurrences(of: "-", with: "").prefix(16)
        return try await write { db in
            guard let owner = try await db.raw("SELECT id FROM principals WHERE name = \(bind: principal)").first() else {
                throw VesselError.notFound("principal '\(principal)' does not exist; create it with `vessel principal add \(principal)`")
            }
            let ownerID = try owner.decode(column: "id", as: String.self)
            try await db.raw("""
                INSERT INTO tokens (id, principal_id, name, hash, created_at, expires_at, revoked_at)
                VALUES (\(bind: id), \(bind: ownerID), \(bind: name), \(bind: hash), \(bind: now), \(bind: expiresAt), NULL)
                """).run()
            try await self.audit(db, change, at: now, action: "token.create", target: "token/\(id)", model: nil, after: principal)
            return TokenInfo(id: id, name: name, principal: principal, createdAt: Timestamp.rfc3339(micros: now), expiresAt: expiresAt.map(Timestamp.rfc3339(micros:)), revokedAt: nil)
        }
    }

    public func ensureToken(principal: String, name: String, hash: String) async throws {
        let now = clock()
        let id = "tok_" + makeID().replacingOccurrences(of: "-", with: "").prefix(16)
        try await write { db in
            guard let owner = try await db.raw("SELECT id FROM principals WHERE name = \(bind: principal)").first() else {
                throw VesselError.notFound("principal '\(principal)' does not exist")
            }
            let ownerID = try owner.decode(column: "id", as: String.self)
            if let existing = try await db.raw("SELECT id, principal_id, revoked_at, expires_at FROM tokens WHERE hash = \(bind: hash)").first() {
                guard try existing.decode(column: "principal_id", as: String.self) == ownerID else {
                    throw VesselError.conflict("the configured token already belongs to another principal")
                }
                let revoked = try existing.decode(column: "revoked_at", as: Int64?.self)
                let expires = try existing.decode(column: "expires_at", as: Int64?.self)
                guard revoked != nil || expires != nil else { return }
                // Re-enabling a revoked or expiring token is a change of who may do what: audited.
                try await db.raw("UPDATE tokens SET revoked_at = NULL, expires_at = NULL WHERE hash = \(bind: hash)").run()
                let before = revoked != nil ? "revoked" : "expires \(Timestamp.rfc3339(micros: expires!))"
                try await self.audit(db, ChangeContext(actor: "system", requestID: nil), at: now, action: "token.restore",
                                     target: "token/\(try existing.decode(column: "id", as: String.self))", model: nil, before: before, after: principal)
                return
            }
            try await db.raw("""
                INSERT INTO tokens (id, principal_id, name, hash, created_at, expires_at, revoked_at)
                VALUES (\(bind: id), \(bind: ownerID), \(bind: name), \(bind: hash), \(bind: now), NULL, NULL)
                """).run()
            try await self.audit(db, ChangeContext(actor: "system", requestID: nil), at: now, action: "token.create", target: "token/\(id)", model: nil, after: principal)
        }
    }

    public func authenticate(hash: String, now: Int64) async throws -> PrincipalInfo {
        let row = try await backend.read { db in
            try await db.raw("""
                SELECT p.name, p.kind, p.created_at, t.expires_at, t.revoked_at
                FROM tokens t JOIN principals p ON p.id = t.principal_id WHERE t.hash = \(bind: hash)
                """).first()
        }
        guard let row else { throw VesselError.unauthenticated("the token is not valid; create one with `vessel token create`") }
        if try row.decode(column: "revoked_at", as: Int64?.self) != nil {
            throw VesselError.unauthenticated("the token was revoked; create a new one with `vessel token create`")
        }
        if let expiry = try row.decode(column: "expires_at", as: Int64?.self), expiry <= now {
            throw VesselError.unauthenticated("the token expired at \(Timestamp.rfc3339(micros: expiry)); create a new one with `vessel token create`")
        }
        return try Self.principal(row)
    }

    public func listTokens() async throws -> [TokenInfo] {
        try await backend.read { db in
            try await db.raw("""
                SELECT t.id, t.name, p.name AS principal, t.created_at, t.expires_at, t.revoked_at
                FROM tokens t JOIN principals p ON p.id = t.principal_id ORDER BY t.created_at, t.id
                """).all().map { row in
                TokenInfo(
                    id: try row.decode(column: "id", as: String.self),
                    name: try row.decode(column: "name", as: String?.self),
                    principal: try row.decode(column: "principal", as: String.self),
                    createdAt: Timestamp.rfc3339(micros: try row.decode(column: "created_at", as: Int64.self)),
                    expiresAt: try row.decode(column: "expires_at", as: Int64?.self).map(Timestamp.rfc3339(micros:)),
                    revokedAt: try row.decode(column: "revoked_at", as: Int64?.self).map(Timestamp.rfc3339(micros:))
                )
            }
        }
    }

    public func revokeToken(id: String, change: ChangeContext) async throws {
        let now = clock()
        try await write { db in
            guard try await db.raw("SELECT id FROM tokens WHERE id = \(bind: id)").first() != nil else {
                throw VesselError.notFound("token '\(id)' does not exist; `vessel token list` shows the ids")
            }
            try await db.raw("UPDATE tokens SET revoked_at = \(bind: now) WHERE id = \(bind: id) AND revoked_at IS NULL").run()
            try await self.audit(db, change, at: now, action: "token.revoke", target: "token/\(id)", model: nil)
        }
    }
}
