import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer
@testable import VesselStorage

/// Piece digests computed at upload, in the pass that verifies the blob (decision 0038): after
/// each upload path the `blob_pieces` row holds the SHA-256 of every 64 MiB piece, computed
/// here independently from the bytes; `sources` answers from that row without storage.
@Suite struct PieceDigestUploadTests {
    static let piece = Int(PeerProtocol.pieceSize)

    /// The hex SHA-256 of every 64 MiB piece of `bytes`, the last one shorter.
    static func expectedPieces(_ bytes: [UInt8]) -> [String] {
        stride(from: 0, to: bytes.count, by: piece).map { VesselCore.Digest(bytes: SHA256.hash(data: bytes[$0..<min($0 + piece, bytes.count)])).hex }
    }

    static func storedPieces(_ harness: APIHarness, _ bytes: [UInt8]) async throws -> [String]? {
        try await harness.registry.store.blobPieces(of: APIHarness.digest(bytes), pieceSize: PeerProtocol.pieceSize)
    }

    /// Blobs straddling piece boundaries: 0 bytes, 64 MiB + 1, exactly 2 × 64 MiB.
    static func blobs() -> (empty: [UInt8], overOne: [UInt8], twoPieces: [UInt8]) {
        let two = UploadSessionAPITests.payload(mebibytes: 128)
        var over = Array(two[0..<piece])
        over.append(0x5A)
        return ([], over, two)
    }

