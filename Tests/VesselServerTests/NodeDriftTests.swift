import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer

/// The drift job (issue 24): endpoints polled at `/health/version`, agents judged by their
/// reports, `drifted` after the grace, `stale` after three silent intervals, `unreachable`, the
/// events and the gauge. Rounds run by hand on a test clock (`runOnce`), so nothing depends on
/// the machine's speed; `theJobRunsOnItsOwnAtItsInterval` runs the real loop.
@Suite struct NodeDriftTests {
    static let base = NodeReportAPITests.base
    static let model = try! ModelName("acme/m")
    static let env = try! AliasName("prod-eu")
    static let loopback = try! CIDR("127.0.0.0/8")

    static func driftJob(_ harness: APIHarness) throws -> (BackgroundJobs, BackgroundJob) {
        let jobs = harness.registry.backgroundJobs(logger: Logger(label: "test"))
        return (jobs, try #require(jobs.jobs.first { $0.name == "drift" }))
    }

    static func nodes(_ client: any TestClientProtocol) async throws -> [NodeRecord] {
        try await client.execute(uri: "\(base)/nodes", method: .get, headers: APIHarness.auth) { response in
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            return try APIHarness.decode(Page<NodeRecord>.self, response).items
        }
    }

    static func driftEvents(_ harness: APIHarness) async throws -> [OutboxEvent] {
        try await harness.registry.store.outboxEvents(after: 0, limit: 1000).filter { $0.type == "deployment.drift" || $0.type == "deployment.in_sync" }
    }

    static func addEndpoint(_ client: any TestClientProtocol, _ url: String, slot: String? = nil) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await client.execute(uri: "\(base)/endpoints", method: .post, headers: APIHarness.auth + [.contentType: "application/json"],
                                 body: APIHarness.json(AddEndpointRequest(url: url, slot: slot))) { response in
            (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
        }
    }

    /// Version 2 rolled out to completion: live flips to green.
    static func completeVersionTwo(_ client: any TestClientProtocol) async throws -> DeploymentInfo {
        _ = try await DeploymentAPITests.post(client, base, DeployRequest(version: 2, steps: [100]))
        let (status, object, result) = try await DeploymentAPITests.post(client, "\(base)/advance", DeploymentChangeRequest())
        #expect(status == .ok && result?.deployment?.status == .completed, "\(object)")
        return try #require(result?.deployment)
    }

    @Test func anEndpointOnTheOldDigestDriftsAfterTheGraceAndComesBack() async throws {
        let clock = TestClock()
        try await VersionEndpoint.with { endpoint in
            try await APIHarness.with(configure: { $0.webhooks.allowedNetworks = [Self.loopback]; $0.driftGrace = .seconds(60) }, clock: clock.closure) { harness, client in
                let first = try await NodeReportAPITests.deployOne(client)
                let old = try #require(first.slots.blue)
                endpoint.answer(.serving(old.digest, version: 1))
                let (status, object) = try await Self.addEndpoint(client, endpoint.url)
                #expect(status == .created, "\(object)")
                #expect(object["url"] as? String == endpoint.url && object["slot"] as? String == "live" && object["added_by"] as? String == "admin")
                let (jobs, drift) = try Self.driftJob(harness)

                #expect(await jobs.runOnce(drift) == .ran(1))
                var node = try #require(try await Self.nodes(client).first)
                #expect(node.kind == .endpoint && node.drift == .inSync && node.actual == NodeVersion(version: 1, digest: old.digest) && node.reportedState == "in_sync")
                #expect(try await Self.driftEvents(harness).isEmpty, "a first verdict of in_sync is not announced")

                // The rollout completes; the endpoint keeps serving version 1.
                let second = try await Self.completeVersionTwo(client)
                let new = try #require(second.slots.green)
                #expect(await jobs.runOnce(drift) == .ran(0), "the difference is seen: the grace starts")
                clock.advance(seconds: 59)
                #expect(await jobs.runOnce(drift) == .ran(0), "within the grace nothing changes")
                node = try #require(try await Self.nodes(client).first)
                #expect(node.drift == .inSync && node.desired?.digest == new.digest && node.actual?.digest == old.digest)

                clock.advance(seconds: 2)
                #expect(await jobs.runOnce(drift) == .ran(1))
                node = try #require(try await Self.nodes(client).first)
                #expect(node.drift == .drifted && node.since != nil)
                var events = try await Self.driftEvents(harness)
                #expect(events.map(\.type) == ["deployment.drift"])
                let payload = try #require(events.first?.payload)
                #expect(payload["node"] == endpoint.url && payload["env"] == "prod-eu" && payload["drift"] == "drifted" && payload["kind"] == "endpoint")
                #expect(payload["desired"] == new.digest.description && payload["actual"] == old.digest.description && payload["desired_version"] == "2")
                try await Self.expectGauge(client, 1)
                #expect(await jobs.runOnce(drift) == .ran(0), "a verdict is announced once")

                endpoint.answer(.serving(new.digest, version: nil))
                clock.advance(seconds: 10)
                #expect(await jobs.runOnce(drift) == .ran(1))
                node = try #require(try await Self.nodes(client).first)
                #expect(node.drift == .inSync && node.actual == NodeVersion(version: nil, digest: new.digest))
                events = try await Self.driftEvents(harness)
                #expect(events.map(\.type) == ["deployment.drift", "deployment.in_sync"])
                #expect(events.last?.payload["actual"] == new.digest.description && events.last?.payload["previous"] == "drifted")
                try await Self.expectGauge(client, 0)
            }
        }
    }

    static func expectGauge(_ client: any TestClientProtocol, _ value: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let text = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
        let line = text.split(separator: "\n").first { $0.hasPrefix("vessel_deployment_drifted_nodes{") && $0.contains("acme/m") && $0.contains("prod-eu") }
        #expect(line.map { $0.hasSuffix(" \(value)") || $0.hasSuffix(" \(value).0") } == true, "\(line.map(String.init) ?? "no drifted gauge")", sourceLocation: sourceLocation)
    }

    @Test func aNodeThatStopsReportingGoesStaleAndComesBack() async throws {
        let clock = TestClock()
        try await APIHarness.with(configure: { $0.driftInterval = .seconds(10) }, clock: clock.closure) { harness, client in
            let deployment = try await NodeReportAPITests.deployOne(client)
            let digest = try #require(deployment.slots.blue).digest
            let report = NodeReportRequest(slot: "live", digest: digest, version: 1, state: "in_sync")
            #expect(try await NodeReportAPITests.report(client, "gpu-1", report).0 == .ok)
            let (jobs, drift) = try Self.driftJob(harness)
            #expect(await jobs.runOnce(drift) == .ran(1))
            #expect(try await Self.nodes(client).first?.drift == .inSync)

            clock.advance(seconds: 29)
            #expect(await jobs.runOnce(drift) == .ran(0), "silent for less than three intervals")
            clock.advance(seconds: 2)
            #expect(await jobs.runOnce(drift) == .ran(1))
            let stale = try #require(try await Self.nodes(client).first)
            #expect(stale.drift == .stale && stale.reportedState == "in_sync")
            #expect(try await Self.driftEvents(harness).map { "\($0.type) \($0.payload["drift"] ?? "")" } == ["deployment.drift stale"])

            #expect(try await NodeReportAPITests.report(client, "gpu-1", report).0 == .ok)
            #expect(await jobs.runOnce(drift) == .ran(1))
            #expect(try await Self.nodes(client).first?.drift == .inSync)
            #expect(try await Self.driftEvents(harness).map(\.type) == ["deployment.drift", "deployment.in_sync"])
        }
    }

    /// Agents on a blue/green slot follow that pool; an empty pool wants nothing.
    @Test func slotsFollowTheirPoolAndAnEmptyPoolWantsNothing() async throws {
        let clock = TestClock()
        try await APIHarness.with(configure: { $0.driftGrace = .seconds(60) }, clock: clock.closure) { harness, client in
            _ = try await NodeReportAPITests.deployOne(client)
            #expect(try await NodeReportAPITests.report(client, "green-idle", NodeReportRequest(slot: "green", digest: nil, version: nil, state: "idle")).0 == .ok)
            let wrong = try await harness.registry.store.deployment(model: Self.model, env: Self.env).slots.blue
            #expect(try await NodeReportAPITests.report(client, "green-wrong", NodeReportRequest(slot: "green", digest: wrong?.digest, version: 1, state: "in_sync")).0 == .ok)
            let (jobs, drift) = try Self.driftJob(harness)
            _ = await jobs.runOnce(drift)
            clock.advance(seconds: 61)
            #expect(try await NodeReportAPITests.report(client, "green-idle", NodeReportRequest(slot: "green", digest: nil, version: nil, state: "idle")).0 == .ok)
            #expect(try await NodeReportAPITests.report(client, "green-wrong", NodeReportRequest(slot: "green", digest: wrong?.digest, version: 1, state: "in_sync")).0 == .ok)
            _ = await jobs.runOnce(drift)
            let nodes = try await Self.nodes(client)
            #expect(nodes.map { "\($0.node) \($0.drift?.rawValue ?? "-")" } == ["green-idle in_sync", "green-wrong drifted"])
            #expect(nodes.first?.desired == nil)
        }
    }

    @Test func theDestinationPolicyGuardsEndpointsAtAddAndAtPoll() async throws {
        try await VersionEndpoint.with { endpoint in
            endpoint.answer(.serving(VesselCore.Digest(bytes: [UInt8](repeating: 1, count: 32)), version: 1))
            try await APIHarness.with { harness, client in
                _ = try await NodeReportAPITests.deployOne(client)
                for url in ["http://169.254.169.254/latest", endpoint.url, "http://10.0.0.5:8000", "ftp://example.com", "http://user:pw@example.com"] {
                    let (status, object) = try await Self.addEndpoint(client, url)
                    #expect(status == .badRequest && DeploymentAPITests.code(object) == "invalid_argument", "\(url): \(object)")
                }
                let (status, object) = try await Self.addEndpoint(client, "https://example.com", slot: "purple")
                #expect(status == .badRequest, "\(object)")
                // An endpoint stored when loopback was allowed, polled by a replica that no longer allows it.
                _ = try await harness.registry.store.addEndpoint(model: Self.model, env: Self.env, url: endpoint.url, slot: .live, change: ChangeContext(actor: "admin", requestID: nil))
                let (jobs, drift) = try Self.driftJob(harness)
                #expect(await jobs.runOnce(drift) == .ran(1))
                let node = try #require(try await Self.nodes(client).first)
                #expect(node.drift == .unreachable && node.message?.contains("refused") == true, "\(String(describing: node.message))")
                #expect(endpoint.requests == 0, "a refused endpoint is never contacted")
                #expect(try await Self.driftEvents(harness).first?.payload["drift"] == "unreachable")
            }
        }
    }

    @Test func unreadableAnswersAreUnreachable() async throws {
        try await VersionEndpoint.with { endpoint in
            try await APIHarness.with(configure: { $0.webhooks.allowedNetworks = [Self.loopback] }) { harness, client in
                _ = try await NodeReportAPITests.deployOne(client)
                #expect(try await Self.addEndpoint(client, endpoint.url).0 == .created)
                let (jobs, drift) = try Self.driftJob(harness)
                let cases: [(VersionEndpoint.Answer, String)] = [
                    (.status(503), "HTTP 503"), (.oversized(70 << 10), "64 KiB"), (.body("not json"), "JSON"), (.body(#"{"version": 3}"#), "no digest"),
                ]
                for (answer, message) in cases {
                    endpoint.answer(answer)
                    _ = await jobs.runOnce(drift)
                    let node = try #require(try await Self.nodes(client).first)
                    #expect(node.drift == .unreachable && node.message?.contains(message) == true, "\(String(describing: node.message))")
                }
                let listed = try await client.execute(uri: "\(Self.base)/endpoints", method: .get, headers: APIHarness.auth) { try APIHarness.decode(Page<EndpointInfo>.self, $0).items }
                #expect(listed.map(\.url) == [endpoint.url] && listed.first?.drift == .unreachable)
                let removed = try await client.execute(uri: "\(Self.base)/endpoints?url=\(endpoint.url.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")", method: .delete, headers: APIHarness.auth) { $0.status }
                #expect(removed == .noContent)
                #expect(try await Self.nodes(client).isEmpty)
            }
        }
    }

    /// The real loop, at a 200 ms interval: a node that stops reporting turns stale on its own.
    @Test func theJobRunsOnItsOwnAtItsInterval() async throws {
        try await APIHarness.with(configure: { $0.driftInterval = .milliseconds(200); $0.driftGrace = .seconds(1) }) { harness, client in
            _ = try await NodeReportAPITests.deployOne(client)
            #expect(try await NodeReportAPITests.report(client, "gpu-1", NodeReportRequest(slot: "live", digest: nil, version: nil, state: "idle")).0 == .ok)
            let jobs = harness.registry.backgroundJobs(logger: Logger(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await jobs.run() }
                // Generous bound: this only tells "runs by itself" from "never runs" on a loaded machine.
                let deadline = ContinuousClock.now + .seconds(60)
                var seen: [DriftState?] = []
                while ContinuousClock.now < deadline {
                    let drift = try await Self.nodes(client).first?.drift
                    if seen.last != drift { seen.append(drift) }
                    if drift == .stale { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                group.cancelAll()
                #expect(seen.last == .stale, "\(seen)")
            }
        }
    }
}
