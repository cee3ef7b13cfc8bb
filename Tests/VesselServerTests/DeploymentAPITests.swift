import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer

/// Deployments through the HTTP API (issue 23): statuses, outcomes, errors and governance.
/// The store's rules in depth are `DeploymentConformanceTests`; the CLI's exit codes
/// `DeployCLITests`.
@Suite struct DeploymentAPITests {
    static let base = "/api/v1/models/acme/m/deployments"

    /// Status, JSON object and decoded result of a POST.
    static func post(_ client: any TestClientProtocol, _ uri: String, _ body: some Encodable, _ headers: HTTPFields = APIHarness.auth) async throws -> (HTTPResponse.Status, [String: Any], DeploymentResult?) {
        try await client.execute(uri: uri, method: .post, headers: headers + [.contentType: "application/json"], body: APIHarness.json(body)) { response in
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:]
            return (response.status, object, try? APIHarness.decode(DeploymentResult.self, response))
        }
    }

    static func get(_ client: any TestClientProtocol, _ uri: String, _ headers: HTTPFields = APIHarness.auth) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await client.execute(uri: uri, method: .get, headers: headers) { response in
            (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
        }
    }

    static func code(_ object: [String: Any]) -> String? { (object["error"] as? [String: Any])?["code"] as? String }

    static func push(_ client: any TestClientProtocol, _ count: Int, model: String = "acme/m") async throws {
        for index in 1...count { _ = try await APIHarness.push(client, model: model, files: ["config.json": Array("{\"v\": \(index)}".utf8)]) }
    }

    @Test func aRolloutThroughTheAPI() async throws {
        try await APIHarness.with { harness, client in
            try await Self.push(client, 2)
            let (status, object, first) = try await Self.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 1, expectRevision: 0, reason: "go"))
            #expect(status == .ok && first?.outcome == .applied, "\(object)")
            let keys: Set<String> = ["model", "env", "revision", "status", "live", "slots", "candidate_weight", "steps", "step", "smoke", "max_error_rate",
                                     "max_p99_ms", "min_requests", "routes", "updated_at", "updated_by", "outcome", "request_id", "failures"]
            #expect(Set(object.keys) == keys, "\(object.keys.sorted())")
            #expect(object["request_id"] is NSNull && object["max_error_rate"] is NSNull && (object["slots"] as? [String: Any])?["green"] is NSNull)

            let document = try await Self.get(client, "\(Self.base)/prod-eu")
            #expect(document.0 == .ok)
            let routes = try #require(document.1["routes"] as? [[String: Any]])
            #expect(routes.count == 1 && routes[0]["slot"] as? String == "blue" && routes[0]["weight"] as? Int == 100 && routes[0]["version"] as? Int == 1)
            #expect((routes[0]["digest"] as? String)?.hasPrefix("sha256:") == true)

            _ = try await Self.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 2, steps: [10, 100], expectRevision: 1))
            let advanced = try await Self.post(client, "\(Self.base)/prod-eu/advance", DeploymentChangeRequest(expectRevision: 2))
            #expect(advanced.0 == .ok && advanced.2?.deployment?.candidateWeight == 10)
            let weights = try #require(try await Self.get(client, "\(Self.base)/prod-eu").1["routes"] as? [[String: Any]]).map { $0["weight"] as? Int }
            #expect(weights == [90, 10])

            let report = try await client.execute(uri: "\(Self.base)/prod-eu/reports", method: .post, headers: APIHarness.auth,
                                                  body: APIHarness.json(DeploymentReportRequest(slot: "green", requests: 10, errors: 1, p99Ms: 12.5))) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                return try APIHarness.decode(DeploymentReportResult.self, response)
            }
            #expect(report.report.counted && report.report.requests == 10 && report.result.deployment?.revision == 3)

            let rollback = try await Self.post(client, "\(Self.base)/prod-eu/rollback", DeploymentChangeRequest(reason: "looks off"))
            #expect(rollback.0 == .ok && rollback.2?.deployment?.status == .rolledBack)
            let nothing = try await Self.post(client, "\(Self.base)/prod-eu/rollback", DeploymentChangeRequest())
            #expect(nothing.0 == .conflict && Self.code(nothing.1) == "conflict")

            let history = try await Self.get(client, "\(Self.base)/prod-eu/history?limit=2")
            #expect(history.0 == .ok && (history.1["items"] as? [[String: Any]])?.map { $0["action"] as? String } == ["deployed", "started"])
            let cursor = try #require(history.1["next_cursor"] as? String)
            let rest = try await Self.get(client, "\(Self.base)/prod-eu/history?cursor=\(cursor)")
            #expect((rest.1["items"] as? [[String: Any]])?.map { $0["action"] as? String } == ["advanced", "rolled_back"])
            #expect((rest.1["items"] as? [[String: Any]])?.last?["reason"] as? String == "looks off")

            let lists = [try await Self.get(client, Self.base), try await Self.get(client, "/api/v1/deployments"), try await Self.get(client, "/api/v1/deployments?env=prod-eu")]
            for list in lists {
                #expect(list.0 == .ok && (list.1["items"] as? [[String: Any]])?.map { $0["env"] as? String } == ["prod-eu"] && list.1["next_cursor"] is NSNull)
            }
            #expect((try await Self.get(client, "/api/v1/deployments?env=dev").1["items"] as? [Any])?.isEmpty == true)
            let events = try await harness.registry.store.outboxEvents(after: 0, limit: 1000).map(\.type).filter { $0.hasPrefix("deployment.") }
            #expect(events == ["deployment.completed", "deployment.started", "deployment.advanced", "deployment.rolled_back"])
        }
    }

    /// State and input problems are errors with their statuses; the deployment is unchanged.
    @Test func errorsAndTheirStatuses() async throws {
        try await APIHarness.with { harness, client in
            try await Self.push(client, 2)
            #expect(try await Self.get(client, "\(Self.base)/prod-eu").0 == .notFound)
            #expect(try await Self.get(client, "\(Self.base)/prod-eu/history").0 == .notFound)
            #expect(try await Self.post(client, "\(Self.base)/prod-eu/advance", DeploymentChangeRequest()).0 == .notFound)
            #expect(try await Self.post(client, "/api/v1/models/acme/none/deployments/prod-eu", DeployRequest(version: 1)).0 == .notFound)
            #expect(try await Self.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 9)).0 == .notFound)
            for steps in [[1, 10], [10, 5, 100], [0, 100], [100, 100]] {
                let bad = try await Self.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 1, steps: steps))
                #expect(bad.0 == .badRequest && Self.code(bad.1) == "invalid_argument", "\(steps)")
            }
            let badEnv = try await Self.post(client, "/api/v1/models/acme/m/deployments/Prod_EU", DeployRequest(version: 1))
            #expect(badEnv.0 == .badRequest && Self.code(badEnv.1) == "invalid_argument")
            #expect(try await Self.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 1, maxErrorRate: 1.5)).0 == .badRequest)

            _ = try await Self.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 1))
            let stale = try await Self.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 2, expectRevision: 0))
            #expect(stale.0 == .preconditionFailed && Self.code(stale.1) == "precondition_failed")
            #expect(((stale.1["error"] as? [String: Any])?["message"] as? String)?.contains("revision 1") == true, "\(stale.1)")
            _ = try await Self.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 2))
            let busy = try await Self.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 1))
            #expect(busy.0 == .conflict && Self.code(busy.1) == "conflict")
            let badReport = try await Self.post(client, "\(Self.base)/prod-eu/reports", DeploymentReportRequest(slot: "red", requests: 1, errors: 0))
            #expect(badReport.0 == .badRequest)
            let quarantined = try await APIHarness.push(client, model: "acme/m", files: ["model.pkl": Array("cos\nsystem\n(S'echo hi'\ntR.".utf8)])
            #expect(quarantined.state == .quarantined, "a pickle is refused by the default format policy")
            let refused = try await Self.post(client, "\(Self.base)/prod-eu", DeployRequest(version: quarantined.version, replace: true))
            #expect(refused.0 == .conflict && Self.code(refused.1) == "refused", "as `alias set` answers for it")
            #expect(try await harness.registry.store.deployment(model: try ModelName("acme/m"), env: try AliasName("prod-eu")).revision == 2)

            // A version either pool holds cannot be deleted; archiving stays allowed.
            try await client.execute(uri: "/api/v1/models/acme/m/versions/2", method: .delete, headers: APIHarness.auth) { response in
                #expect(response.status == .conflict && APIHarness.errorCode(response) == "conflict")
            }
            try await client.execute(uri: "/api/v1/models/acme/m/versions/2/archive", method: .post, headers: APIHarness.auth) { response in
                #expect(response.status == .ok)
            }
        }
    }

    /// Governed by the environment's name: a contributor is refused (200, outcome refused)
    /// where the protection needs a maintainer; with approval a deploy answers 202 and
    /// `POST /requests/:id/approve` starts the rollout; rollback needs the role only.
    @Test func governanceThroughTheAPI() async throws {
        try await APIHarness.with { harness, client in
            try await Self.push(client, 2)
            let contributor = try await harness.principal("dev", .contributor, scope: "acme/*")
            let lead = try await harness.principal("lead", .maintainer, scope: "acme/*")
            try await APIHarness.protect(client, ProtectRequest(scope: "acme/*", alias: "prod-eu", role: .maintainer, requireApproval: false, gates: []))
            let refused = try await Self.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 1), contributor)
            #expect(refused.0 == .ok && refused.2?.outcome == .refused && refused.2?.failures.map(\.rule) == ["role"])
            #expect(refused.1["revision"] is NSNull && refused.1["model"] as? String == "acme/m" && refused.1["env"] as? String == "prod-eu")
            #expect(try await Self.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 1), lead).2?.outcome == .applied)

            try await APIHarness.protect(client, ProtectRequest(scope: "acme/*", alias: "prod-eu", role: .maintainer, requireApproval: true, gates: []))
            let pending = try await Self.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 2, steps: [25, 100], reason: "canary"), contributor)
            #expect(pending.0 == .accepted && pending.2?.outcome == .pending && pending.2?.deployment?.revision == 1)
            let id = try #require(pending.2?.requestID)
            let requests = try await Self.get(client, "/api/v1/models/acme/m/requests")
            #expect((requests.1["items"] as? [[String: Any]])?.first?["kind"] as? String == "deployment")
            let approved = try await APIHarness.decide(client, lead, id, approve: true)
            #expect(approved.status == .applied)
            let started = try await harness.registry.store.deployment(model: try ModelName("acme/m"), env: try AliasName("prod-eu"))
            #expect(started.status == .rollingOut && started.steps == [25, 100] && started.slots.green?.version == 2)

            let advance = try await Self.post(client, "\(Self.base)/prod-eu/advance", DeploymentChangeRequest(), contributor)
            #expect(advance.0 == .ok && advance.2?.outcome == .refused && advance.2?.failures.map(\.rule) == ["role"])
            #expect(try await Self.post(client, "\(Self.base)/prod-eu/advance", DeploymentChangeRequest(), lead).2?.deployment?.candidateWeight == 25)
            #expect(try await Self.post(client, "\(Self.base)/prod-eu/rollback", DeploymentChangeRequest(), contributor).2?.outcome == .refused)
            #expect(try await Self.post(client, "\(Self.base)/prod-eu/rollback", DeploymentChangeRequest(), lead).2?.outcome == .applied)
            // Reports need only a contributor.
            let report = try await Self.post(client, "\(Self.base)/prod-eu/reports", DeploymentReportRequest(slot: "blue", requests: 5, errors: 0), contributor)
            #expect(report.0 == .ok)
        }
    }
}
