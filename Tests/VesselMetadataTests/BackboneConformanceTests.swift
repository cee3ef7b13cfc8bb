import Foundation
import Synchronization
import Testing
import VesselCore
@testable import VesselMetadata

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let now: Atomic<Int64>
    init(_ start: Int64 = 1_000_000_000_000) { now = Atomic(start) }
    func callAsFunction() -> Int64 { now.load(ordering: .relaxed) }
    func advance(seconds: Int64) { now.add(seconds * 1_000_000, ordering: .relaxed) }
}

/// Leases, upload session rows, outbox retention, and the audit chain under concurrent writers.
@Suite struct BackboneConformanceTests {
    let model = try! ModelName("acme/m")
    let second: Int64 = 1_000_000

    @Test(arguments: MetadataHarness.backends)
    func leaseHasOneHolderUntilItExpires(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let t0: Int64 = 1_000 * second
            #expect(try await store.acquireLease("job", holder: "a", now: t0, ttl: 10 * second))
            #expect(try await store.acquireLease("job", holder: "b", now: t0 + second, ttl: 10 * second) == false)
            #expect(try await store.leaseHolder("job", now: t0 + second) == "a")
            // The holder renews; the other still cannot take it before the renewed expiry.
            #expect(try await store.acquireLease("job", holder: "a", now: t0 + 5 * second, ttl: 10 * second))
            #expect(try await store.acquireLease("job", holder: "b", now: t0 + 12 * second, ttl: 10 * second) == false)
            // Expiry lets the other take over; the old holder is then refused.
            #expect(try await store.acquireLease("job", holder: "b", now: t0 + 15 * second, ttl: 10 * second))
            #expect(try await store.acquireLease("job", holder: "a", now: t0 + 16 * second, ttl: 10 * second) == false)
            // Releasing by a non-holder does nothing; by the holder frees it at once.
            try await store.releaseLease("job", holder: "a")
            #expect(try await store.leaseHolder("job", now: t0 + 16 * second) == "b")
            try await store.releaseLease("job", holder: "b")
            #expect(try await store.leaseHolder("job", now: t0 + 16 * second) == nil)
            #expect(try await store.acquireLease("job", holder: "a", now: t0 + 16 * second, ttl: 10 * second))
            // Leases are per name.
            #expect(try await store.acquireLease("other", holder: "b", now: t0 + 16 * second, ttl: 10 * second))
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func racingHoldersGetTheLeaseOnce(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<16 {
                    group.addTask { try await store.acquireLease("race", holder: "replica-\(i)", now: 5_000 * second, ttl: 60 * second) }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(winners == 1)
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func uploadSessionsResumeAndExpire(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { _, sql in
            let clock = ManualClock()
            let store = SQLMetadataStore(backend: sql, clock: { clock() })
            let digest = MetadataHarness.digest(1)
            let (first, created) = try await store.startUploadSession(model: model, digest: digest, size: 100, chunkSize: 10, principal: "alice", ttl: 60 * second)
            #expect(created && first.plan.chunks == 10 && first.expiresAt == clock() + 60 * second)
            clock.advance(seconds: 30)
            // The same principal continues the session, and its expiry moves.
            let (again, createdAgain) = try await store.startUploadSession(model: model, digest: digest, size: 100, chunkSize: 10, principal: "alice", ttl: 60 * second)
            #expect(!createdAgain && again.id == first.id && again.expiresAt == clock() + 60 * second)
            #expect(try await store.uploadSession(id: first.id)?.expiresAt == again.expiresAt)
            // Another principal, or another size, gets its own session.
            let (bob, bobCreated) = try await store.startUploadSession(model: model, digest: digest, size: 100, chunkSize: 10, principal: "bob", ttl: 60 * second)
            #expect(bobCreated && bob.id != first.id)
            #expect(try await store.expiredUploadSessions(now: clock(), limit: 10).isEmpty)
            clock.advance(seconds: 61)
            let expired = try await store.expiredUploadSessions(now: clock(), limit: 10)
            #expect(Set(expired.map(\.id)) == [first.id, bob.id])
            // An expired session is not continued.
            let (fresh, freshCreated) = try await store.startUploadSession(model: model, digest: digest, size: 100, chunkSize: 10, principal: "alice", ttl: 60 * second)
            #expect(freshCreated && fresh.id != first.id)
            #expect(try await store.existingUploadSessions([first.id, "upl_nope", fresh.id]) == [first.id, fresh.id])
            try await store.deleteUploadSession(id: first.id)
            #expect(try await store.uploadSession(id: first.id) == nil)
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func outboxRetentionDeletesOldEventsOnly(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { _, sql in
            let clock = ManualClock()
            let store = SQLMetadataStore(backend: sql, clock: { clock() })
            _ = try await MetadataHarness.commit(store, model)
            let old = try await store.eventCount()
            clock.advance(seconds: 8 * 86_400)
            _ = try await MetadataHarness.commit(store, model, files: [("x", 2)])
            let total = try await store.eventCount()
            #expect(old == 3 && total == 5)
            let cutoff = clock() - 7 * 86_400 * second
            #expect(try await store.purgeEvents(before: cutoff, limit: 2) == 2)
            #expect(try await store.purgeEvents(before: cutoff, limit: 1000) == 1)
            #expect(try await store.eventCount() == 2)
            // New events keep numbering after the deleted ones.
            _ = try await MetadataHarness.commit(store, model, files: [("y", 3)])
            let seqs = try await sql.read { db in
                try await db.raw("SELECT seq FROM events ORDER BY seq").all().map { try $0.decode(column: "seq", as: Int64.self) }
            }
            #expect(seqs == [4, 5, 6, 7])
        }
    }

    /// Many writers at once, with verification running alongside: the chain stays gap-free
    /// and verifies, and every write has exactly one entry.
    @Test(arguments: MetadataHarness.backends)
    func auditChainVerifiesUnderConcurrentWriters(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        for i in 0..<10 {
                            _ = try await store.createPrincipal(name: "w\(writer)-\(i)", kind: .service, change: MetadataHarness.admin)
                        }
                    }
                }
                group.addTask {
                    for _ in 0..<5 {
                        let check = try await store.verifyAuditChain()
                        #expect(check.ok, "\(check.reason ?? "")")
                    }
                }
                try await group.waitForAll()
            }
            let final = try await store.verifyAuditChain()
            #expect(final.ok && final.entries == 80)
            let page = try await store.auditEntries(model: nil, limit: 1000, cursor: nil)
            #expect(Set(page.items.map(\.seq)) == Set(1...80))
        }
    }
}

/// Webhook delivery bookkeeping: events become deliveries in bulk, and a group commit of
/// attempts (the same delivery attempted twice in one batch included) numbers every attempt
/// and leaves each delivery in its last state.
@Suite struct WebhookDeliveryStoreConformanceTests {
    /// A subscription to `model.*`, then one model created per name (an event each).
    static func subscription(_ store: SQLMetadataStore, then models: [String]) async throws -> WebhookSubscription {
        let hook = try await store.createWebhook(url: "http://127.0.0.1:9/x", filter: try EventFilter(patterns: ["model.*"], scope: .registry),
                                                 format: .json, secret: "0123456789abcdef", change: MetadataHarness.admin)
        for name in models {
            _ = try await store.createModel(try ModelName(name), description: "", tags: [], change: MetadataHarness.admin)
        }
        return hook
    }

