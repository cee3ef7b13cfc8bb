import Synchronization

/// Clean-up on the way out (releasing a lease, storing a cursor, closing a pool) that must not
/// hold up a shutdown: `body` runs in a task of its own, never cancelled (database calls refuse
/// to start in a cancelled task, and the shutting-down task usually is), and is waited for at
/// most `timeout`. Past that it is left to finish or fail on its own (with the database down it
/// fails, and a lease it held simply expires). Returns whether `body` finished in time.
@discardableResult
func bestEffort(within timeout: Duration, _ body: @escaping @Sendable () async -> Void) async -> Bool {
    let race = BestEffortRace()
    let work = Task {
        await body()
        race.end(finished: true)
    }
    let timer = Task {
        try? await Task.sleep(for: timeout)
        race.end(finished: false)
    }
    let finished = await race.wait()
    timer.cancel()
    _ = work
    return finished
}

/// The first of "the body finished" and "the time is up"; resumes the one waiter once.
private final class BestEffortRace: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Bool, Never>?)
        case ended(Bool)
        case delivered
    }

    private let state = Mutex(State.waiting(nil))

    func end(finished: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard case .waiting(let waiter) = state else { return nil }
            if let waiter {
                state = .delivered
                return waiter
            }
            state = .ended(finished)
            return nil
        }
        waiter?.resume(returning: finished)
    }

    func wait() async -> Bool {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool? in
                switch state {
                case .waiting:
                    state = .waiting(continuation)
                    return nil
                case .ended(let finished):
                    state = .delivered
                    return finished
                case .delivered:
                    return false
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
