import Foundation
import NIOCore
import NIOPosix
import Testing
import VesselCore
@testable import VesselStorage

/// The `ChunkedUploadStore` contract, run against every store in `BlobHarness.stores`.
/// Sizes scale with the store's smallest chunk (`BlobHarness.chunkUnit`: S3 parts are at
/// least 5 MiB).
@Suite struct ChunkedUploadConformanceTests {
    static func put(_ store: any ChunkedUploadStore, _ id: String, _ plan: ChunkPlan, _ index: Int, _ bytes: [UInt8], cutAfter: Int? = nil) async throws -> Bool {
        let range = try plan.range(of: index)
        let writer = try await store.makeChunkWriter(id, plan: plan, index: index)
        let part = Array(bytes[Int(range.lowerBound)..<Int(range.upperBound)])
        let sent = cutAfter.map { Array(part.prefix($0)) } ?? part
        do {
            for start in stride(from: 0, to: sent.count, by: 70_000) {
                try await writer.write(ByteBuffer(bytes: sent[start..<min(start + 70_000, sent.count)]))
            }
            if cutAfter != nil {
                await writer.abort()
                return false
            }
            return try await writer.commit()
        } catch {
            await writer.abort()
            throw error
        }
    }

    @Test(arguments: BlobHarness.stores)
    func chunksBecomeOneVerifiedBlob(_ kind: String) async throws {
        try await BlobHarness.withSubject(kind) { subject in
            let store = subject.store
            let unit = BlobHarness.chunkUnit(kind) * 5 / 2
            let bytes = BlobHarness.bytes(unit * 3 + unit * 4 / 5)
            let digest = BlobHarness.digest(bytes)
            let plan = ChunkPlan(size: UInt64(bytes.count), chunkSize: UInt64(unit))
            try await store.beginSession("s1", plan: plan)
            // Out of order, one chunk cut mid-way (a dropped connection): it does not count.
            #expect(try await Self.put(store, "s1", plan, 3, bytes))
            #expect(try await Self.put(store, "s1", plan, 1, bytes, cutAfter: unit / 3) == false)
            #expect(try await Self.put(store, "s1", plan, 0, bytes))
            #expect(try await store.storedChunks("s1") == [0, 3])
            do {
                _ = try await store.completeSession("s1", plan: plan, digest: digest)
                Issue.record("an incomplete session completed")
            } catch let error as VesselError {
                #expect(error.code == .conflict && error.details == ["1", "2"])
            }
            #expect(try await Self.put(store, "s1", plan, 1, bytes))
            #expect(try await Self.put(store, "s1", plan, 2, bytes))
            // Sending a stored chunk again is idempotent; different bytes are refused.
            #expect(try await Self.put(store, "s1", plan, 2, bytes) == false)
            var other = bytes
            other[unit * 2 + unit / 3] ^= 0xFF
            await #expect(throws: VesselError.self) { _ = try await Self.put(store, "s1", plan, 2, other) }
            #expect(try await store.completeSession("s1", plan: plan, digest: digest))
            if let s3 = store as? S3BlobStore {
                // Every chunk came through this store: verified from its local copy.
                #expect(s3.completedLocally.load(ordering: .relaxed) == 1 && s3.completedByRereading.load(ordering: .relaxed) == 0)
            }
            if let files = store as? FileSystemBlobStore {
                // Hashed while the chunks arrived, not all over again at completion.
                #expect(files.completedByRehashing.load(ordering: .relaxed) == 0)
            }
            #expect(try await BlobHarness.read(store, digest) == bytes)
            #expect(try await store.sessionIDs().isEmpty)
            #expect(try await subject.leftovers().isEmpty)
        }
    }

