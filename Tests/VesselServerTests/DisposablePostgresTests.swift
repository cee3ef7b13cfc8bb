import Foundation
import Testing
import VesselTestSupport

/// The private-PostgreSQL fixture the fault tests crash and restart: what it commits survives
/// a crash, it refuses connections while crashed, and `stop()` leaves nothing behind.
@Suite(.enabled(if: DisposablePostgres.isAvailable, Comment(rawValue: DisposablePostgres.requirement)), .timeLimit(.minutes(3)))
struct DisposablePostgresTests {
    @Test func aCommittedRowSurvivesACrashAndTheClusterIsGoneAfterStop() async throws {
        let pg = try await DisposablePostgres()
        do {
            #expect(pg.port != 54329)
            #expect(try await pg.psql("SHOW synchronous_commit") == "on\n")
            #expect(try await pg.psql("SHOW fsync") == "off\n")
            _ = try await pg.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (42)")
            try await pg.crash()
            await #expect(throws: TestFailure.self) { try await pg.psql("SELECT 1") }
            try await pg.resume()
            #expect(try await pg.psql("SELECT x FROM t") == "42\n")
            try await pg.resume()
            #expect(try await pg.psql("SELECT count(*) FROM t") == "1\n", "resuming a running cluster changes nothing")
        } catch {
            try? await pg.stop()
            throw error
        }
        try await pg.stop()
        #expect(!FileManager.default.fileExists(atPath: pg.directory))
        try await pg.stop()
    }

    @Test func settingsOverrideTheDefaults() async throws {
        try await DisposablePostgres.with(settings: ["synchronous_commit": "off"]) { pg in
            let value = try await pg.psql("SHOW synchronous_commit")
            #expect(value == "off\n")
        }
    }
}
