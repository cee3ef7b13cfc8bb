import Logging
import PostgresKit
import PostgresNIO
import SQLKit
import VesselCore

/// PostgreSQL through a `PostgresClient` connection pool. Reads take any pooled connection;
/// a transaction runs `BEGIN` … `COMMIT` on one leased connection at READ COMMITTED. Writers
/// that touch the same rows serialize on row locks (`UPDATE … RETURNING` on `models`,
/// `audit_head`, the no-op `UPDATE` of `lockModel`), so the same queries as on SQLite are safe.
/// Migrations and start-up bootstraps run under session-level advisory locks, so replicas
/// starting together take turns.
public final class PostgresBackend: SQLBackend {
    /// `pg_advisory_lock` keys: "vesselmg" and "vesselst" as 64-bit integers.
    static let migrationLockKey: Int64 = 0x7665_7373_656c_6d67
    static let startupLockKey: Int64 = 0x7665_7373_656c_7374

    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger
    public var dialectName: String { "postgresql" }

    /// Connects to `url`, failing fast with `unavailable` when the server cannot be reached or
    /// refuses the credentials.
    /// - Parameter maxConnections: the pool's size (each replica holds up to this many).
    public static func connect(url: PostgresURL, maxConnections: Int = 16, logger: Logger) async throws -> PostgresBackend {
        // Probe with one direct connection first: the pool retries forever, a probe fails now.
        let probe = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        do {
            let connection = try await PostgresConnection.connect(configuration: probe, id: 0, logger: logger)
            try? await connection.close()
        } catch {
            throw VesselError(.unavailable, "cannot connect to PostgreSQL at \(url.redacted): \((error as? PSQLError).map { PostgresFailure($0).description } ?? "\(error)"); check the URL, the password and that the server accepts TCP connections")
        }
        var configuration = PostgresClient.Configuration(host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        configuration.options.maximumConnections = max(2, maxConnections)
        return PostgresBackend(client: PostgresClient(configuration: configuration, backgroundLogger: logger), logger: logger)
    }

    private init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        // The pool's run loop lives exactly as long as this backend: `shutdown()` cancels it.
        self.runner = Task { await client.run() }
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await Self.explained {
            try await client.withConnection { connection in try await body(connection.sql()) }
        }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await Self.explained { try await client.withConnection { connection in
            let db = connection.sql()
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
    private func withAdvisoryLock<T: Sendable>(_ key: Int64, _ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await Self.explained { try await client.withConnection { connection in
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
    /// test reports would say nothing) with a `PostgresFailure` carrying the SQLSTATE and the
    /// server's message, or the client-side error code when the server never answered.
    private static func explained<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError {
            throw PostgresFailure(error)
        }
    }

    public func shutdown() async {
        runner.cancel()
        await runner.value
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
}
