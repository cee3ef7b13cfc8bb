import Testing
import VesselCore
import VesselMetadata

@Suite struct PostgresURLTests {
    @Test func parsesAFullURL() throws {
        let url = try PostgresURL("postgres://vessel:p%40ss@db.internal:6543/registry")
        #expect(url.host == "db.internal" && url.port == 6543 && url.database == "registry")
        #expect(url.username == "vessel" && url.password == "p@ss")
        #expect(url.redacted == "postgres://vessel@db.internal:6543/registry")
    }

    @Test func defaultsThePortAndAcceptsThePostgresqlScheme() throws {
        let url = try PostgresURL("postgresql://u@localhost/d?sslmode=disable")
        #expect(url.port == 5432 && url.password == nil)
    }

    @Test(arguments: [
        "mysql://u:p@h/d", "postgres://u:p@/d", "postgres://h:5432/d", "postgres://u:p@h:5432",
        "postgres://u:p@h/a/b", "postgres://u:p@h/d?sslmode=require", "not a url",
    ])
    func refusesMalformedURLsWithoutEchoingThePassword(_ text: String) {
        #expect {
            _ = try PostgresURL(text)
        } throws: { error in
            guard let error = error as? VesselError else { return false }
            return error.code == .invalidArgument && !error.message.contains(":p@")
        }
    }
}

@Suite struct PostgresFailureTests {
    /// A failing statement reaches callers (and logs) with its SQLSTATE and the server's
    /// message, not PSQLError's deliberately empty description, and a unique violation is
    /// still recognised as one.
    @Test(.enabled(if: MetadataHarness.postgresURL != nil, "needs VESSEL_TEST_POSTGRES_URL"))
    func serverErrorsKeepTheirStateAndMessage() async throws {
        try await MetadataHarness.withStore("postgresql") { _, sql in
            try await sql.transaction { db in try await db.raw("CREATE TABLE t (k INTEGER PRIMARY KEY)").run() }
            try await sql.transaction { db in try await db.raw("INSERT INTO t VALUES (1)").run() }
            do {
                try await sql.transaction { db in try await db.raw("INSERT INTO t VALUES (1)").run() }
                Issue.record("a duplicate key was accepted")
            } catch {
                #expect(sql.isUniqueViolation(error))
                #expect("\(error)".hasPrefix("PostgreSQL error 23505: duplicate key value violates unique constraint"), "\(error)")
            }
            do {
                _ = try await sql.read { db in try await db.raw("SELECT * FROM no_such_table").all() }
                Issue.record("a missing table was read")
            } catch {
                #expect(!sql.isUniqueViolation(error))
                #expect("\(error)" == "PostgreSQL error 42P01: relation \"no_such_table\" does not exist", "\(error)")
            }
        }
    }
}
