import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselServer
@testable import VesselStorage

/// Upload sessions through the router, in-process, with 1 MiB chunks.
@Suite struct UploadSessionAPITests {
    static let mib = 1 << 20
    static let base = "/api/v1/models/acme/m/uploads"

    /// `count` MiB of varied bytes, cheap to make in a debug build.
    static func payload(mebibytes count: Int) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: mib)
        var generator = SystemRandomNumberGenerator()
        for i in stride(from: 0, to: mib, by: 8) { withUnsafeBytes(of: generator.next()) { block.replaceSubrange(i..<i + 8, with: $0) } }
        var out = [UInt8]()
        out.reserveCapacity(count * mib)
        for n in 0..<count {
            block[0] = UInt8(truncatingIfNeeded: n)
            block[1] = UInt8(truncatingIfNeeded: n >> 8)
            out += block
        }
        return out
    }

    static func start(_ client: any TestClientProtocol, _ bytes: [UInt8], status: HTTPResponse.Status) async throws -> UploadSessionInfo {
        let request = CreateUploadRequest(digest: APIHarness.digest(bytes), size: UInt64(bytes.count))
        return try await client.execute(uri: base, method: .post, headers: APIHarness.auth, body: APIHarness.json(request)) { response in
            #expect(response.status == status, "\(String(buffer: response.body))")
            return try APIHarness.decode(UploadSessionInfo.self, response)
        }
    }

    /// Sends chunk `index`; with `cutAt`, only that many bytes arrive (a dropped connection).
    @discardableResult
    static func putChunk(_ client: any TestClientProtocol, _ session: UploadSessionInfo, _ bytes: [UInt8], _ index: Int, cutAt: Int? = nil, headers: HTTPFields = APIHarness.auth) async throws -> HTTPResponse.Status {
        let start = index * Int(session.chunkSize)
        let end = min(start + Int(session.chunkSize), bytes.count)
        let body = Array(bytes[start..<(cutAt.map { start + $0 } ?? end)])
        return try await client.execute(uri: "\(base)/\(session.uploadId)/chunks/\(index)", method: .put, headers: headers + [.contentLength: String(end - start)], body: ByteBuffer(bytes: body)) { $0.status }
    }

    @Test func sixtyFourMiBCutSeveralTimesResumesToAnIdenticalBlob() async throws {
        let bytes = Self.payload(mebibytes: 64)
        let digest = APIHarness.digest(bytes)
        try await APIHarness.with(configure: { $0.uploadChunkSize = UInt64(Self.mib) }) { harness, client in
            var session = try await Self.start(client, bytes, status: .created)
            #expect(session.chunkSize == UInt64(Self.mib) && session.chunks == 64 && session.received.isEmpty && session.nextChunk == 0)
            // Three connections drop mid-chunk; each time the client "restarts", asks where it
            // was, and continues from the chunks the server stored durably.
            for cut in [9, 30, 51] {
                for index in session.missing where index <= cut {
                    let status = try await Self.putChunk(client, session, bytes, index, cutAt: index == cut ? Self.mib / 3 : nil)
                    #expect(status == (index == cut ? .unprocessableContent : .created))
                }
                let resumed = try await Self.start(client, bytes, status: .ok)
                #expect(resumed.uploadId == session.uploadId)
                #expect(resumed.received == Array(0..<cut) && resumed.nextChunk == cut)
                session = resumed
            }
            for index in session.missing { #expect(try await Self.putChunk(client, session, bytes, index) == .created) }
            // Re-sending a stored chunk is idempotent.
            #expect(try await Self.putChunk(client, session, bytes, 5) == .ok)
            try await client.execute(uri: "\(Self.base)/\(session.uploadId)/complete", method: .post, headers: APIHarness.auth) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                let uploaded = try APIHarness.decode(UploadedBlob.self, response)
                #expect(uploaded == UploadedBlob(digest: digest, size: UInt64(bytes.count), created: true))
            }
            var hasher = SHA256()
            for try await buffer in try await harness.registry.blobs.read(digest, range: nil) {
                buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            }
            #expect(VesselCore.Digest(bytes: hasher.finalize()) == digest)
            #expect(try await harness.registry.store.blobSize(digest) == UInt64(bytes.count))
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(harness.dir)/blobs/uploads").isEmpty)
            // The session is gone, the blob is there: a new start says so, and a version commits.
            try await client.execute(uri: Self.base, method: .post, headers: APIHarness.auth, body: APIHarness.json(CreateUploadRequest(digest: digest, size: UInt64(bytes.count)))) { response in
                #expect(response.status == .conflict && APIHarness.errorCode(response) == "already_exists")
            }
            let version = try await APIHarness.push(client, model: "acme/m", files: ["big.bin": bytes])
            #expect(version.state == .ready)
        }
    }

    @Test func chunksAreCheckedAndSessionsArePrivate() async throws {
        let bytes = Self.payload(mebibytes: 3)
        try await APIHarness.with(configure: { $0.uploadChunkSize = UInt64(Self.mib) }) { harness, client in
            let session = try await Self.start(client, bytes, status: .created)
            #expect(try await Self.putChunk(client, session, bytes, 0) == .created)
            var other = bytes
            other[10] ^= 1
            #expect(try await Self.putChunk(client, session, other, 0) == .conflict)
            #expect(try await Self.putChunk(client, session, bytes, 3) == .badRequest)
            try await client.execute(uri: "\(Self.base)/\(session.uploadId)/chunks/1", method: .put, headers: APIHarness.auth + [.contentLength: "5"], body: ByteBuffer(bytes: [1, 2, 3, 4, 5])) { response in
                #expect(response.status == .unprocessableContent && APIHarness.errorCode(response) == "size_mismatch")
            }
            try await client.execute(uri: "\(Self.base)/\(session.uploadId)/complete", method: .post, headers: APIHarness.auth) { response in
                #expect(response.status == .conflict)
                let error = try APIHarness.decode(ErrorBody.self, response).error
                #expect(error.details == ["1", "2"])
            }
            // Another principal does not see the session; another model neither.
            try await client.execute(uri: "/api/v1/principals", method: .post, headers: APIHarness.auth, body: APIHarness.json(CreatePrincipalRequest(name: "ci", kind: .service))) { _ in }
            try await client.execute(uri: "/api/v1/grants", method: .post, headers: APIHarness.auth, body: APIHarness.json(GrantRequest(principal: "ci", role: .contributor, scope: "acme/*"))) { _ in }
            let token = try await client.execute(uri: "/api/v1/tokens", method: .post, headers: APIHarness.auth, body: APIHarness.json(CreateTokenRequest(principal: "ci", name: nil, expiresInSeconds: nil))) {
                try APIHarness.decode(CreatedToken.self, $0).token
            }
            try await client.execute(uri: "\(Self.base)/\(session.uploadId)", method: .get, headers: [.authorization: "Bearer \(token)"]) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/models/acme/other/uploads/\(session.uploadId)", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "\(Self.base)/\(session.uploadId)", method: .get, headers: APIHarness.auth) { response in
                let info = try APIHarness.decode(UploadSessionInfo.self, response)
                #expect(info.received == [0])
            }
            // Abort deletes the chunks.
            try await client.execute(uri: "\(Self.base)/\(session.uploadId)", method: .delete, headers: APIHarness.auth) { #expect($0.status == .noContent) }
            #expect(!FileManager.default.fileExists(atPath: "\(harness.dir)/blobs/uploads/\(session.uploadId)"))
            try await client.execute(uri: "\(Self.base)/\(session.uploadId)", method: .get, headers: APIHarness.auth) { #expect($0.status == .notFound) }
        }
    }

    @Test func wrongBytesFailTheCompletionAndStoreNothing() async throws {
        let bytes = Self.payload(mebibytes: 2)
        try await APIHarness.with(configure: { $0.uploadChunkSize = UInt64(Self.mib) }) { harness, client in
            let claimed = APIHarness.digest([1, 2, 3])
            let session = try await client.execute(uri: Self.base, method: .post, headers: APIHarness.auth, body: APIHarness.json(CreateUploadRequest(digest: claimed, size: UInt64(bytes.count)))) {
                try APIHarness.decode(UploadSessionInfo.self, $0)
            }
            for index in 0..<2 { try await Self.putChunk(client, session, bytes, index) }
            try await client.execute(uri: "\(Self.base)/\(session.uploadId)/complete", method: .post, headers: APIHarness.auth) { response in
                #expect(response.status == .unprocessableContent && APIHarness.errorCode(response) == "digest_mismatch")
            }
            #expect(try await harness.registry.store.blobSize(claimed) == nil)
            #expect(try await harness.registry.store.uploadSession(id: session.uploadId) == nil)
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(harness.dir)/blobs/uploads").isEmpty)
        }
    }
}
