import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import VesselCore
@testable import VesselServer
@testable import VesselStorage

/// A registry on a temp dir with a known admin token, served in-process.
struct APIHarness {
    static let adminToken = "vsl_test-admin-token"
    let registry: Registry
    let dir: String

    static func with(
        faults: FileFaults = .none, configure: (inout ServerOptions) -> Void = { _ in }, clock: (@Sendable () -> Int64)? = nil,
        _ body: @Sendable (APIHarness, any TestClientProtocol) async throws -> Void
    ) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-api-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = ServerOptions(dataDir: dir, adminToken: adminToken)
        configure(&options)
        let registry = try await Registry.openEmbedded(options, logger: Logger(label: "test"), faults: faults, clock: clock)
        let harness = APIHarness(registry: registry, dir: dir)
        let app = Application(router: registry.makeRouter().0)
        do {
            try await app.test(.router) { client in try await body(harness, client) }
        } catch {
            await registry.shutdown()
            throw error
        }
        await registry.shutdown()
    }

    static var auth: HTTPFields { [.authorization: "Bearer \(adminToken)"] }

    static func json(_ value: some Encodable) throws -> ByteBuffer {
        ByteBuffer(data: try JSONEncoder().encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(buffer: response.body))
    }

    static func errorCode(_ response: TestResponse) -> String? {
        (try? decode(ErrorBody.self, response))?.error.code
    }

    static func digest(_ bytes: [UInt8]) -> VesselCore.Digest { VesselCore.Digest(bytes: SHA256.hash(data: bytes)) }

    /// Uploads blobs and commits a version holding `files`, as `auth` (the admin by default).
    static func push(_ client: any TestClientProtocol, model: String, files: [String: [UInt8]], as auth: HTTPFields = APIHarness.auth) async throws -> VersionInfo {
        let entries = files.map { ManifestEntry(path: $0.key, size: UInt64($0.value.count), digest: digest($0.value)) }
        let draft = try await client.execute(uri: "/api/v1/models/\(model)/drafts", method: .post, headers: auth, body: json(DraftRequest(files: entries, description: nil))) { response in
            #expect(response.status == .created)
            return try decode(DraftResponse.self, response)
        }
        for (_, bytes) in files where draft.missing.contains(digest(bytes)) {
            try await client.execute(uri: "/api/v1/models/\(model)/blobs/\(digest(bytes))", method: .put, headers: auth + [.contentLength: String(bytes.count)], body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }
        }
        return try await client.execute(uri: "/api/v1/models/\(model)/drafts/\(draft.draftId)/commit", method: .post, headers: auth) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
            return try decode(VersionInfo.self, response)
        }
    }
}

func + (lhs: HTTPFields, rhs: HTTPFields) -> HTTPFields {
    var out = lhs
    out.append(contentsOf: rhs)
    return out
}
