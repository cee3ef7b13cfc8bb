import Testing
@testable import VesselServer

/// While the API answers requests, webhook sends take turns at a bounded rate; when it is
/// idle they go at once.
@Suite struct RequestActivityTests {
    @Test(.timeLimit(.minutes(2))) func anIdleAPILetsEverySendGoAtOnce() async {
        let activity = RequestActivity()
        let start = ContinuousClock.now
        // An interval no test could sit out: any wait at all would hang the test.
        for _ in 0..<100 { await activity.pace(every: .seconds(3600)) }
        #expect(start.duration(to: .now) < .seconds(600))
    }

    @Test func aBusyAPIGivesOneTurnPerIntervalInOrder() async throws {
        let activity = RequestActivity()
        activity.enter()
        let start = ContinuousClock.now
        let order = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<4 {
                group.addTask {
                    await activity.pace(every: .milliseconds(40))
                    return index
                }
                // Each asks after the previous one has reserved its turn.
                try await Task.sleep(for: .milliseconds(5))
            }
            var order: [Int] = []
            for try await index in group { order.append(index) }
            return order
        }
        // Turns at 0, 40, 80 and 120 ms: only lower bounds hold on a machine busy with other suites.
        #expect(start.duration(to: .now) >= .milliseconds(120))
        #expect(order == [0, 1, 2, 3])
        activity.leave()
    }

    @Test(.timeLimit(.minutes(2))) func theAPICountsAsBusyForAWhileAfterTheLastRequestEnds() async throws {
        let lingering = RequestActivity(idleAfter: .seconds(3600))
        lingering.enter()
        lingering.leave()
        let start = ContinuousClock.now
        await lingering.pace(every: .milliseconds(100))
        await lingering.pace(every: .milliseconds(100))
        #expect(start.duration(to: .now) >= .milliseconds(100), "the second send did not wait its turn")

        let prompt = RequestActivity(idleAfter: .zero)
        prompt.enter()
        prompt.leave()
        try await Task.sleep(for: .milliseconds(1))
        let idleStart = ContinuousClock.now
        await prompt.pace(every: .seconds(3600))
        await prompt.pace(every: .seconds(3600))
        #expect(idleStart.duration(to: .now) < .seconds(600))
    }
}
