import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import VesselCore
import VesselMetadata
@testable import VesselServer

@Suite struct HotReadCacheTests {
    static let model = try! ModelName("acme/m")
    static let alias = try! AliasName("prod")

    final class Loads: Sendable {
        let count = Atomic<Int>(0)
        func next(_ version: Int) -> ResolvedAlias {
            count.add(1, ordering: .relaxed)
            return ResolvedAlias(model: HotReadCacheTests.model, alias: "prod", version: version, digest: VesselCore.Digest(bytes: [UInt8](repeating: 0, count: 32)))
        }
    }

    @Test func answersFromMemoryUntilInvalidatedOrExpired() async throws {
        let clock = Mutex(ContinuousClock.now)
        let cache = HotReadCache(lifetime: .milliseconds(200), now: { clock.withLock { $0 } })
        let loads = Loads()
        for _ in 0..<5 {
            let value = try await cache.alias(Self.model, Self.alias) { loads.next(1) }
            #expect(value.value.version == 1)
        }
        #expect(loads.count.load(ordering: .relaxed) == 1)
        cache.invalidate()
        #expect(try await cache.alias(Self.model, Self.alias) { loads.next(2) }.value.version == 2)
        clock.withLock { $0 += .milliseconds(199) }
        #expect(try await cache.alias(Self.model, Self.alias) { loads.next(3) }.value.version == 2, "still within the lifetime")
        clock.withLock { $0 += .milliseconds(2) }
        #expect(try await cache.alias(Self.model, Self.alias) { loads.next(3) }.value.version == 3)
        #expect(loads.count.load(ordering: .relaxed) == 3)
    }

