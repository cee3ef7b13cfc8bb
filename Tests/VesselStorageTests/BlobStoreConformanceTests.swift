import Crypto
import Foundation
import NIOCore
import NIOPosix
import Testing
import VesselCore
@testable import VesselStorage

/// The blob store's contract, run against every store in `BlobHarness.stores`.
@Suite struct BlobStoreConformanceTests {
    /// Large enough for several parts of an S3 multipart upload (8 MiB each), so a wrong
    /// digest is found only after parts were sent.
    @Test(arguments: BlobHarness.stores)
    func largeBlobsVerifyBeforeTheyAppear(_ kind: String) async throws {
        try await BlobHarness.withStore(kind) { store, subject in
            let bytes = BlobHarness.bytes((17 << 20) + 12_345, seed: 3)
            let digest = BlobHarness.digest(bytes)
            var tampered = bytes
            tampered[(16 << 20) + 5] ^= 1
            await expectCode(.digestMismatch) { try await BlobHarness.write(store, tampered, as: digest, chunk: 1 << 20) }
            #expect(try await store.size(of: digest) == nil)
            #expect(try await subject.leftovers().isEmpty)
            try await BlobHarness.write(store, bytes, chunk: 1 << 20)
            #expect(try await store.size(of: digest) == UInt64(bytes.count))
            let tail = try await BlobHarness.read(store, digest, range: UInt64(bytes.count - 100)..<UInt64(bytes.count))
            #expect(tail == Array(bytes.suffix(100)))
            let whole = try await BlobHarness.read(store, digest)
            #expect(whole == bytes)
            let local = try await store.withLocalFile(digest) { path in FileManager.default.contents(atPath: path)?.count }
            #expect(local == bytes.count)
        }
    }

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
        try await BlobHarness.withStore(kind) { store, subject in
            let bytes = BlobHarness.bytes(1000)
            let claimed = BlobHarness.digest(BlobHarness.bytes(1000, seed: 9))
            await expectCode(.digestMismatch) { try await BlobHarness.write(store, bytes, as: claimed) }
            let stored = try await store.size(of: claimed)
            #expect(stored == nil)
            #expect(try await subject.leftovers().isEmpty)
        }
    }

    @Test(arguments: BlobHarness.stores)
    func wrongSizeStoresNothing(_ kind: String) async throws {
        try await BlobHarness.withStore(kind) { store, subject in
            let bytes = BlobHarness.bytes(1000)
            await expectCode(.sizeMismatch) { try await BlobHarness.write(store, bytes, size: 999) }
            await expectCode(.sizeMismatch) { try await BlobHarness.write(store, bytes, size: 1001) }
            let stored = try await store.size(of: BlobHarness.digest(bytes))
            #expect(stored == nil)
            #expect(try await subject.leftovers().isEmpty)
        }
    }

    @Test(arguments: BlobHarness.stores)
    func abortLeavesNothing(_ kind: String) async throws {
        try await BlobHarness.withStore(kind) { store, subject in
            let bytes = BlobHarness.bytes(10_000)
            let writer = try await store.makeWriter(expecting: BlobHarness.digest(bytes), size: 10_000)
            try await writer.write(ByteBuffer(bytes: bytes[0..<5000]))
            await writer.abort()
            await writer.abort()
            #expect(try await store.size(of: BlobHarness.digest(bytes)) == nil)
            #expect(try await subject.leftovers().isEmpty)
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
        try await BlobHarness.withStore("filesystem", faults: faults) { store, subject in
            let bytes = BlobHarness.bytes(5_000_000)
            await expectCode(.insufficientStorage) { try await BlobHarness.write(store, bytes, chunk: 1 << 20) }
            #expect(try await store.size(of: BlobHarness.digest(bytes)) == nil)
            #expect(try await subject.leftovers().isEmpty)
            // Smaller blobs still fit.
            try await BlobHarness.write(store, BlobHarness.bytes(1000))
        }
    }

    @Test func sweepRemovesCrashLeftovers() async throws {
        try await BlobHarness.withStore("filesystem") { store, subject in
            let root = try #require(store as? FileSystemBlobStore).root
            _ = FileManager.default.createFile(atPath: "\(root)/tmp/leftover", contents: Data([1, 2, 3]))
            try (store as? FileSystemBlobStore)?.sweepTemporary()
            #expect(try await subject.leftovers().isEmpty)
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

