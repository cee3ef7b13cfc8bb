import Synchronization
import Testing
@testable import VesselServer

/// Webhook delivery lets requests in flight finish before each send, for a bounded time.
@Suite struct RequestActivityTests {
    @Test func quietWaitsForTheLastRequestInFlight() async throws {
        let activity = RequestActivity()
        await activity.quiet(upTo: .seconds(30))  // idle: returns at once (or the test times out)
        activity.enter()
        activity.enter()
        let left = Atomic<Int>(0)
        let waiter = Task {
            await activity.quiet(upTo: .seconds(30))
            return left.load(ordering: .relaxed)
        }
        try await Task.sleep(for: .milliseconds(50))
        left.add(1, ordering: .relaxed)
        activity.leave()
        try await Task.sleep(for: .milliseconds(50))
        left.add(1, ordering: .relaxed)
        activity.leave()
        #expect(await waiter.value == 2, "quiet returned while a request was still in flight")
    }

    @Test func aServerThatIsNeverIdleStillGetsItsTurn() async throws {
        let activity = RequestActivity()
        activity.enter()
        let start = ContinuousClock.now
        await activity.quiet(upTo: .milliseconds(50))
        let waited = start.duration(to: .now)
        #expect(waited >= .milliseconds(50) && waited < .seconds(20))
        activity.leave()
    }
}
