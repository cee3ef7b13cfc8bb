import SQLKit
import VesselCore

extension SQLMetadataStore: UploadSessionStore {
    public func startUploadSession(model: ModelName, digest: Digest, size: UInt64, chunkSize: UInt64, principal: String, ttl: Int64) async throws -> (session: UploadSession, created: Bool) {
        let now = clock()
        let expires = now + ttl
        let id = "upl_" + makeID().replacingOccurrences(of: "-", with: "")
        return try await write { db in
            try await self.nameBlobs(db, [digest.description], at: now)
            let live = try await db.raw("""
                SELECT * FROM upload_sessions
                WHERE model = \(bind: model.description) AND digest = \(bind: digest.description) AND created_by = \(bind: principal)
                  AND size = \(bind: Int64(size)) AND expires_at > \(bind: now)
                ORDER BY created_at, id LIMIT 1
                """).first()
            if let live {
                var session = try Self.uploadSession(live)
                try await db.raw("UPDATE upload_sessions SET expires_at = \(bind: expires) WHERE id = \(bind: session.id)").run()
                session.expiresAt = expires
                return (session, false)
            }
            try await db.raw("""
                INSERT INTO upload_sessions (id, model, digest, size, chunk_size, created_by, created_at, expires_at)
                VALUES (\(bind: id), \(bind: model.description), \(bind: digest.description), \(bind: Int64(size)),
                  \(bind: Int64(chunkSize)), \(bind: principal), \(bind: now), \(bind: expires))
                """).run()
            let session = UploadSession(id: id, model: model, digest: digest, size: size, chunkSize: chunkSize, createdBy: principal, createdAt: now, expiresAt: expires)
            return (session, true)
        }
    }

    public func uploadSession(id: String) async throws -> UploadSession? {
        try await backend.read { db in
            try await db.raw("SELECT * FROM upload_sessions WHERE id = \(bind: id)").first().map(Self.uploadSession)
        }
    }

    public func deleteUploadSession(id: String) async throws {
        try await backend.transaction { db in
            try await db.raw("DELETE FROM upload_sessions WHERE id = \(bind: id)").run()
        }
    }

    public func expiredUploadSessions(now: Int64, limit: Int) async throws -> [UploadSession] {
        let limit = PageCursor.clamp(limit)
        return try await backend.read { db in
            try await db.raw("""
                SELECT * FROM upload_sessions WHERE expires_at <= \(bind: now) ORDER BY expires_at, id LIMIT \(bind: limit)
                """).all().map(Self.uploadSession)
        }
    }

    public func existingUploadSessions(_ ids: [String]) async throws -> Set<String> {
        var found = Set<String>()
        for chunk in ids.batches(of: 500) {
            let rows = try await backend.read { db in
                try await db.raw("SELECT id FROM upload_sessions WHERE id IN (\(binds: chunk))").all()
                    .map { try $0.decode(column: "id", as: String.self) }
            }
            found.formUnion(rows)
        }
        return found
    }

    static func uploadSession(_ row: any SQLRow) throws -> UploadSession {
        UploadSession(
            id: try row.decode(column: "id", as: String.self),
            model: try ModelName(try row.decode(column: "model", as: String.self)),
            digest: try Digest(try row.decode(column: "digest", as: String.self)),
            size: UInt64(try row.decode(column: "size", as: Int64.self)),
            chunkSize: UInt64(try row.decode(column: "chunk_size", as: Int64.self)),
            createdBy: try row.decode(column: "created_by", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self),
            expiresAt: try row.decode(column: "expires_at", as: Int64.self)
        )
    }
}
