import Foundation
import Testing
import VesselTestSupport

/// `vessel retention`, `hold`, `unhold` and `gc` against a real `vessel serve` (issue 26): the
/// JSON shapes and the exit codes of bad inputs.
@Suite struct RetentionCLITests {
    static func push(_ model: String, note: String, env: [String: String]) async throws {
        let folder = TempDir.make("vessel-gc-model")
        try "{\"note\": \"\(note)\"}".write(toFile: "\(folder)/config.json", atomically: true, encoding: .utf8)
        let push = try await CLI.run(["push", folder, "--model", model], environment: env)
        #expect(push.status == 0, "\(push.stderr)")
    }

    @Test func policiesHoldsAndADryRun() async throws {
        let server = try await ServeProcess(arguments: ["--gc-grace", "0"])
        let env = server.env
        for note in ["one", "two", "three"] { try await Self.push("acme/m", note: note, env: env) }

        // Bad inputs: unknown scope form and malformed duration exit 2; a deleted version 3.
        #expect(try await CLI.run(["retention", "set", "acme", "--keep-last", "1"], environment: env).status == 2)
        #expect(try await CLI.run(["retention", "set", "acme/*", "--keep-for", "7w"], environment: env).status == 2)
        #expect(try await CLI.run(["hold", "acme/m@production", "--reason", "x"], environment: env).status == 2)
        #expect(try await CLI.run(["retention", "rm", "nobody/*"], environment: env).status == 3)

        #expect(try await CLI.run(["retention", "set", "acme/*", "--keep-last", "1"], environment: env).status == 0)
        let list = try await CLI.run(["retention", "list", "--json"], environment: env).json()
        #expect(((list["items"] as? [[String: Any]])?.first?["keep_last"] as? Int) == 1)
        #expect(try await CLI.run(["hold", "acme/m:1", "--reason", "audit"], environment: env).status == 0)

        let dry = try await CLI.run(["gc", "run", "--dry-run", "--json"], environment: env)
        #expect(dry.status == 0, "\(dry.stderr)")
        let report = try dry.json()
        let versions = (report["versions"] as? [[String: Any]]) ?? []
        #expect(versions.map { $0["version"] as? Int } == [2] && versions.first?["model"] as? String == "acme/m")
        #expect(report["drafts"] as? Int == 0 && report["blobs"] as? Int == 1 && (report["bytes"] as? Int ?? 0) > 0)

        let run = try await CLI.run(["gc", "run", "--json"], environment: env)
        #expect(run.status == 0 && ((try? run.json())?["versions"] as? [[String: Any]])?.count == 1, "\(run.stdout)\(run.stderr)")
        #expect(try await CLI.run(["hold", "acme/m:2", "--reason", "too late"], environment: env).status == 3)
        #expect(try await CLI.run(["unhold", "acme/m:1"], environment: env).status == 0)
        let status = try await CLI.run(["gc", "status", "--json"], environment: env).json()
        // The two runs above, and the scheduled one at start-up.
        #expect(((status["items"] as? [[String: Any]])?.count ?? 0) >= 2)
    }
}
