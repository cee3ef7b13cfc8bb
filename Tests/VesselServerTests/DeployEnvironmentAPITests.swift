import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer

/// Issue 25 through the HTTP API: a deploy whose version an agent's reported environment does
/// not satisfy is refused (409 `incompatible`, every failing requirement in `details`) unless
/// `force_incompatible`, which is applied and audited (`deployment.force_incompatible` with the
/// verdicts). The agent side end to end is `AgentEnvironmentEndToEndTests`.
@Suite struct DeployEnvironmentAPITests {
    static let base = DeploymentAPITests.base

    /// Pushes a version whose environment is `requirements` (and `image`).
    static func push(_ client: any TestClientProtocol, note: String, requirements: String, image: String? = nil) async throws {
        let bytes = Array("{\"note\": \"\(note)\"}".utf8)
        let entry = ManifestEntry(path: "config.json", size: UInt64(bytes.count), digest: APIHarness.digest(bytes))
        let lineage = VersionLineageRequest(requirements: RequirementsUpload(fileName: "requirements.txt", text: requirements), image: image)
        let draft = try await client.execute(uri: "/api/v1/models/acme/m/drafts", method: .post, headers: APIHarness.auth,
                                             body: APIHarness.json(DraftRequest(files: [entry], description: nil, lineage: lineage))) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
            return try APIHarness.decode(DraftResponse.self, response)
        }
        if draft.missing.contains(entry.digest) {
            try await client.execute(uri: "/api/v1/models/acme/m/blobs/\(entry.digest)", method: .put, headers: APIHarness.auth + [.contentLength: String(bytes.count)],
                                     body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }
        }
        try await client.execute(uri: "/api/v1/models/acme/m/drafts/\(draft.draftId)/commit", method: .post, headers: APIHarness.auth) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
        }
    }

    static let image1 = "ghcr.io/acme/serve@sha256:" + String(repeating: "a", count: 64)
    static let image2 = "ghcr.io/acme/serve@sha256:" + String(repeating: "b", count: 64)

    @Test func anIncompatibleDeployIsRefusedNamingEveryFailureAndForcedWithAnAuditEntry() async throws {
        try await APIHarness.with { harness, client in
            try await Self.push(client, note: "one", requirements: "transformers==4.30.0\n", image: Self.image1)
            try await Self.push(client, note: "two", requirements: "transformers==4.35.0\ntorch>=2 ; python_version >= '3.9'\nnumpy\n-r extra.txt\n", image: Self.image2)
            try await Self.push(client, note: "three", requirements: "transformers~=4.35.0\n")
            let first = try await DeploymentAPITests.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 1, expectRevision: 0))
            #expect(first.0 == .ok && first.2?.outcome == .applied, "\(first.1)")

            // No agent has reported an environment yet: nothing to judge against.
            let environment = NodeEnvironment(freeze: "transformers==4.30.0\nnumpy==1.26.4\n", image: Self.image1, pythonVersion: "3.11", platform: "linux")
            let digest = try #require(first.2?.deployment?.slots.blue).digest
            for node in ["gpu-1", "gpu-2"] {
                let (status, object) = try await NodeReportAPITests.report(client, node, NodeReportRequest(slot: "live", digest: digest, version: 1, state: "in_sync",
                                                                                                           environment: environment))
                #expect(status == .ok, "\(object)")
            }
            // A later report without an environment keeps the one reported.
            _ = try await NodeReportAPITests.report(client, "gpu-2", NodeReportRequest(slot: "live", digest: digest, version: 1, state: "in_sync"))
            // A bad environment is refused.
            let bad = try await NodeReportAPITests.report(client, "gpu-3", NodeReportRequest(slot: "live", digest: nil, version: nil, state: "idle",
                                                                                                environment: NodeEnvironment(image: "ghcr.io/acme/serve:latest")))
            #expect(bad.0 == .badRequest && DeploymentAPITests.code(bad.1) == "invalid_argument", "\(bad.1)")

            let refused = try await DeploymentAPITests.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 2, expectRevision: 1))
            #expect(refused.0 == .conflict && DeploymentAPITests.code(refused.1) == "incompatible", "\(refused.1)")
            let details = ((refused.1["error"] as? [String: Any])?["details"] as? [String]) ?? []
            for node in ["gpu-1", "gpu-2"] {
                #expect(details.contains { $0.hasPrefix("node \(node): image:") && $0.contains(Self.image2) }, "\(details)")
                #expect(details.contains { $0.hasPrefix("node \(node): transformers==4.35.0: wrong version") && $0.contains("4.30.0") }, "\(details)")
                #expect(details.contains { $0.hasPrefix("node \(node): torch>=2: missing") }, "\(details)")
            }
            #expect(details.count == 6, "satisfied (numpy) and unchecked (-r) entries are not failures: \(details)")
            let unchanged = try await DeploymentAPITests.get(client, "\(Self.base)/prod-eu")
            #expect(unchanged.1["revision"] as? Int == 1)

            // A version the environment satisfies deploys (~= 4.35.0 against 4.30.0 is not one of them).
            let compatible = NodeEnvironment(freeze: "transformers==4.35.2\n")
            _ = try await NodeReportAPITests.report(client, "gpu-1", NodeReportRequest(slot: "live", digest: digest, version: 1, state: "in_sync", environment: compatible))
            _ = try await NodeReportAPITests.report(client, "gpu-2", NodeReportRequest(slot: "live", digest: digest, version: 1, state: "in_sync", environment: compatible))
            let three = try await DeploymentAPITests.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 3, expectRevision: 1))
            #expect(three.0 == .ok && three.2?.outcome == .applied, "transformers~=4.35.0 against 4.35.2 is compatible: \(three.1)")

            // Forced past the failures: applied, and the audit entry says so with the verdicts.
            let forced = try await DeploymentAPITests.post(client, "\(Self.base)/prod-eu",
                                                           DeployRequest(version: 2, replace: true, expectRevision: 2, reason: "hotfix", forceIncompatible: true))
            #expect(forced.0 == .ok && forced.2?.outcome == .applied, "\(forced.1)")
            let entries = try await harness.registry.store.auditEntries(model: try ModelName("acme/m"), limit: 500, cursor: nil).items
            let entry = try #require(entries.last { $0.action == "deployment.force_incompatible" })
            #expect(entry.target == "deployment/acme/m@prod-eu" && entry.reason == "hotfix", "\(entry)")
            #expect(entry.after?.contains("version 2 forced past an incompatible environment") == true
                && entry.after?.contains("node gpu-1: transformers==4.35.0: wrong version") == true, "\(String(describing: entry.after))")
        }
    }

    /// A deploy waiting for approval is judged again when it is approved: an agent that reported
    /// an environment since the request makes the approval 409 `incompatible` (the request stays
    /// pending), and `force_incompatible` on the approval deploys and audits the approver.
    @Test func anApprovalIsJudgedAgainstEnvironmentsReportedSinceTheRequest() async throws {
        try await APIHarness.with { harness, client in
            try await Self.push(client, note: "one", requirements: "transformers==4.30.0\n")
            try await Self.push(client, note: "two", requirements: "transformers==4.35.0\n")
            let contributor = try await harness.principal("dev", .contributor, scope: "acme/*")
            let lead = try await harness.principal("lead", .maintainer, scope: "acme/*")
            let first = try await DeploymentAPITests.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 1))
            #expect(first.2?.outcome == .applied, "\(first.1)")
            try await APIHarness.protect(client, ProtectRequest(scope: "acme/*", alias: "prod-eu", role: .maintainer, requireApproval: true, gates: []))
            // Requested while no agent has reported an environment: nothing to judge yet.
            let pending = try await DeploymentAPITests.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 2, reason: "upgrade"), contributor)
            #expect(pending.0 == .accepted && pending.2?.outcome == .pending, "\(pending.1)")
            let id = try #require(pending.2?.requestID)
            let digest = try #require(first.2?.deployment?.slots.blue).digest
            let old = NodeEnvironment(freeze: "transformers==4.30.0\n")
            _ = try await NodeReportAPITests.report(client, "gpu-1", NodeReportRequest(slot: "live", digest: digest, version: 1, state: "in_sync", environment: old))

            func approve(_ force: Bool?) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(uri: "/api/v1/requests/\(id)/approve", method: .post, headers: lead,
                                         body: APIHarness.json(DecisionRequest(reason: "approved", forceIncompatible: force))) { ($0.status, String(buffer: $0.body)) }
            }
            let refused = try await approve(nil)
            #expect(refused.0 == .conflict && refused.1.contains("\"incompatible\"") && refused.1.contains("node gpu-1: transformers==4.35.0: wrong version"), "\(refused.1)")
            let still = try await DeploymentAPITests.get(client, "/api/v1/models/acme/m/requests")
            #expect((still.1["items"] as? [[String: Any]])?.first { $0["id"] as? String == id }?["status"] as? String == "pending", "the request stays pending")
            #expect(try await harness.registry.store.deployment(model: try ModelName("acme/m"), env: try AliasName("prod-eu")).slots.blue?.version == 1)

            let forced = try await approve(true)
            #expect(forced.0 == .ok && forced.1.contains("\"applied\""), "\(forced.1)")
            let entries = try await harness.registry.store.auditEntries(model: try ModelName("acme/m"), limit: 500, cursor: nil).items
            let entry = try #require(entries.last { $0.action == "deployment.force_incompatible" })
            #expect(entry.actor == "lead" && entry.after?.contains("version 2 approved past an incompatible environment") == true
                && entry.after?.contains("node gpu-1: transformers==4.35.0") == true, "\(entry)")
        }
    }
}
