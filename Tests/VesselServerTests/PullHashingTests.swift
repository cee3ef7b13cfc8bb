import Crypto
import Foundation
import NIOCore
import Synchronization
import Testing
import VesselCore
@testable import VesselClient
@testable import VesselServer
@testable import VesselStorage

/// A cold download hashes every byte once, from memory, and reads nothing back from its
/// partial file; bytes it must read back (a resumed download's) still count; a wrong byte from
/// the server still fails the digest and leaves the cache clean. The real client against a
/// live in-process server.
@Suite struct PullHashingTests {
    @Test func aColdPartedDownloadHashesFromMemoryAndReadsNothingBack() async throws {
        let bytes = UploadSessionAPITests.payload(mebibytes: 6)
        let digest = APIHarness.digest(bytes)
        try await LiveHarness.with { live in
            let model = try ModelName("acme/memory")
            let src = try live.folder("src", ["w.bin": bytes])
            _ = try await Pusher(api: live.api).push(folder: src, model: model, alias: nil, description: nil)
            let cache = try BlobCache(root: "\(live.dir)/cache")
            var downloader = Downloader(api: live.api, cache: cache, progress: nil)
            downloader.streams = 3
            downloader.partSize = 1 << 20
            let counts = HashCounts()
            downloader.hashCounts = counts
            // Six parts over three connections, arriving in whatever order; the default budget
            // (two parts ahead and 8 MiB) holds every part that runs ahead.
            let (path, transferred) = try await downloader.fetch(model: model, digest: digest, size: UInt64(bytes.count))
            #expect(transferred == UInt64(bytes.count))
            #expect(FileManager.default.contents(atPath: path) == Data(bytes))
            #expect(counts.memory == UInt64(bytes.count) && counts.file == 0, "memory \(counts.memory), read back \(counts.file)")

            // One stream: the same, hashed on its own task.
            try FileManager.default.removeItem(atPath: path)
            let single = HashCounts()
            var one = Downloader(api: live.api, cache: cache, progress: nil)
            one.hashCounts = single
            let (again, _) = try await one.fetch(model: model, digest: digest, size: UInt64(bytes.count))
            #expect(FileManager.default.contents(atPath: again) == Data(bytes))
            #expect(single.memory == UInt64(bytes.count) && single.file == 0, "memory \(single.memory), read back \(single.file)")
        }
    }

    @Test func partsRunningAheadOfTheBudgetAreReadBackAndTheBlobStillVerifies() async throws {
        let bytes = UploadSessionAPITests.payload(mebibytes: 6)
        let digest = APIHarness.digest(bytes)
        try await LiveHarness.with { live in
            let model = try ModelName("acme/spill")
            let src = try live.folder("src", ["w.bin": bytes])
            _ = try await Pusher(api: live.api).push(folder: src, model: model, alias: nil, description: nil)
            let cache = try BlobCache(root: "\(live.dir)/cache")
            var downloader = Downloader(api: live.api, cache: cache, progress: nil)
            downloader.streams = 3
            downloader.partSize = 1 << 20
            downloader.reorderBudget = 0  // only chunks at the hashing point are kept
            let counts = HashCounts()
            downloader.hashCounts = counts
            let (path, _) = try await downloader.fetch(model: model, digest: digest, size: UInt64(bytes.count))
            #expect(FileManager.default.contents(atPath: path) == Data(bytes))
            #expect(counts.memory + counts.file == UInt64(bytes.count), "each byte hashed once: memory \(counts.memory), read back \(counts.file)")
        }
    }

