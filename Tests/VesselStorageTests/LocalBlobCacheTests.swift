import Foundation
import NIOCore
import NIOPosix
import Testing
import VesselCore
@testable import VesselStorage

/// The S3 store's local copies: verified on the way in, bounded, safe to evict while in use.
@Suite struct LocalBlobCacheTests {
    static func fill(_ cache: LocalBlobCache, _ bytes: [UInt8]) async throws -> VesselCore.Digest {
        let file = try cache.makeFile()
        try await file.write(ByteBuffer(bytes: bytes))
        let digest = try await file.finish()
        file.commit(as: digest)
        return digest
    }

    /// Sets `path`'s access and modification times `secondsAgo` into the past.
    static func setLastUse(_ path: String, secondsAgo: Int) -> Bool {
        let then = timeval(tv_sec: time(nil) - secondsAgo, tv_usec: 0)
        return utimes(path, [then, then]) == 0
    }

    @Test func evictsLeastRecentlyUsedAndKeepsFilesInUse() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-cache-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = try LocalBlobCache(dir: "\(root)/1-a", limit: 250_000, threadPool: .singleton)
        let first = try await Self.fill(cache, BlobHarness.bytes(100_000, seed: 1))
        #expect(first == BlobHarness.digest(BlobHarness.bytes(100_000, seed: 1)))
        // A body still reads its file after the cached name was evicted under it.
        let read = try await cache.withCached(first) { path -> Int in
            unlink(cache.path(of: first))
            return FileManager.default.contents(atPath: path)?.count ?? -1
        }
        #expect(read == 100_000)
        let missing = try await cache.withCached(first) { _ in 0 }
        #expect(missing == nil)
        // Eviction orders by last use, the modification time in whole seconds: `a` was used
        // 20 s ago, `b` 10 s ago, `c` now.
        let a = try await Self.fill(cache, BlobHarness.bytes(100_000, seed: 2))
        #expect(Self.setLastUse(cache.path(of: a), secondsAgo: 20))
        let b = try await Self.fill(cache, BlobHarness.bytes(100_000, seed: 3))
        #expect(Self.setLastUse(cache.path(of: b), secondsAgo: 10))
        let c = try await Self.fill(cache, BlobHarness.bytes(100_000, seed: 4))
        #expect(!FileManager.default.fileExists(atPath: cache.path(of: a)), "the oldest copy goes over the limit")
        #expect(FileManager.default.fileExists(atPath: cache.path(of: b)) && FileManager.default.fileExists(atPath: cache.path(of: c)))
    }

    @Test func removesDirectoriesOfProcessesThatAreGone() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-cache-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let mine = "\(root)/\(getpid())-abc", gone = "\(root)/\(Int32.max - 7)-def"
        for dir in [mine, gone] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        LocalBlobCache.removeAbandoned(under: root)
        #expect(FileManager.default.fileExists(atPath: mine) && !FileManager.default.fileExists(atPath: gone))
    }
}
