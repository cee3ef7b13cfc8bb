import SQLKit
import VesselCore

extension SQLMetadataStore: OutboxRetention {
    public func purgeEvents(before cutoff: Int64, limit: Int) async throws -> Int {
        let limit = Cursor.clamp(limit)
        return try await backend.transaction { db in
            // Never an event some subscription has not looked at yet (above its cursor) or still
            // has to deliver (a pending delivery row); their attempt history ages out alike.
            let deleted = try await db.raw("""
                DELETE FROM events WHERE seq IN (SELECT e.seq FROM events e WHERE e.at < \(bind: cutoff)
                  AND e.seq <= COALESCE((SELECT MIN(w.cursor) FROM webhooks w), e.seq)
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = e.seq AND d.status = 'pending')
                  ORDER BY e.seq LIMIT \(bind: limit))
                RETURNING seq
                """).all().count
            try await db.raw("DELETE FROM webhook_attempts WHERE at < \(bind: cutoff)").run()
            try await db.raw("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < \(bind: cutoff)").run()
            return deleted
        }
    }

    public func eventCount() async throws -> Int {
        try await backend.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM events").first().map { try $0.decode(column: "n", as: Int.self) } ?? 0
        }
    }
}
