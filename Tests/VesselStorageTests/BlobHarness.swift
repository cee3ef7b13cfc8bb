import Crypto
import Foundation
import NIOCore
import NIOPosix
import Testing
import VesselCore
@testable import VesselStorage

/// The stores the conformance suites run against: the filesystem store always; the S3 store
/// when `VESSEL_TEST_S3_URL` (`s3://bucket/prefix?endpoint=…&region=…`),
/// `VESSEL_TEST_S3_ACCESS_KEY` and `VESSEL_TEST_S3_SECRET_KEY` are set (scripts/services.sh
/// start-rgw prints them). Each S3 test works under a prefix of its own, removed afterwards.
enum BlobHarness {
    static let stores = ["filesystem"] + (s3Config == nil ? [] : ["s3"])

    static var s3Config: (location: S3Location, credentials: S3Credentials)? {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["VESSEL_TEST_S3_URL"], let access = env["VESSEL_TEST_S3_ACCESS_KEY"], let secret = env["VESSEL_TEST_S3_SECRET_KEY"],
              let location = try? S3Location(parsing: url) else { return nil }
        return (location, S3Credentials(accessKey: access, secretKey: secret, sessionToken: env["VESSEL_TEST_S3_SESSION_TOKEN"]))
    }

    /// The smallest chunk a store's upload sessions take (S3: its 5 MiB part minimum).
    static func chunkUnit(_ kind: String) -> Int { kind == "s3" ? 5 << 20 : 100_000 }

    /// A store under test, what it left behind, and a second store on the same storage (a
    /// restarted server, or another replica).
    struct Subject {
        let store: any BlobStore & ChunkedUploadStore
        /// Temporary files or in-progress uploads that a finished write must not leave.
        let leftovers: @Sendable () async throws -> [String]
        let reopen: @Sendable () async throws -> any BlobStore & ChunkedUploadStore
    }

    static func withSubject(_ kind: String, faults: FileFaults = .none, _ body: (Subject) async throws -> Void) async throws {
        if kind == "s3" {
            guard let config = s3Config else { return }
            var base = config.location
            base.prefix = base.key("test-\(UUID().uuidString.lowercased())")
            let location = base
            let credentials = config.credentials
            let (store, _) = try await S3BlobStore.open(location, credentials: credentials)
            let client = store.client
            let prefix = location.key("")
            let subject = Subject(
                store: store,
                leftovers: {
                    let uploads = try await client.listMultipartUploads(prefix: prefix).map(\.key)
                    let staged = try await client.listAllObjects(prefix: location.key("uploads/")).map(\.key)
                    return uploads + staged
                },
                reopen: { try await S3BlobStore.open(location, credentials: credentials).0 }
            )
            do {
                try await body(subject)
            } catch {
                try? await cleanUp(client, prefix: prefix)
                await store.shutdown()
                throw error
            }
            try? await cleanUp(client, prefix: prefix)
            await store.shutdown()
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-blobs-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try FileSystemBlobStore(root: dir, threadPool: NIOThreadPool.singleton, faults: faults)
        try await body(Subject(
            store: store,
            leftovers: { tempFiles(dir) + ((try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/uploads")) ?? []) },
            reopen: {
                let reopened = try FileSystemBlobStore(root: dir, threadPool: NIOThreadPool.singleton)
                try reopened.sweepTemporary()
                return reopened
            }
        ))
    }

    static func cleanUp(_ client: S3Client, prefix: String) async throws {
        for upload in try await client.listMultipartUploads(prefix: prefix) {
            try await client.abortMultipartUpload(upload.key, uploadID: upload.uploadID)
        }
        for version in try await client.listObjectVersions(prefix: prefix) {
            try await client.deleteObject(version.key, versionID: version.versionID)
        }
    }

    /// The blob store alone (most blob tests need nothing else).
    static func withStore(_ kind: String, faults: FileFaults = .none, _ body: (any BlobStore, Subject) async throws -> Void) async throws {
        try await withSubject(kind, faults: faults) { subject in try await body(subject.store, subject) }
    }

    static func bytes(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    static func digest(_ bytes: [UInt8]) -> VesselCore.Digest { VesselCore.Digest(bytes: SHA256.hash(data: bytes)) }

    static func write(_ store: any BlobStore, _ bytes: [UInt8], as digest: VesselCore.Digest? = nil, size: UInt64? = nil, chunk: Int = 100_000) async throws {
        let writer = try await store.makeWriter(expecting: digest ?? self.digest(bytes), size: size ?? UInt64(bytes.count))
        do {
            for start in stride(from: 0, to: bytes.count, by: chunk) {
                try await writer.write(ByteBuffer(bytes: bytes[start..<min(start + chunk, bytes.count)]))
            }
            try await writer.commit()
        } catch {
            await writer.abort()
            throw error
        }
    }

    static func read(_ store: any BlobStore, _ digest: VesselCore.Digest, range: Range<UInt64>? = nil) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await buffer in try await store.read(digest, range: range) { out += Array(buffer.readableBytesView) }
        return out
    }

    static func tempFiles(_ root: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/tmp")) ?? []
    }
}
