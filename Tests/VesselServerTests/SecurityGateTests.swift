import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VesselCore
@testable import VesselServer

/// Check gates cannot be self-certified (issue 21, "Security": item 6). The principal who
/// created a version could report the check that its `check:` gate reads and promote it. A
/// check gate now names who may satisfy it (`check:eval@ci-bot|release-bot`, anyone if it
/// names no one) and never counts the version's creator unless it names them. Every case here
/// failed before its fix; the suite stays.
@Suite struct SecurityGateTests {
    static let weights: [UInt8] = Array("{\"note\": \"plain data\"}".utf8)

    static func protect(_ client: any TestClientProtocol, _ gates: [String]) async throws {
        try await APIHarness.protect(client, ProtectRequest(scope: "acme/*", alias: "production", role: .maintainer, requireApproval: false, gates: gates))
    }

    @Test func checkGatesParseTheirReportersAndRoundTrip() throws {
        #expect(try Gate("check:eval") == .check("eval", reporters: nil))
        #expect(try Gate("check:eval@ci-bot") == .check("eval", reporters: ["ci-bot"]))
        #expect(try Gate("check:eval@ci-bot|release-bot") == .check("eval", reporters: ["ci-bot", "release-bot"]))
        for text in ["check:eval", "check:eval@ci-bot", "check:eval@ci-bot|release-bot", "check:a/b.c@x_1"] {
            #expect(try Gate(text).description == text)
        }
        for bad in ["check:eval@", "check:@ci-bot", "check:eval@ci-bot|", "check:eval@a||b", "check:eval@Bad", "check:eval@a b", "check:eval@a@b"] {
            #expect(throws: VesselError.self, "\(bad)") { try Gate(bad) }
        }
    }

    /// A report's name is a check name, not a gate: `eval@ci-bot` is refused.
    @Test func aCheckNameCannotCarryReporters() async throws {
        try await APIHarness.with { _, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights])
            try await client.execute(uri: "/api/v1/models/acme/m/versions/1/checks", method: .post, headers: APIHarness.auth,
                                     body: APIHarness.json(CheckReportRequest(name: "eval@ci-bot", status: "passed", metrics: [:], url: nil))) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func theCreatorCannotSatisfyACheckGate() async throws {
        try await APIHarness.with { harness, client in
            let dev = try await harness.principal("dev", .contributor, scope: "acme/*")
            let qa = try await harness.principal("qa", .contributor, scope: "acme/*")
            try await Self.protect(client, ["check:eval"])
            _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights], as: dev)
            try await APIHarness.check(client, dev, version: 1, name: "eval", status: "passed")
            let refused = try await APIHarness.promote(client, APIHarness.auth, version: 1, to: "production")
            #expect(refused.status == .refused)
            #expect(refused.failures.map(\.rule) == ["check:eval"])
            #expect(refused.failures.first?.message.contains("dev created the version") == true, "\(refused.failures)")
            try await APIHarness.check(client, qa, version: 1, name: "eval", status: "passed")
            #expect(try await APIHarness.promote(client, APIHarness.auth, version: 1, to: "production").status == .applied)
        }
    }

    /// Metric gates read the same reports, so the creator's metrics do not count either.
    @Test func theCreatorCannotSatisfyAMetricGate() async throws {
        try await APIHarness.with { harness, client in
            let dev = try await harness.principal("dev", .contributor, scope: "acme/*")
            let qa = try await harness.principal("qa", .contributor, scope: "acme/*")
            try await Self.protect(client, ["metric:accuracy>=0.9"])
            _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights], as: dev)
            try await APIHarness.check(client, dev, version: 1, name: "eval", status: "passed", metrics: ["accuracy": 0.99])
            let refused = try await APIHarness.promote(client, APIHarness.auth, version: 1, to: "production")
            #expect(refused.failures.map(\.rule) == ["metric:accuracy>=0.9"])
            try await APIHarness.check(client, qa, version: 1, name: "eval", status: "passed", metrics: ["accuracy": 0.95])
            #expect(try await APIHarness.promote(client, APIHarness.auth, version: 1, to: "production").status == .applied)
        }
    }

    @Test func aGateNamingReportersCountsOnlyThem() async throws {
        try await APIHarness.with { harness, client in
            let dev = try await harness.principal("dev", .contributor, scope: "acme/*")
            let bot = try await harness.principal("ci-bot", .contributor, scope: "acme/*")
            try await Self.protect(client, ["check:eval@ci-bot|release-bot"])
            _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights])
            try await APIHarness.check(client, dev, version: 1, name: "eval", status: "passed")
            let refused = try await APIHarness.promote(client, APIHarness.auth, version: 1, to: "production")
            #expect(refused.failures.map(\.rule) == ["check:eval@ci-bot|release-bot"])
            try await APIHarness.check(client, bot, version: 1, name: "eval", status: "passed")
            // A later report by someone the gate does not name changes nothing.
            try await APIHarness.check(client, dev, version: 1, name: "eval", status: "failed")
            #expect(try await APIHarness.promote(client, APIHarness.auth, version: 1, to: "production").status == .applied)
        }
    }

    /// Naming the creator explicitly lets them satisfy the gate.
    @Test func aGateNamingTheCreatorAcceptsThem() async throws {
        try await APIHarness.with { harness, client in
            let alice = try await harness.principal("alice", .contributor, scope: "acme/*")
            try await Self.protect(client, ["check:eval@alice"])
            _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights], as: alice)
            try await APIHarness.check(client, alice, version: 1, name: "eval", status: "passed")
            #expect(try await APIHarness.promote(client, APIHarness.auth, version: 1, to: "production").status == .applied)
        }
    }
}
