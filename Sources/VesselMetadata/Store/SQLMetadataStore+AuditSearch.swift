import SQLKit
import VesselCore

/// What an audit listing keeps: entries of one model, by one actor, of one action (`model.push`
/// exactly, or a family: `deployment` keeps `deployment.rolled_back`, `deployment.started`, …).
/// Empty fields keep everything.
public struct AuditFilter: Sendable, Equatable {
    public var model: ModelName?
    public var actor: String?
    public var action: String?

    public init(model: ModelName? = nil, actor: String? = nil, action: String? = nil) {
        self.model = model
        self.actor = actor.flatMap { $0.isEmpty ? nil : $0 }
        self.action = action.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The cursor's list name: a cursor of one filter is refused by another.
    var list: String { "audit-newest \(model?.description ?? "*") \(actor ?? "*") \(action ?? "*")" }
}

/// The audit log searched in the query (issue 29): the web UI's audit page filters by model,
/// actor and action in SQL, so a page holds the next matching entries instead of the matching
/// entries of the next page read. Kept apart from `AuditLog` (the API's listing) so its
/// implementers need not change.
public protocol AuditSearch: Sendable {
    /// Entries matching `filter`, newest first (descending sequence), `limit` at a time.
    func auditEntries(_ filter: AuditFilter, limit: Int, cursor: String?) async throws -> Page<AuditEntry>
}

extension SQLMetadataStore: AuditSearch {
    public func auditEntries(_ filter: AuditFilter, limit: Int, cursor: String?) async throws -> Page<AuditEntry> {
        let limit = PageCursor.clamp(limit)
        let cursors = try await pageCursor()
        let list = filter.list
        let before = try cursor.map { Int64(try cursors.decode($0, list: list)) ?? 0 } ?? Int64.max
        var conditions: [SQLQueryString] = ["seq < \(bind: before)"]
        if let model = filter.model { conditions.append("model = \(bind: model.description)") }
        if let actor = filter.actor { conditions.append("actor = \(bind: actor)") }
        // `deployment` keeps `deployment.*`: the prefix is compared as text, without LIKE's wildcards.
        if let action = filter.action {
            // The length is computed in SQL: a bound Swift Int is a bigint on PostgreSQL, which substr does not take.
            let family = action + "."
            conditions.append("(action = \(bind: action) OR substr(action, 1, length(\(bind: family))) = \(bind: family))")
        }
        let condition = Self.joined(conditions)
        let rows = try await backend.read { db in
            try await db.raw("SELECT * FROM audit_log WHERE \(condition) ORDER BY seq DESC LIMIT \(bind: limit + 1)").all()
        }
        let items = try rows.prefix(limit).map(AuditEntry.decode)
        let next = rows.count > limit ? items.last.map { cursors.encode(String($0.seq), list: list) } : nil
        return Page(items: items, nextCursor: next)
    }
}
