import Crypto
import Foundation
import NIOCore
import NIOPosix
import Testing
import VesselCore
@testable import VesselStorage

/// The blob store's contract, run against every store in `BlobHarness.stores`.
enum BlobHarness {
    /// The filesystem store always; the S3 store joins when `VESSEL_TEST_S3_ENDPOINT` is set
    /// (the scale-out issue adds it).
    static let stores = ["filesystem"]

    static func withStore(_ kind: String, faults: FileFaults = .none, _ body: (any BlobStore, String) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-blobs-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try FileSystemBlobStore(root: dir, threadPool: NIOThreadPool.singleton, faults: faults)
        try await body(store, dir)
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

@Suite struct BlobStoreConformanceTests {
    @Test(arguments: BlobHarness.stores)
    func writesVerifiesAndReads(_ kind: String) async throws {
        try await BlobHarness.withStore(kind) { store, _ in
            let bytes = BlobHarness.bytes(3_500_000)
            let digest = BlobHarness.digest(bytes)
            #expect(try await store.size(of: digest) == nil)
            try await BlobHarness.write(store, bytes)
            #expect(try await store.size(of: digest) == UInt64(bytes.count))
            #expect(try await BlobHarness.read(store, digest) == bytes)
            #expect(try await BlobHarness.read(store, digest, range: 1_000_000..<2_500_001) == Array(bytes[1_000_000..<2_500_001]))
            #expect(try await BlobHarness.read(store, digest, range: 3_500_000..<3_500_000) == [])
            await expectCode(.rangeNotSatisfiable) { _ = try await store.read(digest, range: 10..<3_500_001) }
            // Writing the same content again is harmless.
            try await BlobHarness.write(store, bytes)
            #expect(try await BlobHarness.read(store, digest) == bytes)
        }
    }

    @Test(arguments: BlobHarness.stores)
    func emptyBlob(_ kind: String) async throws {
        try await BlobHarness.withStore(kind) { store, _ in
            try await BlobHarness.write(store, [])
            #expect(try await store.size(of: BlobHarness.digest([])) == 0)
            #expect(try await BlobHarness.read(store, BlobHarness.digest([])) == [])
        }
    }

    @Test(arguments: BlobHarness.stores)
    func wrongDigestStoresNothing(_ kind: String) async throws {
        try await BlobHarness.withStore(kind) { store, root in
            let bytes = BlobHarness.bytes(1000)
            let claimed = BlobHarness.digest(BlobHarness.bytes(1000, seed: 9))
            await expectCode(.digestMismatch) { try await BlobHarness.write(store, bytes, as: claimed) }
            let stored = try await store.size(of: claimed)
            #expect(stored == nil)
            #expect(BlobHarness.tempFiles(root).isEmpty)
        }
    }

    @Test(arguments: BlobHarness.stores)
    func wrongSizeStoresNothing(_ kind: String) async throws {
        try await BlobHarness.withStore(kind) { store, root in
            let bytes = BlobHarness.bytes(1000)
            await expectCode(.sizeMismatch) { try await BlobHarness.write(store, bytes, size: 999) }
            await expectCode(.sizeMismatch) { try await BlobHarness.write(store, bytes, size: 1001) }
            let stored = try await store.size(of: BlobHarness.digest(bytes))
            #expect(stored == nil)
            #expect(BlobHarness.tempFiles(root).isEmpty)
        }
    }

    @Test(arguments: BlobHarness.stores)
    func abortLeavesNothing(_ kind: String) async throws {
        try await BlobHarness.withStore(kind) { store, root in
            let bytes = BlobHarness.bytes(10_000)
            let writer = try await store.makeWriter(expecting: BlobHarness.digest(bytes), size: 10_000)
            try await writer.write(ByteBuffer(bytes: bytes[0..<5000]))
            await writer.abort()
            await writer.abort()
            #expect(try await store.size(of: BlobHarness.digest(bytes)) == nil)
            #expect(BlobHarness.tempFiles(root).isEmpty)
            await expectCode(.notFound) { _ = try await store.read(BlobHarness.digest(bytes), range: nil) }
        }
    }

    @Test(arguments: BlobHarness.stores)
    func deleteRemoves(_ kind: String) async throws {
        try await BlobHarness.withStore(kind) { store, _ in
            let bytes = BlobHarness.bytes(10)
            try await BlobHarness.write(store, bytes)
            try await store.delete(BlobHarness.digest(bytes))
            try await store.delete(BlobHarness.digest(bytes))
            #expect(try await store.size(of: BlobHarness.digest(bytes)) == nil)
        }
    }

    @Test func fullDiskIsAnErrorAndLeavesNoPartialBlob() async throws {
        let faults = FileFaults { size in size > 2_000_000 ? ENOSPC : nil }
        try await BlobHarness.withStore("filesystem", faults: faults) { store, root in
            let bytes = BlobHarness.bytes(5_000_000)
            await expectCode(.insufficientStorage) { try await BlobHarness.write(store, bytes, chunk: 1 << 20) }
            #expect(try await store.size(of: BlobHarness.digest(bytes)) == nil)
            #expect(BlobHarness.tempFiles(root).isEmpty)
            // Smaller blobs still fit.
            try await BlobHarness.write(store, BlobHarness.bytes(1000))
        }
    }

    @Test func sweepRemovesCrashLeftovers() async throws {
        try await BlobHarness.withStore("filesystem") { store, root in
            _ = FileManager.default.createFile(atPath: "\(root)/tmp/leftover", contents: Data([1, 2, 3]))
            try (store as? FileSystemBlobStore)?.sweepTemporary()
            #expect(BlobHarness.tempFiles(root).isEmpty)
        }
    }
}

func expectCode(_ code: ErrorCode, _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await body()
        Issue.record("expected \(code.rawValue)", sourceLocation: sourceLocation)
    } catch let error as VesselError {
        #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
}

