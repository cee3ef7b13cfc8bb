import Foundation
import Testing
import VesselCore
@testable import VesselMetadata

/// The node store's contract (issue 24), on every backend in `MetadataHarness.backends`.
@Suite struct NodeConformanceTests {
    let model = try! ModelName("acme/m")
    let env = try! AliasName("prod-eu")

    /// Versions 1 and 2 of `model`; version 1 deployed (live in blue), version 2 rolling out into green.
    func deployTwo(_ store: SQLMetadataStore) async throws -> DeploymentInfo {
        for index in 1...2 {
            let manifest = try MetadataHarness.manifest([("w\(index).safetensors", UInt8(index))])
            for entry in manifest.entries { try await store.recordBlob(entry.digest, size: entry.size) }
            let draft = try await store.createDraft(model: model, manifest: manifest, digest: MetadataHarness.digest(UInt8(100 + index)), description: "", change: MetadataHarness.admin)
            _ = try await store.commitDraft(model: model, draftID: draft, findings: [], analysis: VersionAnalysis(), change: MetadataHarness.admin)
        }
        _ = try await store.deploy(DeployAttempt(model: model, env: env, version: 1, plan: DeploymentPlan(), role: .admin), change: MetadataHarness.admin)
        let result = try await store.deploy(DeployAttempt(model: model, env: env, version: 2, plan: DeploymentPlan(), role: .admin), change: MetadataHarness.admin)
        return try #require(result.deployment)
    }

    func report(_ slot: NodeSlot, _ digest: Digest?, version: Int?, state: NodeState = .inSync) -> NodeReportRequest {
        NodeReportRequest(slot: slot.rawValue, digest: digest, version: version, state: state.rawValue, message: "hello")
    }

