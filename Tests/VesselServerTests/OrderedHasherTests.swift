import Crypto
import Foundation
import NIOCore
import Synchronization
import Testing
import VesselCore
@testable import VesselClient

/// The hashing task of a download (`OrderedHasher`): chunks handed over out of order still hash
/// in file order, each byte once; what did not fit in memory is read back from the file.
@Suite struct OrderedHasherTests {
    static func bytes(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        (0..<count).map { (index: Int) -> UInt8 in
            let mixed: Int = index &* 31 &+ Int(seed) &+ (index >> 9)
            return UInt8(mixed & 0xFF)
        }
    }

    static func digest(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    static func chunk(_ bytes: [UInt8], _ range: Range<Int>) -> ByteBuffer { ByteBuffer(bytes: bytes[range]) }

    /// A scratch partial file holding `bytes`.
    static func file(_ bytes: [UInt8]) throws -> (PartialFile, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ordered-\(UUID().uuidString)").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return (try PartialFile(opening: path), path)
    }

    @Test func chunksOfSeveralPartsHandedOverOutOfOrderHashInFileOrderFromMemory() async throws {
        let data = Self.bytes(300_000)
        let (file, path) = try Self.file([])
        defer { file.close(); unlink(path) }
        let feed = OrderedHasher(from: 0, budget: 1 << 20, overflow: .spill)
        let hashing = Task { try await feed.run(hasher: SHA256(), file: file, durable: { $0 }) }
        // Three parts, each in 10 000-byte chunks, the later parts first and interleaved.
        let parts = [0..<100_000, 100_000..<200_000, 200_000..<300_000]
        var order: [Range<Int>] = []
        for step in stride(from: 0, to: 100_000, by: 10_000) {
            for part in parts.reversed() { order.append((part.lowerBound + step)..<(part.lowerBound + step + 10_000)) }
        }
        for range in order { try await feed.submit(Self.chunk(data, range), at: UInt64(range.lowerBound)) }
        feed.finish()
        let (hasher, end) = try await hashing.value
        #expect(end == 300_000)
        #expect(Array(hasher.finalize()) == Self.digest(data))
        #expect(feed.counts.memory == 300_000 && feed.counts.file == 0, "nothing was read back: \(feed.counts)")
    }

    @Test func chunksBeyondTheBudgetAreReadBackFromTheFileOnceRecorded() async throws {
        let data = Self.bytes(200_000)
        // The file holds every byte (the connections wrote them); the hasher is told which
        // ranges are recorded.
        let (file, path) = try Self.file(data)
        defer { file.close(); unlink(path) }
        let recorded = Recorded()
        let feed = OrderedHasher(from: 0, budget: 0, overflow: .spill)
        let hashing = Task { try await feed.run(hasher: SHA256(), file: file, durable: { recorded.end(from: $0) }) }
        // The second half arrives first: with no budget it is not kept.
        for start in stride(from: 100_000, to: 200_000, by: 25_000) {
            try await feed.submit(Self.chunk(data, start..<(start + 25_000)), at: UInt64(start))
        }
        recorded.add(100_000..<200_000)
        feed.yield()
        // The first half, in order: each chunk is at the hashing point, so it is kept.
        for start in stride(from: 0, to: 100_000, by: 25_000) {
            try await feed.submit(Self.chunk(data, start..<(start + 25_000)), at: UInt64(start))
        }
        recorded.add(0..<100_000)
        feed.finish()
        let (hasher, end) = try await hashing.value
        #expect(end == 200_000)
        #expect(Array(hasher.finalize()) == Self.digest(data))
        #expect(feed.counts.memory + feed.counts.file == 200_000, "every byte hashed once: \(feed.counts)")
        #expect(feed.counts.file >= 100_000, "the spilled half came from the file: \(feed.counts)")
    }

    @Test func aChunkAheadWaitsInsteadOfSpillingWhileTheHashingIsBehind() async throws {
        let data = Self.bytes(40_000)
        let (file, path) = try Self.file([])
        defer { file.close(); unlink(path) }
        let feed = OrderedHasher(from: 0, budget: 0, overflow: .spill)
        // The chunk at the hashing point is held and nothing hashes yet: the hashing is behind.
        try await feed.submit(Self.chunk(data, 0..<20_000), at: 0)
        let ahead = Task { try await feed.submit(Self.chunk(data, 20_000..<40_000), at: 20_000) }
        try await Task.sleep(for: .milliseconds(50))
        // The hashing starts, takes the first chunk, and so admits the waiting one.
        let hashing = Task { try await feed.run(hasher: SHA256(), file: file, durable: { $0 }) }
        try await ahead.value
        feed.finish()
        let (hasher, end) = try await hashing.value
        #expect(end == 40_000)
        #expect(Array(hasher.finalize()) == Self.digest(data))
        #expect(feed.counts.memory == 40_000 && feed.counts.file == 0, "the chunk ahead waited rather than spilled: \(feed.counts)")
    }

    @Test func aSpilledByteThatDiffersOnDiskChangesTheDigest() async throws {
        // The read-back path really reads the file: a byte changed on disk shows in the digest.
        var data = Self.bytes(64_000)
        let original = Self.digest(data)
        data[50_000] ^= 0xFF
        let (file, path) = try Self.file(data)
        defer { file.close(); unlink(path) }
        let feed = OrderedHasher(from: 0, budget: 0, overflow: .spill)
        let hashing = Task { try await feed.run(hasher: SHA256(), file: file, durable: { $0 < 64_000 ? 64_000 : $0 }) }
        feed.finish()
        let (hasher, end) = try await hashing.value
        #expect(end == 64_000)
        #expect(Array(hasher.finalize()) != original)
        #expect(feed.counts.file == 64_000)
    }

    @Test func aConnectionWaitsWhenHashingFallsBehindAndGoesOnWhenItCatchesUp() async throws {
        let data = Self.bytes(1 << 20)
        let (file, path) = try Self.file([])
        defer { file.close(); unlink(path) }
        // A budget smaller than the chunks in flight: the connection must wait several times.
        let feed = OrderedHasher(from: 0, budget: 64 << 10, overflow: .wait)
        let hashing = Task { try await feed.run(hasher: SHA256(), file: file, durable: { $0 }) }
        for start in stride(from: 0, to: 1 << 20, by: 16 << 10) {
            try await feed.submit(Self.chunk(data, start..<(start + (16 << 10))), at: UInt64(start))
        }
        feed.finish()
        let (hasher, end) = try await hashing.value
        #expect(end == 1 << 20)
        #expect(Array(hasher.finalize()) == Self.digest(data))
        #expect(feed.counts.memory == 1 << 20 && feed.counts.file == 0)
    }

    @Test func abandoningTheDownloadReleasesAWaitingConnectionAndTheHashingTask() async throws {
        let data = Self.bytes(100_000)
        let (file, path) = try Self.file([])
        defer { file.close(); unlink(path) }
        let feed = OrderedHasher(from: 0, budget: 10_000, overflow: .wait)
        let hashing = Task { try await feed.run(hasher: SHA256(), file: file, durable: { $0 }) }
        // A chunk far ahead of the hashing point, over the budget: its connection waits.
        let waiting = Task { try await feed.submit(Self.chunk(data, 50_000..<70_000), at: 50_000) }
        try await Task.sleep(for: .milliseconds(50))
        feed.fail()
        let released = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                let submitted = await waiting.result
                let hashed = await hashing.result
                if case .success = submitted { return false }
                if case .success = hashed { return false }
                return true
            }
            group.addTask {
                try await Task.sleep(for: .seconds(60))
                return false
            }
            let first = try await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(released, "both the waiting connection and the hashing task ended with an error within 60 s")
    }
}

/// The ranges a test says are on disk.
private final class Recorded: Sendable {
    private let ranges = Mutex<[Range<UInt64>]>([])
    func add(_ range: Range<UInt64>) { ranges.withLock { $0 = PartJournal.merge($0, range) } }
    func end(from offset: UInt64) -> UInt64 { ranges.withLock { $0.first { $0.contains(offset) }?.upperBound ?? offset } }
}
