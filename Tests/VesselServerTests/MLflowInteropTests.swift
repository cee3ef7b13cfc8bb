import Foundation
import Testing
import VesselClient
import VesselCore
import VesselTestSupport
import VesselMetadata
@testable import VesselServer

/// Where the MLflow interop test finds Python (outside the suite: its trait cannot refer to it).
enum MLflowInteropEnvironment {
    static let python = ProcessInfo.processInfo.environment["VESSEL_TEST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
}

/// The real `MlflowClient` (mlflow-skinny, pinned in scripts/requirements-test.txt) against a
/// live Vessel through scripts/mlflow_interop.py: reading models, versions and aliases,
/// searching and paging, moving an alias, refused on the protected `production`, creating a
/// version refused with the pointer to `vessel push`, and `download_artifacts` of
/// `models:/acme~demo@production` byte-identical to the pushed folder.
@Suite(.enabled(if: MLflowInteropEnvironment.python != nil, "set VESSEL_TEST_PYTHON to a python with mlflow-skinny (scripts/test does)"))
struct MLflowInteropTests {
    static let files: [String: [UInt8]] = [
        "config.json": Array(#"{"note": "plain data"}"#.utf8),
        "tokenizer/vocab.txt": Array("hello\nworld\n".utf8),
        "tokenizer/nested/merges.txt": (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) },
    ]

    func run(_ arguments: [String], token: String) async throws -> [String: Any] {
        let python = try #require(MLflowInteropEnvironment.python)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/mlflow_interop.py").path
        var environment = ProcessInfo.processInfo.environment
        environment["MLFLOW_TRACKING_TOKEN"] = token
        // A failure answers at once instead of being retried for minutes.
        environment["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
        environment["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "60"
        environment.removeValue(forKey: "MLFLOW_TRACKING_URI")
        let result = try await runProcess(python, [script] + arguments, environment: environment, timeLimit: .seconds(240))
        #expect(result.status == 0, "mlflow_interop.py \(arguments.first ?? ""): \(result.stdout)\(result.stderr)")
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(result.stdout)\(result.stderr)")
    }

    @Test func mlflowClientReadsMovesAliasesAndDownloads() async throws {
        try await LiveHarness.with { live in
            let model = try ModelName("acme/demo")
            let folder = try live.folder("src", Self.files)
            _ = try await Pusher(api: live.api).push(folder: folder, model: model, alias: try AliasName("production"), description: nil)
            _ = try await Pusher(api: live.api).push(folder: try live.folder("src2", ["config.json": Array("{}".utf8)]), model: model, alias: nil, description: nil)
            let system = ChangeContext(actor: "test", requestID: nil)
            _ = try await live.registry.store.createPrincipal(name: "dev", kind: .user, change: system)
            _ = try await live.registry.store.grant(principal: "dev", role: .contributor, scope: try Scope("acme/*"), change: system)
            _ = try await live.registry.store.createToken(principal: "dev", name: nil, hash: Tokens.hash("vsl_test-dev"), expiresAt: nil, change: system)
            let server = live.api.config.server

            let read = try await run(["read", server], token: APIHarness.adminToken)
            let modelInfo = try #require(read["model"] as? [String: Any])
            #expect(modelInfo["name"] as? String == "acme~demo")
            #expect(modelInfo["aliases"] as? [String: String] == ["production": "1"])
            #expect(modelInfo["latest"] as? [String] == ["2"])
            #expect(read["slash_name"] as? String == "acme~demo", "owner/name is accepted as a parameter")
            let version = try #require(read["version"] as? [String: Any])
            #expect(version["version"] as? String == "1")
            #expect(version["status"] as? String == "READY")
            #expect(version["aliases"] as? [String] == ["production"])
            #expect((read["by_alias"] as? [String: Any])?["version"] as? String == "1")
            #expect(read["search_models"] as? [String] == ["acme~demo"])
            #expect(read["search_models_all"] as? [String] == ["acme~demo"])
            #expect(read["search_versions"] as? [String] == ["1", "2"])
            #expect((read["version_pages"] as? [[String]])?.flatMap { $0 }.sorted() == ["1", "2"])
            #expect((read["version_pages"] as? [[String]])?.allSatisfy { $0.count <= 1 } == true, "max_results=1 pages")
            #expect(read["latest_versions"] as? [String] == ["2"])
            #expect(read["download_uri"] as? String == "mlflow-artifacts:/models/acme/demo/versions/2")
            #expect(read["staging"] as? String == "2")
            #expect((read["staging_after_delete"] as? [String: Any])?["error_code"] as? String == "INVALID_PARAMETER_VALUE")
            #expect(read["updated_model"] as? String == "demo from mlflow")
            #expect(read["updated_version"] as? String == "second")
            #expect(read["created"] as? String == "acme~fresh")
            #expect(read["created_tags"] as? [String: String] == ["team": "nlp"])
            #expect((read["missing_model"] as? [String: Any])?["error_code"] as? String == "RESOURCE_DOES_NOT_EXIST")
            #expect((read["missing_version"] as? [String: Any])?["error_code"] as? String == "RESOURCE_DOES_NOT_EXIST")
            let create = try #require(read["create_version"] as? [String: Any])
            #expect(create["error_code"] as? String == "NOT_IMPLEMENTED")
            #expect((create["message"] as? String ?? "").contains("vessel push"))
            // The changes through MLflow are Vessel's: audited, and the alias moved back off.
            let audit = try await live.registry.store.auditEntries(model: model, limit: 200, cursor: nil).items
            #expect(audit.contains { $0.action == "version.update" && $0.target == "version/acme/demo:2" })
            #expect(audit.contains { $0.action == "alias.remove" && $0.target == "alias/acme/demo@staging" })

            let protected = try await run(["protected", server], token: "vsl_test-dev")
            let refusal = try #require(protected["set_production"] as? [String: Any], "a contributor moved production: \(protected)")
            #expect(refusal["error_code"] as? String == "PERMISSION_DENIED")
            #expect((refusal["message"] as? String ?? "").contains("role"), "Vessel's reason: \(refusal)")
            #expect(protected["production"] as? String == "1")

            let dest = "\(live.dir)/downloaded"
            try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
            let download = try await run(["download", server, dest], token: APIHarness.adminToken)
            let path = try #require(download["path"] as? String)
            var found: [String] = []
            let enumerator = try #require(FileManager.default.enumerator(atPath: path))
            while let relative = enumerator.nextObject() as? String {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: "\(path)/\(relative)", isDirectory: &isDir), !isDir.boolValue { found.append(relative) }
            }
            #expect(found.sorted() == Self.files.keys.sorted())
            for (file, bytes) in Self.files {
                let got = try Data(contentsOf: URL(fileURLWithPath: "\(path)/\(file)"))
                #expect(Array(got) == bytes, "\(file) differs after download_artifacts")
            }
        }
    }
}
