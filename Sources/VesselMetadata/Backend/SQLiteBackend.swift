#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOPosix
import SQLKit
import SQLiteKit
import VesselCore

/// SQLite in WAL mode: one writer connection (transactions take it in turn) and a few reader
/// connections that see committed data while a write is in progress. Readers are opened when
/// reads first overlap, not up front: each connection holds two file descriptors (the file and
/// its WAL), and a registry that never reads concurrently needs one reader.
public final class SQLiteBackend: SQLBackend {
    private struct Slot: Sendable {
        let connection: SQLiteConnection
        let mutex = AsyncMutex()
    }

    /// A reader connection, opened by the first read that needs it (under `mutex`).
    private final class Reader: Sendable {
        let mutex = AsyncMutex()
        let connection = Mutex<SQLiteConnection?>(nil)

        var isOpen: Bool { connection.withLock { $0 != nil } }
    }

    private let writer: Slot
    private let readers: [Reader]
    private let next = Atomic<Int>(0)
    /// Set by `shutdown`: no reader opens after it.
    private let closed = Atomic<Bool>(false)
    private let path: String
    private let logger: Logger
    public var dialectName: String { "sqlite" }

    /// Opens (creating if needed) the database file at `path` with its writer connection;
    /// up to `readers` reader connections follow as reads overlap.
    /// - Throws: `unavailable` naming the file when it cannot be opened or is not a SQLite
    ///   database.
    ///
    /// The file is created 0600 before SQLite opens it (SQLite gives its `-wal` and `-shm`
    /// files the database's mode); an existing one readable by others is made 0600 too.
    public static func open(path: String, readers: Int = 3, logger: Logger) async throws -> SQLiteBackend {
        restrictMode(path, logger: logger)
        let writer = try await connect(path: path, pragmas: ["PRAGMA journal_mode = WAL"], logger: logger)
        return SQLiteBackend(writer: writer, readers: max(1, readers), path: path, logger: logger)
    }

    private init(writer: SQLiteConnection, readers: Int, path: String, logger: Logger) {
        self.writer = Slot(connection: writer)
        self.readers = (0..<readers).map { _ in Reader() }
        self.path = path
        self.logger = logger
    }

    /// Creates `path` (mode 0600) when missing; makes it and its `-wal`, `-shm` and `-journal`
    /// files 0600 when group or others may read them. A failure is left to SQLite's open.
    private static func restrictMode(_ path: String, logger: Logger) {
        let created = Glibc.open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if created >= 0 { Glibc.close(created) }
        for file in [path, "\(path)-wal", "\(path)-shm", "\(path)-journal"] {
            var info = stat()
            guard stat(file, &info) == 0, info.st_mode & 0o077 != 0 else { continue }
            if chmod(file, 0o600) == 0 {
                logger.notice("made \(file) readable by its owner only (it was \(String(info.st_mode & 0o777, radix: 8)))")
            } else {
                logger.warning("\(file) is readable by others and could not be made 0600: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// A connection with the settings every connection gets (and `pragmas`). The first
    /// statement reads the file's header: a file that is not a database fails here.
    private static func connect(path: String, pragmas: [String], logger: Logger) async throws -> SQLiteConnection {
        var opened: SQLiteConnection?
        do {
            let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            opened = connection
            for pragma in ["PRAGMA busy_timeout = 10000", "PRAGMA foreign_keys = ON", "PRAGMA synchronous = NORMAL"] + pragmas {
                try await connection.sql().raw(SQLQueryString(pragma)).run()
            }
            return connection
        } catch {
            // A connection dropped unclosed would leak its handle (and trips SQLiteNIO's assertion).
            if let opened { await Self.close(opened) }
            // A reader opened for a read whose task was cancelled: not a damaged file.
            if error is CancellationError { throw error }
            let reason = (error as? SQLiteError)?.message ?? String(describing: error)
            throw VesselError(.unavailable, "cannot open the SQLite database \(path): \(reason); if the file is damaged, restore it (and the files beside it) from a backup")
        }
    }

    /// Closes `connection` even when the calling task is cancelled (the async `close` then
    /// throws before closing, and the handle would leak).
    private static func close(_ connection: SQLiteConnection) async {
        try? await connection.close().get()
    }

    /// `reader`'s connection, opened now if it is not yet; call with its mutex held.
    private func connection(_ reader: Reader) async throws -> SQLiteConnection {
        if let connection = reader.connection.withLock({ $0 }) { return connection }
        guard !closed.load(ordering: .acquiring) else {
            throw VesselError(.unavailable, "the SQLite database \(path) is closed: the server is shutting down")
        }
        let connection = try await Self.connect(path: path, pragmas: [], logger: logger)
        reader.connection.withLock { $0 = connection }
        return connection
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        // An idle open reader if there is one (a read never queues behind another while one is
        // free), else an idle one opened now, else the next in turn.
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        for wantOpen in [true, false] {
            for offset in 0..<readers.count {
                let reader = readers[abs((index &+ offset) % readers.count)]
                guard reader.isOpen == wantOpen else { continue }
                if let result = try await reader.mutex.withLockIfFree({ try await body(try await connection(reader).sql()) }) { return result }
            }
        }
        let reader = readers[abs(index % readers.count)]
        return try await reader.mutex.withLock { try await body(try await connection(reader).sql()) }
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
        closed.store(true, ordering: .releasing)
        await Self.close(writer.connection)
        // Under each reader's lock: a read (or a reader being opened) finishes first.
        for reader in readers {
            _ = try? await reader.mutex.withLock {
                if let connection = reader.connection.withLock({ $0 }) { await Self.close(connection) }
                reader.connection.withLock { $0 = nil }
            }
        }
    }
}

import Synchronization
