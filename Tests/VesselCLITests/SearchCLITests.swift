import Foundation
import Testing
import VesselTestSupport

/// `vessel models`, `vessel versions`, `vessel search versions`, `vessel model update` and
/// `vessel version update` through the built binary against `vessel serve` (issue 27), and the
/// API's own refusal of bad filters (400 `invalid_argument` naming the parameter).
@Suite struct SearchCLITests {
    static func push(_ model: String, note: String, env: [String: String]) async throws {
        let folder = TempDir.make("vessel-search-model")
        try "{\"note\": \"\(note)\"}".write(toFile: "\(folder)/config.json", atomically: true, encoding: .utf8)
        let push = try await CLI.run(["push", folder, "--model", model], environment: env)
        #expect(push.status == 0, "\(push.stderr)")
    }

    static func items(_ result: CLI.Result) throws -> [[String: Any]] {
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        return (try result.json()["items"] as? [[String: Any]]) ?? []
    }

    @Test func searchUpdateAndPageThroughTheBinary() async throws {
        let server = try await ServeProcess()
        let env = server.env
        try await Self.push("acme/bert-base", note: "one", env: env)
        try await Self.push("acme/bert-base", note: "two", env: env)
        try await Self.push("beta/gpt", note: "one", env: env)

        let updated = try await CLI.run(["model", "update", "acme/bert-base", "--description", "An encoder", "--add-tag", "nlp", "--add-tag", "base", "--json"], environment: env)
        #expect(updated.status == 0, "\(updated.stderr)")
        #expect((try updated.json()["tags"] as? [String]) == ["nlp", "base"])
        #expect(try await CLI.run(["model", "update", "acme/bert-base", "--remove-tag", "base"], environment: env).status == 0)

        #expect(try Self.items(await CLI.run(["models", "--search", "ENCODER", "--json"], environment: env)).map { $0["model"] as? String } == ["acme/bert-base"])
        #expect(try Self.items(await CLI.run(["models", "--tag", "nlp", "--json"], environment: env)).count == 1)
        #expect(try Self.items(await CLI.run(["models", "--tag", "base", "--json"], environment: env)).isEmpty)
        #expect(try Self.items(await CLI.run(["models", "--owner", "beta", "--json"], environment: env)).map { $0["model"] as? String } == ["beta/gpt"])

        // One page at a time: --limit gives the page and its cursor, --cursor the next.
        let first = try await CLI.run(["models", "--sort", "created", "--limit", "1", "--json"], environment: env)
        #expect(try Self.items(first).map { $0["model"] as? String } == ["beta/gpt"])
        let cursor = try #require(try first.json()["next_cursor"] as? String)
        let second = try await CLI.run(["models", "--sort", "created", "--limit", "1", "--cursor", cursor, "--json"], environment: env)
        #expect(try Self.items(second).map { $0["model"] as? String } == ["acme/bert-base"])
        #expect(try second.json()["next_cursor"] is NSNull)
        let text = try await CLI.run(["models", "--limit", "1"], environment: env)
        #expect(text.status == 0 && text.stdout.contains("next page: --cursor "), "\(text.stdout)")

        #expect(try Self.items(await CLI.run(["versions", "acme/bert-base", "--state", "ready", "--creator", "admin", "--json"], environment: env)).map { $0["version"] as? Int } == [2, 1])
        #expect(try Self.items(await CLI.run(["versions", "acme/bert-base", "--until", "2000-01-01T00:00:00Z", "--json"], environment: env)).isEmpty)
        #expect(try Self.items(await CLI.run(["versions", "acme/bert-base", "--alias", "--json"], environment: env)).isEmpty)
        #expect(try Self.items(await CLI.run(["versions", "acme/bert-base", "--signed", "--json"], environment: env)).isEmpty)

        let described = try await CLI.run(["version", "update", "acme/bert-base:1", "--description", "tuned", "--json"], environment: env)
        #expect(try described.status == 0 && (described.json()["description"] as? String) == "tuned", "\(described.stderr)")

        // Which versions hold this file: the first push of each model has the same config.json.
        let show = try await CLI.run(["show", "acme/bert-base:1", "--json"], environment: env)
        let digest = try #require(((try show.json()["manifest"] as? [[String: Any]])?.first?["digest"]) as? String)
        let holders = try Self.items(await CLI.run(["search", "versions", "--digest", digest, "--json"], environment: env))
        #expect(holders.map { "\($0["model"] as? String ?? ""):\($0["version"] as? Int ?? 0)" } == ["beta/gpt:1", "acme/bert-base:1"])
        let bert = try Self.items(await CLI.run(["search", "versions", "--model-search", "bert", "--state", "ready", "--json"], environment: env))
        #expect(bert.map { $0["version"] as? Int } == [2, 1])
        #expect(try await CLI.run(["search", "versions"], environment: env).stdout.contains("beta/gpt"))

        // Bad filters exit 2 and name the parameter.
        let bad: [([String], String)] = [
            (["versions", "acme/bert-base", "--state", "bogus"], "state"),
            (["versions", "acme/bert-base", "--since", "yesterday"], "since"),
            (["versions", "acme/bert-base", "--min-parameters", "many"], "min_parameters"),
            (["versions", "acme/bert-base", "--limit", "0"], "limit"),
            (["search", "versions", "--digest", "sha256:xyz"], "digest"),
            (["search", "versions", "--limit", "1001"], "limit"),
            (["models", "--sort", "size"], "sort"),
            (["models", "--owner", "Not An Owner"], "owner"),
            (["model", "update", "acme/bert-base"], "nothing to change"),
        ]
        for (arguments, parameter) in bad {
            let result = try await CLI.run(arguments + ["--json"], environment: env)
            #expect(result.status == 2, "\(arguments): \(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("invalid_argument") && result.stdout.contains(parameter), "\(arguments): \(result.stdout)")
        }
        #expect(try await CLI.run(["model", "update", "acme/none", "--description", "x"], environment: env).status == 3)
        #expect(try await CLI.run(["version", "update", "acme/bert-base:9", "--description", "x"], environment: env).status == 3)

        // The API refuses the same values itself: 400 invalid_argument naming the parameter.
        for (query, parameter) in [("/api/v1/versions?state=pending", "state"), ("/api/v1/versions?until=soon", "until"),
                                   ("/api/v1/models/acme/bert-base/versions?signed=maybe", "signed"), ("/api/v1/models?sort=size", "sort"),
                                   ("/api/v1/versions?digest=sha256:12", "digest"), ("/api/v1/models?limit=0", "limit")] {
            let curl = try await runProcess("/usr/bin/curl", ["-sS", "-w", "\n%{http_code}", "-H", "Authorization: Bearer \(ServeProcess.adminToken)", "\(server.url)\(query)"])
            #expect(curl.stdout.hasSuffix("\n400") && curl.stdout.contains("\"invalid_argument\"") && curl.stdout.contains(parameter), "\(query): \(curl.stdout)")
        }
    }

