import SQLKit
import VesselCore

extension SQLMetadataStore: AuditLog {
    public func auditEntries(model: ModelName?, limit: Int, cursor: String?) async throws -> Page<AuditEntry> {
        let limit = PageCursor.clamp(limit)
        let cursors = try await pageCursor()
        let list = "audit \(model?.description ?? "*")"
        let after = try cursor.map { Int64(try cursors.decode($0, list: list)) ?? 0 } ?? 0
        let rows = try await backend.read { db in
            if let model {
                return try await db.raw("""
                    SELECT * FROM audit_log WHERE model = \(bind: model.description) AND seq > \(bind: after) ORDER BY seq LIMIT \(bind: limit + 1)
                    """).all()
            }
            return try await db.raw("SELECT * FROM audit_log WHERE seq > \(bind: after) ORDER BY seq LIMIT \(bind: limit + 1)").all()
        }
        let items = try rows.prefix(limit).map(AuditEntry.decode)
        let next = rows.count > limit ? items.last.map { cursors.encode(String($0.seq), list: list) } : nil
        return Page(items: items, nextCursor: next)
    }

    public func verifyAuditChain() async throws -> AuditVerification {
        try await AuditChain.verify(backend)
    }
}