    /// Sends `bytes` through an upload session, its chunks in reverse order (so the server's
    /// prefix hashing reads back what arrived out of order), and completes it.
    static func uploadBySession(_ client: any TestClientProtocol, _ bytes: [UInt8], beforeCompleting: (String) -> Void = { _ in }) async throws {
        let session = try await UploadSessionAPITests.start(client, bytes, status: .created)
        for index in (0..<session.chunks).reversed() {
            #expect(try await UploadSessionAPITests.putChunk(client, session, bytes, index) == .created)
        }
        beforeCompleting(session.uploadId)
        try await client.execute(uri: "\(UploadSessionAPITests.base)/\(session.uploadId)/complete", method: .post, headers: APIHarness.auth) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
        }
    }

    /// The single-request upload (`PUT …/blobs/:digest`) keeps the pieces; `sources` then
    /// answers them with the blob's file deleted from storage, so it did not read the blob.
    @Test func directUploadsKeepPiecesAndSourcesNeedNoStorage() async throws {
        let (empty, overOne, twoPieces) = Self.blobs()
        try await APIHarness.with { harness, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["empty": empty, "a.bin": overOne, "b.bin": twoPieces])
            #expect(try await Self.storedPieces(harness, empty) == [])
            #expect(try await Self.storedPieces(harness, overOne) == Self.expectedPieces(overOne))
            #expect(Self.expectedPieces(overOne).count == 2 && Self.expectedPieces(twoPieces).count == 2)
            #expect(try await Self.storedPieces(harness, twoPieces) == Self.expectedPieces(twoPieces))

            for bytes in [overOne, twoPieces] {
                let digest = APIHarness.digest(bytes)
                let file = "\(harness.dir)/blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)"
                #expect(FileManager.default.fileExists(atPath: file))
                try FileManager.default.removeItem(atPath: file)
            }
            let announced = try await PeerAPITests.announce(client, "node-a", [APIHarness.digest(overOne), APIHarness.digest(twoPieces)])
            #expect(announced.status == .ok, "\(announced.object)")
            for bytes in [overOne, twoPieces] {
                let answer = try await PeerAPITests.sources(client, APIHarness.digest(bytes))
                #expect(answer.status == .ok, "\(answer.object)")
                #expect(try answer.decode(BlobSources.self).pieces == Self.expectedPieces(bytes))
            }
        }
    }

    /// Upload sessions on the filesystem store, with 48 MiB chunks (piece boundaries inside
    /// chunks) sent last to first: the pieces come from the prefix hashing that verifies the
    /// blob at completion.
    @Test func sessionUploadsKeepPieces() async throws {
        let (empty, overOne, twoPieces) = Self.blobs()
        try await APIHarness.with(configure: { $0.uploadChunkSize = 48 << 20 }) { harness, client in
            for bytes in [empty, overOne, twoPieces] {
                try await Self.uploadBySession(client, bytes)
                #expect(try await Self.storedPieces(harness, bytes) == Self.expectedPieces(bytes), "\(bytes.count) bytes")
            }
        }
    }

    /// The same on S3 storage: sessions (pieces from the local spool's hashing, or from the
    /// re-read of the assembled object when the spool is gone, as on another replica) and
    /// direct writes (multipart at the final key).
    @Test(.enabled(if: S3ServeTests.s3 != nil, "needs a real S3 server (VESSEL_TEST_S3_URL, VESSEL_TEST_S3_ACCESS_KEY, VESSEL_TEST_S3_SECRET_KEY)"))
    func s3UploadsKeepPieces() async throws {
        let s3 = try #require(S3ServeTests.s3)
        let url = try S3ServeTests.isolatedURL(s3.url)
        let (empty, overOne, twoPieces) = Self.blobs()
        let small = [0xFF] + Array(twoPieces[1..<(5 << 20)])
        try await APIHarness.with(configure: { options in
            options.storageURL = url
            options.storageCredentials = S3Credentials(accessKey: s3.access, secretKey: s3.secret)
            options.uploadChunkSize = 48 << 20
        }) { harness, client in
            let s3 = try #require(harness.registry.blobs as? S3BlobStore)
            for bytes in [empty, twoPieces] {
                try await Self.uploadBySession(client, bytes)
                #expect(try await Self.storedPieces(harness, bytes) == Self.expectedPieces(bytes), "session of \(bytes.count) bytes")
            }
            #expect(s3.completedLocally.load(ordering: .relaxed) == 1 && s3.completedByRereading.load(ordering: .relaxed) == 0)
            let reread = [0xA5] + Array(overOne.dropFirst())
            try await Self.uploadBySession(client, reread) { s3.spool.remove($0) }
            #expect(s3.completedByRereading.load(ordering: .relaxed) == 1, "completed by re-reading the assembled object")
            #expect(try await Self.storedPieces(harness, reread) == Self.expectedPieces(reread))
            _ = try await APIHarness.push(client, model: "acme/m", files: ["a.bin": overOne, "s.bin": small])
            #expect(try await Self.storedPieces(harness, overOne) == Self.expectedPieces(overOne))
            #expect(try await Self.storedPieces(harness, small) == Self.expectedPieces(small))
        }
    }

    /// `--piece-digests on-demand`: uploads keep no pieces; the first `sources` with a peer
    /// computes them from storage and keeps them.
    @Test func onDemandLeavesPiecesToTheFirstPeer() async throws {
        let bytes = Array(Self.blobs().overOne)
        try await APIHarness.with(configure: { $0.pieceDigestsAtUpload = false }) { harness, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["a.bin": bytes])
            #expect(try await Self.storedPieces(harness, bytes) == nil)
            _ = try await PeerAPITests.announce(client, "node-a", [APIHarness.digest(bytes)])
            let answer = try await PeerAPITests.sources(client, APIHarness.digest(bytes))
            #expect(try answer.decode(BlobSources.self).pieces == Self.expectedPieces(bytes))
            #expect(try await Self.storedPieces(harness, bytes) == Self.expectedPieces(bytes))
        }
    }

    /// The hasher alone: both digests from one pass, whatever the buffers' sizes.
    @Test func pieceHasherMatchesSeparateHashes() {
        let bytes = (0..<1000).map { UInt8($0 % 251) }
        for step in [1, 7, 300, 301, 1000] {
            var hasher = PieceHasher(pieceSize: 300)
            for start in stride(from: 0, to: bytes.count, by: step) {
                bytes[start..<min(start + step, bytes.count)].withUnsafeBytes { hasher.update(bufferPointer: $0) }
            }
            let expected = stride(from: 0, to: 1000, by: 300).map { VesselCore.Digest(bytes: SHA256.hash(data: bytes[$0..<min($0 + 300, 1000)])).hex }
            #expect(hasher.pieces == expected, "buffers of \(step)")
            #expect(hasher.digest == APIHarness.digest(bytes))
        }
        #expect(PieceHasher(pieceSize: 300).pieces == [])
        #expect(PieceHasher(pieceSize: nil).pieces == nil)
    }
}
