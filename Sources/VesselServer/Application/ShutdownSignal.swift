import ServiceLifecycle

/// The hook a long-poll (`?wait=30s`) awaits so that it answers at once when `vessel serve`
/// begins its graceful shutdown, instead of holding the shutdown until its wait runs out.
///
/// It is ServiceLifecycle's own graceful-shutdown signal: a request handler runs in a child
/// task of the HTTP server's service, which the service group tells first when a SIGTERM
/// arrives (the server then stops accepting and waits for the requests in flight). A handler
/// that waits through `wait(upTo:_:)` gets `.shuttingDown` and answers with what it has (the
/// current state, as if its wait had timed out); the client asks again, and reaches another
/// replica. Outside a service group (the in-process router tests) the signal never comes.
///
///     switch try await ShutdownSignal.wait(upTo: waitParameter) { try await store.nextChange(after: seen) } {
///     case .value(let change): return answer(change)
///     case .timedOut, .shuttingDown: return answer(try await store.current())
///     }
///
/// Requests still in flight when `--shutdown-timeout` runs out are cancelled.
public enum ShutdownSignal {
    /// How a wait ended.
    public enum Outcome<T: Sendable>: Sendable {
        /// The body returned this.
        case value(T)
        /// `timeout` passed first.
        case timedOut
        /// The graceful shutdown began first (also when it had begun before the call).
        case shuttingDown
    }

    /// True once the graceful shutdown of the service this task belongs to has begun.
    public static var isShuttingDown: Bool { Task.isShuttingDownGracefully }

    /// Runs `body` for at most `timeout`, and no longer than until the graceful shutdown begins;
    /// `body` is cancelled when it loses. Throws what `body` throws, and `CancellationError`
    /// when the calling task is cancelled (the shutdown timeout ran out).
    public static func wait<T: Sendable>(upTo timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> Outcome<T> {
        try await withThrowingTaskGroup(of: Outcome<T>.self) { group in
            group.addTask { .value(try await body()) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return .timedOut
            }
            group.addTask {
                // Returns when the shutdown begins; throws CancellationError when cancelled.
                try await gracefulShutdown()
                return .shuttingDown
            }
            defer { group.cancelAll() }
            // The first child to end decides; the losers' cancellation errors are dropped.
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }
}
