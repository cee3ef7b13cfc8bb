import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit
import Synchronization
import VesselCore

/// The deadlines of leases and statements (`BackendPolicy.timeout`).
extension PostgresBackend {
    /// Runs `body` on a leased connection. Waiting for the lease ends at the deadline (or at
    /// `timeout` when given) with a `BackendFailure`; a lease still queued on a pool that the
    /// watcher has replaced moves to the new pool. The body itself is not bounded here: its
    /// statements are (`bounded(_:)`).
    func withLease<T: Sendable>(timeout: Duration? = nil, _ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        // While the watcher's direct connections fail, PostgreSQL is known to be away: say so at
        // once rather than queue every request for the whole deadline (it probes every quarter
        // second, so the first request after it answers again goes through).
        if let cause = health.lastFailure { throw StatementTimeout.Lease(timeout: .zero, cause: cause) }
        let limit = timeout ?? policy.timeout
        let deadline = limit.map { ContinuousClock.now.advanced(by: $0) }
        while true {
            let pool = pools.enter()
            defer { pool.leave() }
            switch try await Self.lease(on: pool, until: deadline, body) {
            case .value(let value):
                return value
            case .retired:
                continue
            case .expired, .watcherDone:
                throw leaseExpired(after: limit ?? .zero)
            }
        }
    }

    /// The failure of a lease not given in time: permanent when the watcher's last probe was
    /// refused for good (wrong password, no such database), else transient.
    private func leaseExpired(after limit: Duration) -> StatementTimeout.Lease {
        StatementTimeout.Lease(timeout: limit, cause: health.lastFailure)
    }

    private enum LeaseOutcome<T: Sendable>: Sendable {
        case value(T)
        /// The lease was given; the watcher has nothing more to do.
        case watcherDone
        /// The pool was replaced while the lease was queued on it.
        case retired
        case expired
    }

    /// One attempt at a lease on `pool`: the lease and a watcher that gives up on it at the
    /// deadline or when the pool is retired (cancelling a queued lease takes it off the queue).
    private static func lease<T: Sendable>(on pool: PostgresPool, until deadline: ContinuousClock.Instant?,
                                           _ body: @Sendable (PostgresConnection) async throws -> T) async throws -> LeaseOutcome<T> {
        let claim = LeaseClaim()
        return try await withoutActuallyEscaping(body) { body in
            try await withThrowingTaskGroup(of: LeaseOutcome<T>.self) { group in
                group.addTask {
                    try await pool.client.withConnection { connection in
                        // Given after the watcher gave up: the connection goes straight back.
                        guard claim.take() else { throw CancellationError() }
                        return LeaseOutcome<T>.value(try await body(connection))
                    }
                }
                group.addTask {
                    while true {
                        var wait = Duration.milliseconds(50)
                        if let deadline { wait = min(wait, max(.zero, ContinuousClock.now.duration(to: deadline))) }
                        try await Task.sleep(for: wait)
                        if claim.isTaken { return .watcherDone }
                        if pool.isRetired, claim.abandon() { return .retired }
                        if let deadline, ContinuousClock.now >= deadline, claim.abandon() { return .expired }
                    }
                }
                while let result = await group.nextResult() {
                    switch result {
                    case .success(.watcherDone):
                        continue
                    case .success(let outcome):
                        group.cancelAll()
                        return outcome
                    case .failure(let error):
                        // The abandoned lease's cancellation, or the watcher's sleep after the value.
                        if claim.isAbandoned { continue }
                        group.cancelAll()
                        throw error
                    }
                }
                return .expired
            }
        }
    }

    /// `connection`'s SQL interface, each statement bounded by the policy's deadline (when it
    /// has one) and ended by the connection's close.
    func bounded(_ connection: PostgresConnection) -> any SQLDatabase {
        StatementDeadlineDatabase(base: connection.sql(), connection: connection, timeout: policy.timeout)
    }
}

/// Who got a lease first: the lease (taken) or the watcher (abandoned).
private final class LeaseClaim: Sendable {
    private enum State { case waiting, taken, abandoned }
    private let state = Mutex(State.waiting)

