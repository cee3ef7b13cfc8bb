import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer

/// Who may read or trigger what across models and owners (issue 21, "Security": item 2).
/// Every case here failed before its fix; the suite stays.
@Suite struct SecurityAccessTests {
    static func create(_ client: any TestClientProtocol, _ model: String) async throws {
        try await client.execute(uri: "/api/v1/models/\(model)", method: .post, headers: APIHarness.auth, body: APIHarness.json(CreateModelRequest(description: nil, tags: nil))) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
        }
    }

    /// The status and error body of a `GET` of `uri`.
    static func get(_ client: any TestClientProtocol, _ uri: String, _ headers: HTTPFields, method: HTTPRequest.Method = .get) async throws -> (HTTPResponse.Status, ErrorBody.Inner?) {
        try await client.execute(uri: uri, method: method, headers: headers) { response in
            (response.status, (try? APIHarness.decode(ErrorBody.self, response))?.error)
        }
    }
}

// MARK: Blobs of uncommitted drafts (item 2)

extension SecurityAccessTests {
    /// A blob that only a pending draft names is not the model's yet: a viewer gets the same
    /// 404 as for a digest nobody has, until the draft is committed.
    @Test func aViewerCannotReadABlobOnlyADraftNames() async throws {
        try await APIHarness.with { harness, client in
            try await Self.create(client, "acme/m")
            let contributor = try await harness.principal("carol", .contributor, scope: "acme/*")
            let viewer = try await harness.principal("victor", .viewer, scope: "acme/*")
            let bytes = Array("draft-only weights".utf8)
            let digest = APIHarness.digest(bytes)
            let entries = [ManifestEntry(path: "model.bin", size: UInt64(bytes.count), digest: digest)]
            let draft = try await client.execute(uri: "/api/v1/models/acme/m/drafts", method: .post, headers: contributor, body: APIHarness.json(DraftRequest(files: entries, description: nil))) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return try APIHarness.decode(DraftResponse.self, response)
            }
            try await client.execute(uri: "/api/v1/models/acme/m/blobs/\(digest)", method: .put, headers: contributor + [.contentLength: String(bytes.count)], body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }

            let nobodys = APIHarness.digest(Array("nobody has this".utf8))
            let absent = try await Self.get(client, "/api/v1/models/acme/m/blobs/\(nobodys)", viewer)
            #expect(absent.0 == .notFound && absent.1?.code == "not_found")
            for method in [HTTPRequest.Method.get, .head] {
                let drafted = try await Self.get(client, "/api/v1/models/acme/m/blobs/\(digest)", viewer, method: method)
                #expect(drafted.0 == .notFound, "\(method) of a draft-only blob answered \(drafted.0)")
            }
            let drafted = try await Self.get(client, "/api/v1/models/acme/m/blobs/\(digest)", viewer)
            #expect(drafted.1?.code == "not_found")

            try await client.execute(uri: "/api/v1/models/acme/m/drafts/\(draft.draftId)/commit", method: .post, headers: contributor) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/api/v1/models/acme/m/blobs/\(digest)", method: .get, headers: viewer) { response in
                #expect(response.status == .ok)
                #expect(Array(buffer: response.body) == bytes)
            }
        }
    }
}
