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
