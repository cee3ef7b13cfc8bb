import Foundation
import Logging
import PostgresNIO
import SQLKit
import VesselMetadata

/// A throwaway PostgreSQL database per test: created through the URL's own database (the role
/// needs CREATEDB, as scripts/services.sh grants), dropped with `FORCE` afterwards.
enum PostgresTestDatabase {
    static func with(url text: String, logger: Logger, _ body: (PostgresBackend) async throws -> Void) async throws {
        let url = try PostgresURL(text)
        let name = "vessel_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await admin(url, logger: logger, "CREATE DATABASE \(name)")
        var scoped = url
        scoped.database = name
        let backend = try await PostgresBackend.connect(url: scoped, logger: logger)
        do {
            try await body(backend)
        } catch {
            await backend.shutdown()
            try? await admin(url, logger: logger, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
        await backend.shutdown()
        try await admin(url, logger: logger, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs one statement on a direct connection to the URL's database.
    private static func admin(_ url: PostgresURL, logger: Logger, _ statement: String) async throws {
        let configuration = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        } catch {
            try? await connection.close()
            throw (error as? PSQLError).map(PostgresFailure.init) ?? error
        }
        try await connection.close()
    }
}
