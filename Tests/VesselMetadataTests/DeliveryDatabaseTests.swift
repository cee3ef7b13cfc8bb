import Foundation
import Logging
import SQLKit
import Testing
import VesselCore
@testable import VesselMetadata

/// The embedded registry's webhook delivery state lives in `deliveries.sqlite`, apart from
/// `metadata.sqlite` (docs/decisions/0009-delivery-database.md).
@Suite struct DeliveryDatabaseTests {
    static let admin = MetadataHarness.admin

    static func hook(_ store: SQLMetadataStore) async throws -> WebhookSubscription {
        try await store.createWebhook(url: "http://127.0.0.1:9/x", filter: try EventFilter(patterns: ["model.*"], scope: .registry),
                                      format: .json, secret: "0123456789abcdef", change: admin)
    }

    @Test func deliveryBookkeepingNeverWaitsForTheRegistryWriter() async throws {
        try await MetadataHarness.withStore("sqlite") { store, sql in
            let hook = try await Self.hook(store)
            _ = try await store.createModel(try ModelName("acme/a"), description: "", tags: [], change: Self.admin)
            // Hold the registry's only writer until the delivery work is done (or 20 s pass).
            let (released, release) = AsyncStream<Void>.makeStream()
            let (holding, held) = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await sql.transaction { _ in
                    held.yield()
                    for await _ in released { break }
                }
            }
            // Until the writer is really held: otherwise the test could pass without testing anything.
            for await _ in holding { break }
            let finished = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    #expect(try await store.enqueueDeliveries(now: 10, limit: 100).events == 1)
                    let delivery = try #require(try await store.pendingDeliveries(webhook: hook.id, model: "acme/a", limit: 10).first)
                    try await store.recordAttempts([AttemptRecord(delivery, DeliveryAttempt(status: .delivered, at: 20, responseCode: 200, latencyMicros: 5, error: nil, nextAttemptAt: 20), id: "a1")])
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(20))
                    return false
                }
                let first = try await group.next() ?? false
                group.cancelAll()
                return first
            }
            release.yield()
            release.finish()
            try await holder.value
            #expect(finished, "queueing and recording deliveries waited for a registry write transaction")
            #expect(try await store.pendingDeliveryCount() == 0)
            #expect(try await store.deliveryAttempts(webhook: hook.id, limit: 10, cursor: nil).items.map(\.status) == ["delivered"])
        }
    }

    /// Migration 8: the stream and due-time indexes hold pending rows only, and the queries
    /// that look for pending work use them (a bound `status` would not match a partial index).
    @Test func pendingWorkIsFoundThroughPartialIndexes() async throws {
        try await MetadataHarness.withStore("sqlite") { store, _ in
            let indexes = try await store.deliveries.read { db in
                try await db.raw("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'webhook_deliveries' AND sql IS NOT NULL ORDER BY name").all()
                    .map { "\(try $0.decode(column: "name", as: String.self)): \(try $0.decode(column: "sql", as: String.self))" }
            }
            #expect(indexes == [
                "webhook_deliveries_event: CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq)",
                "webhook_deliveries_pending: CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (event_seq) WHERE status = 'pending'",
                "webhook_deliveries_stream: CREATE INDEX webhook_deliveries_stream ON webhook_deliveries (webhook_id, model, event_seq) WHERE status = 'pending'",
            ])
            let hook = try await Self.hook(store)
            _ = try await store.createModel(try ModelName("acme/a"), description: "", tags: [], change: Self.admin)
            _ = try await store.enqueueDeliveries(now: 10, limit: 100)
            #expect(try await store.dueDeliveryGroups(now: 10, limit: 10).map(\.webhook) == [hook.id])
            let delivery = try #require(try await store.pendingDeliveries(webhook: hook.id, model: "acme/a", limit: 10).first)
            try await store.recordAttempts([AttemptRecord(delivery, DeliveryAttempt(status: .delivered, at: 20, responseCode: 200, latencyMicros: 5, error: nil, nextAttemptAt: 20), id: "a1")])
            let pendingEntries = try await store.deliveries.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM webhook_deliveries INDEXED BY webhook_deliveries_pending WHERE status = 'pending'").first()?.decode(column: "n", as: Int.self)
            }
            #expect(pendingEntries == 0, "a delivered row left the partial index")
            #expect(try await store.dueDeliveryGroups(now: 30, limit: 10).isEmpty)
        }
    }

    @Test func aRegistryFromBeforeTheSplitBringsItsDeliveryStateAlong() async throws {
        let logger = Logger(label: "test")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-meta-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // An older registry: delivery rows in metadata.sqlite, and the cursor in `webhooks`.
        let sql = try await SQLiteBackend.open(path: "\(dir)/metadata.sqlite", logger: logger)
        try await Migrations.run(on: sql, logger: logger)
        let old = SQLMetadataStore(backend: sql)
        let hook = try await Self.hook(old)
        for name in ["acme/a", "acme/b", "acme/c"] {
            _ = try await old.createModel(try ModelName(name), description: "", tags: [], change: Self.admin)
        }
        try await sql.transaction { db in
            try await db.raw("""
                INSERT INTO webhook_deliveries (webhook_id, event_seq, model, status, attempts, next_attempt_at, first_attempt_at, updated_at)
                SELECT \(bind: hook.id), seq, model, 'pending', 0, 5, NULL, 5 FROM events WHERE model = 'acme/a'
                """).run()
            try await db.raw("""
                INSERT INTO webhook_attempts (id, webhook_id, event_seq, attempt, at, status, response_code, latency_micros, error)
                SELECT 'old-1', \(bind: hook.id), seq, 1, 4, 'failed', 500, 9, NULL FROM events WHERE model = 'acme/a'
                """).run()
            try await db.raw("UPDATE webhooks SET cursor = (SELECT seq FROM events WHERE model = 'acme/b')").run()
        }
        let deliveries = try await SQLiteBackend.open(path: "\(dir)/deliveries.sqlite", readers: 1, logger: logger)
        try await MetadataHarness.closing([deliveries, sql]) {
            try await Migrations.runDeliveries(on: deliveries, registryPath: "\(dir)/metadata.sqlite", logger: logger)
            // A second start finds the file at its version and changes nothing.
            try await Migrations.runDeliveries(on: deliveries, registryPath: "\(dir)/metadata.sqlite", logger: logger)
            let store = SQLMetadataStore(backend: sql, deliveries: deliveries)
            #expect(try await store.pendingDeliveries(webhook: hook.id, model: "acme/a", limit: 10).count == 1)
            #expect(try await store.deliveryAttempts(webhook: hook.id, limit: 10, cursor: nil).items.map(\.status) == ["failed"])
            let left = try await sql.read { db in
                try await db.raw("SELECT (SELECT COUNT(*) FROM webhook_deliveries) + (SELECT COUNT(*) FROM webhook_attempts) AS n").first()
                    .map { try $0.decode(column: "n", as: Int.self) }
            }
            #expect(left == 0, "the old rows left metadata.sqlite")
            // The old cursor holds: only the event after acme/b's is queued.
            #expect(try await store.enqueueDeliveries(now: 10, limit: 100).events == 1)
            #expect(try await store.dueDeliveryGroups(now: 10, limit: 10).map(\.model).sorted() == ["acme/a", "acme/c"])
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func removedSubscriptionsAndPurgedEventsLeaveNoDeliveryBehind(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let hook = try await Self.hook(store)
            let other = try await Self.hook(store)
            _ = try await store.createModel(try ModelName("acme/a"), description: "", tags: [], change: Self.admin)
            #expect(try await store.enqueueDeliveries(now: 10, limit: 100).events == 1)
            let event = try #require(try await store.pendingDeliveries(webhook: hook.id, model: "acme/a", limit: 10).first)
            try await store.recordAttempts([AttemptRecord(event, DeliveryAttempt(status: .delivered, at: 20, responseCode: 200, latencyMicros: 5, error: nil, nextAttemptAt: 20), id: "a1")])
            // Queued again, then the subscription goes: nothing of it is left to deliver.
            #expect(Set(try await store.redeliver(eventID: event.eventID, webhook: nil, among: nil, change: Self.admin)) == [hook.id, other.id])
            #expect(try await store.pendingDeliveryCount() == 2)
            try await store.deleteWebhook(id: hook.id, change: Self.admin)
            #expect(try await store.pendingDeliveryCount() == 1)
            #expect(try await store.dueDeliveryGroups(now: .max, limit: 10).map(\.webhook) == [other.id])
            // Pending rows hold their event back from the retention job; once delivered, it goes.
            #expect(try await store.purgeEvents(before: Int64.max, limit: 100) == 0)
            let pending = try #require(try await store.pendingDeliveries(webhook: other.id, model: "acme/a", limit: 10).first)
            try await store.recordAttempts([AttemptRecord(pending, DeliveryAttempt(status: .delivered, at: 40, responseCode: 200, latencyMicros: 5, error: nil, nextAttemptAt: 40), id: "b1")])
            #expect(try await store.purgeEvents(before: Int64.max, limit: 100) == 1)
            #expect(try await store.deliveryAttempts(webhook: other.id, limit: 10, cursor: nil).items.isEmpty)
            await expectCode(.notFound) { _ = try await store.redeliver(eventID: event.eventID, webhook: other.id, among: nil, change: Self.admin) }
        }
    }

    /// Reader connections open as reads overlap, never more than asked for: each holds the file
    /// and its WAL open, and test runs with many registries at once reached 1,500 descriptors.
    @Test func readersOpenWhenReadsOverlap() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-readers-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/metadata.sqlite"
        func handles() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == path
            }.count
        }
        let sql = try await SQLiteBackend.open(path: path, readers: 2, logger: Logger(label: "test"))
        try await MetadataHarness.closing([sql]) {
            #expect(try handles() == 1, "the writer only")
            for _ in 0..<5 { _ = try await sql.read { db in try await db.raw("SELECT 1 AS one").all() } }
            #expect(try handles() == 2, "reads one after the other share one reader")
            let (entered, enter) = AsyncStream<Void>.makeStream()
            let (released, release) = AsyncStream<Void>.makeStream()
            async let holding: Void = sql.read { db in
                _ = try await db.raw("SELECT 1 AS one").all()
                enter.yield()
                for await _ in released { break }
            }
            for await _ in entered { break }
            for _ in 0..<3 { _ = try await sql.read { db in try await db.raw("SELECT 1 AS one").all() } }
            #expect(try handles() == 3, "a read while another is in flight opens the second reader, and no more")
            release.yield()
            release.finish()
            try await holding
        }
    }

    /// No reader opens after shutdown (it would never be closed); a read then fails cleanly,
    /// and a read whose task is cancelled leaves nothing open behind it.
    @Test func noReaderOpensAfterShutdown() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-readers-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sql = try await SQLiteBackend.open(path: "\(dir)/metadata.sqlite", readers: 2, logger: Logger(label: "test"))
        for _ in 0..<20 {
            let read = Task { try await sql.read { db in try await db.raw("SELECT 1 AS one").all().count } }
            read.cancel()
            _ = await read.result
        }
        #expect(try await sql.read { db in try await db.raw("SELECT 1 AS one").all().count } == 1)
        await sql.shutdown()
        await expectCode(.unavailable) { _ = try await sql.read { db in try await db.raw("SELECT 1 AS one").all().count } }
    }
}