    @Test(arguments: MetadataHarness.backends)
    func attemptsRecordedInOneBatchAreNumberedAndSettleEachDelivery(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let hook = try await Self.subscription(store, then: ["acme/a", "acme/b", "acme/c"])
            let queued = try await store.enqueueDeliveries(now: 10, limit: 100)
            #expect(queued.events >= 3)
            #expect(queued.groups.map { "\($0.webhook) \($0.model)" } == ["acme/a", "acme/b", "acme/c"].map { "\(hook.id) \($0)" },
                    "each group once, in the order queued")
            let again = try await store.enqueueDeliveries(now: 10, limit: 100)
            #expect(again.events == 0 && again.groups.isEmpty, "the cursor moved past them")
            let a = try #require(try await store.pendingDeliveries(webhook: hook.id, model: "acme/a", limit: 10).first)
            let b = try #require(try await store.pendingDeliveries(webhook: hook.id, model: "acme/b", limit: 10).first)
            func attempt(_ status: DeliveryAttempt.Status, at: Int64, next: Int64) -> DeliveryAttempt {
                DeliveryAttempt(status: status, at: at, responseCode: status == .delivered ? 200 : 500, latencyMicros: 7, error: nil, nextAttemptAt: next)
            }
            // a fails, then is delivered, in the same batch; b fails once.
            try await store.recordAttempts([
                AttemptRecord(a, attempt(.failed, at: 20, next: 30), id: "a1"),
                AttemptRecord(b, attempt(.failed, at: 21, next: 1_000), id: "b1"),
                AttemptRecord(a, attempt(.delivered, at: 25, next: 25), id: "a2"),
            ])
            #expect(try await store.pendingDeliveries(webhook: hook.id, model: "acme/a", limit: 10).isEmpty, "a is delivered")
            let retried = try #require(try await store.pendingDeliveries(webhook: hook.id, model: "acme/b", limit: 10).first)
            #expect(retried.attempts == 1 && retried.firstAttemptAt == 21)
            #expect(try await store.dueDeliveryGroups(now: 500, limit: 10).map(\.model).sorted() == ["acme/c"], "b waits for its backoff")
            try await store.recordAttempts([AttemptRecord(retried, attempt(.dead, at: 1_000, next: 1_000), id: "b2")])
            #expect(try await store.pendingDeliveryCount() == 1)
            let attempts = try await store.deliveryAttempts(webhook: hook.id, limit: 10, cursor: nil).items
            #expect(attempts.map(\.attempt) == [2, 2, 1, 1])
            #expect(attempts.map(\.status) == ["dead", "delivered", "failed", "failed"])
        }
    }

    /// Sends straight from the outbox: a delivered one leaves only its attempt; a failed one
    /// gets a pending row (with its attempt counted), and so does the rest of its stream;
    /// the cursor moves only forward; a removed subscription's sends record nothing that
    /// refers to it where the tables are tied to `webhooks`.
    @Test(arguments: MetadataHarness.backends)
    func directSendsStoreRowsOnlyForWhatFailed(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let hook = try await Self.subscription(store, then: ["acme/a", "acme/b", "acme/b2"])
            let start = try #require(try await store.webhookCursors().first { $0.subscription.id == hook.id }?.cursor)
            let events = try await store.outboxEvents(after: start, limit: 10).filter { hook.takes($0) }
            #expect(events.map(\.model) == ["acme/a", "acme/b", "acme/b2"])
            let a = PendingDelivery.unsent(events[0], webhook: hook.id, now: 10), b = PendingDelivery.unsent(events[1], webhook: hook.id, now: 10)
            var behind = PendingDelivery.unsent(events[2], webhook: hook.id, now: 10)
            behind.model = "acme/b"
            try await store.recordAttempts([
                AttemptRecord(a, DeliveryAttempt(status: .delivered, at: 20, responseCode: 204, latencyMicros: 7, error: nil, nextAttemptAt: 20), id: "a1"),
                AttemptRecord(b, DeliveryAttempt(status: .failed, at: 21, responseCode: 500, latencyMicros: 7, error: "HTTP 500", nextAttemptAt: 900), id: "b1"),
            ], queue: [behind])
            #expect(try await store.pendingDeliveries(webhook: hook.id, model: "acme/a", limit: 10).isEmpty, "a delivered needs no row")
            let held = try await store.pendingDeliveries(webhook: hook.id, model: "acme/b", limit: 10)
            #expect(held.map(\.eventSeq) == [events[1].seq, events[2].seq] && held.allSatisfy(\.stored))
            #expect(held.first?.attempts == 1 && held.first?.firstAttemptAt == 21 && held.first?.nextAttemptAt == 900)
            #expect(held.last?.attempts == 0 && held.last?.firstAttemptAt == nil)
            #expect(try await store.heldStreams().map(\.model) == ["acme/b"])
            #expect(try await store.deliveryAttempts(webhook: hook.id, limit: 10, cursor: nil).items.map(\.status) == ["failed", "delivered"])
            // Paged newest first: each cursor continues after the last attempt of its page.
            let first = try await store.deliveryAttempts(webhook: hook.id, limit: 1, cursor: nil)
            #expect(first.items.map(\.status) == ["failed"])
            let cursor: String = try #require(first.nextCursor)
            let second = try await store.deliveryAttempts(webhook: hook.id, limit: 1, cursor: cursor)
            #expect(second.items.map(\.status) == ["delivered"] && second.nextCursor == nil)

            try await store.queueDeliveries([], cursors: [(hook.id, events[2].seq)], now: 30)
            try await store.queueDeliveries([], cursors: [(hook.id, events[0].seq)], now: 31)
            #expect(try await store.webhookCursors().first?.cursor == events[2].seq, "cursors never move back")

            try await store.deleteWebhook(id: hook.id, change: MetadataHarness.admin)
            let late = DeliveryAttempt(status: .failed, at: 40, responseCode: 500, latencyMicros: 7, error: nil, nextAttemptAt: 900)
            try await store.recordAttempts([AttemptRecord(a, late, id: "a2")], queue: [behind])
            try await store.queueDeliveries([behind], cursors: [(hook.id, events[2].seq)], now: 50)
        }
    }
}
