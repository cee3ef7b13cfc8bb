import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselServer

/// The MLflow registry routes' answers: MLflow's error shape and codes, `{}` refused before
/// any role check, flat names, string versions, governance on alias moves, audited
/// description updates (docs/mlflow.md). The real `MlflowClient` is `MLflowInteropTests`.
@Suite struct MLflowAPITests {
    static let files: [String: [UInt8]] = ["config.json": GovernanceTests.weights, "tokenizer/vocab.txt": Array("a\nb\n".utf8)]
    static let base = "/api/2.0/mlflow"

    struct MLflowErrorBody: Decodable {
        var error_code: String
        var message: String
    }

    static func mlflowError(_ response: TestResponse) throws -> MLflowErrorBody {
        try JSONDecoder().decode(MLflowErrorBody.self, from: Data(buffer: response.body))
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any], "\(String(buffer: response.body))")
    }

    @Test func readsModelsVersionsAndAliasesByFlatOrSlashedName() async throws {
        try await APIHarness.with { harness, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: Self.files)
            _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Array("{}".utf8)])
            _ = try await APIHarness.promote(client, APIHarness.auth, version: 1, to: "staging")
            for name in ["acme~m", "acme/m", "acme%2Fm"] {
                try await client.execute(uri: "\(Self.base)/registered-models/get?name=\(name)", method: .get, headers: APIHarness.auth) { response in
                    #expect(response.status == .ok, "\(name): \(String(buffer: response.body))")
                    let model = try #require(try Self.json(response)["registered_model"] as? [String: Any])
                    #expect(model["name"] as? String == "acme~m")
                    #expect((model["aliases"] as? [[String: Any]])?.first?["version"] as? String == "1", "versions are strings")
                    #expect(((model["latest_versions"] as? [[String: Any]])?.first?["version"]) as? String == "2")
                    #expect(!String(buffer: response.body).contains("null"), "MLflow's JSON leaves absent fields out")
                }
            }
            try await client.execute(uri: "\(Self.base)/registered-models/alias?name=acme~m&alias=staging", method: .get, headers: APIHarness.auth) { response in
                let version = try #require(try Self.json(response)["model_version"] as? [String: Any])
                #expect(version["version"] as? String == "1")
                #expect(version["status"] as? String == "READY")
                #expect(version["aliases"] as? [String] == ["staging"])
                #expect(version["source"] as? String == "mlflow-artifacts:/models/acme/m/versions/1")
            }
            try await client.execute(uri: "\(Self.base)/model-versions/get-download-uri?name=acme~m&version=2", method: .get, headers: APIHarness.auth) { response in
                let reply = try Self.json(response)
                #expect(reply["artifact_uri"] as? String == "mlflow-artifacts:/models/acme/m/versions/2")
            }
            // Listing a version's artifacts: folders listed in turn, paths relative to the folder.
            try await client.execute(uri: "/api/2.0/mlflow-artifacts/artifacts?path=models/acme/m/versions/1", method: .get, headers: APIHarness.auth) { response in
                let files = try #require(try Self.json(response)["files"] as? [[String: Any]])
                #expect(Set(files.map { "\($0["path"]!) \($0["is_dir"]!)" }) == ["config.json 0", "tokenizer 1"])
            }
            try await client.execute(uri: "/api/2.0/mlflow-artifacts/artifacts/models/acme/m/versions/1/tokenizer/vocab.txt", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .ok)
                #expect(Array(response.body.readableBytesView) == Self.files["tokenizer/vocab.txt"])
            }
            // Origin egress counts the artifact's bytes, as the API's blob route does.
            #expect(harness.registry.metrics.registry.value(ServerMetrics.modelBlobBytesServed, [("model", "acme/m")]) == Double(Self.files["tokenizer/vocab.txt"]!.count))
        }
    }

    @Test func errorsHaveMLflowsShapeAndCodes() async throws {
        try await APIHarness.with { harness, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: Self.files)
            let outsider = try await harness.principal("outsider", .admin, scope: "beta/*")
            let cases: [(String, HTTPRequest.Method, HTTPFields, String?, HTTPResponse.Status, String)] = [
                ("registered-models/get?name=acme~none", .get, APIHarness.auth, nil, .notFound, "RESOURCE_DOES_NOT_EXIST"),
                ("model-versions/get?name=acme~m&version=9", .get, APIHarness.auth, nil, .notFound, "RESOURCE_DOES_NOT_EXIST"),
                ("model-versions/get?name=acme~m&version=one", .get, APIHarness.auth, nil, .badRequest, "INVALID_PARAMETER_VALUE"),
                ("registered-models/alias?name=acme~m&alias=nothing", .get, APIHarness.auth, nil, .badRequest, "INVALID_PARAMETER_VALUE"),
                ("registered-models/get?name=plain", .get, APIHarness.auth, nil, .badRequest, "INVALID_PARAMETER_VALUE"),
                ("registered-models/get?name=acme~m", .get, [:], nil, .unauthorized, "UNAUTHENTICATED"),
                ("registered-models/get?name=acme~m", .get, outsider, nil, .forbidden, "PERMISSION_DENIED"),
                ("registered-models/create", .post, APIHarness.auth, #"{"name":"acme~m"}"#, .badRequest, "RESOURCE_ALREADY_EXISTS"),
                ("registered-models/alias", .post, APIHarness.auth, #"{"name":"acme~m","alias":"staging","version":1}"#, .badRequest, "INVALID_PARAMETER_VALUE"),
                ("model-versions/search?filter=run_id%3D%27x%27", .get, APIHarness.auth, nil, .badRequest, "INVALID_PARAMETER_VALUE"),
                ("model-versions/create", .post, APIHarness.auth, #"{"name":"acme~m","source":"s3://b/m"}"#, .notImplemented, "NOT_IMPLEMENTED"),
            ]
            for (path, method, headers, body, status, code) in cases {
                try await client.execute(uri: "\(Self.base)/\(path)", method: method, headers: headers + [.contentType: "application/json"], body: body.map { ByteBuffer(string: $0) }) { response in
                    #expect(response.status == status, "\(method) \(path): \(String(buffer: response.body))")
                    let error = try Self.mlflowError(response)
                    #expect(error.error_code == code, "\(method) \(path)")
                    #expect(!error.message.isEmpty)
                }
            }
            try await client.execute(uri: "\(Self.base)/model-versions/create", method: .post, headers: APIHarness.auth, body: ByteBuffer(string: #"{"name":"acme~m","source":"x"}"#)) { response in
                let failure = try Self.mlflowError(response)
                #expect(failure.message.contains("vessel push"), "the refusal points to vessel push")
            }
            // Artifacts: a missing file, and an unauthorized reader, in MLflow's shape too.
            try await client.execute(uri: "/api/2.0/mlflow-artifacts/artifacts/models/acme/m/versions/1/absent.bin", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .notFound)
                let failure = try Self.mlflowError(response)
                #expect(failure.error_code == "RESOURCE_DOES_NOT_EXIST")
            }
            try await client.execute(uri: "/api/2.0/mlflow-artifacts/artifacts/models/acme/m/versions/1/config.json", method: .get, headers: outsider) { response in
                #expect(response.status == .forbidden)
                let failure = try Self.mlflowError(response)
                #expect(failure.error_code == "PERMISSION_DENIED")
            }
        }
    }

    /// `{}` names no model: 400 before any role check, for a caller with no role at all as for
    /// the admin, so the authorization matrix (which sends `{}`) holds for these routes.
    @Test func anEmptyBodyIsRefusedBeforeAnyRoleCheck() async throws {
        try await APIHarness.with { harness, client in
            let nobody = try await harness.principal("nobody", nil)
            let routes = harness.registry.makeRouter().routes.filter { $0.contains(" /api/2.0/") && !$0.contains(":owner") }
            #expect(routes.count == 14, "\(routes)")
            for route in routes {
                let parts = route.split(separator: " ")
                let method = HTTPRequest.Method(rawValue: String(parts[0]))!
                for headers in [nobody, APIHarness.auth] {
                    try await client.execute(uri: String(parts[1]), method: method, headers: headers + [.contentType: "application/json"], body: ByteBuffer(string: "{}")) { response in
                        if route.contains("registered-models/search") {
                            // Searching needs no parameter: the models the caller may read (none for nobody).
                            #expect(response.status == .ok, "\(route): \(String(buffer: response.body))")
                            return
                        }
                        #expect(response.status == .badRequest, "\(route): \(String(buffer: response.body))")
                        let failure = try Self.mlflowError(response)
                        #expect(failure.error_code == "INVALID_PARAMETER_VALUE", "\(route)")
                    }
                }
                try await client.execute(uri: String(parts[1]), method: method, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}")) { response in
                    #expect(response.status == .unauthorized, "\(route) without a token")
                }
            }
        }
    }

    @Test func aliasesMoveThroughGovernance() async throws {
        try await APIHarness.with { harness, client in
            let contributor = try await harness.principal("dev", .contributor)
            _ = try await APIHarness.push(client, model: "acme/m", files: Self.files)
            func setAlias(_ alias: String, _ version: String, as headers: HTTPFields) async throws -> TestResponse {
                try await client.execute(uri: "\(Self.base)/registered-models/alias", method: .post, headers: headers,
                                         body: ByteBuffer(string: #"{"name":"acme~m","alias":"\#(alias)","version":"\#(version)"}"#)) { $0 }
            }
            let staging = try await setAlias("staging", "1", as: contributor)
            #expect(staging.status == .ok)
            #expect(String(buffer: staging.body).trimmingCharacters(in: .whitespacesAndNewlines) == "{}")
            let refused = try await setAlias("production", "1", as: contributor)
            #expect(refused.status == .forbidden)
            let error = try Self.mlflowError(refused)
            #expect(error.error_code == "PERMISSION_DENIED")
            #expect(error.message.contains("role"), "Vessel's reason: \(error.message)")
            let audit = try await harness.registry.store.auditEntries(model: try ModelName("acme/m"), limit: 100, cursor: nil).items
            #expect(audit.contains { $0.action == "alias.set" && $0.actor == "dev" && $0.target == "alias/acme/m@staging" })
            #expect(audit.contains { $0.action == "promotion.refuse" && $0.actor == "dev" })
            try await client.execute(uri: "\(Self.base)/registered-models/alias", method: .delete, headers: contributor, body: ByteBuffer(string: #"{"name":"acme/m","alias":"staging"}"#)) { response in
                #expect(response.status == .ok)
            }
            #expect(try await harness.registry.store.aliases(model: try ModelName("acme/m")).isEmpty)
        }
    }

    @Test func descriptionUpdatesAreAudited() async throws {
        try await APIHarness.with { harness, client in
            let viewer = try await harness.principal("val", .viewer)
            _ = try await APIHarness.push(client, model: "acme/m", files: Self.files)
            try await client.execute(uri: "\(Self.base)/registered-models/update", method: .patch, headers: APIHarness.auth, body: ByteBuffer(string: #"{"name":"acme~m","description":"model text"}"#)) { response in
                let reply = try Self.json(response)
                #expect((reply["registered_model"] as? [String: Any])?["description"] as? String == "model text")
            }
            try await client.execute(uri: "\(Self.base)/model-versions/update", method: .patch, headers: APIHarness.auth, body: ByteBuffer(string: #"{"name":"acme~m","version":"1","description":"version text"}"#)) { response in
                let reply = try Self.json(response)
                #expect((reply["model_version"] as? [String: Any])?["description"] as? String == "version text")
            }
            try await client.execute(uri: "\(Self.base)/model-versions/update", method: .patch, headers: viewer, body: ByteBuffer(string: #"{"name":"acme~m","version":"1","description":"no"}"#)) { response in
                #expect(response.status == .forbidden)
            }
            #expect(try await harness.registry.store.resolve(Reference(model: try ModelName("acme/m"), selector: .version(1))).description == "version text")
            let audit = try await harness.registry.store.auditEntries(model: try ModelName("acme/m"), limit: 100, cursor: nil).items
            #expect(audit.contains { $0.action == "model.update" && ($0.after ?? "").contains("model text") })
            #expect(audit.contains { $0.action == "version.update" && $0.target == "version/acme/m:1" && $0.after == "version text" })
        }
    }

    @Test func searchesFilterAndPage() async throws {
        try await APIHarness.with { harness, client in
            for _ in 0..<3 { _ = try await APIHarness.push(client, model: "acme/m", files: Self.files) }
            _ = try await APIHarness.push(client, model: "beta/x", files: Self.files)
            let acmeViewer = try await harness.principal("acme-viewer", .viewer, scope: "acme/*")
            let filter = "name%20LIKE%20%27%25%27%20AND%20tag.%60mlflow.prompt.is_prompt%60%20!%3D%20%27true%27"
            try await client.execute(uri: "\(Self.base)/registered-models/search?filter=\(filter)", method: .get, headers: acmeViewer) { response in
                let models = try #require(try Self.json(response)["registered_models"] as? [[String: Any]], "\(String(buffer: response.body))")
                #expect(models.map { $0["name"] as? String } == ["acme~m"], "a caller sees only the models it may read")
            }
            var token: String? = nil
            var seen: [String] = []
            repeat {
                let uri = "\(Self.base)/model-versions/search?filter=name%3D%27acme~m%27&max_results=2" + (token.map { "&page_token=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" } ?? "")
                token = try await client.execute(uri: uri, method: .get, headers: APIHarness.auth) { response in
                    let body = try Self.json(response)
                    seen += (body["model_versions"] as? [[String: Any]] ?? []).compactMap { $0["version"] as? String }
                    return body["next_page_token"] as? String
                }
            } while token != nil && seen.count < 10
            #expect(seen.sorted() == ["1", "2", "3"])
        }
    }
}
