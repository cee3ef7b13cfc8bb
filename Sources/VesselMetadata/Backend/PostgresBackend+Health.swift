import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit
import Synchronization
import VesselCore

/// Watching PostgreSQL: whether it answers (for `/readyz`, without queueing behind the pool),
/// logging an outage once per interval rather than per reconnect attempt, and replacing the
/// pool when PostgreSQL answers again after one. postgres-nio's pool backs off towards a minute
/// between reconnect attempts, so on its own it could take that long to notice PostgreSQL is
/// back; a direct connection every quarter second while it is down notices within that.
extension PostgresBackend {
    /// True when PostgreSQL answered the watcher's last probe (or the last request). Read at
    /// once: no lease, no statement.
    public var reachable: Bool { health.reachable }

    func startWatching() {
        let task = Task { await self.watch() }
        watcher.withLock { $0 = task }
    }

    /// Probes once a second while all is well (skipped while requests succeed), every quarter
    /// second after a failure until PostgreSQL answers again; a failed request wakes it at once.
    private func watch() async {
        while !Task.isCancelled {
            let calm = health.reachable && !health.poolBroken
            await health.sleep(for: calm ? .seconds(1) : .milliseconds(250))
            if Task.isCancelled { return }
            await check()
        }
    }

    /// One round: the pool first while it is healthy, else (or when that fails) a direct
    /// connection; when that succeeds after an outage or a lost connection, a fresh pool.
    func check() async {
        let probeTimeout = min(policy.timeout ?? .seconds(1), .seconds(1))
        let wasReachable = health.reachable
        if wasReachable && !health.poolBroken {
            if health.succeededRecently(within: .seconds(1)) { return }
            do {
                try await withLease(timeout: probeTimeout) { connection in
                    try await self.bounded(connection, timeout: probeTimeout).raw("SELECT 1 AS ok").run()
                }
                health.succeeded()
                return
            } catch let error as PSQLError where PostgresFailure.backendFailure(error, endpoint: url.endpoint)?.transient == true {
                health.failed(breaksPool: true)
            } catch {
                // A lease or statement that timed out: load or an outage; the direct probe tells.
            }
        }
        do {
            do {
                try await Self.probeDirect(url: url, timeout: probeTimeout, logger: poolLogger)
            } catch where wasReachable && !Task.isCancelled && !(error is CancellationError) {
                // One failed connection while PostgreSQL answered until now is not yet an
                // outage: on a loaded machine with every pooled connection busy, opening one can
                // take longer than the probe's second, and replacing the pool then would only
                // add connections. Asked again with the whole backend timeout; a server that is
                // down refuses the second connection at once too.
                try await Self.probeDirect(url: url, timeout: max(probeTimeout, policy.timeout ?? .seconds(5)), logger: poolLogger)
            }
        } catch {
            // Shutting down: not an outage.
            if Task.isCancelled || error is CancellationError { return }
            let failure = (error as? PSQLError).flatMap { PostgresFailure.backendFailure($0, endpoint: url.endpoint) }
                ?? BackendFailure(.database, transient: true, "PostgreSQL at \(url.endpoint) cannot be reached (\(error))")
            health.down(failure, endpoint: url.endpoint, logger: logger)
            return
        }
        if !wasReachable || health.poolBroken {
            pools.replace(with: PostgresPool(configuration: poolConfiguration, logger: poolLogger))
        }
        health.up(endpoint: url.endpoint, logger: logger)
    }

    /// Connects once, outside the pool, within `timeout` (connection and authentication).
    static func probeDirect(url: PostgresURL, timeout: Duration, logger: Logger) async throws {
        var configuration = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        configuration.options.connectTimeout = TimeAmount(timeout)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        try? await connection.close()
    }

    /// `connection`'s SQL interface with statements bounded by `timeout`.
    func bounded(_ connection: PostgresConnection, timeout: Duration) -> any SQLDatabase {
        StatementDeadlineDatabase(base: connection.sql(), connection: connection, timeout: timeout)
    }
}

extension PostgresURL {
    /// `host:port`, for messages.
    var endpoint: String { "\(host):\(port)" }
}

/// One `PostgresClient` and the task running it. A replaced pool is closed once the last caller
/// that entered it has left (a queued lease leaves at once: it moves to the new pool).
final class PostgresPool: Sendable {
    let client: PostgresClient
    private let runner: Task<Void, Never>
    private let state = Mutex<(users: Int, retired: Bool)>((0, false))

    init(configuration: PostgresClient.Configuration, logger: Logger) {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        // The pool's run loop lives until the pool is retired and idle, or the backend shuts down.
        self.runner = Task { await client.run() }
    }

    /// Called by `PoolSwitch.enter` under its lock.
    fileprivate func enter() { state.withLock { $0.users += 1 } }

