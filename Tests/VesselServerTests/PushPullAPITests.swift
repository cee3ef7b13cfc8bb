import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselServer
@testable import VesselStorage

@Suite struct PushPullAPITests {
    let blob: [UInt8] = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }

    @Test func pushCommitAndDownloadWithRangeAndETag() async throws {
        let blob = blob
        try await APIHarness.with { _, client in
            let version = try await APIHarness.push(client, model: "acme/m", files: ["w.bin": blob, "empty": []])
            #expect(version.version == 1 && version.state == .ready && version.files == 2)
            let digest = APIHarness.digest(blob)
            let uri = "/api/v1/models/acme/m/blobs/\(digest)"
            try await client.execute(uri: uri, method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .ok)
                #expect(Array(response.body.readableBytesView) == blob)
                #expect(response.headers[.eTag] == "\"\(digest)\"")
            }
            try await client.execute(uri: uri, method: .head, headers: APIHarness.auth) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentLength] == "300000")
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: uri, method: .get, headers: APIHarness.auth + [.range: "bytes=1000-1999"]) { response in
                #expect(response.status == .partialContent)
                #expect(response.headers[.contentRange] == "bytes 1000-1999/300000")
                #expect(Array(response.body.readableBytesView) == Array(blob[1000..<2000]))
            }
            try await client.execute(uri: uri, method: .get, headers: APIHarness.auth + [.range: "bytes=299990-"]) { response in
                #expect(Array(response.body.readableBytesView) == Array(blob[299_990...]))
            }
            try await client.execute(uri: uri, method: .get, headers: APIHarness.auth + [.range: "bytes=400000-"]) { response in
                #expect(response.status == .rangeNotSatisfiable)
            }
            try await client.execute(uri: uri, method: .get, headers: APIHarness.auth + [.ifNoneMatch: "\"\(digest)\""]) { response in
                #expect(response.status == .notModified)
            }
            // A model that does not hold the blob does not serve it.
            _ = try await APIHarness.push(client, model: "acme/other", files: ["x": [1, 2, 3]])
            try await client.execute(uri: "/api/v1/models/acme/other/blobs/\(digest)", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .notFound)
            }
            // Pushing identical content again uploads nothing and gives version 2.
            let draft = try await client.execute(uri: "/api/v1/models/acme/m/drafts", method: .post, headers: APIHarness.auth, body: APIHarness.json(DraftRequest(files: [ManifestEntry(path: "w.bin", size: 300_000, digest: digest)], description: nil))) {
                try APIHarness.decode(DraftResponse.self, $0)
            }
            #expect(draft.missing.isEmpty)
        }
    }

    @Test func wrongBytesAreRejectedAndNothingIsStored() async throws {
        let blob = blob
        try await APIHarness.with { harness, client in
            let claimed = APIHarness.digest([1, 2, 3])
            try await client.execute(uri: "/api/v1/models/acme/m/blobs/\(claimed)", method: .put, headers: APIHarness.auth + [.contentLength: String(blob.count)], body: ByteBuffer(bytes: blob)) { response in
                #expect(response.status == .unprocessableContent)
                #expect(APIHarness.errorCode(response) == "digest_mismatch")
            }
            #expect(try await harness.registry.store.blobSize(claimed) == nil)
            #expect(try await harness.registry.blobs.size(of: claimed) == nil)
            // (A body shorter than its Content-Length is a cut connection: the blob store
            // conformance suite and the end-to-end kill test cover it.)
            try await client.execute(uri: "/api/v1/models/acme/m/blobs/sha256:abc", method: .put, headers: APIHarness.auth + [.contentLength: "3"], body: ByteBuffer(bytes: [1, 2, 3])) { response in
                #expect(response.status == .badRequest)
                #expect(APIHarness.errorCode(response) == "invalid_argument")
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(harness.dir)/blobs/tmp")
            #expect(leftovers.isEmpty)
        }
    }

    @Test func fullDiskAnswers507AndStoresNothing() async throws {
        let faults = FileFaults { written in written >= 100_000 ? ENOSPC : nil }
        let blob = blob
        try await APIHarness.with(faults: faults) { harness, client in
            let digest = APIHarness.digest(blob)
            try await client.execute(uri: "/api/v1/models/acme/m/blobs/\(digest)", method: .put, headers: APIHarness.auth + [.contentLength: String(blob.count)], body: ByteBuffer(bytes: blob)) { response in
                #expect(response.status.code == 507)
                #expect(APIHarness.errorCode(response) == "insufficient_storage")
            }
            #expect(try await harness.registry.store.blobSize(digest) == nil)
        }
    }

    @Test(arguments: ["/abs", "a/../b", "a\\b", "a\u{0}b", ".git/x", "a//b"])
    func unsafeManifestPathsAreRefused(_ path: String) async throws {
        try await APIHarness.with { harness, client in
            let entry = ManifestEntry(path: path, size: 1, digest: APIHarness.digest([1]))
            try await client.execute(uri: "/api/v1/models/acme/m/drafts", method: .post, headers: APIHarness.auth, body: APIHarness.json(DraftRequest(files: [entry], description: nil))) { response in
                #expect(response.status == .badRequest)
                #expect(APIHarness.errorCode(response) == "invalid_argument")
            }
            await #expect(throws: VesselError.self) { _ = try await harness.registry.store.model(try ModelName("acme/m")) }
        }
    }

    @Test func commitWithMissingBlobsIsRefused() async throws {
        try await APIHarness.with { _, client in
            let entries = [ManifestEntry(path: "a", size: 3, digest: APIHarness.digest([1, 2, 3]))]
            let draft = try await client.execute(uri: "/api/v1/models/acme/m/drafts", method: .post, headers: APIHarness.auth, body: APIHarness.json(DraftRequest(files: entries, description: nil))) {
                try APIHarness.decode(DraftResponse.self, $0)
            }
            #expect(draft.missing == [APIHarness.digest([1, 2, 3])])
            try await client.execute(uri: "/api/v1/models/acme/m/drafts/\(draft.draftId)/commit", method: .post, headers: APIHarness.auth) { response in
                #expect(response.status == .unprocessableContent)
                let error = try APIHarness.decode(ErrorBody.self, response).error
                #expect(error.code == "missing_blobs")
                #expect(error.details == [APIHarness.digest([1, 2, 3]).description])
            }
            try await client.execute(uri: "/api/v1/models/acme/m/versions", method: .get, headers: APIHarness.auth) { response in
                let page = try APIHarness.decode(Page<VersionInfo>.self, response)
                #expect(page.items.isEmpty)
            }
        }
    }

    @Test func declaredSizeThatLiesQuarantines() async throws {
        let blob = blob
        try await APIHarness.with { _, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["w": blob])
            let lie = ManifestEntry(path: "w", size: 5, digest: APIHarness.digest(blob))
            let draft = try await client.execute(uri: "/api/v1/models/acme/m/drafts", method: .post, headers: APIHarness.auth, body: APIHarness.json(DraftRequest(files: [lie], description: nil))) {
                try APIHarness.decode(DraftResponse.self, $0)
            }
            try await client.execute(uri: "/api/v1/models/acme/m/drafts/\(draft.draftId)/commit", method: .post, headers: APIHarness.auth) { response in
                let version = try APIHarness.decode(VersionInfo.self, response)
                #expect(version.state == .quarantined)
                #expect(version.findings.first?.code == "size_mismatch")
            }
        }
    }

    @Test func invalidNamesAndUnknownThings() async throws {
        try await APIHarness.with { _, client in
            try await client.execute(uri: "/api/v1/models/Acme/m", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/models/acme/nope", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .notFound)
                #expect(APIHarness.errorCode(response) == "not_found")
            }
            try await client.execute(uri: "/api/v1/models/acme/nope/aliases/prod", method: .put, headers: APIHarness.auth, body: APIHarness.json(SetAliasRequest(version: 1))) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/models/acme/m/drafts", method: .post, headers: APIHarness.auth, body: ByteBuffer(string: "{not json")) { response in
                #expect(response.status == .badRequest)
            }
        }
    }
}
