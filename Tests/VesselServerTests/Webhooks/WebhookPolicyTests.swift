import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import VesselCore
import VesselMetadata
@testable import VesselServer

@Suite struct WebhookPolicyTests {
    @Test func defaultPolicyRefusesInternalAddresses() throws {
        let policy = DestinationPolicy(allowed: [])
        for refused in ["127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.100.100.200", "0.0.0.0",
                        "::1", "fe80::1", "fd00:ec2::254", "fc00::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "224.0.0.1"] {
            #expect(policy.refusal(try #require(IPAddress.parse(refused))) != nil, "\(refused)")
        }
        for allowed in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
            #expect(policy.refusal(try #require(IPAddress.parse(allowed))) == nil, "\(allowed)")
        }
        let loopback = DestinationPolicy(allowed: [try CIDR("127.0.0.0/8")])
        #expect(loopback.refusal(try #require(IPAddress.parse("127.0.0.1"))) == nil)
        #expect(loopback.refusal(try #require(IPAddress.parse("169.254.169.254"))) != nil)
        #expect(loopback.refusal(try #require(IPAddress.parse("::1"))) != nil)
    }

    /// Host names are looked up on the resolver's own threads (not NIO's shared pool, where
    /// SQLite runs), once per TTL; literals and failures are never remembered.
    @Test func hostNamesAreLookedUpOffTheDatabasePoolOncePerTTL() async throws {
        let threads = Mutex<[String]>([])
        let lookup: @Sendable (String) throws -> [[UInt8]] = { host in
            let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?"
            threads.withLock { $0.append(name) }
            guard host == "hooks.example" else { throw VesselError.invalidArgument("webhook host '\(host)' does not resolve") }
            return [[93, 184, 216, 34]]
        }
        let resolver = HostResolver(ttl: .seconds(600), lookup: lookup)
        #expect(try await resolver.resolve("hooks.example") == [[93, 184, 216, 34]])
        #expect(try await resolver.resolve("hooks.example") == [[93, 184, 216, 34]])
        #expect(try await resolver.resolve("127.0.0.1") == [[127, 0, 0, 1]])
        await #expect(throws: VesselError.self) { try await resolver.resolve("missing.example") }
        await #expect(throws: VesselError.self) { try await resolver.resolve("missing.example") }
        #expect(threads.withLock { $0.count } == 3, "one lookup for the name within its TTL, none for a literal, each failure asked again")
        #expect(threads.withLock { $0.allSatisfy { !$0.hasPrefix("SGLTN") } }, "\(threads.withLock { $0 })")
        let expired = HostResolver(ttl: .zero, lookup: lookup)
        _ = try await expired.resolve("hooks.example")
        _ = try await expired.resolve("hooks.example")
        #expect(threads.withLock { $0.count } == 5, "asked again once the TTL passed")
    }

    @Test func cidrsParseStrictly() throws {
        #expect(try CIDR("10.0.0.0/8").contains([10, 200, 1, 1]))
        #expect(try !CIDR("10.0.0.0/8").contains([11, 0, 0, 1]))
        #expect(try CIDR("fd00::/8").contains(try #require(IPAddress.parse("fd12::1"))))
        for bad in ["", "10.0.0.0/33", "10.0.0/8", "::1/129", "host/8", "10.0.0.0/-1", "10.0.0.0/8/8"] {
            #expect(throws: VesselError.self, "\(bad)") { try CIDR(bad) }
        }
    }

    @Test func refusedDestinationsAreRejectedWhenSubscribing() async throws {
        try await APIHarness.with(configure: WebhookTesting.fast) { _, client in
            for url in ["http://169.254.169.254/latest/meta-data", "http://10.0.0.1/hook", "http://[::1]:9/hook",
                        "ftp://127.0.0.1/hook", "not a url", "http://user:pw@127.0.0.1/hook"] {
                try await client.execute(uri: "/api/v1/webhooks", method: .post, headers: APIHarness.auth, body: APIHarness.json(CreateWebhookRequest(url: url))) { response in
                    #expect(response.status == .badRequest, "\(url)")
                    #expect(APIHarness.errorCode(response) == "invalid_argument", "\(url)")
                }
            }
            for (events, scope) in [(["al*as"], "*"), ([""], "*"), (["*"], "acme"), (["*"], "Acme/*")] {
                try await client.execute(uri: "/api/v1/webhooks", method: .post, headers: APIHarness.auth,
                                         body: APIHarness.json(CreateWebhookRequest(url: "http://127.0.0.1:9/hook", events: events, scope: scope))) { response in
                    #expect(APIHarness.errorCode(response) == "invalid_argument", "\(events) \(scope)")
                }
            }
            try await client.execute(uri: "/api/v1/webhooks", method: .post, headers: APIHarness.auth,
                                     body: APIHarness.json(CreateWebhookRequest(url: "http://127.0.0.1:9/hook", secret: "short"))) { response in
                #expect(APIHarness.errorCode(response) == "invalid_argument")
            }
        }
    }

    @Test func filtersMatchTypesWithASuffixWildcardAndScopes() throws {
        let filter = try EventFilter(patterns: ["alias.*", "version.ready"], scope: try Scope("acme/*"))
        #expect(filter.matches(type: "alias.moved", model: "acme/m"))
        #expect(filter.matches(type: "version.ready", model: "acme/x"))
        #expect(!filter.matches(type: "version.created", model: "acme/m"))
        #expect(!filter.matches(type: "alias.moved", model: "acmecorp/m"))
        #expect(!filter.matches(type: "alias.moved", model: nil))
        #expect(try EventFilter(patterns: [], scope: .registry).matches(type: "anything", model: nil))
        #expect(try !EventFilter(patterns: ["*"], scope: try Scope("acme/m")).matches(type: "model.created", model: "acme/mm"))
    }

    /// Maintainers manage subscriptions on their own scope only; contributors none.
    @Test func maintainersManageTheirScopeOnly() async throws {
        try await APIHarness.with(configure: WebhookTesting.fast) { harness, client in
            let store = harness.registry.store
            var tokens: [String: String] = [:]
            for (name, role) in [("mia", Role.maintainer), ("carl", Role.contributor)] {
                _ = try await store.createPrincipal(name: name, kind: .user, change: WebhookTesting.system)
                _ = try await store.grant(principal: name, role: role, scope: try Scope("acme/*"), change: WebhookTesting.system)
                let token = "vsl_test-\(name)"
                _ = try await store.createToken(principal: name, name: nil, hash: Tokens.hash(token), expiresAt: nil, change: WebhookTesting.system)
                tokens[name] = token
            }
            let mia: HTTPFields = [.authorization: "Bearer \(tokens["mia"] ?? "")"]
            let carl: HTTPFields = [.authorization: "Bearer \(tokens["carl"] ?? "")"]
            let own = try await WebhookTesting.subscribe(client, CreateWebhookRequest(url: "http://127.0.0.1:9/a", scope: "acme/m"), headers: mia)
            let global = try await WebhookTesting.subscribe(client, CreateWebhookRequest(url: "http://127.0.0.1:9/b"))
            for (scope, headers) in [("*", mia), ("other/*", mia), ("acme/*", carl)] {
                try await client.execute(uri: "/api/v1/webhooks", method: .post, headers: headers,
                                         body: APIHarness.json(CreateWebhookRequest(url: "http://127.0.0.1:9/c", scope: scope))) { response in
                    #expect(response.status == .forbidden, "\(scope)")
                }
            }
            try await client.execute(uri: "/api/v1/webhooks", method: .get, headers: mia) { response in
                let ids = try APIHarness.decode(Page<WebhookInfo>.self, response).items.map(\.id)
                #expect(ids == [own.id])
            }
            try await client.execute(uri: "/api/v1/webhooks", method: .get, headers: APIHarness.auth) { response in
                let items = try APIHarness.decode(Page<WebhookInfo>.self, response).items
                #expect(Set(items.map(\.id)) == [own.id, global.id] && items.allSatisfy { $0.secret == nil })
            }
            for path in ["/api/v1/webhooks/\(global.id)/deliveries"] {
                try await client.execute(uri: path, method: .get, headers: mia) { #expect($0.status == .forbidden) }
            }
            try await client.execute(uri: "/api/v1/webhooks/\(global.id)", method: .delete, headers: mia) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/api/v1/webhooks/\(own.id)/test", method: .post, headers: carl) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/api/v1/webhooks/\(own.id)/test", method: .post, headers: mia) { #expect($0.status == .accepted) }
            try await client.execute(uri: "/api/v1/webhooks/\(own.id)", method: .delete, headers: mia) { #expect($0.status == .noContent) }
            try await client.execute(uri: "/api/v1/webhooks/\(own.id)", method: .delete, headers: APIHarness.auth) { #expect($0.status == .notFound) }
        }
    }

    /// Outbox retention keeps events some subscription has not seen or still has to deliver.
    @Test func retentionKeepsUndeliveredEvents() async throws {
        try await APIHarness.with(configure: WebhookTesting.fast) { harness, _ in
            let store = harness.registry.store
            let far = Int64.max / 2
            let hook = try await store.createWebhook(url: "http://127.0.0.1:9/x", filter: try EventFilter(patterns: ["model.*"], scope: .registry), format: .json, secret: "0123456789abcdef", change: WebhookTesting.system)
            _ = try await store.createModel(try ModelName("acme/m"), description: "", tags: [], change: WebhookTesting.system)
            _ = try await store.createModel(try ModelName("acme/n"), description: "", tags: [], change: WebhookTesting.system)
            #expect(try await store.purgeEvents(before: far, limit: 100) == 0, "not yet looked at")
            // As the delivery service leaves two streams held back by failures: a pending row
            // for each event, the cursor past both.
            let start = try #require(try await store.webhookCursors().first { $0.subscription.id == hook.id }?.cursor)
            let events = try await store.outboxEvents(after: start, limit: 100).filter { hook.takes($0) }
            try #require(events.map(\.model) == ["acme/m", "acme/n"])
            try await store.queueDeliveries(events.map { .unsent($0, webhook: hook.id, now: 0) }, cursors: [(hook.id, events[1].seq)], now: 0)
            #expect(try await store.purgeEvents(before: far, limit: 100) == 0, "pending")
            let pending = try await store.pendingDeliveries(webhook: hook.id, model: "acme/m", limit: 10)
            #expect(pending.count == 1)
            try await store.recordAttempts(pending.enumerated().map { index, delivery in
                AttemptRecord(delivery, DeliveryAttempt(status: .delivered, at: 1, responseCode: 200, latencyMicros: 5, error: nil, nextAttemptAt: 1), id: "a\(index)")
            }, queue: [])
            #expect(try await store.purgeEvents(before: far, limit: 100) == 1, "only the delivered event goes")
            #expect(try await store.eventCount() == 1)
        }
    }

    /// A host name's deliveries connect to the address that was checked: the same answer
    /// keeps its client, a changed answer (rebinding) gets a client pinned to the new one.
    @Test func hostNamesArePinnedToTheCheckedAddress() async throws {
        let sender = WebhookSender(policy: DestinationPolicy(allowed: []), options: WebhookOptions())
        let url = try #require(URL(string: "https://hooks.example/x"))
        let first = sender.client(for: .init(url: url, host: "hooks.example", addresses: [[203, 0, 113, 7]]))
        #expect(first !== sender.http)
        #expect(sender.client(for: .init(url: url, host: "hooks.example", addresses: [[203, 0, 113, 7]])) === first)
        let moved = sender.client(for: .init(url: url, host: "hooks.example", addresses: [[198, 51, 100, 1]]))
        #expect(moved !== first && moved !== sender.http)
        let literal = sender.client(for: .init(url: url, host: "203.0.113.9", addresses: [[203, 0, 113, 9]]))
        #expect(literal === sender.http)
        await sender.shutdown()
    }

    /// End to end through a name: `localhost` is resolved, checked, and the pinned client
    /// delivers to the checked address.
    @Test func deliveriesToAHostNameArrive() async throws {
        try await WebhookReceiver.with { receiver in
            try await APIHarness.with(configure: { options in
                WebhookTesting.fast(&options)
                options.webhooks.allowedNetworks += (try? CIDR("::1/128")).map { [$0] } ?? []
            }) { harness, client in
                let url = receiver.url.replacingOccurrences(of: "127.0.0.1", with: "localhost")
                _ = try await WebhookTesting.subscribe(client, CreateWebhookRequest(url: url, events: ["model.*"]))
                try await WebhookTesting.delivering(harness.registry) {
                    _ = try await harness.registry.store.createModel(try ModelName("acme/named"), description: "", tags: [], change: WebhookTesting.system)
                    try await receiver.wait { $0.count >= 1 }
                }
                #expect(receiver.accepted.first?.json?["model"] as? String == "acme/named")
            }
        }
    }
}
