import SQLKit
import VesselCore

extension SQLMetadataStore: OutboxRetention {
    public func purgeEvents(before cutoff: Int64, limit: Int) async throws -> Int {
        let limit = PageCursor.clamp(limit)
        // Never an event some subscription has not looked at yet (above its cursor) or still
        // has to deliver (a pending delivery row); their attempt history ages out alike.
        // Cursors only move forward and new deliveries are only queued above them (or for an
        // event that still exists, by `redeliver`), so bounds read first stay safe.
        let hooks = try await withCursors(try await backend.read { db in try await db.raw("SELECT * FROM webhooks").all().map(Self.subscriptionWithStart) })
        let lowestPending = try await deliveries.read { db in
            try await db.raw("SELECT MIN(event_seq) AS s FROM webhook_deliveries WHERE status = 'pending'").first()
                .flatMap { try $0.decode(column: "s", as: Int64?.self) }
        }
        let bounds = hooks.map(\.cursor) + (lowestPending.map { [$0 - 1] } ?? [])
        let deleted = try await backend.transaction { db in
            try await db.raw("""
                DELETE FROM events WHERE seq IN (SELECT e.seq FROM events e WHERE e.at < \(bind: cutoff)
                  AND e.seq <= \(bind: bounds.min() ?? Int64.max) ORDER BY e.seq LIMIT \(bind: limit))
                RETURNING seq
                """).all().count
        }
        let ids: [any SQLExpression] = hooks.map { SQLBind($0.subscription.id) }
        try await deliveries.transaction { db in
            try await db.raw("DELETE FROM webhook_attempts WHERE at < \(bind: cutoff)").run()
            try await db.raw("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < \(bind: cutoff)").run()
            // Left behind by a subscription removed while the delivery service was queueing for
            // it (ids are never reused; the age keeps a subscription created just now safe).
            if !ids.isEmpty {
                try await db.raw("DELETE FROM webhook_deliveries WHERE updated_at < \(bind: cutoff) AND webhook_id NOT IN (\(SQLList(ids)))").run()
            } else {
                try await db.raw("DELETE FROM webhook_deliveries WHERE updated_at < \(bind: cutoff)").run()
            }
        }
        return deleted
    }

    public func eventCount() async throws -> Int {
        try await backend.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM events").first().map { try $0.decode(column: "n", as: Int.self) } ?? 0
        }
    }
}
