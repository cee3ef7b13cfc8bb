import SQLKit
import VesselCore

extension SQLMetadataStore: OutboxRetention {
    public func purgeEvents(before cutoff: Int64, limit: Int) async throws -> Int {
        let limit = Cursor.clamp(limit)
        return try await backend.transaction { db in
            try await db.raw("""
                DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE at < \(bind: cutoff) ORDER BY seq LIMIT \(bind: limit))
                RETURNING seq
                """).all().count
        }
    }

    public func eventCount() async throws -> Int {
        try await backend.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM events").first().map { try $0.decode(column: "n", as: Int.self) } ?? 0
        }
    }
}