    func leave() {
        let idle = state.withLock { state -> Bool in
            state.users -= 1
            return state.retired && state.users == 0
        }
        if idle { runner.cancel() }
    }

    var isRetired: Bool { state.withLock { $0.retired } }

    fileprivate func retire() {
        let idle = state.withLock { state -> Bool in
            state.retired = true
            return state.users == 0
        }
        if idle { runner.cancel() }
    }

    fileprivate func close() async {
        runner.cancel()
        await runner.value
    }
}

/// The pool in use, and the replaced ones until shutdown.
final class PoolSwitch: Sendable {
    private struct State {
        var current: PostgresPool
        var retired: [PostgresPool] = []
    }

    private let state: Mutex<State>

    init(_ pool: PostgresPool) {
        state = Mutex(State(current: pool))
    }

    /// The current pool, entered (call `leave()` when done with it).
    func enter() -> PostgresPool {
        state.withLock { state in
            state.current.enter()
            return state.current
        }
    }

    func replace(with pool: PostgresPool) {
        let old = state.withLock { state -> PostgresPool in
            let old = state.current
            state.current = pool
            state.retired.append(old)
            return old
        }
        old.retire()
    }

    func shutdown() async {
        let all = state.withLock { [$0.current] + $0.retired }
        for pool in all { await pool.close() }
    }
}

/// What the watcher knows, and the once-per-interval log of an outage.
final class PostgresHealth: Sendable {
    private struct State {
        var reachable = true
        /// A connection was refused or lost since the pool last served a call: the pool may
        /// be backing off, so it is replaced once PostgreSQL answers.
        var poolBroken = false
        /// The watcher's last failure while PostgreSQL does not answer.
        var lastFailure: BackendFailure?
        var lastSuccess = ContinuousClock.now
        var downSince: ContinuousClock.Instant?
        var throttle = LogThrottle(interval: .seconds(30))
        var wake = false
    }

    private let state = Mutex(State())

    var reachable: Bool { state.withLock { $0.reachable } }
    var poolBroken: Bool { state.withLock { $0.poolBroken } }
    var lastFailure: BackendFailure? { state.withLock { $0.reachable ? nil : $0.lastFailure } }

    func succeededRecently(within window: Duration) -> Bool {
        state.withLock { $0.lastSuccess.duration(to: .now) < window && $0.reachable }
    }

    /// A call through the pool succeeded.
    func succeeded() {
        state.withLock { state in
            state.lastSuccess = .now
            state.poolBroken = false
        }
    }

    /// A call failed for the backend's sake: probe now (unless PostgreSQL is already known to
    /// be away, when the watcher probes every quarter second anyway).
    func failed(breaksPool: Bool) {
        state.withLock { state in
            if breaksPool { state.poolBroken = true }
            if state.reachable { state.wake = true }
        }
    }

    func down(_ failure: BackendFailure, endpoint: String, logger: Logger) {
        let (count, first) = state.withLock { state -> (Int?, Bool) in
            let first = state.reachable
            state.reachable = false
            state.poolBroken = true
            state.lastFailure = failure
            if state.downSince == nil { state.downSince = .now }
            return (state.throttle.record(), first)
        }
        guard let count else { return }
        if first {
            logger.error("PostgreSQL cannot be reached; requests that need the database answer 503 until it is back (logged once per 30 s while it lasts)", metadata: ["database": "\(endpoint)", "error": "\(failure.message)"])
        } else {
            logger.error("PostgreSQL still cannot be reached", metadata: ["database": "\(endpoint)", "failed_attempts": "\(count)", "error": "\(failure.message)"])
        }
    }

    func up(endpoint: String, logger: Logger) {
        let outage = state.withLock { state -> (Duration, Int)? in
            defer {
                state.reachable = true
                state.poolBroken = false
                state.lastFailure = nil
                state.downSince = nil
                state.lastSuccess = .now
            }
            guard let since = state.downSince else { return nil }
            return (since.duration(to: .now), state.throttle.reset())
        }
        if let (duration, unlogged) = outage {
            logger.notice("PostgreSQL answers again; the connection pool was replaced", metadata: [
                "database": "\(endpoint)", "outage_seconds": "\(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)",
                "failed_attempts_since_last_report": "\(unlogged)",
            ])
        }
    }

    /// Sleeps for `duration`, or until a failed call asks for a probe, but at least 100 ms: a
    /// burst of failing requests makes one probe, not one each.
    func sleep(for duration: Duration) async {
        let start = ContinuousClock.now
        let end = start.advanced(by: duration)
        while !Task.isCancelled {
            let left = ContinuousClock.now.duration(to: end)
            if left <= .zero { return }
            if start.duration(to: .now) >= .milliseconds(100) {
                let woken = state.withLock { state -> Bool in
                    defer { state.wake = false }
                    return state.wake
                }
                if woken { return }
            }
            try? await Task.sleep(for: min(left, .milliseconds(50)))
        }
    }
}
