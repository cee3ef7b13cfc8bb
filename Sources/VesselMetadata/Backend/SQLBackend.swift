import SQLKit

/// A SQL database Vessel's metadata store runs on. Implementations isolate every dialect
/// difference (connection handling, transactions, error classification); the schema and
/// queries above this protocol are the same for SQLite and PostgreSQL.
public protocol SQLBackend: Sendable {
    /// `sqlite` or `postgresql`.
    var dialectName: String { get }

    /// Runs `body` on a connection that sees committed data. No atomicity across statements.
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    /// Transactions that write the same rows are serialized.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs `body` while holding the database-wide migration lock (a no-op on SQLite, whose
    /// single writer already serializes; an advisory lock on PostgreSQL).
    func withMigrationLock<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs `body` while holding a database-wide start-up lock, separate from the migration
    /// lock, so one-time bootstraps (the `admin` principal) run on one replica at a time. The
    /// body uses `read`/`transaction` as usual. A plain call on SQLite (one process per file).
    func withStartupLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T

    /// True when `error` is a unique-constraint violation.
    func isUniqueViolation(_ error: any Error) -> Bool

    func shutdown() async
}
