import Foundation
import Testing
import VesselTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes, stdout and stderr of the CLI for success and each class of failure.
@Suite(.serialized) struct CLIBehaviourTests {
    @Test func helpAndUsage() async throws {
        let help = try await CLI.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: vessel"))
        #expect(help.stdout.contains("push"))
        let unknown = try await CLI.run(["frobnicate"])
        #expect(unknown.status == 64)
        let missing = try await CLI.run(["push"])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("Missing expected argument"))
    }

    @Test func failuresMapToExitCodes() async throws {
        let server = try await ServeProcess()
        let env = server.env
        let model = TempDir.make("vessel-model")
        try TempDir.writeFile("\(model)/w.bin", count: 1000, seed: 9)
        #expect(try await CLI.run(["push", model, "--model", "acme/codes"], environment: env).status == 0)

        let notFound = try await CLI.run(["show", "acme/nothing"], environment: env)
        #expect(notFound.status == 3)
        #expect(notFound.stdout.isEmpty)
        #expect(notFound.stderr.contains("model 'acme/nothing' does not exist"))

        let notFoundJSON = try await CLI.run(["show", "acme/nothing", "--json"], environment: env)
        #expect(notFoundJSON.status == 3)
        let error = try notFoundJSON.json()["error"] as? [String: Any]
        #expect(error?["code"] as? String == "not_found")

        let badName = try await CLI.run(["show", "Acme/X"], environment: env)
        #expect(badName.status == 2)
        #expect(badName.stderr.contains("not a valid model name"))

        let noToken = try await CLI.run(["models"], environment: ["VESSEL_SERVER": server.url])
        #expect(noToken.status == 4)
        #expect(noToken.stderr.contains("needs a token"))
        let wrongToken = try await CLI.run(["models"], environment: ["VESSEL_SERVER": server.url, "VESSEL_TOKEN": "vsl_nope"])
        #expect(wrongToken.status == 4)

        #expect(try await CLI.run(["alias", "set", "acme/codes", "prod", "7"], environment: env).status == 3)
        #expect(try await CLI.run(["alias", "set", "acme/codes", "prod", "1", "--expect-current", "none"], environment: env).status == 0)
        // The same move again (a retry whose answer was lost) is applied; a stale expectation
        // about another place is a conflict.
        #expect(try await CLI.run(["alias", "set", "acme/codes", "prod", "1", "--expect-current", "none"], environment: env).status == 0)
        try TempDir.writeFile("\(model)/w.bin", count: 1000, seed: 10)
        #expect(try await CLI.run(["push", model, "--model", "acme/codes"], environment: env).status == 0)
        let stale = try await CLI.run(["alias", "set", "acme/codes", "prod", "2", "--expect-current", "none"], environment: env)
        #expect(stale.status == 5, "\(stale.stderr)")
        #expect(stale.stderr.contains("already points at version 1"), "\(stale.stderr)")
        #expect(try await CLI.run(["promote", "acme/codes", "1", "--to", "production", "--expect-current", "none"], environment: env).status == 0)
        #expect(try await CLI.run(["version", "delete", "acme/codes:1"], environment: env).status == 5)

        let occupied = TempDir.make("vessel-occupied")
        _ = FileManager.default.createFile(atPath: "\(occupied)/keep.txt", contents: Data("mine".utf8))
        let refused = try await CLI.run(["pull", "acme/codes", occupied, "--cache-dir", TempDir.make("c")], environment: env)
        #expect(refused.status == 5)
        #expect(refused.stderr.contains("not an earlier `vessel pull`"))
        #expect(try String(contentsOfFile: "\(occupied)/keep.txt", encoding: .utf8) == "mine")

        let linked = TempDir.make("vessel-symlink")
        _ = FileManager.default.createFile(atPath: "\(linked)/real.txt", contents: Data("x".utf8))
        symlink("\(linked)/real.txt", "\(linked)/link.txt")
        let symlinkPush = try await CLI.run(["push", linked, "--model", "acme/codes"], environment: env)
        #expect(symlinkPush.status == 2)
        #expect(symlinkPush.stderr.contains("symbolic link"))

        server.stop()
        let down = try await CLI.run(["models"], environment: env)
        #expect(down.status == 6)
        #expect(down.stderr.contains("cannot reach"))
    }

    @Test func principalsTokensAndLogin() async throws {
        let server = try await ServeProcess()
        let env = server.env
        #expect(try await CLI.run(["principal", "add", "ci-bot", "--service"], environment: env).status == 0)
        #expect(try await CLI.run(["principal", "add", "ci-bot"], environment: env).status == 5)
        let created = try await CLI.run(["token", "create", "--principal", "ci-bot", "--name", "pipeline", "--expires", "30d", "--json"], environment: env)
        #expect(created.status == 0, "\(created.stderr)")
        let token = try #require(try created.json()["token"] as? String)
        let id = try #require(try created.json()["id"] as? String)
        #expect(try created.json()["principal"] as? String == "ci-bot")
        #expect(try created.json()["expires_at"] is String)

        // login --token-stdin writes the config file with mode 0600, and later commands use it.
        let config = TempDir.make("vessel-config")
        let login = try await CLI.run(["login", "--server", server.url, "--token-stdin"], environment: ["XDG_CONFIG_HOME": config], stdin: token + "\n")
        #expect(login.status == 0, "\(login.stderr)")
        var info = stat()
        stat("\(config)/vessel/config.toml", &info)
        #expect(info.st_mode & 0o777 == 0o600)
        let whoami = try await CLI.run(["whoami"], environment: ["XDG_CONFIG_HOME": config])
        #expect(whoami.stdout.contains("ci-bot (service)"))

        let list = try await CLI.run(["token", "list", "--json"], environment: env)
        #expect(!list.stdout.contains(token))
        #expect(try await CLI.run(["token", "revoke", id], environment: env).status == 0)
        let revoked = try await CLI.run(["whoami"], environment: ["XDG_CONFIG_HOME": config])
        #expect(revoked.status == 4)
        #expect(revoked.stderr.contains("revoked"))
    }

    @Test func auditListsAndVerifies() async throws {
        let server = try await ServeProcess()
        let model = TempDir.make("vessel-model")
        try TempDir.writeFile("\(model)/w.bin", count: 10, seed: 1)
        _ = try await CLI.run(["push", model, "--model", "acme/audit", "--alias", "staging"], environment: server.env)
        let audit = try await CLI.run(["audit", "--model", "acme/audit", "--json"], environment: server.env)
        let actions = (try audit.json()["items"] as? [[String: Any]])?.compactMap { $0["action"] as? String }
        #expect(actions == ["model.create", "version.create", "alias.set"])
        let verify = try await CLI.run(["audit", "verify"], environment: server.env)
        #expect(verify.status == 0)
        #expect(verify.stdout.contains("intact"))
    }
}
