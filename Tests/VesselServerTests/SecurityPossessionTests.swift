import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselServer

/// Knowing a digest never grants its content (issue 21, item 1). A principal may name a stored
/// blob in a version only when a version it may read holds it, or when it proved possession by
/// uploading the bytes; drafts, upload sessions and single-blob PUTs reveal nothing about blobs
/// it may not read. Every case here failed before the fix; the suite stays.
@Suite struct SecurityPossessionTests {
    static let secretBytes = Array("acme's secret weights, only acme/secret holds them".utf8)
    static var secret: VesselCore.Digest { APIHarness.digest(secretBytes) }

    static func draft(_ client: any TestClientProtocol, _ model: String, _ files: [String: [UInt8]], as headers: HTTPFields) async throws -> DraftResponse {
        let entries = files.map { ManifestEntry(path: $0.key, size: UInt64($0.value.count), digest: APIHarness.digest($0.value)) }
        return try await client.execute(uri: "/api/v1/models/\(model)/drafts", method: .post, headers: headers, body: APIHarness.json(DraftRequest(files: entries, description: nil))) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
            return try APIHarness.decode(DraftResponse.self, response)
        }
    }

    static func commit(_ client: any TestClientProtocol, _ model: String, _ draft: DraftResponse, as headers: HTTPFields) async throws -> (HTTPResponse.Status, String?) {
        try await client.execute(uri: "/api/v1/models/\(model)/drafts/\(draft.draftId)/commit", method: .post, headers: headers) { response in
            (response.status, APIHarness.errorCode(response))
        }
    }

    /// `PUT …/blobs/:digest` with `body`, declaring `length` (the body's by default).
    static func put(_ client: any TestClientProtocol, _ model: String, _ digest: VesselCore.Digest, _ body: [UInt8], as headers: HTTPFields) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: "/api/v1/models/\(model)/blobs/\(digest)", method: .put, headers: headers + [.contentLength: String(body.count)], body: ByteBuffer(bytes: body)) { response in
            (response.status, String(buffer: response.body))
        }
    }

    /// The stored file of a blob (the filesystem store's layout) and its inode and change time.
    static func stat(_ harness: APIHarness, _ digest: VesselCore.Digest) -> (inode: UInt64, changed: Int) {
        var info = Foundation.stat()
        let path = "\(harness.dir)/blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)"
        #expect(lstat(path, &info) == 0, "no stored file at \(path)")
        return (UInt64(info.st_ino), info.st_ctim.tv_sec * 1_000_000_000 + info.st_ctim.tv_nsec)
    }

    /// The attack of the report: a contributor on `beta/*` names acme's digest in a draft of
    /// `beta/b`. The digest is missing for them, committing without the bytes is refused, and
    /// the blob is not served through `beta/b`. Sending the bytes proves possession: the server
    /// hashes them, writes nothing (same stored file) and answers as for a new blob.
    @Test func knowingADigestDoesNotGrantItsContent() async throws {
        try await APIHarness.with { harness, client in
            _ = try await APIHarness.push(client, model: "acme/secret", files: ["w.bin": Self.secretBytes])
            let before = Self.stat(harness, Self.secret)
            let bob = try await harness.principal("bob", .contributor, scope: "beta/*")

            let draft = try await Self.draft(client, "beta/b", ["w.bin": Self.secretBytes], as: bob)
            #expect(draft.missing == [Self.secret])
            let refused = try await Self.commit(client, "beta/b", draft, as: bob)
            #expect(refused.0 == .unprocessableContent && refused.1 == "missing_blobs")
            let read = try await client.execute(uri: "/api/v1/models/beta/b/blobs/\(Self.secret)", method: .get, headers: bob) { $0.status }
            #expect(read == .notFound)

            let sent = try await Self.put(client, "beta/b", Self.secret, Self.secretBytes, as: bob)
            #expect(sent.0 == .created, "\(sent.1)")
            #expect(sent.1.contains("\"created\":true"))
            let after = Self.stat(harness, Self.secret)
            #expect(after.inode == before.inode && after.changed == before.changed, "re-sending a stored blob rewrote it")

            let committed = try await Self.commit(client, "beta/b", draft, as: bob)
            #expect(committed.0 == .created, "\(committed)")
            try await client.execute(uri: "/api/v1/models/beta/b/blobs/\(Self.secret)", method: .get, headers: bob) { response in
                #expect(response.status == .ok && Array(buffer: response.body) == Self.secretBytes)
            }
        }
    }

    /// A PUT of wrong bytes or a wrong size for a stored digest the caller may not read is
    /// answered exactly as for a digest nobody has: the body is read and judged, never the
    /// stored size ("stored with N bytes") and never without reading it.
    @Test func aPutRevealsNothingAboutBlobsTheCallerCannotRead() async throws {
        try await APIHarness.with { harness, client in
            _ = try await APIHarness.push(client, model: "acme/secret", files: ["w.bin": Self.secretBytes])
            let bob = try await harness.principal("bob", .contributor, scope: "beta/*")
            let absent = APIHarness.digest(Array("nobody stores this".utf8))
            let wrongBytes = [UInt8](repeating: 0x41, count: Self.secretBytes.count)
            for body in [wrongBytes, [0x41], Self.secretBytes + [0]] {
                let stored = try await Self.put(client, "beta/b", Self.secret, body, as: bob)
                let nobodys = try await Self.put(client, "beta/b", absent, body, as: bob)
                #expect(stored.0 == nobodys.0 && stored.0 == .unprocessableContent, "\(stored) vs \(nobodys)")
                #expect(stored.1.replacingOccurrences(of: Self.secret.description, with: "D") == nobodys.1.replacingOccurrences(of: absent.description, with: "D"))
                #expect(!stored.1.contains("stored with"))
            }
            // Nothing was proved: the digest is still missing for bob.
            #expect(try await Self.draft(client, "beta/b", ["w.bin": Self.secretBytes], as: bob).missing == [Self.secret])
        }
    }

    /// Upload sessions: starting one for acme's digest neither says "already stored" nor
    /// compares sizes for bob; completing it verifies the chunks although the blob is stored,
    /// proves possession, and leaves the stored file alone. Wrong chunks are refused.
    @Test func anUploadSessionProvesPossessionWithoutASecondObject() async throws {
        try await APIHarness.with { harness, client in
            _ = try await APIHarness.push(client, model: "acme/secret", files: ["w.bin": Self.secretBytes])
            let before = Self.stat(harness, Self.secret)
            let bob = try await harness.principal("bob", .contributor, scope: "beta/*")
            let base = "/api/v1/models/beta/b/uploads"
            func start(size: Int) async throws -> UploadSessionInfo {
                try await client.execute(uri: base, method: .post, headers: bob, body: APIHarness.json(CreateUploadRequest(digest: Self.secret, size: UInt64(size)))) { response in
                    #expect(response.status == .created, "\(String(buffer: response.body))")
                    return try APIHarness.decode(UploadSessionInfo.self, response)
                }
            }
            func send(_ session: UploadSessionInfo, _ bytes: [UInt8]) async throws -> (HTTPResponse.Status, String?) {
                try await client.execute(uri: "\(base)/\(session.uploadId)/chunks/0", method: .put, headers: bob + [.contentLength: String(bytes.count)], body: ByteBuffer(bytes: bytes)) { response in
                    #expect(response.status == .created, "\(String(buffer: response.body))")
                }
                return try await client.execute(uri: "\(base)/\(session.uploadId)/complete", method: .post, headers: bob) { response in
                    (response.status, response.status == .created ? String(buffer: response.body) : APIHarness.errorCode(response))
                }
            }
            // A wrong size starts a session like any other (no "stored with N bytes").
            let wrongSize = try await start(size: 3)
            #expect(try await send(wrongSize, [1, 2, 3]).1 == "digest_mismatch")
            let forged = try await start(size: Self.secretBytes.count)
            #expect(try await send(forged, [UInt8](repeating: 7, count: Self.secretBytes.count)).1 == "digest_mismatch")
            #expect(try await Self.draft(client, "beta/b", ["w.bin": Self.secretBytes], as: bob).missing == [Self.secret])

            let honest = try await start(size: Self.secretBytes.count)
            let completed = try await send(honest, Self.secretBytes)
            #expect(completed.0 == .created && completed.1?.contains("\"created\":true") == true, "\(completed)")
            let after = Self.stat(harness, Self.secret)
            #expect(after.inode == before.inode && after.changed == before.changed, "completing rewrote a stored blob")
            let draft = try await Self.draft(client, "beta/b", ["w.bin": Self.secretBytes], as: bob)
            #expect(draft.missing.isEmpty)
            #expect(try await Self.commit(client, "beta/b", draft, as: bob).0 == .created)
        }
    }

    /// What a caller may read still deduplicates: a contributor on `acme/*` names acme/secret's
    /// blob in acme/copy without sending it, a session for it answers `already_exists`, and a
    /// PUT is answered from the index. A proof is the prover's, for that model: another
    /// contributor of `beta/*` must send the bytes until a version of `beta/b` holds them.
    @Test func whatTheCallerMayReadStillDeduplicates() async throws {
        try await APIHarness.with { harness, client in
            _ = try await APIHarness.push(client, model: "acme/secret", files: ["w.bin": Self.secretBytes])
            let carol = try await harness.principal("carol", .contributor, scope: "acme/*")
            let draft = try await Self.draft(client, "acme/copy", ["w.bin": Self.secretBytes], as: carol)
            #expect(draft.missing.isEmpty)
            try await client.execute(uri: "/api/v1/models/acme/copy/uploads", method: .post, headers: carol,
                                     body: APIHarness.json(CreateUploadRequest(digest: Self.secret, size: UInt64(Self.secretBytes.count)))) { response in
                #expect(response.status == .conflict && APIHarness.errorCode(response) == "already_exists")
            }
            #expect(try await Self.put(client, "acme/copy", Self.secret, Self.secretBytes, as: carol).0 == .ok)
            #expect(try await Self.commit(client, "acme/copy", draft, as: carol).0 == .created)

            let bob = try await harness.principal("bob", .contributor, scope: "beta/*")
            let dave = try await harness.principal("dave", .contributor, scope: "beta/*")
            #expect(try await Self.put(client, "beta/b", Self.secret, Self.secretBytes, as: bob).0 == .created)
            #expect(try await Self.put(client, "beta/b", Self.secret, Self.secretBytes, as: bob).0 == .ok)
            #expect(try await Self.draft(client, "beta/c", ["w.bin": Self.secretBytes], as: bob).missing == [Self.secret])
            let davesDraft = try await Self.draft(client, "beta/b", ["w.bin": Self.secretBytes], as: dave)
            #expect(davesDraft.missing == [Self.secret])
            let bobsDraft = try await Self.draft(client, "beta/b", ["w.bin": Self.secretBytes], as: bob)
            #expect(bobsDraft.missing.isEmpty)
            #expect(try await Self.commit(client, "beta/b", bobsDraft, as: bob).0 == .created)
            // Now a version of beta/b, which dave may read, holds it.
            #expect(try await Self.draft(client, "beta/d", ["w.bin": Self.secretBytes], as: dave).missing.isEmpty)
        }
    }
}