    @Test func anInterruptedPartedDownloadResumesReadingBackOnlyWhatItHeld() async throws {
        let bytes = UploadSessionAPITests.payload(mebibytes: 6)
        let digest = APIHarness.digest(bytes)
        try await LiveHarness.with(blobs: { CuttingBlobStore($0, cutAfter: []) }) { live in
            let model = try ModelName("acme/resume")
            let src = try live.folder("src", ["w.bin": bytes])
            _ = try await Pusher(api: live.api).push(folder: src, model: model, alias: nil, description: nil)
            let store = try #require(live.registry.blobs as? CuttingBlobStore)
            // The first ranged read drops after 600 000 bytes, mid-part.
            store.cuts.withLock { $0 = [600_000] }
            let cache = try BlobCache(root: "\(live.dir)/cache")
            var downloader = Downloader(api: live.api, cache: cache, progress: nil)
            downloader.streams = 3
            downloader.partSize = 1 << 20
            downloader.retry = RetryPolicy(attempts: 1, retries: { _ in false })
            let counts = HashCounts()
            downloader.hashCounts = counts
            do {
                _ = try await downloader.fetch(model: model, digest: digest, size: UInt64(bytes.count))
                Issue.record("the cut download succeeded")
            } catch {}
            let journal = PartJournal(path: cache.partialPath(of: digest) + ".parts")
            let held = try #require(journal.read(size: UInt64(bytes.count)), "the journal records what arrived")
            let heldBytes = held.reduce(0) { $0 + UInt64($1.count) }
            #expect(heldBytes > 0 && heldBytes < UInt64(bytes.count))

            // The next attempt fetches the rest, reads back only what the journal held, and
            // verifies the whole file.
            let resumed = HashCounts()
            var again = downloader
            again.hashCounts = resumed
            let (path, transferred) = try await again.fetch(model: model, digest: digest, size: UInt64(bytes.count))
            #expect(transferred == UInt64(bytes.count) - heldBytes)
            #expect(FileManager.default.contents(atPath: path) == Data(bytes))
            #expect(resumed.file == heldBytes && resumed.memory == UInt64(bytes.count) - heldBytes, "memory \(resumed.memory), read back \(resumed.file), held \(heldBytes)")
            #expect(!journal.exists)
        }
    }

    @Test func aWrongByteFromTheServerFailsTheDigestAndLeavesTheCacheClean() async throws {
        let bytes = UploadSessionAPITests.payload(mebibytes: 4)
        let digest = APIHarness.digest(bytes)
        try await LiveHarness.with(blobs: { FlippingBlobStore($0, flip: 3_000_000) }) { live in
            let model = try ModelName("acme/flip")
            let src = try live.folder("src", ["w.bin": bytes])
            _ = try await Pusher(api: live.api).push(folder: src, model: model, alias: nil, description: nil)
            let cache = try BlobCache(root: "\(live.dir)/cache")
            for streams in [1, 3] {
                var downloader = Downloader(api: live.api, cache: cache, progress: nil)
                downloader.streams = streams
                downloader.partSize = 1 << 20
                do {
                    _ = try await downloader.fetch(model: model, digest: digest, size: UInt64(bytes.count))
                    Issue.record("a blob with a changed byte entered the cache (\(streams) streams)")
                } catch let error as VesselError {
                    #expect(error.code == .digestMismatch, "\(streams) streams: \(error)")
                }
                #expect(cache.lookup(digest, size: UInt64(bytes.count), verify: false) == nil)
                #expect(!FileManager.default.fileExists(atPath: cache.path(of: digest)))
                #expect(!FileManager.default.fileExists(atPath: cache.partialPath(of: digest)))
                #expect(!FileManager.default.fileExists(atPath: cache.partialPath(of: digest) + ".parts"))
            }
        }
    }
}

/// Serves blobs with the byte at offset `flip` inverted (a server or disk that changed a byte).
final class FlippingBlobStore: ReadWrappingBlobStore {
    let base: any BlobStore
    let flip: UInt64

    init(_ base: any BlobStore, flip: UInt64) {
        self.base = base
        self.flip = flip
    }

    func read(_ digest: VesselCore.Digest, range: Range<UInt64>?) async throws -> BlobChunks {
        let inner = try await base.read(digest, range: range)
        let reader = Reader(inner, start: range?.lowerBound ?? 0, flip: flip)
        return BlobChunks(length: inner.length) { try await reader.next() }
    }

    final class Reader: Sendable {
        let inner: BlobChunks
        let flip: UInt64
        let position: Atomic<UInt64>

        init(_ inner: BlobChunks, start: UInt64, flip: UInt64) {
            self.inner = inner
            self.flip = flip
            position = Atomic(start)
        }

        func next() async throws -> ByteBuffer? {
            let iterator = inner.makeAsyncIterator()
            guard var buffer = try await iterator.next() else { return nil }
            let start = position.add(UInt64(buffer.readableBytes), ordering: .relaxed).oldValue
            if flip >= start && flip < start + UInt64(buffer.readableBytes) {
                let index = buffer.readerIndex + Int(flip - start)
                buffer.setInteger(~(buffer.getInteger(at: index, as: UInt8.self) ?? 0), at: index)
            }
            return buffer
        }
    }
}
