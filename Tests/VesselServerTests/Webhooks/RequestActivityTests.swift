import Synchronization
import Testing
@testable import VesselServer

/// Webhook delivery lets requests in flight finish before each send, for a bounded time.
@Suite struct RequestActivityTests {
    @Test func quietWaitsForTheLastRequestInFlight() async throws {
        let activity = RequestActivity()
        // Limits far beyond the test's pauses: other suites running alongside can stall this
        // process's threads for tens of seconds, and only the order of events is checked.
        await activity.quiet(upTo: .seconds(3600))  // idle: returns at once
        activity.enter()
        activity.enter()
        let left = Atomic<Int>(0)
        let waiter = Task {
            await activity.quiet(upTo: .seconds(3600))
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
        // Returning at all is the point (a request stays in flight throughout); the bound only
        // keeps a hang from going unnoticed, with room for a machine stalled by other suites.
        #expect(waited >= .milliseconds(50) && waited < .seconds(600))
        activity.leave()
    }
}
