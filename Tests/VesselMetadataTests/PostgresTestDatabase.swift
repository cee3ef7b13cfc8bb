import Foundation
import Logging
import VesselMetadata

/// A throwaway PostgreSQL database per test: created through the URL's own database (the role
/// needs CREATEDB, as scripts/services.sh grants), dropped with `FORCE` afterwards.
enum PostgresTestDatabase {
    static func with(url text: String, logger: Logger, _ body: (PostgresBackend) async throws -> Void) async throws {
        let url = try PostgresURL(text)
        let name = PostgresBackend.scratchDatabaseName("vessel_t")
        try await withAdmin(url, logger: logger) { try await $0.createScratchDatabase(name) }
        var scoped = url
        scoped.database = name
        let backend = try await PostgresBackend.connect(url: scoped, logger: logger)
        do {
            try await body(backend)
        } catch {
            await backend.shutdown()
            try? await withAdmin(url, logger: logger) { try await $0.dropScratchDatabase(name) }
            throw error
        }
        await backend.shutdown()
        try await withAdmin(url, logger: logger) { try await $0.dropScratchDatabase(name) }
    }

    /// Runs `body` with a one-connection backend on the URL's own database.
    private static func withAdmin(_ url: PostgresURL, logger: Logger, _ body: (PostgresBackend) async throws -> Void) async throws {
        let admin = try await PostgresBackend.connect(url: url, maxConnections: 1, logger: logger)
        do {
            try await body(admin)
        } catch {
            await admin.shutdown()
            throw error
        }
        await admin.shutdown()
    }
}