    /// A report makes the node, answers its record with the slot's desired version, and a later
    /// report by the same principal replaces it; nothing is audited or announced.
    @Test(arguments: MetadataHarness.backends)
    func aReportRecordsTheNodeWithoutAuditOrEvent(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let deployment = try await deployTwo(store)
            let blue = try #require(deployment.slots.blue), green = try #require(deployment.slots.green)
            let eventsBefore = try await store.outboxEvents(after: 0, limit: 1000).count
            let auditBefore = try await store.auditEntries(model: model, limit: 1000, cursor: nil).items.count

            let first = try await store.reportNode(model: model, env: env, node: "node-1:a", report(.live, blue.digest, version: 1), principal: "agent")
            #expect(first.node == "node-1:a" && first.kind == .agent && first.slot == .live)
            #expect(first.desired == NodeVersion(version: 1, digest: blue.digest))
            #expect(first.actual == NodeVersion(version: 1, digest: blue.digest))
            #expect(first.reportedState == "in_sync" && first.message == "hello" && first.lastSeen != nil)
            #expect(first.drift == nil && first.since == nil)

            // A green node that serves nothing yet.
            let idle = try await store.reportNode(model: model, env: env, node: "node-2", report(.green, nil, version: nil, state: .downloading), principal: "agent")
            #expect(idle.desired == NodeVersion(version: 2, digest: green.digest) && idle.actual == nil && idle.reportedState == "downloading")

            let again = try await store.reportNode(model: model, env: env, node: "node-1:a", report(.blue, blue.digest, version: 1, state: .error), principal: "agent")
            #expect(again.slot == .blue && again.reportedState == "error")

            let nodes = try await store.nodes(model: model, env: env)
            #expect(nodes.map(\.node) == ["node-1:a", "node-2"])
            #expect(try await store.outboxEvents(after: 0, limit: 1000).count == eventsBefore)
            #expect(try await store.auditEntries(model: model, limit: 1000, cursor: nil).items.count == auditBefore)
        }
    }

    /// The principal that first reported a node owns it; another one is refused.
    @Test(arguments: MetadataHarness.backends)
    func aNodeBelongsToItsFirstReporter(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let deployment = try await deployTwo(store)
            let digest = try #require(deployment.slots.blue).digest
            _ = try await store.reportNode(model: model, env: env, node: "n1", report(.live, digest, version: 1), principal: "alice")
            await expectCode(.forbidden) {
                _ = try await store.reportNode(model: model, env: env, node: "n1", report(.live, nil, version: nil, state: .idle), principal: "mallory")
            }
            let record = try #require(try await store.nodes(model: model, env: env).first)
            #expect(record.actual?.digest == digest && record.reportedState == "in_sync")
        }
    }

    /// Bad names and reports are `invalid_argument`; an environment without a deployment is `not_found`.
    @Test(arguments: MetadataHarness.backends)
    func badReportsAndUnknownDeploymentsAreRefused(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            _ = try await deployTwo(store)
            for name in ["", "a/b", "a b", String(repeating: "n", count: 129), "é"] {
                await expectCode(.invalidArgument) {
                    _ = try await store.reportNode(model: model, env: env, node: name, report(.live, nil, version: nil, state: .idle), principal: "a")
                }
            }
            _ = try await store.reportNode(model: model, env: env, node: String(repeating: "n", count: 128), report(.live, nil, version: nil, state: .idle), principal: "a")
            await expectCode(.invalidArgument) {
                _ = try await store.reportNode(model: model, env: env, node: "n", NodeReportRequest(slot: "purple", digest: nil, version: nil, state: "idle"), principal: "a")
            }
            await expectCode(.invalidArgument) {
                _ = try await store.reportNode(model: model, env: env, node: "n", NodeReportRequest(slot: "live", digest: nil, version: nil, state: "sleeping"), principal: "a")
            }
            await expectCode(.notFound) {
                _ = try await store.reportNode(model: model, env: try AliasName("staging"), node: "n", report(.live, nil, version: nil, state: .idle), principal: "a")
            }
            await expectCode(.notFound) { _ = try await store.nodes(model: model, env: try AliasName("staging")) }
        }
    }

    /// Endpoints are configuration: added and removed with audit entries, listed with the nodes.
    @Test(arguments: MetadataHarness.backends)
    func endpointsAreAddedListedAndRemovedWithAudit(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let deployment = try await deployTwo(store)
            let added = try await store.addEndpoint(model: model, env: env, url: "https://serve.example.com", slot: .green, change: MetadataHarness.admin)
            #expect(added.url == "https://serve.example.com" && added.slot == .green && added.addedBy == "admin")
            #expect(added.desired?.digest == deployment.slots.green?.digest && added.actual == nil && added.drift == nil)
            await expectCode(.alreadyExists) {
                _ = try await store.addEndpoint(model: model, env: env, url: "https://serve.example.com", slot: .live, change: MetadataHarness.admin)
            }
            #expect(try await store.endpoints(model: model, env: env).map(\.url) == ["https://serve.example.com"])
            let nodes = try await store.nodes(model: model, env: env)
            #expect(nodes.map(\.kind) == [.endpoint] && nodes.first?.node == "https://serve.example.com")
            try await store.removeEndpoint(model: model, env: env, url: "https://serve.example.com", change: MetadataHarness.admin)
            await expectCode(.notFound) { try await store.removeEndpoint(model: model, env: env, url: "https://serve.example.com", change: MetadataHarness.admin) }
            #expect(try await store.endpoints(model: model, env: env).isEmpty)
            let actions = try await store.auditEntries(model: model, limit: 1000, cursor: nil).items.map(\.action)
            #expect(actions.filter { $0.hasPrefix("deployment.endpoint.") } == ["deployment.endpoint.add", "deployment.endpoint.remove"])
        }
    }

    /// The drift store on every backend: endpoint polls recorded, verdicts judged once with their events.
    @Test(arguments: MetadataHarness.backends)
    func driftVerdictsAreRecordedOnceWithTheirEvents(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let deployment = try await deployTwo(store)
            let blue = try #require(deployment.slots.blue)
            _ = try await store.reportNode(model: model, env: env, node: "n1", report(.live, blue.digest, version: 1), principal: "agent")
            _ = try await store.addEndpoint(model: model, env: env, url: "https://a.example.com", slot: .green, change: MetadataHarness.admin)
            let targets = try await store.endpointTargets()
            #expect(targets == [EndpointTarget(model: model, env: "prod-eu", url: "https://a.example.com")])
            try await store.recordEndpointPolls([(targets[0], .serving(digest: blue.digest, version: 1, state: "in_sync"))], now: Timestamp.micros(Date()))
            let policy = DriftPolicy(grace: 60_000_000, staleAfter: 30_000_000)
            let now = Timestamp.micros(Date())
            var round = try await store.judgeDrift(now: now, policy: policy)
            #expect(round.transitions == 1 && round.drifted == ["acme/m prod-eu": 0], "n1 in sync; the endpoint differs, within the grace")
            round = try await store.judgeDrift(now: now + 61_000_000, policy: policy)
            // n1 went silent (stale); the endpoint serves blue's digest on green: drifted after the grace.
            #expect(round.transitions == 2 && round.drifted == ["acme/m prod-eu": 1])
            #expect(try await store.judgeDrift(now: now + 62_000_000, policy: policy).transitions == 0)
            let nodes = try await store.nodes(model: model, env: env)
            #expect(nodes.map { "\($0.node) \($0.drift?.rawValue ?? "-")" } == ["n1 stale", "https://a.example.com drifted"])
            try await store.recordEndpointPolls([(targets[0], .unreachable("timed out"))], now: now + 63_000_000)
            _ = try await store.judgeDrift(now: now + 63_000_000, policy: policy)
            let endpoint = try #require(try await store.endpoints(model: model, env: env).first)
            #expect(endpoint.drift == .unreachable && endpoint.message == "timed out")
            let events = try await store.outboxEvents(after: 0, limit: 1000).filter { $0.type.hasPrefix("deployment.drift") || $0.type == "deployment.in_sync" }
            #expect(events.map { "\($0.payload["node"] ?? "") \($0.payload["drift"] ?? "")" }.sorted() == ["https://a.example.com drifted", "https://a.example.com unreachable", "n1 stale"])
        }
    }
}
