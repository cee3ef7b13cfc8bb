import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselServer

/// What a client retrying after a lost answer sends again must not do a thing twice (issue
/// 22): a commit answers with the version the draft became, a move already made is applied,
/// a promotion awaiting approval answers with its open request.
@Suite struct RetrySafetyAPITests {
    static let weights: [UInt8] = Array("{\"note\": \"plain data\"}".utf8)

    @Test func aRetriedCommitAnswersWithTheVersionItMade() async throws {
        try await APIHarness.with { harness, client in
            let entries = [ManifestEntry(path: "config.json", size: UInt64(Self.weights.count), digest: APIHarness.digest(Self.weights))]
            let draft = try await client.execute(uri: "/api/v1/models/acme/m/drafts", method: .post, headers: APIHarness.auth, body: APIHarness.json(DraftRequest(files: entries, description: nil))) {
                try APIHarness.decode(DraftResponse.self, $0)
            }
            try await client.execute(uri: "/api/v1/models/acme/m/blobs/\(APIHarness.digest(Self.weights))", method: .put, headers: APIHarness.auth + [.contentLength: String(Self.weights.count)], body: ByteBuffer(bytes: Self.weights)) {
                #expect($0.status == .created)
            }
            let commit = "/api/v1/models/acme/m/drafts/\(draft.draftId)/commit"
            let first = try await client.execute(uri: commit, method: .post, headers: APIHarness.auth) { response in
                #expect(response.status == .created)
                return String(buffer: response.body)
            }
            let audit = try await harness.registry.store.auditEntries(model: nil, limit: 100, cursor: nil).items.count
            let second = try await client.execute(uri: commit, method: .post, headers: APIHarness.auth) { response in
                #expect(response.status == .ok, "committed already: nothing created")
                return String(buffer: response.body)
            }
            #expect(second == first, "the same version, the same body")
            #expect(try await harness.registry.store.auditEntries(model: nil, limit: 100, cursor: nil).items.count == audit)
            #expect(try await harness.registry.store.model(try ModelName("acme/m")).versions == 1)

            try await client.execute(uri: "/api/v1/models/acme/m/versions/1", method: .delete, headers: APIHarness.auth) { #expect($0.status == .ok) }
            try await client.execute(uri: commit, method: .post, headers: APIHarness.auth) { response in
                #expect(response.status == .conflict)
                #expect(APIHarness.errorCode(response) == "conflict")
            }
        }
    }

    @Test func aRetriedAliasMoveIsApplied() async throws {
        try await APIHarness.with { harness, client in
            for _ in 0..<2 { _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights]) }
            func move(_ request: SetAliasRequest) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(uri: "/api/v1/models/acme/m/aliases/staging", method: .put, headers: APIHarness.auth, body: APIHarness.json(request)) {
                    ($0.status, String(buffer: $0.body))
                }
            }
            let set = try await move(SetAliasRequest(version: 1, expectAbsent: true))
            #expect(set.0 == .ok)
            #expect(try await move(SetAliasRequest(version: 1, expectAbsent: true)) == set, "--expect-current none, retried")
            let moved = try await move(SetAliasRequest(version: 2, expectCurrent: 1))
            #expect(moved.0 == .ok)
            #expect(try await move(SetAliasRequest(version: 2, expectCurrent: 1)) == moved, "--expect-current 1, retried after it moved")
            let history = try await harness.registry.store.aliasHistory(model: try ModelName("acme/m"), alias: try AliasName("staging"))
            #expect(history.map(\.toVersion) == [1, 2], "two moves, not four")
            // A real mismatch still answers 412.
            #expect(try await move(SetAliasRequest(version: 1, expectCurrent: 1)).0 == .preconditionFailed)

            let lead = try await harness.principal("lead", .maintainer)
            let promoted = try await APIHarness.promote(client, lead, version: 2, to: "staging", expectCurrent: 1)
            #expect(promoted.status == .applied, "vessel promote, retried after it applied")
        }
    }

    @Test func aRetriedPromotionAnswersWithTheOpenRequest() async throws {
        try await APIHarness.with { harness, client in
            let alice = try await harness.principal("alice", .maintainer)
            let bob = try await harness.principal("bob", .maintainer)
            try await APIHarness.protect(client, ProtectRequest(scope: "acme/m", alias: "production", role: .maintainer, requireApproval: true, gates: []))
            for _ in 0..<2 { _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights]) }
            func promote(_ version: Int) async throws -> (HTTPResponse.Status, PromotionResult) {
                try await client.execute(uri: "/api/v1/models/acme/m/promote", method: .post, headers: alice, body: APIHarness.json(PromoteRequest(version: version, to: "production", reason: "ship"))) {
                    ($0.status, try APIHarness.decode(PromotionResult.self, $0))
                }
            }
            let first = try await promote(1)
            #expect(first.0 == .accepted && first.1.status == .pending)
            let id = try #require(first.1.requestID)
            let again = try await promote(1)
            #expect(again.0 == .accepted && again.1.requestID == id)
            let requests = try await client.execute(uri: "/api/v1/models/acme/m/requests", method: .get, headers: APIHarness.auth) {
                try APIHarness.decode(Page<PromotionRequestInfo>.self, $0)
            }
            #expect(requests.items.map(\.id) == [id])

            #expect(try await APIHarness.decide(client, bob, id, approve: true).status == .applied)
            let after = try await promote(1)
            #expect(after.0 == .ok && after.1.status == .applied, "approved and applied: a late retry finds it done")
        }
    }
}