    /// A viewer on one owner finds only that owner's models and versions.
    @Test func searchesRespectGrants() async throws {
        let server = try await ServeProcess()
        let env = server.env
        try await Self.push("acme/a", note: "one", env: env)
        try await Self.push("beta/b", note: "one", env: env)
        #expect(try await CLI.run(["principal", "add", "viewer"], environment: env).status == 0)
        #expect(try await CLI.run(["grant", "viewer", "viewer", "--scope", "acme/*"], environment: env).status == 0)
        let token = try await CLI.run(["token", "create", "--principal", "viewer", "--json"], environment: env)
        let secret = try #require(try token.json()["token"] as? String, "\(token.stdout)\(token.stderr)")
        var viewer = env
        viewer["VESSEL_TOKEN"] = secret
        #expect(try Self.items(await CLI.run(["models", "--json"], environment: viewer)).map { $0["model"] as? String } == ["acme/a"])
        #expect(try Self.items(await CLI.run(["search", "versions", "--json"], environment: viewer)).map { $0["model"] as? String } == ["acme/a"])
        #expect(try await CLI.run(["versions", "beta/b"], environment: viewer).status == 4)
        #expect(try await CLI.run(["model", "update", "acme/a", "--description", "x"], environment: viewer).status == 4, "a viewer is not a contributor")
    }
}