    func take() -> Bool { transition(to: .taken) }
    func abandon() -> Bool { transition(to: .abandoned) }
    var isTaken: Bool { state.withLock { $0 == .taken } }
    var isAbandoned: Bool { state.withLock { $0 == .abandoned } }

    private func transition(to next: State) -> Bool {
        state.withLock { state in
            guard state == .waiting else { return false }
            state = next
            return true
        }
    }
}

/// A statement (or a lease) that did not finish within the backend timeout.
struct StatementTimeout: Error, CustomStringConvertible {
    let timeout: Duration
    var description: String { "no answer within \(timeout)" }

    /// A lease not given within the timeout; `cause` is the watcher's last failure, if any.
    struct Lease: Error, CustomStringConvertible {
        let timeout: Duration
        let cause: BackendFailure?
        var description: String { "no connection within \(timeout)" }
    }
}

/// A connection's `SQLDatabase` whose statements each have a deadline (unless `timeout` is nil):
/// at the deadline the connection is closed, which fails the statement at once (postgres-nio
/// does not react to task cancellation mid-query) and keeps a connection in an unknown state out
/// of the pool. A statement also ends as soon as its connection is closed, whoever closed it.
struct StatementDeadlineDatabase: SQLDatabase {
    let base: any SQLDatabase
    let connection: PostgresConnection
    let timeout: Duration?

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        let expired = ExpiryFlag()
        let timer = arm(expired)
        let timeout = timeout
        let connection = connection
        return answer(base.execute(sql: query, onRow)).flatMapError { error in
            guard expired.isSet else { return connection.eventLoop.makeFailedFuture(error) }
            return connection.closeFuture.flatMapThrowing { throw StatementTimeout(timeout: timeout ?? .zero) }
        }.always { _ in timer?.cancel() }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        let expired = ExpiryFlag()
        let timer = arm(expired)
        defer { timer?.cancel() }
        do {
            try await answer(base.execute(sql: query, onRow)).get()
        } catch {
            guard expired.isSet else { throw error }
            // Returned to the pool only once closed: the pool learns of the close from the
            // same future, before this lease is released, and never hands the connection out again.
            try? await connection.closeFuture.get()
            throw StatementTimeout(timeout: timeout ?? .zero)
        }
    }

    /// The statement's outcome, or `ConnectionLost` as soon as the connection is closed
    /// (already, or while the statement runs) — whichever comes first. postgres-nio can leave a
    /// statement sent on a closed connection unanswered for ever (a `ROLLBACK` after PostgreSQL
    /// went away did: vapor/postgres-nio#487, whose fix was reverted in #501), and closing the
    /// connection is all the deadline does, so nothing else would end that wait. A statement
    /// still running on the closed connection is left to postgres-nio: its rows are no longer
    /// read by anyone, and no result of it is reported.
    private func answer(_ statement: EventLoopFuture<Void>) -> EventLoopFuture<Void> {
        let outcome = connection.eventLoop.makePromise(of: Void.self)
        let settled = ExpiryFlag()
        statement.whenComplete { result in
            if settled.claim() { outcome.completeWith(result) }
        }
        connection.closeFuture.whenComplete { _ in
            if settled.claim() { outcome.fail(ConnectionLost()) }
        }
        return outcome.futureResult
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(self)
    }

    private func arm(_ expired: ExpiryFlag) -> Scheduled<Void>? {
        guard let timeout else { return nil }
        let connection = connection
        return connection.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            expired.set()
            let _: EventLoopFuture<Void> = connection.close()
        }
    }
}

private final class ExpiryFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
    /// Sets the flag; true for the one caller that found it unset.
    func claim() -> Bool { value.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged }
}

/// A statement whose connection was closed before it answered (PostgreSQL went away, or the
/// connection was closed for another statement's deadline). Transient.
struct ConnectionLost: Error, CustomStringConvertible {
    var description: String { "the connection was closed before the statement answered" }
}
