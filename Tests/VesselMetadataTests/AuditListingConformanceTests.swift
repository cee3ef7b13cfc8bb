import Foundation
import Testing
import VesselCore
@testable import VesselMetadata

/// The audit listing (`AuditLog.auditEntries`: the web UI's audit page newest first, the API's
/// oldest first) on SQLite and PostgreSQL: model, actor and action filters applied in the query,
/// paged by a cursor tied to the filter and the order.
@Suite struct AuditListingConformanceTests {
    @Test(arguments: MetadataHarness.backends)
    func filtersAreAppliedInTheQueryNewestFirst(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            _ = try await store.createModel(try ModelName("acme/rare"), description: "", tags: [], change: ChangeContext(actor: "rarely", requestID: nil))
            for index in 0..<60 {
                _ = try await store.createModel(try ModelName("acme/busy-\(index)"), description: "", tags: [], change: ChangeContext(actor: "often", requestID: nil))
            }
            let rare = try await store.auditEntries(AuditFilter(actor: "rarely", newestFirst: true), limit: 50, cursor: nil)
            #expect(rare.items.map(\.model) == ["acme/rare"] && rare.nextCursor == nil, "\(backend)")
            let byModel = try await store.auditEntries(AuditFilter(model: try ModelName("acme/busy-3"), newestFirst: true), limit: 50, cursor: nil)
            #expect(byModel.items.count == 1 && byModel.items[0].actor == "often")
            let family = try await store.auditEntries(AuditFilter(actor: "often", action: "model", newestFirst: true), limit: 50, cursor: nil)
            #expect(family.items.count == 50 && family.items.allSatisfy { $0.action.hasPrefix("model.") } && family.nextCursor != nil, "\(backend)")
            #expect(zip(family.items, family.items.dropFirst()).allSatisfy { $0.seq > $1.seq }, "newest first")
            let rest = try await store.auditEntries(AuditFilter(actor: "often", action: "model", newestFirst: true), limit: 50, cursor: family.nextCursor)
            #expect(rest.items.count == 10 && rest.nextCursor == nil && (rest.items.first?.seq ?? 0) < (family.items.last?.seq ?? 0))
            let exact = try await store.auditEntries(AuditFilter(action: "model.create", newestFirst: true), limit: 100, cursor: nil)
            #expect(exact.items.count == 61)
            #expect(try await store.auditEntries(AuditFilter(action: "mod", newestFirst: true), limit: 50, cursor: nil).items.isEmpty, "a family is a whole name")
            #expect(try await store.auditEntries(AuditFilter(action: "model.create.x", newestFirst: true), limit: 50, cursor: nil).items.isEmpty)
            await #expect(throws: VesselError.self) { _ = try await store.auditEntries(AuditFilter(actor: "rarely", newestFirst: true), limit: 50, cursor: family.nextCursor) }

            // Oldest first (the API): the same filters, the other order, its own cursors.
            let oldest = try await store.auditEntries(AuditFilter(actor: "often", action: "model"), limit: 50, cursor: nil)
            #expect(oldest.items.count == 50 && zip(oldest.items, oldest.items.dropFirst()).allSatisfy { $0.seq < $1.seq }, "oldest first")
            #expect(oldest.items.first?.model == "acme/busy-0" && oldest.items.allSatisfy { $0.actor == "often" }, "\(backend)")
            let after = try await store.auditEntries(AuditFilter(actor: "often", action: "model"), limit: 50, cursor: oldest.nextCursor)
            #expect(after.items.count == 10 && after.nextCursor == nil && after.items.last?.model == "acme/busy-59")
            await #expect(throws: VesselError.self) { _ = try await store.auditEntries(AuditFilter(actor: "often", action: "model", newestFirst: true), limit: 50, cursor: oldest.nextCursor) }
        }
    }
}
