import struct Crypto.SHA256
import Foundation
import NIOCore
import NIOPosix
import Testing
import VesselCore
@testable import VesselStorage

/// The upload spool hashes the blob while chunks arrive, in any order, and refuses to vouch
/// for a digest once a hashed chunk changed.
@Suite struct S3UploadSpoolTests {
    static func chunks() -> [[UInt8]] {
        (0..<5).map { index in (0..<(index == 4 ? 300_000 : 1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) } }
    }

    /// Stands in for the part's MD5: any fingerprint of the bytes will do here.
    static func md5(_ bytes: [UInt8]) -> String { VesselCore.Digest(bytes: SHA256.hash(data: bytes)).description }

    func withSpool(_ body: (S3UploadSpool) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-spool-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await body(S3UploadSpool(dir: dir, threadPool: .singleton))
    }

    /// Writes one chunk as `S3ChunkWriter` does: staged, around the page cache where possible.
    static func write(_ bytes: [UInt8], to session: S3UploadSpool.Session, at offset: UInt64, spool: S3UploadSpool) async throws {
        let writer = StagedFileWriter(fd: session.fd, path: session.path, at: offset, threadPool: spool.threadPool, doing: "keep a test chunk")
        try await writer.write(ByteBuffer(bytes: bytes))
        try writer.flushNow()
    }

    @Test func chunksRecordedInAnyOrderHashToTheWholeFile() async throws {
        try await withSpool { spool in
            let chunks = Self.chunks()
            let whole = chunks.flatMap { $0 }
            let file = try #require(spool.file(for: "s1"))
            var offsets: [UInt64] = [0]
            for chunk in chunks { offsets.append(offsets.last! + UInt64(chunk.count)) }
            for index in [3, 0, 4, 1, 2] {
                try await Self.write(chunks[index], to: file, at: offsets[index], spool: spool)
                spool.recorded("s1", chunk: index, md5: Self.md5(chunks[index]), range: offsets[index]..<offsets[index + 1])
            }
            let digest = try await spool.digest("s1", chunks: chunks.count)
            #expect(digest == VesselCore.Digest(bytes: SHA256.hash(data: whole)))
            #expect(try await spool.digest("s1", chunks: chunks.count + 1) == nil, "a chunk is missing")
            spool.remove("s1")
        }
    }

    @Test func aHashedChunkSentAgainWithOtherBytesVoidsTheDigest() async throws {
        try await withSpool { spool in
            let chunks = Self.chunks()
            let file = try #require(spool.file(for: "s2"))
            var offset: UInt64 = 0
            for (index, chunk) in chunks.enumerated() {
                try await Self.write(chunk, to: file, at: offset, spool: spool)
                spool.recorded("s2", chunk: index, md5: Self.md5(chunk), range: offset..<offset + UInt64(chunk.count))
                offset += UInt64(chunk.count)
            }
            #expect(try await spool.digest("s2", chunks: chunks.count) != nil)
            // Chunk 0 arrives again with different bytes after it was hashed.
            let other = chunks[0].map { $0 ^ 0xFF }
            try await Self.write(other, to: file, at: 0, spool: spool)
            spool.recorded("s2", chunk: 0, md5: Self.md5(other), range: 0..<UInt64(other.count))
            #expect(try await spool.digest("s2", chunks: chunks.count) == nil)
            spool.remove("s2")
        }
    }
}
