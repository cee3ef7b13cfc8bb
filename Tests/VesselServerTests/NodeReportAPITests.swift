import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer

/// Node reports through the HTTP API (issue 24): the record, ownership, names, permissions, and
/// that a report leaves the read cache alone.
@Suite struct NodeReportAPITests {
    static let base = "/api/v1/models/acme/m/deployments/prod-eu"

    /// Two versions of acme/m, version 1 deployed into prod-eu (live in blue); the deployment.
    static func deployOne(_ client: any TestClientProtocol) async throws -> DeploymentInfo {
        try await DeploymentAPITests.push(client, 2)
        let (status, object, result) = try await DeploymentAPITests.post(client, base, DeployRequest(version: 1))
        #expect(status == .ok, "\(object)")
        return try #require(result?.deployment)
    }

    static func report(_ client: any TestClientProtocol, _ node: String, _ body: NodeReportRequest, _ headers: HTTPFields = APIHarness.auth) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await client.execute(uri: "\(base)/nodes/\(node)", method: .put, headers: headers + [.contentType: "application/json"], body: APIHarness.json(body)) { response in
            (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
        }
    }

    @Test func aViewerReportsItsNodeAndReadsTheRecord() async throws {
        try await APIHarness.with { harness, client in
            let deployment = try await Self.deployOne(client)
            let digest = try #require(deployment.slots.blue).digest
            let viewer = try await harness.principal("agent-1", .viewer, scope: "acme/*")
            let (status, object) = try await Self.report(client, "gpu-7:a", NodeReportRequest(slot: "live", digest: digest, version: 1, state: "in_sync", message: "loaded"), viewer)
            #expect(status == .ok, "\(object)")
            #expect(Set(object.keys) == ["node", "kind", "slot", "desired", "actual", "reported_state", "drift", "since", "last_seen", "message"], "\(object.keys.sorted())")
            #expect(object["node"] as? String == "gpu-7:a" && object["kind"] as? String == "agent" && object["slot"] as? String == "live")
            #expect((object["desired"] as? [String: Any])?["digest"] as? String == digest.description)
            #expect((object["actual"] as? [String: Any])?["version"] as? Int == 1)
            #expect(object["drift"] is NSNull && object["since"] is NSNull && object["last_seen"] is String && object["reported_state"] as? String == "in_sync")

            // An idle node: digest and version null.
            let idle = try await client.execute(uri: "\(Self.base)/nodes/idle-1", method: .put, headers: viewer,
                                                body: ByteBuffer(string: #"{"slot":"green","digest":null,"version":null,"state":"idle","message":"pool empty"}"#)) { response in
                (response.status, try? APIHarness.decode(NodeRecord.self, response))
            }
            #expect(idle.0 == .ok && idle.1?.desired == nil && idle.1?.actual == nil && idle.1?.reportedState == "idle")

            let listed = try await DeploymentAPITests.get(client, "\(Self.base)/nodes", viewer)
            #expect(listed.0 == .ok && (listed.1["items"] as? [[String: Any]])?.map { $0["node"] as? String } == ["gpu-7:a", "idle-1"])
            #expect(listed.1["next_cursor"] is NSNull)
        }
    }

    /// Another principal reporting under a node's name is refused, without naming the owner.
    @Test func aReportUnderAnotherPrincipalsNodeIsForbidden() async throws {
        try await APIHarness.with { harness, client in
            _ = try await Self.deployOne(client)
            let alice = try await harness.principal("alice-agent", .viewer, scope: "acme/*")
            let mallory = try await harness.principal("mallory", .contributor, scope: "acme/*")
            #expect(try await Self.report(client, "node-1", NodeReportRequest(slot: "live", digest: nil, version: nil, state: "idle"), alice).0 == .ok)
            let (status, object) = try await Self.report(client, "node-1", NodeReportRequest(slot: "live", digest: nil, version: nil, state: "error", message: "hijack"), mallory)
            #expect(status == .forbidden && DeploymentAPITests.code(object) == "forbidden", "\(object)")
            let message = try #require((object["error"] as? [String: Any])?["message"] as? String)
            #expect(message.contains("another principal") && !message.contains("alice"), "\(message)")
            let nodes = try await harness.registry.store.nodes(model: try ModelName("acme/m"), env: try AliasName("prod-eu"))
            #expect(nodes.first?.reportedState == "idle" && nodes.first?.message == nil)
        }
    }

    @Test func badNamesUnknownDeploymentsAndStrangersAreRefused() async throws {
        try await APIHarness.with { harness, client in
            _ = try await Self.deployOne(client)
            let idle = NodeReportRequest(slot: "live", digest: nil, version: nil, state: "idle")
            for name in [String(repeating: "n", count: 129), "a%20b", "n%2Fx"] {
                let (status, object) = try await Self.report(client, name, idle)
                #expect(status == .badRequest && DeploymentAPITests.code(object) == "invalid_argument", "\(name): \(object)")
            }
            let bad = try await Self.report(client, "n", NodeReportRequest(slot: "live", digest: nil, version: nil, state: "dreaming"))
            #expect(bad.0 == .badRequest, "\(bad.1)")
            let missing = try await client.execute(uri: "/api/v1/models/acme/m/deployments/staging/nodes/n", method: .put, headers: APIHarness.auth,
                                                   body: APIHarness.json(idle)) { $0.status }
            #expect(missing == .notFound)
            let stranger = try await harness.principal("stranger", .viewer, scope: "other/*")
            #expect([.forbidden, .notFound].contains(try await Self.report(client, "n", idle, stranger).0))
            let anonymous = try await client.execute(uri: "\(Self.base)/nodes/n", method: .put, headers: [:], body: APIHarness.json(idle)) { $0.status }
            #expect(anonymous == .unauthorized)
        }
    }

    /// A report is not a write: an alias moved behind the cache's back (as through another
    /// replica) is still served from memory after a report, and a real write clears it.
    @Test func aReportDoesNotClearTheReadCache() async throws {
        try await APIHarness.with(configure: { $0.readCacheLifetime = .seconds(60) }) { harness, client in
            _ = try await Self.deployOne(client)
            try await HotReadCacheTests.setAlias(client, "prod", 2)
            #expect(try await HotReadCacheTests.resolve(client) == 2)
            let attempt = PromotionAttempt(model: HotReadCacheTests.model, alias: HotReadCacheTests.alias, version: 1, mode: .set, role: .admin)
            _ = try await harness.registry.store.promote(attempt, change: ChangeContext(actor: "admin", requestID: nil))
            #expect(try await HotReadCacheTests.resolve(client) == 2, "served from memory")
            for index in 0..<3 {
                let (status, object) = try await Self.report(client, "node-\(index)", NodeReportRequest(slot: "live", digest: nil, version: nil, state: "idle"))
                #expect(status == .ok, "\(object)")
            }
            #expect(try await HotReadCacheTests.resolve(client) == 2, "a node report cleared the read cache")
            // The control: a write does clear it.
            try await HotReadCacheTests.setAlias(client, "other", 2)
            #expect(try await HotReadCacheTests.resolve(client) == 1)
        }
    }
}
