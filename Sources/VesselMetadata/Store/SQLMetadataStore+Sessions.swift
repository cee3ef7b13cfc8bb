import SQLKit
import VesselCore

extension SQLMetadataStore: SessionStore {
    public func createSession(idHash: String, tokenHash: String, csrf: String, expiresAt: Int64, change: ChangeContext) async throws -> UISession {
        let now = clock()
        return try await write { db in
            guard let row = try await db.raw("""
                SELECT t.id, t.expires_at, t.revoked_at, p.name, p.kind, p.created_at
                FROM tokens t JOIN principals p ON p.id = t.principal_id WHERE t.hash = \(bind: tokenHash)
                """).first(),
                try row.decode(column: "revoked_at", as: Int64?.self) == nil
            else { throw VesselError.unauthenticated("the token is not valid; create one with `vessel token create`") }
            let tokenExpiry = try row.decode(column: "expires_at", as: Int64?.self)
            if let tokenExpiry, tokenExpiry <= now {
                throw VesselError.unauthenticated("the token expired at \(Timestamp.rfc3339(micros: tokenExpiry)); create a new one with `vessel token create`")
            }
            let ends = min(expiresAt, tokenExpiry ?? expiresAt)
            let tokenID = try row.decode(column: "id", as: String.self)
            try await db.raw("""
                INSERT INTO ui_sessions (id_hash, token_id, csrf, created_at, expires_at)
                VALUES (\(bind: idHash), \(bind: tokenID), \(bind: csrf), \(bind: now), \(bind: ends))
                """).run()
            let principal = try Self.principal(row)
            // Old sessions are removed as new ones open; a read never returns an expired one anyway.
            try await db.raw("DELETE FROM ui_sessions WHERE expires_at <= \(bind: now)").run()
            // The one who signs in is the token's principal, known only now.
            var change = change
            change.actor = principal.name
            try await self.audit(db, change, at: now, action: "session.create", target: "token/\(tokenID)", model: nil, after: principal.name)
            return UISession(principal: principal, csrf: csrf, expiresAt: ends)
        }
    }

    public func session(idHash: String, now: Int64) async throws -> UISession? {
        let row = try await backend.read { db in
            try await db.raw("""
                SELECT s.csrf, s.expires_at AS session_expires, t.expires_at, t.revoked_at, p.name, p.kind, p.created_at
                FROM ui_sessions s JOIN tokens t ON t.id = s.token_id JOIN principals p ON p.id = t.principal_id
                WHERE s.id_hash = \(bind: idHash)
                """).first()
        }
        guard let row, try row.decode(column: "revoked_at", as: Int64?.self) == nil else { return nil }
        let ends = try row.decode(column: "session_expires", as: Int64.self)
        guard ends > now else { return nil }
        if let tokenExpiry = try row.decode(column: "expires_at", as: Int64?.self), tokenExpiry <= now { return nil }
        return UISession(principal: try Self.principal(row), csrf: try row.decode(column: "csrf", as: String.self), expiresAt: ends)
    }

    public func endSession(idHash: String, change: ChangeContext) async throws {
        let now = clock()
        try await write { db in
            guard let row = try await db.raw("SELECT token_id FROM ui_sessions WHERE id_hash = \(bind: idHash)").first() else { return }
            try await db.raw("DELETE FROM ui_sessions WHERE id_hash = \(bind: idHash)").run()
            try await self.audit(db, change, at: now, action: "session.end", target: "token/\(try row.decode(column: "token_id", as: String.self))", model: nil)
        }
    }
}