    @Test func failuresAreNotCachedAndZeroLifetimeTurnsItOff() async throws {
        let cache = HotReadCache(lifetime: .seconds(60))
        await #expect(throws: VesselError.self) {
            try await cache.alias(Self.model, Self.alias) { throw VesselError.notFound("no alias") }
        }
        #expect(try await cache.alias(Self.model, Self.alias) { Loads().next(7) }.value.version == 7)
        let off = HotReadCache(lifetime: .zero)
        let loads = Loads()
        for version in 1...3 {
            #expect(try await off.alias(Self.model, Self.alias) { loads.next(version) }.value.version == version)
        }
    }

    /// An answer loaded before a write finishes must not be put back after the write cleared the cache.
    @Test func concurrentMissesShareOneLoadButNotAcrossAWrite() async throws {
        let cache = HotReadCache(lifetime: .seconds(60))
        let loads = Loads()
        let gate = AsyncStream<Void>.makeStream()
        // Twenty requests miss at once: one loads (held open by the gate), the others wait for it.
        async let first = withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await cache.alias(Self.model, Self.alias) {
                        var iterator = gate.stream.makeAsyncIterator()
                        _ = await iterator.next()
                        return loads.next(1)
                    }.value.version
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        // Until the leader is loading and the other nineteen wait for it.
        while cache.waiting < 19 { try await Task.sleep(for: .milliseconds(5)) }
        // A write meanwhile: a request that starts after it does not join the older load.
        cache.invalidate()
        let after = try await cache.alias(Self.model, Self.alias) { loads.next(2) }
        #expect(after.value.version == 2)
        gate.continuation.finish()
        #expect(try await first == [Int](repeating: 1, count: 20))
        #expect(loads.count.load(ordering: .relaxed) == 2)
        // The load that began before the write was not cached; the one after it was.
        #expect(try await cache.alias(Self.model, Self.alias) { loads.next(3) }.value.version == 2)
    }

    @Test func aReadInFlightDuringAWriteDoesNotRefillTheCache() async throws {
        let cache = HotReadCache(lifetime: .seconds(60))
        let stale = try await cache.alias(Self.model, Self.alias) { () async throws -> ResolvedAlias in
            cache.invalidate()   // the write lands while this read is loading
            return Loads().next(1)
        }
        #expect(stale.value.version == 1)
        #expect(try await cache.alias(Self.model, Self.alias) { Loads().next(2) }.value.version == 2)
    }

    static func resolve(_ client: any TestClientProtocol) async throws -> Int {
        try await client.execute(uri: "/api/v1/models/acme/m/aliases/prod/resolve", method: .get, headers: APIHarness.auth) { response in
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            return try APIHarness.decode(ResolvedAlias.self, response).version
        }
    }

    static func setAlias(_ client: any TestClientProtocol, _ alias: String, _ version: Int) async throws {
        try await client.execute(uri: "/api/v1/models/acme/m/aliases/\(alias)", method: .put, headers: APIHarness.auth,
                                 body: try APIHarness.json(SetAliasRequest(version: version))) { response in
            #expect(response.status == .ok, "\(String(buffer: response.body))")
        }
    }

    /// Through the API: a write through this replica is read back at once, while a change that
    /// bypasses it (as one through another replica does) is served from memory until the
    /// lifetime ends or a local write clears the cache.
    @Test func localWritesAreReadBackAtOnceOtherReplicasWithinTheLifetime() async throws {
        try await APIHarness.with(configure: { $0.readCacheLifetime = .seconds(30) }) { harness, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["a.json": Array("1".utf8)])
            _ = try await APIHarness.push(client, model: "acme/m", files: ["a.json": Array("2".utf8)])
            for version in [1, 2, 1, 2] {
                try await Self.setAlias(client, "prod", version)
                #expect(try await Self.resolve(client) == version, "read your own write")
            }
            // Another replica moves the alias: this one still answers from memory…
            let attempt = PromotionAttempt(model: Self.model, alias: Self.alias, version: 1, mode: .set, role: .admin)
            _ = try await harness.registry.store.promote(attempt, change: ChangeContext(actor: "admin", requestID: nil))
            #expect(try await Self.resolve(client) == 2, "served from memory within the lifetime")
            // …until any write through it clears the cache.
            try await Self.setAlias(client, "other", 2)
            #expect(try await Self.resolve(client) == 1)
        }
        try await APIHarness.with(configure: { $0.readCacheLifetime = .milliseconds(100) }) { harness, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["a.json": Array("1".utf8)])
            _ = try await APIHarness.push(client, model: "acme/m", files: ["a.json": Array("2".utf8)])
            try await Self.setAlias(client, "prod", 2)
            #expect(try await Self.resolve(client) == 2)
            let attempt = PromotionAttempt(model: Self.model, alias: Self.alias, version: 1, mode: .set, role: .admin)
            _ = try await harness.registry.store.promote(attempt, change: ChangeContext(actor: "admin", requestID: nil))
            // Generous bound: this only tells "expires" from "never expires" on a stalled machine.
            let deadline = ContinuousClock.now + .seconds(60)
            while try await Self.resolve(client) != 1 {
                guard ContinuousClock.now < deadline else {
                    Issue.record("the other replica's change never showed")
                    break
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// A revoked grant takes effect at once through the replica that revoked it.
    @Test func aRevokedRoleIsRefusedAtOnce() async throws {
        try await APIHarness.with(configure: { $0.readCacheLifetime = .seconds(30) }) { harness, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["a.json": Array("1".utf8)])
            let store = harness.registry.store
            let system = ChangeContext(actor: "admin", requestID: nil)
            _ = try await store.createPrincipal(name: "reader", kind: .user, change: system)
            let secret = "vsl_reader-token-for-cache-test"
            _ = try await store.createToken(principal: "reader", name: nil, hash: Tokens.hash(secret), expiresAt: nil, change: system)
            try await client.execute(uri: "/api/v1/grants", method: .post, headers: APIHarness.auth,
                                     body: try APIHarness.json(GrantRequest(principal: "reader", role: .viewer, scope: "acme/*"))) { #expect($0.status == .created || $0.status == .ok) }
            let reader: HTTPFields = [.authorization: "Bearer \(secret)"]
            try await client.execute(uri: "/api/v1/models/acme/m", method: .get, headers: reader) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/grants/revoke", method: .post, headers: APIHarness.auth,
                                     body: try APIHarness.json(GrantRequest(principal: "reader", role: .viewer, scope: "acme/*"))) { #expect($0.status.code < 300) }
            try await client.execute(uri: "/api/v1/models/acme/m", method: .get, headers: reader) { #expect($0.status == .forbidden) }
        }
    }
}
