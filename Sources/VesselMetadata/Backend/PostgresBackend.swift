import Logging
import PostgresKit
import PostgresNIO
import SQLKit
import Synchronization
import VesselCore

/// PostgreSQL through a `PostgresClient` connection pool. Reads take any pooled connection;
/// a transaction runs `BEGIN` … `COMMIT` on one leased connection at READ COMMITTED. Writers
/// that touch the same rows serialize on row locks (`UPDATE … RETURNING` on `models`,
/// `audit_head`, the no-op `UPDATE` of `lockModel`), so the same queries as on SQLite are safe.
/// Migrations and start-up bootstraps run under session-level advisory locks, so replicas
/// starting together take turns.
///
/// With a `BackendPolicy.timeout` every lease and every statement has a deadline of Vessel's own
/// (postgres-nio queues a lease for up to a minute while it cannot connect, and has no query
/// timeout): a lease not given in time (or asked for while the watcher finds PostgreSQL away)
/// fails with a retryable `unavailable`; a statement not
/// finished in time closes its connection (so a stuck connection is not reused) and fails the
/// same way. A watcher (`PostgresBackend+Health.swift`) keeps `reachable` current for `/readyz`
/// and replaces the pool when PostgreSQL answers again after an outage
/// (docs/decisions/0014-backend-deadlines.md).
public final class PostgresBackend: SQLBackend {
    /// `pg_advisory_lock` keys: "vesselmg" and "vesselst" as 64-bit integers.
    static let migrationLockKey: Int64 = 0x7665_7373_656c_6d67
    static let startupLockKey: Int64 = 0x7665_7373_656c_7374

    let url: PostgresURL
    let poolConfiguration: PostgresClient.Configuration
    let policy: BackendPolicy
    let logger: Logger
    /// The logger the pool logs its background work to: at info it would log every failed
    /// reconnect attempt (several a second at first); the watcher logs those once per interval.
    let poolLogger: Logger
    let pools: PoolSwitch
    let health: PostgresHealth
    let watcher: Mutex<Task<Void, Never>?> = Mutex(nil)
    public var dialectName: String { "postgresql" }

    /// Connects to `url`, failing fast with `unavailable` when the server cannot be reached or
    /// refuses the credentials.
    /// - Parameters:
    ///   - maxConnections: the pool's size (each replica holds up to this many).
    ///   - policy: the deadline of each lease and statement, and where failures are reported.
    public static func connect(url: PostgresURL, maxConnections: Int = 16, policy: BackendPolicy = .unbounded, logger: Logger) async throws -> PostgresBackend {
        // Probe with one direct connection first: the pool retries forever, a probe fails now.
        do {
            try await probeDirect(url: url, timeout: policy.timeout ?? .seconds(10), logger: logger)
        } catch {
            throw VesselError(.unavailable, "cannot connect to PostgreSQL at \(url.redacted): \((error as? PSQLError).map { PostgresFailure($0).description } ?? "\(error)"); check the URL, the password and that the server accepts TCP connections")
        }
        var configuration = PostgresClient.Configuration(host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        configuration.options.maximumConnections = max(2, maxConnections)
        if let timeout = policy.timeout { configuration.options.connectTimeout = timeout }
        let backend = PostgresBackend(url: url, configuration: configuration, policy: policy, logger: logger)
        backend.startWatching()
        return backend
    }

    private init(url: PostgresURL, configuration: PostgresClient.Configuration, policy: BackendPolicy, logger: Logger) {
        self.url = url
        self.poolConfiguration = configuration
        self.policy = policy
        self.logger = logger
        var quiet = logger
        if quiet.logLevel > .debug && quiet.logLevel < .warning { quiet.logLevel = .warning }
        self.poolLogger = quiet
        self.pools = PoolSwitch(PostgresPool(configuration: configuration, logger: quiet))
        self.health = PostgresHealth()
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await explained {
            try await withLease { connection in try await body(self.bounded(connection)) }
        }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await explained { try await withLease { connection in
            let db = self.bounded(connection)
            try await db.raw("BEGIN").run()
            do {
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                return result
            } catch {
                do {
                    try await db.raw("ROLLBACK").run()
                } catch {
                    // A connection whose transaction state is unknown must not go back to the pool.
                    try? await connection.close()
                }
                throw error
            }
        } }
    }

    public func withMigrationLock<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withAdvisoryLock(Self.migrationLockKey) { db in try await body(db) }
    }

