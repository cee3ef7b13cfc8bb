import Logging
import NIOPosix
import SQLKit
import SQLiteKit
import VesselCore

/// SQLite in WAL mode: one writer connection (transactions take it in turn) and a few reader
/// connections that see committed data while a write is in progress.
public final class SQLiteBackend: SQLBackend {
    private struct Slot: Sendable {
        let connection: SQLiteConnection
        let mutex = AsyncMutex()
    }

    private let writer: Slot
    private let readers: [Slot]
    private let next = Atomic<Int>(0)
    public var dialectName: String { "sqlite" }

    /// Opens (creating if needed) the database file at `path`.
    /// - Throws: `unavailable` naming the file when it cannot be opened or is not a SQLite
    ///   database; every connection opened until then is closed.
    public static func open(path: String, readers: Int = 3, logger: Logger) async throws -> SQLiteBackend {
        var opened: [SQLiteConnection] = []
        do {
            for index in 0...max(1, readers) {
                let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
                opened.append(connection)
                // The first statement reads the file's header: a file that is not a database fails here.
                for pragma in ["PRAGMA busy_timeout = 10000", "PRAGMA foreign_keys = ON", "PRAGMA synchronous = NORMAL"]
                    + (index == 0 ? ["PRAGMA journal_mode = WAL"] : []) {
                    try await connection.sql().raw(SQLQueryString(pragma)).run()
                }
            }
        } catch {
            // A connection dropped unclosed would leak its handle (and trips SQLiteNIO's assertion).
            for connection in opened { try? await connection.close() }
            let reason = (error as? SQLiteError)?.message ?? String(describing: error)
            throw VesselError(.unavailable, "cannot open the SQLite database \(path): \(reason); if the file is damaged, restore it (and the files beside it) from a backup")
        }
        return SQLiteBackend(writer: opened[0], readers: Array(opened.dropFirst()))
    }

    private init(writer: SQLiteConnection, readers: [SQLiteConnection]) {
        self.writer = Slot(connection: writer)
        self.readers = readers.map { Slot(connection: $0) }
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        // An idle reader if there is one (a read never queues behind another while one is
        // free), else the next in turn.
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        for offset in 0..<readers.count {
            let slot = readers[abs((index &+ offset) % readers.count)]
            if let result = try await slot.mutex.withLockIfFree({ try await body(slot.connection.sql()) }) { return result }
        }
        let slot = readers[abs(index % readers.count)]
        return try await slot.mutex.withLock { try await body(slot.connection.sql()) }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await writer.mutex.withLock {
            let db = writer.connection.sql()
            try await db.raw("BEGIN IMMEDIATE").run()
            do {
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                return result
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    public func withMigrationLock<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await writer.mutex.withLock { try await body(writer.connection.sql()) }
    }

    public func withStartupLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await body()
    }

    public func isUniqueViolation(_ error: any Error) -> Bool {
        guard let error = error as? SQLiteError else { return false }
        return error.reason == .constraint || error.reason == .constraintUniqueFailed
            || error.reason == .constraintPrimaryKeyFailed
    }

    public func shutdown() async {
        for slot in [writer] + readers { try? await slot.connection.close() }
    }
}

import Synchronization
