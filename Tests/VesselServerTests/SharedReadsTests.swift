import Synchronization
import Testing
import VesselMetadata
@testable import VesselServer

/// Long-polls share reads of the document (`SharedReads`): a read serves the polls woken before
/// it started (each sees the change that woke it) and any poll while nothing was published
/// since it began.
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
        watch.publish(key, revision: 2)
        let later = watch.ticket()
        #expect(try await shared.read(key, startedAfter: later, watch: watch) { await reads.read() } == 2, "started before this wake-up: read again")
        let other = DeploymentWatch.Key(model: "acme/m", env: "staging")
        #expect(try await shared.read(other, startedAfter: later, watch: watch) { await reads.read() } == 3, "another deployment reads its own")
    }

    /// A poll that comes back (woken long ago, or new) reuses the last read while nothing was
    /// published for its deployment since that read began; a publication, or a wake-up of
    /// everyone, makes the next poll read again. A failed read is not kept.
    @Test func theLastReadServesNewPollsUntilTheDeploymentChanges() async throws {
        let watch = DeploymentWatch(), shared = SharedReads<Int>(), reads = Reads()
        // Each poll below was woken after the last read began (a later ticket): only the
        // deployment's publications decide.
        #expect(try await shared.read(key, startedAfter: watch.ticket(), watch: watch) { await reads.read() } == 1)
        #expect(try await shared.read(key, startedAfter: watch.ticket(), watch: watch) { await reads.read() } == 1, "nothing published since")
        watch.publish(DeploymentWatch.Key(model: "acme/m", env: "staging"), revision: 2)
        #expect(try await shared.read(key, startedAfter: watch.ticket(), watch: watch) { await reads.read() } == 1, "another deployment's change")
        watch.publish(key, revision: 2)
        #expect(try await shared.read(key, startedAfter: watch.ticket(), watch: watch) { await reads.read() } == 2, "published since the last read began")
        watch.wakeAll()
        #expect(try await shared.read(key, startedAfter: watch.ticket(), watch: watch) { await reads.read() } == 3)

        struct Failure: Error {}
        watch.publish(key, revision: 3)
        await #expect(throws: Failure.self) { try await shared.read(key, startedAfter: watch.ticket(), watch: watch) { throw Failure() } }
        #expect(try await shared.read(key, startedAfter: watch.ticket(), watch: watch) { await reads.read() } == 4, "the failure was not kept")
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
