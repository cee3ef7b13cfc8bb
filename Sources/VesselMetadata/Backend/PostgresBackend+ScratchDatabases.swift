import SQLKit
import VesselCore

/// Throwaway databases on the server this backend is connected to, for tests and benchmarks
/// that want a registry of their own (the role needs CREATEDB, as scripts/services.sh grants).
extension PostgresBackend {
    /// A fresh database name with `prefix` (lowercase letters, digits and `_`).
    public static func scratchDatabaseName(_ prefix: String) -> String {
        prefix + "_" + String(UInt64.random(in: 0...UInt64.max), radix: 36) + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    public func createScratchDatabase(_ name: String) async throws {
        try Self.checkScratchName(name)
        try await retryingPassingRefusals { try await self.read { db in try await db.raw("CREATE DATABASE \(unsafeRaw: name)").run() } }
    }

    /// Drops `name`, ending the sessions still connected to it.
    public func dropScratchDatabase(_ name: String) async throws {
        try Self.checkScratchName(name)
        try await retryingPassingRefusals {
            try await self.read { db in try await db.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
        }
    }

    private static func checkScratchName(_ name: String) throws {
        guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }) else {
            throw VesselError.invalidArgument("'\(name.prefix(80))' is not a scratch database name (lowercase letters, digits and _)")
        }
    }

    /// Retries while PostgreSQL refuses for a passing reason: `DROP DATABASE … WITH (FORCE)`
    /// answers 42501 when the database still has a session without a role (an autovacuum
    /// worker, or a connection still starting), which a role without `pg_signal_backend` may
    /// not end; `CREATE DATABASE` answers 55006 while a session is on the template. Both were
    /// seen in loaded test runs, and both pass within moments.
    private func retryingPassingRefusals(_ statement: () async throws -> Void) async throws {
        var attempt = 0
        while true {
            do {
                return try await statement()
            } catch let failure as PostgresFailure where ["42501", "55006"].contains(failure.sqlState ?? "") && attempt < 10 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(100 * attempt))
            }
        }
    }
}
