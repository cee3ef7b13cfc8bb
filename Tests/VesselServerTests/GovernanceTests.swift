import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer

extension APIHarness {
    /// Creates a principal with one grant and returns a bearer header for it.
    func principal(_ name: String, _ role: Role?, scope: String = "*", expiresAt: Int64? = nil) async throws -> HTTPFields {
        let system = ChangeContext(actor: "test", requestID: nil)
        _ = try await registry.store.createPrincipal(name: name, kind: .user, change: system)
        if let role { _ = try await registry.store.grant(principal: name, role: role, scope: try Scope(scope), change: system) }
        let token = "vsl_test-\(name)"
        _ = try await registry.store.createToken(principal: name, name: nil, hash: Tokens.hash(token), expiresAt: expiresAt, change: system)
        return [.authorization: "Bearer \(token)"]
    }

    static func promote(_ client: any TestClientProtocol, _ headers: HTTPFields, model: String = "acme/m", version: Int, to alias: String, expectCurrent: Int? = nil) async throws -> PromotionResult {
        try await client.execute(uri: "/api/v1/models/\(model)/promote", method: .post, headers: headers, body: json(PromoteRequest(version: version, to: alias, expectCurrent: expectCurrent, reason: "test"))) { response in
            guard response.status == .ok || response.status == .accepted else { throw CLIFailure("promote answered \(response.status): \(String(buffer: response.body))") }
            return try decode(PromotionResult.self, response)
        }
    }

    static func decide(_ client: any TestClientProtocol, _ headers: HTTPFields, _ id: String, approve: Bool) async throws -> PromotionResult {
        try await client.execute(uri: "/api/v1/requests/\(id)/\(approve ? "approve" : "reject")", method: .post, headers: headers, body: json(DecisionRequest(reason: nil))) { response in
            try decode(PromotionResult.self, response)
        }
    }

    static func check(_ client: any TestClientProtocol, _ headers: HTTPFields, version: Int, name: String, status: String, metrics: [String: Double] = [:]) async throws {
        try await client.execute(uri: "/api/v1/models/acme/m/versions/\(version)/checks", method: .post, headers: headers, body: json(CheckReportRequest(name: name, status: status, metrics: metrics, url: nil))) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
        }
    }

    static func protect(_ client: any TestClientProtocol, _ request: ProtectRequest) async throws {
        try await client.execute(uri: "/api/v1/protections", method: .put, headers: auth, body: json(request)) { response in
            #expect(response.status == .ok, "\(String(buffer: response.body))")
        }
    }
}

struct CLIFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@Suite struct GovernanceTests {
    static let weights: [UInt8] = Array("{\"note\": \"plain data\"}".utf8)

