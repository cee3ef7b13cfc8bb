import Synchronization
import Testing
import VesselCore

/// The pieces every backend shares: how a failure becomes an error, the once-per-interval log,
/// and the deadline that gives up on a body that does not react to cancellation.
@Suite struct BackendFailureTests {
    @Test func transientFailuresAreRetryableAndPermanentOnesAreNot() {
        let transient = BackendFailure(.database, transient: true, "restarting").error
        #expect(transient.code == .unavailable && transient.retryAfter == BackendFailure.retryAfterSeconds)
        #expect((1...5).contains(BackendFailure.retryAfterSeconds))
        let permanent = BackendFailure(.storage, transient: false, "wrong credentials").error
        #expect(permanent.code == .unavailable && permanent.retryAfter == nil && permanent.message == "wrong credentials")
    }

    @Test func policyReportsWhatItFails() {
        let seen = Mutex<[String]>([])
        let policy = BackendPolicy(timeout: .seconds(1)) { failure in seen.withLock { $0.append(failure.description) } }
        let error = policy.fail(BackendFailure(.storage, transient: true, "cut"))
        #expect(error.retryAfter != nil)
        #expect(seen.withLock { $0 } == ["storage (transient): cut"])
    }

    @Test func throttleLogsTheFirstFailureThenOncePerIntervalWithACount() {
        var throttle = LogThrottle(interval: .seconds(30))
        let start = ContinuousClock.now
        #expect(throttle.record(now: start) == 1)
        #expect(throttle.record(now: start + .seconds(1)) == nil)
        #expect(throttle.record(now: start + .seconds(29)) == nil)
        #expect(throttle.failing)
        // The line written after the interval stands for itself and the two kept quiet.
        #expect(throttle.record(now: start + .seconds(31)) == 3)
        #expect(throttle.record(now: start + .seconds(32)) == nil)
        #expect(throttle.reset() == 1)
        #expect(!throttle.failing)
        #expect(throttle.record(now: start + .seconds(33)) == 1)
    }

    @Test func deadlineReturnsTheBodysValue() async throws {
        #expect(try await withAbandoningDeadline(.seconds(30)) { 42 } == 42)
        await #expect(throws: CancellationError.self) {
            try await withAbandoningDeadline(.seconds(30)) { () async throws -> Int in throw CancellationError() }
        }
    }

    /// A body that ignores cancellation (it waits on a signal only the test gives) is given up
    /// on at the deadline; it is released afterwards so nothing outlives the test.
    @Test(.timeLimit(.minutes(2))) func deadlineGivesUpOnABodyThatIgnoresCancellation() async throws {
        let gate = ReleaseLatch()
        let started = ContinuousClock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await withAbandoningDeadline(.milliseconds(200)) { await gate.wait() }
        }
        // Generous: the point is that it returned without the body (never), not how fast; a
        // machine also running seven builds once took 31 s to give the deadline a thread.
        #expect(started.duration(to: .now) < .seconds(90))
        gate.open()
    }
}

/// A signal: `wait()` returns once `open()` was called, and never reacts to cancellation.
final class ReleaseLatch: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
