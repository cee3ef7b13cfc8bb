import Foundation
import SQLKit
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

extension SQLiteBackend {
    /// Writes a consistent copy of the database to `path` with `VACUUM INTO`, on a reader
    /// connection: one read transaction, so the copy is the database as of one commit, while
    /// writers keep committing (WAL). The copy goes to `path.partial` first and is renamed over
    /// `path` once complete and synced, so a crash never leaves a torn file at `path`.
    /// - Throws: `internal` when SQLite cannot write the copy.
    public func snapshot(into path: String) async throws {
        let partial = "\(path).partial"
        unlink(partial)
        do {
            try await read { db in try await db.raw("VACUUM INTO \(bind: partial)").run() }
        } catch {
            unlink(partial)
            throw VesselError(.internalError, "could not snapshot the SQLite database into \(path): \(error)")
        }
        let fd = Glibc.open(partial, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            fchmod(fd, 0o600)
            fsync(fd)
            close(fd)
        }
        guard rename(partial, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partial)
            throw VesselError(.internalError, "could not move the snapshot into place at \(path): \(reason)")
        }
    }
}

extension Migrations {
    /// The schema version a database holds, without applying anything; 0 for a database
    /// without Vessel's schema table (or one that cannot be read).
    public static func appliedVersion(on backend: any SQLBackend) async -> Int {
        (try? await backend.read { db in
            try await db.raw("SELECT version FROM vessel_schema WHERE id = 1").first()?.decode(column: "version", as: Int.self)
        }) ?? 0
    }
}
