import Synchronization

/// A fair, non-reentrant async mutex: `withLock` suspends (never blocks a thread) until the
/// lock is free, and holds it across the body's suspension points. Used to give a SQLite
/// connection to one transaction at a time.
final class AsyncMutex: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    init() {}

    func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    /// Runs `body` holding the lock if it is free right now; nil (and `body` not run) if not.
    func withLockIfFree<T: Sendable>(_ body: () async throws -> T) async throws -> T? {
        let free = state.withLock { state -> Bool in
            if state.locked { return false }
            state.locked = true
            return true
        }
        guard free else { return nil }
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state -> Bool in
                if state.locked {
                    state.waiters.append(continuation)
                    return false
                }
                state.locked = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