    /// Every route × every role, plus a role held only on another owner's scope, no token, an
    /// expired token and a revoked token — built from the router's own route list, so a new
    /// route without a rule (or with the wrong one) fails here.
    @Test func authorizationMatrix() async throws {
        try await APIHarness.with { harness, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights])
            var callers: [(String, HTTPFields, Role?)] = []
            for role in Role.allCases { callers.append((role.rawValue, try await harness.principal("p-\(role.rawValue)", role), role)) }
            callers.append(("other-owner-admin", try await harness.principal("outsider", .admin, scope: "beta/*"), nil))
            let expired = try await harness.principal("expired", .admin, expiresAt: 1)
            let revokedHeaders = try await harness.principal("revoked", .admin)
            let tokens = try await harness.registry.store.listTokens()
            try await harness.registry.store.revokeToken(id: try #require(tokens.first { $0.principal == "revoked" }).id, change: .init(actor: "t", requestID: nil))

            let routes = harness.registry.makeRouter().routes
            for route in routes {
                let parts = route.split(separator: " ").map(String.init)
                let method = HTTPRequest.Method(rawValue: parts[0])!
                let permission = Permission(rawValue: parts[2])!
                let uri = parts[1]
                    .replacingOccurrences(of: ":owner", with: "acme").replacingOccurrences(of: ":name", with: "m")
                    .replacingOccurrences(of: ":version", with: "1").replacingOccurrences(of: ":alias", with: "staging")
                    .replacingOccurrences(of: ":digest", with: "sha256:" + String(repeating: "0", count: 64))
                    .replacingOccurrences(of: ":draft", with: "d").replacingOccurrences(of: ":id", with: "none")
                    .replacingOccurrences(of: ":env", with: "prod-eu")
                    .replacingOccurrences(of: ":revision", with: "main").replacingOccurrences(of: "/**", with: "/config.json")
                // The Hub protocol answers a caller without read as a missing repository (docs/huggingface.md).
                let hub = uri.hasPrefix("/hf/")
                for (label, headers, role) in callers {
                    let allowed: Bool = switch permission {
                    case .anonymous, .authenticated: true
                    default: role.map { $0 >= permission.minimumRole! } ?? false
                    }
                    try await client.execute(uri: uri, method: method, headers: headers + [.contentType: "application/json"], body: ByteBuffer(string: "{}")) { response in
                        if allowed {
                            #expect(response.status != .forbidden && response.status != .unauthorized, "\(route) as \(label): \(response.status)")
                        } else if hub {
                            #expect(response.status == .notFound && response.headers[HTTPFields.Element.Name("X-Error-Code")!] == "RepoNotFound", "\(route) as \(label): \(response.status)")
                        } else {
                            #expect(response.status == .forbidden, "\(route) as \(label): \(response.status)")
                        }
                    }
                }
                guard permission != .anonymous else { continue }
                for (label, headers) in [("no token", HTTPFields()), ("expired", expired), ("revoked", revokedHeaders)] {
                    try await client.execute(uri: uri, method: method, headers: headers) { response in
                        #expect(response.status == .unauthorized, "\(route) with \(label)")
                    }
                }
            }
            // Cross-owner cursors: the beta/* admin's models page names nothing of acme's, not
            // even in its cursor (issue 21, item 3; more in SecurityCursorTests).
            try await client.execute(uri: "/api/v1/models?limit=1", method: .get, headers: callers.last!.1) { response in
                let page = try APIHarness.decode(Page<ModelInfo>.self, response)
                #expect(page.items.isEmpty && page.nextCursor == nil, "GET /api/v1/models?limit=1 as other-owner-admin")
            }
        }
    }

    /// Listing models needs only a token; each caller sees the models its grants cover.
    @Test func modelListsShowWhatTheCallerMayRead() async throws {
        try await APIHarness.with { harness, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights])
            _ = try await APIHarness.push(client, model: "beta/x", files: ["config.json": Self.weights])
            _ = try await APIHarness.push(client, model: "gamma/y", files: ["config.json": Self.weights])
            let acmeViewer = try await harness.principal("acme-viewer", .viewer, scope: "acme/*")
            let gammaMaintainer = try await harness.principal("gamma-lead", .maintainer, scope: "gamma/y")
            let nobody = try await harness.principal("nobody", nil)
            let registryViewer = try await harness.principal("reader", .viewer)
            for (headers, expected) in [(acmeViewer, ["acme/m"]), (gammaMaintainer, ["gamma/y"]), (nobody, []),
                                        (registryViewer, ["acme/m", "beta/x", "gamma/y"]), (APIHarness.auth, ["acme/m", "beta/x", "gamma/y"])] {
                try await client.execute(uri: "/api/v1/models", method: .get, headers: headers) { response in
                    #expect(response.status == .ok)
                    let names = try APIHarness.decode(Page<ModelInfo>.self, response).items.map(\.model.description).sorted()
                    #expect(names == expected)
                }
            }
            try await client.execute(uri: "/api/v1/models", method: .get) { #expect($0.status == .unauthorized) }
        }
    }

    @Test func productionIsProtectedByDefault() async throws {
        try await APIHarness.with { harness, client in
            let contributor = try await harness.principal("dev", .contributor)
            let maintainer = try await harness.principal("lead", .maintainer)
            _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights])
            let refused = try await APIHarness.promote(client, contributor, version: 1, to: "production")
            #expect(refused.status == .refused)
            #expect(refused.failures.map(\.rule) == ["role"])
            // Staging is not protected: contributors move it.
            #expect(try await APIHarness.promote(client, contributor, version: 1, to: "staging").status == .applied)
            // alias set obeys the same rules.
            try await client.execute(uri: "/api/v1/models/acme/m/aliases/production", method: .put, headers: contributor, body: APIHarness.json(SetAliasRequest(version: 1))) { response in
                #expect(response.status == .forbidden)
            }
            #expect(try await APIHarness.promote(client, maintainer, version: 1, to: "production").status == .applied)
            // The refusal was recorded.
            let audit = try await harness.registry.store.auditEntries(model: try ModelName("acme/m"), limit: 100, cursor: nil).items
            #expect(audit.contains { $0.action == "promotion.refuse" && $0.actor == "dev" })
            #expect(audit.last?.reason == "test")
        }
    }

    @Test func gatesRefuseUntilTheyPass() async throws {
        try await APIHarness.with { harness, client in
            let maintainer = try await harness.principal("lead", .maintainer)
            try await APIHarness.protect(client, ProtectRequest(scope: "acme/*", alias: "production", role: .maintainer, requireApproval: false, gates: ["scan-clean", "check:eval", "metric:accuracy>=0.9", "safetensors-only"]))
            _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights])
            let first = try await APIHarness.promote(client, maintainer, version: 1, to: "production")
            #expect(first.status == .refused)
            #expect(Set(first.failures.map(\.rule)) == ["check:eval", "metric:accuracy>=0.9"])
            try await APIHarness.check(client, maintainer, version: 1, name: "eval", status: "passed", metrics: ["accuracy": 0.85])
            let second = try await APIHarness.promote(client, maintainer, version: 1, to: "production")
            #expect(second.failures.map(\.rule) == ["metric:accuracy>=0.9"])
            try await APIHarness.check(client, maintainer, version: 1, name: "eval", status: "passed", metrics: ["accuracy": 0.93])
            #expect(try await APIHarness.promote(client, maintainer, version: 1, to: "production").status == .applied)
            // The latest report counts: a later failure closes the gate for the same digest.
            try await APIHarness.check(client, maintainer, version: 1, name: "eval", status: "failed")
            _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights])
            let third = try await APIHarness.promote(client, maintainer, version: 2, to: "production")
            #expect(third.failures.map(\.rule).contains("check:eval"), "version 2 has the same digest, so it shares version 1's checks")
        }
    }

    @Test func approvalNeedsASecondPrincipalAndRechecksGates() async throws {
        try await APIHarness.with { harness, client in
            let alice = try await harness.principal("alice", .maintainer)
            let bob = try await harness.principal("bob", .maintainer)
            let viewer = try await harness.principal("val", .viewer)
            try await APIHarness.protect(client, ProtectRequest(scope: "acme/m", alias: "production", role: .maintainer, requireApproval: true, gates: ["check:eval"]))
            _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights])
            try await APIHarness.check(client, alice, version: 1, name: "eval", status: "passed")
            let pending = try await APIHarness.promote(client, alice, version: 1, to: "production")
            #expect(pending.status == .pending)
            let id = try #require(pending.requestID)
            // alias set never creates a request.
            try await client.execute(uri: "/api/v1/models/acme/m/aliases/production", method: .put, headers: bob, body: APIHarness.json(SetAliasRequest(version: 1))) { response in
                #expect(response.status == .conflict)
                #expect(APIHarness.errorCode(response) == "refused")
            }
            let own = try await APIHarness.decide(client, alice, id, approve: true)
            #expect(own.status == .refused && own.failures.map(\.rule) == ["approval"])
            let byViewer = try await APIHarness.decide(client, viewer, id, approve: true)
            #expect(byViewer.failures.map(\.rule).contains("role"))
            // A gate that fails between request and approval blocks the approval.
            try await APIHarness.check(client, alice, version: 1, name: "eval", status: "failed")
            let blocked = try await APIHarness.decide(client, bob, id, approve: true)
            #expect(blocked.status == .refused && blocked.failures.map(\.rule) == ["check:eval"])
            try await APIHarness.check(client, alice, version: 1, name: "eval", status: "passed")
            let applied = try await APIHarness.decide(client, bob, id, approve: true)
            #expect(applied.status == .applied)
            let again = try await client.execute(uri: "/api/v1/requests/\(id)/approve", method: .post, headers: bob, body: APIHarness.json(DecisionRequest(reason: nil))) { $0.status }
            #expect(again == .conflict)
            let resolved = try await harness.registry.store.resolveAlias(model: try ModelName("acme/m"), alias: try AliasName("production"), at: nil)
            #expect(resolved.version == 1)
        }
    }

    @Test func concurrentPromotionsWithExpectCurrentHaveOneWinner() async throws {
        try await APIHarness.with { harness, client in
            let lead = try await harness.principal("lead", .maintainer)
            for _ in 0..<6 { _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights]) }
            #expect(try await APIHarness.promote(client, lead, version: 1, to: "production").status == .applied)
            let results = try await withThrowingTaskGroup(of: PromotionResult.self) { group in
                for version in 2...6 {
                    group.addTask { try await APIHarness.promote(client, lead, version: version, to: "production", expectCurrent: 1) }
                }
                return try await group.reduce(into: [PromotionResult]()) { $0.append($1) }
            }
            #expect(results.filter { $0.status == .applied }.count == 1)
            #expect(results.filter { $0.status == .refused && $0.failures.map(\.rule) == ["expect-current"] }.count == 4)
            #expect(try await harness.registry.store.verifyAuditChain().ok)
        }
    }

    @Test func historyAndPointInTimeResolve() async throws {
        try await APIHarness.with { harness, client in
            let lead = try await harness.principal("lead", .maintainer)
            for _ in 0..<2 { _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights]) }
            _ = try await APIHarness.promote(client, lead, version: 1, to: "production")
            try await Task.sleep(for: .milliseconds(20))
            let between = Timestamp.rfc3339(Date())
            try await Task.sleep(for: .milliseconds(20))
            _ = try await APIHarness.promote(client, lead, version: 2, to: "production")
            try await client.execute(uri: "/api/v1/models/acme/m/aliases/production/history", method: .get, headers: lead) { response in
                let history = try APIHarness.decode(Page<AliasHistoryEntry>.self, response).items
                #expect(history.map(\.toVersion) == [1, 2])
                #expect(history.map(\.actor) == ["lead", "lead"])
                #expect(history.last?.fromVersion == 1 && history.last?.reason == "test")
            }
            try await client.execute(uri: "/api/v1/models/acme/m/aliases/production/resolve?at=\(between)", method: .get, headers: lead) { response in
                let resolved = try APIHarness.decode(ResolvedAlias.self, response)
                #expect(resolved.version == 1)
            }
            try await client.execute(uri: "/api/v1/models/acme/m/aliases/production/resolve?at=2000-01-01T00:00:00Z", method: .get, headers: lead) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/models/acme/m/aliases/production/resolve", method: .get, headers: lead) { response in
                let resolved = try APIHarness.decode(ResolvedAlias.self, response)
                #expect(resolved.version == 2)
            }
        }
    }
}
