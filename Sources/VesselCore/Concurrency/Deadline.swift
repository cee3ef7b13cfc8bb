import Synchronization

/// Thrown by `withAbandoningDeadline` when its body did not finish in time.
public struct DeadlineExceeded: Error, Sendable, CustomStringConvertible {
    public let timeout: Duration
    public init(_ timeout: Duration) { self.timeout = timeout }
    public var description: String { "no answer within \(timeout)" }
}

/// Runs `body` in a task of its own and returns its result, or throws `DeadlineExceeded` once
/// `timeout` has passed, whether or not the body has noticed: the body's task is then
/// cancelled and left to finish on its own. For probes that must answer in time although what
/// they call may not react to cancellation (a SQLite statement, a write to a stuck disk);
/// where a call can be bounded properly (a pool lease, an HTTP deadline), bound it instead.
public func withAbandoningDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = AbandoningOutcome<T>()
    let work = Task { outcome.resolve(await Result { try await body() }) }
    let timer = Task {
        try await Task.sleep(for: timeout)
        outcome.resolve(.failure(DeadlineExceeded(timeout)))
        work.cancel()
    }
    defer { timer.cancel() }
    return try await withTaskCancellationHandler {
        try await outcome.wait()
    } onCancel: {
        outcome.resolve(.failure(CancellationError()))
        work.cancel()
    }
}

/// The first of the body's result, the deadline and cancellation; resumes the waiter once.
private final class AbandoningOutcome<T: Sendable>: Sendable {
    private enum State {
        case pending(CheckedContinuation<T, any Error>?)
        case resolved(Result<T, any Error>)
        case delivered
    }

    private let state = Mutex<State>(.pending(nil))

    func resolve(_ result: Result<T, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<T, any Error>? in
            guard case .pending(let waiter) = state else { return nil }
            if let waiter {
                state = .delivered
                return waiter
            }
            state = .resolved(result)
            return nil
        }
        waiter?.resume(with: result)
    }

    func wait() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<T, any Error>? in
                switch state {
                case .pending:
                    state = .pending(continuation)
                    return nil
                case .resolved(let result):
                    state = .delivered
                    return result
                case .delivered:
                    return .failure(CancellationError())
                }
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}

extension Result where Failure == any Error {
    /// The result of an async throwing body.
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
