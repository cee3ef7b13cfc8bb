import Foundation
import NIOCore
import Testing
import VesselCore
@testable import VesselStorage

/// The garbage collector's last step on a versioned bucket (issue 26): purging a blob leaves no
/// object version and no delete marker of its key; other keys are untouched.
@Suite struct S3PurgeTests {
    static func put(_ store: S3BlobStore, _ bytes: [UInt8]) async throws -> Digest {
        let digest = BlobHarness.digest(bytes)
        let writer = try await store.makeWriter(expecting: digest, size: UInt64(bytes.count))
        try await writer.write(ByteBuffer(bytes: bytes))
        try await writer.commit()
        return digest
    }

    @Test(.enabled(if: BlobHarness.s3Config != nil)) func aPurgedKeyLeavesNoVersionOnAVersionedBucket() async throws {
        let config = try #require(BlobHarness.s3Config)
        var location = config.location
        location.bucket = "vessel-gc-\(UInt32.random(in: 0...UInt32.max))"
        location.prefix = ""
        let (store, _) = try await S3BlobStore.open(location, credentials: config.credentials, createBucket: true)
        do {
            try await store.client.setBucketVersioning("Enabled")
            #expect(try await store.client.bucketVersioning() == "Enabled")
            let doomed = Array("bytes the sweep frees\n".utf8)
            let kept = Array("bytes a version still holds\n".utf8)
            let digest = try await Self.put(store, doomed)
            _ = try await Self.put(store, doomed)  // a second version of the same key
            try await store.client.deleteObject(store.blobKey(digest))  // and a delete marker
            _ = try await Self.put(store, doomed)
            let keep = try await Self.put(store, kept)
            #expect(try await store.client.listObjectVersions(prefix: store.blobKey(digest)).count >= 3)
            let removed = try await store.purge([digest])
            #expect(removed >= 3)
            #expect(try await store.client.listObjectVersions(prefix: store.blobKey(digest)).isEmpty)
            #expect(try await store.size(of: digest) == nil)
            #expect(try await store.size(of: keep) == UInt64(kept.count))
            // Absent blobs are not an error.
            #expect(try await store.purge([digest]) == 0)
            #expect(try await store.purge([keep]) > 0)
        } catch {
            Issue.record("\(error)")
        }
        for leftover in (try? await store.client.listObjectVersions(prefix: "")) ?? [] {
            try? await store.client.deleteObject(leftover.key, versionID: leftover.versionID)
        }
        try? await store.client.deleteBucket()
        await store.shutdown()
    }
}
