import Synchronization

/// How many API requests are being answered right now, so background work (webhook delivery)
/// can let them finish first: `quiet` waits until none is, for a bounded time.
///
/// Waiters are kept in a list that the last request to finish resumes; one timer task at a
/// time resumes those whose bound has passed. (A timer per wait — a task group racing a sleep
/// against the signal — cost a task, a dispatch timer and a wake-up of dispatch's manager
/// thread for every webhook send.)
public final class RequestActivity: Sendable {
    private struct Waiter {
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var inFlight = 0
        var waiters: [Waiter] = []
        /// Whether a timer task is running; it ends when no waiter is left.
        var timing = false
    }

    private let state = Mutex(State())

    public init() {}

    func enter() { state.withLock { $0.inFlight += 1 } }

    func leave() {
        let ready = state.withLock { state -> [Waiter] in
            state.inFlight -= 1
            guard state.inFlight == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in ready { waiter.continuation.resume() }
    }

    /// Returns when no request is in flight, or after `limit` (so a server that is never idle
    /// still delivers, more slowly). Cancellation does not cut the wait short: it is bounded.
    func quiet(upTo limit: Duration) async {
        if state.withLock({ $0.inFlight == 0 }) { return }
        let deadline = ContinuousClock.now + limit
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (now, startTimer) = state.withLock { state -> (Bool, Bool) in
                if state.inFlight == 0 { return (true, false) }
                state.waiters.append(Waiter(deadline: deadline, continuation: continuation))
                defer { state.timing = true }
                return (false, !state.timing)
            }
            if now { continuation.resume() }
            if startTimer { Task { await self.expireWaiters() } }
        }
    }

    /// Resumes waiters as their bounds pass, sleeping until the earliest one; ends when none is
    /// left. A waiter added during a sleep with an earlier bound than the one slept for waits
    /// until that sleep ends: the one caller passes the same bound every time.
    private func expireWaiters() async {
        while true {
            let (expired, next) = state.withLock { state -> ([Waiter], ContinuousClock.Instant?) in
                let now = ContinuousClock.now
                let expired = state.waiters.filter { $0.deadline <= now }
                state.waiters.removeAll { $0.deadline <= now }
                let next = state.waiters.map(\.deadline).min()
                if next == nil { state.timing = false }
                return (expired, next)
            }
            for waiter in expired { waiter.continuation.resume() }
            guard let next else { return }
            try? await Task.sleep(until: next, clock: .continuous)
        }
    }
}