    @Test func chunksSentInOrderAreHashedAsTheyArriveNotReadBack() async throws {
        try await BlobHarness.withSubject("filesystem") { subject in
            let store = try #require(subject.store as? FileSystemBlobStore)
            let unit = BlobHarness.chunkUnit("filesystem") * 5 / 2
            let bytes = BlobHarness.bytes(unit * 3 + unit / 2)
            let plan = ChunkPlan(size: UInt64(bytes.count), chunkSize: UInt64(unit))
            try await store.beginSession("s1", plan: plan)
            // In order, with chunk 1 cut mid-way once: the cut gives the hash state back unchanged.
            #expect(try await Self.put(store, "s1", plan, 0, bytes))
            #expect(try await Self.put(store, "s1", plan, 1, bytes, cutAfter: unit / 3) == false)
            for index in 1..<plan.chunks { #expect(try await Self.put(store, "s1", plan, index, bytes)) }
            #expect(try await store.completeSession("s1", plan: plan, digest: BlobHarness.digest(bytes)))
            #expect(store.uploadHashes.bytesReadBack.load(ordering: .relaxed) == 0, "every chunk was hashed in-stream")
            #expect(try await BlobHarness.read(store, BlobHarness.digest(bytes)) == bytes)
            // Out of order: chunk 1 lands before the hash reaches it, so it is read back (and the
            // chunks after it too while that pass runs); chunk 0 still goes in-stream.
            var other = bytes
            other[0] ^= 0xFF
            try await store.beginSession("s2", plan: plan)
            for index in [1, 0, 2, 3] { #expect(try await Self.put(store, "s2", plan, index, other)) }
            #expect(try await store.completeSession("s2", plan: plan, digest: BlobHarness.digest(other)))
            let readBack = store.uploadHashes.bytesReadBack.load(ordering: .relaxed)
            #expect(readBack >= UInt64(unit) && readBack <= UInt64(bytes.count - unit))
            #expect(try await BlobHarness.read(store, BlobHarness.digest(other)) == other)
        }
    }

    /// Completing a session for a blob that is stored already still verifies the chunks (the
    /// server counts a completed session as proof of possession, issue 21 item 1), then only
    /// removes the session: wrong bytes are refused, right ones answer false and write no
    /// second object.
    @Test(arguments: BlobHarness.stores)
    func aStoredBlobIsVerifiedAgainButNotWrittenAgain(_ kind: String) async throws {
        try await BlobHarness.withSubject(kind) { subject in
            let store = subject.store
            let unit = BlobHarness.chunkUnit(kind)
            let bytes = BlobHarness.bytes(unit * 2)
            let digest = BlobHarness.digest(bytes)
            let plan = ChunkPlan(size: UInt64(bytes.count), chunkSize: UInt64(unit))
            try await store.beginSession("first", plan: plan)
            for index in 0..<2 { #expect(try await Self.put(store, "first", plan, index, bytes)) }
            #expect(try await store.completeSession("first", plan: plan, digest: digest))

            var forged = bytes
            forged[unit + 1] ^= 0xFF
            try await store.beginSession("forged", plan: plan)
            for index in 0..<2 { #expect(try await Self.put(store, "forged", plan, index, forged)) }
            await #expect(throws: VesselError.self) { _ = try await store.completeSession("forged", plan: plan, digest: digest) }
            #expect(try await store.storedChunks("forged").isEmpty)

            try await store.beginSession("again", plan: plan)
            for index in 0..<2 { #expect(try await Self.put(store, "again", plan, index, bytes)) }
            #expect(try await store.completeSession("again", plan: plan, digest: digest) == false)
            #expect(try await BlobHarness.read(store, digest) == bytes)
            #expect(try await store.sessionIDs().isEmpty)
            #expect(try await subject.leftovers().isEmpty)
        }
    }

    @Test(arguments: BlobHarness.stores)
    func wrongSizesAndDigestsStoreNothing(_ kind: String) async throws {
        try await BlobHarness.withSubject(kind) { subject in
            let store = subject.store
            let unit = BlobHarness.chunkUnit(kind)
            let bytes = BlobHarness.bytes(unit * 3)
            let plan = ChunkPlan(size: UInt64(bytes.count), chunkSize: UInt64(unit))
            try await store.beginSession("s2", plan: plan)
            // Too many bytes for a chunk.
            let writer = try await store.makeChunkWriter("s2", plan: plan, index: 0)
            await #expect(throws: VesselError.self) { try await writer.write(ByteBuffer(bytes: [UInt8](repeating: 1, count: unit + 1))) }
            await writer.abort()
            // Too few.
            let short = try await store.makeChunkWriter("s2", plan: plan, index: 0)
            try await short.write(ByteBuffer(bytes: [1, 2, 3]))
            await #expect(throws: VesselError.self) { _ = try await short.commit() }
            await #expect(throws: VesselError.self) { _ = try await store.makeChunkWriter("s2", plan: plan, index: 3) }
            #expect(try await store.storedChunks("s2").isEmpty)
            for index in 0..<3 { _ = try await Self.put(store, "s2", plan, index, bytes) }
            let wrong = BlobHarness.digest([1])
            do {
                _ = try await store.completeSession("s2", plan: plan, digest: wrong)
                Issue.record("a wrong digest completed")
            } catch let error as VesselError {
                #expect(error.code == .digestMismatch)
            }
            #expect(try await store.size(of: wrong) == nil)
            #expect(try await store.storedChunks("s2").isEmpty)
            #expect(try await subject.leftovers().isEmpty)
        }
    }

    @Test(arguments: BlobHarness.stores)
    func oneWriterPerChunkAndSessionsSurviveReopening(_ kind: String) async throws {
        try await BlobHarness.withSubject(kind) { subject in
            let store = subject.store
            let unit = BlobHarness.chunkUnit(kind)
            let bytes = BlobHarness.bytes(unit * 2)
            let plan = ChunkPlan(size: UInt64(bytes.count), chunkSize: UInt64(unit))
            try await store.beginSession("s3", plan: plan)
            let first = try await store.makeChunkWriter("s3", plan: plan, index: 0)
            do {
                _ = try await store.makeChunkWriter("s3", plan: plan, index: 0)
                Issue.record("two writers of one chunk")
            } catch let error as VesselError {
                #expect(error.code == .unavailable)
            }
            await first.abort()
            _ = try await Self.put(store, "s3", plan, 0, bytes)
            // A new store on the same storage (a restarted server, another replica) sees the
            // durable chunk, takes the rest and verifies the whole without the first's state.
            let reopened = try await subject.reopen()
            #expect(try await reopened.storedChunks("s3") == [0])
            _ = try await Self.put(reopened, "s3", plan, 1, bytes)
            #expect(try await reopened.completeSession("s3", plan: plan, digest: BlobHarness.digest(bytes)))
            if let s3 = reopened as? S3BlobStore {
                // Chunk 0 came through the first store: verified by reading the object back.
                #expect(s3.completedByRereading.load(ordering: .relaxed) == 1 && s3.completedLocally.load(ordering: .relaxed) == 0)
            }
            if let files = reopened as? FileSystemBlobStore {
                // The reopened store picked up the chunk stored before and hashed it too.
                #expect(files.completedByRehashing.load(ordering: .relaxed) == 0)
            }
            #expect(try await BlobHarness.read(store, BlobHarness.digest(bytes)) == bytes)
            // Deleting an unknown session is fine; ids that are not path-safe are refused.
            try await reopened.deleteSession("s3")
            await #expect(throws: VesselError.self) { try await reopened.beginSession("../x", plan: plan) }
            if let s3 = reopened as? S3BlobStore { await s3.shutdown() }
        }
    }

    @Test(arguments: BlobHarness.stores)
    func deletingASessionRemovesItsChunks(_ kind: String) async throws {
        try await BlobHarness.withSubject(kind) { subject in
            let store = subject.store
            let unit = BlobHarness.chunkUnit(kind)
            let bytes = BlobHarness.bytes(unit * 2)
            let plan = ChunkPlan(size: UInt64(bytes.count), chunkSize: UInt64(unit))
            try await store.beginSession("s4", plan: plan)
            _ = try await Self.put(store, "s4", plan, 1, bytes)
            #expect(try await store.sessionIDs() == ["s4"])
            try await store.deleteSession("s4")
            #expect(try await store.storedChunks("s4").isEmpty)
            #expect(try await store.sessionIDs().isEmpty)
            #expect(try await subject.leftovers().isEmpty)
        }
    }
}
