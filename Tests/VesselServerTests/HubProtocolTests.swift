import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselServer

/// The Hugging Face Hub download protocol under `/hf`, request by request, in process: what
/// the client reads from each answer (docs/huggingface.md). `HubInteropTests` runs the real
/// `huggingface_hub` against it.
@Suite struct HubProtocolTests {
    static let config = Array(#"{"hidden_size": 8}"#.utf8)
    static let data = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }

    static func header(_ response: TestResponse, _ name: String) -> String? {
        response.headers[HTTPFields.Element.Name(name)!]
    }

    static func json(_ response: TestResponse) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(buffer: response.body))
    }

    @Test func revisionsTreeAndResolve() async throws {
        try await APIHarness.with { harness, client in
            let v1 = try await APIHarness.push(client, model: "acme/demo", files: ["config.json": Self.config, "weights/a.dat": Self.data])
            let v2 = try await APIHarness.push(client, model: "acme/demo", files: ["config.json": Self.config, "weights/a.dat": Array(Self.data.reversed())])
            _ = try await APIHarness.promote(client, APIHarness.auth, model: "acme/demo", version: 1, to: "champion")
            let c1 = String(v1.digest.hex.prefix(40)), c2 = String(v2.digest.hex.prefix(40))
            // An alias, a number, a commit, main (the latest ready version); repo ids in any case.
            for (revision, commit) in [("champion", c1), ("1", c1), (c1, c1), ("2", c2), ("main", c2), (c2, c2)] {
                try await client.execute(uri: "/hf/api/models/Acme/DEMO/revision/\(revision)", method: .get, headers: APIHarness.auth) { response in
                    #expect(response.status == .ok, "\(revision): \(String(buffer: response.body))")
                    let info = try #require(try Self.json(response) as? [String: Any])
                    #expect(info["sha"] as? String == commit && info["id"] as? String == "acme/demo", "\(revision)")
                }
            }
            // An alias named main wins over the latest version.
            _ = try await APIHarness.promote(client, APIHarness.auth, model: "acme/demo", version: 1, to: "main")
            try await client.execute(uri: "/hf/api/models/acme/demo/revision/main", method: .get, headers: APIHarness.auth) { response in
                let sha = (try Self.json(response) as? [String: Any])?["sha"] as? String
                #expect(sha == c1)
            }
            for revision in ["3", "nope", "01", String(repeating: "0", count: 40)] {
                try await client.execute(uri: "/hf/api/models/acme/demo/revision/\(revision)", method: .get, headers: APIHarness.auth) { response in
                    #expect(response.status == .notFound && Self.header(response, "X-Error-Code") == "RevisionNotFound", "\(revision)")
                }
            }
            // The tree: files with their SHA-256 as LFS oid, and the folder.
            try await client.execute(uri: "/hf/api/models/acme/demo/tree/\(c1)?recursive=true&expand=false", method: .get, headers: APIHarness.auth) { response in
                let entries = try #require(try Self.json(response) as? [[String: Any]])
                #expect(entries.map { $0["path"] as? String } == ["config.json", "weights", "weights/a.dat"])
                #expect(entries.map { $0["type"] as? String } == ["file", "directory", "file"])
                let file = entries[2]
                #expect(file["size"] as? Int == Self.data.count)
                #expect((file["lfs"] as? [String: Any])?["oid"] as? String == APIHarness.digest(Self.data).hex)
            }
            // HEAD: what the client needs to name the blob and check the size.
            try await client.execute(uri: "/hf/acme/demo/resolve/champion/weights/a.dat", method: .head, headers: APIHarness.auth) { response in
                #expect(response.status == .ok)
                #expect(Self.header(response, "X-Repo-Commit") == c1)
                #expect(Self.header(response, "X-Linked-Etag") == "\"\(APIHarness.digest(Self.data).hex)\"")
                #expect(Self.header(response, "X-Linked-Size") == String(Self.data.count))
                #expect(response.headers[.eTag] == "\"\(APIHarness.digest(Self.data))\"")
                #expect(response.headers[.contentLength] == String(Self.data.count))
            }
            // GET, whole and by Range.
            try await client.execute(uri: "/hf/acme/demo/resolve/\(c2)/weights/a.dat", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .ok && Array(buffer: response.body) == Array(Self.data.reversed()))
            }
            try await client.execute(uri: "/hf/acme/demo/resolve/1/weights/a.dat", method: .get, headers: APIHarness.auth + [.range: "bytes=4000-"]) { response in
                #expect(response.status == .partialContent && Array(buffer: response.body) == Array(Self.data[4000...]))
                #expect(response.headers[.contentRange] == "bytes 4000-4999/5000")
            }
            // Origin egress counts these bytes as the API's blob route does (HEADs send none).
            #expect(harness.registry.metrics.registry.value(ServerMetrics.modelBlobBytesServed, [("model", "acme/demo")]) == Double(Self.data.count + 1000))
            // A missing file: EntryNotFound with the commit, so the client caches the miss.
            try await client.execute(uri: "/hf/acme/demo/resolve/1/model.safetensors", method: .head, headers: APIHarness.auth) { response in
                #expect(response.status == .notFound && Self.header(response, "X-Error-Code") == "EntryNotFound")
                #expect(Self.header(response, "X-Repo-Commit") == c1)
            }
        }
    }

    /// A caller without read on the model gets the answer of a missing repository, byte for
    /// byte; no token or a bad one is 401.
    @Test func unreadableModelsAnswerAsMissingOnes() async throws {
        try await APIHarness.with { harness, client in
            _ = try await APIHarness.push(client, model: "acme/demo", files: ["config.json": Self.config])
            let outsider = try await harness.principal("outsider", .admin, scope: "beta/*")
            let reader = try await harness.principal("reader", .viewer, scope: "acme/*")
            for uri in ["/hf/api/models/acme/demo/revision/main", "/hf/acme/demo/resolve/main/config.json"] {
                let refused = try await client.execute(uri: uri, method: .get, headers: outsider) { ($0.status, $0.headers[HTTPFields.Element.Name("X-Error-Code")!], String(buffer: $0.body)) }
                let missing = try await client.execute(uri: uri.replacingOccurrences(of: "demo", with: "absent"), method: .get, headers: reader) { ($0.status, $0.headers[HTTPFields.Element.Name("X-Error-Code")!], String(buffer: $0.body)) }
                #expect(refused.0 == .notFound && refused.1 == "RepoNotFound", "\(uri)")
                #expect(refused == missing, "\(uri)")
                try await client.execute(uri: uri, method: .get, headers: reader) { #expect($0.status == .ok, "\(uri)") }
                try await client.execute(uri: uri, method: .get) { #expect($0.status == .unauthorized, "\(uri)") }
                try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer vsl_not-a-token"]) { response in
                    #expect(response.status == .unauthorized && Self.header(response, "X-Error-Message") != nil, "\(uri)")
                }
            }
        }
    }

    /// A quarantined version is refused as `GatedRepo` (the client raises it as itself) with
    /// Vessel's reason; `main` skips it.
    @Test func quarantinedVersionsAreRefusedWithTheReason() async throws {
        let broken = Array(try ValidationAPITests.safetensors([("w", .f32, [4])]).dropLast(4))
        try await APIHarness.with { _, client in
            let ready = try await APIHarness.push(client, model: "acme/demo", files: ["config.json": Self.config])
            let bad = try await APIHarness.push(client, model: "acme/demo", files: ["model.safetensors": broken])
            #expect(bad.state == .quarantined)
            let commit = String(bad.digest.hex.prefix(40))
            for (uri, method) in [("/hf/api/models/acme/demo/revision/2", HTTPRequest.Method.get), ("/hf/api/models/acme/demo/tree/\(commit)", .get),
                                  ("/hf/acme/demo/resolve/2/model.safetensors", .head), ("/hf/acme/demo/resolve/\(commit)/model.safetensors", .get)] {
                try await client.execute(uri: uri, method: method, headers: APIHarness.auth) { response in
                    #expect(response.status == .forbidden && Self.header(response, "X-Error-Code") == "GatedRepo", "\(uri)")
                    #expect(Self.header(response, "X-Error-Message")?.contains("acme/demo:2 is quarantined") == true, "\(uri)")
                }
            }
            try await client.execute(uri: "/hf/api/models/acme/demo/revision/main", method: .get, headers: APIHarness.auth) { response in
                let sha = (try Self.json(response) as? [String: Any])?["sha"] as? String
                #expect(sha == String(ready.digest.hex.prefix(40)))
            }
        }
    }
}