    public func withStartupLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withAdvisoryLock(Self.startupLockKey) { _ in try await body() }
    }

    /// Holds the session-level advisory lock `key` on one leased connection while `body` runs.
    /// The lease has its deadline; the statements do not: the lock waits for another replica's
    /// migration or bootstrap, and a migration may rewrite a large table.
    private func withAdvisoryLock<T: Sendable>(_ key: Int64, _ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await explained { try await withLease { connection in
            let db = connection.sql()
            try await db.raw("SELECT pg_advisory_lock(\(bind: key))").run()
            do {
                let result = try await body(db)
                try await db.raw("SELECT pg_advisory_unlock(\(bind: key))").run()
                return result
            } catch {
                do { try await db.raw("SELECT pg_advisory_unlock(\(bind: key))").run() } catch { try? await connection.close() }
                throw error
            }
        } }
    }

    public func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? PostgresFailure)?.sqlState == "23505"
    }

    /// Runs `body`, replacing a `PSQLError` (whose description hides everything, so logs and
    /// test reports would say nothing): one that says PostgreSQL cannot be reached or used at
    /// all becomes a reported `BackendFailure` (`unavailable`, retryable when transient); any
    /// other a `PostgresFailure` carrying the SQLSTATE and the server's message, or the client's
    /// error code when the server never answered. A call that succeeds tells the watcher so.
    func explained<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            health.succeeded()
            return result
        } catch let error as VesselError {
            throw error
        } catch let failure as StatementTimeout.Lease {
            if let cause = failure.cause, !cause.transient || failure.timeout == .zero { throw fail(cause) }
            let last = failure.cause.map { "; last: \($0.message)" } ?? ""
            throw fail(BackendFailure(.database, transient: true, "PostgreSQL at \(url.endpoint) gave no connection within \(failure.timeout)\(last)"))
        } catch let failure as StatementTimeout {
            throw fail(BackendFailure(.database, transient: true, "PostgreSQL at \(url.endpoint) did not finish a statement within \(failure.timeout); its connection was closed"))
        } catch is ConnectionLost {
            throw fail(BackendFailure(.database, transient: true, "PostgreSQL at \(url.endpoint) closed the connection before a statement answered"), breaksPool: true)
        } catch let error as PSQLError {
            if let failure = PostgresFailure.backendFailure(error, endpoint: url.endpoint) { throw fail(failure, breaksPool: failure.transient) }
            throw PostgresFailure(error)
        } catch where PostgresFailure.isPoolFailure(error) {
            throw fail(BackendFailure(.database, transient: true, "PostgreSQL at \(url.endpoint) cannot be reached: the connection pool gave up connecting for now"), breaksPool: true)
        }
    }

    /// Reports `failure` (to the policy, and to the watcher, which probes at once) and returns
    /// its error. `breaksPool`: a connection was refused or lost, so the pool may be backing off
    /// (a lease or statement timeout alone may be load, and does not replace the pool).
    func fail(_ failure: BackendFailure, breaksPool: Bool = false) -> VesselError {
        health.failed(breaksPool: breaksPool)
        return policy.fail(failure)
    }

    public func shutdown() async {
        watcher.withLock { $0 }?.cancel()
        await watcher.withLock { $0 }?.value
        await pools.shutdown()
    }
}

/// An error from PostgreSQL, described well enough to act on: the SQLSTATE and the server's
/// message when the server answered; otherwise the client's error code (connection closed,
/// query cancelled, …) with its underlying cause. Bind values and SQL text are left out.
public struct PostgresFailure: Error, CustomStringConvertible {
    /// The five-character SQLSTATE (`23505` unique violation, `53300` too many connections, …).
    public let sqlState: String?
    public let description: String

    public init(_ error: PSQLError) {
        sqlState = error.serverInfo?[.sqlState]
        if let message = error.serverInfo?[.message] {
            description = "PostgreSQL error \(sqlState ?? "?"): \(message)"
        } else {
            description = "PostgreSQL client error: \(error.code)" + (error.underlying.map { " (\($0))" } ?? "")
        }
    }

    /// `error` as a failure of the database as a backend, or nil when it is about the statement
    /// (a constraint, a syntax error), which the caller handles or reports as it always has.
    /// - Transient: the connection could not be made, was closed or broken (a crash, a restart,
    ///   `pg_terminate_backend`), the server is starting, shutting down or in recovery
    ///   (`57P01`–`57P03`, class `08`), has no connection slot left (`53300`), or cancelled the
    ///   statement (`57014`).
    /// - Permanent: the credentials were refused (`28000`, `28P01`), the database does not exist
    ///   (`3D000`), or TLS or authentication cannot be negotiated.
    static func backendFailure(_ error: PSQLError, endpoint: String) -> BackendFailure? {
        let described = PostgresFailure(error).description
        if let state = error.serverInfo?[.sqlState] {
            switch state {
            case "28000", "28P01", "3D000":
                return BackendFailure(.database, transient: false, "PostgreSQL at \(endpoint) refused the server's configuration (\(described)); check the --database URL, its user, password and database name")
            case "57P01", "57P02", "57P03", "53300", "57014":
                return BackendFailure(.database, transient: true, "PostgreSQL at \(endpoint) cannot serve requests right now (\(described))")
            case let state where state.hasPrefix("08"):
                return BackendFailure(.database, transient: true, "PostgreSQL at \(endpoint) cannot be reached (\(described))")
            default:
                return nil
            }
        }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed, .queryCancelled:
            return BackendFailure(.database, transient: true, "PostgreSQL at \(endpoint) cannot be reached (\(described))")
        case .sslUnsupported, .failedToAddSSLHandler, .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
            return BackendFailure(.database, transient: false, "PostgreSQL at \(endpoint) refused the server's configuration (\(described)); check the --database URL")
        default:
            return nil
        }
    }

    /// True for the pool's own errors (`ConnectionPoolError`: its circuit breaker tripped, or it
    /// was shut down), which postgres-nio passes on without wrapping them in a `PSQLError`.
    static func isPoolFailure(_ error: any Error) -> Bool {
        String(describing: type(of: error)) == "ConnectionPoolError"
    }
}
