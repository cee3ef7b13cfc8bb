import SQLKit
import VesselCore

extension SQLMetadataStore: AuditLog {
    /// The one audit listing: the API's (oldest first) and the web UI's (newest first) both
    /// come here, with their filters in the query so a page holds the next matching entries.
    public func auditEntries(_ filter: AuditFilter, limit: Int, cursor: String?) async throws -> Page<AuditEntry> {
        let limit = PageCursor.clamp(limit)
        let cursors = try await pageCursor()
        let list = filter.list
        let start = try cursor.map { Int64(try cursors.decode($0, list: list)) ?? 0 }
        var conditions: [SQLQueryString] = filter.newestFirst ? ["seq < \(bind: start ?? Int64.max)"] : ["seq > \(bind: start ?? 0)"]
        if let model = filter.model { conditions.append("model = \(bind: model.description)") }
        if let actor = filter.actor { conditions.append("actor = \(bind: actor)") }
        // `deployment` keeps `deployment.*`: the prefix is compared as text, without LIKE's wildcards.
        if let action = filter.action {
            // The length is computed in SQL: a bound Swift Int is a bigint on PostgreSQL, which substr does not take.
            let family = action + "."
            conditions.append("(action = \(bind: action) OR substr(action, 1, length(\(bind: family))) = \(bind: family))")
        }
        let condition = Self.joined(conditions)
        let order: SQLQueryString = filter.newestFirst ? "seq DESC" : "seq"
        let rows = try await backend.read { db in
            try await db.raw("SELECT * FROM audit_log WHERE \(condition) ORDER BY \(order) LIMIT \(bind: limit + 1)").all()
        }
        let items = try rows.prefix(limit).map(AuditEntry.decode)
        let next = rows.count > limit ? items.last.map { cursors.encode(String($0.seq), list: list) } : nil
        return Page(items: items, nextCursor: next)
    }

    public func verifyAuditChain() async throws -> AuditVerification {
        try await AuditChain.verify(backend)
    }
}
