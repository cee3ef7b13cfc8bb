import Foundation
import Testing
import VesselTestSupport

/// `vessel run list [OWNER]` and `vessel run show RUN_ID` against a real `vessel serve`
/// (issue 25): newest first, one owner's, by id alone, and the exit codes of bad input.
@Suite struct RunListCLITests {
    @Test func runsAreListedNewestFirstAndShownByIdAlone() async throws {
        let server = try await ServeProcess(arguments: [])
        defer { server.stop() }
        let env = server.env
        var ids: [String] = []
        for (owner, name) in [("acme", "first"), ("globex", "second"), ("acme", "third")] {
            let added = try await CLI.run(["run", "add", owner, "--name", name, "--git-commit", "abc123", "--json"], environment: env)
            #expect(added.status == 0, "\(added.stderr)")
            ids.append(try #require(try added.json()["id"] as? String))
            try await Task.sleep(for: .milliseconds(5))
        }
        let all = try await CLI.run(["run", "list", "--json"], environment: env)
        #expect(all.status == 0, "\(all.stderr)")
        let items = try #require(try all.json()["items"] as? [[String: Any]])
        #expect(items.compactMap { $0["name"] as? String } == ["third", "second", "first"], "\(items)")
        #expect(try all.json()["next_cursor"] is NSNull)
        let acme = try await CLI.run(["run", "list", "acme", "--json"], environment: env).json()
        #expect((acme["items"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["third", "first"])
        let table = try await CLI.run(["run", "list", "globex"], environment: env)
        #expect(table.status == 0 && table.stdout.contains("globex/\(ids[1])") && table.stdout.contains("second") && !table.stdout.contains("acme/"), "\(table.stdout)")

        let shown = try await CLI.run(["run", "show", ids[1], "--json"], environment: env)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(try shown.json()["owner"] as? String == "globex" && (try shown.json()["name"] as? String) == "second")
        #expect(try await CLI.run(["run", "show", "globex/\(ids[1])"], environment: env).stdout.contains("second"))

        let unknown = try await CLI.run(["run", "show", "run_00000000000000000000", "--json"], environment: env)
        #expect(unknown.status == 3 && unknown.stdout.contains("not_found"), "\(unknown.stdout) \(unknown.stderr)")
        #expect(try await CLI.run(["run", "show", "nonsense"], environment: env).status == 2)
        #expect(try await CLI.run(["run", "list", "Bad Owner"], environment: env).status == 2)
    }
}
