import Synchronization
import Testing
import VesselMetadata
@testable import VesselServer

/// Long-polls woken by one change share one read of the document (`SharedReads`): a read is
/// shared only with polls woken before it started, so each sees the change that woke it.
@Suite(.timeLimit(.minutes(2)))
struct SharedReadsTests {
    let key = DeploymentWatch.Key(model: "acme/m", env: "prod-eu")

    final class Reads: Sendable {
        let count = Mutex(0)
        let gate = AsyncStream<Void>.makeStream()

        func read() async -> Int {
            let number = count.withLock { count in
                count += 1
                return count
            }
            return number
        }
    }

    @Test func aReadIsSharedOnlyByPollsWokenBeforeItStarted() async throws {
        let watch = DeploymentWatch(), shared = SharedReads<Int>(), reads = Reads()
        let woken = watch.ticket()
        #expect(try await shared.read(key, startedAfter: woken, watch: watch) { await reads.read() } == 1)
        #expect(try await shared.read(key, startedAfter: woken, watch: watch) { await reads.read() } == 1, "started after the wake-up: shared")
        let later = watch.ticket()
        #expect(try await shared.read(key, startedAfter: later, watch: watch) { await reads.read() } == 2, "started before this wake-up: read again")
        let other = DeploymentWatch.Key(model: "acme/m", env: "staging")
        #expect(try await shared.read(other, startedAfter: later, watch: watch) { await reads.read() } == 3, "another deployment reads its own")
    }

    @Test func aHundredPollsWokenTogetherMakeOneRead() async throws {
        let watch = DeploymentWatch(), shared = SharedReads<Int>(), reads = Reads()
        let woken = watch.ticket()
        let key = key
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    try await shared.read(key, startedAfter: woken, watch: watch) {
                        // Held until the test has every poll asking: none may start a read of its own.
                        var gate = reads.gate.stream.makeAsyncIterator()
                        _ = await gate.next()
                        return await reads.read()
                    }
                }
            }
            reads.gate.continuation.yield()
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.count == 100 && Set(results) == [1])
        #expect(reads.count.withLock { $0 } == 1)
    }
}
