import SQLKit
import VesselCore

extension SQLMetadataStore: LeaseStore {
    public func acquireLease(_ name: String, holder: String, now: Int64, ttl: Int64) async throws -> Bool {
        let expires = now + ttl
        return try await backend.transaction { db in
            // Make sure the row exists (an expired placeholder), then take it conditionally: the
            // UPDATE's WHERE is re-checked under the row lock, so of two racing replicas one wins.
            try await db.raw("""
                INSERT INTO leases (name, holder, expires_at) VALUES (\(bind: name), '', 0) ON CONFLICT (name) DO NOTHING
                """).run()
            let taken = try await db.raw("""
                UPDATE leases SET holder = \(bind: holder), expires_at = \(bind: expires)
                WHERE name = \(bind: name) AND (holder = \(bind: holder) OR expires_at <= \(bind: now))
                RETURNING holder
                """).first()
            return taken != nil
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        try await backend.transaction { db in
            try await db.raw("UPDATE leases SET holder = '', expires_at = 0 WHERE name = \(bind: name) AND holder = \(bind: holder)").run()
        }
    }

    public func leaseHolder(_ name: String, now: Int64) async throws -> String? {
        try await backend.read { db in
            try await db.raw("SELECT holder FROM leases WHERE name = \(bind: name) AND expires_at > \(bind: now)").first()
                .map { try $0.decode(column: "holder", as: String.self) }
        }
    }
}
